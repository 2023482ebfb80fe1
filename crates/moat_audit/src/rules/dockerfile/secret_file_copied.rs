use moat_dockerfile::Kind;

use crate::context::{DockerfileContext, Emitter};
use crate::rule::declare_rule;
use crate::rules::dockerfile::helpers::copy_args::{copy_args, is_url};

declare_rule! {
    /// ## What it does
    /// Reports a `COPY` or `ADD` whose source (or destination file) is a file that holds
    /// credentials: SSH private keys (`id_rsa`, `id_ecdsa`, `id_ed25519`, `id_dsa`), private-key
    /// and keystore files (`*.key`, `*.p12`, `*.pfx`, and `*.pem` unless the name says it is a
    /// certificate such as `ca.pem` or `fullchain.pem`), `.env` files (not `.env.example`,
    /// `.env.sample`, `.env.template`), `.npmrc`, `.pypirc`, `.netrc`, `.git-credentials`,
    /// `credentials*`, the `.aws/` and `.ssh/` directories, `.docker/config.json` and
    /// Terraform state (`*.tfstate`).
    ///
    /// A destination is judged by its name only where that is unambiguous (`/root/.ssh/id_rsa`,
    /// `.npmrc`, `credentials`), and not when the source is a URL. `COPY . .` is not reported:
    /// what it copies depends on `.dockerignore`, which moat does not read here. Certificates
    /// (`*.crt`, and `*.pem` copied into a `certs` directory), Diffie-Hellman parameters
    /// (`dhparam.pem`, `ffdhe4096.pem`, `dh2048.pem`) and public keys (`*.pub`, a
    /// `*.key` named `public`, `pub`, `pubkey`, `gpg` or `pgp`, a `*.pem` named `pub` or
    /// `public`, and any file copied
    /// into a keyring directory such as `/usr/share/keyrings/`, `/etc/apt/trusted.gpg.d/` or
    /// `/etc/pki/rpm-gpg/`) are not reported.
    ///
    /// ## Why is this bad?
    /// Every file copied into a layer stays in the image, even if a later `RUN rm` deletes it:
    /// anyone who can pull the image can extract the layer and read the key or token.
    ///
    /// ## Example
    /// ```dockerfile
    /// FROM node:20-slim
    /// COPY .npmrc /root/.npmrc
    /// COPY id_rsa /root/.ssh/id_rsa
    /// RUN npm ci && rm /root/.npmrc
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// # syntax=docker/dockerfile:1
    /// FROM node:20-slim
    /// RUN --mount=type=secret,id=npmrc,target=/root/.npmrc \
    ///     --mount=type=ssh \
    ///     npm ci
    /// ```
    ///
    /// ## Fix
    /// Use BuildKit secret mounts (`RUN --mount=type=secret`) or SSH forwarding
    /// (`RUN --mount=type=ssh`) for files needed during the build, and list such files in
    /// `.dockerignore` so that a broad `COPY` cannot pick them up. Rotate any key that was
    /// already pushed in an image.
    ///
    /// ## References
    /// - CIS Docker Benchmark 4.10 (do not store secrets in Dockerfiles).
    /// - hadolint has no corresponding rule.
    pub struct SecretFileCopied {
        code: "D011",
        name: "secret-file-copied",
        summary: "COPY or ADD of a file that holds credentials",
        severity: High,
        confidence: Medium,
        default_enabled: true,
        references: ["CIS-DOCKER-4.10"],
        check: Dockerfile,
    }
}

pub(crate) fn check(ctx: &DockerfileContext<'_>, out: &mut Emitter<'_>) {
    for (_, instr) in ctx.instructions() {
        if !matches!(instr.kind, Kind::Copy | Kind::Add) {
            continue;
        }
        let args = copy_args(instr);
        let into_certs = args.dest.as_ref().is_some_and(|d| {
            d.value
                .to_ascii_lowercase()
                .split('/')
                .any(|c| c == "certs" || c == "ca-certificates")
        });
        // package repository signing keys are public
        let into_keyring = args.dest.as_ref().is_some_and(|d| {
            d.value.to_ascii_lowercase().split('/').any(|c| {
                matches!(c, "keyrings" | "trusted.gpg.d" | "rpm-gpg")
                    || std::path::Path::new(c)
                        .extension()
                        .is_some_and(|e| e == "gpg" || e == "asc")
            })
        });
        if into_keyring {
            continue;
        }
        let mut reported = false;
        for source in &args.sources {
            let pem_cert = into_certs && source.value.to_ascii_lowercase().ends_with(".pem");
            if let Some(what) = secret_file(&source.value, Side::Source).filter(|_| !pem_cert) {
                reported = true;
                out.emit(
                    &SecretFileCopied::INFO,
                    source.span,
                    format!(
                        "{} of `{}` puts {what} into the image",
                        instr.kind.as_str(),
                        source.value
                    ),
                );
            }
        }
        if reported || args.sources.iter().any(|s| is_url(&s.value)) {
            continue;
        }
        if let Some(dest) = &args.dest
            && let Some(what) = secret_file(&dest.value, Side::Destination)
        {
            out.emit(
                &SecretFileCopied::INFO,
                dest.span,
                format!(
                    "{} to `{}` puts {what} into the image",
                    instr.kind.as_str(),
                    dest.value
                ),
            );
        }
    }
}

/// Which end of a COPY a path is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Source,
    Destination,
}

/// What kind of secret file `path` is, if any. Directories (`.ssh/`, `.aws/`) and extensions
/// (`*.key`, `*.pem`) count only for sources: a destination inside `~/.ssh` may be a harmless
/// `known_hosts`, and a `*.key` destination is often a downloaded public signing key.
fn secret_file(path: &str, side: Side) -> Option<&'static str> {
    let source = side == Side::Source;
    let lower = path.to_ascii_lowercase().replace('\\', "/");
    let trimmed = lower.trim_end_matches('/');
    if lower.contains("://") || lower.starts_with("git@") || trimmed.is_empty() {
        return None;
    }
    let mut components = trimmed.split('/');
    let name = components.next_back().unwrap_or_default();
    let parent = components.next_back().unwrap_or_default();
    if std::path::Path::new(name)
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("pub"))
    {
        return None;
    }
    if matches!(
        name,
        "id_rsa" | "id_dsa" | "id_ecdsa" | "id_ed25519" | "id_ecdsa_sk" | "id_ed25519_sk"
    ) {
        return Some("an SSH private key");
    }
    if parent == ".docker" && name == "config.json" {
        return Some("Docker registry credentials");
    }
    if name == ".env" || name.strip_prefix(".env.").is_some_and(|s| !is_example(s)) {
        return Some("an environment file with secrets");
    }
    match name {
        ".npmrc" => return Some("npm registry credentials"),
        ".pypirc" => return Some("PyPI credentials"),
        ".netrc" | "_netrc" => return Some("login credentials"),
        ".git-credentials" => return Some("Git credentials"),
        _ => {}
    }
    if name.starts_with("credentials") {
        return Some("a credentials file");
    }
    let ext = name.rsplit_once('.').map(|(_, e)| e).unwrap_or_default();
    if !source {
        return None;
    }
    match ext {
        "key" if names_public_key(name) => return None,
        "key" | "p12" | "pfx" => return Some("private key material"),
        "pem" if !looks_like_certificate(name) => return Some("private key material"),
        "tfstate" => return Some("Terraform state (secrets in plain text)"),
        "backup" if name.ends_with(".tfstate.backup") => {
            return Some("Terraform state (secrets in plain text)");
        }
        _ => {}
    }
    if lower.split('/').any(|c| c == ".ssh") {
        return Some("SSH keys");
    }
    if lower.split('/').any(|c| c == ".aws") {
        return Some("AWS credentials");
    }
    None
}

fn is_example(suffix: &str) -> bool {
    matches!(
        suffix,
        "example" | "sample" | "template" | "dist" | "defaults" | "default" | "tmpl" | "tpl"
    )
}

/// `public.key`, `release-pubkey.key`, `nodesource-gpg.key`, `repo.gpg.key`: a public key
/// (a PGP key of a package repository, a verification key) named with `.key`.
fn names_public_key(name: &str) -> bool {
    name.trim_end_matches(".key")
        .split(['-', '_', '.'])
        .any(|w| matches!(w, "pub" | "public" | "pubkey" | "gpg" | "pgp"))
}

/// `ca.pem`, `cert.pem`, `fullchain.pem`, `ca-bundle.pem`, `server-pub.pem`: public.
fn looks_like_certificate(name: &str) -> bool {
    const PUBLIC: &[&str] = &[
        "ca",
        "cacert",
        "cert",
        "certs",
        "certificate",
        "crt",
        "chain",
        "fullchain",
        "bundle",
        "pub",
        "public",
        "root",
    ];
    name.trim_end_matches(".pem")
        .split(['-', '_', '.'])
        .any(|w| PUBLIC.contains(&w) || is_dh_parameters(w))
}

/// `dhparam`, `dhparams`, `dh2048`, `ffdhe4096`: Diffie-Hellman parameters (RFC 7919 groups or
/// generated ones), which are public.
fn is_dh_parameters(word: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    matches!(word, "dh" | "dhparam" | "dhparams")
        || word.strip_prefix("ffdhe").is_some_and(digits)
        || word.strip_prefix("dh").is_some_and(digits)
}

#[cfg(test)]
mod tests {
    use super::{Side, secret_file};

    #[test]
    fn secret_files() {
        for p in [
            "id_rsa",
            "./keys/id_ed25519",
            "server.key",
            "tls/key.pem",
            "cert.p12",
            ".env",
            ".env.production",
            "config/.npmrc",
            ".pypirc",
            ".netrc",
            ".git-credentials",
            "credentials.json",
            "~/.aws/",
            ".ssh",
            "home/.docker/config.json",
            "terraform.tfstate",
        ] {
            assert!(secret_file(p, Side::Source).is_some(), "{p}");
        }
        for p in [
            ".",
            "id_rsa.pub",
            "public.key",
            "keys/minisign-pub.key",
            "nodesource.gpg.key",
            "cosign.pub",
            "target/shared/ffdhe4096.pem",
            "ssl/dhparam.pem",
            "dh2048.pem",
            "ca.pem",
            "fullchain.pem",
            "rds-ca-bundle.pem",
            "server.crt",
            ".env.example",
            ".env.sample",
            "config.json",
            "keys.txt",
            "https://x/id_rsa",
            "app/",
            "package.json",
        ] {
            assert!(secret_file(p, Side::Source).is_none(), "{p}");
        }
        assert!(secret_file("/root/.ssh/known_hosts", Side::Destination).is_none());
        assert!(secret_file("/root/.ssh/id_rsa", Side::Destination).is_some());
        assert!(secret_file("/tmp/blackfire.key", Side::Destination).is_none());
    }
}

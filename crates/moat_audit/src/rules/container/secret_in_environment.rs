use crate::context::{ContainerContext, Emitter};
use crate::rule::declare_rule;
use crate::rules::container::helpers::secret_values::environment;
use crate::secrets::{self, Verdict};

declare_rule! {
    /// ## What it does
    /// Reports an environment variable of a container with a hard-coded secret value: compose
    /// `environment:`, a line of an `env_file:` (reported at that line), or `docker run -e` /
    /// `--env-file`. A value counts when the name says it holds a secret (`DB_PASSWORD`,
    /// `API_KEY`, `JWT_SECRET`, …) or when the value has the shape of one (a URL with a
    /// password, an AWS/GitHub/Slack/Stripe/Google key, a private key, a long random string).
    ///
    /// Never reported: interpolated values (`${DB_PASSWORD}`, `$TOKEN` on a command line),
    /// template expressions (`{{ db_password }}`), references into a secret store
    /// (`op://prod/db/password`, `vault:secret/data/db#password`, AWS Secrets Manager ARNs) and
    /// encrypted values (SOPS `ENC[…]`), names passed from the host
    /// (`- DB_PASSWORD`, `-e DB_PASSWORD`), `*_FILE` variables
    /// (`POSTGRES_PASSWORD_FILE=/run/secrets/db`, the good practice), empty values, switches
    /// (`MYSQL_RANDOM_ROOT_PASSWORD=yes`), paths, and public keys and certificates whatever the
    /// name (`*_PUBKEY`, `*_PUBLIC_KEY`, `ssh-ed25519 AAAA…`, a minisign `RWS…` key, a PGP or
    /// PEM public key block). A placeholder (`changeme`, `<password>`, `xxxx`,
    /// `your-token-here`, `example`, `TODO`, `secret`, `password`) leaks nothing: it is `C032`'s,
    /// at low severity. Only the value the container gets is judged: an `env_file` line
    /// overridden by `environment:` is not.
    ///
    /// ## Why is this bad?
    /// The secret is written in a file that ends up in version control, backups and CI logs,
    /// and at run time anyone who can run `docker inspect` reads every environment variable.
    /// Environment variables are also inherited by every child process and often dumped by
    /// crash reporters and debug pages.
    ///
    /// ## Example
    /// ```yaml
    /// services:
    ///   db:
    ///     image: postgres:16
    ///     environment:
    ///       POSTGRES_PASSWORD: s3cr3t-pa55
    /// ```
    ///
    /// Use instead:
    /// ```yaml
    /// services:
    ///   db:
    ///     image: postgres:16
    ///     environment:
    ///       POSTGRES_PASSWORD_FILE: /run/secrets/db_password
    ///     secrets:
    ///       - db_password
    /// secrets:
    ///   db_password:
    ///     file: ./secrets/db_password.txt
    /// ```
    ///
    /// ## Fix
    /// Use Docker secrets (`secrets:`, mounted under `/run/secrets/`) with the image's
    /// `*_FILE` variables, or at least interpolate the value from the deploy environment
    /// (`${DB_PASSWORD:?}`) so it is not written in the repository. A name that is wrongly
    /// taken for a secret can be added to `[secrets] allow` in `.moat.toml`. Evidence is
    /// redacted.
    ///
    /// ## References
    /// - CWE-526 (sensitive information in an environment variable). The CIS Docker Benchmark
    ///   has no runtime check for this; 4.10 covers secrets in Dockerfiles (moat D010).
    /// - Docker docs, "Manage sensitive data with Docker secrets" / "Secrets in Compose".
    pub struct SecretInEnvironment {
        code: "C029",
        name: "secret-in-environment",
        summary: "environment variable holds a hard-coded secret",
        severity: High,
        confidence: Medium,
        default_enabled: true,
        references: ["CWE-526"],
        check: Container,
    }
}

pub(crate) fn check(ctx: &ContainerContext<'_>, out: &mut Emitter<'_>) {
    for e in environment(ctx) {
        let name = &e.var.name.value;
        let message = match e.verdict {
            Verdict::Secret(None) => format!(
                "`{}` sets `{name}` to a hard-coded secret{}: use a Docker secret",
                ctx.facts.name, e.origin
            ),
            Verdict::Secret(Some(kind)) => format!(
                "`{}` sets `{name}` to a value that looks like {}{}: use a Docker secret",
                ctx.facts.name,
                kind.describe(),
                e.origin
            ),
            Verdict::Placeholder | Verdict::NotSecret => continue,
        };
        let finding = out.emit_at(
            &SecretInEnvironment::INFO,
            e.value.location.clone(),
            message,
        );
        finding.evidence = Some(format!("{name}={}", secrets::redact(&e.value.value)));
        finding.mark_secret();
    }
}

#[cfg(test)]
mod tests {
    use super::check;
    use crate::rules::container::helpers::compose_testing::{compose_lines, run_findings};

    #[test]
    fn literals_only() {
        let yaml = "services:\n  a:\n    image: x\n    environment:\n      DB_PASSWORD: hunter2hunter2\n      API_TOKEN: ${API_TOKEN}\n      POSTGRES_PASSWORD_FILE: /run/secrets/db\n      MYSQL_RANDOM_ROOT_PASSWORD: \"yes\"\n      EMPTY_PASSWORD: \"\"\n      DATABASE_URL: postgres://app:s3cr3t@db/app\n      LOG_LEVEL: debug\n  b:\n    image: x\n    environment:\n      - SECRET_KEY\n      - JWT_SECRET=abc123def456\n";
        assert_eq!(compose_lines(check, yaml), [5, 10, 16]);
        assert_eq!(
            run_findings(check, "docker run -e DB_PASSWORD=hunter2 pg").len(),
            1
        );
        assert!(run_findings(check, "docker run -e DB_PASSWORD=$DB_PASSWORD pg").is_empty());
        assert!(run_findings(check, "docker run -e DB_PASSWORD pg").is_empty());
    }

    #[test]
    fn the_last_entry_wins() {
        let yaml = "services:\n  a:\n    image: x\n    environment:\n      - API_KEY=abcdef123456\n      - API_KEY=${API_KEY}\n";
        assert!(compose_lines(check, yaml).is_empty());
    }
}

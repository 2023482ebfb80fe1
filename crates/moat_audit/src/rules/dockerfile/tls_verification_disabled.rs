use moat_dockerfile::Kind;

use crate::context::{DockerfileContext, Emitter};
use crate::rule::declare_rule;
use crate::rules::dockerfile::helpers::cmd::{effective_argv, flag_matches, program};

declare_rule! {
    /// ## What it does
    /// Reports builds that turn off TLS certificate or package signature verification:
    /// `curl -k`/`--insecure`, `wget --no-check-certificate`, `pip --trusted-host`,
    /// `apk --allow-untrusted`, `apt-get --allow-unauthenticated` (and
    /// `--allow-insecure-repositories`, `AllowUnauthenticated`/`Verify-Peer=false` options),
    /// `yum`/`dnf --nogpgcheck`, `rpm --nosignature`, `npm config set strict-ssl false`,
    /// `git config http.sslVerify false`, and the variables `NODE_TLS_REJECT_UNAUTHORIZED=0`,
    /// `GIT_SSL_NO_VERIFY`, `PYTHONHTTPSVERIFY=0`, `CURL_INSECURE` in `ENV`, `ARG` or a command
    /// prefix.
    ///
    /// ## Why is this bad?
    /// Verification is what stops a man-in-the-middle from swapping the packages and scripts
    /// that go into your image. Turning it off for a build makes every download a chance to
    /// inject code; set with `ENV`, it stays off for the application at run time too.
    ///
    /// ## Example
    /// ```dockerfile
    /// RUN curl -k https://example.com/tool.tgz -o /tmp/tool.tgz
    /// ENV NODE_TLS_REJECT_UNAUTHORIZED=0
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// COPY corp-ca.crt /usr/local/share/ca-certificates/
    /// RUN update-ca-certificates && curl -fsSL https://example.com/tool.tgz -o /tmp/tool.tgz
    /// ```
    ///
    /// ## Fix
    /// Install the CA certificate you need instead of disabling verification.
    ///
    /// ## References
    /// - CIS Docker Benchmark 4.11 (install verified packages only); OWASP Docker Security
    ///   Cheat Sheet.
    pub struct TlsVerificationDisabled {
        code: "D081",
        name: "verification-disabled",
        summary: "TLS or signature verification is turned off",
        severity: High,
        confidence: High,
        default_enabled: true,
        references: ["CIS-DOCKER-4.11"],
        check: Dockerfile,
    }
}

/// Variables that turn verification off, with the values that do it (empty: any value).
const BAD_VARS: &[(&str, &[&str])] = &[
    ("NODE_TLS_REJECT_UNAUTHORIZED", &["0"]),
    ("GIT_SSL_NO_VERIFY", &[]),
    ("PYTHONHTTPSVERIFY", &["0"]),
    ("CURL_INSECURE", &[]),
    ("NPM_CONFIG_STRICT_SSL", &["false", "0"]),
    ("PIP_TRUSTED_HOST", &[]),
];

fn bad_var(name: &str, value: &str) -> bool {
    BAD_VARS.iter().any(|(n, vals)| {
        n.eq_ignore_ascii_case(name)
            && (vals.is_empty() && !value.is_empty() && value != "false" && value != "0"
                || vals.contains(&value.to_ascii_lowercase().as_str()))
    })
}

pub(crate) fn check(ctx: &DockerfileContext<'_>, out: &mut Emitter<'_>) {
    for instr in ctx
        .dockerfile
        .instructions
        .iter()
        .filter(|i| matches!(i.kind, Kind::Env | Kind::Arg))
    {
        for (k, v) in instr.key_values() {
            let value = v.as_ref().map_or("", |v| v.value.as_str());
            if bad_var(&k.value, value) {
                let span = v.as_ref().map_or(k.span, |v| k.span.to(v.span));
                out.emit(
                    &TlsVerificationDisabled::INFO,
                    span,
                    format!("`{}={value}` turns off certificate verification", k.value),
                );
            }
        }
    }
    for (_, commands) in ctx.runs() {
        for cmd in commands {
            for a in &cmd.assignments {
                if let Some((k, v)) = a.value.split_once('=')
                    && bad_var(k, v)
                {
                    out.emit(
                        &TlsVerificationDisabled::INFO,
                        a.span,
                        format!("`{}` turns off certificate verification", a.value),
                    );
                }
            }
            if let Some(what) = disabling_flag(cmd) {
                out.emit(&TlsVerificationDisabled::INFO, cmd.span, what);
            }
        }
    }
}

fn disabling_flag(cmd: &moat_dockerfile::shell::Command) -> Option<String> {
    let argv = effective_argv(cmd);
    let prog = program(cmd)?;
    let args = argv.get(1..).unwrap_or(&[]);
    let any =
        |long: &[&str], short: &[char]| args.iter().any(|w| flag_matches(&w.value, long, short));
    let has_value = |needle: &str| {
        args.iter()
            .any(|w| w.value.to_ascii_lowercase().contains(needle))
    };
    let msg = match prog {
        "curl" if any(&["--insecure", "--proxy-insecure"], &['k']) => {
            "`curl -k` accepts any certificate"
        }
        "wget" if any(&["--no-check-certificate"], &[]) => {
            "`wget --no-check-certificate` accepts any certificate"
        }
        p if p.starts_with("pip") && any(&["--trusted-host"], &[]) => {
            "`pip --trusted-host` skips TLS verification for that host"
        }
        "apk" if any(&["--allow-untrusted"], &[]) => {
            "`apk --allow-untrusted` installs unsigned packages"
        }
        "apt-get" | "apt"
            if any(
                &[
                    "--allow-unauthenticated",
                    "--allow-insecure-repositories",
                    "--no-check-valid-until",
                ],
                &[],
            ) || has_value("allowunauthenticated")
                || has_value("verify-peer=false")
                || has_value("allowinsecurerepositories") =>
        {
            "apt is told to accept unauthenticated packages"
        }
        "yum" | "dnf" | "microdnf" | "zypper" if any(&["--nogpgcheck", "--no-gpg-checks"], &[]) => {
            "package signatures are not checked"
        }
        "rpm" if any(&["--nosignature", "--nodigest"], &[]) => "`rpm` does not check signatures",
        "npm" | "yarn"
            if args.len() >= 3
                && args.iter().any(|w| w.value == "strict-ssl")
                && args.iter().any(|w| w.value == "false") =>
        {
            "npm `strict-ssl` is turned off"
        }
        "git"
            if has_value("sslverify")
                && args
                    .iter()
                    .any(|w| w.value == "false" || w.value.ends_with("=false")) =>
        {
            "git `http.sslVerify` is turned off"
        }
        "pip" | "pip3" if args.iter().any(|w| w.value == "global.trusted-host") => {
            "pip `trusted-host` skips TLS verification"
        }
        _ => return None,
    };
    Some(msg.to_string())
}

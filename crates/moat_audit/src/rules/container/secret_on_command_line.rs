use moat_diagnostics::Location;

use crate::context::{ContainerContext, Emitter};
use crate::rule::declare_rule;
use crate::secrets;
use crate::secrets::{is_secret_name, not_a_secret_value};

/// Clients that take the password glued to `-p` (`-ps3cret`).
const MYSQL_CLIENTS: &[&str] = &[
    "mysql",
    "mysqladmin",
    "mysqldump",
    "mysqlcheck",
    "mysqlimport",
    "mysqlshow",
    "mariadb",
    "mariadb-admin",
    "mariadb-dump",
    "mariadb-check",
];

/// Options that take a secret although their name does not say so.
const SECRET_OPTIONS: &[&str] = &["requirepass", "masterauth"];

/// Last words of option names that take no secret value (`--password-stdin`).
const NOT_A_VALUE: &[&str] = &["stdin", "prompt", "env", "cmd", "command"];

declare_rule! {
    /// ## What it does
    /// Reports a secret written in a container's `command:` or `entrypoint:` (`docker run`:
    /// the arguments after the image, `--entrypoint`), or in its healthcheck test: an option
    /// named like a secret with a literal value (`--password=s3cret`, `--api-key s3cret`,
    /// `redis-server --requirepass s3cret`), a MySQL/MariaDB client password glued to `-p`
    /// (`mysqladmin ping -ps3cret`), a `NAME=value` assignment of a secret name, and any
    /// argument with the shape of a secret (a URL with a password, a cloud or GitHub token).
    ///
    /// Arguments that hold a variable (`--password=$$DB_PASSWORD`, `${TOKEN}`) or read the
    /// secret from a file (`--password-file`, `--password-stdin`) are not reported.
    ///
    /// ## Why is this bad?
    /// The command line is part of the container's configuration: `docker inspect`, `docker
    /// ps --no-trunc` and the compose file show it, and inside the host every user can read it
    /// from `/proc/PID/cmdline` with `ps`. It also lands in shell history and CI logs.
    ///
    /// ## Example
    /// ```yaml
    /// services:
    ///   cache:
    ///     image: redis:7
    ///     command: redis-server --requirepass s3cr3tpa55
    /// ```
    ///
    /// Use instead:
    /// ```yaml
    /// services:
    ///   cache:
    ///     image: redis:7
    ///     command: ["sh", "-c", "exec redis-server --requirepass \"$$(cat /run/secrets/redis)\""]
    ///     secrets:
    ///       - redis
    /// ```
    ///
    /// ## Fix
    /// Pass the secret through a Docker secret file (many programs take `--password-file`),
    /// or read it in a wrapper script from `/run/secrets/`. Evidence is redacted.
    ///
    /// ## References
    /// - CWE-214 (invocation of a process using visible sensitive information). The CIS Docker
    ///   Benchmark has no check for this.
    /// - Docker docs, "Manage sensitive data with Docker secrets".
    pub struct SecretOnCommandLine {
        code: "C030",
        name: "secret-on-command-line",
        summary: "secret written on the container command line",
        severity: High,
        confidence: Medium,
        default_enabled: true,
        references: ["CWE-214"],
        check: Container,
    }
}

/// One shell word of an argument, with the location of its argument and whether the
/// argument held a variable reference.
struct Token<'a> {
    text: String,
    location: &'a Location,
    interpolated: bool,
    /// The word ends a shell command (`;`, `&&`, `||`, `|`).
    ends_command: bool,
}

pub(crate) fn check(ctx: &ContainerContext<'_>, out: &mut Emitter<'_>) {
    let facts = ctx.facts;
    for (what, argv) in [
        ("command", &facts.command),
        ("entrypoint", &facts.entrypoint),
    ] {
        let Some(argv) = argv else {
            continue;
        };
        let tokens: Vec<Token<'_>> = argv
            .value
            .iter()
            .flat_map(|arg| words(&arg.value, &arg.location, arg.interpolated))
            .collect();
        scan(ctx, out, what, &tokens);
    }
    if let Some(h) = &facts.healthcheck
        && let Some(test) = &h.value.test
    {
        let tokens: Vec<Token<'_>> = test
            .value
            .iter()
            .skip_while(|w| matches!(w.as_str(), "CMD" | "CMD-SHELL"))
            .flat_map(|w| words(w, &test.location, test.interpolated))
            .collect();
        scan(ctx, out, "healthcheck", &tokens);
    }
}

/// Splits an argument on white space (a `sh -c` script is one argument), dropping quotes.
fn words<'a>(arg: &str, location: &'a Location, interpolated: bool) -> Vec<Token<'a>> {
    arg.split_whitespace()
        .map(|w| Token {
            text: w
                .trim_matches(|c| c == '"' || c == '\'' || c == ';')
                .to_string(),
            location,
            interpolated,
            ends_command: w.ends_with(';') || matches!(w, "&&" | "||" | "|"),
        })
        .collect()
}

/// Whether `value` could be a literal secret.
fn literal(value: &str) -> bool {
    !value.is_empty()
        && !value.contains('$')
        && !value.contains('`')
        && !not_a_secret_value(value)
        && !secrets::is_reference(value)
}

/// Whether an option name (without dashes) takes a secret value.
fn secret_option(name: &str, allow: &[String]) -> bool {
    let lower = name.to_ascii_lowercase();
    let last = lower.rsplit(['-', '_', '.']).next().unwrap_or_default();
    if NOT_A_VALUE.contains(&last) {
        return false;
    }
    SECRET_OPTIONS.contains(&lower.as_str()) || is_secret_name(name, allow)
}

fn scan(ctx: &ContainerContext<'_>, out: &mut Emitter<'_>, what: &str, tokens: &[Token<'_>]) {
    let allow = &ctx.settings.secret_allow;
    let mut mysql = false;
    for (i, tok) in tokens.iter().enumerate() {
        let t = tok.text.as_str();
        if i > 0 && tokens[i - 1].ends_command {
            mysql = false;
        }
        let program = t.rsplit('/').next().unwrap_or(t);
        if MYSQL_CLIENTS.contains(&program) {
            mysql = true;
            continue;
        }
        if tok.interpolated {
            continue;
        }
        let found: Option<(String, &str)> = if let Some(opt) = t.strip_prefix('-') {
            let name = opt.trim_start_matches('-');
            if mysql && !opt.starts_with('-') && t.len() > 2 && t.starts_with("-p") {
                Some(("-p".to_string(), &t[2..]))
            } else if let Some((key, value)) = name.split_once('=') {
                secret_option(key, allow).then(|| (format!("--{key}"), value))
            } else if secret_option(name, allow)
                && let Some(next) = tokens.get(i + 1)
                && !next.interpolated
                && !next.text.starts_with('-')
            {
                Some((t.to_string(), next.text.as_str()))
            } else {
                None
            }
        } else if let Some((key, value)) = t.split_once('=')
            && !key.is_empty()
            && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && is_secret_name(key, allow)
        {
            Some((key.to_string(), value))
        } else {
            None
        };
        let message = match found {
            Some((name, value)) if literal(value) => format!(
                "`{}` passes a secret on its {what} line (`{name}`)",
                ctx.facts.name
            ),
            Some(_) => continue,
            None => match secrets::classify_value(t) {
                Some(kind) if !t.contains('$') => format!(
                    "`{}` has {} on its {what} line",
                    ctx.facts.name,
                    kind.describe()
                ),
                _ => continue,
            },
        };
        let finding = out.emit_at(&SecretOnCommandLine::INFO, tok.location.clone(), message);
        finding.evidence = Some(secrets::redact(t));
    }
}

#[cfg(test)]
mod tests {
    use super::check;
    use crate::rules::container::helpers::compose_testing::{compose_lines, run_findings};

    #[test]
    fn options_and_shapes() {
        let yaml = "services:\n  a:\n    image: redis\n    command: redis-server --requirepass s3cr3tpa55\n  b:\n    image: mysql\n    command: '--default-authentication-plugin=mysql_native_password'\n    healthcheck:\n      test: ['CMD-SHELL', 'mysqladmin ping -h 127.0.0.1 --password=\"$$(cat /run/secrets/db)\" --silent']\n  c:\n    image: mysql\n    healthcheck:\n      test: ['CMD', 'mysqladmin', 'ping', '-proot']\n  d:\n    image: app\n    entrypoint: [\"app\", \"--db\", \"postgres://u:hunter22@db/app\"]\n  e:\n    image: app\n    command: [\"app\", \"--password-stdin\", \"registry\", \"--token\", \"$$TOKEN\"]\n";
        assert_eq!(compose_lines(check, yaml), [4, 13, 16]);
        assert_eq!(
            run_findings(check, "docker run app --api-key=abcd1234efgh").len(),
            1
        );
        assert!(run_findings(check, "docker run app --password \"$PW\"").is_empty());
        assert_eq!(
            run_findings(check, "docker run mysql:8 mysql -uroot -pr00tpw -h db").len(),
            1
        );
        let yaml = "services:\n  a:\n    image: x\n    command: [\"sh\", \"-c\", \"mysql -pr00tpw; ssh -p2222 host\"]\n";
        assert_eq!(compose_lines(check, yaml), [4]);
    }
}

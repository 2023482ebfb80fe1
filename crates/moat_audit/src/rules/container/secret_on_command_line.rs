use crate::context::{ContainerContext, Emitter};
use crate::rule::declare_rule;
use crate::rules::container::helpers::secret_values::command_line;
use crate::secrets::{self, Verdict};

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
    /// secret from a file (`--password-file`, `--password-stdin`) are not reported, nor are
    /// public keys. A placeholder (`--requirepass changeme`, `--password <password>`) leaks
    /// nothing: it is `C032`'s, at low severity.
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

pub(crate) fn check(ctx: &ContainerContext<'_>, out: &mut Emitter<'_>) {
    for a in command_line(ctx) {
        let message = match (&a.option, a.verdict) {
            (Some(option), Verdict::Secret(_)) => format!(
                "`{}` passes a secret on its {} line (`{option}`)",
                ctx.facts.name, a.what
            ),
            (None, Verdict::Secret(kind)) => format!(
                "`{}` has {} on its {} line",
                ctx.facts.name,
                kind.map_or("a secret", |k| k.describe()),
                a.what
            ),
            _ => continue,
        };
        let finding = out.emit_at(&SecretOnCommandLine::INFO, a.location.clone(), message);
        finding.evidence = Some(secrets::redact(&a.word));
        finding.mark_secret();
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

use crate::context::{ContainerContext, Emitter};
use crate::rule::declare_rule;
use crate::rules::container::helpers::secret_values::{command_line, environment};
use crate::secrets::{self, Verdict};

declare_rule! {
    /// ## What it does
    /// Reports a secret of a container that is set to a placeholder: an environment variable
    /// named like a secret (compose `environment:`, an `env_file:` line, `docker run -e`) or a
    /// secret option of its command line (`--password`, `--requirepass`, `mysql -p…`) whose
    /// value is `changeme`, `change_me`, `replace-me`, `<password>`, `xxxx`, `your-key-here`,
    /// `example`, `TODO`, `dummy`, or the words `secret` / `password` themselves; also a URL
    /// whose password is such a word (`postgres://app:changeme@db/app`), and a token of a known
    /// format filled with `x` or the issuer's documented example (`AKIAIOSFODNN7EXAMPLE`).
    ///
    /// Not reported: interpolated values (`${DB_PASSWORD}`), names passed from the host, empty
    /// values, switches, paths and `*_FILE` variables (`POSTGRES_PASSWORD_FILE=/run/secrets/db`,
    /// the good practice), public keys. A real hard-coded secret is `C029` / `C030`, not this
    /// rule.
    ///
    /// ## Why is this bad?
    /// Nothing leaks, but the deployment runs with a value that everyone who reads the file
    /// (or the image's README) knows, until someone remembers to replace it: a database with the
    /// password `changeme` is open to anyone who reaches it. A placeholder left in a deployable
    /// file is a default credential.
    ///
    /// ## Example
    /// ```yaml
    /// services:
    ///   db:
    ///     image: postgres:16
    ///     environment:
    ///       POSTGRES_PASSWORD: changeme
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
    ///     environment: DB_PASSWORD
    /// ```
    ///
    /// ## Fix
    /// Set a real secret through a secret store: a Docker secret read through the image's
    /// `*_FILE` variable, or interpolation that fails when the value is missing
    /// (`${DB_PASSWORD:?set DB_PASSWORD}`). An example file meant to be copied (a
    /// `compose.example.yaml`) can ignore the rule: `# moat: ignore-file[C032]`.
    ///
    /// ## References
    /// - CWE-1392 (use of default credentials).
    /// - A placeholder has its own code, apart from the leaks (`C029`, `C030`), so that the two
    ///   can be selected, ignored and given a severity separately. Its Dockerfile twin is
    ///   `D013`.
    pub struct SecretPlaceholder {
        code: "C032",
        name: "secret-placeholder",
        summary: "a secret is set to a placeholder",
        severity: Low,
        confidence: Medium,
        default_enabled: true,
        references: ["CWE-1392"],
        check: Container,
    }
}

pub(crate) fn check(ctx: &ContainerContext<'_>, out: &mut Emitter<'_>) {
    for e in environment(ctx) {
        if e.verdict != Verdict::Placeholder {
            continue;
        }
        let name = &e.var.name.value;
        let finding = out.emit_at(
            &SecretPlaceholder::INFO,
            e.value.location.clone(),
            format!(
                "`{}` sets `{name}` to a placeholder{}: set a real secret through a secret store",
                ctx.facts.name, e.origin
            ),
        );
        finding.evidence = Some(format!("{name}={}", secrets::redact(&e.value.value)));
        finding.mark_secret();
    }
    for a in command_line(ctx) {
        if a.verdict != Verdict::Placeholder {
            continue;
        }
        let subject = a
            .option
            .as_ref()
            .map_or_else(|| "a secret".to_string(), |o| format!("`{o}`"));
        let finding = out.emit_at(
            &SecretPlaceholder::INFO,
            a.location.clone(),
            format!(
                "`{}` sets {subject} to a placeholder on its {} line: set a real secret through a secret store",
                ctx.facts.name, a.what
            ),
        );
        finding.evidence = Some(secrets::redact(&a.word));
        finding.mark_secret();
    }
}

#[cfg(test)]
mod tests {
    use super::check;
    use crate::rules::container::helpers::compose_testing::{compose_lines, run_findings};

    #[test]
    fn placeholders_not_secrets() {
        let yaml = "services:\n  db:\n    image: postgres:16\n    environment:\n      POSTGRES_PASSWORD: changeme\n      POSTGRES_USER: app\n      API_KEY: <your-api-key>\n      JWT_SECRET: secret\n      DB_PASSWORD: s3cr3t-pa55\n      TOKEN: ${TOKEN}\n      EMPTY_PASSWORD: \"\"\n      POSTGRES_PASSWORD_FILE: /run/secrets/db\n      DATABASE_URL: postgres://app:change_me@db/app\n      LOG_LEVEL: TODO\n    command: redis-server --requirepass replace-me\n";
        assert_eq!(compose_lines(check, yaml), [5, 7, 8, 13, 15]);
        assert_eq!(
            run_findings(check, "docker run -e DB_PASSWORD=xxxxxx pg").len(),
            1
        );
        assert!(run_findings(check, "docker run -e DB_PASSWORD=hunter2 pg").is_empty());
    }
}

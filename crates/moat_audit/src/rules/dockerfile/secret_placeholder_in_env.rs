use crate::context::{DockerfileContext, Emitter};
use crate::rule::declare_rule;
use crate::rules::dockerfile::helpers::env_secrets::{Place, assignments};
use crate::secrets::{self, Verdict};

declare_rule! {
    /// ## What it does
    /// Reports an `ENV` that the image inherits (the final stage and the stages it builds on
    /// by name) whose name says it holds a secret and whose value is a placeholder:
    /// `changeme`, `change_me`, `replace-me`, `<password>`, `xxxx`, `your-password-here`,
    /// `example`, `TODO`, `dummy`, or the words `secret` / `password` themselves; also, whatever
    /// the name, a URL whose password is such a word (`postgres://app:changeme@db/app`) and a
    /// token of a known format filled with `x` or the issuer's documented example
    /// (`AKIAIOSFODNN7EXAMPLE`).
    ///
    /// Not reported: references (`${DB_PASSWORD}`, which is `D010`'s), empty values, switches,
    /// paths and `*_FILE` variables, public keys, sentinels that ask the entrypoint to
    /// generate a value (`**Random**`), build arguments and `ENV` of builder stages (they do
    /// not set the image's defaults). A real secret is `D010`, not this rule.
    ///
    /// ## Why is this bad?
    /// The image ships a default credential: every container started without overriding the
    /// variable runs with a password that anyone who reads the Dockerfile knows. It is not a
    /// leak (nothing secret is written), so it is reported apart from `D010`, at low severity.
    ///
    /// ## Example
    /// ```dockerfile
    /// FROM alpine:3.20
    /// ENV ADMIN_PASSWORD=changeme
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// FROM alpine:3.20
    /// # the entrypoint reads /run/secrets/admin_password, or fails without it
    /// ENV ADMIN_PASSWORD_FILE=/run/secrets/admin_password
    /// ```
    ///
    /// ## Fix
    /// Leave the secret unset in the image and set a real secret at run time through a secret
    /// store (a Docker secret read through a `*_FILE` variable); let the entrypoint refuse to
    /// start without it, or generate a random one.
    ///
    /// ## References
    /// - CWE-1392 (use of default credentials). Its container twin is `C032`.
    pub struct SecretPlaceholderInEnv {
        code: "D013",
        name: "secret-placeholder-in-env",
        summary: "ENV sets a secret to a placeholder",
        severity: Low,
        confidence: Medium,
        default_enabled: true,
        references: ["CWE-1392"],
        check: Dockerfile,
    }
}

pub(crate) fn check(ctx: &DockerfileContext<'_>, out: &mut Emitter<'_>) {
    for a in assignments(ctx) {
        if a.place != Place::ImageEnv || a.verdict != Verdict::Placeholder {
            continue;
        }
        let Some(value) = &a.value else {
            continue;
        };
        let finding = out.emit(
            &SecretPlaceholderInEnv::INFO,
            a.name.span.to(value.span),
            format!(
                "ENV `{}` defaults to a placeholder: set a real secret at run time through a secret store",
                a.name.value
            ),
        );
        finding.evidence = Some(format!("{}={}", a.name.value, secrets::redact(&value.value)));
        // a value wrongly judged a placeholder must not be printed either
        finding.secret = Some(value.span);
    }
}

#[cfg(test)]
mod tests {
    use super::check;
    use crate::rules::dockerfile::helpers::testing::lines;

    #[test]
    fn only_image_env_placeholders() {
        let src = "FROM alpine AS build\nENV BUILD_PASSWORD=changeme\nARG NPM_TOKEN=changeme\nFROM alpine\nENV ADMIN_PASSWORD=changeme\nENV API_KEY=xxxxxxxx DB_PASSWORD=hunter2\nENV VPN_PASSWORD yourpasswordhere\nENV JBOSS_PASS **Random**\nENV SECRET_KEY=${SECRET_KEY}\nENV GREETING=changeme\nENV DATABASE_URL=postgres://app:password@db/app\n";
        assert_eq!(lines(check, src), [5, 6, 7, 11]);
    }
}

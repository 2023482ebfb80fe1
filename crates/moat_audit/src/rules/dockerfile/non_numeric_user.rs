
use crate::context::{DockerfileContext, Emitter};
use crate::rule::declare_rule;
use crate::rules::dockerfile::helpers::image_stages::final_user;

declare_rule! {
    /// ## What it does
    /// Reports an image whose last `USER` (in the final stage or a stage it builds on by name)
    /// names its user by name (`USER app`, `USER app:app`) instead of by number. Root is rule
    /// D021's; a user given as a variable (`USER $APP_UID`) is not judged. Off by default (most
    /// images name their user, and only some platforms enforce the check): turn it on with
    /// `--select D025` or `enable = ["D025"]` where images run under `runAsNonRoot`.
    ///
    /// ## Why is this bad?
    /// A platform that enforces "run as non-root" checks the image's user before starting the
    /// container, and can only check a number: Kubernetes with `runAsNonRoot: true` refuses to
    /// start an image whose user is `app` ("image has non-numeric user, cannot verify user is
    /// non-root"), and so does OpenShift's restricted policy. The name also depends on the
    /// image's `/etc/passwd`, which a later layer or a different base can change.
    ///
    /// ## Example
    /// ```dockerfile
    /// FROM debian:bookworm-slim
    /// RUN useradd --uid 10001 --no-create-home app
    /// USER app
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// FROM debian:bookworm-slim
    /// RUN useradd --uid 10001 --no-create-home app
    /// USER 10001:10001
    /// ```
    ///
    /// ## Fix
    /// Create the user with a fixed UID and write that number in `USER` (with its group if you
    /// like). A named group after a numeric user (`USER 10001:app`) is fine.
    ///
    /// ## References
    /// - hadolint DL3066. moat differs on purpose: it judges only the user the image ends with,
    ///   where hadolint reports every `USER` of every stage (a builder's user never runs the
    ///   container).
    /// - Kubernetes documentation, "Configure a Security Context" (`runAsNonRoot`).
    pub struct NonNumericUser {
        code: "D025",
        name: "non-numeric-user",
        summary: "the image's USER is a name, not a numeric UID",
        severity: Low,
        confidence: High,
        default_enabled: false,
        references: ["DL3066"],
        check: Dockerfile,
    }
}

pub(crate) fn check(ctx: &DockerfileContext<'_>, out: &mut Emitter<'_>) {
    let Some((_, spec)) = final_user(ctx) else {
        return;
    };
    let user = spec.value.split(':').next().unwrap_or_default().trim();
    if user.is_empty()
        || user.contains('$')
        || user == "root"
        || user.bytes().all(|b| b.is_ascii_digit())
    {
        return;
    }
    out.emit(
        &NonNumericUser::INFO,
        spec.span,
        format!(
            "the image runs as the user name `{user}`: a platform enforcing non-root users \
             (Kubernetes `runAsNonRoot`) cannot verify a name; use its numeric UID"
        ),
    );
}

#[cfg(test)]
mod tests {
    use super::check;
    use crate::rules::dockerfile::helpers::testing::lines;

    #[test]
    fn judges_the_user_the_image_ends_with() {
        assert_eq!(lines(check, "FROM debian:12\nUSER app\n"), [2]);
        assert_eq!(lines(check, "FROM debian:12\nUSER app:app\n"), [2]);
        assert_eq!(
            lines(
                check,
                "FROM debian:12 AS base\nUSER app\nFROM base\nRUN true\n"
            ),
            [2]
        );
        for ok in [
            "FROM debian:12\nUSER 10001\n",
            "FROM debian:12\nUSER 10001:app\n",
            "FROM debian:12\nUSER ${APP_UID}\n",
            "FROM debian:12\nUSER root\n",
            "FROM debian:12\nUSER app\nUSER 10001\n",
            "FROM golang:1.23 AS build\nUSER builder\nFROM debian:12\nUSER 10001\n",
        ] {
            assert!(lines(check, ok).is_empty(), "{ok}");
        }
    }
}

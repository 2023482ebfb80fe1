
use crate::context::{DockerfileContext, Emitter};
use crate::rule::declare_rule;
use crate::rules::dockerfile::helpers::image_stages::final_user;

declare_rule! {
    /// ## What it does
    /// Reports a final stage whose last `USER` (its own, or inherited from the stage it builds on
    /// by name) is root: `root`, `0`, or either with a group (`root:root`, `0:0`, `0:1000`).
    /// A user given as a variable (`USER $APP_USER`) is not judged.
    ///
    /// ## Why is this bad?
    /// The container runs as root; see `missing-user` (D020). Switching to root for a few
    /// instructions is fine, but the image should end with an unprivileged user.
    ///
    /// ## Example
    /// ```dockerfile
    /// FROM debian:bookworm-slim
    /// RUN useradd --system app
    /// USER app
    /// RUN ./build.sh
    /// USER root
    /// CMD ["/usr/local/bin/app"]
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// FROM debian:bookworm-slim
    /// RUN useradd --system app
    /// USER app
    /// RUN ./build.sh
    /// CMD ["/usr/local/bin/app"]
    /// ```
    ///
    /// ## Fix
    /// End the final stage with `USER <unprivileged user>`. There is no automatic fix: the right
    /// user depends on the image.
    ///
    /// ## References
    /// - hadolint DL3002. moat differs on purpose: hadolint reports the last root `USER` of
    ///   every stage, so a builder stage that ends as root is reported although it never
    ///   becomes the image (`FROM golang AS build` / `USER root` / `FROM alpine` / `USER app`);
    ///   moat judges only the final stage and the stages it builds on.
    /// - CIS Docker Benchmark 4.1.
    pub struct RootUser {
        code: "D021",
        name: "root-user",
        summary: "the last USER of the final stage is root",
        severity: Medium,
        confidence: High,
        default_enabled: true,
        references: ["DL3002", "CIS-DOCKER-4.1"],
        check: Dockerfile,
    }
}

pub(crate) fn check(ctx: &DockerfileContext<'_>, out: &mut Emitter<'_>) {
    let Some((last, user)) = final_user(ctx) else {
        return;
    };
    if is_root(&user.value) {
        out.emit(
            &RootUser::INFO,
            last.span,
            format!("the image runs as root: the last USER is `{}`", user.value),
        );
    }
}

/// `root`, `0`, `root:…`, `0:…`.
fn is_root(spec: &str) -> bool {
    let user = spec.split(':').next().unwrap_or_default().trim();
    user == "root" || (!user.is_empty() && user.bytes().all(|b| b == b'0'))
}

#[cfg(test)]
mod tests {
    use super::{check, is_root};
    use crate::rules::dockerfile::helpers::testing::lines;

    #[test]
    fn judges_the_last_user_of_the_image() {
        // inherited from the stage the final one builds on
        assert_eq!(
            lines(
                check,
                "FROM debian AS base\nUSER root\nFROM base\nRUN true\n"
            ),
            [2]
        );
        // a root builder does not matter
        assert!(
            lines(
                check,
                "FROM debian AS b\nUSER root\nFROM debian\nUSER app\n"
            )
            .is_empty()
        );
        assert!(lines(check, "FROM debian\nUSER root\nRUN x\nUSER app\n").is_empty());
        assert!(lines(check, "FROM debian\nUSER $APP_USER\n").is_empty());
    }

    #[test]
    fn root_specs() {
        for s in ["root", "0", "root:root", "0:0", "0:1000", "00"] {
            assert!(is_root(s), "{s}");
        }
        for s in [
            "app", "1000", "1000:0", "nobody", "$USER", "rootless", "10", "ROOT",
        ] {
            assert!(!is_root(s), "{s}");
        }
    }
}

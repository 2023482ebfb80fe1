use moat_dockerfile::Kind;

use crate::context::{DockerfileContext, Emitter};
use moat_deploy::ImageRef;
use crate::rule::declare_rule;
use crate::rules::dockerfile::helpers::image_stages::{final_from, image_instructions, image_stages};

declare_rule! {
    /// ## What it does
    /// Reports a Dockerfile whose final stage sets no `USER`, neither itself nor in the stages it
    /// builds on by name (`FROM base`). The container then runs as the base image's user, which
    /// is `root` for nearly all of them.
    ///
    /// A final stage `FROM scratch` that only copies a static binary is reported too: without a
    /// `USER` it also runs as uid 0. Base images that document a non-root default by their tag
    /// (distroless `…:nonroot`) are not reported.
    ///
    /// ## Why is this bad?
    /// A process running as root in a container is one kernel or runtime bug away from root on
    /// the host, can modify everything in the image, and can bind privileged ports and use
    /// capabilities the default profile still grants.
    ///
    /// ## Example
    /// ```dockerfile
    /// FROM node:20-slim
    /// WORKDIR /app
    /// COPY . .
    /// CMD ["node", "server.js"]
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// FROM node:20-slim
    /// WORKDIR /app
    /// COPY --chown=node:node . .
    /// USER node
    /// CMD ["node", "server.js"]
    /// ```
    ///
    /// ## Fix
    /// Create an unprivileged user (or use one the base image provides, such as `node` or
    /// `nobody`) and switch to it with `USER` before `CMD`/`ENTRYPOINT`. With `FROM scratch`, use
    /// a numeric id: `USER 65532:65532`.
    ///
    /// ## References
    /// - CIS Docker Benchmark 4.1 (create a user for the container).
    /// - Trivy DS-0002, checkov CKV_DOCKER_3. hadolint has no rule for a missing USER.
    pub struct MissingUser {
        code: "D020",
        name: "missing-user",
        summary: "the final stage sets no USER and runs as root",
        severity: Medium,
        confidence: Medium,
        default_enabled: true,
        references: ["CIS-DOCKER-4.1", "DS-0002", "CKV_DOCKER_3"],
        check: Dockerfile,
    }
}

pub(crate) fn check(ctx: &DockerfileContext<'_>, out: &mut Emitter<'_>) {
    if image_instructions(ctx).iter().any(|i| i.kind == Kind::User) {
        return;
    }
    let Some(root) = image_stages(ctx).first().copied() else {
        return;
    };
    let base = ImageRef::parse(&root.image_resolved);
    if base
        .as_ref()
        .and_then(|b| b.tag.as_deref())
        .is_some_and(|t| t.contains("nonroot"))
    {
        return;
    }
    let Some(from) = final_from(ctx) else { return };
    let what = if base.is_some_and(|b| b.is_scratch()) {
        "the image (`FROM scratch`) runs as uid 0"
    } else {
        "the container runs as the base image's user, usually root"
    };
    out.emit(
        &MissingUser::INFO,
        from.span,
        format!("the final stage sets no USER: {what}"),
    );
}

#[cfg(test)]
mod tests {
    use super::check;
    use crate::rules::dockerfile::helpers::testing::{findings_with, lines};

    #[test]
    fn inherited_user_counts() {
        assert!(
            lines(
                check,
                "FROM debian AS base\nUSER app\nFROM base AS final\nRUN true\n"
            )
            .is_empty()
        );
        assert_eq!(
            lines(check, "FROM debian AS base\nUSER app\nFROM debian\n"),
            [3]
        );
    }

    #[test]
    fn nonroot_base_images_are_trusted() {
        assert!(
            lines(
                check,
                "FROM gcr.io/distroless/static-debian12:nonroot\nCOPY app /\n"
            )
            .is_empty()
        );
    }

    #[test]
    fn scratch_is_reported() {
        let got = findings_with(
            check,
            "FROM scratch\nCOPY app /app\n",
            &crate::config::Settings::default(),
        );
        assert!(got[0].1.contains("scratch"), "{got:?}");
    }
}

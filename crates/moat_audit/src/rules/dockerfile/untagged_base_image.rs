use crate::context::{DockerfileContext, Emitter};
use crate::rule::declare_rule;
use crate::rules::dockerfile::helpers::base_image::pulled_images;

declare_rule! {
    /// ## What it does
    /// Reports an image with neither a tag nor a digest: a `FROM` (after global `ARG` defaults
    /// are expanded), a `COPY --from=<image>` or a `RUN --mount=…,from=<image>`.
    ///
    /// An image that the audited scripts, Makefiles or compose projects build is not reported:
    /// `FROM acme/base` after `docker build -t acme/base -f Dockerfile.base .` (or a compose
    /// service with `build:` and `image: acme/base`) uses what was built there, not an image
    /// pulled from a registry. Images are matched by registry and repository, any tag.
    ///
    /// ## Why is this bad?
    /// Without a tag Docker pulls `latest`, which moves: the same Dockerfile builds a different
    /// image from one day to the next, and a compromised or broken upstream release flows into
    /// your image unreviewed.
    ///
    /// ## Example
    /// ```dockerfile
    /// FROM node
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// FROM node:20.11-bookworm-slim
    /// ```
    ///
    /// ## Fix
    /// Name an explicit version tag, or better a digest (`node:20.11@sha256:…`).
    ///
    /// ## References
    /// - hadolint DL3006. moat differs deliberately in one way: it expands global `ARG` defaults,
    ///   so `ARG IMG=node` + `FROM ${IMG}` is reported, where hadolint skips variables. It also
    ///   judges images pulled outside `FROM`, which hadolint does not.
    /// - Trivy DS-0001 (related), CIS Docker Benchmark 4.2 (use trusted base images).
    pub struct UntaggedBaseImage {
        code: "D001",
        name: "untagged-base-image",
        summary: "an image (FROM, COPY --from, RUN --mount) has no tag or digest",
        severity: Medium,
        confidence: High,
        default_enabled: true,
        references: ["DL3006", "CIS-DOCKER-4.2"],
        check: Dockerfile,
    }
}

pub(crate) fn check(ctx: &DockerfileContext<'_>, out: &mut Emitter<'_>) {
    for image in pulled_images(ctx) {
        if image.unresolved || image.image.tag.is_some() || image.image.digest.is_some() {
            continue;
        }
        out.emit(
            &UntaggedBaseImage::INFO,
            image.span,
            format!(
                "{} has no tag: it means `latest`, which changes",
                image.describe()
            ),
        );
    }
}

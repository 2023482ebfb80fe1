use crate::context::{DockerfileContext, Emitter};
use crate::rule::declare_rule;
use crate::rules::dockerfile::helpers::base_image::pulled_images;

declare_rule! {
    /// ## What it does
    /// Reports an image that uses the `latest` tag: a `FROM` (after global `ARG` defaults are
    /// expanded, so `ARG TAG=latest` + `FROM node:${TAG}` counts), a `COPY --from=<image>` or a
    /// `RUN --mount=…,from=<image>`.
    ///
    /// An image that the audited scripts, Makefiles or compose projects build is not reported:
    /// `FROM acme/base` after `docker build -t acme/base -f Dockerfile.base .` (or a compose
    /// service with `build:` and `image: acme/base`) uses what was built there, not an image
    /// pulled from a registry. Images are matched by registry and repository, any tag.
    ///
    /// ## Why is this bad?
    /// `latest` is whatever was pushed last. Builds stop being reproducible, and a new upstream
    /// release (or a malicious one) enters the image without review.
    ///
    /// ## Example
    /// ```dockerfile
    /// FROM python:latest
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// FROM python:3.12-slim-bookworm
    /// ```
    ///
    /// ## Fix
    /// Pin a version tag, and a digest where the registry allows it. An image pinned by digest
    /// (`python:latest@sha256:…`) is not reported.
    ///
    /// ## References
    /// - hadolint DL3007. moat also judges `FROM img:${TAG}` with `ARG TAG=latest`, and images
    ///   pulled outside `FROM`, which hadolint does not see. Other tags that move (`nightly`,
    ///   `edge`, `stable`…) are rule D005's.
    /// - CIS Docker Benchmark 4.2, Trivy DS-0001.
    pub struct LatestBaseImage {
        code: "D002",
        name: "latest-base-image",
        summary: "an image uses the `latest` tag",
        severity: Medium,
        confidence: High,
        default_enabled: true,
        references: ["DL3007", "CIS-DOCKER-4.2", "DS-0001"],
        check: Dockerfile,
    }
}

pub(crate) fn check(ctx: &DockerfileContext<'_>, out: &mut Emitter<'_>) {
    for image in pulled_images(ctx) {
        if image.image.digest.is_some() || image.image.tag.as_deref() != Some("latest") {
            continue;
        }
        out.emit(
            &LatestBaseImage::INFO,
            image.span,
            format!("{} uses the `latest` tag", image.describe()),
        );
    }
}

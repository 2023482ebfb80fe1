use crate::context::{DockerfileContext, Emitter};
use crate::rule::declare_rule;
use crate::rules::dockerfile::helpers::base_image::base_images;

declare_rule! {
    /// ## What it does
    /// Reports a `FROM` whose image uses the `latest` tag, after global `ARG` defaults are
    /// expanded (so `ARG TAG=latest` + `FROM node:${TAG}` counts).
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
    /// - hadolint DL3007. moat also judges `FROM img:${TAG}` with `ARG TAG=latest`, which hadolint
    ///   does not see.
    /// - CIS Docker Benchmark 4.2, Trivy DS-0001.
    pub struct LatestBaseImage {
        code: "D002",
        name: "latest-base-image",
        summary: "base image uses the `latest` tag",
        severity: Medium,
        confidence: High,
        default_enabled: true,
        references: ["DL3007", "CIS-DOCKER-4.2", "DS-0001"],
        check: Dockerfile,
    }
}

pub(crate) fn check(ctx: &DockerfileContext<'_>, out: &mut Emitter<'_>) {
    for base in base_images(ctx) {
        if base.image.digest.is_some() || base.image.tag.as_deref() != Some("latest") {
            continue;
        }
        out.emit(
            &LatestBaseImage::INFO,
            base.stage.image.span,
            format!(
                "base image `{}` uses the `latest` tag",
                base.stage.image_resolved
            ),
        );
    }
}

use crate::context::{DockerfileContext, Emitter};
use crate::rule::declare_rule;
use crate::rules::dockerfile::helpers::base_image::pulled_images;

declare_rule! {
    /// ## What it does
    /// Reports an image that is not pinned by digest (`@sha256:…`): a base image, or one pulled
    /// by `COPY --from=<image>` or `RUN --mount=…,from=<image>`. Off by default: turn it on with
    /// `--select D003` or `enable = ["D003"]` for a strict (pedantic) profile.
    ///
    /// An image that the audited scripts, Makefiles or compose projects build is not reported:
    /// `FROM acme/base` after `docker build -t acme/base -f Dockerfile.base .` (or a compose
    /// service with `build:` and `image: acme/base`) uses what was built there, not an image
    /// pulled from a registry. Images are matched by registry and repository, any tag.
    ///
    /// ## Why is this bad?
    /// Tags are mutable: the publisher, or anyone who controls the registry account, can point
    /// `node:20` at different content. Only a digest names exactly the bytes you reviewed.
    ///
    /// ## Example
    /// ```dockerfile
    /// FROM node:20-alpine
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// FROM node:20-alpine@sha256:<digest>
    /// ```
    ///
    /// ## Fix
    /// Append the digest you tested (`docker buildx imagetools inspect node:20-alpine`), and let
    /// a bot such as Renovate or Dependabot keep it current.
    ///
    /// ## References
    /// - CIS Docker Benchmark 4.2; Docker build best practices ("pin base image versions").
    pub struct UnpinnedDigest {
        code: "D003",
        name: "base-image-not-pinned-by-digest",
        summary: "an image is not pinned by digest",
        severity: Low,
        confidence: High,
        default_enabled: false,
        references: ["CIS-DOCKER-4.2"],
        check: Dockerfile,
    }
}

pub(crate) fn check(ctx: &DockerfileContext<'_>, out: &mut Emitter<'_>) {
    for image in pulled_images(ctx) {
        if image.unresolved || image.image.digest.is_some() {
            continue;
        }
        out.emit(
            &UnpinnedDigest::INFO,
            image.span,
            format!("{} is not pinned by digest", image.describe()),
        );
    }
}

use crate::context::{ContainerContext, Emitter};
use crate::image::ImageRef;
use crate::rule::declare_rule;

declare_rule! {
    /// ## What it does
    /// Reports a container whose `image:` (or `docker run` image) has no tag or the `latest`
    /// tag, and no digest. Images with a variable (`image: api:${TAG}`) are skipped, and so
    /// are compose services with `build:` (their `image:` only names the image they build).
    ///
    /// ## Why is this bad?
    /// An untagged image means `latest`, which is whatever was pushed last. Each deploy may run
    /// different code, a rollback cannot return to what ran before, and a compromised or broken
    /// upstream release is deployed without review.
    ///
    /// ## Example
    /// ```yaml
    /// services:
    ///   cache:
    ///     image: redis
    /// ```
    ///
    /// Use instead:
    /// ```yaml
    /// services:
    ///   cache:
    ///     image: redis:7.2.5-alpine@sha256:0389…
    /// ```
    ///
    /// ## Fix
    /// Pin a version tag, and a digest where you can (`name:tag@sha256:…`); let a tool such as
    /// Renovate or Dependabot propose updates.
    ///
    /// ## References
    /// - Docker docs, "docker image pull: pull an image by digest (immutable identifier)".
    /// - The Dockerfile twins of this rule are `D001` (untagged base image, hadolint DL3006)
    ///   and `D002` (`latest`, DL3007). The CIS Docker Benchmark has no item for the image a
    ///   container is started from, so none is cited.
    pub struct UnpinnedImage {
        code: "C019",
        name: "image-not-pinned",
        summary: "container image is untagged or uses `latest`",
        severity: Medium,
        confidence: High,
        default_enabled: true,
        references: [],
        check: Container,
    }
}

pub(crate) fn check(ctx: &ContainerContext<'_>, out: &mut Emitter<'_>) {
    let f = ctx.facts;
    if f.build.is_some() {
        return;
    }
    let Some(image) = &f.image else {
        return;
    };
    if image.interpolated || ImageRef::has_variable(&image.value) {
        return;
    }
    let Some(r) = ImageRef::parse(&image.value) else {
        return;
    };
    if r.digest.is_some() || r.is_scratch() {
        return;
    }
    let message = match r.tag.as_deref() {
        None => format!(
            "image `{}` has no tag: it runs whatever `latest` is at deploy time",
            image.value
        ),
        Some("latest") => format!("image `{}` uses the `latest` tag", image.value),
        Some(_) => return,
    };
    out.emit_at(&UnpinnedImage::INFO, image.location.clone(), message);
}

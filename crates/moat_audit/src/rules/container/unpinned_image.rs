use crate::context::{ContainerContext, Emitter};
use moat_deploy::ImageRef;
use crate::rule::declare_rule;

declare_rule! {
    /// ## What it does
    /// Reports a container whose `image:` (or `docker run` image) has no tag or the `latest`
    /// tag, and no digest. Images with a variable (`image: api:${TAG}`) are skipped.
    ///
    /// So are images built where they run, which are not pulled from a registry: a compose
    /// service with `build:` (its `image:` only names the image it builds), another service of
    /// the same project whose `image:` is one of those names (or, with a top-level `name:`,
    /// the `NAME-SERVICE` name compose gives a built image), and a `docker run` of an image that
    /// the same script or Makefile builds or tags (`docker build -t api .`, `docker buildx
    /// build --tag api`, `docker tag api api:stable`) — anywhere in the file, since functions
    /// and Makefile targets run in any order. Names are compared by repository: the tag that
    /// was built need not be the one run.
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
    if r.digest.is_some() || r.is_scratch() || r.is_one_of(ctx.built_images) {
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

#[cfg(test)]
mod tests {
    use super::check;
    use crate::rules::container::helpers::compose_testing::{compose_lines, script_findings};

    #[test]
    fn images_built_by_the_project_are_not_pulled() {
        let yaml = "name: shop\nservices:\n  api:\n    build: ./api\n    image: acme/api\n  worker:\n    image: acme/api\n    command: worker\n  migrate:\n    image: acme/api:latest\n  web:\n    build: ./web\n  web-preview:\n    image: shop-web\n  cache:\n    image: redis\n  proxy:\n    image: docker.io/acme/api\n";
        // `docker.io/acme/api` is the same repository as `acme/api`
        assert_eq!(compose_lines(check, yaml), [16]);
        let script = "#!/bin/sh\ndeploy() {\n  docker run -d --name api acme/api\n  docker run -d --name cache redis\n  docker run -d --name tool acme/tool:latest\n}\nbuild() {\n  docker build -t acme/api:dev .\n  docker tag acme/api:dev acme/tool\n}\n";
        let lines: Vec<usize> = script_findings(check, script)
            .iter()
            .map(|f| f.location.line)
            .collect();
        assert_eq!(lines, [4]);
    }
}

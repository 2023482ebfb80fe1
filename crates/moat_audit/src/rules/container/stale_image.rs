use moat_deploy::ImageRef;

use crate::context::{ContainerContext, Emitter};
use crate::rule::declare_rule;

declare_rule! {
    /// ## What it does
    /// Reports a container of a live engine that runs an older image than the one its image
    /// reference names now: the container was created from `api:1.4` when that tag pointed to
    /// one image, and the tag has since been moved to a newer one (a rebuild or a pull), but the
    /// container was not re-created.
    ///
    /// ## Why is this bad?
    /// The fixes in the new image (patched packages, a rebuilt base) do not reach the running
    /// service until its container is re-created; the engine shows the new image, so the
    /// running one looks up to date when it is not.
    ///
    /// ## Example
    /// ```sh
    /// docker pull example/api:1.4      # the tag now points to a rebuilt image
    /// docker ps                        # api still runs the image it was created from
    /// ```
    ///
    /// Use instead:
    /// ```sh
    /// docker compose up -d api         # re-creates the container from the current image
    /// ```
    ///
    /// ## Fix
    /// Re-create the container (`docker compose up -d`, or `docker rm -f` and `docker run`
    /// again) so that it runs the image its reference names now.
    ///
    /// ## References
    /// - CIS Docker Benchmark 5.28 (Docker commands always make use of the latest version of
    ///   their image).
    pub struct StaleImage {
        code: "C034",
        name: "stale-image",
        summary: "the container runs an older image than its tag names now",
        severity: Low,
        confidence: High,
        default_enabled: true,
        references: ["CIS-DOCKER-5.28"],
        check: Container,
    }
}

pub(crate) fn check(ctx: &ContainerContext<'_>, out: &mut Emitter<'_>) {
    let (Some(live), Some(image)) = (&ctx.facts.live, &ctx.facts.image) else {
        return;
    };
    let reference = normalise(&image.value);
    let Some(current) = ctx
        .images
        .iter()
        .find(|i| i.tags.iter().any(|t| normalise(t) == reference))
    else {
        return;
    };
    if !live.image_id.is_empty() && current.id != live.image_id {
        out.emit_at(
            &StaleImage::INFO,
            image.location.clone(),
            format!(
                "`{}` runs image {} but `{}` now names {}: re-create the container",
                ctx.facts.name,
                short(&live.image_id),
                image.value,
                short(&current.id)
            ),
        );
    }
}

/// The familiar form of a reference (`nginx` → `nginx:latest`), or the text itself when it
/// does not parse.
fn normalise(reference: &str) -> String {
    ImageRef::parse(reference).map_or_else(|| reference.to_string(), |r| r.familiar())
}

/// `sha256:0123456789ab…` → `0123456789ab`.
fn short(id: &str) -> &str {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    hex.get(..12).unwrap_or(hex)
}

#[cfg(test)]
mod tests {
    use super::normalise;

    #[test]
    fn references_compare_as_docker_reads_them() {
        assert_eq!(normalise("nginx"), "nginx:latest");
        assert_eq!(normalise("docker.io/library/nginx:1.27"), "nginx:1.27");
        assert_eq!(normalise("ghcr.io/a/b:2"), "ghcr.io/a/b:2");
        assert_eq!(normalise("localhost:5000/app"), "localhost:5000/app:latest");
    }
}

#[cfg(test)]
mod image_tests {
    use super::check;
    use crate::config::Settings;
    use crate::context::{ContainerContext, Emitter};
    use crate::rules::container::helpers::live_testing::live_container;
    use crate::rules::image::helpers::testing::image;

    #[test]
    fn a_tag_moved_since_the_container_was_created() {
        let images = [image("api:1", "sha256:bbbb", None), image("db:2", "sha256:cccc", None)];
        let settings = Settings::default();
        let run = |facts| {
            let ctx = ContainerContext {
                facts: &facts,
                project: None,
                built_images: &[],
                images: &images,
                settings: &settings,
            };
            let mut out = Emitter::detached();
            check(&ctx, &mut out);
            out.into_findings()
        };
        let got = run(live_container("api", "api:1", "sha256:aaaa", &[]));
        assert_eq!(got.len(), 1);
        assert!(got[0].message.contains("re-create"), "{}", got[0].message);
        assert!(run(live_container("db", "db:2", "sha256:cccc", &[])).is_empty());
        // an image the engine no longer has under that tag cannot be compared
        assert!(run(live_container("x", "gone:1", "sha256:dddd", &[])).is_empty());
    }
}

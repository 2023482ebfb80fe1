//! Shared helper for the base-image rules: the external images a Dockerfile builds on.

use moat_dockerfile::Stage;

use crate::context::DockerfileContext;
use crate::image::ImageRef;

/// A FROM that names an image (not an earlier stage, not `scratch`), after ARG expansion.
#[derive(Debug)]
pub struct BaseImage<'a> {
    /// The stage.
    pub stage: &'a Stage,
    /// Parsed resolved reference.
    pub image: ImageRef,
    /// The reference still has a variable that could not be resolved.
    pub unresolved: bool,
}

/// External base images of every stage.
pub fn base_images<'a>(ctx: &DockerfileContext<'a>) -> Vec<BaseImage<'a>> {
    let stages = &ctx.dockerfile.stages;
    stages
        .iter()
        .filter_map(|stage| {
            let resolved = stage.image_resolved.trim();
            let earlier = stages[..stage.index].iter().any(|s| {
                s.name
                    .as_ref()
                    .is_some_and(|n| n.value.eq_ignore_ascii_case(resolved))
            });
            if earlier {
                return None;
            }
            let image = ImageRef::parse(resolved)?;
            if image.is_scratch() {
                return None;
            }
            Some(BaseImage {
                stage,
                unresolved: ImageRef::has_variable(resolved),
                image,
            })
        })
        .collect()
}

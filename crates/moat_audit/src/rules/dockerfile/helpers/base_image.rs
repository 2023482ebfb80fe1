//! Shared helper for the image rules: the external images a Dockerfile pulls, as base images
//! (`FROM`) and elsewhere (`COPY --from=<image>`, `RUN --mount=…,from=<image>`).

use moat_dockerfile::{Instruction, Kind, Span, Stage};

use super::copy_args::flag_value;
use super::stage_refs::{FromRef, classify_from};
use crate::context::DockerfileContext;
use moat_deploy::ImageRef;

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

/// Where a pulled image is named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// `FROM image`.
    From,
    /// `COPY --from=image` (or `ADD --from`).
    CopyFrom,
    /// `RUN --mount=…,from=image`.
    MountFrom,
}

/// An image the build pulls from a registry.
#[derive(Debug)]
pub struct PulledImage {
    /// Where it is named.
    pub origin: Origin,
    /// Span of the reference as written.
    pub span: Span,
    /// The reference (for `FROM`, after global `ARG` expansion).
    pub reference: String,
    /// Parsed reference.
    pub image: ImageRef,
    /// The reference still has a variable that could not be resolved.
    pub unresolved: bool,
}

impl PulledImage {
    /// How messages name it: "base image `node:20`", "image `x` of `COPY --from`".
    pub fn describe(&self) -> String {
        match self.origin {
            Origin::From => format!("base image `{}`", self.reference),
            Origin::CopyFrom => format!("image `{}` of `COPY --from`", self.reference),
            Origin::MountFrom => format!("image `{}` of `RUN --mount`", self.reference),
        }
    }
}

/// Every image the build pulls, in the order of the file: base images, images copied from and
/// images mounted. An image that the audited scripts or compose projects build
/// ([`DockerfileContext::built_images`]) is not pulled: the build uses what was built there.
/// `COPY --from` counts when its value is an image reference (`registry/name:tag`); a bare name
/// that is no stage is rule D105's. A mount `from=` that is no stage is pulled as an image.
pub fn pulled_images(ctx: &DockerfileContext<'_>) -> Vec<PulledImage> {
    let mut out: Vec<PulledImage> = base_images(ctx)
        .into_iter()
        .map(|b| PulledImage {
            origin: Origin::From,
            span: b.stage.image.span,
            reference: b.stage.image_resolved.clone(),
            image: b.image,
            unresolved: b.unresolved,
        })
        .collect();
    let stages = &ctx.dockerfile.stages;
    for instr in &ctx.dockerfile.instructions {
        let Some(current) = instr.stage else {
            continue;
        };
        match instr.kind {
            Kind::Copy | Kind::Add => {
                let Some(from) = flag_value(instr, "from") else {
                    continue;
                };
                if classify_from(stages, current, &from.value) == FromRef::Image {
                    out.extend(pulled(Origin::CopyFrom, &from.value, from.span));
                }
            }
            Kind::Run => {
                for (value, span) in mount_sources(instr) {
                    if matches!(
                        classify_from(stages, current, value),
                        FromRef::Image | FromRef::Unknown
                    ) {
                        out.extend(pulled(Origin::MountFrom, value, span));
                    }
                }
            }
            _ => {}
        }
    }
    out.retain(|p| !p.image.is_one_of(ctx.built_images));
    out.sort_by_key(|p| p.span.start);
    out
}

fn pulled(origin: Origin, reference: &str, span: Span) -> Option<PulledImage> {
    let image = ImageRef::parse(reference)?;
    if image.is_scratch() {
        return None;
    }
    Some(PulledImage {
        origin,
        span,
        reference: reference.trim().to_string(),
        image,
        unresolved: ImageRef::has_variable(reference),
    })
}

/// The `from=` values of a `RUN`'s mounts, with their spans (the whole flag value when the
/// written text differs from the decoded one, for quoted values).
fn mount_sources(instr: &Instruction) -> Vec<(&str, Span)> {
    instr
        .flags
        .iter()
        .filter(|f| f.name.value.eq_ignore_ascii_case("mount"))
        .filter_map(|f| f.value.as_ref())
        .filter_map(|v| {
            let mut offset = 0;
            for field in v.value.split(',') {
                if let Some(from) = field.strip_prefix("from=") {
                    let exact = v.span.end - v.span.start == v.value.len();
                    let span = if exact {
                        let start = v.span.start + offset + "from=".len();
                        Span::new(start, start + from.len())
                    } else {
                        v.span
                    };
                    return Some((from, span));
                }
                offset += field.len() + 1;
            }
            None
        })
        .collect()
}

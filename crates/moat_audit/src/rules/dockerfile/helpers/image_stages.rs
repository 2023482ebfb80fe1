//! Shared helper: which stages make up the image. The final stage becomes the image, and so do
//! the stages it builds on by name (`FROM base AS final` after `FROM ubuntu AS base`), because
//! their instructions (USER, ENV, HEALTHCHECK) are inherited.

use moat_dockerfile::{Instruction, Stage};

use crate::context::DockerfileContext;

/// The stages whose settings the image inherits, the root-most first and the final stage last.
/// Empty when the file has no stage.
pub fn image_stages<'a>(ctx: &DockerfileContext<'a>) -> Vec<&'a Stage> {
    ctx.final_stage()
        .map(|s| stage_chain(ctx, s))
        .unwrap_or_default()
}

/// `stage` and the earlier stages it builds on by name (`FROM base`), the root-most first:
/// the stages whose ENV, USER and other settings `stage` inherits.
pub fn stage_chain<'a>(ctx: &DockerfileContext<'a>, stage: &'a Stage) -> Vec<&'a Stage> {
    let stages = &ctx.dockerfile.stages;
    let mut chain = Vec::new();
    let mut current = Some(stage);
    while let Some(stage) = current {
        chain.push(stage);
        let base = stage.image_resolved.trim();
        // Only earlier stages can be built on, which also rules out cycles.
        current = stages
            .get(..stage.index)
            .unwrap_or_default()
            .iter()
            .rev()
            .find(|s| {
                s.name
                    .as_ref()
                    .is_some_and(|n| n.value.eq_ignore_ascii_case(base))
            });
    }
    chain.reverse();
    chain
}

/// The last `USER` instruction of the image and its first word (`name[:group]`), when there is
/// one: the user the image runs as.
pub fn final_user<'a>(ctx: &DockerfileContext<'a>) -> Option<(&'a Instruction, moat_dockerfile::Word)> {
    let last = image_instructions(ctx)
        .into_iter()
        .rev()
        .find(|i| i.kind == moat_dockerfile::Kind::User)?;
    let word = last.words().into_iter().next()?;
    Some((last, word))
}

/// Instructions of [`image_stages`], in order (each stage's FROM included).
pub fn image_instructions<'a>(ctx: &DockerfileContext<'a>) -> Vec<&'a Instruction> {
    image_stages(ctx)
        .into_iter()
        .flat_map(|s| ctx.dockerfile.instructions_of(s))
        .collect()
}

/// The FROM instruction of the final stage.
pub fn final_from<'a>(ctx: &DockerfileContext<'a>) -> Option<&'a Instruction> {
    ctx.final_stage()
        .and_then(|s| ctx.dockerfile.instructions.get(s.from))
}

use moat_dockerfile::Kind;

use crate::context::{DockerfileContext, Emitter};
use crate::rule::declare_rule;
use crate::rules::dockerfile::helpers::copy_args::flag_value;
use crate::rules::dockerfile::helpers::stage_refs::{FromRef, classify_from};

declare_rule! {
    /// ## What it does
    /// Reports `COPY --from=<stage>` inside that same stage, by name (case-insensitively) or by
    /// index.
    ///
    /// ## Why is this bad?
    /// A stage cannot copy from itself: the build fails with a circular dependency, or, with
    /// the classic builder, the name is pulled as an image from Docker Hub instead.
    ///
    /// ## Example
    /// ```dockerfile
    /// FROM node:20 AS build
    /// COPY --from=build /app/dist /dist
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// FROM node:20 AS build
    /// RUN npm run build
    /// FROM nginx:1.27
    /// COPY --from=build /app/dist /usr/share/nginx/html
    /// ```
    ///
    /// ## Fix
    /// Copy within the stage with `RUN cp`, or move the `COPY --from` to a later stage.
    ///
    /// ## References
    /// - hadolint DL3023. moat also reports a reference by index (`--from=1` in the second stage)
    ///   and names in another case. hadolint reports `--from=0` in the first stage as DL3022 (no
    ///   earlier stage of that index), which is this rule's case.
    pub struct CopyFromSelf {
        code: "D106",
        name: "copy-from-self",
        summary: "COPY --from names its own stage",
        severity: Medium,
        confidence: High,
        default_enabled: true,
        references: ["DL3023", "DL3022"],
        check: Dockerfile,
    }
}

pub(crate) fn check(ctx: &DockerfileContext<'_>, out: &mut Emitter<'_>) {
    for instr in ctx.of_kind(Kind::Copy) {
        let (Some(current), Some(from)) = (instr.stage, flag_value(instr, "from")) else {
            continue;
        };
        if classify_from(&ctx.dockerfile.stages, current, &from.value) == FromRef::Own {
            out.emit(
                &CopyFromSelf::INFO,
                from.span,
                format!("`--from={}` names the stage this COPY is in", from.value),
            );
        }
    }
}

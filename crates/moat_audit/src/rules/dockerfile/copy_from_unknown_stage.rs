use moat_dockerfile::Kind;

use crate::context::{DockerfileContext, Emitter};
use crate::rule::declare_rule;
use crate::rules::dockerfile::helpers::copy_args::flag_value;
use crate::rules::dockerfile::helpers::stage_refs::{FromRef, classify_from};

declare_rule! {
    /// ## What it does
    /// Reports `COPY --from=<name>` where `<name>` is neither an earlier stage (by name or
    /// index) nor an image reference (which has a `/`, `:` or `@`, as in
    /// `--from=nginx:1.27`). Stage names compare case-insensitively, like Docker does. A value
    /// with a variable (`--from=${BUILDER}`) is not judged.
    ///
    /// ## Why is this bad?
    /// Docker does not complain: a name that is not a stage is pulled as an image from Docker
    /// Hub. A typo (`--from=buidler`) or a stage defined further down therefore copies files out
    /// of whatever image of that name someone published, which is a supply-chain hole, or fails
    /// later with a confusing error.
    ///
    /// ## Example
    /// ```dockerfile
    /// FROM golang:1.23 AS builder
    /// RUN go build -o /out/app ./cmd/app
    /// FROM gcr.io/distroless/static-debian12
    /// COPY --from=build /out/app /app
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// FROM golang:1.23 AS builder
    /// RUN go build -o /out/app ./cmd/app
    /// FROM gcr.io/distroless/static-debian12
    /// COPY --from=builder /out/app /app
    /// ```
    ///
    /// ## Fix
    /// Name an earlier stage, or write the image reference in full with a tag
    /// (`--from=docker.io/library/alpine:3.20`).
    ///
    /// ## References
    /// - hadolint DL3022. moat differs on purpose: hadolint reports `--from=Builder` for a stage
    ///   `AS builder` (Docker matches stage names case-insensitively), an image reference without
    ///   a tag (`--from=docker.io/library/alpine`), and values with a variable it cannot resolve
    ///   (`--from=${BUILDER}`); moat reports none of them. A `--from` naming the stage it is in
    ///   (`--from=0` in the first stage) is rule D106's, and a file without `FROM` is an input
    ///   error.
    pub struct CopyFromUnknownStage {
        code: "D105",
        name: "copy-from-unknown-stage",
        summary: "COPY --from names no earlier stage",
        severity: Medium,
        confidence: High,
        default_enabled: true,
        references: ["DL3022"],
        check: Dockerfile,
    }
}

pub(crate) fn check(ctx: &DockerfileContext<'_>, out: &mut Emitter<'_>) {
    for instr in ctx.of_kind(Kind::Copy) {
        let (Some(current), Some(from)) = (instr.stage, flag_value(instr, "from")) else {
            continue;
        };
        if classify_from(&ctx.dockerfile.stages, current, &from.value) == FromRef::Unknown {
            let numeric = from.value.bytes().all(|b| b.is_ascii_digit());
            let message = if numeric {
                format!(
                    "`--from={}` is not the index of an earlier stage",
                    from.value
                )
            } else {
                format!(
                    "`--from={}` names no earlier stage: Docker would pull it as an image",
                    from.value
                )
            };
            out.emit(&CopyFromUnknownStage::INFO, from.span, message);
        }
    }
}

use crate::context::{DockerfileContext, Emitter};
use crate::rule::declare_rule;

declare_rule! {
    /// ## What it does
    /// Reports a stage name (`FROM … AS <name>`) already used by an earlier stage; names
    /// compare case-insensitively, as Docker does.
    ///
    /// ## Why is this bad?
    /// BuildKit rejects the file; older builders let the later stage shadow the earlier one, so
    /// `COPY --from=<name>` and `--target <name>` silently pick one of them.
    ///
    /// ## Example
    /// ```dockerfile
    /// FROM node:20 AS build
    /// RUN npm ci && npm run build
    /// FROM golang:1.23 AS build
    /// RUN go build ./...
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// FROM node:20 AS web-build
    /// RUN npm ci && npm run build
    /// FROM golang:1.23 AS api-build
    /// RUN go build ./...
    /// ```
    ///
    /// ## Fix
    /// Give every stage its own name and update the `--from` references.
    ///
    /// ## References
    /// - hadolint DL3024. moat also reports names that differ only in case (`AS build` and
    ///   `AS BUILD`), which hadolint does not: Docker lower-cases stage names.
    pub struct DuplicateStageName {
        code: "D107",
        name: "duplicate-stage-name",
        summary: "two stages have the same name",
        severity: Medium,
        confidence: High,
        default_enabled: true,
        references: ["DL3024"],
        check: Dockerfile,
    }
}

pub(crate) fn check(ctx: &DockerfileContext<'_>, out: &mut Emitter<'_>) {
    let stages = &ctx.dockerfile.stages;
    for (i, stage) in stages.iter().enumerate() {
        let Some(name) = &stage.name else { continue };
        let earlier = stages.get(..i).unwrap_or_default().iter().find(|s| {
            s.name
                .as_ref()
                .is_some_and(|n| n.value.eq_ignore_ascii_case(&name.value))
        });
        if let Some(first) = earlier {
            out.emit(
                &DuplicateStageName::INFO,
                name.span,
                format!(
                    "stage name `{}` is already used by stage {}",
                    name.value, first.index
                ),
            );
        }
    }
}

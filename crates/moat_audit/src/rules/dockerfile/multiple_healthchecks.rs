use moat_dockerfile::Kind;

use crate::context::{DockerfileContext, Emitter};
use crate::rule::declare_rule;

declare_rule! {
    /// ## What it does
    /// Reports every `HEALTHCHECK` of a stage after the first one (`HEALTHCHECK NONE` counts).
    ///
    /// ## Why is this bad?
    /// Only the last `HEALTHCHECK` of a stage takes effect. The earlier ones are dead code that
    /// misleads the reader about how the container is checked, and often a sign of a merge
    /// mistake.
    ///
    /// ## Example
    /// ```dockerfile
    /// FROM nginx:1.27
    /// HEALTHCHECK CMD curl -f http://localhost/ || exit 1
    /// HEALTHCHECK CMD curl -f http://localhost/health || exit 1
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// FROM nginx:1.27
    /// HEALTHCHECK CMD curl -f http://localhost/health || exit 1
    /// ```
    ///
    /// ## Fix
    /// Keep the one health check you mean and delete the others.
    ///
    /// ## References
    /// - hadolint DL3012.
    pub struct MultipleHealthchecks {
        code: "D031",
        name: "multiple-healthchecks",
        summary: "a stage has more than one HEALTHCHECK",
        severity: Low,
        confidence: High,
        default_enabled: true,
        references: ["DL3012"],
        check: Dockerfile,
    }
}

pub(crate) fn check(ctx: &DockerfileContext<'_>, out: &mut Emitter<'_>) {
    for instr in ctx.repeats_in_stage(Kind::Healthcheck) {
        out.emit(
            &MultipleHealthchecks::INFO,
            instr.span,
            "another HEALTHCHECK in this stage: only the last one takes effect",
        );
    }
}

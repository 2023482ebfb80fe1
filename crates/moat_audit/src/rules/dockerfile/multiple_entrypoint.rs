use moat_dockerfile::Kind;

use crate::context::{DockerfileContext, Emitter};
use crate::rule::declare_rule;

declare_rule! {
    /// ## What it does
    /// Reports every `ENTRYPOINT` of a stage after the first one.
    ///
    /// ## Why is this bad?
    /// Only the last `ENTRYPOINT` of a stage takes effect. The earlier ones never run, which is
    /// rarely what the author meant (often two commands that were both expected to run).
    ///
    /// ## Example
    /// ```dockerfile
    /// FROM node:20-slim
    /// ENTRYPOINT ["/docker-entrypoint.sh"]
    /// ENTRYPOINT ["tini", "--"]
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// FROM node:20-slim
    /// ENTRYPOINT ["tini", "--", "/docker-entrypoint.sh"]
    /// ```
    ///
    /// ## Fix
    /// Keep only the `ENTRYPOINT` you mean; to chain an init and a script, name both in one
    /// `ENTRYPOINT`.
    ///
    /// ## References
    /// - hadolint DL4004.
    pub struct MultipleEntrypoint {
        code: "D103",
        name: "multiple-entrypoint",
        summary: "a stage has more than one ENTRYPOINT",
        severity: Low,
        confidence: High,
        default_enabled: true,
        references: ["DL4004"],
        check: Dockerfile,
    }
}

pub(crate) fn check(ctx: &DockerfileContext<'_>, out: &mut Emitter<'_>) {
    for instr in ctx.repeats_in_stage(Kind::Entrypoint) {
        out.emit(
            &MultipleEntrypoint::INFO,
            instr.span,
            "another ENTRYPOINT in this stage: only the last one takes effect",
        );
    }
}

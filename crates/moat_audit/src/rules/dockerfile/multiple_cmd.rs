use moat_dockerfile::Kind;

use crate::context::{DockerfileContext, Emitter};
use crate::rule::declare_rule;

declare_rule! {
    /// ## What it does
    /// Reports every `CMD` of a stage after the first one.
    ///
    /// ## Why is this bad?
    /// Only the last `CMD` of a stage takes effect. The earlier ones never run, which is
    /// rarely what the author meant (often two commands that were both expected to run).
    ///
    /// ## Example
    /// ```dockerfile
    /// FROM node:20-slim
    /// CMD ["npm", "run", "migrate"]
    /// CMD ["node", "server.js"]
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// FROM node:20-slim
    /// CMD ["node", "server.js"]
    /// ```
    ///
    /// ## Fix
    /// Keep only the `CMD` you mean; to run several things at start, use an entrypoint script
    /// that does them in order.
    ///
    /// ## References
    /// - hadolint DL4003.
    pub struct MultipleCmd {
        code: "D102",
        name: "multiple-cmd",
        summary: "a stage has more than one CMD",
        severity: Low,
        confidence: High,
        default_enabled: true,
        references: ["DL4003"],
        check: Dockerfile,
    }
}

pub(crate) fn check(ctx: &DockerfileContext<'_>, out: &mut Emitter<'_>) {
    for instr in ctx.repeats_in_stage(Kind::Cmd) {
        out.emit(
            &MultipleCmd::INFO,
            instr.span,
            "another CMD in this stage: only the last one takes effect",
        );
    }
}

use crate::context::{DockerfileContext, Emitter, fix};
use crate::rule::declare_rule;
use crate::rules::dockerfile::helpers::pkg::{Manager, pkg_commands};

declare_rule! {
    /// ## What it does
    /// Reports `apt` (the interactive front end) used in a `RUN`.
    ///
    /// ## Why is this bad?
    /// `apt` has no stable command-line interface for scripts: it warns so, its output and
    /// behaviour change between releases, and it may prompt. Builds should be deterministic.
    ///
    /// ## Example
    /// ```dockerfile
    /// RUN apt install -y curl
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// RUN apt-get install -y --no-install-recommends curl
    /// ```
    ///
    /// ## Fix
    /// Use `apt-get` (or `apt-cache` for queries). A safe fix renames the program.
    ///
    /// ## References
    /// - hadolint DL3027.
    pub struct AptInsteadOfAptGet {
        code: "D061",
        name: "apt-instead-of-apt-get",
        summary: "apt used instead of apt-get",
        severity: Low,
        confidence: High,
        default_enabled: true,
        fix: Safe,
        references: ["DL3027"],
        check: Dockerfile,
    }
}

pub(crate) fn check(ctx: &DockerfileContext<'_>, out: &mut Emitter<'_>) {
    for (_, commands) in ctx.runs() {
        for p in pkg_commands(commands).filter(|p| p.manager == Manager::Apt) {
            let Some(program) = p.argv.first() else {
                continue;
            };
            let replacement = if p.is_action(&["search", "show", "policy", "depends", "rdepends"]) {
                "apt-cache"
            } else {
                "apt-get"
            };
            out.emit(
                &AptInsteadOfAptGet::INFO,
                program.span,
                format!("use `{replacement}` in scripts, not `apt`"),
            )
            .fix = Some(fix(
                format!("replace `apt` with `{replacement}`"),
                true,
                program.span,
                replacement,
            ));
        }
    }
}

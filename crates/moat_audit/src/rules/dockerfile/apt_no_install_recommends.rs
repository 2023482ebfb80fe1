use crate::context::{DockerfileContext, Emitter, fix};
use crate::rule::declare_rule;
use crate::rules::dockerfile::helpers::pkg::{Manager, pkg_commands};

declare_rule! {
    /// ## What it does
    /// Reports `apt-get install` without `--no-install-recommends` (or
    /// `-o APT::Install-Recommends=false`). A simulation (`-s`, `--simulate`, `--dry-run`)
    /// installs nothing and is not judged.
    ///
    /// ## Why is this bad?
    /// Recommended packages are not needed to run the software, yet they often double the size
    /// of the install and bring more code that can carry vulnerabilities.
    ///
    /// ## Example
    /// ```dockerfile
    /// RUN apt-get install -y curl
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// RUN apt-get install -y --no-install-recommends curl
    /// ```
    ///
    /// ## Fix
    /// Add `--no-install-recommends` after `install` (a safe fix is offered).
    ///
    /// ## References
    /// - hadolint DL3015.
    pub struct AptNoInstallRecommends {
        code: "D052",
        name: "apt-install-recommends",
        summary: "apt-get install without --no-install-recommends",
        severity: Low,
        confidence: High,
        default_enabled: true,
        fix: Safe,
        references: ["DL3015"],
        check: Dockerfile,
    }
}

pub(crate) fn check(ctx: &DockerfileContext<'_>, out: &mut Emitter<'_>) {
    for (_, commands) in ctx.runs() {
        for p in pkg_commands(commands).filter(|p| p.manager == Manager::AptGet && p.is_install()) {
            let off = p.has_flag(&["--no-install-recommends"], &[])
                || p.argv.iter().any(|w| {
                    w.value.contains("Install-Recommends=false")
                        || w.value.contains("Install-Recommends=0")
                });
            if off {
                continue;
            }
            let Some((_, action)) = p.action else {
                continue;
            };
            let at = moat_dockerfile::Span::new(action.span.end, action.span.end);
            out.emit(&AptNoInstallRecommends::INFO, p.command.span, "`apt-get install` without `--no-install-recommends` pulls in packages nobody asked for")
                .fix = Some(fix("add `--no-install-recommends`", true, at, " --no-install-recommends"));
        }
    }
}

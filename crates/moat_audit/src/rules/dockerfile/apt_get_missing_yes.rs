use crate::context::{DockerfileContext, Emitter, fix};
use crate::rule::declare_rule;
use crate::rules::dockerfile::helpers::pkg::{Manager, pkg_commands};

declare_rule! {
    /// ## What it does
    /// Reports `apt-get install` without `-y` (or `--yes`, `--assume-yes`, `-qq`, `-q=2`). A
    /// simulation (`-s`, `--simulate`, `--dry-run`) asks nothing and is not judged.
    ///
    /// ## Why is this bad?
    /// Without it apt-get asks for confirmation, which fails the build (no terminal) — or
    /// worse, a build system answers with whatever its stdin gives.
    ///
    /// ## Example
    /// ```dockerfile
    /// RUN apt-get install curl
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// RUN apt-get install -y curl
    /// ```
    ///
    /// ## Fix
    /// Add `-y` after `install` (a safe fix is offered).
    ///
    /// ## References
    /// - hadolint DL3014. moat differs deliberately: it also reads commands behind `sudo`/`env`
    ///   and inside `sh -c '…'`, e.g. `RUN sudo apt-get install curl`, which hadolint skips.
    pub struct AptGetMissingYes {
        code: "D062",
        name: "apt-get-missing-yes",
        summary: "apt-get install without -y",
        severity: Low,
        confidence: High,
        default_enabled: true,
        fix: Safe,
        references: ["DL3014"],
        check: Dockerfile,
    }
}

pub(crate) fn check(ctx: &DockerfileContext<'_>, out: &mut Emitter<'_>) {
    for (_, commands) in ctx.runs() {
        for p in pkg_commands(commands).filter(|p| p.manager == Manager::AptGet && p.is_install()) {
            let args = p.argv.get(1..).unwrap_or(&[]);
            let yes = p.has_flag(&["--yes", "--assume-yes"], &['y'])
                || args.iter().any(|w| {
                    w.value == "-q=2" || w.value == "--quiet=2" || w.value.starts_with("-qq")
                })
                || args
                    .iter()
                    .filter(|w| w.value == "-q" || w.value == "--quiet")
                    .count()
                    >= 2;
            if yes {
                continue;
            }
            let Some((_, action)) = p.action else {
                continue;
            };
            let at = moat_dockerfile::Span::new(action.span.end, action.span.end);
            out.emit(
                &AptGetMissingYes::INFO,
                p.command.span,
                "`apt-get install` without `-y` waits for an answer",
            )
            .fix = Some(fix("add `-y`", true, at, " -y"));
        }
    }
}

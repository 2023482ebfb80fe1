use moat_dockerfile::Kind;

use crate::context::{DockerfileContext, Emitter, fix};
use crate::rule::declare_rule;
use crate::rules::dockerfile::helpers::cmd::has_cache_mount;
use crate::rules::dockerfile::helpers::pkg::{Manager, pkg_commands};

declare_rule! {
    /// ## What it does
    /// Reports `pip install` without `--no-cache-dir`, unless `PIP_NO_CACHE_DIR` is set with
    /// `ENV` in the stage or the instruction mounts a cache at `/root/.cache/pip`.
    ///
    /// ## Why is this bad?
    /// pip keeps every downloaded wheel in `~/.cache/pip`, which then ships in the image.
    ///
    /// ## Example
    /// ```dockerfile
    /// RUN pip install flask==3.0.0
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// RUN pip install --no-cache-dir flask==3.0.0
    /// ```
    ///
    /// ## Fix
    /// Add `--no-cache-dir` after `install` (a safe fix is offered).
    ///
    /// ## References
    /// - hadolint DL3042. moat also recognises pip run by path (`/opt/venv/bin/pip install`)
    ///   and `python -m pip`, which hadolint misses.
    pub struct PipNoCacheDir {
        code: "D054",
        name: "pip-without-no-cache-dir",
        summary: "pip install without --no-cache-dir",
        severity: Low,
        confidence: High,
        default_enabled: true,
        fixable: true,
        references: ["DL3042"],
        check: Dockerfile,
    }
}

pub(crate) fn check(ctx: &DockerfileContext<'_>, out: &mut Emitter<'_>) {
    for (instr, commands) in ctx.runs() {
        if has_cache_mount(instr, "/root/.cache/pip") || env_disables_cache(ctx, instr.stage) {
            continue;
        }
        for p in pkg_commands(commands).filter(|p| p.manager == Manager::Pip && p.is_install()) {
            if p.has_flag(&["--no-cache-dir"], &[])
                || p.command
                    .assignments
                    .iter()
                    .any(|a| a.value.starts_with("PIP_NO_CACHE_DIR="))
            {
                continue;
            }
            let Some((_, action)) = p.action else {
                continue;
            };
            let at = moat_dockerfile::Span::new(action.span.end, action.span.end);
            out.emit(
                &PipNoCacheDir::INFO,
                p.command.span,
                "`pip install` without `--no-cache-dir` keeps downloaded packages in the image",
            )
            .fix = Some(fix("add `--no-cache-dir`", true, at, " --no-cache-dir"));
        }
    }
}

fn env_disables_cache(ctx: &DockerfileContext<'_>, stage: Option<usize>) -> bool {
    ctx.of_kind(Kind::Env)
        .filter(|i| i.stage == stage)
        .any(|i| {
            i.key_values()
                .iter()
                .any(|(k, _)| k.value.eq_ignore_ascii_case("PIP_NO_CACHE_DIR"))
        })
}

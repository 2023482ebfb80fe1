use moat_dockerfile::shell::Command;
use moat_dockerfile::{Instruction, Kind, Word};

use crate::context::{DockerfileContext, Emitter, fix};
use crate::rule::declare_rule;
use crate::rules::dockerfile::helpers::cmd::{cache_mount_targets, covers};
use crate::rules::dockerfile::helpers::image_stages::stage_chain;
use crate::rules::dockerfile::helpers::pkg::{Manager, PkgCommand};

declare_rule! {
    /// ## What it does
    /// Reports `pip install` without `--no-cache-dir`, unless `PIP_NO_CACHE_DIR` is set (with
    /// `ENV` in the stage or a stage it builds on, before the command on its line, or by
    /// `export` earlier in the same `RUN`), or the instruction mounts a cache or tmpfs over the
    /// pip cache (`/root/.cache/pip` or a directory above it, or any user's `~/.cache/pip`).
    /// `pipx` and `pipenv` are not pip and are not judged.
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
    ///   and `python -m pip`, which hadolint misses. moat differs on purpose in one way: pip
    ///   turns its cache off for any valid boolean in `PIP_NO_CACHE_DIR`, `0`, `false`, `no`
    ///   and `off` included (pip's option handler says so, keeping an old behaviour for
    ///   compatibility), so moat accepts every value where hadolint reports the "false" ones.
    /// - pip documentation, "Caching" (`--no-cache-dir`, `PIP_NO_CACHE_DIR`).
    pub struct PipNoCacheDir {
        code: "D054",
        name: "pip-without-no-cache-dir",
        summary: "pip install without --no-cache-dir",
        severity: Low,
        confidence: High,
        default_enabled: true,
        fix: Safe,
        references: ["DL3042"],
        check: Dockerfile,
    }
}

pub(crate) fn check(ctx: &DockerfileContext<'_>, out: &mut Emitter<'_>) {
    for (instr, commands) in ctx.runs() {
        if pip_cache_mounted(instr) || env_disables_cache(ctx, instr) {
            continue;
        }
        for (i, cmd) in commands.iter().enumerate() {
            let Some(p) = PkgCommand::parse(cmd) else {
                continue;
            };
            if p.manager != Manager::Pip || !p.is_install() {
                continue;
            }
            let exported = commands[..i].iter().any(exports_no_cache_dir);
            if exported
                || p.has_flag(&["--no-cache-dir"], &[])
                || sets_no_cache_dir(&p.command.assignments)
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

/// A cache or tmpfs mount over root's pip cache, or over any user's (`/home/app/.cache/pip`).
fn pip_cache_mounted(instr: &Instruction) -> bool {
    cache_mount_targets(instr).into_iter().any(|t| {
        let t = t.trim_end_matches('/');
        covers(t, "/root/.cache/pip") || t.ends_with("/.cache/pip") || t.ends_with("/.cache")
    })
}

/// `PIP_NO_CACHE_DIR=…` among assignments (pip turns the cache off whatever the value).
fn sets_no_cache_dir(assignments: &[Word]) -> bool {
    assignments
        .iter()
        .any(|a| a.value.starts_with("PIP_NO_CACHE_DIR="))
}

/// `export PIP_NO_CACHE_DIR=…` (also `export A=1 PIP_NO_CACHE_DIR=1`).
fn exports_no_cache_dir(cmd: &Command) -> bool {
    cmd.name() == Some("export") && sets_no_cache_dir(cmd.args())
}

/// `ENV PIP_NO_CACHE_DIR` before `instr` in its stage or in a stage it builds on.
fn env_disables_cache(ctx: &DockerfileContext<'_>, instr: &Instruction) -> bool {
    let Some(stage) = instr.stage.and_then(|s| ctx.dockerfile.stages.get(s)) else {
        return false;
    };
    stage_chain(ctx, stage)
        .into_iter()
        .flat_map(|s| ctx.dockerfile.instructions_of(s))
        .take_while(|i| i.span.start < instr.span.start)
        .filter(|i| i.kind == Kind::Env)
        .any(|i| {
            i.key_values()
                .iter()
                .any(|(k, _)| k.value == "PIP_NO_CACHE_DIR")
        })
}

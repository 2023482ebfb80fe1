use crate::context::{DockerfileContext, Emitter, fix};
use crate::rule::declare_rule;
use crate::rules::dockerfile::helpers::cmd::has_cache_mount;
use crate::rules::dockerfile::helpers::pkg::{Manager, pkg_commands};

declare_rule! {
    /// ## What it does
    /// Reports `apk add` without `--no-cache`, unless the instruction mounts a cache or tmpfs at
    /// `/var/cache/apk` (or above it) or the command downloads no index (`--no-network`, which
    /// installs from local files only).
    ///
    /// ## Why is this bad?
    /// Without `--no-cache` the package index is stored in the image, making it bigger for no
    /// benefit at run time.
    ///
    /// ## Example
    /// ```dockerfile
    /// RUN apk add --update curl
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// RUN apk add --no-cache curl
    /// ```
    ///
    /// ## Fix
    /// Add `--no-cache` after `add` (a safe fix is offered).
    ///
    /// ## References
    /// - hadolint DL3019.
    pub struct ApkNoCache {
        code: "D053",
        name: "apk-without-no-cache",
        summary: "apk add without --no-cache",
        severity: Low,
        confidence: High,
        default_enabled: true,
        fix: Safe,
        references: ["DL3019"],
        check: Dockerfile,
    }
}

pub(crate) fn check(ctx: &DockerfileContext<'_>, out: &mut Emitter<'_>) {
    for (instr, commands) in ctx.runs() {
        if has_cache_mount(instr, "/var/cache/apk") {
            continue;
        }
        for p in pkg_commands(commands).filter(|p| p.manager == Manager::Apk && p.is_install()) {
            if p.has_flag(&["--no-cache", "--no-network"], &[]) {
                continue;
            }
            let Some((_, action)) = p.action else {
                continue;
            };
            let at = moat_dockerfile::Span::new(action.span.end, action.span.end);
            out.emit(
                &ApkNoCache::INFO,
                p.command.span,
                "`apk add` without `--no-cache` keeps the package index in the image",
            )
            .fix = Some(fix("add `--no-cache`", true, at, " --no-cache"));
        }
    }
}

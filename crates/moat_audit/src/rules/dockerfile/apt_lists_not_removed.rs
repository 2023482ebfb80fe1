use crate::context::{DockerfileContext, Emitter};
use crate::rule::declare_rule;
use moat_dockerfile::shell::Command;

use crate::rules::dockerfile::helpers::cmd::{covers, effective_argv, has_cache_mount, is_program};
use crate::rules::dockerfile::helpers::image_stages::{image_stages, stage_chain};
use crate::rules::dockerfile::helpers::pkg::{Manager, PkgCommand, pkg_commands};

declare_rule! {
    /// ## What it does
    /// Reports, in the stages that make up the image (the final stage and the stages it is
    /// built `FROM`), a `RUN` with `apt-get update` (or `apt update`, `aptitude update`) that
    /// does not remove `/var/lib/apt/lists` afterwards (`rm -rf /var/lib/apt/lists/*`, or
    /// `apt-get dist-clean`, which removes them since apt 2.7.8) and does not mount a cache or
    /// tmpfs there or above (`--mount=type=cache,target=/var/lib/apt`).
    ///
    /// ## Why is this bad?
    /// The package lists stay in the image: tens of megabytes that every pull transfers and
    /// every scanner reads, and a record of repositories nobody needs at run time. Small images
    /// have a smaller attack surface.
    ///
    /// ## Example
    /// ```dockerfile
    /// RUN apt-get update && apt-get install -y --no-install-recommends curl
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// RUN apt-get update && apt-get install -y --no-install-recommends curl \
    ///  && rm -rf /var/lib/apt/lists/*
    /// ```
    ///
    /// ## Fix
    /// End the `RUN` with `rm -rf /var/lib/apt/lists/*` (or `apt-get dist-clean` where apt is
    /// 2.7.8 or later: Debian 13, Ubuntu 24.04), or use
    /// `RUN --mount=type=cache,target=/var/lib/apt/lists`.
    ///
    /// ## References
    /// - hadolint DL3009 (same scope: build stages that do not end up in the image are not
    ///   judged). moat differs deliberately in two ways: it sees `sudo apt-get update`, and it
    ///   accepts `rm -r /var/lib/apt/lists` without `-f`, which hadolint reports although it
    ///   removes the lists just as well. An `ONBUILD RUN` is judged like a `RUN` of its stage:
    ///   in a builder stage the image does not build on, its trigger never runs in an image
    ///   built from this one, so moat does not report it where hadolint does.
    /// - Debian apt 2.7.8 changelog (`dist-clean`).
    pub struct AptListsNotRemoved {
        code: "D051",
        name: "apt-lists-not-removed",
        summary: "apt lists or downloaded packages are left in the image",
        severity: Low,
        confidence: High,
        default_enabled: true,
        references: ["DL3009"],
        check: Dockerfile,
    }
}

pub(crate) fn check(ctx: &DockerfileContext<'_>, out: &mut Emitter<'_>) {
    let image: Vec<usize> = image_stages(ctx).iter().map(|s| s.index).collect();
    // stages where `/etc/apt/apt.conf.d/docker-clean` was removed, with where
    let mut no_docker_clean: Vec<(usize, usize)> = Vec::new();
    for (instr, commands) in ctx.runs() {
        let Some(stage) = instr.stage else {
            continue;
        };
        if let Some(c) = commands.iter().find(|c| removes(c, DOCKER_CLEAN)) {
            no_docker_clean.push((stage, c.span.start));
        }
        if !image.contains(&stage) {
            continue;
        }
        let chain = stage_chain(ctx, &ctx.dockerfile.stages[stage]);
        let apt = |p: &PkgCommand<'_>| {
            matches!(
                p.manager,
                Manager::AptGet | Manager::Apt | Manager::Aptitude
            )
        };
        let cleans = |path: &str, actions: &[&str]| {
            commands.iter().any(|c| {
                removes(c, path)
                    || PkgCommand::parse(c).is_some_and(|p| apt(&p) && p.is_action(actions))
            })
        };
        let update = pkg_commands(commands).find(|p| apt(p) && p.is_update());
        let lists_left =
            update.is_some() && !has_cache_mount(instr, LISTS) && !cleans(LISTS, &["dist-clean"]);
        // Debian and Ubuntu images delete downloaded packages through `docker-clean`; once it
        // is gone, they stay in /var/cache/apt/archives unless cleaned or mounted away.
        let install = pkg_commands(commands).find(|p| apt(p) && p.is_install());
        let docker_clean_gone = install.as_ref().is_some_and(|i| {
            no_docker_clean.iter().any(|&(s, at)| {
                chain.iter().any(|c| c.index == s) && (s != stage || at < i.command.span.start)
            })
        });
        let debs_left = docker_clean_gone
            && !has_cache_mount(instr, ARCHIVES)
            && !cleans(ARCHIVES, &["clean", "dist-clean", "autoclean"]);
        match (update, install) {
            (Some(u), _) if lists_left && debs_left => {
                out.emit(
                    &AptListsNotRemoved::INFO,
                    u.command.span,
                    "apt lists are not removed after the package index update, and downloaded \
                     packages stay too (`docker-clean` was removed): add \
                     `rm -rf /var/lib/apt/lists/*` and `apt-get clean`",
                );
            }
            (Some(u), _) if lists_left => {
                out.emit(
                    &AptListsNotRemoved::INFO,
                    u.command.span,
                    "apt lists are not removed after the package index update: add \
                     `rm -rf /var/lib/apt/lists/*`",
                );
            }
            (_, Some(i)) if debs_left => {
                out.emit(
                    &AptListsNotRemoved::INFO,
                    i.command.span,
                    "downloaded packages stay in /var/cache/apt/archives (`docker-clean` was \
                     removed): mount a cache at /var/cache/apt too, or add `apt-get clean`",
                );
            }
            _ => {}
        }
    }
}

const LISTS: &str = "/var/lib/apt/lists";
const ARCHIVES: &str = "/var/cache/apt/archives";
const DOCKER_CLEAN: &str = "/etc/apt/apt.conf.d/docker-clean";

/// Whether `c` is an `rm` of `path` or of a directory above it (`/var/cache/apt/*` removes the
/// archives too).
fn removes(c: &Command, path: &str) -> bool {
    is_program(c, &["rm"])
        && effective_argv(c).iter().skip(1).any(|w| {
            let v = w.value.trim_end_matches('*');
            !v.starts_with('-') && v.starts_with('/') && covers(v, path)
        })
}

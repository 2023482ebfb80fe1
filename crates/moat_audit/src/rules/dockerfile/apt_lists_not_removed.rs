use crate::context::{DockerfileContext, Emitter};
use crate::rule::declare_rule;
use crate::rules::dockerfile::helpers::cmd::{effective_argv, has_cache_mount, is_program};
use crate::rules::dockerfile::helpers::image_stages::image_stages;
use crate::rules::dockerfile::helpers::pkg::{Manager, pkg_commands};

declare_rule! {
    /// ## What it does
    /// Reports, in the stages that make up the image (the final stage and the stages it is
    /// built `FROM`), a `RUN` with `apt-get update` (or `apt update`) that does not remove
    /// `/var/lib/apt/lists` afterwards (and does not mount a cache there).
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
    /// End the `RUN` with `rm -rf /var/lib/apt/lists/*`, or use
    /// `RUN --mount=type=cache,target=/var/lib/apt/lists`.
    ///
    /// ## References
    /// - hadolint DL3009 (same scope: build stages that do not end up in the image are not
    ///   judged). moat differs deliberately in two ways: it sees `sudo apt-get update`, and it
    ///   accepts `rm -r /var/lib/apt/lists` without `-f`, which hadolint reports although it
    ///   removes the lists just as well.
    pub struct AptListsNotRemoved {
        code: "D051",
        name: "apt-lists-not-removed",
        summary: "apt lists are left in the final image",
        severity: Low,
        confidence: High,
        default_enabled: true,
        references: ["DL3009"],
        check: Dockerfile,
    }
}

pub(crate) fn check(ctx: &DockerfileContext<'_>, out: &mut Emitter<'_>) {
    let image: Vec<usize> = image_stages(ctx).iter().map(|s| s.index).collect();
    for (instr, commands) in ctx.runs() {
        let in_image = instr.stage.is_some_and(|s| image.contains(&s));
        if !in_image || has_cache_mount(instr, "/var/lib/apt/lists") {
            continue;
        }
        let cleans = commands.iter().any(|c| {
            is_program(c, &["rm"])
                && effective_argv(c)
                    .iter()
                    .any(|w| w.value.trim_end_matches(['*', '/']) == "/var/lib/apt/lists")
        });
        if cleans {
            continue;
        }
        if let Some(p) = pkg_commands(commands)
            .find(|p| matches!(p.manager, Manager::AptGet | Manager::Apt) && p.is_update())
        {
            out.emit(&AptListsNotRemoved::INFO, p.command.span, "apt lists are not removed after the package index update: add `rm -rf /var/lib/apt/lists/*`");
        }
    }
}

use crate::context::{DockerfileContext, Emitter};
use crate::rule::declare_rule;
use crate::rules::dockerfile::helpers::pkg::pkg_commands;

declare_rule! {
    /// ## What it does
    /// Reports a `RUN` that refreshes the package index (`apt-get update`, `apk update`,
    /// `yum makecache`, …) without installing anything in the same instruction.
    ///
    /// ## Why is this bad?
    /// The layer with the refreshed index is cached. A later `RUN apt-get install` reuses that
    /// stale layer, so rebuilding months later installs outdated packages — without the security
    /// fixes that rebuilding was supposed to bring.
    ///
    /// ## Example
    /// ```dockerfile
    /// RUN apt-get update
    /// RUN apt-get install -y --no-install-recommends curl
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// RUN apt-get update \
    ///  && apt-get install -y --no-install-recommends curl \
    ///  && rm -rf /var/lib/apt/lists/*
    /// ```
    ///
    /// ## Fix
    /// Update and install in one `RUN`, joined with `&&`.
    ///
    /// ## References
    /// - CIS Docker Benchmark 4.7 (do not use update instructions alone in the Dockerfile).
    pub struct LonePackageUpdate {
        code: "D050",
        name: "lone-package-update",
        summary: "package index updated in a RUN that installs nothing",
        severity: Medium,
        confidence: High,
        default_enabled: true,
        references: ["CIS-DOCKER-4.7"],
        check: Dockerfile,
    }
}

pub(crate) fn check(ctx: &DockerfileContext<'_>, out: &mut Emitter<'_>) {
    for (_, commands) in ctx.runs() {
        let pkgs: Vec<_> = pkg_commands(commands).collect();
        if pkgs
            .iter()
            .any(|p| p.is_install() || p.is_action(&["upgrade", "dist-upgrade", "full-upgrade"]))
        {
            continue;
        }
        for p in pkgs.iter().filter(|p| p.is_update()) {
            out.emit(
                &LonePackageUpdate::INFO,
                p.command.span,
                format!(
                    "`{}` runs alone: its cached layer makes later installs stale",
                    p.command_text(ctx)
                ),
            );
        }
    }
}

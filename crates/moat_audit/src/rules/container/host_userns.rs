use crate::context::{ContainerContext, Emitter};
use crate::rule::declare_rule;
use crate::rules::container::helpers::host_namespace::report_host_mode;

declare_rule! {
    /// ## What it does
    /// Reports a container that opts out of the daemon's user namespace remapping: compose
    /// `userns_mode: host`, `docker run --userns host`.
    ///
    /// ## Why is this bad?
    /// With `userns-remap` on the daemon, root in a container is an unprivileged user on the
    /// host. `host` disables that for this container: its root is the host's root, so any
    /// escape (a kernel bug, a mounted path, a capability) lands as uid 0.
    ///
    /// ## Example
    /// ```yaml
    /// services:
    ///   api:
    ///     image: example/api:1.4
    ///     userns_mode: host
    /// ```
    ///
    /// Use instead: leave `userns_mode` unset, so the container gets its own namespace.
    /// ```yaml
    /// services:
    ///   api:
    ///     image: example/api:1.4
    /// ```
    ///
    /// ## Fix
    /// Remove `userns_mode: host`. If it was added for a host mount's file ownership, fix the
    /// ownership of that path for the remapped uid instead.
    ///
    /// ## References
    /// - CIS Docker Benchmark 5.31 (the host's user namespace is not shared).
    pub struct HostUserns {
        code: "C010",
        name: "host-userns",
        summary: "container opts out of user namespace remapping",
        severity: Medium,
        confidence: High,
        default_enabled: true,
        references: ["CIS-DOCKER-5.31"],
        check: Container,
    }
}

pub(crate) fn check(ctx: &ContainerContext<'_>, out: &mut Emitter<'_>) {
    report_host_mode(
        &HostUserns::INFO,
        &ctx.facts.name,
        ctx.facts.userns.as_ref(),
        "user namespace (container root is host root)",
        out,
    );
}

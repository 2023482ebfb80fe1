use crate::context::{ContainerContext, Emitter};
use crate::rule::declare_rule;

declare_rule! {
    /// ## What it does
    /// Reports a container placed under a custom cgroup parent: compose `cgroup_parent:`,
    /// `docker run --cgroup-parent`.
    ///
    /// ## Why is this bad?
    /// The cgroup parent decides which resource limits apply to the container. A parent that
    /// is shared with host services or has no limits lets the container starve the host, and
    /// it escapes the limits Docker would otherwise apply. It is usually an oversight copied
    /// from another setup; when it is deliberate, ignore the finding with a reason.
    ///
    /// ## Example
    /// ```yaml
    /// services:
    ///   api:
    ///     image: example/api:1.4
    ///     cgroup_parent: system.slice
    /// ```
    ///
    /// Use instead:
    /// ```yaml
    /// services:
    ///   api:
    ///     image: example/api:1.4
    /// ```
    ///
    /// ## Fix
    /// Remove `cgroup_parent` and set limits on the container itself (`deploy.resources`).
    ///
    /// ## References
    /// - CIS Docker Benchmark 5.25 (cgroup usage is confirmed).
    pub struct CgroupParent {
        code: "C016",
        name: "custom-cgroup-parent",
        summary: "container uses a custom cgroup parent",
        severity: Low,
        confidence: High,
        default_enabled: true,
        references: ["CIS-DOCKER-5.25"],
        check: Container,
    }
}

pub(crate) fn check(ctx: &ContainerContext<'_>, out: &mut Emitter<'_>) {
    if let Some(parent) = &ctx.facts.cgroup_parent
        && !parent.value.trim().is_empty()
    {
        out.emit_at(
            &CgroupParent::INFO,
            parent.location.clone(),
            format!(
                "`{}` runs under cgroup parent `{}`: check which limits apply there",
                ctx.facts.name,
                parent.value.trim()
            ),
        );
    }
}

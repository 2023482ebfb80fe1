use crate::context::{ContainerContext, Emitter};
use crate::rule::declare_rule;

declare_rule! {
    /// ## What it does
    /// Reports a container that runs privileged: compose `privileged: true` or
    /// `docker run --privileged`.
    ///
    /// ## Why is this bad?
    /// A privileged container gets every capability, every host device, no seccomp or AppArmor
    /// profile and a writable `/sys`. Whoever controls the process can mount the host's disk or
    /// load a kernel module: it is root on the host, with no escape needed.
    ///
    /// ## Example
    /// ```yaml
    /// services:
    ///   api:
    ///     image: example/api:1.4
    ///     privileged: true
    /// ```
    ///
    /// Use instead:
    /// ```yaml
    /// services:
    ///   api:
    ///     image: example/api:1.4
    ///     cap_drop: [ALL]
    ///     cap_add: [NET_BIND_SERVICE]   # only what the process needs
    /// ```
    ///
    /// ## Fix
    /// Remove `privileged`; grant the few capabilities or devices the workload really needs
    /// with `cap_add` / `devices`. `privileged: false` is not reported.
    ///
    /// ## References
    /// - CIS Docker Benchmark 5.5 (privileged containers).
    /// - Docker docs, "Runtime privilege and Linux capabilities".
    pub struct Privileged {
        code: "C001",
        name: "privileged-container",
        summary: "container runs privileged",
        severity: High,
        confidence: High,
        default_enabled: true,
        fix: Unsafe,
        references: ["CIS-DOCKER-5.5"],
        check: Container,
    }
}

pub(crate) fn check(ctx: &ContainerContext<'_>, out: &mut Emitter<'_>) {
    if let Some(p) = &ctx.facts.privileged
        && p.value
    {
        out.emit_at(
            &Privileged::INFO,
            p.location.clone(),
            format!(
                "`{}` runs privileged: full access to the host's devices and kernel",
                ctx.facts.name
            ),
        );
    }
}

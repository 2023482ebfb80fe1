use crate::context::{ContainerContext, Emitter};
use crate::rule::declare_rule;

declare_rule! {
    /// ## What it does
    /// Reports mounts with shared propagation: `shared` or `rshared` (short syntax
    /// `/src:/dst:rshared`, compose `bind.propagation`, `--mount …,bind-propagation=rshared`).
    ///
    /// ## Why is this bad?
    /// With shared propagation, mounts made inside the container appear on the host (and the
    /// other way round). A container that can mount (for example with `SYS_ADMIN`) can then
    /// place file systems over host paths.
    ///
    /// ## Example
    /// ```yaml
    /// services:
    ///   storage:
    ///     image: example/storage:1.0
    ///     volumes:
    ///       - /mnt/data:/data:rshared
    /// ```
    ///
    /// Use instead:
    /// ```yaml
    /// services:
    ///   storage:
    ///     image: example/storage:1.0
    ///     volumes:
    ///       - /mnt/data:/data
    /// ```
    ///
    /// ## Fix
    /// Drop the propagation option (Docker's default is `rprivate`), or use `slave`/`rslave`
    /// when the container must see the host's later mounts without sending its own back.
    ///
    /// ## References
    /// - CIS Docker Benchmark 5.20 (mount propagation mode is not set to shared).
    pub struct SharedPropagation {
        code: "C012",
        name: "shared-mount-propagation",
        summary: "mount uses shared propagation",
        severity: Medium,
        confidence: High,
        default_enabled: true,
        references: ["CIS-DOCKER-5.20"],
        check: Container,
    }
}

pub(crate) fn check(ctx: &ContainerContext<'_>, out: &mut Emitter<'_>) {
    for mount in &ctx.facts.mounts {
        let m = &mount.value;
        if let Some(p) = m.propagation.as_deref()
            && matches!(p.trim(), "shared" | "rshared")
        {
            out.emit_at(
                &SharedPropagation::INFO,
                mount.location.clone(),
                format!(
                    "`{}` mounts `{}` with `{}` propagation: its mounts reach the host",
                    ctx.facts.name,
                    m.target,
                    p.trim()
                ),
            );
        }
    }
}

use crate::context::{ContainerContext, Emitter};
use crate::rule::declare_rule;

declare_rule! {
    /// ## What it does
    /// Reports host devices mapped into a container: compose `devices:`,
    /// `docker run --device`. Every mapped device is reported, one finding each.
    ///
    /// ## Why is this bad?
    /// A device node is a direct line to a host driver. Block devices (`/dev/sda`) give the
    /// whole disk, `/dev/mem` and `/dev/kmsg` the kernel, `/dev/fuse` and `/dev/net/tun` extra
    /// kernel attack surface. The default `rwm` permissions allow reading, writing and creating
    /// the node.
    ///
    /// ## Example
    /// ```yaml
    /// services:
    ///   worker:
    ///     image: example/worker:2.0
    ///     devices:
    ///       - /dev/sda:/dev/xvda
    /// ```
    ///
    /// Use instead: no device, or the one the workload needs, read-only where the driver
    /// allows it.
    /// ```yaml
    /// services:
    ///   worker:
    ///     image: example/worker:2.0
    ///     devices:
    ///       - /dev/snd:/dev/snd:r
    /// ```
    ///
    /// ## Fix
    /// Remove the mapping, or narrow it to the single device and the permissions needed, and
    /// ignore the finding with a reason.
    ///
    /// ## References
    /// - CIS Docker Benchmark 5.18 (host devices are not directly exposed to containers).
    pub struct HostDevice {
        code: "C011",
        name: "host-device",
        summary: "container maps a host device",
        severity: Medium,
        confidence: High,
        default_enabled: true,
        references: ["CIS-DOCKER-5.18"],
        check: Container,
    }
}

pub(crate) fn check(ctx: &ContainerContext<'_>, out: &mut Emitter<'_>) {
    for dev in &ctx.facts.devices {
        let d = &dev.value;
        let perms = d.permissions.as_deref().unwrap_or("rwm");
        out.emit_at(
            &HostDevice::INFO,
            dev.location.clone(),
            format!(
                "`{}` maps host device `{}` (permissions `{perms}`)",
                ctx.facts.name, d.host
            ),
        );
    }
}

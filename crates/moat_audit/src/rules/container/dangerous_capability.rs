use crate::context::{ContainerContext, Emitter};
use crate::rule::declare_rule;

declare_rule! {
    /// ## What it does
    /// Reports `cap_add` / `--cap-add` entries that give a container power over the host:
    /// `ALL`, `SYS_ADMIN`, `SYS_MODULE`, `SYS_RAWIO`, `SYS_PTRACE`, `SYS_BOOT`, `SYS_TIME`,
    /// `DAC_READ_SEARCH`, `NET_ADMIN`, `BPF`, `PERFMON`, `MAC_ADMIN`, `MAC_OVERRIDE` and
    /// `SYSLOG`. Capabilities that Docker grants by default anyway (`NET_RAW`, `CHOWN`, …) are
    /// not reported here (see `C002`).
    ///
    /// ## Why is this bad?
    /// These capabilities are the usual container escapes: `SYS_ADMIN` allows `mount` and much
    /// of what root can do, `SYS_MODULE` loads kernel code, `DAC_READ_SEARCH` enabled the
    /// "shocker" host file read, `SYS_PTRACE` injects into other processes, `NET_ADMIN`
    /// reconfigures interfaces and firewall rules, `BPF`/`PERFMON` load kernel programs and read
    /// kernel memory. `ALL` is nearly `--privileged`.
    ///
    /// ## Example
    /// ```yaml
    /// services:
    ///   vpn:
    ///     image: example/vpn:2.1
    ///     cap_add: [SYS_ADMIN]
    /// ```
    ///
    /// Use instead:
    /// ```yaml
    /// services:
    ///   vpn:
    ///     image: example/vpn:2.1
    ///     cap_drop: [ALL]
    ///     cap_add: [NET_BIND_SERVICE]
    /// ```
    ///
    /// ## Fix
    /// Remove the capability, or isolate the one task that needs it in its own small container.
    /// Every entry is reported at high severity, `ALL` included (it says so in the message):
    /// like `C001`, each of them is enough to take over the host.
    ///
    /// ## References
    /// - CIS Docker Benchmark 5.4 (restrict Linux kernel capabilities).
    /// - `capabilities(7)`.
    pub struct DangerousCapability {
        code: "C003",
        name: "dangerous-capability-added",
        summary: "container adds a capability that allows escaping to the host",
        severity: High,
        confidence: High,
        default_enabled: true,
        references: ["CIS-DOCKER-5.4"],
        check: Container,
    }
}

/// Capabilities that give power over the host, with what they allow.
const DANGEROUS: &[(&str, &str)] = &[
    ("ALL", "every capability, nearly `--privileged`"),
    ("SYS_ADMIN", "mount, namespaces and most of root's powers"),
    ("SYS_MODULE", "loading kernel modules"),
    ("SYS_RAWIO", "raw I/O on devices and memory"),
    ("SYS_PTRACE", "tracing and injecting into other processes"),
    ("SYS_BOOT", "rebooting the host or loading a new kernel"),
    ("SYS_TIME", "setting the host's clock"),
    ("DAC_READ_SEARCH", "reading any host file by handle"),
    (
        "NET_ADMIN",
        "reconfiguring interfaces, routes and firewall rules",
    ),
    ("BPF", "loading eBPF programs into the kernel"),
    ("PERFMON", "kernel performance monitoring and memory reads"),
    ("MAC_ADMIN", "changing the AppArmor/SELinux policy"),
    ("MAC_OVERRIDE", "bypassing the AppArmor/SELinux policy"),
    ("SYSLOG", "reading the kernel log and kernel addresses"),
];

/// What a dangerous capability allows, or `None` when it is not one.
pub(crate) fn danger(cap: &str) -> Option<&'static str> {
    DANGEROUS
        .iter()
        .find(|(c, _)| *c == cap)
        .map(|(_, why)| *why)
}

pub(crate) fn check(ctx: &ContainerContext<'_>, out: &mut Emitter<'_>) {
    for cap in &ctx.facts.cap_add {
        if let Some(why) = danger(&cap.value) {
            out.emit_at(
                &DangerousCapability::INFO,
                cap.location.clone(),
                format!(
                    "`{}` adds capability `{}` ({why})",
                    ctx.facts.name, cap.value
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::danger;

    #[test]
    fn default_capabilities_are_not_dangerous() {
        assert!(danger("SYS_ADMIN").is_some());
        assert!(danger("ALL").is_some());
        assert!(danger("NET_RAW").is_none());
        assert!(danger("CHOWN").is_none());
        assert!(danger("NET_BIND_SERVICE").is_none());
    }
}

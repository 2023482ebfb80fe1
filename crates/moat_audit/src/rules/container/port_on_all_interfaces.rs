use moat_deploy::PortMapping;

use crate::context::{ContainerContext, Emitter};
use crate::rule::declare_rule;

declare_rule! {
    /// ## What it does
    /// Reports a port published on every host interface: a compose or `-p` port without a host
    /// IP, or with `0.0.0.0` or `::`, and `docker run -P` / `--publish-all`. Ports bound to a
    /// specific address (`127.0.0.1:8080:80`, `::1`, `10.0.0.5`) are not reported.
    ///
    /// ## Why is this bad?
    /// A port published without an address listens on every interface of the host, the public
    /// one included, and Docker's iptables rules bypass host firewalls such as ufw. An admin
    /// UI or a backend meant for the reverse proxy becomes reachable from the internet.
    ///
    /// ## Example
    /// ```yaml
    /// services:
    ///   api:
    ///     image: example/api:1.4
    ///     ports:
    ///       - "8080:8080"
    /// ```
    ///
    /// Use instead:
    /// ```yaml
    /// services:
    ///   api:
    ///     image: example/api:1.4
    ///     ports:
    ///       - "127.0.0.1:8080:8080"
    /// ```
    ///
    /// ## Fix
    /// Bind the port to the interface that must serve it (`127.0.0.1` for a service used only
    /// through a local proxy or an SSH tunnel), or stop publishing it and let the gateway reach
    /// the service over a compose network. The gateway itself may listen everywhere: ignore
    /// the finding there.
    ///
    /// ## References
    /// - CIS Docker Benchmark 5.14 (incoming container traffic is bound to a specific host
    ///   interface).
    /// - Docker Bench for Security check 5.14; KICS "Container Traffic Not Bound To Host
    ///   Interface".
    pub struct PortOnAllInterfaces {
        code: "C025",
        name: "port-on-all-interfaces",
        summary: "port published on all host interfaces",
        severity: Medium,
        confidence: High,
        default_enabled: true,
        references: ["CIS-DOCKER-5.14"],
        check: Container,
    }
}

/// Whether a published port listens on every host interface.
pub(crate) fn on_all_interfaces(port: &PortMapping) -> bool {
    match port.host_ip.as_deref().map(str::trim) {
        None | Some("" | "0.0.0.0" | "::" | "[::]") => true,
        Some(_) => false,
    }
}

/// Whether a host IP is a loopback address (`127.0.0.0/8`, `::1`, `localhost`).
pub(crate) fn is_loopback(host_ip: &str) -> bool {
    let ip = host_ip.trim().trim_start_matches('[').trim_end_matches(']');
    ip.starts_with("127.") || ip == "::1" || ip.eq_ignore_ascii_case("localhost")
}

pub(crate) fn check(ctx: &ContainerContext<'_>, out: &mut Emitter<'_>) {
    let facts = ctx.facts;
    if let Some(all) = &facts.publish_all
        && all.value
    {
        out.emit_at(
            &PortOnAllInterfaces::INFO,
            all.location.clone(),
            format!(
                "`{}` publishes every exposed port on all host interfaces (`--publish-all`)",
                facts.name
            ),
        );
    }
    for port in &facts.ports {
        if !on_all_interfaces(&port.value) {
            continue;
        }
        let host = port
            .value
            .published
            .as_deref()
            .map_or_else(|| "an ephemeral port".to_string(), |p| format!("port {p}"));
        out.emit_at(
            &PortOnAllInterfaces::INFO,
            port.location.clone(),
            format!("`{}` publishes {host} on all host interfaces", facts.name),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::{check, is_loopback};
    use crate::rules::container::helpers::compose_testing::{compose_lines, run_findings};

    #[test]
    fn bound_ports_are_fine() {
        let yaml = "services:\n  a:\n    image: x\n    ports:\n      - \"8080:80\"\n      - \"127.0.0.1:8081:80\"\n      - \"0.0.0.0:8082:80\"\n      - \"[::1]:8083:80\"\n      - \"[::]:8084:80\"\n      - target: 80\n        host_ip: 10.0.0.5\n        published: 8085\n";
        assert_eq!(compose_lines(check, yaml), [5, 7, 9]);
        assert_eq!(run_findings(check, "docker run -P nginx:1.27").len(), 1);
        assert!(run_findings(check, "docker run -p 127.0.0.1:80:80 nginx:1.27").is_empty());
        assert!(is_loopback("127.0.0.1") && is_loopback("::1") && !is_loopback("0.0.0.0"));
    }
}

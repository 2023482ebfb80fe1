use moat_deploy::PortMapping;

use crate::context::{ContainerContext, Emitter};
use crate::ports::{self, Protocol};
use crate::rule::declare_rule;

declare_rule! {
    /// ## What it does
    /// Reports a port published on every host interface: a compose or `-p` port without a host
    /// IP, or with `0.0.0.0` or `::`, and `docker run -P` / `--publish-all`. Ports bound to a
    /// specific address (`127.0.0.1:8080:80`, `::1`, `10.0.0.5`) are not reported.
    ///
    /// The rule is about ports that a gateway could front: HTTP ports, and TCP ports moat does
    /// not know (most often an HTTP API). It does not report protocols that clients reach
    /// directly and an HTTP gateway cannot carry — SMTP (25, 465, 587, 2525, and 1025 of
    /// development mail catchers), IMAP and POP3 (143, 993, 110, 995, 4190 ManageSieve), DNS
    /// (53, 853), DHCP, NTP, SSH (22), FTP, LDAP (389, 636),
    /// Kerberos, syslog, SNMP, MQTT (1883, 8883), XMPP, SIP, STUN/TURN, IRC, VPNs (WireGuard,
    /// OpenVPN, IPsec) and UDP services — which are meant to be reachable; the container port
    /// decides (`2222:22` is SSH). A database, cache or broker port (5432, 3306, 6379, 27017,
    /// 9092, …) is reported, and `N001` then reports it as a published datastore port, once.
    /// Remote desktops, debuggers and the Docker API (5900, 3389, 9229, 5005, 2375) are
    /// reported with their name: they belong on loopback.
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
    ///   interface). On a host with several interfaces, CIS 5.14 also asks that a mail or DNS
    ///   server be bound to the one interface that serves it; moat cannot see the host's
    ///   interfaces and leaves those ports alone.
    /// - Docker Bench for Security check 5.14; KICS "Container Traffic Not Bound To Host
    ///   Interface".
    pub struct PortOnAllInterfaces {
        code: "C025",
        name: "port-on-all-interfaces",
        summary: "port published on all host interfaces",
        severity: Medium,
        confidence: High,
        default_enabled: true,
        fix: Unsafe,
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
        let protocol = ports::of_mapping(&port.value);
        if matches!(protocol, Protocol::Direct(_)) {
            continue;
        }
        let host = port
            .value
            .published
            .as_deref()
            .map_or_else(|| "an ephemeral port".to_string(), |p| format!("port {p}"));
        let what = protocol
            .name()
            .map(|n| format!(" ({n})"))
            .unwrap_or_default();
        out.emit_at(
            &PortOnAllInterfaces::INFO,
            port.location.clone(),
            format!(
                "`{}` publishes {host}{what} on all host interfaces",
                facts.name
            ),
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

    #[test]
    fn protocols_served_directly_are_not_gateway_ports() {
        let yaml = "services:\n  mail:\n    image: mailserver/docker-mailserver:14\n    ports:\n      - \"25:25\"\n      - \"587:587\"\n      - \"993:993\"\n      - \"2222:22\"\n      - \"53:53/udp\"\n      - \"8080:80\"\n      - \"5900:5900\"\n";
        let got: Vec<(usize, String)> =
            crate::rules::container::helpers::compose_testing::compose_findings(check, yaml)
                .into_iter()
                .map(|f| (f.location.line, f.message))
                .collect();
        assert_eq!(
            got,
            [
                (
                    10,
                    "`mail` publishes port 8080 on all host interfaces".to_string()
                ),
                (
                    11,
                    "`mail` publishes port 5900 (VNC) on all host interfaces".to_string()
                ),
            ]
        );
    }
}

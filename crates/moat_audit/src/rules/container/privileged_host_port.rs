use crate::context::{ContainerContext, Emitter};
use crate::ports;
use crate::rule::declare_rule;

declare_rule! {
    /// ## What it does
    /// Reports a port published on a privileged host port (below 1024): `ports: ["80:8080"]`,
    /// `docker run -p 443:8443`. A range is reported when it starts below 1024. A port
    /// published without a host port (an ephemeral port) or on host port `0` is not reported.
    ///
    /// Nor is the standard port of a protocol that clients reach directly and that must be
    /// served on its own port: SMTP (25, 465, 587), IMAP and POP3 (143, 993, 110, 995), DNS
    /// (53, 853), DHCP (67, 68), NTP (123), SSH (22), FTP (20, 21, 989, 990), LDAP (389, 636),
    /// Kerberos (88, 464), SNMP, syslog (514), rsync (873), IPsec (500). A mail or DNS server
    /// cannot move to a port above 1024, and no HTTP gateway can take its place; HTTP's 80 and
    /// 443 are still reported, since only the gateway should publish them.
    ///
    /// ## Why is this bad?
    /// Ports below 1024 are reserved for services started by root. Publishing them from a
    /// container makes the daemon bind them on the container's behalf, so any container that
    /// is allowed to publish can impersonate a system service (SSH on 22, DNS on 53, SMTP on
    /// 25). Only the gateway in front of the application should need 80 and 443.
    ///
    /// ## Example
    /// ```yaml
    /// services:
    ///   api:
    ///     image: example/api:1.4
    ///     ports:
    ///       - "80:8080"
    /// ```
    ///
    /// Use instead:
    /// ```yaml
    /// services:
    ///   api:
    ///     image: example/api:1.4
    ///     ports:
    ///       - "127.0.0.1:8080:8080"   # behind the gateway
    /// ```
    ///
    /// ## Fix
    /// Publish on a port of 1024 or above, or let only the gateway publish 80/443 and
    /// ignore the finding there (`# moat: ignore[C024] the gateway serves HTTP`).
    ///
    /// ## References
    /// - CIS Docker Benchmark 5.8 (privileged ports are not mapped within containers).
    /// - Docker Bench for Security check 5.8; KICS "Privileged Ports Mapped In Container".
    pub struct PrivilegedHostPort {
        code: "C024",
        name: "privileged-host-port",
        summary: "port published on a privileged host port",
        severity: Low,
        confidence: High,
        default_enabled: true,
        references: ["CIS-DOCKER-5.8"],
        check: Container,
    }
}

pub(crate) fn check(ctx: &ContainerContext<'_>, out: &mut Emitter<'_>) {
    for port in &ctx.facts.ports {
        let Some((first, _)) = port.value.published_range else {
            continue;
        };
        if first == 0 || first >= 1024 || ports::is_direct_standard_port(&port.value) {
            continue;
        }
        let published = port.value.published.as_deref().unwrap_or_default();
        out.emit_at(
            &PrivilegedHostPort::INFO,
            port.value
                .published_at
                .clone()
                .unwrap_or_else(|| port.location.clone()),
            format!(
                "`{}` publishes privileged host port {published} (below 1024)",
                ctx.facts.name
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::check;
    use crate::rules::container::helpers::compose_testing::{compose_lines, run_findings};

    #[test]
    fn only_low_host_ports() {
        let yaml = "services:\n  a:\n    image: x\n    ports:\n      - \"80:8080\"\n      - \"8080:80\"\n      - \"80\"\n      - \"1000-1030:1000-1030\"\n      - target: 80\n        published: 443\n";
        assert_eq!(compose_lines(check, yaml), [5, 8, 10]);
        assert_eq!(
            run_findings(check, "docker run -p 127.0.0.1:81:8080 app").len(),
            1
        );
        assert!(run_findings(check, "docker run -p 0:80 -p 8443:443 nginx").is_empty());
    }

    #[test]
    fn standard_ports_of_protocols_served_directly() {
        let yaml = "services:\n  dns:\n    image: pihole/pihole:2024.07.0\n    ports:\n      - \"53:53/tcp\"\n      - \"53:53/udp\"\n      - \"67:67/udp\"\n      - \"80:80\"\n  mail:\n    image: mailserver/docker-mailserver:14\n    ports: [\"25:25\", \"143:143\", \"465:465\", \"587:587\", \"993:993\", \"81:8080\"]\n";
        assert_eq!(compose_lines(check, yaml), [8, 11]);
    }
}

use moat_deploy::ContainerFacts;
use moat_diagnostics::Location;

use crate::context::{Emitter, ProjectContext};
use crate::ports::{self, Protocol};
use crate::rule::declare_rule;
use crate::rules::container::port_on_all_interfaces::on_all_interfaces;
use crate::rules::network::backend_network_not_internal::is_gateway;

declare_rule! {
    /// ## What it does
    /// Reports a compose project in which more than one service publishes ports on all host
    /// interfaces (no host IP, `0.0.0.0` or `::`, or `-P`). The entry point is taken to be the
    /// first such service that is a gateway (`nginx`, `traefik`, `envoy`, `haproxy`, `caddy`,
    /// `kong`, `apisix`, `moat`), or the first such service when none is; every other public
    /// service is reported once, at its first port on all interfaces.
    ///
    /// Only HTTP ports count (and TCP ports moat does not know, most often an HTTP API): a
    /// gateway can stand in front of those. A service that publishes only ports of protocols
    /// served to clients directly — SMTP, IMAP, POP3, DNS, DHCP, NTP, SSH, FTP, LDAP, MQTT,
    /// XMPP, SIP, VPNs, UDP services — is no second entry point: an HTTP gateway cannot front
    /// it. Database, cache and broker ports are `N001`'s, and remote desktops, debuggers and the
    /// Docker API (`C025` names them) are no entry point either.
    ///
    /// ## Why is this bad?
    /// Every service reachable from outside is attack surface that bypasses the gateway's TLS,
    /// authentication, rate limiting and logging. In a well-isolated deployment only the
    /// gateway listens on public interfaces; the other services are reached over compose
    /// networks or, for administration, on loopback.
    ///
    /// ## Example
    /// ```yaml
    /// services:
    ///   proxy:
    ///     image: nginx:1.27
    ///     ports: ["443:443"]
    ///   api:
    ///     image: example/api:1.4
    ///     ports: ["8080:8080"]
    /// ```
    ///
    /// Use instead:
    /// ```yaml
    /// services:
    ///   proxy:
    ///     image: nginx:1.27
    ///     ports: ["443:443"]
    ///   api:
    ///     image: example/api:1.4
    ///     expose: ["8080"]   # reached by the proxy as api:8080
    /// ```
    ///
    /// ## Fix
    /// Remove the `ports:` of services behind the gateway (or bind them to `127.0.0.1`), and
    /// route their traffic through the gateway.
    ///
    /// ## References
    /// - CIS Docker Benchmark 5.9 (only needed ports are open) and 5.14 (traffic bound to a
    ///   specific host interface).
    /// - OWASP Docker Security Cheat Sheet, rule 5.
    pub struct MultiplePublicServices {
        code: "N003",
        name: "multiple-public-services",
        summary: "more than one service publishes ports on all interfaces",
        severity: Medium,
        confidence: Medium,
        default_enabled: true,
        references: ["CIS-DOCKER-5.9", "CIS-DOCKER-5.14"],
        check: Project,
    }
}

/// Where a service first publishes an HTTP port on all interfaces.
fn public_at(facts: &ContainerFacts) -> Option<&Location> {
    let all = facts
        .publish_all
        .as_ref()
        .filter(|p| p.value)
        .map(|p| &p.location);
    let port = facts
        .ports
        .iter()
        .find(|p| on_all_interfaces(&p.value) && ports::of_mapping(&p.value) == Protocol::Http)
        .map(|p| &p.location);
    match (all, port) {
        (Some(a), Some(p)) => Some(if (a.line, a.column) <= (p.line, p.column) {
            a
        } else {
            p
        }),
        (a, p) => a.or(p),
    }
}

pub(crate) fn check(ctx: &ProjectContext<'_>, out: &mut Emitter<'_>) {
    let public: Vec<(&ContainerFacts, &Location)> = ctx
        .project
        .services
        .iter()
        .filter_map(|s| public_at(s).map(|l| (s, l)))
        .collect();
    if public.len() < 2 {
        return;
    }
    let gateway = public.iter().position(|(s, _)| is_gateway(s));
    let entry = gateway.unwrap_or_default();
    let entry_name = &public[entry].0.name;
    for (i, (s, loc)) in public.iter().enumerate() {
        if i == entry {
            continue;
        }
        let message = if gateway.is_some() {
            format!(
                "`{}` publishes ports on all host interfaces besides the gateway `{entry_name}`",
                s.name
            )
        } else {
            format!(
                "`{}` publishes ports on all host interfaces, as `{entry_name}` does: only one entry point should",
                s.name
            )
        };
        out.emit_at(&MultiplePublicServices::INFO, (*loc).clone(), message);
    }
}

#[cfg(test)]
mod tests {
    use super::check;
    use crate::rules::container::helpers::compose_testing::project_lines;

    #[test]
    fn the_gateway_is_the_entry_point() {
        let yaml = "services:\n  api:\n    image: app\n    ports: [\"8080:8080\"]\n  proxy:\n    image: caddy:2\n    ports: [\"443:443\"]\n  admin:\n    image: adminer\n    ports: [\"127.0.0.1:8081:8080\"]\n";
        assert_eq!(project_lines(check, yaml), [4]);
        let single = "services:\n  api:\n    image: app\n    ports: [\"8080:8080\"]\n";
        assert!(project_lines(check, single).is_empty());
    }

    #[test]
    fn only_http_ports_are_entry_points() {
        let yaml = "services:\n  proxy:\n    image: traefik:v3.1\n    ports: [\"443:443\"]\n  mail:\n    image: mailserver/docker-mailserver:14\n    ports: [\"25:25\", \"587:587\", \"993:993\"]\n  dns:\n    image: pihole/pihole:2024.07.0\n    ports: [\"53:53/udp\", \"53:53/tcp\", \"8080:80\"]\n  vpn:\n    image: linuxserver/wireguard:1.0.20210914\n    ports: [\"51820:51820/udp\"]\n  mqtt:\n    image: eclipse-mosquitto:2.0\n    ports: [\"1883:1883\"]\n  git:\n    image: gitea/gitea:1.22\n    ports: [\"2222:22\"]\n  db:\n    image: postgres:16\n    ports: [\"5432:5432\"]\n";
        // only pihole's web UI (8080) is a second HTTP entry point
        assert_eq!(project_lines(check, yaml), [10]);
    }
}

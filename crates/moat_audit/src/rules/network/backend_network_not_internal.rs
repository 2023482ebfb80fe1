use moat_deploy::{ComposeProject, ContainerFacts};
use moat_diagnostics::Location;

use crate::context::{Emitter, ProjectContext};
use moat_deploy::ImageRef;
use crate::rule::declare_rule;
use crate::rules::network::datastore_port_published::datastore;

/// Images (last part of the repository) of reverse proxies and API gateways.
const GATEWAYS: &[&str] = &[
    "nginx",
    "traefik",
    "envoy",
    "haproxy",
    "caddy",
    "kong",
    "apisix",
    "moat",
    "openresty",
];

/// Whether a service is the project's gateway: its image is a reverse proxy or API gateway
/// (`nginx`, `traefik`, `envoy`, `haproxy`, `caddy`, `kong`, `apisix`, `moat`, `openresty`,
/// also `nginx-unprivileged`, `haproxy-alpine`, …), or, when it is built without an image
/// name, its service name is one of those or contains `proxy` or `gateway`.
pub(crate) fn is_gateway(facts: &ContainerFacts) -> bool {
    let named = |name: &str| {
        let name = name.to_ascii_lowercase();
        !name.ends_with("-exporter")
            && GATEWAYS
                .iter()
                .any(|g| name == *g || name.starts_with(&format!("{g}-")))
    };
    if let Some(image) = facts.image.as_ref().and_then(|i| ImageRef::parse(&i.value)) {
        return named(image.short_name());
    }
    let n = facts.name.to_ascii_lowercase();
    named(&n) || n.contains("proxy") || n.contains("gateway")
}

/// Whether a container publishes any port on the host.
pub(crate) fn publishes(facts: &ContainerFacts) -> bool {
    !facts.ports.is_empty() || facts.publish_all.as_ref().is_some_and(|p| p.value)
}

/// The compose networks a service joins: none with a `network_mode`, the implicit `default`
/// network without `networks:`.
fn networks_of(facts: &ContainerFacts) -> Vec<(&str, Option<&Location>)> {
    if facts.network_mode.is_some() {
        Vec::new()
    } else if facts.networks.is_empty() {
        vec![("default", None)]
    } else {
        facts
            .networks
            .iter()
            .map(|n| (n.value.as_str(), Some(&n.location)))
            .collect()
    }
}

/// Whether network `name` is `internal: true`, external, or of a driver without isolation to
/// judge (`host`, `none`).
fn exempt(project: &ComposeProject, name: &str) -> bool {
    project.networks.iter().any(|n| {
        n.name.value == name
            && (n.internal.as_ref().is_some_and(|i| i.value)
                || n.external.as_ref().is_some_and(|e| e.value)
                || n.driver
                    .as_ref()
                    .is_some_and(|d| matches!(d.value.as_str(), "host" | "none")))
    })
}

declare_rule! {
    /// ## What it does
    /// In a compose project with a gateway (a service running `nginx`, `traefik`, `envoy`,
    /// `haproxy`, `caddy`, `kong`, `apisix` or `moat`), reports:
    ///
    /// - a network that the gateway does not join and whose services publish no port (a
    ///   backend network) when it is not `internal: true`, at the network's definition (or,
    ///   for the implicit `default` network, at its first service);
    /// - a database or cache service (see N001) that publishes nothing but shares a network
    ///   with the gateway and is on no internal network, at its `networks:` entry (or its
    ///   service key when it uses the implicit `default` network).
    ///
    /// External networks and networks with the `host` or `none` driver are not judged.
    ///
    /// ## Why is this bad?
    /// When a gateway is the only way in, backend services need no route to the outside
    /// world. A network that is not internal gives every container on it outbound internet
    /// access: a compromised backend can download tools and exfiltrate data, and a
    /// datastore that shares the gateway's network is one hop from a compromised gateway.
    ///
    /// ## Example
    /// ```yaml
    /// services:
    ///   proxy:
    ///     image: nginx:1.27
    ///     ports: ["443:443"]
    ///     networks: [frontend]
    ///   api:
    ///     image: example/api:1.4
    ///     networks: [frontend, backend]
    ///   db:
    ///     image: postgres:16
    ///     networks: [backend]
    /// networks:
    ///   frontend:
    ///   backend:
    /// ```
    ///
    /// Use instead:
    /// ```yaml
    /// networks:
    ///   frontend:
    ///   backend:
    ///     internal: true
    /// ```
    ///
    /// ## Fix
    /// Set `internal: true` on networks that only carry traffic between services, and keep the
    /// gateway (and services that really need egress) on a separate front network. A backend
    /// that must call external APIs needs egress: ignore the finding for that network, or route
    /// its traffic through an egress proxy.
    ///
    /// An unsafe fix adds `internal: true` to a reported network's block-style definition
    /// (unsafe: its services lose their route out).
    ///
    /// ## References
    /// - The Docker docs on `internal` networks (`docker network create --internal`, compose
    ///   `internal: true`).
    /// - OWASP Docker Security Cheat Sheet, rule 5 (limit inter-container connectivity).
    /// - The CIS Docker Benchmark has no recommendation for internal networks, so none is
    ///   cited: its 5.30 (the default bridge `docker0` is not used) is `C028`'s.
    pub struct BackendNetworkNotInternal {
        code: "N002",
        name: "backend-network-not-internal",
        summary: "backend network is not internal while a gateway exists",
        severity: Medium,
        confidence: Low,
        default_enabled: true,
        fix: Unsafe,
        references: [],
        check: Project,
    }
}

pub(crate) fn check(ctx: &ProjectContext<'_>, out: &mut Emitter<'_>) {
    let project = ctx.project;
    let Some(gateway) = project.services.iter().find(|s| is_gateway(s)) else {
        return;
    };
    // networks in order: declared ones, then the ones only services name (implicit default)
    let mut names: Vec<&str> = project
        .networks
        .iter()
        .map(|n| n.name.value.as_str())
        .collect();
    for s in &project.services {
        for (n, _) in networks_of(s) {
            if !names.contains(&n) {
                names.push(n);
            }
        }
    }
    for name in names {
        if exempt(project, name) {
            continue;
        }
        let members: Vec<(&ContainerFacts, Option<&Location>)> = project
            .services
            .iter()
            .filter_map(|s| {
                networks_of(s)
                    .into_iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, loc)| (s, loc))
            })
            .collect();
        if members.is_empty() || members.iter().any(|(s, _)| is_gateway(s) || publishes(s)) {
            continue;
        }
        let location = project
            .networks
            .iter()
            .find(|n| n.name.value == name)
            .map_or_else(
                || members[0].1.unwrap_or(&members[0].0.location).clone(),
                |n| n.location.clone(),
            );
        let list: Vec<String> = members
            .iter()
            .map(|(s, _)| format!("`{}`", s.name))
            .collect();
        out.emit_at(
            &BackendNetworkNotInternal::INFO,
            location,
            format!(
                "network `{name}` carries only backend services ({}) but is not `internal: true` (gateway `{}`)",
                list.join(", "),
                gateway.name
            ),
        );
    }
    for s in &project.services {
        let Some(kind) = datastore(s) else {
            continue;
        };
        let nets = networks_of(s);
        if publishes(s) || nets.is_empty() || nets.iter().any(|(n, _)| exempt(project, n)) {
            continue;
        }
        let shared = nets.iter().find(|(n, _)| {
            project
                .services
                .iter()
                .any(|g| is_gateway(g) && networks_of(g).iter().any(|(m, _)| m == n))
        });
        if let Some((n, loc)) = shared {
            out.emit_at(
                &BackendNetworkNotInternal::INFO,
                loc.unwrap_or(&s.location).clone(),
                format!(
                    "`{}` ({kind}) shares network `{n}` with the gateway and is on no internal network",
                    s.name
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::check;
    use crate::rules::container::helpers::compose_testing::project_lines;

    #[test]
    fn backend_networks_and_flat_layouts() {
        let layered = "services:\n  proxy:\n    image: traefik:v3\n    ports: [\"443:443\"]\n    networks: [front]\n  api:\n    image: app\n    networks: [front, back]\n  db:\n    image: postgres:16\n    networks: [back]\nnetworks:\n  front:\n  back:\n";
        assert_eq!(project_lines(check, layered), [14]);
        let internal = layered.replace("  back:\n", "  back:\n    internal: true\n");
        assert!(project_lines(check, &internal).is_empty());
        let flat = "services:\n  web:\n    image: nginx\n    ports: [\"80:80\"]\n  db:\n    image: redis\n";
        assert_eq!(project_lines(check, flat), [5]);
        let no_gateway = "services:\n  db:\n    image: redis\n  api:\n    image: app\n";
        assert!(project_lines(check, no_gateway).is_empty());
    }
}

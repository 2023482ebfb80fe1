use crate::context::{ContainerContext, Emitter};
use crate::rule::declare_rule;
use moat_deploy::SourceKind;

declare_rule! {
    /// ## What it does
    /// Reports a container attached to Docker's default bridge network (`docker0`): a
    /// `docker run` without `--network`, or with `--network bridge` / `default`, and a compose
    /// service with `network_mode: bridge` (or `default`).
    ///
    /// A compose service without `networks:` is not reported: it joins the project's
    /// `default` network, which compose creates as a user-defined bridge.
    ///
    /// ## Why is this bad?
    /// Every container on the default bridge can reach every other one (inter-container
    /// communication is on unless the daemon disables it), whatever project it belongs to, and
    /// there is no DNS resolution by name, which leads to `--link` and hard-coded IPs.
    /// User-defined networks isolate groups of containers and can be made `internal`.
    ///
    /// ## Example
    /// ```sh
    /// docker run -d --name api example/api:1.4
    /// ```
    ///
    /// Use instead:
    /// ```sh
    /// docker network create backend
    /// docker run -d --name api --network backend example/api:1.4
    /// ```
    ///
    /// ## Fix
    /// Create a network for the application and attach its containers to it with
    /// `--network NAME` (compose: remove `network_mode: bridge`, or use `networks:`).
    ///
    /// ## References
    /// - CIS Docker Benchmark 5.30 (Docker's default bridge `docker0` is not used).
    /// - Docker Bench for Security check 5.30.
    pub struct DefaultBridgeNetwork {
        code: "C028",
        name: "default-bridge-network",
        summary: "container uses the default bridge network",
        severity: Low,
        confidence: High,
        default_enabled: true,
        references: ["CIS-DOCKER-5.30"],
        check: Container,
    }
}

pub(crate) fn check(ctx: &ContainerContext<'_>, out: &mut Emitter<'_>) {
    let facts = ctx.facts;
    match &facts.network_mode {
        Some(mode) if matches!(mode.value.as_str(), "bridge" | "default") => {
            out.emit_at(
                &DefaultBridgeNetwork::INFO,
                mode.location.clone(),
                format!(
                    "`{}` uses the default bridge network (`{}`)",
                    facts.name, mode.value
                ),
            );
        }
        None if facts.source_kind == SourceKind::DockerRun && facts.networks.is_empty() => {
            out.emit_at(
                &DefaultBridgeNetwork::INFO,
                facts.location.clone(),
                format!(
                    "`{}` runs on the default bridge network: no `--network` is given",
                    facts.name
                ),
            );
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::check;
    use crate::rules::container::helpers::compose_testing::{compose_lines, run_findings};

    #[test]
    fn compose_default_network_is_user_defined() {
        let yaml = "services:\n  a:\n    image: x\n  b:\n    image: x\n    network_mode: bridge\n  c:\n    image: x\n    network_mode: host\n";
        assert_eq!(compose_lines(check, yaml), [6]);
        assert_eq!(run_findings(check, "docker run nginx").len(), 1);
        assert_eq!(
            run_findings(check, "docker run --network=bridge nginx").len(),
            1
        );
        assert!(run_findings(check, "docker run --network backend nginx").is_empty());
        assert!(run_findings(check, "docker run --net host nginx").is_empty());
    }
}

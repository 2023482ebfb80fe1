use crate::context::{DaemonContext, Emitter};
use crate::rule::declare_rule;

declare_rule! {
    /// ## What it does
    /// Reports a live engine in Swarm mode (`docker info` says `Swarm: active`). Only the
    /// engine tells: daemon.json has no such key.
    ///
    /// ## Why is this bad?
    /// A swarm node opens management ports (2377/tcp on managers, 7946/tcp+udp and 4789/udp
    /// for the overlay network) and keeps cluster secrets and certificates. On a host that
    /// does not need orchestration this is attack surface for nothing.
    ///
    /// ## Example
    /// ```sh
    /// docker info --format '{{ .Swarm.LocalNodeState }}'
    /// # active
    /// ```
    ///
    /// Use instead:
    /// ```sh
    /// docker swarm leave --force    # where the host is not meant to be a swarm node
    /// ```
    ///
    /// ## Fix
    /// Leave the swarm where it is not needed. On real swarm nodes, ignore this rule for that
    /// host (`moat audit --engine --ignore H014`, or `[rules] disable` in its `.moat.toml`).
    ///
    /// ## References
    /// - CIS Docker Benchmark 5.1 (swarm mode is not enabled, if not needed).
    pub struct SwarmMode {
        code: "H014",
        name: "swarm-mode",
        summary: "the engine runs in Swarm mode",
        severity: Low,
        confidence: Medium,
        default_enabled: true,
        references: ["CIS-DOCKER-5.1"],
        check: Daemon,
    }
}

pub(crate) fn check(ctx: &DaemonContext<'_>, out: &mut Emitter<'_>) {
    let Some(info) = &ctx.facts.info else {
        return;
    };
    if let Some(state) = info.swarm.as_deref().filter(|s| {
        s.eq_ignore_ascii_case("active")
            || s.eq_ignore_ascii_case("pending")
            || s.eq_ignore_ascii_case("locked")
    }) {
        out.emit_at(
            &SwarmMode::INFO,
            ctx.facts.location.clone(),
            format!("the engine is a swarm node (`{state}`)"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::check;
    use crate::config::Settings;
    use crate::context::{DaemonContext, Emitter};
    use moat_deploy::DaemonInfo;

    #[test]
    fn an_active_swarm_node() {
        let mut facts = moat_deploy::parse_daemon_config("{}", "daemon.json").unwrap();
        let settings = Settings::default();
        let mut run = |state: Option<&str>| {
            facts.info = Some(DaemonInfo {
                swarm: state.map(Into::into),
                ..DaemonInfo::default()
            });
            let ctx = DaemonContext {
                facts: &facts,
                settings: &settings,
            };
            let mut out = Emitter::detached();
            check(&ctx, &mut out);
            out.into_findings().len()
        };
        assert_eq!(run(Some("active")), 1);
        assert_eq!(run(Some("locked")), 1);
        assert_eq!(run(Some("inactive")), 0);
        assert_eq!(run(None), 0);
    }
}

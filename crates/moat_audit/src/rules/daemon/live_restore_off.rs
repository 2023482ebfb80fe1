use crate::context::{DaemonContext, Emitter};
use crate::rule::declare_rule;
use crate::rules::daemon::helpers::{BoolKey, report_bool_key};

declare_rule! {
    /// ## What it does
    /// Reports a daemon.json where `live-restore` is not `true` (absent or `false`).
    ///
    /// ## Why is this bad?
    /// Without live restore, stopping or upgrading dockerd stops every container. Security
    /// updates of the engine then mean downtime, so they get postponed; and a crash of the
    /// daemon takes the services down with it. With it, containers keep running while the
    /// daemon restarts.
    ///
    /// ## Example
    /// ```json
    /// {
    ///   "live-restore": false
    /// }
    /// ```
    ///
    /// Use instead:
    /// ```json
    /// {
    ///   "live-restore": true
    /// }
    /// ```
    ///
    /// ## Fix
    /// Set `"live-restore": true`. It is not available in Swarm mode (the daemon refuses to
    /// start a swarm with it): on a Swarm manager or worker, ignore this rule.
    ///
    /// ## References
    /// - CIS Docker Benchmark 2.15 (Docker Bench for Security `check_2_15`).
    /// - <https://docs.docker.com/engine/daemon/live-restore/>
    pub struct LiveRestoreOff {
        code: "H006",
        name: "live-restore-off",
        summary: "containers stop when the daemon does (`live-restore` not `true`)",
        severity: Low,
        confidence: High,
        default_enabled: true,
        fix: Unsafe,
        references: ["CIS-DOCKER-2.15"],
        check: Daemon,
    }
}

pub(crate) fn check(ctx: &DaemonContext<'_>, out: &mut Emitter<'_>) {
    let k = BoolKey {
        key: "live-restore",
        value: ctx.facts.live_restore.as_ref(),
        want: true,
        wrong: "`live-restore` is `false`: every container stops when the daemon is restarted or upgraded",
        absent: Some(
            "`live-restore` is not set: every container stops when the daemon is restarted or upgraded",
        ),
    };
    report_bool_key(ctx.facts, &LiveRestoreOff::INFO, &k, out);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::daemon::helpers::testing::{assert_fix_converges, lines};

    #[test]
    fn absent_or_false() {
        assert_eq!(lines(check, "{\n  \"live-restore\": false\n}"), [2]);
        assert_eq!(lines(check, "{}"), [1]);
        assert!(lines(check, "{\"live-restore\": true}").is_empty());
        assert_fix_converges(check, "{ }", "{\"live-restore\": true }");
    }
}

use crate::context::{DaemonContext, Emitter};
use crate::rule::declare_rule;
use crate::rules::daemon::helpers::{BoolKey, report_bool_key};

declare_rule! {
    /// ## What it does
    /// Reports a daemon.json where `icc` (inter-container communication) is not `false`: set
    /// to `true`, or absent, since the daemon's default is `true`.
    ///
    /// ## Why is this bad?
    /// With `icc` on, every container on the default bridge network can reach every port of
    /// every other one. One compromised container can then probe and attack the others (a
    /// database that trusts its network, an admin port), which network isolation should stop.
    ///
    /// ## Example
    /// ```json
    /// {
    ///   "icc": true
    /// }
    /// ```
    ///
    /// Use instead:
    /// ```json
    /// {
    ///   "icc": false
    /// }
    /// ```
    ///
    /// ## Fix
    /// Set `"icc": false` and let containers that must talk share a user-defined network (or,
    /// on the default bridge, the legacy `--link`). `icc` only governs the default bridge:
    /// user-defined networks are isolated from each other regardless.
    ///
    /// ## References
    /// - CIS Docker Benchmark 2.2 (Docker Bench for Security `check_2_2`).
    /// - <https://docs.docker.com/network/drivers/bridge/>
    pub struct IccEnabled {
        code: "H003",
        name: "icc-enabled",
        summary: "containers on the default bridge can reach each other (`icc` not `false`)",
        severity: Medium,
        confidence: High,
        default_enabled: true,
        fix: Unsafe,
        references: ["CIS-DOCKER-2.2"],
        check: Daemon,
    }
}

pub(crate) fn check(ctx: &DaemonContext<'_>, out: &mut Emitter<'_>) {
    let k = BoolKey {
        key: "icc",
        value: ctx.facts.icc.as_ref(),
        want: false,
        wrong: "`icc` is `true`: containers on the default bridge can reach each other on every port",
        absent: Some(
            "`icc` is not set, so it is `true`: containers on the default bridge can reach each other on every port",
        ),
    };
    report_bool_key(ctx.facts, &IccEnabled::INFO, &k, out);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::daemon::helpers::testing::{assert_fix_converges, lines};

    #[test]
    fn absent_or_true() {
        assert_eq!(lines(check, "{\n  \"icc\": true\n}"), [2]);
        assert_eq!(lines(check, "{\n  \"debug\": false\n}"), [1]);
        assert!(lines(check, "{\n  \"icc\": false\n}").is_empty());
    }

    #[test]
    fn fixes() {
        assert_fix_converges(check, "{\"icc\": true}", "{\"icc\": false}");
        assert_fix_converges(check, "{}", "{\"icc\": false}");
        assert_fix_converges(
            check,
            "{\n  \"debug\": false\n}",
            "{\n  \"icc\": false,\n  \"debug\": false\n}",
        );
        assert_fix_converges(
            check,
            "{\"debug\": false}",
            "{\"icc\": false, \"debug\": false}",
        );
    }
}

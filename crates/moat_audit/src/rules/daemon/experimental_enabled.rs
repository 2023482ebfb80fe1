use crate::context::{DaemonContext, Emitter};
use crate::rule::declare_rule;
use crate::rules::daemon::helpers::{BoolKey, report_bool_key};

declare_rule! {
    /// ## What it does
    /// Reports `"experimental": true` in daemon.json.
    ///
    /// ## Why is this bad?
    /// Experimental features are unfinished: they change or disappear between releases, get
    /// less review, and are excluded from Docker's support and security guarantees. A
    /// production daemon should run only stable features, so that its attack surface is the
    /// documented one.
    ///
    /// ## Example
    /// ```json
    /// {
    ///   "experimental": true
    /// }
    /// ```
    ///
    /// Use instead:
    /// ```json
    /// {
    ///   "experimental": false
    /// }
    /// ```
    ///
    /// ## Fix
    /// Set `"experimental": false` (or remove the key) on production hosts; keep experimental
    /// features for development machines.
    ///
    /// ## References
    /// - CIS Docker Benchmark 2.18 (Docker Bench for Security `check_2_18`).
    pub struct ExperimentalEnabled {
        code: "H008",
        name: "experimental-enabled",
        summary: "the daemon runs experimental features",
        severity: Low,
        confidence: High,
        default_enabled: true,
        fix: Unsafe,
        references: ["CIS-DOCKER-2.18"],
        check: Daemon,
    }
}

pub(crate) fn check(ctx: &DaemonContext<'_>, out: &mut Emitter<'_>) {
    let k = BoolKey {
        key: "experimental",
        value: ctx.facts.experimental.as_ref(),
        want: false,
        wrong: "`experimental` is `true`: unfinished, unsupported features are enabled on this daemon",
        absent: None,
    };
    report_bool_key(ctx.facts, &ExperimentalEnabled::INFO, &k, out);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::daemon::helpers::testing::{assert_fix_converges, lines};

    #[test]
    fn only_when_true() {
        assert_eq!(lines(check, "{\n  \"experimental\": true\n}"), [2]);
        assert!(lines(check, "{}").is_empty());
        assert!(lines(check, "{\"experimental\": false}").is_empty());
        assert_fix_converges(
            check,
            "{\"experimental\": true}",
            "{\"experimental\": false}",
        );
    }
}

use crate::context::{DaemonContext, Emitter};
use crate::rule::declare_rule;
use crate::rules::daemon::helpers::{key_location, replace_value};

declare_rule! {
    /// ## What it does
    /// Reports `"log-level": "debug"` in daemon.json.
    ///
    /// ## Why is this bad?
    /// At debug level, dockerd logs API requests in detail, which can include environment
    /// variables, registry credentials flows and other sensitive values, and writes enough to
    /// fill disks and drown the events worth reading. `info` (the default) keeps what an audit
    /// needs.
    ///
    /// ## Example
    /// ```json
    /// {
    ///   "log-level": "debug"
    /// }
    /// ```
    ///
    /// Use instead:
    /// ```json
    /// {
    ///   "log-level": "info"
    /// }
    /// ```
    ///
    /// ## Fix
    /// Set `"log-level": "info"` or remove the key; turn debug on only while investigating
    /// (`dockerd --debug` or a reload with `SIGHUP`).
    ///
    /// ## References
    /// - CIS Docker Benchmark 2.3 (Docker Bench for Security `check_2_3`).
    pub struct DebugLogLevel {
        code: "H010",
        name: "debug-log-level",
        summary: "the daemon logs at debug level",
        severity: Low,
        confidence: High,
        default_enabled: true,
        fix: Unsafe,
        references: ["CIS-DOCKER-2.3"],
        check: Daemon,
    }
}

pub(crate) fn check(ctx: &DaemonContext<'_>, out: &mut Emitter<'_>) {
    let f = ctx.facts;
    let Some(level) = &f.log_level else {
        return;
    };
    if !level.value.trim().eq_ignore_ascii_case("debug") {
        return;
    }
    out.emit_at(
        &DebugLogLevel::INFO,
        key_location(f, "log-level"),
        "`log-level` is `debug`: the daemon logs request details that may hold sensitive values",
    )
    .fix = replace_value(f, "log-level", "\"info\"", "set `log-level` to `info`");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::daemon::helpers::testing::{assert_fix_converges, lines};

    #[test]
    fn only_debug() {
        assert_eq!(lines(check, "{\n  \"log-level\": \"DEBUG\"\n}"), [2]);
        assert!(lines(check, "{}").is_empty());
        assert!(lines(check, "{\"log-level\": \"info\"}").is_empty());
        assert!(lines(check, "{\"log-level\": \"warn\"}").is_empty());
        assert_fix_converges(
            check,
            "{\"log-level\": \"debug\"}",
            "{\"log-level\": \"info\"}",
        );
    }
}

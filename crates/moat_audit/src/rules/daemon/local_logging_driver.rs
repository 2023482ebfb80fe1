use crate::context::{DaemonContext, Emitter};
use crate::rule::declare_rule;
use crate::rules::daemon::helpers::key_location;

declare_rule! {
    /// ## What it does
    /// Reports a daemon whose default logging driver keeps the logs on the host only:
    /// `json-file` (the default when `log-driver` is absent), `local` or `none`.
    ///
    /// ## Why is this bad?
    /// Logs kept on the host are lost with it, can be altered by whoever takes it over, and are
    /// not where an incident response looks for them. Shipping them (`journald` to a central
    /// collector, `syslog`, `fluentd`, `gelf`, `awslogs`, `splunk`…) keeps an audit trail out of
    /// an attacker's reach.
    ///
    /// ## Example
    /// ```json
    /// {
    ///   "log-driver": "json-file"
    /// }
    /// ```
    ///
    /// Use instead:
    /// ```json
    /// {
    ///   "log-driver": "fluentd",
    ///   "log-opts": { "fluentd-address": "logs.internal:24224" }
    /// }
    /// ```
    ///
    /// ## Fix
    /// Set `log-driver` to a driver that ships logs to a central collector, or collect the
    /// host's log files with an agent and disable this rule.
    ///
    /// ## References
    /// - CIS Docker Benchmark 2.13 (centralized and remote logging is configured; Docker Bench
    ///   for Security `check_2_13` warns on `json-file` only, moat on `local` and `none` too).
    pub struct LocalLoggingDriver {
        code: "H016",
        name: "local-logging-driver",
        summary: "container logs stay on the host",
        severity: Info,
        confidence: Medium,
        default_enabled: true,
        references: ["CIS-DOCKER-2.13"],
        check: Daemon,
    }
}

pub(crate) fn check(ctx: &DaemonContext<'_>, out: &mut Emitter<'_>) {
    let f = ctx.facts;
    let driver = f.log_driver.as_ref().map_or("json-file", |d| d.value.as_str());
    if matches!(driver, "json-file" | "local" | "none") {
        out.emit_at(
            &LocalLoggingDriver::INFO,
            key_location(f, "log-driver"),
            format!("the logging driver is `{driver}`: container logs stay on the host"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::check;
    use crate::rules::daemon::helpers::testing::{findings, lines};

    #[test]
    fn drivers_that_keep_logs_on_the_host() {
        assert_eq!(findings(check, "{}").len(), 1);
        assert_eq!(lines(check, r#"{"log-driver": "local"}"#).len(), 1);
        assert!(lines(check, r#"{"log-driver": "journald"}"#).is_empty());
    }
}

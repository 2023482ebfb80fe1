use crate::context::{DaemonContext, Emitter};
use crate::rule::declare_rule;
use crate::rules::daemon::helpers::key_location;

declare_rule! {
    /// ## What it does
    /// Reports a daemon.json without `default-ulimits` (absent or empty), so containers
    /// inherit the daemon's own limits.
    ///
    /// ## Why is this bad?
    /// Ulimits cap what one process may hold: open files (`nofile`), processes (`nproc`), core
    /// dump size. Containers that run without any inherit dockerd's limits, which are often
    /// very high (`nofile` 1048576 under systemd). A runaway or hostile container can then
    /// exhaust file descriptors or processes that the host and other containers need. This is
    /// a judgement call (the right numbers depend on the workload), hence `info`.
    ///
    /// ## Example
    /// ```json
    /// {
    ///   "icc": false
    /// }
    /// ```
    ///
    /// Use instead:
    /// ```json
    /// {
    ///   "icc": false,
    ///   "default-ulimits": {
    ///     "nofile": { "Name": "nofile", "Soft": 64000, "Hard": 64000 },
    ///     "nproc": { "Name": "nproc", "Soft": 4096, "Hard": 8192 }
    ///   }
    /// }
    /// ```
    ///
    /// ## Fix
    /// Set `default-ulimits` to limits that fit your services; a container that needs more can
    /// raise them with `--ulimit` or compose `ulimits:`.
    ///
    /// ## References
    /// - CIS Docker Benchmark 2.8 (Docker Bench for Security `check_2_8`).
    pub struct NoDefaultUlimits {
        code: "H011",
        name: "no-default-ulimits",
        summary: "no default ulimits for containers",
        severity: Info,
        confidence: Medium,
        default_enabled: true,
        references: ["CIS-DOCKER-2.8"],
        check: Daemon,
    }
}

pub(crate) fn check(ctx: &DaemonContext<'_>, out: &mut Emitter<'_>) {
    let f = ctx.facts;
    if !f.default_ulimits.is_empty() || f.is_unknown("default-ulimits") {
        return;
    }
    let present = f.keys.iter().any(|(k, _)| k.value == "default-ulimits");
    let message = if present {
        "`default-ulimits` is empty: containers inherit the daemon's own limits"
    } else {
        "`default-ulimits` is not set: containers inherit the daemon's own limits"
    };
    out.emit_at(
        &NoDefaultUlimits::INFO,
        key_location(f, "default-ulimits"),
        message,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::daemon::helpers::testing::lines;

    #[test]
    fn absent_or_empty() {
        assert_eq!(lines(check, "{\n  \"default-ulimits\": {}\n}"), [2]);
        assert_eq!(lines(check, "{}"), [1]);
        let set =
            r#"{"default-ulimits": {"nofile": {"Name": "nofile", "Soft": 1024, "Hard": 2048}}}"#;
        assert!(lines(check, set).is_empty());
    }
}

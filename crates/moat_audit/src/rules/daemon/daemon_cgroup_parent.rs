use crate::context::{DaemonContext, Emitter};
use crate::rule::declare_rule;

declare_rule! {
    /// ## What it does
    /// Reports a daemon-wide `cgroup-parent`: every container is placed under that cgroup
    /// unless it names its own.
    ///
    /// ## Why is this bad?
    /// The cgroup parent decides which limits and accounting apply to every container. A
    /// changed default is easy to forget and can put containers under a cgroup with looser
    /// limits, or share limits between workloads that should not compete. CIS asks to confirm
    /// it: this finding is the reminder.
    ///
    /// ## Example
    /// ```json
    /// {
    ///   "cgroup-parent": "/shared"
    /// }
    /// ```
    ///
    /// Use instead:
    /// ```json
    /// {}
    /// ```
    ///
    /// ## Fix
    /// Remove `cgroup-parent` to use Docker's default, or keep it where it was chosen on
    /// purpose and ignore this finding with the reason.
    ///
    /// ## References
    /// - CIS Docker Benchmark 2.10 (the default cgroup usage has been confirmed; Docker Bench for
    ///   Security `check_2_10` reads only the `--cgroup-parent` flag).
    pub struct DaemonCgroupParent {
        code: "H017",
        name: "daemon-cgroup-parent",
        summary: "the daemon sets a default cgroup parent",
        severity: Info,
        confidence: High,
        default_enabled: true,
        references: ["CIS-DOCKER-2.10"],
        check: Daemon,
    }
}

pub(crate) fn check(ctx: &DaemonContext<'_>, out: &mut Emitter<'_>) {
    let f = ctx.facts;
    if let Some(parent) = f.cgroup_parent.as_ref().filter(|p| !p.value.is_empty()) {
        out.emit_at(
            &DaemonCgroupParent::INFO,
            parent.location.clone(),
            format!(
                "`cgroup-parent` is `{}`: every container's cgroup is placed under it",
                parent.value
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::check;
    use crate::rules::daemon::helpers::testing::{findings, lines};

    #[test]
    fn a_default_cgroup_parent() {
        assert_eq!(lines(check, r#"{"cgroup-parent": "/shared"}"#), [1]);
        assert!(findings(check, "{}").is_empty());
    }
}

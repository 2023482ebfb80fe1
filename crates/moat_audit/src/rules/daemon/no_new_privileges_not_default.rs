use crate::context::{DaemonContext, Emitter};
use crate::rule::declare_rule;
use crate::rules::daemon::helpers::{BoolKey, report_bool_key};

declare_rule! {
    /// ## What it does
    /// Reports a daemon.json where `no-new-privileges` is not `true` (absent or `false`), so
    /// containers may gain privileges through setuid binaries unless each one opts out.
    ///
    /// ## Why is this bad?
    /// Without `no_new_privs`, a process in a container can run a setuid-root binary (`su`,
    /// `sudo`, `passwd`, a planted one) and become root inside it, the first step of most
    /// escapes. Setting it on the daemon makes the safe behaviour the default for every
    /// container, instead of relying on each compose file to say
    /// `security_opt: [no-new-privileges:true]`.
    ///
    /// ## Example
    /// ```json
    /// {
    ///   "no-new-privileges": false
    /// }
    /// ```
    ///
    /// Use instead:
    /// ```json
    /// {
    ///   "no-new-privileges": true
    /// }
    /// ```
    ///
    /// ## Fix
    /// Set `"no-new-privileges": true`. An image that genuinely needs setuid (rare in a
    /// service) can opt back in with `--security-opt no-new-privileges=false`.
    ///
    /// ## References
    /// - CIS Docker Benchmark 2.14 (Docker Bench for Security `check_2_14`).
    /// - <https://docs.docker.com/reference/cli/dockerd/#daemon-configuration-file>
    pub struct NoNewPrivilegesNotDefault {
        code: "H005",
        name: "no-new-privileges-not-default",
        summary: "containers may gain new privileges by default (`no-new-privileges` not `true`)",
        severity: Medium,
        confidence: High,
        default_enabled: true,
        fix: Unsafe,
        references: ["CIS-DOCKER-2.14"],
        check: Daemon,
    }
}

pub(crate) fn check(ctx: &DaemonContext<'_>, out: &mut Emitter<'_>) {
    let k = BoolKey {
        key: "no-new-privileges",
        value: ctx.facts.no_new_privileges.as_ref(),
        want: true,
        wrong: "`no-new-privileges` is `false`: processes in containers can gain privileges through setuid binaries",
        absent: Some(
            "`no-new-privileges` is not set: processes in containers can gain privileges through setuid binaries unless each container opts out",
        ),
    };
    report_bool_key(ctx.facts, &NoNewPrivilegesNotDefault::INFO, &k, out);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::daemon::helpers::testing::{assert_fix_converges, lines};

    #[test]
    fn absent_or_false() {
        assert_eq!(lines(check, "{\n  \"no-new-privileges\": false\n}"), [2]);
        assert_eq!(lines(check, "{}"), [1]);
        assert!(lines(check, "{\"no-new-privileges\": true}").is_empty());
        assert_fix_converges(
            check,
            "{\"no-new-privileges\": false}",
            "{\"no-new-privileges\": true}",
        );
    }
}

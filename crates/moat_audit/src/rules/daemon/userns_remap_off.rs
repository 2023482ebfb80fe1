use crate::context::{DaemonContext, Emitter};
use crate::rule::declare_rule;
use crate::rules::daemon::helpers::{insert_key, key_location, replace_value};

declare_rule! {
    /// ## What it does
    /// Reports a daemon.json without user namespace remapping: `userns-remap` absent or empty.
    ///
    /// ## Why is this bad?
    /// Without it, root in a container is root on the host (uid 0 on both sides). A container
    /// escape, a mounted host path or a leaked device then acts with the host's full
    /// privileges. With `userns-remap`, container uid 0 maps to an unprivileged range of host
    /// uids (`dockremap:100000:65536`), so the same escape lands as nobody.
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
    ///   "userns-remap": "default"
    /// }
    /// ```
    ///
    /// ## Fix
    /// Set `"userns-remap": "default"` (Docker creates the `dockremap` user and its
    /// `/etc/subuid`/`/etc/subgid` ranges) or name a user of your own. Existing images and
    /// volumes are kept per mapping, and a few features (`--privileged`, host user namespace)
    /// need `--userns=host` per container: plan the switch. Rootless Docker gives the same
    /// protection and is an alternative.
    ///
    /// ## References
    /// - CIS Docker Benchmark 2.9 (Docker Bench for Security `check_2_9`).
    /// - <https://docs.docker.com/engine/security/userns-remap/>
    pub struct UsernsRemapOff {
        code: "H004",
        name: "userns-remap-off",
        summary: "user namespace remapping is off: container root is host root",
        severity: Medium,
        confidence: High,
        default_enabled: true,
        fix: Unsafe,
        references: ["CIS-DOCKER-2.9"],
        check: Daemon,
    }
}

pub(crate) fn check(ctx: &DaemonContext<'_>, out: &mut Emitter<'_>) {
    let f = ctx.facts;
    let (message, fix) = match &f.userns_remap {
        Some(u) if !u.value.trim().is_empty() => return,
        Some(_) => (
            "`userns-remap` is empty: root in a container is root on the host",
            replace_value(
                f,
                "userns-remap",
                "\"default\"",
                "set `userns-remap` to `default`",
            ),
        ),
        None => (
            "`userns-remap` is not set: root in a container is root on the host",
            insert_key(
                f,
                "userns-remap",
                "\"default\"",
                "add `\"userns-remap\": \"default\"`",
            ),
        ),
    };
    out.emit_at(
        &UsernsRemapOff::INFO,
        key_location(f, "userns-remap"),
        message,
    )
    .fix = fix;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::daemon::helpers::testing::{assert_fix_converges, lines};

    #[test]
    fn absent_or_empty() {
        assert_eq!(lines(check, "{\n  \"userns-remap\": \"\"\n}"), [2]);
        assert_eq!(lines(check, "{}"), [1]);
        assert!(lines(check, "{\"userns-remap\": \"default\"}").is_empty());
        assert!(lines(check, "{\"userns-remap\": \"app:app\"}").is_empty());
        assert_fix_converges(
            check,
            "{\"userns-remap\": \"\"}",
            "{\"userns-remap\": \"default\"}",
        );
    }
}

use crate::context::{DaemonContext, Emitter};
use crate::rule::declare_rule;
use crate::rules::daemon::helpers::{key_location, replace_value};

declare_rule! {
    /// ## What it does
    /// Reports `"storage-driver": "aufs"` in daemon.json.
    ///
    /// ## Why is this bad?
    /// aufs was never merged into the mainline Linux kernel; it is kept out of tree, has had
    /// kernel crashes and security issues of its own, and is no longer maintained by Docker: it
    /// was deprecated in Docker 20.10 and removed in 24.0, where a daemon configured with it does
    /// not start. `overlay2` is the supported default.
    ///
    /// ## Example
    /// ```json
    /// {
    ///   "storage-driver": "aufs"
    /// }
    /// ```
    ///
    /// Use instead:
    /// ```json
    /// {
    ///   "storage-driver": "overlay2"
    /// }
    /// ```
    ///
    /// ## Fix
    /// Switch to `overlay2`. Images and containers stored by aufs are not visible to the new
    /// driver: push or save what you need, switch, and pull again.
    ///
    /// ## References
    /// - CIS Docker Benchmark 2.6 (Docker Bench for Security `check_2_6`).
    /// - <https://docs.docker.com/engine/storage/drivers/select-storage-driver/>
    pub struct AufsStorageDriver {
        code: "H013",
        name: "aufs-storage-driver",
        summary: "the daemon uses the deprecated aufs storage driver",
        severity: Medium,
        confidence: High,
        default_enabled: true,
        fix: Unsafe,
        references: ["CIS-DOCKER-2.6"],
        check: Daemon,
    }
}

pub(crate) fn check(ctx: &DaemonContext<'_>, out: &mut Emitter<'_>) {
    let f = ctx.facts;
    let Some(driver) = &f.storage_driver else {
        return;
    };
    if !driver.value.trim().eq_ignore_ascii_case("aufs") {
        return;
    }
    out.emit_at(
        &AufsStorageDriver::INFO,
        key_location(f, "storage-driver"),
        "`storage-driver` is `aufs`: an unmaintained, out-of-tree driver removed from Docker 24",
    )
    .fix = replace_value(
        f,
        "storage-driver",
        "\"overlay2\"",
        "use `overlay2` (images stored by aufs must be pulled again)",
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::daemon::helpers::testing::{assert_fix_converges, lines};

    #[test]
    fn only_aufs() {
        assert_eq!(lines(check, "{\n  \"storage-driver\": \"aufs\"\n}"), [2]);
        assert!(lines(check, "{}").is_empty());
        assert!(lines(check, "{\"storage-driver\": \"overlay2\"}").is_empty());
        assert_fix_converges(
            check,
            "{\"storage-driver\": \"aufs\"}",
            "{\"storage-driver\": \"overlay2\"}",
        );
    }
}

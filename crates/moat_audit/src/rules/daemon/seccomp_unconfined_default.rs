use crate::context::{DaemonContext, Emitter};
use crate::rule::declare_rule;
use crate::rules::daemon::helpers::key_location;

declare_rule! {
    /// ## What it does
    /// Reports `"seccomp-profile": "unconfined"` in daemon.json, which turns seccomp off for
    /// every container that does not bring its own profile.
    ///
    /// ## Why is this bad?
    /// Docker's default seccomp profile blocks about 50 system calls that containers do not
    /// need and that kernel exploits and escapes rely on (`keyctl`, `add_key`, `unshare`,
    /// `mount`, `bpf`, `ptrace` on older kernels…). Making the daemon-wide default
    /// `unconfined` removes that layer from every container at once, silently.
    ///
    /// ## Example
    /// ```json
    /// {
    ///   "seccomp-profile": "unconfined"
    /// }
    /// ```
    ///
    /// Use instead:
    /// ```json
    /// {
    ///   "seccomp-profile": "/etc/docker/seccomp/default.json"
    /// }
    /// ```
    ///
    /// ## Fix
    /// Remove the key to get Docker's built-in profile, or point it at a custom profile that is
    /// at least as strict. A container that needs an extra system call can get a profile of its
    /// own with `--security-opt seccomp=FILE`.
    ///
    /// ## References
    /// - CIS Docker Benchmark 2.17 (Docker Bench for Security `check_2_17`); see also 5.22 for
    ///   the per-container setting.
    /// - <https://docs.docker.com/engine/security/seccomp/>
    pub struct SeccompUnconfinedDefault {
        code: "H012",
        name: "seccomp-unconfined-default",
        summary: "seccomp is off by default for every container",
        severity: High,
        confidence: High,
        default_enabled: true,
        references: ["CIS-DOCKER-2.17"],
        check: Daemon,
    }
}

pub(crate) fn check(ctx: &DaemonContext<'_>, out: &mut Emitter<'_>) {
    let f = ctx.facts;
    let Some(profile) = &f.seccomp_profile else {
        return;
    };
    if !profile.value.trim().eq_ignore_ascii_case("unconfined") {
        return;
    }
    out.emit_at(
        &SeccompUnconfinedDefault::INFO,
        key_location(f, "seccomp-profile"),
        "`seccomp-profile` is `unconfined`: containers run without a seccomp filter unless they bring their own",
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::daemon::helpers::testing::lines;

    #[test]
    fn only_unconfined() {
        assert_eq!(
            lines(check, "{\n  \"seccomp-profile\": \"unconfined\"\n}"),
            [2]
        );
        assert!(lines(check, "{}").is_empty());
        assert!(lines(check, "{\"seccomp-profile\": \"/etc/docker/seccomp.json\"}").is_empty());
        assert!(lines(check, "{\"seccomp-profile\": \"builtin\"}").is_empty());
    }
}

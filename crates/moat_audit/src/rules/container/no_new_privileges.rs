use moat_deploy::{Located, SecurityOpt, SecurityOptKind};

use crate::context::{ContainerContext, Emitter};
use crate::rule::declare_rule;

declare_rule! {
    /// ## What it does
    /// Reports a container that does not set `no-new-privileges`. Accepted spellings:
    /// `no-new-privileges`, `no-new-privileges:true`, `no-new-privileges=true`. An explicit
    /// `no-new-privileges:false` is reported at that entry; a missing option at the service
    /// (or the `docker run` line).
    ///
    /// ## Why is this bad?
    /// Without it, a process in the container can gain privileges through setuid/setgid
    /// binaries or file capabilities (`su`, `sudo`, `ping` in older images, anything an
    /// attacker drops with the setuid bit). With it, `execve` never grants more than the caller
    /// had.
    ///
    /// The daemon can make it the default (`"no-new-privileges": true` in daemon.json, see the
    /// `H` rules); this rule cannot see the daemon a compose file will run on, so its
    /// confidence is medium.
    ///
    /// ## Example
    /// ```yaml
    /// services:
    ///   api:
    ///     image: example/api:1.4
    /// ```
    ///
    /// Use instead:
    /// ```yaml
    /// services:
    ///   api:
    ///     image: example/api:1.4
    ///     security_opt:
    ///       - no-new-privileges:true
    /// ```
    ///
    /// ## Fix
    /// Add `no-new-privileges:true` to `security_opt` (`--security-opt no-new-privileges`).
    ///
    /// ## References
    /// - CIS Docker Benchmark 5.26 (the container is restricted from acquiring additional
    ///   privileges).
    pub struct NoNewPrivileges {
        code: "C017",
        name: "no-new-privileges-not-set",
        summary: "container does not set `no-new-privileges`",
        severity: Medium,
        confidence: Medium,
        default_enabled: true,
        fix: Safe,
        references: ["CIS-DOCKER-5.26"],
        check: Container,
    }
}

pub(crate) fn check(ctx: &ContainerContext<'_>, out: &mut Emitter<'_>) {
    let f = ctx.facts;
    // the last entry wins, as in the Docker CLI; an unexpanded variable may be the option
    let unexpanded = |o: &&Located<SecurityOpt>| o.value.raw.contains('$');
    let last = f
        .security_opt
        .iter()
        .rev()
        .find(|o| matches!(o.value.kind, SecurityOptKind::NoNewPrivileges(_)) || unexpanded(o));
    match last {
        Some(o) if unexpanded(&o) => {}
        Some(o) if matches!(o.value.kind, SecurityOptKind::NoNewPrivileges(true)) => {}
        Some(o) => {
            out.emit_at(
                &NoNewPrivileges::INFO,
                o.location.clone(),
                format!(
                    "`{}` disables `no-new-privileges` (`{}`): setuid binaries can raise privileges",
                    f.name, o.value.raw
                ),
            );
        }
        None => {
            out.emit_at(
                &NoNewPrivileges::INFO,
                f.location.clone(),
                format!(
                    "`{}` does not set `no-new-privileges`: setuid binaries can raise privileges",
                    f.name
                ),
            );
        }
    }
}

use crate::context::{DockerfileContext, Emitter};
use crate::rule::declare_rule;
use crate::rules::dockerfile::helpers::file_modes::mode_uses;

declare_rule! {
    /// ## What it does
    /// Reports a file mode that sets the setuid or setgid bit: `chmod u+s`, `g+s`, `+s`,
    /// `chmod 4755`/`2755`/`6755` in a `RUN`, and `COPY --chmod=4755` / `ADD --chmod=…`.
    /// Removing the bits (`chmod u-s`, `chmod 0755`) is not reported.
    ///
    /// ## Why is this bad?
    /// A setuid-root binary runs as root whoever starts it: any flaw in it, or in how it handles
    /// its environment, lets the unprivileged container user become root. Images should have as
    /// few of them as possible; many hardening guides remove them all.
    ///
    /// ## Example
    /// ```dockerfile
    /// FROM debian:bookworm-slim
    /// COPY --chmod=4755 ping-helper /usr/local/bin/ping-helper
    /// RUN chmod u+s /usr/local/bin/backup
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// FROM debian:bookworm-slim
    /// COPY --chmod=0755 ping-helper /usr/local/bin/ping-helper
    /// # grant the one capability the tool needs at run time instead, e.g. --cap-add=NET_RAW
    /// ```
    ///
    /// ## Fix
    /// Drop the setuid/setgid bit and give the process the specific capability it needs
    /// (`setcap` or `--cap-add`), or run it as the right user. To strip the bits the base image
    /// ships: `RUN find / -xdev -perm /6000 -type f -exec chmod a-s {} +`.
    ///
    /// ## References
    /// - CIS Docker Benchmark 4.8 (ensure setuid and setgid permissions are removed).
    /// - hadolint has no corresponding rule.
    pub struct SetuidBit {
        code: "D070",
        name: "setuid-bit",
        summary: "a file gets the setuid or setgid bit",
        severity: Medium,
        confidence: High,
        default_enabled: true,
        references: ["CIS-DOCKER-4.8"],
        check: Dockerfile,
    }
}

pub(crate) fn check(ctx: &DockerfileContext<'_>, out: &mut Emitter<'_>) {
    for u in mode_uses(ctx) {
        if !(u.mode.setuid || u.mode.setgid) {
            continue;
        }
        let bits = match (u.mode.setuid, u.mode.setgid) {
            (true, true) => "setuid and setgid bits",
            (true, false) => "setuid bit",
            _ => "setgid bit",
        };
        let target = u
            .targets
            .first()
            .map_or(String::new(), |t| format!(" on `{t}`"));
        out.emit(
            &SetuidBit::INFO,
            u.word.span,
            format!("mode `{}` sets the {bits}{target}", u.word.value),
        );
    }
}

use crate::context::{DockerfileContext, Emitter};
use crate::rule::declare_rule;
use crate::rules::dockerfile::helpers::file_modes::mode_uses;

declare_rule! {
    /// ## What it does
    /// Reports a file mode that lets every user write: `chmod 777`, `666`, `o+w`, `a+w`,
    /// `-R 777` in a `RUN`, and `COPY --chmod=777` / `ADD --chmod=…`. A mode with the sticky
    /// bit (`chmod 1777 /tmp/cache`) is not reported: that is how shared temporary directories
    /// are meant to be. `chmod +w` without a "who" is filtered by the umask and not reported.
    ///
    /// ## Why is this bad?
    /// Any process in the container, whatever its user, can then replace the file: a compromised
    /// low-privilege process can plant code that a more privileged one (an entrypoint running as
    /// root, a cron job) later executes, or tamper with configuration.
    ///
    /// ## Example
    /// ```dockerfile
    /// FROM node:20-slim
    /// COPY . /app
    /// RUN chmod -R 777 /app
    /// USER node
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// FROM node:20-slim
    /// COPY --chown=node:node . /app
    /// USER node
    /// ```
    ///
    /// ## Fix
    /// Give ownership to the user that must write (`COPY --chown`, `chown`) and keep modes like
    /// `755`/`644`; use a volume or `tmpfs` for scratch space.
    ///
    /// ## References
    /// - hadolint and the CIS Docker Benchmark have no corresponding rule (CIS 4.8 covers
    ///   setuid bits, see D070).
    pub struct WorldWritable {
        code: "D071",
        name: "world-writable",
        summary: "a file is made writable by every user",
        severity: Medium,
        confidence: High,
        default_enabled: true,
        references: [],
        check: Dockerfile,
    }
}

pub(crate) fn check(ctx: &DockerfileContext<'_>, out: &mut Emitter<'_>) {
    for u in mode_uses(ctx) {
        if !u.mode.world_writable || u.mode.sticky {
            continue;
        }
        let target = u
            .targets
            .first()
            .map_or_else(|| "files".to_string(), |t| format!("`{t}`"));
        out.emit(
            &WorldWritable::INFO,
            u.word.span,
            format!(
                "mode `{}` makes {target} writable by every user",
                u.word.value
            ),
        );
    }
}

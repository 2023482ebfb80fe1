use crate::context::{DockerfileContext, Emitter};
use crate::rule::declare_rule;
use crate::rules::dockerfile::helpers::cmd::basename;
use crate::rules::dockerfile::helpers::pkg::pkg_commands;

declare_rule! {
    /// ## What it does
    /// Reports a package-manager command that installs `sudo` (`apt-get`/`apt install`,
    /// `apk add`, `yum`/`dnf`/`microdnf install`, `zypper install`), in any stage, also when
    /// pinned (`sudo=1.9.15p5-3`) or as `sudo-ldap`.
    ///
    /// ## Why is this bad?
    /// `sudo` in an image is a ready-made privilege escalation: a process that is compromised as
    /// the unprivileged user can become root whenever the sudoers configuration allows it, which
    /// in images it nearly always does (often without a password, see D024). Containers do not
    /// need it: the image decides its user with `USER`.
    ///
    /// ## Example
    /// ```dockerfile
    /// FROM ubuntu:24.04
    /// RUN apt-get update && apt-get install -y --no-install-recommends sudo curl
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// FROM ubuntu:24.04
    /// RUN apt-get update && apt-get install -y --no-install-recommends curl \
    ///     && rm -rf /var/lib/apt/lists/*
    /// ```
    ///
    /// ## Fix
    /// Remove `sudo` from the package list; do privileged steps as `USER root` before switching
    /// to the unprivileged user, and use `gosu`/`su-exec` in an entrypoint that must drop
    /// privileges. A builder stage that needs it does not make it into the image, but is
    /// reported so that it is a decision.
    ///
    /// ## References
    /// - CIS Docker Benchmark 4.3 (do not install unnecessary packages).
    /// - hadolint has no corresponding rule (DL3004 is about running `sudo`; see D022).
    pub struct SudoInstalled {
        code: "D023",
        name: "sudo-installed",
        summary: "a package manager installs sudo",
        severity: Medium,
        confidence: High,
        default_enabled: true,
        references: ["CIS-DOCKER-4.3"],
        check: Dockerfile,
    }
}

pub(crate) fn check(ctx: &DockerfileContext<'_>, out: &mut Emitter<'_>) {
    for (_, cmds) in ctx.runs() {
        for pkg in pkg_commands(cmds) {
            let system = pkg.manager.is_system();
            if !system || !pkg.is_install() {
                continue;
            }
            for word in pkg
                .packages()
                .into_iter()
                .filter(|w| is_sudo_package(&w.value))
            {
                let prog = pkg.argv.first().map_or("", |w| basename(&w.value));
                out.emit(
                    &SudoInstalled::INFO,
                    word.span,
                    format!("`{prog}` installs `{}`", word.value),
                );
            }
        }
    }
}

/// `sudo`, `sudo=1.9.15p5-3` (apt/apk pin), `sudo-1.9.5p2` (rpm), `sudo-ldap`.
fn is_sudo_package(p: &str) -> bool {
    let p = p.to_ascii_lowercase();
    p == "sudo"
        || p.strip_prefix("sudo").is_some_and(|rest| {
            rest.starts_with(['=', '~', '<', '>'])
                || rest == "-ldap"
                || rest
                    .strip_prefix('-')
                    .is_some_and(|v| v.starts_with(|c: char| c.is_ascii_digit()))
        })
}

#[cfg(test)]
mod tests {
    use super::is_sudo_package;

    #[test]
    fn sudo_packages() {
        for p in [
            "sudo",
            "sudo=1.9.15p5-3ubuntu5",
            "sudo-1.9.5p2",
            "sudo-ldap",
            "SUDO",
        ] {
            assert!(is_sudo_package(p), "{p}");
        }
        for p in ["sudoku", "opensudo", "sudo-doc", "curl"] {
            assert!(!is_sudo_package(p), "{p}");
        }
    }
}

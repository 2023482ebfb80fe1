use crate::context::{ContainerContext, Emitter};
use crate::rule::declare_rule;

declare_rule! {
    /// ## What it does
    /// Reports a running container of a live engine in which an SSH server runs (`sshd`,
    /// `dropbear`), seen in the container's process list (`docker top`, read without `exec`).
    /// Only live containers have processes: compose files and `docker run` lines are judged by
    /// D090 (an exposed port 22) instead.
    ///
    /// ## Why is this bad?
    /// An SSH server in a container is one more service to patch, configure and audit, with
    /// its own keys and passwords, and a way in that bypasses the engine's access control and
    /// its audit trail. `docker exec` gives the same access through the engine.
    ///
    /// ## Example
    /// ```sh
    /// docker top api
    /// # UID   PID    PPID   CMD
    /// # root  4242   4221   /usr/sbin/sshd -D
    /// ```
    ///
    /// Use instead:
    /// ```sh
    /// docker exec -it api sh
    /// ```
    ///
    /// ## Fix
    /// Remove the SSH server from the image and its start-up script; administer the container
    /// with `docker exec` (or not at all: rebuild and redeploy).
    ///
    /// ## References
    /// - CIS Docker Benchmark 5.7 (sshd is not run within containers; Docker Bench for
    ///   Security `check_5_7` runs `ps` through `docker exec`, moat reads `docker top`).
    pub struct SshdRunning {
        code: "C033",
        name: "sshd-running",
        summary: "an SSH server runs in the container",
        severity: Medium,
        confidence: High,
        default_enabled: true,
        references: ["CIS-DOCKER-5.7"],
        check: Container,
    }
}

pub(crate) fn check(ctx: &ContainerContext<'_>, out: &mut Emitter<'_>) {
    let Some(live) = &ctx.facts.live else {
        return;
    };
    for p in &live.processes {
        if is_ssh_server(&p.command) {
            let finding = out.emit_at(
                &SshdRunning::INFO,
                ctx.facts.location.clone(),
                format!(
                    "an SSH server runs in `{}` (pid {})",
                    ctx.facts.name,
                    p.pid.as_deref().unwrap_or("?")
                ),
            );
            finding.evidence = Some(p.command.clone());
            return;
        }
    }
}

/// Whether a process's command line runs an SSH server: `sshd`, `/usr/sbin/sshd -D`,
/// `sshd: root@pts/0`, `dropbear`, or a shell running a script of that name
/// (`/bin/sh /usr/sbin/sshd`).
fn is_ssh_server(command: &str) -> bool {
    let base = |word: &str| {
        let b = word.rsplit('/').next().unwrap_or(word);
        matches!(b.trim_end_matches(':'), "sshd" | "dropbear")
    };
    let mut words = command.split_whitespace();
    let Some(program) = words.next() else {
        return false;
    };
    if base(program) {
        return true;
    }
    let shell = program.rsplit('/').next().unwrap_or(program);
    matches!(shell, "sh" | "bash" | "dash" | "ash" | "busybox")
        && words
            .find(|w| !w.starts_with('-') && *w != "sh")
            .is_some_and(base)
}

#[cfg(test)]
mod tests {
    use super::check;
    use crate::config::Settings;
    use crate::context::{ContainerContext, Emitter};
    use crate::rules::container::helpers::live_testing::live_container;

    fn findings(processes: &[&str]) -> Vec<String> {
        let facts = live_container("api", "api:1", "sha256:aa", processes);
        let settings = Settings::default();
        let ctx = ContainerContext {
            facts: &facts,
            project: None,
            built_images: &[],
            images: &[],
            settings: &settings,
        };
        let mut out = Emitter::detached();
        check(&ctx, &mut out);
        out.into_findings().into_iter().map(|f| f.message).collect()
    }

    #[test]
    fn an_ssh_server_among_the_processes() {
        assert_eq!(findings(&["/usr/sbin/sshd -D", "sshd: root@pts/0"]).len(), 1);
        assert_eq!(findings(&["dropbear -F -E"]).len(), 1);
        assert_eq!(findings(&["/bin/sh /usr/sbin/sshd"]).len(), 1);
        assert!(findings(&["gunicorn app:app", "/usr/bin/ssh-agent", "sh -c sshd_wrapper"]).is_empty());
        assert!(findings(&["sh -c echo sshd"]).is_empty());
    }
}

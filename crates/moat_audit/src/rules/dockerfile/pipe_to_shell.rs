use moat_dockerfile::shell::{Command, Op};

use crate::context::{DockerfileContext, Emitter};
use crate::rule::declare_rule;
use crate::rules::dockerfile::helpers::cmd::{effective_argv, program};

declare_rule! {
    /// ## What it does
    /// Reports a script downloaded and run in one go: `curl … | sh`, `wget -O- … | bash`,
    /// `sh -c "$(curl …)"`, `bash <(curl …)`.
    ///
    /// ## Why is this bad?
    /// Whatever the server (or anyone on the path, or whoever took over the domain) returns is
    /// executed as root during the build, with no checksum or signature checked, and a
    /// truncated download runs half a script.
    ///
    /// ## Example
    /// ```dockerfile
    /// RUN curl -fsSL https://example.com/install.sh | sh
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// ADD --checksum=sha256:<digest> https://example.com/install.sh /tmp/install.sh
    /// RUN sh /tmp/install.sh && rm /tmp/install.sh
    /// ```
    ///
    /// ## Fix
    /// Download to a file, verify a pinned checksum or signature, then run it.
    ///
    /// ## References
    /// - OWASP Docker Security Cheat Sheet (verify downloads); Trivy/checkov treat it alike
    ///   (CKV2_DOCKER_*).
    pub struct PipeToShell {
        code: "D080",
        name: "pipe-to-shell",
        summary: "a download is piped into a shell",
        severity: High,
        confidence: High,
        default_enabled: true,
        references: [],
        check: Dockerfile,
    }
}

const SHELLS: &[&str] = &[
    "sh", "bash", "zsh", "ash", "dash", "ksh", "python", "python3", "perl", "ruby", "node",
];
const DOWNLOADERS: &[&str] = &["curl", "wget", "fetch"];

pub(crate) fn check(ctx: &DockerfileContext<'_>, out: &mut Emitter<'_>) {
    for (_, commands) in ctx.runs() {
        for (i, cmd) in commands.iter().enumerate() {
            if is_download(cmd) {
                // the commands that this one's output flows into
                for next in commands[i + 1..]
                    .iter()
                    .take_while(|c| c.after == Some(Op::Pipe))
                {
                    if program(next).is_some_and(|p| SHELLS.contains(&p) || p.starts_with("python"))
                    {
                        out.emit(
                            &PipeToShell::INFO,
                            cmd.span.to(next.span),
                            "a download is piped straight into an interpreter",
                        );
                        break;
                    }
                }
            }
            if program(cmd).is_some_and(|p| SHELLS.contains(&p)) {
                let substituted = effective_argv(cmd).iter().skip(1).any(|w| {
                    let v = w.value.as_str();
                    v.contains("$(curl")
                        || v.contains("$(wget")
                        || v.contains("`curl")
                        || v.contains("`wget")
                        || v.contains("<(curl")
                        || v.contains("<(wget")
                });
                if substituted {
                    out.emit(
                        &PipeToShell::INFO,
                        cmd.span,
                        "a downloaded script is executed without verification",
                    );
                }
            }
        }
    }
}

fn is_download(cmd: &Command) -> bool {
    program(cmd).is_some_and(|p| DOWNLOADERS.contains(&p))
}

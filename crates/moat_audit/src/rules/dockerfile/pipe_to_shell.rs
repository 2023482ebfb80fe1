use moat_dockerfile::shell::{Command, Op};

use crate::context::{DockerfileContext, Emitter};
use crate::rule::declare_rule;
use crate::rules::dockerfile::helpers::cmd::{basename, effective_argv, program};

declare_rule! {
    /// ## What it does
    /// Reports a script downloaded and run in one go: `curl … | sh`, `wget -O- … | bash -s --
    /// --flag`, `curl … | sudo python3 -`, `sh -c "$(curl …)"`, `bash <(curl …)`,
    /// `eval "$(curl …)"`, `source <(wget -O- …)`. Shells (`sh`, `bash`, `zsh`, `ash`, `dash`,
    /// `ksh`, `mksh`, `fish`, `csh`, `tcsh`, `busybox sh`, `pwsh`) and interpreters that read a
    /// program from their input (`python`, `python3.12`, `pypy3`, `perl`, `ruby`, `node`,
    /// `nodejs`, `bun`, `deno`, `php`, `php8.3`, `lua`, `Rscript`, `tclsh`, `groovy`) count.
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

/// Programs that run what they read: shells and interpreters. Versioned names (`python3.12`,
/// `php8.3`, `lua5.4`) are matched by [`is_interpreter`].
const SHELLS: &[&str] = &[
    "sh", "bash", "zsh", "ash", "dash", "ksh", "mksh", "fish", "csh", "tcsh", "pwsh", "python",
    "pypy", "pypy3", "perl", "ruby", "node", "nodejs", "bun", "deno", "php", "lua", "luajit",
    "Rscript", "tclsh", "groovy", "jshell",
];
const DOWNLOADERS: &[&str] = &["curl", "wget", "fetch"];

/// Whether `program` runs what it reads (`python3.12`, `php8.3` and `lua5.4` included).
fn is_interpreter(program: &str) -> bool {
    if SHELLS.contains(&program) {
        return true;
    }
    ["python", "pypy", "php", "perl", "ruby", "lua", "node"]
        .iter()
        .any(|p| {
            program.strip_prefix(p).is_some_and(|v| {
                !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit() || b == b'.')
            })
        })
}

/// The program a command runs, looking through `busybox sh`.
fn runner(cmd: &Command) -> Option<&str> {
    let argv = effective_argv(cmd);
    let first = argv.first().map(|w| basename(&w.value))?;
    if first == "busybox" {
        return argv.get(1).map(|w| basename(&w.value));
    }
    Some(first)
}

pub(crate) fn check(ctx: &DockerfileContext<'_>, out: &mut Emitter<'_>) {
    for (_, commands) in ctx.runs() {
        for (i, cmd) in commands.iter().enumerate() {
            if is_download(cmd) {
                // the commands that this one's output flows into
                for next in commands[i + 1..]
                    .iter()
                    .take_while(|c| c.after == Some(Op::Pipe))
                {
                    if runner(next).is_some_and(is_interpreter) {
                        out.emit(
                            &PipeToShell::INFO,
                            cmd.span.to(next.span),
                            "a download is piped straight into an interpreter",
                        );
                        break;
                    }
                }
            }
            let runs_text = runner(cmd)
                .is_some_and(|p| is_interpreter(p) || matches!(p, "eval" | "source" | "."));
            if runs_text {
                let substituted = effective_argv(cmd).iter().skip(1).any(|w| {
                    let v = w.value.as_str();
                    ["$(", "`", "<("].iter().any(|open| {
                        DOWNLOADERS
                            .iter()
                            .any(|d| v.contains(&format!("{open}{d} ")))
                    })
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

use moat_dockerfile::{Arguments, Kind, Text};

use crate::context::{DockerfileContext, Emitter};
use crate::rule::declare_rule;

declare_rule! {
    /// ## What it does
    /// Reports a sudoers rule with `NOPASSWD` written by a `RUN` (`echo 'app ALL=(ALL) NOPASSWD:
    /// ALL' >> /etc/sudoers`) or by a heredoc of `RUN`, `COPY` or `ADD` (`COPY <<EOF
    /// /etc/sudoers.d/app`).
    ///
    /// ## Why is this bad?
    /// It lets the unprivileged user become root without any secret: the `USER` switch then
    /// protects nothing, and anything that compromises the application process owns the whole
    /// container.
    ///
    /// ## Example
    /// ```dockerfile
    /// FROM ubuntu:24.04
    /// RUN useradd -m app && echo 'app ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/app
    /// USER app
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// FROM ubuntu:24.04
    /// RUN useradd -m app
    /// USER app
    /// ```
    ///
    /// ## Fix
    /// Remove the sudoers entry (and `sudo` itself, see D023). Do the privileged work in the
    /// Dockerfile as `USER root` before switching users. A sudoers file copied from the build
    /// context (`COPY sudoers /etc/sudoers.d/`) cannot be read here; review it by hand.
    ///
    /// ## References
    /// - CIS Docker Benchmark 4.1 (run as a non-root user; a passwordless sudo user is root).
    /// - hadolint has no corresponding rule.
    pub struct PasswordlessSudo {
        code: "D024",
        name: "passwordless-sudo",
        summary: "passwordless sudo is configured",
        severity: High,
        confidence: High,
        default_enabled: true,
        references: ["CIS-DOCKER-4.1"],
        check: Dockerfile,
    }
}

const NEEDLE: &str = "NOPASSWD";

pub(crate) fn check(ctx: &DockerfileContext<'_>, out: &mut Emitter<'_>) {
    for (_, instr) in ctx.instructions() {
        if !matches!(instr.kind, Kind::Run | Kind::Copy | Kind::Add) {
            continue;
        }
        if instr.kind == Kind::Run {
            match &instr.args {
                Arguments::Shell(text) => scan(out, text),
                Arguments::Exec(words) => {
                    for w in words.iter().filter(|w| w.value.contains(NEEDLE)) {
                        emit(out, w.span);
                    }
                }
            }
        }
        for heredoc in &instr.heredocs {
            scan(out, &heredoc.body);
        }
    }
}

/// Reports the first `NOPASSWD` of each line of `text`.
fn scan(out: &mut Emitter<'_>, text: &Text) {
    let mut offset = 0;
    for line in text.value.split_inclusive('\n') {
        if let Some(pos) = line.find(NEEDLE) {
            emit(out, text.span(offset + pos, offset + pos + NEEDLE.len()));
        }
        offset += line.len();
    }
}

fn emit(out: &mut Emitter<'_>, span: moat_dockerfile::Span) {
    out.emit(
        &PasswordlessSudo::INFO,
        span,
        "`NOPASSWD` sudoers rule: the unprivileged user can become root without a password",
    );
}

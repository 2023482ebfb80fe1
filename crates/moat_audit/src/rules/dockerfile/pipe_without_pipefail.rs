use moat_dockerfile::shell::Op;
use moat_dockerfile::{Arguments, Kind};

use crate::context::{DockerfileContext, Emitter};
use crate::rule::declare_rule;
use crate::rules::dockerfile::helpers::cmd::effective_argv;

declare_rule! {
    /// ## What it does
    /// Reports a shell-form `RUN` with a pipe (`a | b`) when the stage's `SHELL` does not set
    /// `-o pipefail` and the command does not `set -o pipefail` itself.
    ///
    /// ## Why is this bad?
    /// A pipeline's status is that of its last command: `curl https://… | tar xz` succeeds
    /// even when the download failed, and the build goes on with a broken or missing file —
    /// including a missing security update or a truncated verification step.
    ///
    /// ## Example
    /// ```dockerfile
    /// RUN wget -O - https://example.com/tool.tgz | tar xz
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// SHELL ["/bin/bash", "-o", "pipefail", "-c"]
    /// RUN wget -O - https://example.com/tool.tgz | tar xz
    /// ```
    ///
    /// ## Fix
    /// Set `SHELL ["/bin/bash", "-o", "pipefail", "-c"]` (or `/bin/ash` on Alpine) before the
    /// `RUN`, or start the command with `set -o pipefail &&`. Stages whose `SHELL` is not a
    /// POSIX shell (PowerShell, cmd) are not judged.
    ///
    /// ## References
    /// - hadolint DL4006. moat differs deliberately: a RUN that starts with `set -o pipefail` is
    ///   not reported (hadolint reports it although the pipe is then checked), and a pipe
    ///   inside a command substitution (`X=$(a | b)`) is reported like hadolint does. It
    ///   accepts `SHELL ["/bin/sh", "-o", "pipefail", "-c"]`, which hadolint reports: where
    ///   `/bin/sh` knows the option (BusyBox ash on Alpine) failures are caught, and where it
    ///   does not (dash) every later `RUN` fails at once, so no failure goes unnoticed.
    pub struct PipeWithoutPipefail {
        code: "D082",
        name: "pipe-without-pipefail",
        summary: "RUN with a pipe but without pipefail",
        severity: Low,
        confidence: High,
        default_enabled: true,
        references: ["DL4006"],
        check: Dockerfile,
    }
}

pub(crate) fn check(ctx: &DockerfileContext<'_>, out: &mut Emitter<'_>) {
    for (instr, commands) in ctx.runs() {
        if !matches!(instr.args, Arguments::Shell(_)) {
            continue;
        }
        let pipe_span = commands
            .iter()
            .find(|c| c.after == Some(Op::Pipe))
            .map(|c| c.span)
            .or_else(|| substituted_pipe(commands));
        let Some(pipe_span) = pipe_span else {
            continue;
        };
        match shell_for(ctx, instr) {
            Some(words) if words.iter().any(|w| w.contains("pipefail")) => continue,
            Some(words) if !is_posix_shell(words.first().map_or("", String::as_str)) => continue,
            _ => {}
        }
        let sets_pipefail = commands.iter().any(|c| {
            let argv = effective_argv(c);
            argv.first().is_some_and(|w| w.value == "set")
                && argv
                    .iter()
                    .any(|w| w.value == "pipefail" || w.value.contains("pipefail"))
        });
        if sets_pipefail {
            continue;
        }
        out.emit(
            &PipeWithoutPipefail::INFO,
            pipe_span,
            "pipe without `pipefail`: a failure on its left side goes unnoticed",
        );
    }
}

/// A pipe inside a command substitution (`x=$(a | b)`), which the shell also runs without
/// pipefail; the span of the word that holds it.
fn substituted_pipe(commands: &[moat_dockerfile::shell::Command]) -> Option<moat_dockerfile::Span> {
    commands
        .iter()
        .flat_map(|c| c.assignments.iter().chain(&c.argv))
        .find_map(|w| {
            let inner = &w.value[w.value.find("$(")?..];
            let has_pipe = inner.char_indices().any(|(i, ch)| {
                ch == '|' && !inner[i + 1..].starts_with('|') && !inner[..i].ends_with('|')
            });
            has_pipe.then_some(w.span)
        })
}

/// The exec-form words of the last SHELL before `instr` in its stage.
fn shell_for(
    ctx: &DockerfileContext<'_>,
    instr: &moat_dockerfile::Instruction,
) -> Option<Vec<String>> {
    ctx.dockerfile
        .instructions
        .iter()
        .take_while(|i| !std::ptr::eq(*i, instr))
        .filter(|i| i.kind == Kind::Shell && i.stage == instr.stage)
        .last()
        .and_then(|i| match &i.args {
            Arguments::Exec(words) => Some(words.iter().map(|w| w.value.clone()).collect()),
            Arguments::Shell(_) => None,
        })
}

fn is_posix_shell(program: &str) -> bool {
    let name = program.rsplit(['/', '\\']).next().unwrap_or(program);
    matches!(
        name,
        "sh" | "bash" | "ash" | "dash" | "zsh" | "ksh" | "mksh" | "busybox"
    )
}

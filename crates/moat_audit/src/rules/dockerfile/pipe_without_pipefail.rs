use moat_dockerfile::shell::Op;
use moat_dockerfile::{Arguments, Kind};

use crate::context::{DockerfileContext, Emitter, fix};
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
    /// An unsafe fix inserts `SHELL ["/bin/sh", "-o", "pipefail", "-c"]` before the stage's
    /// first such `RUN`, when the stage sets no `SHELL` of its own: unsafe because the image's
    /// later `RUN`s then fail on a shell that does not know the option (dash before 0.5.13:
    /// switch to `/bin/bash` there) and the image's `SHELL` changes for its children.
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
        fix: Unsafe,
        references: ["DL4006"],
        check: Dockerfile,
    }
}

pub(crate) fn check(ctx: &DockerfileContext<'_>, out: &mut Emitter<'_>) {
    // stages that already got a fix: one SHELL before the first reported RUN covers the rest
    let mut fixed_stages = Vec::new();
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
        let shell_set = shell_for(ctx, instr).is_some() || has_shell_before(ctx, instr);
        let finding = out.emit(
            &PipeWithoutPipefail::INFO,
            pipe_span,
            "pipe without `pipefail`: a failure on its left side goes unnoticed",
        );
        if !shell_set && !fixed_stages.contains(&instr.stage) {
            fixed_stages.push(instr.stage);
            let text = ctx.file.text.as_str();
            let at = instr.span.start;
            let line_start = text[..at].rfind('\n').map_or(0, |p| p + 1);
            let indent = &text[line_start..at];
            if indent.chars().all(|c| c == ' ' || c == '\t') {
                let nl = if text.contains("\r\n") { "\r\n" } else { "\n" };
                finding.fix = Some(fix(
                    "set `SHELL [\"/bin/sh\", \"-o\", \"pipefail\", \"-c\"]` before this RUN",
                    false,
                    moat_diagnostics::Span::new(at, at),
                    format!("SHELL [\"/bin/sh\", \"-o\", \"pipefail\", \"-c\"]{nl}{indent}"),
                ));
            }
        }
    }
}

/// Any `SHELL` (exec or shell form) before `instr` in its stage: the fix leaves a stage that
/// chose its shell alone.
fn has_shell_before(ctx: &DockerfileContext<'_>, instr: &moat_dockerfile::Instruction) -> bool {
    ctx.dockerfile
        .instructions
        .iter()
        .take_while(|i| !std::ptr::eq(*i, instr))
        .any(|i| i.kind == Kind::Shell && i.stage == instr.stage)
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

#[cfg(test)]
mod tests {
    use super::check;
    use crate::rules::dockerfile::helpers::testing::{apply_fixes, assert_fix_converges};

    #[test]
    fn fix_sets_pipefail_once_per_stage() {
        assert_fix_converges(
            check,
            "FROM a\nRUN a | b\nRUN c | d\nFROM b\n  RUN e | f\n",
            "FROM a\nSHELL [\"/bin/sh\", \"-o\", \"pipefail\", \"-c\"]\nRUN a | b\nRUN c | d\nFROM b\n  SHELL [\"/bin/sh\", \"-o\", \"pipefail\", \"-c\"]\n  RUN e | f\n",
        );
    }

    #[test]
    fn a_stage_with_its_own_shell_gets_no_fix() {
        // the finding stays (no pipefail), but the user's SHELL choice is not overridden
        let src = "FROM a\nSHELL [\"/bin/bash\", \"-c\"]\nRUN a | b\n";
        assert_eq!(apply_fixes(check, src), src);
    }
}

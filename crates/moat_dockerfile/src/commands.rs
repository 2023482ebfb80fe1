//! [`Instruction::run_commands`]: the shell commands an instruction runs, including those of
//! heredoc scripts and of `sh -c '…'` strings.

use crate::ast::{Arguments, Heredoc, Instruction, Kind, Text, Word};
use crate::shell::{self, Command, RawCommand};
use crate::text::{self, skip_space};
use crate::words;

/// How deep `sh -c "sh -c '…'"` strings are followed.
const MAX_NESTING: usize = 4;

/// Shells whose `-c` strings and stdin scripts are split too.
const SHELLS: [&str; 7] = ["sh", "bash", "ash", "dash", "zsh", "ksh", "mksh"];

impl Instruction {
    /// The simple commands this instruction runs: for RUN, CMD, ENTRYPOINT and HEALTHCHECK (and
    /// the trigger of an ONBUILD), the commands of the shell form (or the exec form as one
    /// command), then those of each heredoc that a shell reads as its script (`RUN <<EOF`, `RUN
    /// bash <<EOF`, but not `RUN python3 <<EOF` nor a body starting with a non-shell `#!`). The
    /// string of `sh -c '…'` / `bash -c "…"` is split too, its commands following the command
    /// that runs it. Empty for other instructions.
    pub fn run_commands(&self) -> Vec<Command> {
        if let Some(trigger) = &self.onbuild {
            return trigger.run_commands();
        }
        if !matches!(
            self.kind,
            Kind::Run | Kind::Cmd | Kind::Entrypoint | Kind::Healthcheck
        ) {
            return Vec::new();
        }
        match &self.args {
            Arguments::Exec(argv) => exec_commands(argv),
            Arguments::Shell(text) if self.kind == Kind::Healthcheck => {
                healthcheck_script(text).map_or_else(Vec::new, |t| self.shell_commands(&t))
            }
            Arguments::Shell(text) => self.shell_commands(text),
        }
    }

    fn shell_commands(&self, script: &Text) -> Vec<Command> {
        let raw = shell::commands(script);
        let scripts: Vec<&Heredoc> = if self.kind == Kind::Run {
            let docs = self.heredocs.iter();
            docs.filter(|doc| read_by_shell(&raw, script, doc))
                .collect()
        } else {
            Vec::new()
        };
        let mut out = Vec::new();
        push_commands(raw, script, 0, &mut out);
        for doc in scripts {
            push_commands(shell::commands(&doc.body), &doc.body, 0, &mut out);
        }
        out
    }
}

/// Appends the simple commands of `raw` (read from `text`), each followed by the commands of its
/// `sh -c` string.
fn push_commands(raw: Vec<RawCommand>, text: &Text, depth: usize, out: &mut Vec<Command>) {
    for cmd in raw.into_iter().filter(RawCommand::is_simple) {
        let script = (depth < MAX_NESTING)
            .then(|| script_arg(&cmd.values()))
            .flatten()
            .and_then(|i| cmd.argv.get(i))
            .map(|w| w.value.clone());
        out.push(cmd.into_command(text));
        if let Some(inner) = script {
            push_commands(shell::commands(&inner), &inner, depth + 1, out);
        }
    }
}

/// Exec form: the command itself, then those of its `sh -c` string. (The spans of the latter
/// cover the whole JSON string: its escapes make exact positions unknowable here.)
fn exec_commands(argv: &[Word]) -> Vec<Command> {
    let (Some(first), Some(last)) = (argv.first(), argv.last()) else {
        return Vec::new();
    };
    let mut out = vec![Command {
        argv: argv.to_vec(),
        assignments: Vec::new(),
        span: first.span.to(last.span),
        piped: false,
        after: None,
    }];
    let values: Vec<&str> = argv.iter().map(|w| w.value.as_str()).collect();
    if let Some(script) = script_arg(&values).and_then(|i| argv.get(i)) {
        let text = text::at(&script.value, 0);
        let mut nested = Vec::new();
        push_commands(shell::commands(&text), &text, 1, &mut nested);
        for mut cmd in nested {
            cmd.span = script.span;
            for w in cmd.argv.iter_mut().chain(cmd.assignments.iter_mut()) {
                w.span = script.span;
            }
            out.push(cmd);
        }
    }
    out
}

/// `HEALTHCHECK CMD script`: the script (`None` for `NONE`).
fn healthcheck_script(text: &Text) -> Option<Text> {
    let v = &text.value;
    let start = skip_space(v.as_bytes(), 0, v.len());
    let end = words::word_end(v, start, v.len(), '\\');
    let first = v.get(start..end)?;
    first
        .eq_ignore_ascii_case("cmd")
        .then(|| text::slice(text, end, v.len()))
}

/// Whether `prog` (a path or a name) is a shell.
fn is_shell(prog: &str) -> bool {
    SHELLS.contains(&prog.rsplit('/').next().unwrap_or(prog))
}

/// For `sh -c 'script' …`, `bash -ec "…"`, `bash -o pipefail -c …`: the index of the script.
fn script_arg(argv: &[&str]) -> Option<usize> {
    if !is_shell(argv.first()?) {
        return None;
    }
    let mut saw_c = false;
    let mut i = 1;
    while let Some(&arg) = argv.get(i) {
        match arg {
            "-o" | "+o" => i += 1,
            _ if arg.starts_with("--") => {}
            _ if arg.len() > 1 && arg.starts_with(['-', '+']) => {
                saw_c |= arg.starts_with('-') && arg.contains('c');
            }
            _ => return saw_c.then_some(i),
        }
        i += 1;
    }
    None
}

/// Whether the command (`argv`) that a heredoc feeds reads it as a shell script: a shell run
/// with options only (no `-c`, no script file).
fn shell_reads_stdin(argv: &[&str]) -> bool {
    let Some((prog, args)) = argv.split_first() else {
        return false;
    };
    if !is_shell(prog) {
        return false;
    }
    let mut args = args.iter();
    while let Some(&arg) = args.next() {
        match arg {
            "-o" | "+o" => {
                args.next();
            }
            _ if arg.starts_with("--") => {}
            _ if arg.len() > 1 && arg.starts_with(['-', '+']) => {
                if arg.starts_with('-') && arg.contains('c') {
                    return false;
                }
                if arg.starts_with('-') && arg.contains('s') {
                    return true;
                }
            }
            _ => return false,
        }
    }
    true
}

/// Whether the heredoc `doc` is read as a shell script by the command of `raw` (read from
/// `script`) that it is attached to. A heredoc alone (`RUN <<EOF`) is the script of the RUN,
/// unless it starts with a `#!` line naming something other than a shell.
fn read_by_shell(raw: &[RawCommand], script: &Text, doc: &Heredoc) -> bool {
    let Some(cmd) = raw.iter().find(|c| {
        c.heredocs
            .iter()
            .any(|&at| script.source_offset(at) == doc.span.start)
    }) else {
        return false;
    };
    if cmd.argv.is_empty() {
        return shebang(&doc.body.value).is_none_or(is_shell);
    }
    shell_reads_stdin(&cmd.values())
}

/// The interpreter named by a `#!` first line (`#!/usr/bin/env python3` gives `python3`).
fn shebang(body: &str) -> Option<&str> {
    let line = body.strip_prefix("#!")?.lines().next().unwrap_or("");
    let mut parts = line.split_whitespace();
    let prog = parts.next()?;
    if prog.rsplit('/').next() == Some("env") {
        return parts.find(|p| !p.starts_with('-'));
    }
    Some(prog)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_script_of_sh_c() {
        assert_eq!(script_arg(&["sh", "-c", "x"]), Some(2));
        assert_eq!(script_arg(&["/bin/bash", "-ec", "x", "y"]), Some(2));
        assert_eq!(script_arg(&["bash", "-o", "pipefail", "-c", "x"]), Some(4));
        assert_eq!(script_arg(&["bash", "--login", "-c", "x"]), Some(3));
        assert_eq!(script_arg(&["bash", "script.sh"]), None);
        assert_eq!(script_arg(&["python", "-c", "x"]), None);
        assert_eq!(script_arg(&["sh", "-c"]), None);
    }

    #[test]
    fn shells_reading_stdin() {
        assert!(shell_reads_stdin(&["sh"]));
        assert!(shell_reads_stdin(&["bash", "-e", "-o", "pipefail"]));
        assert!(shell_reads_stdin(&["bash", "-s", "arg"]));
        assert!(!shell_reads_stdin(&["bash", "-c", "cat"]));
        assert!(!shell_reads_stdin(&["bash", "script.sh"]));
        assert!(!shell_reads_stdin(&["python3"]));
        assert!(!shell_reads_stdin(&[]));
    }

    #[test]
    fn reads_shebangs() {
        assert_eq!(shebang("#!/bin/bash\nx"), Some("/bin/bash"));
        assert_eq!(shebang("#!/usr/bin/env -S python3 -u\n"), Some("python3"));
        assert_eq!(shebang("#!"), None);
        assert_eq!(shebang("echo"), None);
    }
}

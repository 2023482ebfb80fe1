use moat_dockerfile::Word;

use crate::context::{DockerfileContext, Emitter};
use crate::rule::declare_rule;
use crate::rules::dockerfile::helpers::cmd::basename;

declare_rule! {
    /// ## What it does
    /// Reports a `RUN` command that runs `sudo` (also behind `env`, `nice`, `exec` and similar
    /// wrappers, and in any part of a pipeline: `… | sudo tee /etc/x`). The word `sudo` as an
    /// argument (`echo sudo`, `apt-get install sudo`) is not reported here.
    ///
    /// ## Why is this bad?
    /// `RUN` already runs as the current `USER`; `sudo` inside a build means the Dockerfile
    /// switches users in a roundabout way. It needs `sudo` installed and configured in the image
    /// (see D023, D024), its TTY and environment handling make builds unpredictable, and it keeps
    /// a privilege-escalation path in the running container.
    ///
    /// ## Example
    /// ```dockerfile
    /// FROM ubuntu:24.04
    /// USER app
    /// RUN sudo apt-get update && sudo apt-get install -y --no-install-recommends curl
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// FROM ubuntu:24.04
    /// RUN apt-get update && apt-get install -y --no-install-recommends curl \
    ///     && rm -rf /var/lib/apt/lists/*
    /// USER app
    /// ```
    ///
    /// ## Fix
    /// Run the privileged steps before switching to the unprivileged `USER` (or switch back to
    /// `USER root` around them). To drop privileges in an entrypoint script, use `gosu` or
    /// `su-exec`.
    ///
    /// ## References
    /// - hadolint DL3004. moat also finds `sudo` behind a wrapper
    ///   (`RUN env DEBIAN_FRONTEND=noninteractive sudo dpkg -i x.deb`) and in the JSON form
    ///   (`RUN ["sudo", "make", "install"]`), which hadolint does not report.
    pub struct SudoUsed {
        code: "D022",
        name: "sudo-used",
        summary: "RUN uses sudo",
        severity: Medium,
        confidence: High,
        default_enabled: true,
        references: ["DL3004"],
        check: Dockerfile,
    }
}

/// Wrappers that run their arguments as a command.
const WRAPPERS: &[&str] = &[
    "env", "nice", "nohup", "time", "exec", "command", "xargs", "timeout",
];

pub(crate) fn check(ctx: &DockerfileContext<'_>, out: &mut Emitter<'_>) {
    for (_, cmds) in ctx.runs() {
        for cmd in cmds {
            if let Some(word) = sudo_word(&cmd.argv) {
                out.emit(
                    &SudoUsed::INFO,
                    word.span,
                    "`sudo` in RUN: order instructions and USER instead",
                );
            }
        }
    }
}

/// The `sudo` word that runs a program, looking through wrappers.
fn sudo_word(argv: &[Word]) -> Option<&Word> {
    let mut words = argv.iter();
    while let Some(w) = words.next() {
        let name = basename(&w.value);
        if name == "sudo" {
            return Some(w);
        }
        if !WRAPPERS.contains(&name) {
            return None;
        }
        // skip the wrapper's options, assignments and numbers (`nice -n 5`, `timeout 10`)
        for next in words.by_ref() {
            let v = next.value.as_str();
            if v.starts_with('-') || v.contains('=') || v.starts_with(|c: char| c.is_ascii_digit())
            {
                continue;
            }
            let n = basename(v);
            if n == "sudo" {
                return Some(next);
            }
            if !WRAPPERS.contains(&n) {
                return None;
            }
            break;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use moat_dockerfile::{Span, Word};

    use super::sudo_word;

    fn argv(s: &str) -> Vec<Word> {
        s.split(' ')
            .map(|w| Word {
                value: w.to_string(),
                span: Span::default(),
            })
            .collect()
    }

    #[test]
    fn finds_sudo_through_wrappers() {
        assert!(sudo_word(&argv("sudo apt-get update")).is_some());
        assert!(sudo_word(&argv("/usr/bin/sudo -E make")).is_some());
        assert!(sudo_word(&argv("env FOO=1 sudo make")).is_some());
        assert!(sudo_word(&argv("nice -n 5 sudo make")).is_some());
        assert!(sudo_word(&argv("timeout 10 sudo make")).is_some());
        assert!(sudo_word(&argv("echo sudo")).is_none());
        assert!(sudo_word(&argv("apt-get install sudo")).is_none());
    }
}

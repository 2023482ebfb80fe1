use moat_dockerfile::{Arguments, Kind, Text};

use crate::context::{DockerfileContext, Emitter, fix};
use crate::rule::declare_rule;

declare_rule! {
    /// ## What it does
    /// Reports a `CMD` or `ENTRYPOINT` in shell form (`CMD node server.js`), in any stage.
    ///
    /// ## Why is this bad?
    /// The shell form runs the command as `/bin/sh -c "…"`: the shell is PID 1 and does not pass
    /// `SIGTERM` on, so `docker stop` waits for its timeout and kills the application without a
    /// clean shutdown. An `ENTRYPOINT` in shell form also ignores the `CMD` and the arguments of
    /// `docker run`.
    ///
    /// ## Example
    /// ```dockerfile
    /// FROM node:20-slim
    /// CMD node server.js
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// FROM node:20-slim
    /// CMD ["node", "server.js"]
    /// ```
    ///
    /// ## Fix
    /// Use the JSON (exec) form. When shell features are needed, use a script that ends with
    /// `exec "$@"`, or `CMD ["sh", "-c", "exec …"]`. An unsafe fix rewrites simple commands (plain
    /// words, no quotes, variables or shell operators) to the JSON form; it is unsafe because the
    /// command no longer runs under a shell.
    ///
    /// ## References
    /// - hadolint DL3025. moat differs on purpose: hadolint 2.15 also reports
    ///   `HEALTHCHECK CMD curl -f http://localhost/` in shell form, which has no PID 1 or signal
    ///   problem (the engine runs health checks itself); moat does not.
    pub struct ShellFormCmd {
        code: "D101",
        name: "shell-form-cmd",
        summary: "CMD or ENTRYPOINT in shell form",
        severity: Low,
        confidence: High,
        default_enabled: true,
        fix: Unsafe,
        references: ["DL3025"],
        check: Dockerfile,
    }
}

pub(crate) fn check(ctx: &DockerfileContext<'_>, out: &mut Emitter<'_>) {
    for (_, instr) in ctx.instructions() {
        if !matches!(instr.kind, Kind::Cmd | Kind::Entrypoint) {
            continue;
        }
        let Arguments::Shell(text) = &instr.args else {
            continue;
        };
        let finding = out.emit(
            &ShellFormCmd::INFO,
            instr.span,
            format!(
                "{} in shell form runs under `/bin/sh -c`, which does not forward signals: use the JSON form",
                instr.kind.as_str()
            ),
        );
        if let Some(json) = exec_form(text) {
            finding.fix = Some(fix("rewrite in JSON form", false, text.full_span(), json));
        }
    }
}

/// `["a", "b"]` for a command made of plain words only.
fn exec_form(text: &Text) -> Option<String> {
    let words: Vec<&str> = text.value.split_whitespace().collect();
    let plain = |w: &str| {
        w.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=,@+%".contains(c))
    };
    if words.is_empty() || text.value.contains('\n') || !words.iter().all(|w| plain(w)) {
        return None;
    }
    let quoted: Vec<String> = words.iter().map(|w| format!("\"{w}\"")).collect();
    Some(format!("[{}]", quoted.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::check;
    use crate::rules::dockerfile::helpers::testing::assert_fix_converges;

    #[test]
    fn fix_converges() {
        assert_fix_converges(
            check,
            "FROM a\nCMD node \\\n  server.js\n",
            "FROM a\nCMD [\"node\", \"server.js\"]\n",
        );
    }

    use moat_dockerfile::Text;

    use super::exec_form;

    fn text(s: &str) -> Text {
        Text {
            value: s.to_string(),
            pieces: vec![(0, 0, s.len())],
        }
    }

    #[test]
    fn rewrites_plain_commands_only() {
        assert_eq!(
            exec_form(&text("node server.js")).as_deref(),
            Some(r#"["node", "server.js"]"#)
        );
        assert_eq!(
            exec_form(&text("gunicorn -b 0.0.0.0:8000 app:app")).as_deref(),
            Some(r#"["gunicorn", "-b", "0.0.0.0:8000", "app:app"]"#)
        );
        assert_eq!(exec_form(&text("node $APP")), None);
        assert_eq!(exec_form(&text("a && b")), None);
        assert_eq!(exec_form(&text("echo 'hi'")), None);
        assert_eq!(exec_form(&text("")), None);
    }
}

//! The image source: an image of a live engine, judged by the Dockerfile rules that make sense
//! on what an image keeps of its build — its configuration (user, health check, environment)
//! and its history (the instruction that made each layer).
//!
//! The image is rewritten as the Dockerfile its history records, one instruction per line, and
//! that text is audited like a Dockerfile with [`IMAGE_RULES`], so those rules apply unchanged.
//! Findings point at `image:<reference>`, line *n* of that text; the text itself is shown as
//! the snippet, so the user sees the recorded instruction (`RUN |1 NPM_TOKEN=… npm ci`).
//!
//! How history entries read (Docker Engine API, `GET /images/{name}/history`, `CreatedBy`):
//! - the classic builder: `/bin/sh -c #(nop)  ENV A=b` for instructions that make no layer,
//!   `/bin/sh -c apt-get update` for a `RUN`, `|2 A=1 B=2 /bin/sh -c make` for a `RUN` that saw
//!   build arguments (their values are recorded);
//! - BuildKit: the instruction itself (`ENV A=b`, `USER app`, `WORKDIR /app`), with
//!   `RUN /bin/sh -c make # buildkit`, `RUN |1 NPM_TOKEN=x /bin/sh -c npm ci # buildkit`,
//!   `COPY . . # buildkit`, `EXPOSE map[8080/tcp:{}]`, and Go-printed values for `CMD`,
//!   `ENTRYPOINT`, `HEALTHCHECK`, `VOLUME` and `SHELL`;
//! - `docker import`: `Imported from -`.
//!
//! What the image's configuration says wins over its history: its `User` and `Healthcheck` are
//! written last. Entries that cannot be read as an instruction are left out.

use moat_deploy::ImageFacts;
use moat_diagnostics::SourceFile;

use crate::config::Config;
use crate::context::{DockerfileContext, Emitter, ImageContext};
use crate::rule::{Subject, run_rules};
use crate::sources::{FileOutcome, with_severities};

/// The Dockerfile rules that apply to an image: what an image's configuration and history can
/// show (secrets, root, sudo, health check, downloads piped to a shell or unchecked, setuid
/// bits, SSH). Rules about how a Dockerfile is written (pins, caches, instruction forms) do
/// not: the history cannot tell how the file was written.
pub const IMAGE_RULES: &[&str] = &[
    "D010", "D011", "D012", "D013", "D020", "D021", "D022", "D023", "D024", "D030", "D041", "D070",
    "D071", "D080", "D081", "D090",
];

/// The Dockerfile an image's history records, as text: `FROM <reference>`, one line per
/// history entry (oldest first), then the configured environment that no history `ENV` line
/// shows, `USER` and `HEALTHCHECK`.
pub fn history_dockerfile(image: &ImageFacts) -> String {
    let mut out = format!("FROM {}\n", one_line(&image.reference));
    for layer in &image.history {
        for line in instructions_of(&layer.created_by) {
            out.push_str(&line);
            out.push('\n');
        }
    }
    // the configuration's environment: what the history does not show (`docker import
    // --change ENV …`, a squashed or rewritten image) is still in the image
    for var in &image.env {
        let set_in_history = out.lines().any(|l| {
            l.strip_prefix("ENV ").is_some_and(|rest| {
                rest.split_whitespace()
                    .any(|w| w.split('=').next() == Some(var.name.value.as_str()))
            })
        });
        if let (false, Some(value)) = (set_in_history, &var.value) {
            out.push_str("ENV ");
            out.push_str(&var.name.value);
            out.push('=');
            out.push_str(&quote(&one_line(&value.value)));
            out.push('\n');
        }
    }
    if let Some(user) = image.user.as_ref().filter(|u| !u.value.trim().is_empty()) {
        out.push_str("USER ");
        out.push_str(&one_line(&user.value));
        out.push('\n');
    }
    match &image.healthcheck {
        Some(h) if h.value.disabled => out.push_str("HEALTHCHECK NONE\n"),
        Some(h) if h.value.test.is_some() => out.push_str("HEALTHCHECK CMD true\n"),
        _ => {}
    }
    out
}

/// The instructions one history entry records (none, one, or build arguments and a `RUN`).
fn instructions_of(created_by: &str) -> Vec<String> {
    let text = one_line(created_by);
    let text = text.trim();
    let text = text.strip_suffix("# buildkit").unwrap_or(text).trim_end();
    if text.is_empty() || text.starts_with("Imported from") {
        return Vec::new();
    }
    // classic builder: `/bin/sh -c #(nop) ENV A=b` is an instruction without a layer
    if let Some(rest) = strip_shell(text).and_then(|r| r.trim_start().strip_prefix("#(nop)")) {
        return keyword_instruction(rest.trim()).into_iter().collect();
    }
    // BuildKit's `RUN …`, or the classic builder's bare command line
    let run = text.strip_prefix("RUN ").map(str::trim_start);
    let command = match run {
        Some(cmd) => cmd,
        None if strip_shell(text).is_some() || text.starts_with('|') => text,
        None => return keyword_instruction(text).into_iter().collect(),
    };
    let (args, command) = build_args(command);
    let mut out: Vec<String> = args.into_iter().map(|a| format!("ARG {a}")).collect();
    let command = strip_shell(command).unwrap_or(command).trim();
    if !command.is_empty() {
        out.push(format!("RUN {command}"));
    }
    out
}

/// `/bin/sh -c REST` (or `/bin/bash -c`, any `… -c`): REST.
fn strip_shell(text: &str) -> Option<&str> {
    let (shell, rest) = text.split_once(" -c ")?;
    let shell_word = !shell.contains(char::is_whitespace) || shell.starts_with("/bin/sh -o");
    (shell.starts_with('/') && shell_word).then_some(rest)
}

/// `|2 A=1 B=x y /bin/sh -c …`: the build arguments a `RUN` saw, and the command after them.
/// Values have no quoting in the history; the count says how many there are.
fn build_args(text: &str) -> (Vec<String>, &str) {
    let Some(rest) = text.strip_prefix('|') else {
        return (Vec::new(), text);
    };
    let Some((count, mut rest)) = rest.split_once(' ') else {
        return (Vec::new(), text);
    };
    let Ok(count) = count.parse::<usize>() else {
        return (Vec::new(), text);
    };
    let mut args = Vec::with_capacity(count);
    for _ in 0..count {
        let end = rest.find(' ').unwrap_or(rest.len());
        let (arg, tail) = rest.split_at(end);
        if !arg.contains('=') {
            break;
        }
        args.push(arg.to_string());
        rest = tail.trim_start();
    }
    (args, rest)
}

/// An instruction recorded by keyword, in a form the Dockerfile rules read; the ones whose
/// history form is Go-printed (and which the configuration states better) are left out.
fn keyword_instruction(text: &str) -> Option<String> {
    let (keyword, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
    let rest = rest.trim();
    match keyword.to_ascii_uppercase().as_str() {
        "ENV" | "ARG" | "USER" | "WORKDIR" | "LABEL" | "ONBUILD" | "STOPSIGNAL" => {
            Some(format!("{} {rest}", keyword.to_ascii_uppercase()))
        }
        "COPY" | "ADD" => {
            // the classic builder records `ADD file:3f2a… in /`: a content hash, not a source
            let hashed = rest.starts_with("file:") || rest.starts_with("dir:");
            (!hashed).then(|| format!("{} {rest}", keyword.to_ascii_uppercase()))
        }
        "EXPOSE" => {
            // `map[8080/tcp:{} 9090/tcp:{}]` (BuildKit) or `8080/tcp` (classic)
            let ports: Vec<&str> = rest
                .trim_start_matches("map[")
                .trim_end_matches(']')
                .split_whitespace()
                .map(|p| p.trim_end_matches(":{}"))
                .filter(|p| !p.is_empty())
                .collect();
            (!ports.is_empty()).then(|| format!("EXPOSE {}", ports.join(" ")))
        }
        _ => None,
    }
}

/// `value` as a Dockerfile word: in double quotes when it has white space or quotes.
fn quote(value: &str) -> String {
    if value.is_empty()
        || value.contains(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '\\' | '$'))
    {
        format!(
            "\"{}\"",
            value
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('$', "\\$")
        )
    } else {
        value.to_string()
    }
}

/// `text` on one line (history entries may hold newlines of a heredoc or a continued line).
fn one_line(text: &str) -> String {
    text.replace("\\\n", " ").replace(['\n', '\r'], " ")
}

/// Audits an image with [`IMAGE_RULES`]: the findings point at `image:<reference>` and the
/// lines of [`history_dockerfile`], whose text is returned as the outcome's source.
/// `now` is the time of the audit (seconds since the Unix epoch), for the image's age.
pub fn audit_image(image: &ImageFacts, config: &Config, now: Option<i64>) -> FileOutcome {
    let name = image.location.path.clone();
    let mut text = String::new();
    // each line must parse on its own: an entry the parser rejects becomes a comment
    for line in history_dockerfile(image).lines() {
        if line.starts_with("FROM ")
            || moat_dockerfile::parse(&format!("FROM scratch\n{line}\n")).is_ok()
        {
            text.push_str(line);
        } else {
            text.push_str("# (history entry not read)");
        }
        text.push('\n');
    }
    let source = SourceFile::new(name.clone(), text);
    let Ok(dockerfile) = moat_dockerfile::parse(&source.text) else {
        return FileOutcome {
            sources: vec![source],
            ..FileOutcome::default()
        };
    };
    let history = DockerfileContext::new(&source, &dockerfile, config.settings());
    let facts = ImageContext {
        image,
        settings: config.settings(),
        now,
    };
    let mut emitter = Emitter::new(&source);
    run_rules(
        Subject::Image {
            image: &facts,
            history: &history,
        },
        config,
        &mut emitter,
    );
    let mut findings = with_severities(emitter.into_findings(), config);
    for f in &mut findings {
        f.location.object = Some(name.clone());
    }
    FileOutcome {
        findings,
        errors: Vec::new(),
        sources: vec![source],
    }
}

#[cfg(test)]
mod tests {
    use super::{build_args, instructions_of};

    #[test]
    fn history_entries_become_instructions() {
        let cases: &[(&str, &[&str])] = &[
            (
                "/bin/sh -c #(nop)  ENV PATH=/usr/bin",
                &["ENV PATH=/usr/bin"],
            ),
            ("/bin/sh -c #(nop) ADD file:3f2a in / ", &[]),
            ("/bin/sh -c #(nop)  CMD [\"nginx\"]", &[]),
            ("/bin/sh -c apt-get update", &["RUN apt-get update"]),
            (
                "|2 NPM_TOKEN=abc VERSION=1 /bin/sh -c npm ci",
                &["ARG NPM_TOKEN=abc", "ARG VERSION=1", "RUN npm ci"],
            ),
            (
                "RUN /bin/sh -c curl -fsSL https://x.example/i.sh | sh # buildkit",
                &["RUN curl -fsSL https://x.example/i.sh | sh"],
            ),
            (
                "RUN |1 TOKEN=s3cr3t /bin/sh -c make # buildkit",
                &["ARG TOKEN=s3cr3t", "RUN make"],
            ),
            ("ENV DB_PASSWORD=hunter2", &["ENV DB_PASSWORD=hunter2"]),
            ("USER app", &["USER app"]),
            (
                "EXPOSE map[22/tcp:{} 8080/tcp:{}]",
                &["EXPOSE 22/tcp 8080/tcp"],
            ),
            (
                "COPY id_rsa /root/.ssh/ # buildkit",
                &["COPY id_rsa /root/.ssh/"],
            ),
            (
                "HEALTHCHECK &{[\"CMD-SHELL\" \"true\"] \"30s\" \"0s\" \"0s\" \"0s\" '\\x00'}",
                &[],
            ),
            ("Imported from -", &[]),
            ("", &[]),
        ];
        for (entry, want) in cases {
            assert_eq!(instructions_of(entry), *want, "{entry}");
        }
    }

    #[test]
    fn build_args_stop_at_the_command() {
        assert_eq!(
            build_args("|1 A=1 /bin/sh -c x"),
            (vec!["A=1".to_string()], "/bin/sh -c x")
        );
        assert_eq!(build_args("|x y"), (Vec::new(), "|x y"));
        assert_eq!(build_args("make"), (Vec::new(), "make"));
    }
}

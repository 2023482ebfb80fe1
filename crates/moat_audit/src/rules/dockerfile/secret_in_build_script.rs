use moat_dockerfile::{Arguments, Kind, Span, Text};

use crate::context::{DockerfileContext, Emitter};
use crate::rule::declare_rule;
use crate::secrets::{self, ValueKind, Verdict};

declare_rule! {
    /// ## What it does
    /// Reports a secret written into the text of a `RUN` (shell or JSON form) or into a heredoc
    /// body of `RUN`, `COPY` or `ADD`, recognised by its shape: a URL with a password
    /// (`https://user:pass@host`), an AWS access key id, a GitHub, Slack or Stripe token, a Google
    /// API key, or a private-key block (`-----BEGIN … PRIVATE KEY-----`). References such as
    /// `$TOKEN` are not secrets and are not reported; unlike `ENV` values, high entropy alone is
    /// not enough here (build scripts are full of checksums and hashes). Neither are public
    /// keys and certificates (`ssh-ed25519 AAAA…`, `-----BEGIN PUBLIC KEY-----`) nor
    /// placeholders: a URL whose password is `changeme` or `password` or whose host is a
    /// documentation domain (`example.com`), a token filled with `x` or counting up
    /// (`ghp_xxxx…`, `0123456789abcdef…`), an issuer's example key (`AKIAIOSFODNN7EXAMPLE`).
    ///
    /// ## Why is this bad?
    /// The text of every `RUN` is stored in the image history (`docker history --no-trunc`), and
    /// a heredoc copied with `COPY` is a file in a layer. Anyone who can pull the image reads the
    /// secret, and it also sits in the repository next to the Dockerfile.
    ///
    /// ## Example
    /// ```dockerfile
    /// FROM alpine:3.20
    /// RUN curl -fsSL -H "Authorization: token ghp_R8fTq2LmZ0vX5nK7wP4sY1bH9cJ3dA6eG0iU" \
    ///     https://api.github.com/repos/acme/app/tarball -o app.tgz
    /// COPY <<EOF /root/.ssh/id_ed25519
    /// -----BEGIN OPENSSH PRIVATE KEY-----
    /// …
    /// EOF
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// # syntax=docker/dockerfile:1
    /// FROM alpine:3.20
    /// RUN --mount=type=secret,id=gh_token,env=GH_TOKEN \
    ///     curl -fsSL -H "Authorization: token $GH_TOKEN" \
    ///     https://api.github.com/repos/acme/app/tarball -o app.tgz
    /// RUN --mount=type=ssh git clone git@github.com:acme/private.git
    /// ```
    ///
    /// ## Fix
    /// Remove the secret from the Dockerfile, rotate it (it is in the repository history), and
    /// pass it with a BuildKit secret mount (`RUN --mount=type=secret`) or SSH forwarding
    /// (`RUN --mount=type=ssh`). Evidence in the report is redacted.
    ///
    /// ## References
    /// - CIS Docker Benchmark 4.10 (do not store secrets in Dockerfiles).
    /// - hadolint has no corresponding rule.
    pub struct SecretInBuildScript {
        code: "D012",
        name: "secret-in-build-script",
        summary: "RUN or heredoc contains a secret",
        severity: High,
        confidence: High,
        default_enabled: true,
        references: ["CIS-DOCKER-4.10"],
        check: Dockerfile,
    }
}

pub(crate) fn check(ctx: &DockerfileContext<'_>, out: &mut Emitter<'_>) {
    for (_, instr) in ctx.instructions() {
        if !matches!(instr.kind, Kind::Run | Kind::Copy | Kind::Add) {
            continue;
        }
        let keyword = instr.kind.as_str();
        if instr.kind == Kind::Run {
            match &instr.args {
                Arguments::Shell(text) => scan(out, text, keyword),
                Arguments::Exec(words) => {
                    for w in words {
                        if let Verdict::Secret(Some(kind)) = secrets::judge_value(&w.value) {
                            report(out, w.span, keyword, kind, &w.value);
                        }
                    }
                }
            }
        }
        for heredoc in &instr.heredocs {
            scan(out, &heredoc.body, &format!("heredoc of {keyword}"));
        }
    }
}

fn report(out: &mut Emitter<'_>, span: Span, place: &str, kind: ValueKind, value: &str) {
    let finding = out.emit(
        &SecretInBuildScript::INFO,
        span,
        format!(
            "{place} contains {}; it is stored in the image",
            kind.describe()
        ),
    );
    finding.evidence = Some(secrets::redact(value));
    finding.secret = Some(span);
}

/// Reports private-key blocks and secret-shaped tokens of `text`.
fn scan(out: &mut Emitter<'_>, text: &Text, place: &str) {
    let s = text.value.as_str();
    for (start, end) in private_key_headers(s) {
        let header = s.get(start..end).unwrap_or_default();
        report(
            out,
            text.span(start, end),
            place,
            ValueKind::PrivateKey,
            header,
        );
    }
    for (start, end) in tokens(s) {
        let token = s.get(start..end).unwrap_or_default();
        match secrets::judge_value(token) {
            Verdict::Secret(Some(kind)) if kind != ValueKind::PrivateKey => {
                report(out, text.span(start, end), place, kind, token);
            }
            _ => {}
        }
    }
}

/// Ranges of `-----BEGIN … PRIVATE KEY-----` headers.
fn private_key_headers(s: &str) -> Vec<(usize, usize)> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(pos) = s.get(from..).and_then(|r| r.find("-----BEGIN ")) {
        let start = from + pos;
        let line_end = s
            .get(start..)
            .and_then(|r| r.find('\n'))
            .map_or(s.len(), |e| start + e);
        let line = s.get(start..line_end).unwrap_or_default();
        if let Some(k) = line.find("PRIVATE KEY-----") {
            found.push((start, start + k + "PRIVATE KEY-----".len()));
        }
        from = line_end;
    }
    found
}

/// Byte ranges of the tokens of `s`: runs of characters other than whitespace, quotes and
/// backticks.
fn tokens(s: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in s.char_indices() {
        let sep = c.is_whitespace() || matches!(c, '"' | '\'' | '`');
        match (sep, start) {
            (true, Some(st)) => {
                out.push((st, i));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(st) = start {
        out.push((st, s.len()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{private_key_headers, tokens};

    #[test]
    fn splits_tokens_on_quotes_and_space() {
        let s = r#"curl -H "Authorization: token abc" 'x'"#;
        let got: Vec<&str> = tokens(s).into_iter().map(|(a, b)| &s[a..b]).collect();
        assert_eq!(got, ["curl", "-H", "Authorization:", "token", "abc", "x"]);
    }

    #[test]
    fn finds_private_key_headers_only() {
        let s = "-----BEGIN CERTIFICATE-----\nx\n-----BEGIN EC PRIVATE KEY-----\ny\n";
        let got: Vec<&str> = private_key_headers(s)
            .into_iter()
            .map(|(a, b)| &s[a..b])
            .collect();
        assert_eq!(got, ["-----BEGIN EC PRIVATE KEY-----"]);
    }
}

//! Property tests: the parser never panics, every span it returns is a valid range of the source
//! on character boundaries, `Text` pieces really are source text, and word spans are exact.

use moat_dockerfile::{Arguments, Dockerfile, Instruction, Span, Text, expand, parse, shell};
use proptest::prelude::*;

/// Valid files covering every feature, to mutate.
const SEEDS: [&str; 6] = [
    "# syntax=docker/dockerfile:1\nARG TAG=3.20\nFROM --platform=$BUILDPLATFORM alpine:${TAG} AS build\nRUN --mount=type=cache,target=/var/cache apk add \\\n    # comment\n    curl && rm -rf /x\nCOPY --from=build \"a b\" /c/\n",
    "FROM debian\nRUN <<EOF bash -e\napt-get update\ncat <<-X > /f\n\tbody\n\tX\nEOF\nCOPY <<A <<'B' /dest/\na\nA\nb\nB\nCMD [\"sh\", \"-c\", \"nginx && tail -f /x\"]\n",
    "# escape=`\nFROM mcr.microsoft.com/windows\nRUN dir C:\\ `\n  && echo hi\nENV PATH C:\\bin;$PATH\n",
    "FROM node:20\nENV A=1 B=\"x y\" C='z'\nLABEL \"k\"=\"v\" other=1\nONBUILD RUN echo $A\nHEALTHCHECK --interval=5s CMD curl -f http://localhost/ || exit 1\nUSER app:app\nEXPOSE 80/tcp\n",
    "FROM a\r\nRUN if [ -f x ]; then \\\r\n  bash -c \"echo 'é' | tee /y\"; fi\r\nENTRYPOINT [\"/bin/app\", \"--flag=\\u00e9\"]\r\n",
    "\u{feff}FROM scratch\nADD --chown=1:1 https://x/y.tar.gz /\nVOLUME [\"/data\"]\nWORKDIR /app\nSHELL [\"/bin/bash\", \"-o\", \"pipefail\", \"-c\"]\nRUN set -e; for f in *; do gzip \"$f\"; done\n",
];

/// Characters that matter to the parser, for mutations and generated text.
const SPECIAL: &[char] = &[
    '\\', '`', '\n', '\r', '\t', ' ', '"', '\'', '<', '-', '$', '{', '}', '(', ')', '[', ']', '#',
    '=', ':', '|', '&', ';', ',', 'E', 'O', 'F', 'R', 'U', 'N', 'é', '😀', '\u{feff}', '\0',
];

fn special_char() -> impl Strategy<Value = char> {
    prop_oneof![
        3 => proptest::sample::select(SPECIAL),
        1 => any::<char>(),
    ]
}

/// Strings made mostly of the characters that matter, plus Dockerfile keywords.
fn dockerfile_like() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        special_char().prop_map(String::from),
        proptest::sample::select(vec![
            "FROM ",
            "RUN ",
            "COPY ",
            "ONBUILD ",
            "ARG ",
            "ENV ",
            "HEALTHCHECK CMD ",
            "<<EOF",
            "<<-EOF",
            "\nEOF\n",
            "--flag=",
            "${A:-",
            "[\"a\", \"b\"]",
            "# escape=`\n",
            " \\\n",
            "sh -c ",
            "$(",
            "`",
            " AS x",
            "\r\n",
        ])
        .prop_map(String::from),
    ];
    proptest::collection::vec(piece, 0..60).prop_map(|v| v.concat())
}

/// A mutation: at a relative position, delete, insert or replace a character.
fn mutate(src: &str, edits: &[(usize, u8, char)]) -> String {
    let mut s: Vec<char> = src.chars().collect();
    for &(pos, op, c) in edits {
        let i = if s.is_empty() { 0 } else { pos % (s.len() + 1) };
        match op % 3 {
            0 if i < s.len() => {
                s.remove(i);
            }
            1 if i < s.len() => s[i] = c,
            _ => s.insert(i, c),
        }
    }
    s.into_iter().collect()
}

/// Asserts that `span` is a valid range of `src` on character boundaries.
fn check_span(src: &str, span: Span, what: &str) {
    assert!(
        span.start <= span.end && span.end <= src.len(),
        "{what}: {span:?} out of {}",
        src.len()
    );
    assert!(
        src.is_char_boundary(span.start) && src.is_char_boundary(span.end),
        "{what}: {span:?} not on char boundaries"
    );
}

/// Asserts that each piece of `text` is the source text it claims to be, and that spans of its
/// sub-ranges are valid.
fn check_text(src: &str, text: &Text, what: &str) {
    let mut covered = 0;
    for &(t, s, len) in &text.pieces {
        assert_eq!(t, covered, "{what}: pieces not contiguous");
        assert_eq!(
            text.value.get(t..t + len),
            src.get(s..s + len),
            "{what}: piece {t},{s},{len}"
        );
        covered += len;
    }
    assert_eq!(
        covered,
        text.value.len(),
        "{what}: pieces do not cover the text"
    );
    let bounds: Vec<usize> = (0..=text.value.len())
        .filter(|&i| text.value.is_char_boundary(i))
        .collect();
    for w in bounds.windows(2) {
        check_span(src, text.span(w[0], w[1]), what);
    }
    check_span(src, text.full_span(), what);
}

fn check_commands(src: &str, cmds: &[shell::Command]) {
    for c in cmds {
        check_span(src, c.span, "command");
        for w in c.argv.iter().chain(&c.assignments) {
            check_span(src, w.span, "command word");
        }
    }
}

fn check_instruction(src: &str, ins: &Instruction) {
    check_span(src, ins.keyword, "keyword");
    check_span(src, ins.span, "instruction");
    for f in &ins.flags {
        check_span(src, f.span, "flag");
        check_span(src, f.name.span, "flag name");
        if let Some(v) = &f.value {
            check_span(src, v.span, "flag value");
        }
    }
    match &ins.args {
        Arguments::Exec(words) => words.iter().for_each(|w| check_span(src, w.span, "exec")),
        Arguments::Shell(text) => check_text(src, text, "shell text"),
    }
    for h in &ins.heredocs {
        check_span(src, h.span, "heredoc");
        check_text(src, &h.body, "heredoc body");
    }
    for w in ins.words() {
        check_span(src, w.span, "word");
    }
    for (k, v) in ins.key_values() {
        check_span(src, k.span, "key");
        if let Some(v) = v {
            check_span(src, v.span, "value");
        }
    }
    check_commands(src, &ins.run_commands());
    if let Some(trigger) = &ins.onbuild {
        check_instruction(src, trigger);
    }
}

/// Parses `src`, and `src` after a `FROM` line (so that text without a stage still reaches
/// every accessor), and checks every span of the results (or of the errors).
fn check_all(src: &str) {
    for src in [src.to_owned(), format!("FROM alpine\n{src}")] {
        match parse(&src) {
            Ok(df) => check_file(&src, &df),
            Err(e) => check_span(&src, e.span, "error"),
        }
    }
}

fn check_file(src: &str, df: &Dockerfile) {
    for ins in &df.instructions {
        check_instruction(src, ins);
    }
    for c in &df.comments {
        check_span(src, c.span, "comment");
    }
    for d in &df.directives {
        check_span(src, d.value.span, "directive");
    }
    for s in &df.stages {
        check_span(src, s.image.span, "image");
        for w in s.name.iter().chain(&s.platform) {
            check_span(src, w.span, "stage word");
        }
        assert!(!df.instructions_of(s).is_empty());
    }
}

/// A raw word that reads back as itself: plain, or quoted.
fn raw_word() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9/._:][a-zA-Z0-9/._:=-]{0,8}",
        "\"[a-z é]{0,6}\"",
        "'[a-z $]{0,6}'",
    ]
}

/// A separator between words: spaces or a continuation (with a comment or blank line inside).
fn separator() -> impl Strategy<Value = &'static str> {
    proptest::sample::select(vec![
        " ",
        "  \t",
        " \\\n  ",
        " \\\n# note\n  ",
        " \\\n\n  ",
        " \\\r\n ",
    ])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn parse_never_panics_on_arbitrary_strings(src in any::<String>()) {
        check_all(&src);
    }

    #[test]
    fn parse_never_panics_on_dockerfile_like_strings(src in dockerfile_like()) {
        check_all(&src);
    }

    #[test]
    fn parse_never_panics_on_mutated_files(
        seed in 0..SEEDS.len(),
        edits in proptest::collection::vec((any::<usize>(), any::<u8>(), special_char()), 1..8),
    ) {
        check_all(&mutate(SEEDS[seed], &edits));
    }

    #[test]
    fn word_spans_read_back_the_raw_words(
        keyword in proptest::sample::select(vec!["COPY", "ADD", "EXPOSE", "USER", "WORKDIR", "VOLUME", "STOPSIGNAL", "RUN"]),
        words in proptest::collection::vec((raw_word(), separator()), 1..6),
    ) {
        let mut src = format!("FROM alpine\n{keyword}");
        for (w, sep) in &words {
            src.push_str(sep);
            src.push_str(w);
        }
        src.push('\n');
        let df = parse(&src).unwrap();
        let got: Vec<&str> = df.instructions[1].words().iter().map(|w| &src[w.span.range()]).collect();
        let want: Vec<&str> = words.iter().map(|(w, _)| w.as_str()).collect();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn split_spans_stay_in_the_script(s in dockerfile_like(), base in 0usize..4) {
        let src = format!("{}{s}", "x".repeat(base));
        check_commands(&src, &shell::split_str(&s, base));
    }

    #[test]
    fn expand_never_panics(
        s in proptest::collection::vec(
            proptest::sample::select(vec!["$", "{", "}", ":", "-", "+", "?", "A", "B", "_", "\\", "$$", "${", "é", "1", " "]),
            0..40,
        ),
    ) {
        let s = s.concat();
        let _ = expand::expand(&s, &|name| (name == "A").then(|| "va".to_owned()));
    }
}

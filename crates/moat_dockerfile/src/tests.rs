//! Parser tests: exact values and spans for each feature.

use crate::parser::parse_syntax;
use crate::shell::Op;
use crate::{Arguments, Dockerfile, Instruction, Kind, Span, Text, parse};

/// Parses a fragment whose syntax must be valid (it needs no FROM: most tests are about one
/// instruction; `stages::no_stage_is_an_error` checks what `parse` adds).
fn ok(src: &str) -> Dockerfile {
    parse_syntax(src).unwrap_or_else(|e| panic!("{e} at {:?}", e.span))
}

/// The parse error of a file that must be invalid: message and the source text it points at.
fn err(src: &str) -> (String, &str) {
    let e = parse(src).expect_err("should not parse");
    (e.message, &src[e.span.range()])
}

/// The source text of `span`.
fn at(src: &str, span: Span) -> &str {
    &src[span.range()]
}

/// The shell text of an instruction.
fn shell(ins: &Instruction) -> &Text {
    match &ins.args {
        Arguments::Shell(t) => t,
        Arguments::Exec(w) => panic!("exec form: {w:?}"),
    }
}

/// Values and raw source of the words of an instruction.
fn words<'a>(src: &'a str, ins: &Instruction) -> Vec<(String, &'a str)> {
    ins.words()
        .into_iter()
        .map(|w| (w.value, at(src, w.span)))
        .collect()
}

/// argv values of each run command.
fn argvs(ins: &Instruction) -> Vec<Vec<String>> {
    ins.run_commands()
        .into_iter()
        .map(|c| c.argv.into_iter().map(|w| w.value).collect())
        .collect()
}

mod files {
    use super::*;

    #[test]
    fn empty_and_comment_only_files_have_no_instructions() {
        for src in ["", "\n\n", "   \n\t\n", "# just a comment\n\n  # another\n"] {
            let df = ok(src);
            assert!(
                df.instructions.is_empty() && df.stages.is_empty(),
                "{src:?}"
            );
        }
        let df = ok("# just a comment\n\n  # another  \n");
        let comments: Vec<_> = df.comments.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(comments, ["just a comment", "another"]);
        assert_eq!(df.comments[1].span, Span::new(20, 29));
    }

    #[test]
    fn byte_order_mark_is_skipped_but_offsets_stay_in_the_source() {
        let src = "\u{feff}FROM alpine\n";
        let df = ok(src);
        assert_eq!(df.instructions[0].keyword, Span::new(3, 7));
        assert_eq!(at(src, df.stages[0].image.span), "alpine");
    }

    #[test]
    fn crlf_line_endings() {
        let src = "FROM alpine\r\nRUN a \\\r\n  && b\r\n# c\r\n";
        let df = ok(src);
        let run = &df.instructions[1];
        assert_eq!(shell(run).value, "a   && b");
        assert_eq!(at(src, run.span), "RUN a \\\r\n  && b");
        assert_eq!(df.comments[0].text, "c");
        assert_eq!(at(src, df.comments[0].span), "# c");
    }

    #[test]
    fn unknown_instruction_is_an_error_at_the_keyword() {
        assert_eq!(
            err("FROM a\nFOO bar\n"),
            ("unknown instruction `FOO`".into(), "FOO")
        );
        assert_eq!(err("  && apt-get x").1, "&&");
    }

    #[test]
    fn keywords_are_case_insensitive() {
        let df = ok("from alpine\nRun echo\ncoPY a b\n");
        let kinds: Vec<_> = df.instructions.iter().map(|i| i.kind).collect();
        assert_eq!(kinds, [Kind::From, Kind::Run, Kind::Copy]);
    }

    #[test]
    fn instruction_spans_cover_keyword_to_last_line() {
        let src = "RUN a \\\n  b   \nCMD x\n";
        let df = ok(src);
        assert_eq!(at(src, df.instructions[0].span), "RUN a \\\n  b");
        assert_eq!(at(src, df.instructions[0].keyword), "RUN");
        assert_eq!(at(src, df.instructions[1].span), "CMD x");
    }
}

mod directives {
    use super::*;

    #[test]
    fn reads_directives_case_insensitively() {
        let src = "# syntax=docker/dockerfile:1.7\n#ESCAPE = `\n# check=skip=all\nFROM x\n";
        let df = ok(src);
        let names: Vec<_> = df.directives.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["syntax", "escape", "check"]);
        assert_eq!(df.directives[0].value.value, "docker/dockerfile:1.7");
        assert_eq!(at(src, df.directives[1].value.span), "`");
        assert_eq!(df.directives[2].value.value, "skip=all");
        assert_eq!(df.escape, '`');
        assert!(df.comments.is_empty());
    }

    #[test]
    fn directives_end_at_the_first_other_line() {
        for src in [
            "# comment\n# escape=`\nFROM x\n",
            "\n# escape=`\nFROM x\n",
            "FROM x\n# escape=`\n",
            "# unknown=1\n# escape=`\nFROM x\n",
        ] {
            let df = ok(src);
            assert!(df.directives.is_empty(), "{src:?}");
            assert_eq!(df.escape, '\\');
            assert!(df.comments.iter().any(|c| c.text == "escape=`"));
        }
    }

    #[test]
    fn invalid_or_repeated_directives_are_errors() {
        assert_eq!(
            err("# escape=x\nFROM a\n"),
            ("invalid escape token `x`: must be ` or \\".into(), "x")
        );
        assert_eq!(
            err("# syntax=a\n# SYNTAX=b\n"),
            ("only one `syntax` parser directive can be used".into(), "b")
        );
    }

    #[test]
    fn backtick_escape_for_windows_files() {
        let src = "# escape=`\nFROM mcr.microsoft.com/windows\nCOPY C:\\src\\app `\n  C:\\app\\\nRUN dir c:\\\n";
        let df = ok(src);
        let copy = &df.instructions[1];
        assert_eq!(
            words(src, copy),
            [
                ("C:\\src\\app".into(), "C:\\src\\app"),
                ("C:\\app\\".into(), "C:\\app\\")
            ]
        );
        assert_eq!(copy.escape, '`');
        assert_eq!(shell(&df.instructions[2]).value, "dir c:\\");
    }
}

mod continuations {
    use super::*;

    #[test]
    fn joins_lines_and_maps_back_to_the_source() {
        let src = "RUN apt-get update \\\n    && apt-get install -y curl\n";
        let df = ok(src);
        let text = shell(&df.instructions[0]);
        assert_eq!(text.value, "apt-get update     && apt-get install -y curl");
        let curl = text.value.find("curl").unwrap();
        assert_eq!(at(src, text.span(curl, curl + 4)), "curl");
        let update = text.value.find("update").unwrap();
        assert_eq!(
            at(src, text.span(update, curl + 4)),
            &src[src.find("update").unwrap()..src.len() - 1]
        );
        assert_eq!(at(src, text.full_span()), &src[4..src.len() - 1]);
    }

    #[test]
    fn comments_and_blank_lines_inside_are_skipped_and_recorded() {
        let src = "RUN a \\\n# note\n\n   \n  # indented \\\n  b\nRUN c\n";
        let df = ok(src);
        assert_eq!(shell(&df.instructions[0]).value, "a   b");
        assert_eq!(df.instructions.len(), 2);
        let comments: Vec<_> = df.comments.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(comments, ["note", "indented \\"]);
        assert_eq!(at(src, df.comments[1].span), "# indented \\");
    }

    #[test]
    fn trailing_whitespace_after_the_escape_is_allowed() {
        let df = ok("RUN a \\  \t\n  b\n");
        assert_eq!(shell(&df.instructions[0]).value, "a   b");
    }

    #[test]
    fn continuation_at_end_of_file() {
        let src = "RUN a \\\n";
        let df = ok(src);
        assert_eq!(shell(&df.instructions[0]).value, "a");
        assert_eq!(at(src, df.instructions[0].span), "RUN a \\");
        let src = "RUN a \\\n# trailing comment";
        assert_eq!(ok(src).instructions.len(), 1);
    }

    #[test]
    fn a_lone_escape_line_is_nothing() {
        assert!(ok("\\\n").instructions.is_empty());
        assert_eq!(ok("\\\n\\\nFROM a\n").instructions.len(), 1);
    }

    #[test]
    fn a_trailing_backslash_continues_even_in_a_windows_path() {
        // As in Docker: without `# escape=`` a trailing backslash continues the line.
        let df = ok("RUN dir c:\\\nCMD x\n");
        assert_eq!(df.instructions.len(), 1);
        assert_eq!(shell(&df.instructions[0]).value, "dir c:CMD x");
    }

    #[test]
    fn empty_arguments_are_anchored_after_the_keyword() {
        let df = ok("FROM a\nRUN\n");
        assert_eq!(shell(&df.instructions[1]).value, "");
        assert_eq!(shell(&df.instructions[1]).full_span(), Span::new(10, 10));
    }
}

mod flags {
    use super::*;

    #[test]
    fn any_flag_with_or_without_value() {
        let src =
            "RUN --mount=type=cache,target=/root/.cache --network=none --LINK -- --not-a-flag x\n";
        let df = ok(src);
        let run = &df.instructions[0];
        let flags: Vec<_> = run
            .flags
            .iter()
            .map(|f| {
                (
                    f.name.value.as_str(),
                    f.value.as_ref().map(|v| v.value.as_str()),
                )
            })
            .collect();
        assert_eq!(
            flags,
            [
                ("mount", Some("type=cache,target=/root/.cache")),
                ("network", Some("none")),
                ("LINK", None)
            ]
        );
        assert_eq!(shell(run).value, "--not-a-flag x");
        let mount = run.flag("MOUNT").unwrap();
        assert_eq!(
            at(src, mount.span),
            "--mount=type=cache,target=/root/.cache"
        );
        assert_eq!(at(src, mount.name.span), "mount");
        assert_eq!(
            at(src, mount.value.as_ref().unwrap().span),
            "type=cache,target=/root/.cache"
        );
        assert!(run.flag("chown").is_none());
    }

    #[test]
    fn quoted_flag_values() {
        let src = "COPY --chown=\"app user\" --from='build' a b\n";
        let df = ok(src);
        let copy = &df.instructions[0];
        let chown = copy.flag("chown").unwrap().value.as_ref().unwrap();
        assert_eq!(chown.value, "app user");
        assert_eq!(at(src, chown.span), "\"app user\"");
        assert_eq!(
            copy.flag("from").unwrap().value.as_ref().unwrap().value,
            "build"
        );
        assert_eq!(words(src, copy), [("a".into(), "a"), ("b".into(), "b")]);
    }

    #[test]
    fn flags_across_continuations() {
        let src = "COPY \\\n  --from=builder \\\n  /app /app\n";
        let df = ok(src);
        let from = df.instructions[0].flag("from").unwrap();
        assert_eq!(at(src, from.span), "--from=builder");
    }
}

mod exec_form {
    use super::*;

    #[test]
    fn json_arrays_are_exec_form_with_element_spans() {
        let src = "CMD [\"nginx\", \"-g\", \"daemon off;\"]\n";
        let df = ok(src);
        let Arguments::Exec(words) = &df.instructions[0].args else {
            panic!("not exec")
        };
        let got: Vec<_> = words
            .iter()
            .map(|w| (w.value.as_str(), at(src, w.span)))
            .collect();
        assert_eq!(
            got,
            [
                ("nginx", "\"nginx\""),
                ("-g", "\"-g\""),
                ("daemon off;", "\"daemon off;\"")
            ]
        );
    }

    #[test]
    fn every_exec_capable_instruction() {
        for kw in ["RUN", "CMD", "ENTRYPOINT", "SHELL", "COPY", "ADD", "VOLUME"] {
            let df = ok(&format!("{kw} [\"a\", \"b\"]\n"));
            assert!(
                matches!(df.instructions[0].args, Arguments::Exec(_)),
                "{kw}"
            );
        }
        let df = ok("RUN --network=none [\"a\"]\n");
        assert!(matches!(df.instructions[0].args, Arguments::Exec(_)));
    }

    #[test]
    fn invalid_json_is_shell_form() {
        for args in [
            "[a, b]",
            "['a']",
            "[\"a\",]",
            "[\"a\" \"b\"]",
            "[1]",
            "[\"a\"] && b",
        ] {
            let df = ok(&format!("CMD {args}\n"));
            assert_eq!(shell(&df.instructions[0]).value, args);
        }
    }

    #[test]
    fn instructions_without_exec_form_keep_brackets_as_text() {
        let df = ok("WORKDIR [\"/app\"]\nLABEL [\"x\"]\n");
        assert!(matches!(df.instructions[0].args, Arguments::Shell(_)));
        assert!(matches!(df.instructions[1].args, Arguments::Shell(_)));
    }

    #[test]
    fn json_across_continuations() {
        let src = "ENTRYPOINT [\"a\", \\\n  \"b\"]\n";
        let df = ok(src);
        let Arguments::Exec(words) = &df.instructions[0].args else {
            panic!("not exec")
        };
        assert_eq!(at(src, words[1].span), "\"b\"");
    }

    #[test]
    fn healthcheck_cmd_forms() {
        let src = "HEALTHCHECK --interval=5s CMD [\"curl\", \"-f\", \"http://x/\"]\nHEALTHCHECK CMD curl -f x || exit 1\nHEALTHCHECK NONE\n";
        let df = ok(src);
        let Arguments::Exec(words) = &df.instructions[0].args else {
            panic!("not exec")
        };
        assert_eq!(words[0].value, "curl");
        assert_eq!(
            df.instructions[0]
                .flag("interval")
                .unwrap()
                .value
                .as_ref()
                .unwrap()
                .value,
            "5s"
        );
        assert_eq!(shell(&df.instructions[1]).value, "CMD curl -f x || exit 1");
        assert_eq!(argvs(&df.instructions[0]), [["curl", "-f", "http://x/"]]);
        assert_eq!(
            argvs(&df.instructions[1]),
            [vec!["curl", "-f", "x"], vec!["exit", "1"]]
        );
        assert!(df.instructions[2].run_commands().is_empty());
    }
}

mod heredocs {
    use super::*;

    #[test]
    fn one_heredoc_with_exact_body_pieces() {
        let src = "FROM a\nRUN <<EOF\napt-get update\necho done\nEOF\nCMD x\n";
        let df = ok(src);
        let run = &df.instructions[1];
        assert_eq!(shell(run).value, "<<EOF");
        let doc = &run.heredocs[0];
        assert_eq!(doc.delimiter, "EOF");
        assert!(!doc.quoted && !doc.strip_tabs);
        assert_eq!(doc.body.value, "apt-get update\necho done\n");
        assert_eq!(at(src, doc.body.full_span()), "apt-get update\necho done\n");
        assert_eq!(at(src, doc.span), "<<EOF\napt-get update\necho done\nEOF");
        assert_eq!(
            at(src, run.span),
            "RUN <<EOF\napt-get update\necho done\nEOF"
        );
        assert_eq!(df.instructions[2].kind, Kind::Cmd);
    }

    #[test]
    fn several_heredocs_in_order() {
        let src = "RUN <<A <<\"B\" cat\na1\nA\nb1\nB\nRUN x\n";
        let df = ok(src);
        let run = &df.instructions[0];
        let docs: Vec<_> = run
            .heredocs
            .iter()
            .map(|d| (d.delimiter.as_str(), d.quoted, d.body.value.as_str()))
            .collect();
        assert_eq!(docs, [("A", false, "a1\n"), ("B", true, "b1\n")]);
        assert_eq!(shell(run).value, "<<A <<\"B\" cat");
        assert_eq!(df.instructions.len(), 2);
    }

    #[test]
    fn dash_strips_leading_tabs() {
        let src = "RUN <<-EOF\n\techo a\n\t\techo b\n\tEOF\n";
        let df = ok(src);
        let doc = &df.instructions[0].heredocs[0];
        assert!(doc.strip_tabs);
        assert_eq!(doc.body.value, "echo a\necho b\n");
        let b = doc.body.value.find('b').unwrap();
        assert_eq!(at(src, doc.body.span(b - 5, b + 1)), "echo b");
        assert_eq!(at(src, doc.span), "<<-EOF\n\techo a\n\t\techo b\n\tEOF");
    }

    #[test]
    fn single_quoted_delimiter() {
        let df = ok("RUN <<'EOF'\necho $HOME\nEOF\n");
        let doc = &df.instructions[0].heredocs[0];
        assert!(doc.quoted);
        assert_eq!(doc.body.value, "echo $HOME\n");
    }

    #[test]
    fn the_line_continues_after_the_marker() {
        let src = "RUN <<EOF python3\nprint(1)\nEOF\nCOPY --chmod=755 <<EOF /usr/local/bin/run\n#!/bin/sh\nexec app\nEOF\n";
        let df = ok(src);
        assert_eq!(shell(&df.instructions[0]).value, "<<EOF python3");
        let copy = &df.instructions[1];
        assert_eq!(
            words(src, copy)[1],
            ("/usr/local/bin/run".into(), "/usr/local/bin/run")
        );
        assert_eq!(copy.heredocs[0].body.value, "#!/bin/sh\nexec app\n");
        assert!(df.comments.is_empty(), "a body line is not a comment");
    }

    #[test]
    fn crlf_heredoc() {
        let src = "RUN <<EOF\r\necho a\r\nEOF\r\nCMD b\r\n";
        let df = ok(src);
        let doc = &df.instructions[0].heredocs[0];
        assert_eq!(doc.body.value, "echo a\n");
        assert_eq!(df.instructions.len(), 2);
    }

    #[test]
    fn empty_body() {
        let df = ok("RUN <<EOF\nEOF\n");
        assert_eq!(df.instructions[0].heredocs[0].body.value, "");
    }

    #[test]
    fn unterminated_heredoc_is_an_error_at_the_marker() {
        assert_eq!(
            err("FROM a\nRUN cat <<EOF >/x\nhello\n"),
            ("unterminated heredoc `EOF`".into(), "<<EOF")
        );
        assert_eq!(err("RUN <<A <<B\nA\nbody\n").1, "<<B");
    }

    #[test]
    fn not_heredocs() {
        for line in [
            "RUN cat <<< \"x\"",
            "RUN echo $((2<<1))",
            "RUN echo \"<<EOF\"",
            "RUN echo '<<EOF'",
            "RUN echo 2<<1",
            "CMD cat <<EOF",
            "RUN [\"cat\", \"<<EOF\"]",
        ] {
            let df = ok(&format!("{line}\nEOF2 x\n").replace("EOF2 x", "CMD y"));
            assert!(df.instructions[0].heredocs.is_empty(), "{line}");
            assert_eq!(df.instructions.len(), 2, "{line}");
        }
    }

    #[test]
    fn heredoc_in_a_continued_line() {
        let src = "RUN cat <<EOF \\\n  > /etc/x\nline\nEOF\n";
        let df = ok(src);
        assert_eq!(shell(&df.instructions[0]).value, "cat <<EOF   > /etc/x");
        assert_eq!(df.instructions[0].heredocs[0].body.value, "line\n");
    }
}

mod onbuild {
    use super::*;

    #[test]
    fn wraps_an_instruction() {
        let src = "FROM a\nONBUILD RUN --network=none make\n";
        let df = ok(src);
        let ob = &df.instructions[1];
        assert_eq!(shell(ob).value, "RUN --network=none make");
        let trigger = ob.onbuild.as_deref().unwrap();
        assert_eq!(trigger.kind, Kind::Run);
        assert_eq!(at(src, trigger.keyword), "RUN");
        assert_eq!(at(src, trigger.span), "RUN --network=none make");
        assert!(trigger.flag("network").is_some());
        assert_eq!(trigger.stage, Some(0));
        assert_eq!(argvs(ob), [["make"]]);
    }

    #[test]
    fn trigger_with_heredoc() {
        let src = "ONBUILD RUN <<EOF\necho hi\nEOF\n";
        let df = ok(src);
        let ob = &df.instructions[0];
        assert_eq!(at(src, ob.span), src.trim_end());
        assert_eq!(ob.onbuild.as_deref().unwrap().heredocs.len(), 1);
        assert_eq!(argvs(ob), [["echo", "hi"]]);
    }

    #[test]
    fn forbidden_triggers() {
        assert_eq!(err("ONBUILD\n").1, "ONBUILD");
        assert_eq!(err("ONBUILD onbuild RUN x\n").1, "onbuild");
        assert_eq!(err("ONBUILD FROM x\n").1, "FROM");
        assert_eq!(err("ONBUILD BOGUS x\n").0, "unknown instruction `BOGUS`");
    }
}

mod stages {
    use super::*;

    #[test]
    fn stages_names_and_ranges() {
        let src = "ARG BASE=golang\nFROM --platform=$BUILDPLATFORM ${BASE}:1.22 As Build\nRUN make\nfrom alpine\nCOPY --from=build /a /a\n";
        let df = ok(src);
        assert_eq!(df.stages.len(), 2);
        let build = &df.stages[0];
        assert_eq!(build.index, 0);
        assert_eq!(build.from, 1);
        assert_eq!(build.instructions, 1..3);
        assert_eq!(build.name.as_ref().unwrap().value, "build");
        assert_eq!(at(src, build.name.as_ref().unwrap().span), "Build");
        assert_eq!(at(src, build.image.span), "${BASE}:1.22");
        assert_eq!(build.image_resolved, "golang:1.22");
        assert_eq!(build.platform.as_ref().unwrap().value, "$BUILDPLATFORM");
        let fin = df.final_stage().unwrap();
        assert_eq!((fin.index, fin.instructions.clone()), (1, 3..5));
        assert!(fin.name.is_none());
        assert_eq!(df.stage_named("BUILD").unwrap().index, 0);
        assert!(df.stage_named("nope").is_none());
        let kinds: Vec<_> = df.instructions_of(fin).iter().map(|i| i.kind).collect();
        assert_eq!(kinds, [Kind::From, Kind::Copy]);
        let stages: Vec<_> = df.instructions.iter().map(|i| i.stage).collect();
        assert_eq!(stages, [None, Some(0), Some(0), Some(1), Some(1)]);
        let globals: Vec<_> = df.global_args().map(|i| i.kind).collect();
        assert_eq!(globals, [Kind::Arg]);
    }

    #[test]
    fn global_arg_defaults_resolve_the_image() {
        let cases = [
            ("ARG TAG=latest\nFROM img:${TAG}\n", "img:latest"),
            ("ARG TAG\nFROM img:${TAG:-3}\n", "img:3"),
            ("ARG TAG\nFROM img:$TAG\n", "img:"),
            (
                "ARG R=docker.io\nARG IMG=$R/lib\nFROM ${IMG}:1\n",
                "docker.io/lib:1",
            ),
            ("ARG A=1\nARG A\nFROM x:$A\n", "x:1"),
            ("FROM a\nARG TAG=2\nFROM img:$TAG\n", "img:"),
            ("ARG V=\"3.1\"\nFROM py:${V}-slim\n", "py:3.1-slim"),
        ];
        for (src, want) in cases {
            assert_eq!(ok(src).final_stage().unwrap().image_resolved, want, "{src}");
        }
    }

    #[test]
    fn from_without_image_is_an_error() {
        assert_eq!(
            err("FROM\n"),
            ("FROM requires the name of an image".into(), "FROM")
        );
        assert_eq!(err("FROM --platform=linux/amd64\n").1, "FROM");
    }

    #[test]
    fn no_stage_is_an_error() {
        // nothing but comments, or only global ARGs: no stage to build
        for src in ["", "# a base image, built elsewhere\n", "ARG A=1\nARG B\n"] {
            let (message, _) = err(src);
            assert!(
                message.starts_with("no FROM instruction"),
                "{src:?}: {message}"
            );
        }
        assert_eq!(err("ARG A=1\n").1, "ARG");
        // an instruction that needs a stage before the first FROM
        let (message, at) = err("ARG V=1\nENV X=1\nFROM alpine\n");
        assert!(
            message.starts_with("ENV before the first FROM"),
            "{message}"
        );
        assert_eq!(at, "ENV");
        assert_eq!(err("# c\nrun echo\n").1, "run");
        // the ARGs before FROM are fine
        assert!(parse("ARG V=3.20\nFROM alpine:$V\nRUN true\n").is_ok());
    }
}

mod words_and_pairs {
    use super::*;

    #[test]
    fn words_remove_quotes_and_keep_raw_spans() {
        let src = "COPY \"my file.txt\" 'b' c\\ d /dest/\n";
        let df = ok(src);
        assert_eq!(
            words(src, &df.instructions[0]),
            [
                ("my file.txt".into(), "\"my file.txt\""),
                ("b".into(), "'b'"),
                ("c d".into(), "c\\ d"),
                ("/dest/".into(), "/dest/")
            ]
        );
    }

    #[test]
    fn words_of_exec_form_are_its_elements() {
        let src = "VOLUME [\"/data\", \"/logs\"]\nEXPOSE 80/tcp 443\nUSER app:app\n";
        let df = ok(src);
        let vols: Vec<_> = df.instructions[0]
            .words()
            .into_iter()
            .map(|w| w.value)
            .collect();
        assert_eq!(vols, ["/data", "/logs"]);
        assert_eq!(
            words(src, &df.instructions[1])[0],
            ("80/tcp".into(), "80/tcp")
        );
        assert_eq!(
            words(src, &df.instructions[2]),
            [("app:app".into(), "app:app")]
        );
    }

    /// Raw key, key, and (value, raw value) of each pair.
    type Pair<'a> = (&'a str, String, Option<(String, &'a str)>);

    fn pairs<'a>(src: &'a str, ins: &Instruction) -> Vec<Pair<'a>> {
        ins.key_values()
            .into_iter()
            .map(|(k, v)| {
                (
                    at(src, k.span),
                    k.value,
                    v.map(|v| (v.value, at(src, v.span))),
                )
            })
            .collect()
    }

    #[test]
    fn env_pairs() {
        let src = "ENV a=1 b=\"x y\" c='$z' d=\n";
        let df = ok(src);
        assert_eq!(
            pairs(src, &df.instructions[0]),
            [
                ("a", "a".into(), Some(("1".into(), "1"))),
                ("b", "b".into(), Some(("x y".into(), "\"x y\""))),
                ("c", "c".into(), Some(("$z".into(), "'$z'"))),
                ("d", "d".into(), Some((String::new(), "")))
            ]
        );
    }

    #[test]
    fn legacy_env_takes_the_rest_of_the_line() {
        let src = "ENV PATH /usr/local/bin:$PATH  and more\nENV ALONE\n";
        let df = ok(src);
        assert_eq!(
            pairs(src, &df.instructions[0]),
            [(
                "PATH",
                "PATH".into(),
                Some((
                    "/usr/local/bin:$PATH  and more".into(),
                    "/usr/local/bin:$PATH  and more"
                ))
            )]
        );
        assert_eq!(
            pairs(src, &df.instructions[1]),
            [("ALONE", "ALONE".into(), None)]
        );
    }

    #[test]
    fn arg_and_label_pairs() {
        let src = "ARG name\nARG a=1 b\nLABEL \"com.example.v\"=\"1.0\" multi=\"a \\\n b\"\n";
        let df = ok(src);
        assert_eq!(
            pairs(src, &df.instructions[0]),
            [("name", "name".into(), None)]
        );
        assert_eq!(
            pairs(src, &df.instructions[1]),
            [
                ("a", "a".into(), Some(("1".into(), "1"))),
                ("b", "b".into(), None)
            ]
        );
        let label = pairs(src, &df.instructions[2]);
        assert_eq!(label[0].0, "\"com.example.v\"");
        assert_eq!(label[0].1, "com.example.v");
        assert_eq!(label[1].2.as_ref().unwrap().0, "a  b");
        assert_eq!(label[1].2.as_ref().unwrap().1, "\"a \\\n b\"");
    }

    #[test]
    fn other_instructions_have_no_pairs() {
        let df = ok("RUN a=1\n");
        assert!(df.instructions[0].key_values().is_empty());
    }
}

mod run_commands {
    use super::*;

    #[test]
    fn commands_of_a_run_line_with_spans() {
        let src = "RUN apt-get update && \\\n    apt-get install -y curl | tee log\n";
        let df = ok(src);
        let cmds = df.instructions[0].run_commands();
        assert_eq!(cmds.len(), 3);
        assert_eq!(at(src, cmds[1].span), "apt-get install -y curl");
        assert_eq!(at(src, cmds[1].argv[3].span), "curl");
        assert_eq!(cmds[1].after, Some(Op::And));
        assert!(cmds[1].piped);
        assert_eq!(cmds[2].after, Some(Op::Pipe));
    }

    #[test]
    fn shell_heredocs_are_split_but_not_other_interpreters() {
        let src = "RUN <<EOF\nset -e\napt-get update\nEOF\nRUN python3 <<EOF\nimport os\nEOF\nRUN bash -ex <<EOF\nmake install\nEOF\nCOPY <<EOF /x\nrm -rf /\nEOF\nRUN <<EOF\n#!/usr/bin/env python3\nprint(1)\nEOF\n";
        let df = ok(src);
        assert_eq!(
            argvs(&df.instructions[0]),
            [vec!["set", "-e"], vec!["apt-get", "update"]]
        );
        let cmds = df.instructions[0].run_commands();
        assert_eq!(at(src, cmds[1].span), "apt-get update");
        assert_eq!(argvs(&df.instructions[1]), [["python3"]]);
        assert_eq!(
            argvs(&df.instructions[2]),
            [vec!["bash", "-ex"], vec!["make", "install"]]
        );
        assert!(df.instructions[3].run_commands().is_empty());
        assert!(df.instructions[4].run_commands().is_empty());
    }

    #[test]
    fn only_the_heredoc_read_by_a_shell_is_split() {
        let src = "RUN <<A cat > /f && sh <<B\nnot a command\nA\necho b\nB\n";
        let df = ok(src);
        assert_eq!(
            argvs(&df.instructions[0]),
            [vec!["cat"], vec!["sh"], vec!["echo", "b"]]
        );
    }

    #[test]
    fn sh_c_strings_are_split_with_spans_inside() {
        let src = "RUN su app -s /bin/sh -c true && bash -c \"apt-get update && echo 'a b'\"\n";
        let df = ok(src);
        let cmds = df.instructions[0].run_commands();
        let names: Vec<_> = cmds.iter().map(|c| c.name().unwrap()).collect();
        assert_eq!(names, ["su", "bash", "apt-get", "echo"]);
        assert_eq!(at(src, cmds[2].span), "apt-get update");
        assert_eq!(at(src, cmds[3].argv[1].span), "'a b'");
        assert_eq!(cmds[3].argv[1].value, "a b");
    }

    #[test]
    fn exec_form_sh_c() {
        let src = "CMD [\"sh\", \"-c\", \"nginx && tail -f /x\"]\n";
        let df = ok(src);
        let cmds = df.instructions[0].run_commands();
        assert_eq!(cmds.len(), 3);
        assert_eq!(
            at(src, cmds[0].span),
            "\"sh\", \"-c\", \"nginx && tail -f /x\""
        );
        assert_eq!(cmds[2].name(), Some("tail"));
        assert_eq!(at(src, cmds[2].span), "\"nginx && tail -f /x\"");
    }

    #[test]
    fn non_command_instructions_run_nothing() {
        let df = ok("ENV a=1\nCOPY a b\nLABEL x=y\n");
        assert!(df.instructions.iter().all(|i| i.run_commands().is_empty()));
    }
}

/// Inputs that once broke the parser, or could: deep nesting and long repetitions must neither
/// overflow the stack nor take quadratic time. (Crashes found by fuzzing go here too.)
mod regressions {
    use super::*;

    #[test]
    fn deep_nesting_does_not_overflow_the_stack() {
        let n = 50_000;
        let df = ok(&format!("RUN echo {}\n", "$(".repeat(n)));
        assert_eq!(argvs(&df.instructions[0]).len(), 1);
        let df = ok(&format!("RUN {}x\n", "( ".repeat(n)));
        assert_eq!(argvs(&df.instructions[0]), [["x"]]);
        let df = ok(&format!("FROM a:{}\n", "${A:-".repeat(n)));
        assert!(df.stages[0].image_resolved.starts_with("a:"));
        // sh -c sh\ -c\ sh\\\ -c… twelve levels deep: split down to the nesting bound only
        let mut script = "true".to_owned();
        for _ in 0..12 {
            let escaped = script.replace('\\', "\\\\").replace(' ', "\\ ");
            script = format!("sh -c {escaped}");
        }
        let df = ok(&format!("RUN {script}\n"));
        assert_eq!(df.instructions[0].run_commands().len(), 5);
        assert!(parse(&"ONBUILD ".repeat(n)).is_err());
    }

    #[test]
    fn long_repetitions_stay_fast() {
        let n = 200_000;
        let started = std::time::Instant::now();
        let inputs = [
            format!("FROM {}\n", "${".repeat(n)),
            format!("RUN {}\n", "<<EOF ".repeat(n / 8)),
            format!("RUN {}\n", "\\\n".repeat(n)),
            "RUN a \\\n".repeat(n / 8),
            format!("CMD [{}\"x\"]\n", "\"a\",".repeat(n / 8)),
            format!("COPY {}a b\n", "--f=x ".repeat(n / 8)),
            format!("RUN {}\n", "\"'`".repeat(n)),
        ];
        for src in &inputs {
            if let Ok(df) = parse(src) {
                for ins in &df.instructions {
                    let _ = (ins.words(), ins.key_values(), ins.run_commands());
                }
            }
        }
        assert!(started.elapsed().as_secs() < 20, "{:?}", started.elapsed());
    }
}

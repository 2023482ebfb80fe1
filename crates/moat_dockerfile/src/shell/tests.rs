//! Shell splitter tests.

use super::{Command, Op, split_str};

/// argv values of each command of `s`.
fn argvs(s: &str) -> Vec<Vec<String>> {
    split_str(s, 0)
        .into_iter()
        .map(|c| c.argv.into_iter().map(|w| w.value).collect())
        .collect()
}

/// The source of each command of `s`.
fn spans(s: &str) -> Vec<&str> {
    split_str(s, 0).iter().map(|c| &s[c.span.range()]).collect()
}

fn ops(cmds: &[Command]) -> Vec<(Option<Op>, bool)> {
    cmds.iter().map(|c| (c.after, c.piped)).collect()
}

#[test]
fn operators_and_pipes() {
    let cmds = split_str("a && b || c; d | e & f\ng |& h", 0);
    assert_eq!(
        ops(&cmds),
        [
            (None, false),
            (Some(Op::And), false),
            (Some(Op::Or), false),
            (Some(Op::Seq), true),
            (Some(Op::Pipe), false),
            (Some(Op::Background), false),
            (Some(Op::Seq), true),
            (Some(Op::Pipe), false),
        ]
    );
    assert_eq!(
        spans("a && b || c; d | e & f\ng |& h"),
        ["a", "b", "c", "d", "e", "f", "g", "h"]
    );
}

#[test]
fn operator_at_end_of_line_carries_over_the_newline() {
    let cmds = split_str("a &&\n  b |\n c", 0);
    assert_eq!(
        ops(&cmds),
        [
            (None, false),
            (Some(Op::And), true),
            (Some(Op::Pipe), false)
        ]
    );
}

#[test]
fn quotes_and_escapes_are_decoded_with_raw_spans() {
    let s = r#"echo "a b" 'c "d"' e\ f "x\"y\$z\q" ''"#;
    let cmd = &split_str(s, 10)[0];
    let got: Vec<_> = cmd
        .argv
        .iter()
        .map(|w| (w.value.as_str(), &s[w.span.start - 10..w.span.end - 10]))
        .collect();
    assert_eq!(
        got,
        [
            ("echo", "echo"),
            ("a b", r#""a b""#),
            (r#"c "d""#, r#"'c "d"'"#),
            ("e f", r"e\ f"),
            (r#"x"y$z\q"#, r#""x\"y\$z\q""#),
            ("", "''"),
        ]
    );
}

#[test]
fn substitutions_stay_in_one_word() {
    assert_eq!(
        argvs(r#"echo $(date +%s; echo ")") `uname -a` ${X:-a b} "$(cat "f g")" $((1 + 2))"#),
        [[
            "echo",
            r#"$(date +%s; echo ")")"#,
            "`uname -a`",
            "${X:-a b}",
            r#"$(cat "f g")"#,
            "$((1 + 2))"
        ]]
    );
}

#[test]
fn redirections_are_not_arguments() {
    let s = "cmd >out 2>&1 <in a >>log b &>/dev/null 3< x c >| d";
    assert_eq!(argvs(s), [["cmd", "a", "b", "c"]]);
    assert_eq!(spans(s), [s]);
    assert_eq!(argvs("2>/dev/null cmd"), [["cmd"]]);
}

#[test]
fn comments_at_word_start() {
    assert_eq!(
        argvs("echo a#b # comment && not\nls # x"),
        [vec!["echo", "a#b"], vec!["ls"]]
    );
}

#[test]
fn groups_and_subshells_separate() {
    assert_eq!(
        argvs("(cd /x && make) || { echo fail; exit 1; }"),
        [
            vec!["cd", "/x"],
            vec!["make"],
            vec!["echo", "fail"],
            vec!["exit", "1"]
        ]
    );
    let cmds = split_str("a && (b; c)", 0);
    assert_eq!(cmds[1].after, Some(Op::And));
    assert!(argvs("find . -exec rm {} \\;")[0].contains(&"{}".to_owned()));
}

#[test]
fn compound_keywords_are_dropped() {
    let s = "if [ -f x ]; then rm x; elif true; then :; else echo no; fi; while read l; do echo $l; done < f; until false; do break; done";
    assert_eq!(
        argvs(s),
        [
            vec!["[", "-f", "x", "]"],
            vec!["rm", "x"],
            vec!["true"],
            vec![":"],
            vec!["echo", "no"],
            vec!["read", "l"],
            vec!["echo", "$l"],
            vec!["false"],
            vec!["break"],
        ]
    );
    assert_eq!(argvs("! grep -q x f"), [["grep", "-q", "x", "f"]]);
}

#[test]
fn for_headers_are_not_commands() {
    assert_eq!(
        argvs("for f in a b; do gzip $f; done\nfor ((i=0;i<3;i++)); do x; done"),
        [vec!["gzip", "$f"], vec!["x"]]
    );
}

#[test]
fn case_patterns_are_skipped() {
    let s = "case \"$(uname -m)\" in\n  x86_64|amd64) ARCH=amd64 ;;\n  (aarch64) ARCH=arm64; echo arm ;;\n  *) exit 1 ;;\nesac; echo done";
    let cmds = split_str(s, 0);
    let got: Vec<_> = cmds
        .iter()
        .map(|c| {
            let a: Vec<_> = c.assignments.iter().map(|w| w.value.as_str()).collect();
            let v: Vec<_> = c.argv.iter().map(|w| w.value.as_str()).collect();
            (a, v)
        })
        .collect();
    assert_eq!(
        got,
        [
            (vec!["ARCH=amd64"], vec![]),
            (vec!["ARCH=arm64"], vec![]),
            (vec![], vec!["echo", "arm"]),
            (vec![], vec!["exit", "1"]),
            (vec![], vec!["echo", "done"]),
        ]
    );
}

#[test]
fn function_definitions() {
    assert_eq!(
        argvs("f() { echo in; }; f arg"),
        [vec!["echo", "in"], vec!["f", "arg"]]
    );
}

#[test]
fn leading_assignments() {
    let cmd = &split_str(
        "DEBIAN_FRONTEND=noninteractive A+=1 \"B\"=2 apt-get install x=1",
        0,
    )[0];
    let a: Vec<_> = cmd.assignments.iter().map(|w| w.value.as_str()).collect();
    assert_eq!(a, ["DEBIAN_FRONTEND=noninteractive", "A+=1"]);
    assert_eq!(cmd.name(), Some("B=2"));
    assert_eq!(cmd.args().len(), 3);
    let only = &split_str("export A=1; B=2", 0);
    assert_eq!(only[1].argv.len(), 0);
    assert_eq!(only[1].assignments[0].value, "B=2");
}

#[test]
fn heredocs_inside_scripts_are_skipped() {
    let s = "cat <<EOF > /etc/conf\nnot && a command\nEOF\necho after\ncat <<-'X'\n\tbody\n\tX\nls";
    assert_eq!(
        argvs(s),
        [vec!["cat"], vec!["echo", "after"], vec!["cat"], vec!["ls"]]
    );
    assert_eq!(
        argvs("x $((1 << 2))\ny"),
        [vec!["x", "$((1 << 2))"], vec!["y"]]
    );
}

#[test]
fn line_continuations_in_scripts() {
    assert_eq!(
        argvs("apt-get install \\\n  curl \\\n  git"),
        [["apt-get", "install", "curl", "git"]]
    );
}

#[test]
fn program_names() {
    let cmd = &split_str("/usr/bin/apt-get -y install", 0)[0];
    assert_eq!(cmd.program(), Some("apt-get"));
    assert!(cmd.has_arg("-y"));
    assert!(!cmd.has_arg("/usr/bin/apt-get"));
}

#[test]
fn spans_with_base_offset_and_unicode() {
    let s = "echo héllo 'wörld' && ls";
    let cmds = split_str(s, 100);
    assert_eq!(cmds[0].argv[1].span.start, 105);
    assert_eq!(cmds[0].argv[2].value, "wörld");
    let w = &cmds[0].argv[2];
    assert_eq!(&s[w.span.start - 100..w.span.end - 100], "'wörld'");
    assert_eq!(cmds[1].span.start, 100 + s.find("ls").unwrap());
}

#[test]
fn unterminated_constructs_do_not_panic() {
    for s in [
        "echo \"abc",
        "echo 'abc",
        "echo $(abc",
        "echo ${abc",
        "echo `abc",
        "echo \\",
        "cat <<EOF",
        "cat <<EOF\nbody",
        "case x in a) b",
        "((",
        ")",
        "| a",
        "&& ;; ;& |",
        "f() (",
        "2>",
        "é\\é'é\"é$(é`é",
    ] {
        let _ = split_str(s, 0);
    }
}

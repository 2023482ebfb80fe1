//! Agreement with hadolint's own rule tests, for the hadolint rules that moat's rules reference.
//!
//! hadolint keeps one Haskell spec per rule (`test/Hadolint/Rule/DL3008Spec.hs`) made of
//! assertions such as `ruleCatches "DL3008" "RUN apt-get install python"`. This test reads those
//! specs from a copy of hadolint's repository, at run time, and never stores their cases: it
//! takes each assertion, audits its Dockerfile with the moat rules that reference that DL code,
//! and counts how often moat agrees (a finding where hadolint expects one, none where it expects
//! none). The figure and every disagreement are printed; the test fails below [`MIN_AGREEMENT`].
//! Where moat disagrees on purpose, the rule's documentation says so and why (its References
//! section), so a new disagreement is either a mistake to fix or a decision to write down there.
//!
//! Where hadolint is found: `MOAT_HADOLINT_REPO` (a work tree, or a bare git directory read with
//! `git show`), else a copy beside the workspace (`../.mirror/hadolint+hadolint/repo`). Without
//! either the test is skipped with a notice. Run it with
//! `cargo test -p moat_audit --test hadolint_conformance -- --nocapture`.
//!
//! How an assertion becomes a moat audit:
//! - the snippet gets a final newline, as hadolint's helpers add; a snippet without any `FROM`
//!   gets `FROM scratch` in front (moat, like BuildKit, rejects a Dockerfile without a stage,
//!   and hadolint's snippets are often a bare `RUN`);
//! - the `onBuild…` variants prefix every `RUN` instruction with `ONBUILD`, as hadolint's helper
//!   wraps them;
//! - `allowedRegistries` in the spec's configuration becomes `[dockerfile] trusted-registries`;
//! - "catches" means at least one finding of a mapped rule (hadolint's `onBuildRuleCatches`
//!   asks for exactly one: moat reports each unpinned package on its own, hadolint the whole
//!   instruction, and that difference in granularity is not a disagreement), or an input error:
//!   moat rejects the file (as BuildKit does), which is not silence.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use moat_audit::config::{Config, Overrides};
use moat_audit::rules;
use moat_audit::sources::audit_dockerfile;
use moat_diagnostics::SourceFile;

/// The lowest agreement accepted, in percent.
const MIN_AGREEMENT: f64 = 97.0;

/// Where hadolint's specs come from.
enum Specs {
    /// A work tree: files are read from disk.
    Tree(PathBuf),
    /// A bare repository: files are read with `git show HEAD:path`.
    Bare(PathBuf),
}

impl Specs {
    fn locate() -> Option<Self> {
        let candidates: Vec<PathBuf> = std::env::var_os("MOAT_HADOLINT_REPO")
            .map(PathBuf::from)
            .into_iter()
            .chain([Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../../.mirror/hadolint+hadolint/repo")])
            .collect();
        candidates.into_iter().find_map(|p| {
            if p.join("test/Hadolint/Rule").is_dir() {
                Some(Specs::Tree(p))
            } else if p.join("HEAD").is_file() && p.join("objects").is_dir() {
                Some(Specs::Bare(p))
            } else {
                None
            }
        })
    }

    /// The spec of rule `dl`, if hadolint has one.
    fn read(&self, dl: &str) -> Option<String> {
        let rel = format!("test/Hadolint/Rule/{dl}Spec.hs");
        match self {
            Specs::Tree(root) => std::fs::read_to_string(root.join(rel)).ok(),
            Specs::Bare(git_dir) => {
                let out = Command::new("git")
                    .arg("--git-dir")
                    .arg(git_dir)
                    .args(["show", &format!("HEAD:{rel}")])
                    .output()
                    .ok()?;
                out.status
                    .success()
                    .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
            }
        }
    }
}

/// One assertion of a spec.
#[derive(Debug)]
struct Case {
    dl: String,
    catches: bool,
    onbuild: bool,
    dockerfile: String,
    trusted: Vec<String>,
}

#[test]
fn agreement_with_hadolint_rule_tests() {
    let Some(specs) = Specs::locate() else {
        println!(
            "skipped: hadolint's repository not found (set MOAT_HADOLINT_REPO to a clone of \
             hadolint/hadolint)"
        );
        return;
    };
    let mut dls: Vec<&str> = rules::all()
        .filter(|r| r.info.code.starts_with('D'))
        .flat_map(|r| r.info.references.iter().copied())
        .filter(|r| r.starts_with("DL"))
        .collect();
    dls.sort_unstable();
    dls.dedup();

    let mut per_rule: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut disagreements = Vec::new();
    for dl in &dls {
        let Some(text) = specs.read(dl) else {
            println!("{dl}: no spec in hadolint");
            continue;
        };
        for case in cases(&text) {
            if case.dl != *dl {
                continue;
            }
            let outcome = run(&case);
            let agrees = outcome
                .as_ref()
                .map_or(case.catches, |found| *found == case.catches);
            let entry = per_rule.entry(case.dl.clone()).or_default();
            entry.1 += 1;
            if agrees {
                entry.0 += 1;
            } else {
                disagreements.push((case, outcome));
            }
        }
    }

    let (agree, total) = per_rule
        .values()
        .fold((0, 0), |(a, t), (ra, rt)| (a + ra, t + rt));
    for (dl, (a, t)) in &per_rule {
        println!("{dl}: {a}/{t}");
    }
    for (case, outcome) in &disagreements {
        let got = match outcome {
            Ok(true) => "moat reports".to_string(),
            Ok(false) => "moat is silent".to_string(),
            Err(e) => format!("moat cannot read it: {e}"),
        };
        println!(
            "--- {} expects {}{}; {got}\n{}",
            case.dl,
            if case.catches { "a finding" } else { "none" },
            if case.onbuild { " (ONBUILD)" } else { "" },
            case.dockerfile.trim_end()
        );
    }
    #[allow(clippy::cast_precision_loss)]
    let percent = 100.0 * agree as f64 / total.max(1) as f64;
    println!(
        "agreement with hadolint's rule tests: {agree} of {total} cases ({percent:.1}%) over {} \
         rules",
        per_rule.len()
    );
    assert!(total > 0, "no case read from hadolint's specs");
    assert!(
        percent >= MIN_AGREEMENT,
        "agreement {percent:.1}% is below {MIN_AGREEMENT}%"
    );
}

/// Audits a case with the moat rules that reference its DL code: whether any of them reports.
fn run(case: &Case) -> Result<bool, String> {
    let overrides = Overrides {
        select: vec![case.dl.clone()],
        ..Overrides::default()
    };
    let list: Vec<String> = case.trusted.iter().map(|t| format!("{t:?}")).collect();
    let toml = format!("[dockerfile]\ntrusted-registries = [{}]\n", list.join(", "));
    let config = Config::parse("conformance.moat.toml", &toml, Path::new("."), &overrides)
        .map_err(|e| e.to_string())?;
    let source = SourceFile::new("Dockerfile", case.dockerfile.clone());
    let outcome = audit_dockerfile(&source, &config);
    if let Some(e) = outcome.errors.first() {
        return Err(e.to_string());
    }
    Ok(!outcome.findings.is_empty())
}

/// The assertions of a spec file, evaluated.
fn cases(text: &str) -> Vec<Case> {
    let tokens = tokenize(text);
    let mut env: BTreeMap<String, Value> = BTreeMap::new();
    let mut trusted: Vec<String> = Vec::new();
    let mut out = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i] {
            Tok::Ident(w) if w == "it" => {
                trusted.clear();
                i += 1;
            }
            Tok::Ident(w) if w == "let" => {
                i += 1;
                // bindings: NAME = EXPR, as long as the next tokens look like one
                while let (Some(Tok::Ident(name)), Some(Tok::Punct('='))) =
                    (tokens.get(i), tokens.get(i + 1))
                {
                    let name = name.clone();
                    let (value, next) = expr(&tokens, i + 2, &env);
                    i = next;
                    if name == "?config" {
                        if let Value::Config(list) = value {
                            trusted = list;
                        }
                    } else {
                        env.insert(name, value);
                    }
                }
            }
            Tok::Ident(w)
                if matches!(
                    w.as_str(),
                    "ruleCatches"
                        | "ruleCatchesNot"
                        | "onBuildRuleCatches"
                        | "onBuildRuleCatchesNot"
                ) =>
            {
                let catches = !w.ends_with("Not");
                let onbuild = w.starts_with("onBuild");
                let (rule, next) = expr(&tokens, i + 1, &env);
                let (snippet, next) = expr(&tokens, next, &env);
                i = next;
                if let (Value::Str(dl), Value::Str(src)) = (rule, snippet) {
                    out.push(Case {
                        dl,
                        catches,
                        onbuild,
                        dockerfile: dockerfile_of(&src, onbuild),
                        trusted: trusted.clone(),
                    });
                }
            }
            _ => i += 1,
        }
    }
    out
}

/// The Dockerfile an assertion checks (see the module documentation).
fn dockerfile_of(snippet: &str, onbuild: bool) -> String {
    let mut lines = Vec::new();
    let mut continued = false;
    let mut has_from = false;
    for line in format!("{snippet}\n").lines() {
        let starts = !continued;
        continued = line.trim_end().ends_with('\\');
        let keyword = line.split_whitespace().next().unwrap_or("");
        if starts && keyword.eq_ignore_ascii_case("from") {
            has_from = true;
        }
        if starts && onbuild && keyword.eq_ignore_ascii_case("run") {
            lines.push(format!("ONBUILD {}", line.trim_start()));
        } else {
            lines.push(line.to_string());
        }
    }
    let mut text = lines.join("\n");
    text.push('\n');
    if !has_from {
        text.insert_str(0, "FROM scratch\n");
    }
    text
}

/// A value of the tiny expression language the specs use.
#[derive(Debug, Clone)]
enum Value {
    Str(String),
    List(Vec<String>),
    /// `def { allowedRegistries = [...] }`.
    Config(Vec<String>),
    Unknown,
}

/// Evaluates the expression at `at`: a string, a list of strings, `Text.unlines X`, a bound
/// name, `(X)`, `$ X`, or `def { … }`. Returns the value and the index after it.
fn expr(tokens: &[Tok], at: usize, env: &BTreeMap<String, Value>) -> (Value, usize) {
    match tokens.get(at) {
        Some(Tok::Punct('$')) => expr(tokens, at + 1, env),
        Some(Tok::Str(text)) => (Value::Str(text.clone()), at + 1),
        Some(Tok::Punct('(')) => {
            let (value, after) = expr(tokens, at + 1, env);
            let after = if matches!(tokens.get(after), Some(Tok::Punct(')'))) {
                after + 1
            } else {
                after
            };
            (value, after)
        }
        Some(Tok::Punct('[')) => {
            let mut items = Vec::new();
            let mut pos = at + 1;
            while let Some(tok) = tokens.get(pos) {
                match tok {
                    Tok::Punct(']') => return (Value::List(items), pos + 1),
                    Tok::Str(text) => items.push(text.clone()),
                    _ => {}
                }
                pos += 1;
            }
            (Value::List(items), pos)
        }
        Some(Tok::Ident(name)) if name == "Text.unlines" || name == "unlines" => {
            let (value, after) = expr(tokens, at + 1, env);
            match value {
                Value::List(items) => {
                    let mut text = items.join("\n");
                    text.push('\n');
                    (Value::Str(text), after)
                }
                other => (other, after),
            }
        }
        Some(Tok::Ident(name)) if name == "def" => {
            if !matches!(tokens.get(at + 1), Some(Tok::Punct('{'))) {
                return (Value::Config(Vec::new()), at + 1);
            }
            let mut pos = at + 2;
            let mut trusted = Vec::new();
            while let Some(tok) = tokens.get(pos) {
                match tok {
                    Tok::Punct('}') => return (Value::Config(trusted), pos + 1),
                    Tok::Ident(field) if field == "allowedRegistries" => {
                        let (value, after) = expr(tokens, pos + 2, env);
                        if let Value::List(items) = value {
                            trusted = items;
                        }
                        pos = after;
                        continue;
                    }
                    _ => {}
                }
                pos += 1;
            }
            (Value::Config(trusted), pos)
        }
        Some(Tok::Ident(name)) => (env.get(name).cloned().unwrap_or(Value::Unknown), at + 1),
        _ => (Value::Unknown, at + 1),
    }
}

/// A token of a Haskell spec file (just enough of Haskell's lexical syntax).
#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Str(String),
    Ident(String),
    Punct(char),
}

fn tokenize(text: &str) -> Vec<Tok> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        let next = chars.get(i + 1).copied();
        if c == '-' && next == Some('-') {
            while chars.get(i).is_some_and(|&c| c != '\n') {
                i += 1;
            }
        } else if c == '{' && next == Some('-') {
            while i + 1 < chars.len() && !(chars[i] == '-' && chars[i + 1] == '}') {
                i += 1;
            }
            i += 2;
        } else if c == '"' {
            let (s, end) = string_literal(&chars, i + 1);
            out.push(Tok::Str(s));
            i = end;
        } else if c == '\'' && next.is_some() && chars.get(i + 2) == Some(&'\'') {
            // a character literal such as '\n' is not needed; skip simple ones
            i += 3;
        } else if c.is_alphabetic()
            || c == '_'
            || (c == '?' && next.is_some_and(char::is_alphabetic))
        {
            let start = i;
            i += 1;
            while chars
                .get(i)
                .is_some_and(|&c| c.is_alphanumeric() || c == '_' || c == '\'' || c == '.')
            {
                i += 1;
            }
            out.push(Tok::Ident(chars[start..i].iter().collect()));
        } else if c.is_whitespace() {
            i += 1;
        } else {
            out.push(Tok::Punct(c));
            i += 1;
        }
    }
    out
}

/// A Haskell string literal starting after its opening quote: escapes decoded, gaps
/// (`\` newline spaces `\`) removed. Returns the text and the index after the closing quote.
fn string_literal(chars: &[char], mut at: usize) -> (String, usize) {
    let mut text = String::new();
    while let Some(&ch) = chars.get(at) {
        match ch {
            '"' => return (text, at + 1),
            '\\' => {
                let Some(&escaped) = chars.get(at + 1) else {
                    return (text, at + 1);
                };
                at += 2;
                match escaped {
                    'n' => text.push('\n'),
                    't' => text.push('\t'),
                    'r' => text.push('\r'),
                    '&' => {}
                    gap if gap.is_whitespace() => {
                        // a gap: up to the next backslash
                        while chars.get(at).is_some_and(|&c| c != '\\') {
                            at += 1;
                        }
                        at += 1;
                    }
                    digit if digit.is_ascii_digit() => {
                        let start = at - 1;
                        while chars.get(at).is_some_and(char::is_ascii_digit) {
                            at += 1;
                        }
                        let code: String = chars[start..at].iter().collect();
                        if let Some(decoded) = code.parse().ok().and_then(char::from_u32) {
                            text.push(decoded);
                        }
                    }
                    other => text.push(other),
                }
            }
            other => {
                text.push(other);
                at += 1;
            }
        }
    }
    (text, at)
}

//! Human-readable output, in the style of compiler diagnostics:
//!
//! ```text
//! medium[D002] latest-base-image: base image `node:latest` uses the `latest` tag
//!   --> examples/insecure-api/Dockerfile:1:6
//!    |
//!  1 | FROM node:latest
//!    |      ^^^^^^^^^^^
//!    = fix: pin a version, e.g. `node:20.11-alpine`
//!    = see: DL3007, CIS-DOCKER-4.x
//! ```
//!
//! Findings of three or more different rules at exactly the same place (the per-service
//! hardening gaps of a compose service all point at its key) are shown as one entry: the source
//! line once, then one `=` line per finding; the same finding (rule, severity, message) in three
//! or more files (every variant of a Dockerfile without a `HEALTHCHECK`) is one entry listing
//! the places. The summary says how many entries there are. JSON and SARIF keep one finding per
//! rule and place.
//!
//! Text taken from inputs (source lines, messages, paths) is shown with control characters and
//! bidirectional-override characters replaced by `�`, so a hostile file cannot send escape
//! sequences to the terminal or make a line read differently from what it is. A tab is shown as
//! four spaces, both in the source line and under it, so carets stay aligned.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use super::{FileCounts, Summary};
use crate::{Applicability, Finding, InputError, Report, Severity, SourceFile};

/// Options of the text reporter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextOptions {
    /// Colour the output with ANSI escape codes (see [`color_wanted`]).
    pub color: bool,
    /// Show the `= fix:` line of findings that have a fix.
    pub show_fixes: bool,
}

impl Default for TextOptions {
    /// No colour; fixes shown.
    fn default() -> Self {
        Self {
            color: false,
            show_fixes: true,
        }
    }
}

/// Whether output to a terminal should be coloured, from the process environment: see
/// [`ColorEnv::wants_color`].
pub fn color_wanted(is_tty: bool) -> bool {
    ColorEnv::from_env().wants_color(is_tty)
}

/// The environment variables that decide colour, so the decision can be tested without touching
/// the process environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ColorEnv {
    /// `NO_COLOR`.
    pub no_color: Option<String>,
    /// `TERM`.
    pub term: Option<String>,
    /// `CLICOLOR_FORCE`.
    pub clicolor_force: Option<String>,
    /// `FORCE_COLOR`.
    pub force_color: Option<String>,
}

impl ColorEnv {
    /// Reads the variables from the process environment (non-UTF-8 values are read lossily).
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var_os(name).map(|v| v.to_string_lossy().into_owned());
        Self {
            no_color: var("NO_COLOR"),
            term: var("TERM"),
            clicolor_force: var("CLICOLOR_FORCE"),
            force_color: var("FORCE_COLOR"),
        }
    }

    /// Decides, in this order: `NO_COLOR` set and non-empty → no colour; `CLICOLOR_FORCE` or
    /// `FORCE_COLOR` set, non-empty and not `0` (or `false`) → colour; output not a terminal →
    /// no colour; `TERM=dumb` → no colour; otherwise colour.
    pub fn wants_color(&self, is_tty: bool) -> bool {
        let set = |v: &Option<String>| v.as_deref().is_some_and(|v| !v.is_empty());
        let forces = |v: &Option<String>| set(v) && !matches!(v.as_deref(), Some("0" | "false"));
        if set(&self.no_color) {
            return false;
        }
        if forces(&self.clicolor_force) || forces(&self.force_color) {
            return true;
        }
        is_tty && self.term.as_deref() != Some("dumb")
    }
}

/// Renders `report` as text: each finding (with a source snippet when its file is in
/// `report.sources`), then each input error, then a summary line. Ends with a newline.
pub fn text(report: &Report, opts: &TextOptions) -> String {
    render(report, *opts, None)
}

/// Like [`text`], with a line saying how many files of each kind were audited before the
/// summary line:
///
/// ```text
/// 4 files audited (Dockerfile: 2, compose: 1, daemon.json: 0, script: 1)
/// no findings
/// ```
///
/// or `no files audited` when there were none.
pub fn text_with_files(report: &Report, opts: &TextOptions, files: &FileCounts) -> String {
    render(report, *opts, Some(files))
}

/// Findings of at least this many different rules at one place make one entry.
const GROUP_AT: usize = 3;

/// The same finding (rule, severity and message) in at least this many files makes one entry.
const REPEAT_AT: usize = 3;

/// What the text report shows as one entry.
enum Entry<'a> {
    /// One finding.
    One(&'a Finding),
    /// Findings of several rules at one place.
    Place(&'a [Finding]),
}

fn render(report: &Report, opts: TextOptions, files: Option<&FileCounts>) -> String {
    let p = Painter { on: opts.color };
    let mut out = String::new();
    let mut units = Vec::new();
    let mut rest = report.findings.as_slice();
    while let Some(first) = rest.first() {
        let same = rest.iter().take_while(|f| same_place(f, first)).count();
        let mut codes: Vec<&str> = rest[..same].iter().map(|f| f.code.as_str()).collect();
        codes.sort_unstable();
        codes.dedup();
        // a live container's findings all point at the container: one entry for it too
        let groupable = first.location.has_position() || first.location.object.is_some();
        if codes.len() >= GROUP_AT && groupable {
            units.push(Entry::Place(&rest[..same]));
            rest = &rest[same..];
        } else {
            units.push(Entry::One(first));
            rest = &rest[1..];
        }
    }
    // the same finding in many places (a rule every variant of a Dockerfile breaks): one entry
    let mut repeats: HashMap<(&str, Severity, &str), Vec<&Finding>> = HashMap::new();
    for u in &units {
        if let Entry::One(f) = u {
            repeats.entry(repeat_key(f)).or_default().push(f);
        }
    }
    let mut written = HashSet::new();
    let mut entries = 0;
    for u in &units {
        match u {
            Entry::Place(group) => write_group(&mut out, p, report, group, opts),
            Entry::One(f) => {
                let k = repeat_key(f);
                match repeats.get(&k) {
                    Some(all) if in_files(all) >= REPEAT_AT => {
                        if !written.insert(k) {
                            continue; // written with its first occurrence
                        }
                        write_repeated(&mut out, p, all);
                    }
                    _ => write_finding(&mut out, p, report, f, opts),
                }
            }
        }
        out.push('\n');
        entries += 1;
    }
    for error in &report.errors {
        write_error(&mut out, p, report, error);
        out.push('\n');
    }
    if let Some(files) = files {
        write_files(&mut out, files);
    }
    write_summary(&mut out, &Summary::of(report), entries);
    out
}

/// How many files `findings` are in.
fn in_files(findings: &[&Finding]) -> usize {
    let mut paths: Vec<&str> = findings.iter().map(|f| f.location.path.as_str()).collect();
    paths.sort_unstable();
    paths.dedup();
    paths.len()
}

/// What makes two findings the same finding in different places.
fn repeat_key(f: &Finding) -> (&str, Severity, &str) {
    (f.code.as_str(), f.severity, f.message.as_str())
}

/// One entry for the same finding in several places: the finding's line, then each place
/// (without source lines), then its references once.
fn write_repeated(out: &mut String, p: Painter, all: &[&Finding]) {
    let f = all[0];
    let sev = severity_style(f.severity);
    let _ = writeln!(
        out,
        "{}{} {}: {} ({} places)",
        p.paint(sev, f.severity.as_str()),
        p.paint(BOLD, &format!("[{}]", clean(&f.code))),
        clean(&f.name),
        clean(&f.message),
        all.len(),
    );
    for g in all {
        let loc = &g.location;
        let _ = writeln!(
            out,
            "  {} {}:{}:{}",
            p.paint(GUTTER, "-->"),
            clean(&loc.path),
            loc.line,
            loc.column.max(1)
        );
    }
    if !f.references.is_empty() {
        let refs: Vec<Cow<'_, str>> = f.references.iter().map(|r| clean(r)).collect();
        note(out, p, 1, "see", &refs.join(", "));
    }
}

fn same_place(a: &Finding, b: &Finding) -> bool {
    let (a, b) = (&a.location, &b.location);
    a.path == b.path
        && a.line == b.line
        && a.column == b.column
        && a.end_line == b.end_line
        && a.end_column == b.end_column
}

/// One entry for several findings at the same place: a header with the highest severity and the
/// codes, the place and the source line once, then each finding as a `=` line.
fn write_group(
    out: &mut String,
    p: Painter,
    report: &Report,
    group: &[Finding],
    opts: TextOptions,
) {
    let worst = group
        .iter()
        .map(|f| f.severity)
        .max()
        .unwrap_or(Severity::Info);
    let sev = severity_style(worst);
    let codes: Vec<Cow<'_, str>> = group.iter().map(|f| clean(&f.code)).collect();
    let _ = writeln!(
        out,
        "{}{} {} findings at one place",
        p.paint(sev, worst.as_str()),
        p.paint(BOLD, &format!("[{}]", codes.join(","))),
        group.len(),
    );
    let (width, _) = write_place(out, p, report, &group[0].location, sev);
    for f in group {
        let label = format!(
            "{}[{}] {}",
            f.severity.as_str(),
            clean(&f.code),
            clean(&f.name)
        );
        note(out, p, width, &label, &clean(&f.message));
        for r in &f.related {
            note(
                out,
                p,
                width,
                &format!("  {}", clean(&r.message)),
                &related_place(r),
            );
        }
        if opts.show_fixes {
            write_fix(out, p, width, f, "  ");
        }
    }
}

/// `path:line:col` of a related location (or the path alone).
fn related_place(r: &crate::Related) -> String {
    let l = &r.location;
    if l.has_position() {
        format!("{}:{}:{}", clean(&l.path), l.line, l.column.max(1))
    } else {
        clean(&l.path).into_owned()
    }
}

/// Writes the `-->` line and, when the file is among the sources, the underlined source line;
/// returns the gutter width and whether a snippet was shown.
fn write_place(
    out: &mut String,
    p: Painter,
    report: &Report,
    loc: &crate::Location,
    sev: &str,
) -> (usize, bool) {
    let snippet = if loc.has_position() {
        report
            .sources
            .get(&loc.path)
            .and_then(|src| Snippet::of(src, loc.line, loc.column))
    } else {
        None
    };
    let width = snippet.as_ref().map_or(1, |s| digits(s.line_no));
    let pad = " ".repeat(width + 1);
    let place = if loc.has_position() && loc.object.as_deref() == Some(loc.path.as_str()) {
        // an engine object with a text of its own (an image's history): `image:api:1`, a
        // reference with colons of its own, reads badly as `path:line:col`
        format!("{}, line {}", clean(&loc.path), loc.line)
    } else if loc.has_position() {
        format!("{}:{}:{}", clean(&loc.path), loc.line, loc.column.max(1))
    } else {
        clean(&loc.path).into_owned()
    };
    let _ = writeln!(out, "{pad}{} {place}", p.paint(GUTTER, "-->"));
    let Some(snippet) = snippet else {
        return (width, false);
    };
    let end = if loc.end_line > loc.line {
        End::Continues(loc.end_line)
    } else {
        End::Column(loc.end_column)
    };
    snippet.write(out, p, sev, width, Some(end));
    (width, true)
}

/// Writes `= fix: …` for a finding that has a fix.
fn write_fix(out: &mut String, p: Painter, width: usize, f: &Finding, indent: &str) {
    if let Some(fix) = &f.fix {
        let label = match fix.applicability {
            Applicability::Safe => "fix",
            Applicability::Unsafe => "fix (unsafe)",
        };
        note(
            out,
            p,
            width,
            &format!("{indent}{label}"),
            &clean(&fix.message),
        );
    }
}

fn write_finding(out: &mut String, p: Painter, report: &Report, f: &Finding, opts: TextOptions) {
    let sev = severity_style(f.severity);
    let _ = writeln!(
        out,
        "{}{} {}: {}",
        p.paint(sev, f.severity.as_str()),
        p.paint(BOLD, &format!("[{}]", clean(&f.code))),
        clean(&f.name),
        clean(&f.message),
    );

    let loc = &f.location;
    let (width, shown) = write_place(out, p, report, loc, sev);
    if !shown {
        if let Some(object) = loc.object.as_ref().filter(|o| **o != loc.path) {
            note(out, p, width, "object", &clean(object));
        }
        if let Some(evidence) = &f.evidence {
            note(out, p, width, "evidence", &clean(evidence));
        }
    }
    for r in &f.related {
        note(out, p, width, &clean(&r.message), &related_place(r));
    }
    if opts.show_fixes {
        write_fix(out, p, width, f, "");
    }
    if !f.references.is_empty() {
        let refs: Vec<Cow<'_, str>> = f.references.iter().map(|r| clean(r)).collect();
        note(out, p, width, "see", &refs.join(", "));
    }
}

fn write_error(out: &mut String, p: Painter, report: &Report, e: &InputError) {
    let _ = writeln!(
        out,
        "{}: {}",
        p.paint(ERROR, "error"),
        clean(&e.to_string())
    );
    let Some(line) = e.line.filter(|l| *l > 0) else {
        return;
    };
    let Some(snippet) = report
        .sources
        .get(&e.path)
        .and_then(|src| Snippet::of(src, line, e.column.unwrap_or(1)))
    else {
        return;
    };
    let width = digits(line);
    let end = e.column.map(|_| End::Point);
    snippet.write(out, p, ERROR, width, end);
}

fn write_summary(out: &mut String, s: &Summary, entries: usize) {
    let n = s.findings();
    if n == 0 {
        out.push_str("no findings");
    } else {
        let shown = if entries < n {
            format!(" in {entries} {}", plural(entries, "entry", "entries"))
        } else {
            String::new()
        };
        let _ = write!(
            out,
            "{n} {}{shown} (critical: {}, high: {}, medium: {}, low: {}, info: {})",
            plural(n, "finding", "findings"),
            s.critical,
            s.high,
            s.medium,
            s.low,
            s.info
        );
    }
    if s.errors > 0 {
        let _ = write!(
            out,
            ", {} {}",
            s.errors,
            plural(s.errors, "error", "errors")
        );
    }
    out.push('\n');
}

fn write_files(out: &mut String, f: &FileCounts) {
    let n = f.total();
    if f.engines > 0 {
        let _ = writeln!(
            out,
            "{} {} audited ({} {}, {} {})",
            f.engines,
            plural(f.engines, "engine", "engines"),
            f.containers,
            plural(f.containers, "container", "containers"),
            f.images,
            plural(f.images, "image", "images"),
        );
        if n == 0 {
            return;
        }
    }
    if n == 0 {
        out.push_str("no files audited\n");
    } else {
        let _ = writeln!(
            out,
            "{n} {} audited (Dockerfile: {}, compose: {}, daemon.json: {}, script: {})",
            plural(n, "file", "files"),
            f.dockerfile,
            f.compose,
            f.daemon,
            f.script
        );
    }
}

fn plural(n: usize, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 { one } else { many }
}

/// Writes `   = label: text`.
fn note(out: &mut String, p: Painter, width: usize, label: &str, text: &str) {
    let _ = writeln!(
        out,
        "{}{} {}: {text}",
        " ".repeat(width + 2),
        p.paint(GUTTER, "="),
        p.paint(BOLD, label)
    );
}

/// Where the underline of a snippet ends.
#[derive(Debug, Clone, Copy)]
enum End {
    /// At this 1-based, exclusive column of the same line (a single caret if not past the start).
    Column(usize),
    /// On a later line: underline to the end of the first line and say where the span ends.
    Continues(usize),
    /// A single caret.
    Point,
}

/// One source line to show, with the column the underline starts at.
struct Snippet {
    line_no: usize,
    chars: Vec<char>,
    /// 0-based character index where the underline starts (at most the line length).
    start: usize,
}

impl Snippet {
    /// The snippet of 1-based `line` of `src`, underlined from 1-based `column`; `None` when the
    /// line is not in the file.
    fn of(src: &SourceFile, line: usize, column: usize) -> Option<Self> {
        if line == 0 || line > src.index.line_count() {
            return None;
        }
        let chars: Vec<char> = src.line_text(line).chars().collect();
        let start = column.saturating_sub(1).min(chars.len());
        Some(Self {
            line_no: line,
            chars,
            start,
        })
    }

    /// Writes the empty gutter line, the source line and, when `end` is given, the underline.
    fn write(&self, out: &mut String, p: Painter, style: &str, width: usize, end: Option<End>) {
        let gutter = |out: &mut String| {
            let _ = write!(out, "{}{}", " ".repeat(width + 2), p.paint(GUTTER, "|"));
        };
        gutter(out);
        out.push('\n');
        let line: String = self.chars.iter().map(|c| display(*c)).collect();
        let number = format!(" {:>width$} |", self.line_no);
        let space = if line.is_empty() { "" } else { " " };
        let _ = writeln!(out, "{}{space}{line}", p.paint(GUTTER, &number));
        let Some(end) = end else {
            return;
        };
        let stop = match end {
            End::Column(col) => col.saturating_sub(1).clamp(self.start, self.chars.len()),
            End::Continues(_) => self.chars.len(),
            End::Point => self.start,
        };
        let indent: usize = self.chars[..self.start].iter().map(|c| width_of(*c)).sum();
        let len: usize = self.chars[self.start..stop]
            .iter()
            .map(|c| width_of(*c))
            .sum();
        gutter(out);
        let _ = write!(
            out,
            " {}{}",
            " ".repeat(indent),
            p.paint(style, &"^".repeat(len.max(1)))
        );
        if let End::Continues(last) = end {
            let _ = write!(
                out,
                " {}",
                p.paint(style, &format!("… (spans to line {last})"))
            );
        }
        out.push('\n');
    }
}

/// How a character of a source line is shown.
fn display(c: char) -> Cow<'static, str> {
    match c {
        '\t' => Cow::Borrowed("    "),
        c if is_hidden(c) => Cow::Borrowed("\u{FFFD}"),
        c => Cow::Owned(c.to_string()),
    }
}

/// Columns taken by `c` as shown by [`display`]: 4 for a tab, else 1 (carets count characters).
fn width_of(c: char) -> usize {
    if c == '\t' { 4 } else { 1 }
}

/// Control characters (other than tab) and bidirectional embedding, override and isolate
/// characters: shown as `�`.
fn is_hidden(c: char) -> bool {
    (c.is_control() && c != '\t') || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// `s` as shown on one line: tabs as four spaces, hidden characters (including line breaks) as
/// `�`.
fn clean(s: &str) -> Cow<'_, str> {
    if s.chars().any(|c| c == '\t' || is_hidden(c)) {
        Cow::Owned(s.chars().map(display).collect())
    } else {
        Cow::Borrowed(s)
    }
}

fn digits(n: usize) -> usize {
    n.checked_ilog10().map_or(1, |d| d as usize + 1)
}

const RESET: &str = "\x1b[0m";
const BOLD: &str = "\x1b[1m";
const GUTTER: &str = "\x1b[1;34m";
const ERROR: &str = "\x1b[1;31m";

fn severity_style(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "\x1b[1;35m",
        Severity::High => "\x1b[1;31m",
        Severity::Medium => "\x1b[1;33m",
        Severity::Low => "\x1b[1;36m",
        Severity::Info => "\x1b[1;32m",
    }
}

/// Wraps text in ANSI styles when colour is on.
#[derive(Debug, Clone, Copy)]
struct Painter {
    on: bool,
}

impl Painter {
    fn paint<'a>(self, style: &str, text: &'a str) -> Cow<'a, str> {
        if self.on {
            Cow::Owned(format!("{style}{text}{RESET}"))
        } else {
            Cow::Borrowed(text)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Confidence, Location};

    fn env(
        no_color: Option<&str>,
        term: Option<&str>,
        clicolor_force: Option<&str>,
        force_color: Option<&str>,
    ) -> ColorEnv {
        ColorEnv {
            no_color: no_color.map(Into::into),
            term: term.map(Into::into),
            clicolor_force: clicolor_force.map(Into::into),
            force_color: force_color.map(Into::into),
        }
    }

    #[test]
    fn color_follows_no_color_tty_term_and_force() {
        let xterm = Some("xterm-256color");
        // a terminal gets colour, a pipe does not
        assert!(env(None, xterm, None, None).wants_color(true));
        assert!(!env(None, xterm, None, None).wants_color(false));
        assert!(env(None, None, None, None).wants_color(true));
        // NO_COLOR: set and non-empty disables, empty is ignored
        assert!(!env(Some("1"), xterm, None, None).wants_color(true));
        assert!(env(Some(""), xterm, None, None).wants_color(true));
        // TERM=dumb
        assert!(!env(None, Some("dumb"), None, None).wants_color(true));
        // forcing works without a terminal and on a dumb one, but not against NO_COLOR
        assert!(env(None, None, Some("1"), None).wants_color(false));
        assert!(env(None, Some("dumb"), None, Some("1")).wants_color(true));
        assert!(env(None, None, None, Some("3")).wants_color(false));
        assert!(!env(Some("1"), None, Some("1"), Some("1")).wants_color(false));
        // empty, 0 and false do not force
        assert!(!env(None, None, Some(""), Some("")).wants_color(false));
        assert!(!env(None, None, Some("0"), Some("0")).wants_color(false));
        assert!(!env(None, None, None, Some("false")).wants_color(false));
        // ... and do not disable either
        assert!(env(None, xterm, Some("0"), Some("0")).wants_color(true));
    }

    #[test]
    fn default_options_show_fixes_without_colour() {
        assert_eq!(
            TextOptions::default(),
            TextOptions {
                color: false,
                show_fixes: true
            }
        );
    }

    fn one(src: &str, loc: Location) -> String {
        let file = SourceFile::new("f", src);
        let report = Report {
            findings: vec![Finding {
                code: "C1".into(),
                name: "n".into(),
                severity: Severity::Low,
                confidence: Confidence::High,
                message: "m".into(),
                location: loc,
                references: vec![],
                evidence: Some("ev".into()),
                fix: None,
                related: Vec::new(),
                secret: None,
            }],
            sources: [("f".to_string(), file)].into(),
            ..Report::default()
        };
        text(&report, &TextOptions::default())
    }

    fn loc(src: &str, span: std::ops::Range<usize>) -> Location {
        SourceFile::new("f", src).location(span)
    }

    #[test]
    fn three_rules_at_one_place_are_one_entry() {
        let src = "services:\n  api:\n    image: x\n";
        let file = SourceFile::new("compose.yaml", src);
        let at = file.location(12..15);
        let f = |code: &str, sev: Severity, msg: &str| Finding {
            code: code.into(),
            name: code.to_lowercase(),
            severity: sev,
            confidence: Confidence::High,
            message: msg.into(),
            location: at.clone(),
            references: vec![],
            evidence: None,
            fix: None,
            related: Vec::new(),
            secret: None,
        };
        let mut findings = vec![
            f("C002", Severity::Medium, "`api` keeps its capabilities"),
            f("C020", Severity::Medium, "`api` has no memory limit"),
            f("C021", Severity::Low, "`api` has no CPU limit"),
        ];
        let report = |findings: Vec<Finding>| Report {
            findings,
            sources: [("compose.yaml".to_string(), file.clone())].into(),
            ..Report::default()
        };
        let out = text(&report(findings.clone()), &TextOptions::default());
        assert_eq!(
            out,
            "medium[C002,C020,C021] 3 findings at one place\n  --> compose.yaml:2:3\n   |\n 2 |   api:\n   |   ^^^\n   = medium[C002] c002: `api` keeps its capabilities\n   = medium[C020] c020: `api` has no memory limit\n   = low[C021] c021: `api` has no CPU limit\n\n3 findings in 1 entry (critical: 0, high: 0, medium: 2, low: 1, info: 0)\n"
        );
        // two rules at one place stay two entries, and the summary counts findings only
        findings.pop();
        let out = text(&report(findings), &TextOptions::default());
        assert_eq!(out.matches("--> compose.yaml:2:3").count(), 2, "{out}");
        assert!(
            out.ends_with("\n2 findings (critical: 0, high: 0, medium: 2, low: 0, info: 0)\n"),
            "{out}"
        );
    }

    #[test]
    fn the_same_finding_in_three_files_is_one_entry() {
        let f = |path: &str| Finding {
            code: "D030".into(),
            name: "missing-healthcheck".into(),
            severity: Severity::Low,
            confidence: Confidence::High,
            message: "the image has no HEALTHCHECK".into(),
            location: Location {
                line: 1,
                column: 1,
                end_line: 1,
                end_column: 5,
                ..Location::file(path.to_string())
            },
            references: vec!["DL3057".into()],
            evidence: None,
            fix: None,
            related: Vec::new(),
            secret: None,
        };
        let mut findings = vec![f("a/Dockerfile"), f("b/Dockerfile"), f("c/Dockerfile")];
        let report = |findings: Vec<Finding>| Report {
            findings,
            ..Report::default()
        };
        let out = text(&report(findings.clone()), &TextOptions::default());
        assert_eq!(
            out,
            "low[D030] missing-healthcheck: the image has no HEALTHCHECK (3 places)\n  --> a/Dockerfile:1:1\n  --> b/Dockerfile:1:1\n  --> c/Dockerfile:1:1\n   = see: DL3057\n\n3 findings in 1 entry (critical: 0, high: 0, medium: 0, low: 3, info: 0)\n"
        );
        findings.pop();
        let out = text(&report(findings), &TextOptions::default());
        assert!(
            out.ends_with("\n2 findings (critical: 0, high: 0, medium: 0, low: 2, info: 0)\n"),
            "{out}"
        );
    }

    #[test]
    fn tabs_render_as_four_spaces_in_line_and_underline() {
        let src = "\tRUN\tx";
        let out = one(src, loc(src, 4..6));
        assert!(out.contains(" 1 |     RUN    x\n"), "{out}");
        assert!(out.contains("   |        ^^^^^\n"), "{out}");
    }

    #[test]
    fn carets_count_characters_not_bytes() {
        let src = "LABEL é=ü x";
        let out = one(src, loc(src, 6..11));
        assert!(out.contains("   |       ^^^\n"), "{out}");
    }

    #[test]
    fn empty_span_gets_one_caret_even_at_end_of_line() {
        let src = "FROM a\n";
        let out = one(src, loc(src, 6..6));
        assert!(out.contains("   |       ^\n"), "{out}");
    }

    #[test]
    fn hidden_characters_are_replaced() {
        let src = "RUN \u{1b}[2J\u{202E}x";
        let out = one(src, loc(src, 0..3));
        assert!(
            !out.contains('\u{1b}') && !out.contains('\u{202E}'),
            "{out}"
        );
        assert!(out.contains(" 1 | RUN \u{FFFD}[2J\u{FFFD}x\n"), "{out}");
    }

    #[test]
    fn wide_line_numbers_widen_the_gutter() {
        let src = "x\n".repeat(120);
        let out = one(&src, loc(&src, 218..219));
        assert!(
            out.starts_with("low[C1] n: m\n    --> f:110:1\n     |\n 110 | x\n     | ^\n"),
            "{out}"
        );
    }

    #[test]
    fn without_position_or_source_only_the_path_is_shown_with_evidence() {
        let out = one("FROM a", Location::file("f"));
        assert_eq!(
            out,
            "low[C1] n: m\n  --> f\n   = evidence: ev\n\n1 finding (critical: 0, high: 0, medium: 0, low: 1, info: 0)\n"
        );
        let mut elsewhere = loc("FROM a", 0..4);
        elsewhere.path = "g".into();
        let out = one("FROM a", elsewhere);
        assert!(
            out.starts_with("low[C1] n: m\n  --> g:1:1\n   = evidence: ev\n"),
            "{out}"
        );
    }

    #[test]
    fn an_empty_report_says_so() {
        assert_eq!(
            text(&Report::default(), &TextOptions::default()),
            "no findings\n"
        );
        let report = Report {
            errors: vec![InputError {
                path: "p".into(),
                line: None,
                column: None,
                message: "gone".into(),
            }],
            ..Report::default()
        };
        assert_eq!(
            text(&report, &TextOptions::default()),
            "error: p: gone\n\nno findings, 1 error\n"
        );
    }

    #[test]
    fn file_counts_come_before_the_summary_line() {
        let files = FileCounts {
            dockerfile: 2,
            compose: 1,
            daemon: 0,
            script: 1,
            ..FileCounts::default()
        };
        let opts = TextOptions::default();
        assert_eq!(
            text_with_files(&Report::default(), &opts, &files),
            "4 files audited (Dockerfile: 2, compose: 1, daemon.json: 0, script: 1)\nno findings\n"
        );
        let one = FileCounts {
            daemon: 1,
            ..FileCounts::default()
        };
        assert_eq!(
            text_with_files(&Report::default(), &opts, &one),
            "1 file audited (Dockerfile: 0, compose: 0, daemon.json: 1, script: 0)\nno findings\n"
        );
        let engine = FileCounts {
            engines: 2,
            containers: 1,
            images: 3,
            ..FileCounts::default()
        };
        assert_eq!(
            text_with_files(&Report::default(), &opts, &engine),
            "2 engines audited (1 container, 3 images)\nno findings\n"
        );
        assert_eq!(
            text_with_files(&Report::default(), &opts, &FileCounts::default()),
            "no files audited\nno findings\n"
        );
    }

    #[test]
    fn digits_of_line_numbers() {
        assert_eq!([0, 1, 9, 10, 99, 100].map(digits), [1, 1, 1, 2, 2, 3]);
    }
}

//! Test helper for rule unit tests: runs one check on a Dockerfile given as text.

use moat_diagnostics::SourceFile;

use crate::config::Settings;
use crate::context::{DockerfileContext, Emitter};

/// A rule's check function.
type CheckFn = fn(&DockerfileContext<'_>, &mut Emitter<'_>);

/// Runs `check` on `src` with `settings` and returns `(line, message)` of each finding.
pub fn findings_with(check: CheckFn, src: &str, settings: &Settings) -> Vec<(usize, String)> {
    let file = SourceFile::new("Dockerfile", src);
    let dockerfile = moat_dockerfile::parse(src).expect("test Dockerfile parses");
    let ctx = DockerfileContext::new(&file, &dockerfile, settings);
    let mut out = Emitter::new(&file);
    check(&ctx, &mut out);
    out.into_findings()
        .into_iter()
        .map(|f| (f.location.line, f.message))
        .collect()
}

/// Runs `check` on `src` with default settings and returns the lines of its findings.
pub fn lines(check: CheckFn, src: &str) -> Vec<usize> {
    findings_with(check, src, &Settings::default())
        .into_iter()
        .map(|(l, _)| l)
        .collect()
}

/// Applies every fix `check` offers on `src` (edits in reverse order) and returns the new text.
pub fn apply_fixes(check: CheckFn, src: &str) -> String {
    let file = SourceFile::new("Dockerfile", src);
    let dockerfile = moat_dockerfile::parse(src).expect("test Dockerfile parses");
    let settings = Settings::default();
    let ctx = DockerfileContext::new(&file, &dockerfile, &settings);
    let mut out = Emitter::new(&file);
    check(&ctx, &mut out);
    let mut edits: Vec<_> = out
        .into_findings()
        .into_iter()
        .filter_map(|f| f.fix)
        .flat_map(|f| f.edits)
        .collect();
    edits.sort_by_key(|e| std::cmp::Reverse(e.range.start));
    let mut text = src.to_string();
    for e in edits {
        text.replace_range(e.range, &e.replacement);
    }
    text
}

/// Asserts that the fixes of `check` on `src` give `expected`, which the rule no longer reports.
pub fn assert_fix_converges(check: CheckFn, src: &str, expected: &str) {
    let fixed = apply_fixes(check, src);
    assert_eq!(fixed, expected);
    assert!(
        lines(check, &fixed).is_empty(),
        "still reported after the fix: {fixed}"
    );
}

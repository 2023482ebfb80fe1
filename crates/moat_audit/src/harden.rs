//! `moat harden`: the fixes that findings carry, applied to the files they were found in.
//!
//! A fix is a set of byte-range edits on one file ([`moat_diagnostics::Fix`]), so applying it
//! keeps everything else — comments, formatting, key order, anchors — byte for byte. Each
//! pass audits the current text, takes every applicable fix whose edits do not overlap an
//! edit already taken (a fix is applied whole or not at all), and applies them; the next pass
//! audits the result, so a fix that makes another possible (or a finding with several
//! places) is taken in turn. It stops when a pass has nothing left to apply: the result is a
//! fixed point, and a second run changes nothing. The fixed text must still parse, and a fix
//! whose finding comes back is reported, not applied again.

use std::path::{Path, PathBuf};

use moat_diagnostics::{Applicability, Edit, Finding, InputError, SourceFile, apply_edits};

use crate::auditor::Auditor;
use crate::discover::InputKind;
use crate::sources::{self, FileOutcome, display_path};

/// Passes at most (each applies every fix that does not overlap another).
const MAX_PASSES: usize = 16;

/// What hardening one file gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hardened {
    /// The file.
    pub path: PathBuf,
    /// Its text as read.
    pub original: String,
    /// Its text with the fixes applied (equal to `original` when nothing applied).
    pub fixed: String,
    /// The fixes applied, in order: (rule code, what the fix does).
    pub applied: Vec<(String, String)>,
    /// Findings left that have a fix `--unsafe` would apply: (rule code, what it does).
    pub unsafe_skipped: Vec<(String, String)>,
    /// Fixes whose finding was still there after they were applied (rule codes): kept out.
    pub did_not_hold: Vec<String>,
}

impl Hardened {
    /// Whether anything changed.
    pub fn changed(&self) -> bool {
        self.original != self.fixed
    }
}

fn audit_text(
    auditor: &Auditor,
    path: &Path,
    kind: InputKind,
    text: &str,
) -> Result<FileOutcome, InputError> {
    let config = auditor.config_for(path)?;
    let source = SourceFile::new(display_path(path), text.to_string());
    Ok(match kind {
        InputKind::Dockerfile => sources::audit_dockerfile(&source, &config),
        InputKind::Compose => sources::audit_compose(path, &source, &config),
        InputKind::Daemon => sources::audit_daemon(&source, &config),
        InputKind::Script => sources::audit_script(&source, &config),
    })
}

/// The fixes of `findings` on `path` that may be applied, as non-overlapping whole fixes:
/// (code, message, edits).
fn applicable<'a>(
    findings: &'a [Finding],
    shown: &str,
    allow_unsafe: bool,
    held_back: &[String],
) -> Vec<(&'a Finding, &'a [Edit])> {
    let mut candidates: Vec<(&Finding, &[Edit])> = findings
        .iter()
        .filter(|f| f.location.path == shown && !held_back.contains(&f.code))
        .filter_map(|f| {
            let fix = f.fix.as_ref()?;
            let ok = allow_unsafe || fix.applicability == Applicability::Safe;
            (ok && !fix.edits.is_empty()).then_some((f, fix.edits.as_slice()))
        })
        .collect();
    candidates.sort_by_key(|(_, edits)| edits.iter().map(|e| e.range.start).min());
    let mut taken: Vec<std::ops::Range<usize>> = Vec::new();
    let mut out = Vec::new();
    for (f, edits) in candidates {
        let overlaps = edits.iter().any(|e| {
            taken.iter().any(|t| {
                // two insertions at one place, or ranges that share a byte
                (e.range.start < t.end && t.start < e.range.end)
                    || (e.range.start == t.start)
                    || (e.range.is_empty() && t.start < e.range.start && e.range.start < t.end)
            })
        });
        if !overlaps {
            taken.extend(edits.iter().map(|e| e.range.clone()));
            out.push((f, edits));
        }
    }
    out
}

/// Every edit of `fixes`, in order.
fn edits_sorted<'a>(fixes: &[(&Finding, &'a [Edit])]) -> Vec<&'a Edit> {
    let mut edits: Vec<&Edit> = fixes.iter().flat_map(|(_, e)| e.iter()).collect();
    edits.sort_by_key(|e| (e.range.start, e.range.end));
    edits
}

/// The line (1-based) in `after` of the byte `at` of the text that `edits` (sorted) turned
/// into `after`.
fn line_after(after: &str, edits: &[&Edit], at: usize) -> usize {
    let (mut added, mut removed) = (0, 0);
    for e in edits {
        if e.range.end <= at && !(e.range.is_empty() && e.range.start == at) {
            added += e.replacement.len();
            removed += e.range.len();
        }
    }
    let end = (at + added).saturating_sub(removed).min(after.len());
    let head = (0..=end).rev().find_map(|i| after.get(..i)).unwrap_or("");
    head.matches('\n').count() + 1
}

/// Hardens one file of `kind`: applies its findings' fixes (unsafe ones only with
/// `allow_unsafe`) until nothing more applies. Errors: the file cannot be read, is not
/// UTF-8, does not parse (nothing to fix then), or would not parse after the fixes (a bug:
/// nothing is applied).
pub fn harden_file(
    auditor: &Auditor,
    path: &Path,
    kind: InputKind,
    allow_unsafe: bool,
) -> Result<Hardened, Vec<InputError>> {
    let shown = display_path(path);
    let original = match std::fs::read(path) {
        Ok(b) => String::from_utf8(b).map_err(|_| {
            vec![InputError {
                path: shown.clone(),
                line: None,
                column: None,
                message: "file is not valid UTF-8".into(),
            }]
        })?,
        Err(e) => {
            return Err(vec![InputError {
                path: shown,
                line: None,
                column: None,
                message: format!("cannot read: {e}"),
            }]);
        }
    };
    let mut text = original.clone();
    let mut applied = Vec::new();
    let mut did_not_hold: Vec<String> = Vec::new();
    let mut outcome = audit_text(auditor, path, kind, &text).map_err(|e| vec![e])?;
    if !outcome.errors.is_empty() {
        return Err(outcome.errors);
    }
    for _ in 0..MAX_PASSES {
        let fixes = applicable(&outcome.findings, &shown, allow_unsafe, &did_not_hold);
        if fixes.is_empty() {
            break;
        }
        let edits = edits_sorted(&fixes);
        let next = apply_edits(&text, edits.iter().copied());
        let after = audit_text(auditor, path, kind, &next).map_err(|e| vec![e])?;
        if !after.errors.is_empty() {
            let mut errors = vec![InputError {
                path: shown.clone(),
                line: None,
                column: None,
                message: format!(
                    "the fixes ({}) would leave a file that does not parse; nothing applied",
                    fixes
                        .iter()
                        .map(|(f, _)| f.code.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }];
            errors.extend(after.errors);
            return Err(errors);
        }
        // a fix holds when its rule reports nothing any more where it edited (another fix
        // may bring the same rule up elsewhere: `apt` made `apt-get` meets the apt-get rules)
        let mut regressed = false;
        for (f, fix_edits) in &fixes {
            let at = fix_edits.iter().map(|e| e.range.start).min().unwrap_or(0);
            let line = line_after(&next, &edits, at);
            let back = after.findings.iter().any(|g| {
                g.code == f.code
                    && g.fix.is_some()
                    && g.location.line <= line
                    && line <= g.location.end_line.max(g.location.line)
            });
            if back && !did_not_hold.contains(&f.code) {
                did_not_hold.push(f.code.clone());
                regressed = true;
            }
        }
        if regressed {
            // try again without the fixes that did not hold, from the same text
            continue;
        }
        applied.extend(fixes.iter().map(|(f, _)| {
            (
                f.code.clone(),
                f.fix
                    .as_ref()
                    .map(|x| x.message.clone())
                    .unwrap_or_default(),
            )
        }));
        text = next;
        outcome = after;
    }
    let unsafe_skipped = if allow_unsafe {
        Vec::new()
    } else {
        outcome
            .findings
            .iter()
            .filter(|f| f.location.path == shown)
            .filter_map(|f| {
                let fix = f.fix.as_ref()?;
                (fix.applicability == Applicability::Unsafe)
                    .then(|| (f.code.clone(), fix.message.clone()))
            })
            .collect()
    };
    Ok(Hardened {
        path: path.to_path_buf(),
        original,
        fixed: text,
        applied,
        unsafe_skipped,
        did_not_hold,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auditor::AuditOptions;

    fn harden(name: &str, text: &str, kind: InputKind, allow_unsafe: bool) -> Hardened {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let auditor = Auditor::new(AuditOptions::default());
        harden_file(&auditor, &path, kind, allow_unsafe).unwrap()
    }

    #[test]
    fn dockerfile_fixes_apply_keep_the_rest_and_converge() {
        let text = "# build stage\nFROM debian:12.5\nMAINTAINER someone@example.com\n# deps\nRUN apt-get update && apt-get install curl\nADD app.py /srv/\nCMD python3 /srv/app.py\n";
        let h = harden("Dockerfile", text, InputKind::Dockerfile, false);
        assert!(h.changed());
        // comments and untouched lines are kept byte for byte
        assert!(h.fixed.starts_with("# build stage\nFROM debian:12.5\n"));
        assert!(h.fixed.contains("\n# deps\n"));
        assert!(h.fixed.contains("COPY app.py /srv/"), "{}", h.fixed);
        assert!(h.fixed.contains("--no-install-recommends"), "{}", h.fixed);
        assert!(h.fixed.contains(" -y"), "{}", h.fixed);
        // the shell-form CMD is unsafe: left, and said so
        assert!(h.fixed.contains("CMD python3 /srv/app.py"));
        assert!(!h.unsafe_skipped.is_empty(), "{h:#?}");
        // a second run changes nothing
        let again = harden("Dockerfile", &h.fixed, InputKind::Dockerfile, false);
        assert!(!again.changed(), "{}", again.fixed);
        // with unsafe fixes, the CMD is rewritten too, and that converges as well
        let u = harden("Dockerfile", text, InputKind::Dockerfile, true);
        assert!(
            u.fixed.contains("CMD [\"python3\", \"/srv/app.py\"]"),
            "{}",
            u.fixed
        );
        assert!(u.unsafe_skipped.is_empty());
        assert!(!harden("Dockerfile", &u.fixed, InputKind::Dockerfile, true).changed());
        assert!(h.did_not_hold.is_empty() && u.did_not_hold.is_empty());
    }

    #[test]
    fn a_file_that_does_not_parse_is_an_error_and_nothing_is_fixed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("daemon.json");
        std::fs::write(&path, "{\"icc\": true,").unwrap();
        let auditor = Auditor::new(AuditOptions::default());
        let errs = harden_file(&auditor, &path, InputKind::Daemon, true).unwrap_err();
        assert!(!errs.is_empty());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\"icc\": true,");
    }

    #[test]
    fn daemon_json_keeps_the_user_s_keys() {
        let text = "{\n  \"data-root\": \"/srv/docker\",\n  \"icc\": true,\n  \"log-level\": \"debug\"\n}\n";
        let h = harden("daemon.json", text, InputKind::Daemon, true);
        let v: serde_json::Value = serde_json::from_str(&h.fixed).unwrap();
        assert_eq!(v["data-root"], "/srv/docker");
        assert_eq!(v["icc"], false, "{}", h.fixed);
        assert_eq!(v["log-level"], "info");
        assert!(!harden("daemon.json", &h.fixed, InputKind::Daemon, true).changed());
    }
}

//! What the daemon rules share. A finding about a key that is present points at the whole entry
//! (`"icc": true`); one about a key that is absent points at the top-level object, where the
//! key belongs.

use moat_deploy::{DaemonFacts, JsonValue, Located};
use moat_diagnostics::{Applicability, Edit, Fix, Location, RuleInfo};

use crate::context::Emitter;


/// The last entry of top-level `key` (the one the daemon keeps when a key is repeated).
pub(crate) fn entry<'a>(
    facts: &'a DaemonFacts,
    key: &str,
) -> Option<&'a (Located<String>, Located<JsonValue>)> {
    facts.keys.iter().rev().find(|(k, _)| k.value == key)
}

/// Where a finding about top-level `key` points: from the key to the end of its value when the
/// value fits on the key's line, the key alone otherwise; the top-level object when the key is
/// absent.
pub(crate) fn key_location(facts: &DaemonFacts, key: &str) -> Location {
    let Some((k, v)) = entry(facts, key) else {
        return facts.location.clone();
    };
    let (k, v) = (&k.location, &v.location);
    if v.line != k.line || v.end_line != k.line {
        return k.clone();
    }
    Location {
        end_line: v.end_line,
        end_column: v.end_column,
        span: match (&k.span, &v.span) {
            (Some(ks), Some(vs)) => Some(ks.start..vs.end),
            _ => None,
        },
        ..k.clone()
    }
}

/// A fix that writes `replacement` (JSON text) in place of the value of top-level `key`; none
/// when the key is absent or its value has no byte span. Changing a daemon setting changes what
/// the daemon does, so the fix is always unsafe.
pub(crate) fn replace_value(
    facts: &DaemonFacts,
    key: &str,
    replacement: &str,
    message: impl Into<String>,
) -> Option<Fix> {
    let (_, v) = entry(facts, key)?;
    let range = v.location.span.clone()?;
    Some(Fix {
        message: message.into(),
        applicability: Applicability::Unsafe,
        edits: vec![Edit {
            range,
            replacement: replacement.to_string(),
        }],
    })
}

/// A fix that adds `"key": value` (`value` is JSON text) as the first entry of the top-level
/// object, for a key that is absent (unsafe, like every daemon change).
pub(crate) fn insert_key(
    facts: &DaemonFacts,
    key: &str,
    value: &str,
    message: impl Into<String>,
) -> Option<Fix> {
    let object = facts.location.span.clone()?;
    let (at, replacement) = match facts.keys.first() {
        Some((first, _)) => {
            let start = first.location.span.clone()?.start;
            let sep = if first.location.line > facts.location.line {
                format!("\n{}", " ".repeat(first.location.column.saturating_sub(1)))
            } else {
                " ".to_string()
            };
            (start, format!("\"{key}\": {value},{sep}"))
        }
        None => (object.start + 1, format!("\"{key}\": {value}")),
    };
    Some(Fix {
        message: message.into(),
        applicability: Applicability::Unsafe,
        edits: vec![Edit {
            range: at..at,
            replacement,
        }],
    })
}

/// A boolean top-level key that a rule wants to be `want`.
pub(crate) struct BoolKey<'a> {
    /// The key in daemon.json.
    pub key: &'static str,
    /// Its value, as read.
    pub value: Option<&'a Located<bool>>,
    /// The value the rule wants.
    pub want: bool,
    /// The message when the key is set to the other value.
    pub wrong: &'a str,
    /// The message when the key is absent and its default is the other value; `None` when an
    /// absent key is fine.
    pub absent: Option<&'a str>,
}

/// Reports `k` when it is not `k.want`: set to the other value (the fix writes the wanted
/// value) or absent with a wrong default (the fix adds the key). The "key must be X" shape that
/// most daemon rules share.
pub(crate) fn report_bool_key(
    facts: &DaemonFacts,
    info: &RuleInfo,
    k: &BoolKey<'_>,
    out: &mut Emitter<'_>,
) {
    let want = if k.want { "true" } else { "false" };
    let (message, fix) = match (k.value, k.absent) {
        (Some(v), _) if v.value == k.want => return,
        (None, None) => return,
        // a live daemon's `/info` does not report every setting: unknown is not "absent"
        (None, Some(_)) if facts.is_unknown(k.key) => return,
        (Some(_), _) => (
            k.wrong,
            replace_value(
                facts,
                k.key,
                want,
                format!("set `{}` to `{want}`", k.key),
            ),
        ),
        (None, Some(absent)) => (
            absent,
            insert_key(
                facts,
                k.key,
                want,
                format!("add `\"{}\": {want}`", k.key),
            ),
        ),
    };
    out.emit_at(info, key_location(facts, k.key), message).fix = fix;
}

#[cfg(test)]
pub(crate) mod testing {
    //! Runs one daemon check on a daemon.json given as text.

    use moat_diagnostics::SourceFile;

    use crate::config::Settings;
    use crate::context::{DaemonContext, Emitter};

    type CheckFn = fn(&DaemonContext<'_>, &mut Emitter<'_>);

    /// The findings of `check` on `json`.
    fn run(check: CheckFn, json: &str) -> Vec<moat_diagnostics::Finding> {
        let file = SourceFile::new("daemon.json", json);
        let facts =
            moat_deploy::parse_daemon_config(json, "daemon.json").expect("test JSON parses");
        let settings = Settings::default();
        let ctx = DaemonContext {
            facts: &facts,
            settings: &settings,
        };
        let mut out = Emitter::new(&file);
        check(&ctx, &mut out);
        out.into_findings()
    }

    /// `(line, message)` of each finding of `check` on `json`.
    pub fn findings(check: CheckFn, json: &str) -> Vec<(usize, String)> {
        run(check, json)
            .into_iter()
            .map(|f| (f.location.line, f.message))
            .collect()
    }

    /// The severity of each finding of `check` on `json`.
    pub fn severities(check: CheckFn, json: &str) -> Vec<crate::rule::Severity> {
        run(check, json).into_iter().map(|f| f.severity).collect()
    }

    /// The lines of the findings of `check` on `json`.
    pub fn lines(check: CheckFn, json: &str) -> Vec<usize> {
        findings(check, json).into_iter().map(|(l, _)| l).collect()
    }

    /// Applies every fix of `check` on `json` and returns the new text.
    pub fn apply_fixes(check: CheckFn, json: &str) -> String {
        let fixes: Vec<_> = run(check, json).into_iter().filter_map(|f| f.fix).collect();
        moat_diagnostics::apply_edits(json, fixes.iter().flat_map(|f| f.edits.iter()))
    }

    /// Asserts that the fixes of `check` on `json` give `expected`, valid JSON that the rule no
    /// longer reports.
    pub fn assert_fix_converges(check: CheckFn, json: &str, expected: &str) {
        let fixed = apply_fixes(check, json);
        assert_eq!(fixed, expected);
        assert!(
            lines(check, &fixed).is_empty(),
            "still reported after the fix: {fixed}"
        );
    }
}

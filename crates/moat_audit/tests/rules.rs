//! One fixture and one snapshot per rule: `tests/fixtures/dockerfile/<CODE>.Dockerfile` is
//! audited with only that rule enabled, and the rendered findings are compared with
//! `tests/snapshots/rules__<CODE>.snap`. Orphan fixtures and snapshots fail the suite.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use moat_audit::config::{Config, Overrides};
use moat_audit::discover::InputKind;
use moat_audit::rule::Check;
use moat_audit::rules;
use moat_audit::sources;
use moat_audit::sources::audit_dockerfile;
use moat_diagnostics::report::{self, TextOptions};
use moat_diagnostics::{Report, SourceFile};

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/dockerfile")
}

fn config_for(code: &str) -> Config {
    // Engine rules (such as unused-ignore) judge what the other rules did: run them all.
    let engine = rules::by_code(code).is_some_and(|r| matches!(r.check, Check::Meta));
    let select = if engine {
        Vec::new()
    } else {
        vec![code.to_string()]
    };
    let overrides = Overrides {
        select,
        ..Overrides::default()
    };
    // Fixtures may carry their own settings in a sibling `<CODE>.moat.toml`.
    let cfg = fixtures_dir().join(format!("{code}.moat.toml"));
    if cfg.exists() {
        let text = std::fs::read_to_string(&cfg).unwrap();
        Config::parse(
            &cfg.display().to_string(),
            &text,
            &fixtures_dir(),
            &overrides,
        )
        .unwrap()
    } else {
        Config::defaults(&fixtures_dir(), &overrides).unwrap()
    }
}

/// The fixture of a rule: `dockerfile/<CODE>.Dockerfile`, `compose/<CODE>.compose.yaml`,
/// `daemon/<CODE>.daemon.json` or `scripts/<CODE>.sh` under `tests/fixtures`.
fn fixture_of(code: &str) -> Option<(PathBuf, InputKind)> {
    let base = Path::new("tests/fixtures");
    [
        (
            format!("dockerfile/{code}.Dockerfile"),
            InputKind::Dockerfile,
        ),
        (format!("compose/{code}.compose.yaml"), InputKind::Compose),
        (format!("daemon/{code}.daemon.json"), InputKind::Daemon),
        (format!("scripts/{code}.sh"), InputKind::Script),
    ]
    .into_iter()
    .map(|(p, k)| (base.join(p), k))
    .find(|(p, _)| Path::new(env!("CARGO_MANIFEST_DIR")).join(p).is_file())
}

/// Audits a fixture with one rule: its findings (only that rule's) and the sources they point into.
fn audit_fixture(code: &str) -> (Vec<moat_diagnostics::Finding>, Vec<SourceFile>) {
    let (path, kind) = fixture_of(code).unwrap_or_else(|| panic!("rule {code} has no fixture"));
    // fixture paths are relative to the crate, where cargo runs tests
    std::env::set_current_dir(env!("CARGO_MANIFEST_DIR")).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let config = config_for(code);
    let outcome = if kind == InputKind::Dockerfile {
        let source = SourceFile::new(format!("{code}.Dockerfile"), text);
        let mut o = audit_dockerfile(&source, &config);
        o.sources.push(source);
        o
    } else {
        let source = SourceFile::new(path.to_string_lossy().into_owned(), text);
        match kind {
            InputKind::Compose => sources::audit_compose(&path, &source, &config),
            InputKind::Daemon => sources::audit_daemon(&source, &config),
            _ => sources::audit_script(&source, &config),
        }
    };
    assert!(
        outcome.errors.is_empty(),
        "fixture of {code} does not parse: {:?}",
        outcome.errors
    );
    let engine = rules::by_code(code).is_some_and(|r| matches!(r.check, Check::Meta));
    let findings: Vec<_> = outcome
        .findings
        .into_iter()
        .filter(|f| !engine || f.code == code)
        .collect();
    for f in &findings {
        assert_eq!(f.code, code, "fixture of {code} raised another rule");
    }
    (findings, outcome.sources)
}

/// Audits a fixture with one rule and renders the findings as plain text.
fn render_rule(code: &str) -> (usize, String) {
    let (findings, sources) = audit_fixture(code);
    let count = findings.len();
    let mut report = Report {
        findings,
        ..Report::default()
    };
    for src in sources {
        report.sources.insert(src.path.clone(), src);
    }
    (
        count,
        report::text(
            &report,
            &TextOptions {
                color: false,
                show_fixes: true,
            },
        ),
    )
}

/// Rules that only facts of a live engine trigger (processes, image ids and ages, swarm
/// state): no file can show them. Their tests are in their own files and against the real
/// engine (`crates/moat/tests/engine.rs`).
const LIVE_ONLY: &[&str] = &["C033", "C034", "H014", "I001"];

#[test]
fn every_rule_matches_its_snapshot() {
    // `MOAT_RULE_FILTER=D0` checks only the rules whose code starts with that prefix.
    let filter = std::env::var("MOAT_RULE_FILTER").unwrap_or_default();
    for rule in rules::all().filter(|r| r.info.code.starts_with(filter.as_str())) {
        let code = rule.info.code;
        if LIVE_ONLY.contains(&code) {
            continue;
        }
        let (count, rendered) = render_rule(code);
        assert!(
            count > 0,
            "fixture of {code} raises no finding: it must show the rule firing"
        );
        insta::with_settings!({ snapshot_path => "snapshots", prepend_module_to_snapshot => false }, {
            insta::assert_snapshot!(format!("rules__{code}"), rendered);
        });
    }
}

#[test]
fn no_orphan_fixtures_or_snapshots() {
    let codes: BTreeSet<String> = rules::all().map(|r| r.info.code.to_string()).collect();
    for dir in ["dockerfile", "compose", "daemon", "scripts"] {
        let Ok(entries) = std::fs::read_dir(fixtures_dir().join("..").join(dir)) else {
            continue;
        };
        for entry in entries {
            let name = entry.unwrap().file_name().to_string_lossy().to_string();
            let code = name.split('.').next().unwrap_or_default();
            assert!(
                codes.contains(code),
                "fixture {dir}/{name} belongs to no rule"
            );
        }
    }
    let snaps = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots");
    for entry in std::fs::read_dir(snaps).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().to_string();
        let Some(code) = name
            .strip_prefix("rules__")
            .and_then(|n| n.strip_suffix(".snap"))
        else {
            continue;
        };
        assert!(codes.contains(code), "snapshot {name} belongs to no rule");
    }
}

#[test]
fn every_rule_is_documented() {
    let mut seen = BTreeSet::new();
    for rule in rules::all() {
        let docs = rule.docs();
        for section in [
            "## What it does",
            "## Why is this bad?",
            "## Example",
            "## Fix",
            "## References",
        ] {
            assert!(
                docs.contains(section),
                "rule {} lacks `{section}` in its docs",
                rule.info.code
            );
        }
        assert!(
            seen.insert(rule.info.code),
            "code {} is registered twice",
            rule.info.code
        );
        assert!(
            rule.info
                .name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
            "name of {} is not kebab-case",
            rule.info.code
        );
        for r in rule.info.references {
            if r.starts_with("CIS") {
                let id = r
                    .strip_prefix("CIS-DOCKER-")
                    .unwrap_or_else(|| panic!("bad CIS id {r}"));
                assert!(
                    id.split('.').all(|n| n.parse::<u32>().is_ok()),
                    "bad CIS id {r}"
                );
            }
            if let Some(number) = r.strip_prefix("DL") {
                assert!(
                    number.len() == 4 && number.parse::<u32>().is_ok(),
                    "bad hadolint code {r}"
                );
            }
        }
    }
}

/// Applying a rule's fixes to its fixture and auditing again must remove exactly the findings
/// that were fixed, and the fixed file must still parse (fixes converge).
#[test]
fn fixes_converge() {
    let mut checked = 0;
    for rule in rules::all().filter(|r| matches!(r.check, Check::Dockerfile(_))) {
        let code = rule.info.code;
        let Some((path, InputKind::Dockerfile)) = fixture_of(code) else {
            continue;
        };
        let text =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(&path)).unwrap();
        let config = config_for(code);
        let before = audit_dockerfile(&SourceFile::new("Dockerfile", text.clone()), &config);
        let fixes: Vec<_> = before
            .findings
            .iter()
            .filter_map(|f| f.fix.as_ref())
            .collect();
        if fixes.is_empty() {
            continue;
        }
        let fixed = moat_diagnostics::apply_edits(&text, fixes.iter().flat_map(|f| f.edits.iter()));
        let after = audit_dockerfile(&SourceFile::new("Dockerfile", fixed.clone()), &config);
        assert!(
            after.errors.is_empty(),
            "{code}: fixed text does not parse: {:?}\n{fixed}",
            after.errors
        );
        assert_eq!(
            after.findings.len(),
            before.findings.len() - fixes.len(),
            "{code}: fixes did not remove exactly the fixed findings:\n{fixed}"
        );
        checked += 1;
    }
    assert!(checked >= 5, "only {checked} rules with fixes were checked");
}

/// A rule declares a fix exactly when findings on its fixture carry one, and declares it
/// `Unsafe` exactly when one of them needs `--unsafe`, so `--list-rules` and `docs/rules.md`
/// say the truth about fixes.
#[test]
fn declared_fix_matches_the_fixtures() {
    use moat_diagnostics::Applicability;
    let mut wrong = Vec::new();
    for rule in rules::all() {
        let code = rule.info.code;
        if fixture_of(code).is_none() || matches!(rule.check, Check::Meta) {
            continue;
        }
        let (findings, _) = audit_fixture(code);
        let kinds: Vec<Applicability> = findings
            .iter()
            .filter_map(|f| f.fix.as_ref().map(|x| x.applicability))
            .collect();
        let seen = if kinds.is_empty() {
            None
        } else if kinds.contains(&Applicability::Unsafe) {
            Some(Applicability::Unsafe)
        } else {
            Some(Applicability::Safe)
        };
        if seen != rule.info.fix {
            wrong.push(format!(
                "{code}: declared fix = {:?}, fixture fixes = {seen:?}",
                rule.info.fix
            ));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

//! The audit on recorded engine answers: what the rules make of daemons this machine does not
//! run. A hardened Engine 24 (user namespaces, no-new-privileges by default, live restore, no
//! inter-container traffic on the default bridge, remote logging, not a swarm node) reports
//! nothing at medium or above; the same engine with those settings undone reports each.

use bollard::models::{NetworkInspect, SystemInfo, SystemVersion};
use moat_audit::config::{Config, Overrides};
use moat_audit::sources::engine::{EngineView, audit_engine};
use moat_deploy::DaemonFacts;
use moat_diagnostics::Severity;
use moat_engine::{ObjectNames, daemon_facts};
use serde::de::DeserializeOwned;

fn load<T: DeserializeOwned>(name: &str) -> T {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn daemon(info: &str, bridge: &str) -> DaemonFacts {
    let info: SystemInfo = load(info);
    let version: SystemVersion = load("docker24-version.json");
    let bridge: NetworkInspect = load(bridge);
    let names = ObjectNames::new("unix:///var/run/docker.sock", false);
    daemon_facts(
        &info,
        Some(&version),
        Some("1.43"),
        Some(&bridge),
        false,
        &names,
    )
}

/// `(code, severity)` of the daemon findings at medium or above.
fn serious(facts: &DaemonFacts) -> Vec<(String, Severity)> {
    let config = Config::defaults(std::path::Path::new("."), &Overrides::default()).unwrap();
    let view = EngineView {
        daemon: Some(facts),
        containers: &[],
        images: &[],
    };
    let mut got: Vec<(String, Severity)> = audit_engine(&view, &config, None)
        .findings
        .into_iter()
        .filter(|f| f.severity >= Severity::Medium)
        .map(|f| (f.code, f.severity))
        .collect();
    got.sort();
    got
}

#[test]
fn a_hardened_daemon_reports_nothing_at_medium_or_above() {
    let hardened = daemon(
        "docker24-info-hardened.json",
        "docker24-network-bridge-noicc.json",
    );
    assert_eq!(serious(&hardened), []);
}

#[test]
fn the_same_daemon_unhardened_reports_each_gap() {
    // Engine 25 with seccomp unconfined by default and aufs, icc on (Docker 20's bridge)
    let weak = daemon("docker24-info-userns.json", "docker20-network-bridge.json");
    let codes: Vec<String> = serious(&weak).into_iter().map(|(c, _)| c).collect();
    for code in ["H003", "H012", "H013"] {
        assert!(codes.iter().any(|c| c == code), "{code} missing: {codes:?}");
    }
}

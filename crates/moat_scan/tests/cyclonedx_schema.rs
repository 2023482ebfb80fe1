//! The SBOM validates against the CycloneDX 1.6 JSON schema (read in place from
//! `../shared/schemas/cyclonedx/`, with the SPDX and JSF schemas it refers to).

use std::path::{Path, PathBuf};

use moat_scan::cyclonedx::{Vulnerability, bom};
use moat_scan::model::{Ecosystem, Inventory, OsRelease, Package};
use serde_json::Value;

fn schemas() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/schemas/cyclonedx")
}

fn read(name: &str) -> Value {
    let path = schemas().join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (the schemas live in ../shared)", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn package(ecosystem: Ecosystem, name: &str, version: &str, path: &str) -> Package {
    Package {
        ecosystem,
        name: name.into(),
        version: version.into(),
        source_name: None,
        source_version: None,
        path: path.into(),
        layer: Some(0),
    }
}

/// Serves the schemas the CycloneDX schema refers to from `../shared`, never the network.
struct Local;

impl jsonschema::Retrieve for Local {
    fn retrieve(
        &self,
        uri: &jsonschema::Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let name = uri.as_str().rsplit('/').next().unwrap_or_default();
        match name {
            "spdx.schema.json" | "jsf-0.82.schema.json" => Ok(read(name)),
            _ => Err(format!("no local copy of {uri}").into()),
        }
    }
}

#[test]
fn the_sbom_matches_cyclonedx_1_6() {
    let mut libssl = package(
        Ecosystem::Debian("12".into()),
        "libssl3",
        "3.0.11-1~deb12u2",
        "var/lib/dpkg/status",
    );
    libssl.source_name = Some("openssl".into());
    let inventory = Inventory {
        os: Some(OsRelease {
            id: "debian".into(),
            version_id: Some("12".into()),
            pretty_name: Some("Debian GNU/Linux 12 (bookworm)".into()),
            end_of_life: Some(false),
        }),
        packages: vec![
            libssl,
            package(Ecosystem::CratesIo, "time", "0.1.44", "app/Cargo.lock"),
            package(
                Ecosystem::Npm,
                "@babel/traverse",
                "7.22.0",
                "app/package-lock.json",
            ),
        ],
        layers: vec!["sha256:00".into()],
        warnings: Vec::new(),
    };
    let vulns = vec![
        Vulnerability {
            id: "CVE-2023-5678".into(),
            aliases: vec!["DSA-5585-1".into()],
            source: "OSV".into(),
            summary: Some("excessive time spent in DH key generation".into()),
            severity: "medium".into(),
            score: Some(5.3),
            vector: Some("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L".into()),
            fixed_versions: vec!["3.0.13-1~deb12u1".into()],
            affects: vec![0],
        },
        Vulnerability {
            id: "RUSTSEC-2020-0071".into(),
            aliases: vec!["CVE-2020-26235".into()],
            source: "OSV".into(),
            summary: None,
            severity: "unknown".into(),
            score: None,
            vector: None,
            fixed_versions: vec![],
            affects: vec![1],
        },
    ];
    let sbom = bom(
        "example/api:1.4",
        &inventory,
        &vulns,
        "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79",
        "2026-12-04T18:00:00Z",
    );
    let schema = read("bom-1.6.schema.json");
    let validator = jsonschema::options()
        .with_retriever(Local)
        .build(&schema)
        .expect("the CycloneDX schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&sbom)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{}\n{sbom:#}", errors.join("\n"));
    // the validator does reject what the schema does not allow
    let mut broken = sbom.clone();
    broken["vulnerabilities"][0]["ratings"][0]["severity"] = "severe".into();
    assert!(!validator.is_valid(&broken));
    assert_eq!(sbom["components"].as_array().unwrap().len(), 3);
    assert_eq!(
        sbom["vulnerabilities"][0]["affects"][0]["ref"],
        sbom["components"][0]["bom-ref"]
    );
}

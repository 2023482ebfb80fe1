//! `moat scan` end to end on a real Debian image built here (`scripts/scan-fixture.sh`: a
//! debootstrap bookworm root filesystem imported into the engine, plus a layer with the example
//! API, a vulnerable Cargo.lock, a planted secret and a whiteout), scanned from the engine by
//! name, as a `docker save` tarball, as an OCI layout and as an oci-archive: the same findings
//! each way. Also a synthetic Alpine 3.11 root filesystem against Alpine's real secfixes, the
//! reports against their schemas (SARIF 2.1.0, CycloneDX 1.6), the policy (severity, unfixed,
//! ignores with expiry, exit codes) and the errors a user meets.
//!
//! Without an engine the image tests are skipped (a line on stderr), unless
//! `MOAT_REQUIRE_DOCKER=1` (CI), where that is a failure.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::Value;

fn moat(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_moat"))
        .args(args)
        .current_dir(dir)
        .env_remove("XDG_CACHE_HOME")
        .output()
        .unwrap()
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn shared() -> PathBuf {
    repo().join("../shared")
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/scan")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", stdout(o), stderr(o)))
}

/// The advisory database of the tests: the Debian 12 records written for the fixture image,
/// the real RustSec and Go data and Alpine 3.11's secfixes, built once.
fn database() -> &'static Path {
    static DB: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, path) = DB.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("adv.db");
        let o = moat(
            dir.path(),
            &[
                "db",
                "import",
                "--db",
                db.to_str().unwrap(),
                fixtures().join("debian12").to_str().unwrap(),
                shared().join("advisories/osv/rust").to_str().unwrap(),
                shared().join("advisories/osv/Go").to_str().unwrap(),
                shared()
                    .join("advisories/alpine-secdb/v3.11/main.yaml")
                    .to_str()
                    .unwrap(),
            ],
        );
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        (dir, db)
    });
    path
}

/// The fixture's folder, built (or reused) once per test run; `None` (skipped) without an
/// engine unless it is required.
fn fixture() -> Option<&'static Path> {
    static FIXTURE: OnceLock<Option<PathBuf>> = OnceLock::new();
    FIXTURE
        .get_or_init(|| {
            let required = std::env::var("MOAT_REQUIRE_DOCKER").is_ok_and(|v| v == "1");
            let engine = Command::new("docker")
                .args(["version", "--format", "{{.Server.Version}}"])
                .output()
                .is_ok_and(|o| o.status.success());
            if !engine {
                assert!(!required, "MOAT_REQUIRE_DOCKER=1 but no Docker engine answers");
                eprintln!(
                    "skipped: no Docker engine (the scan fixture image needs one); set MOAT_REQUIRE_DOCKER=1 to require it"
                );
                return None;
            }
            let out = std::env::var_os("CARGO_TARGET_DIR")
                .map_or_else(|| repo().join("target"), PathBuf::from)
                .join("scan-fixture");
            let o = Command::new(repo().join("scripts/scan-fixture.sh"))
                .arg(&out)
                .output()
                .unwrap();
            assert!(
                o.status.success(),
                "scripts/scan-fixture.sh failed:\n{}",
                stderr(&o)
            );
            Some(out)
        })
        .as_deref()
}

/// Removes the fixture's images from the engine when dropped (the archives stay in the build
/// folder: the next run loads them back in seconds).
struct Images<'a>(&'a Path);

impl Drop for Images<'_> {
    fn drop(&mut self) {
        let o = Command::new(repo().join("scripts/scan-fixture.sh"))
            .arg("--clean")
            .arg(self.0)
            .output();
        if let Ok(o) = o
            && !o.status.success()
        {
            eprintln!("scan-fixture --clean: {}", stderr(&o));
        }
    }
}

/// `(advisory, looked-up package, version)` of a JSON report.
fn findings(v: &Value) -> BTreeSet<(String, String, String)> {
    v["vulnerabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["id"].as_str().unwrap().to_string(),
                x["package"].as_str().unwrap().to_string(),
                x["version"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn set(items: &[(&str, &str, &str)]) -> BTreeSet<(String, String, String)> {
    items
        .iter()
        .map(|(a, b, c)| ((*a).to_string(), (*b).to_string(), (*c).to_string()))
        .collect()
}

/// What the fixture image must give: the Debian advisories by source package (unfixed ones
/// and two fixed after the installed version) and the RustSec advisories of /app/Cargo.lock.
fn expected() -> BTreeSet<(String, String, String)> {
    set(&[
        ("DEBIAN-CVE-2011-3374", "apt", "2.6.1"),
        ("DEBIAN-CVE-2022-0563", "util-linux", "2.38.1-5+deb12u3"),
        ("DEBIAN-CVE-2017-18018", "coreutils", "9.1-1"),
        ("DEBIAN-CVE-2005-2541", "tar", "1.34+dfsg-1.2+deb12u1"),
        ("DEBIAN-CVE-2019-1010022", "glibc", "2.36-9+deb12u14"),
        ("DEBIAN-CVE-2013-4392", "systemd", "252.39-1~deb12u2"),
        ("DEBIAN-CVE-2011-4116", "perl", "5.36.0-7+deb12u3"),
        ("DEBIAN-CVE-2026-27171", "zlib", "1:1.2.13.dfsg-1"),
        ("DEBIAN-CVE-2026-8376", "perl", "5.36.0-7+deb12u3"),
        ("RUSTSEC-2021-0078", "hyper", "0.14.9"),
        ("RUSTSEC-2021-0079", "hyper", "0.14.9"),
        ("RUSTSEC-2022-0022", "hyper", "0.14.9"),
        ("RUSTSEC-2022-0013", "regex", "1.5.4"),
        ("RUSTSEC-2018-0018", "smallvec", "0.6.10"),
        ("RUSTSEC-2021-0003", "smallvec", "0.6.10"),
        ("RUSTSEC-2020-0071", "time", "0.1.45"),
    ])
}

/// The secret values planted in the fixture: no report may show them.
const PLANTED: [&str; 2] = [
    "AKIAYS4VL64KAFD2NASL",
    "ghp_NNjGupIwhziQMWD2bfj2kjUqt9kzd8CubKr4",
];

fn scan(dir: &Path, target: &str, extra: &[&str]) -> Output {
    let db = database().to_str().unwrap().to_string();
    let mut args = vec!["scan", "--db", db.as_str()];
    args.extend_from_slice(extra);
    args.push(target);
    moat(dir, &args)
}

#[test]
fn the_same_findings_from_the_engine_an_archive_and_oci_layouts() {
    let Some(out) = fixture() else {
        return;
    };
    let images = Images(out);
    let tmp = tempfile::tempdir().unwrap();
    let targets = [
        ("moat-scan-fixture/debian-api:1".to_string(), "engine"),
        (
            out.join("debian-api.docker.tar").display().to_string(),
            "archive",
        ),
        (
            format!(
                "docker-archive:{}",
                out.join("debian-api.docker.tar").display()
            ),
            "docker-archive",
        ),
        (
            out.join("debian-api.oci").display().to_string(),
            "oci-layout",
        ),
        (
            format!("oci-archive:{}", out.join("debian-api.oci.tar").display()),
            "oci-archive",
        ),
    ];
    let mut reports = Vec::new();
    for (target, kind) in &targets {
        let o = scan(tmp.path(), target, &["-f", "json"]);
        assert_eq!(o.status.code(), Some(1), "{target}: {}", stderr(&o));
        let v = json(&o);
        assert_eq!(v["version"], 1);
        assert_eq!(v["target"]["kind"], *kind, "{target}");
        assert_eq!(findings(&v), expected(), "{target}");
        reports.push((target.clone(), v));
    }
    drop(images);
    let (_, first) = &reports[0];
    // the Debian records that must not match: fixed at the installed version, fixed before it
    for absent in [
        "DEBIAN-CVE-2023-31484",
        "DEBIAN-CVE-2023-39804",
        "DEBIAN-CVE-2023-4641",
        "DSA-5514-1",
        "RUSTSEC-2019-0009",
        "RUSTSEC-2019-0012",
        "RUSTSEC-2021-0020",
    ] {
        assert!(
            !findings(first).iter().any(|(id, _, _)| id == absent),
            "{absent}"
        );
    }
    assert_eq!(first["os"]["id"], "debian");
    assert_eq!(first["os"]["version_id"], "12");
    assert_eq!(first["target"]["layers"].as_array().unwrap().len(), 3);
    for (target, v) in &reports {
        // the same packages, each with the layer that brought it
        let packages = |v: &Value| -> BTreeSet<String> {
            v["packages"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| {
                    format!(
                        "{} {} {} {}",
                        p["ecosystem"], p["name"], p["version"], p["layer"]
                    )
                })
                .collect()
        };
        assert_eq!(packages(v), packages(first), "{target}");
        assert_eq!(v["secrets"], first["secrets"], "{target}");
    }
    let packages = first["packages"].as_array().unwrap();
    assert!(packages.len() > 100, "{}", packages.len());
    let hyper = packages.iter().find(|p| p["name"] == "hyper").unwrap();
    assert_eq!(hyper["layer"], 1);
    assert_eq!(hyper["path"], "app/Cargo.lock");
    let zlib = packages.iter().find(|p| p["name"] == "zlib1g").unwrap();
    assert_eq!(zlib["source_name"], "zlib");
    assert_eq!(zlib["layer"], 0);
    assert_eq!(
        zlib["purl"],
        "pkg:deb/debian/zlib1g@1%3A1.2.13.dfsg-1?distro=debian-12"
    );
    // fixed versions and statuses as the records say
    let vuln = |id: &str| {
        first["vulnerabilities"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["id"] == id)
            .unwrap()
            .clone()
    };
    let zlib = vuln("DEBIAN-CVE-2026-27171");
    assert_eq!(zlib["status"], "fixed");
    assert_eq!(zlib["fixed_versions"][0], "1:1.2.13.dfsg-1+deb12u1");
    assert_eq!(zlib["installed"][0]["name"], "zlib1g");
    assert_eq!(vuln("DEBIAN-CVE-2011-3374")["status"], "unfixed");
    let smallvec = vuln("RUSTSEC-2021-0003");
    assert_eq!(smallvec["severity"]["band"], "critical");
    assert_eq!(smallvec["severity"]["source"], "cvss-v3");
    assert_eq!(smallvec["fixed_versions"][0], "0.6.14");
    // secrets: the .env of the API layer and the token set with ENV (not again for its
    // history step), values redacted
    let secrets: Vec<(String, String)> = first["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["code"].as_str().unwrap().to_string(),
                format!(
                    "{}{}:{}",
                    s["path"]
                        .as_str()
                        .or(s["name"].as_str())
                        .unwrap_or_default(),
                    s["line"],
                    s["kind"].as_str().unwrap()
                ),
            )
        })
        .collect();
    assert_eq!(
        secrets,
        [
            (
                "S001".to_string(),
                "app/config/.env4:aws-access-key".to_string()
            ),
            (
                "S001".to_string(),
                "app/config/.env5:high-entropy".to_string()
            ),
            (
                "S002".to_string(),
                "GITHUB_TOKEN1:git-hub-token".to_string()
            ),
        ]
    );
    for (target, v) in &reports {
        let raw = v.to_string();
        for planted in PLANTED {
            assert!(!raw.contains(planted), "{planted} in the JSON of {target}");
        }
    }
}

/// Serves the schemas the CycloneDX schema refers to from `../shared`, never the network.
struct Local(Value, Value);
impl jsonschema::Retrieve for Local {
    fn retrieve(
        &self,
        uri: &jsonschema::Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        match uri.as_str().rsplit('/').next().unwrap_or_default() {
            "spdx.schema.json" => Ok(self.0.clone()),
            "jsf-0.82.schema.json" => Ok(self.1.clone()),
            _ => Err(format!("no local copy of {uri}").into()),
        }
    }
}

#[test]
fn text_sarif_and_cyclonedx_reports() {
    let Some(out) = fixture() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let tar = out.join("debian-api.docker.tar");
    let tar = tar.to_str().unwrap();
    // text: grouped by package, binaries named, fixed versions, counts
    let o = scan(tmp.path(), tar, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let text = stdout(&o);
    for needle in [
        "Debian GNU/Linux 12 (bookworm), 3 layers",
        "zlib 1:1.2.13.dfsg-1 (Debian:12, installed as zlib1g, /var/lib/dpkg/status, layer 0)",
        "fixed in 1:1.2.13.dfsg-1+deb12u1",
        "smallvec 0.6.10 (crates.io, /app/Cargo.lock, layer 1)",
        "RUSTSEC-2021-0003        critical 9.8  fixed in 0.6.14 ",
        "[S001] /app/config/.env:4:19: an AWS access key id",
        "[S002] config Env GITHUB_TOKEN: a GitHub token",
        "16 vulnerabilities in 12 packages (critical 2, high 1, medium 2, unknown 11), 3 secret(s)",
    ] {
        assert!(text.contains(needle), "{needle:?} in\n{text}");
    }
    for planted in PLANTED {
        assert!(!text.contains(planted), "{planted} in\n{text}");
    }

    // SARIF 2.1.0
    let sarif_path = tmp.path().join("scan.sarif");
    let o = scan(
        tmp.path(),
        tar,
        &["-f", "sarif", "-o", sarif_path.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
    let sarif: Value =
        serde_json::from_str(&std::fs::read_to_string(&sarif_path).unwrap()).unwrap();
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(shared().join("schemas/sarif-schema-2.1.0.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&sarif)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    // one result per installed package: util-linux alone has 8 binaries
    assert!(results.len() > 16, "{}", results.len());
    assert!(results.iter().any(|r| r["ruleId"] == "RUSTSEC-2021-0003"
        && r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "app/Cargo.lock"));
    assert!(results.iter().any(|r| r["ruleId"] == "S001"
        && r["locations"][0]["physicalLocation"]["region"]["startLine"] == 4));
    for planted in PLANTED {
        assert!(
            !sarif.to_string().contains(planted),
            "{planted} in the SARIF"
        );
    }

    // CycloneDX 1.6 with the vulnerabilities
    let o = scan(tmp.path(), tar, &["-f", "cyclonedx"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let bom = json(&o);
    let read = |name: &str| -> Value {
        serde_json::from_str(
            &std::fs::read_to_string(shared().join("schemas/cyclonedx").join(name)).unwrap(),
        )
        .unwrap()
    };
    let validator = jsonschema::options()
        .with_retriever(Local(
            read("spdx.schema.json"),
            read("jsf-0.82.schema.json"),
        ))
        .build(&read("bom-1.6.schema.json"))
        .unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&bom)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    assert_eq!(bom["specVersion"], "1.6");
    let vulns = bom["vulnerabilities"].as_array().unwrap();
    assert_eq!(vulns.len(), 16);
    assert!(bom["components"].as_array().unwrap().len() > 100);
}

#[test]
fn policy_filters_ignores_and_exit_codes() {
    let Some(out) = fixture() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let tar = out.join("debian-api.docker.tar");
    let tar = tar.to_str().unwrap();
    // unfixed advisories are a filter
    let o = scan(tmp.path(), tar, &["-f", "json", "--ignore-unfixed"]);
    let v = json(&o);
    assert_eq!(findings(&v).len(), 9, "{:?}", findings(&v));
    assert!(
        v["vulnerabilities"]
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x["status"] == "fixed")
    );
    assert_eq!(v["summary"]["filtered"], 7);
    // a config: one ignore in force, one expired (reported, and its advisory shown again)
    std::fs::write(
        tmp.path().join(".moat.toml"),
        r#"
fail-on = "high"          # the audit's

[scan]
fail-on = "critical"
severity = ["critical", "high"]

[[scan.ignore]]
id = "RUSTSEC-2021-0003"
package = "smallvec"
reason = "insert_many is never called"
expires = 2999-12-31

[[scan.ignore]]
id = "RUSTSEC-2021-0079"
reason = "behind a proxy that rejects chunked requests"
expires = 2020-01-01
"#,
    )
    .unwrap();
    let o = scan(tmp.path(), tar, &["-f", "json", "--no-secrets"]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "the expired ignore lets a critical through"
    );
    assert!(
        stderr(&o).contains("the ignore of RUSTSEC-2021-0079 expired on 2020-01-01"),
        "{}",
        stderr(&o)
    );
    let v = json(&o);
    assert_eq!(
        findings(&v),
        set(&[
            ("RUSTSEC-2021-0079", "hyper", "0.14.9"),
            ("RUSTSEC-2022-0013", "regex", "1.5.4"),
        ])
    );
    assert_eq!(v["ignored"][0]["vulnerability"]["id"], "RUSTSEC-2021-0003");
    assert_eq!(
        v["ignored"][0]["ignore"]["reason"],
        "insert_many is never called"
    );
    assert_eq!(v["expired_ignores"][0]["id"], "RUSTSEC-2021-0079");
    assert_eq!(v["expired_ignores"][0]["expires"], "2020-01-01");
    assert_eq!(v["secrets"].as_array().unwrap().len(), 0);
    // the command line wins over the config
    let o = scan(tmp.path(), tar, &["--no-secrets", "--severity", "high"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "only a high one is shown: below critical"
    );
    assert!(
        stdout(&o).contains("1 vulnerability in 1 package (high 1)"),
        "{}",
        stdout(&o)
    );
    // an audit of the same folder still accepts the config with its [scan] table
    std::fs::write(tmp.path().join("Dockerfile"), "FROM scratch\nUSER 1000\n").unwrap();
    let o = moat(tmp.path(), &["audit", "Dockerfile"]);
    assert_ne!(o.status.code(), Some(2), "{}", stderr(&o));
    // a bad config is an error with where and what
    std::fs::write(
        tmp.path().join(".moat.toml"),
        "[[scan.ignore]]\nid = \"X\"\n",
    )
    .unwrap();
    let o = scan(tmp.path(), tar, &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains(".moat.toml: scan.ignore[0] (X): `reason` is required"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn alpine_packages_against_alpine_secfixes() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::create_dir_all(root.join("lib/apk/db")).unwrap();
    std::fs::write(
        root.join("etc/os-release"),
        "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.11.6\nPRETTY_NAME=\"Alpine Linux v3.11\"\n",
    )
    .unwrap();
    // versions Alpine 3.11 shipped: openssl before its last fix (1.1.1d-r3), sqlite at its
    // fix, jq 1.6 after 1.6_rc1 (the `_rc` order), musl and busybox after every fix
    let installed = [
        ("libcrypto1.1", "1.1.1d-r2", "openssl"),
        ("libssl1.1", "1.1.1d-r2", "openssl"),
        ("sqlite-libs", "3.30.1-r1", "sqlite"),
        ("jq", "1.6-r0", "jq"),
        ("musl", "1.1.24-r2", "musl"),
        ("busybox", "1.31.1-r9", "busybox"),
    ];
    let db = installed.iter().fold(String::new(), |mut db, (p, v, o)| {
        let _ = write!(db, "C:Q1abc=\nP:{p}\nV:{v}\nA:x86_64\no:{o}\n\n");
        db
    });
    std::fs::write(root.join("lib/apk/db/installed"), db).unwrap();
    let o = moat(
        tmp.path(),
        &[
            "scan",
            "--db",
            database().to_str().unwrap(),
            "--rootfs",
            root.to_str().unwrap(),
            "-f",
            "json",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["target"]["kind"], "rootfs");
    assert_eq!(v["packages"].as_array().unwrap().len(), installed.len());
    let found = findings(&v);
    assert_eq!(found.len(), 1, "{found:?}");
    let (id, package, version) = found.into_iter().next().unwrap();
    assert!(id.contains("CVE-2019-1551"), "{id}");
    assert_eq!(
        (package.as_str(), version.as_str()),
        ("openssl", "1.1.1d-r2")
    );
    let hit = &v["vulnerabilities"][0];
    assert_eq!(hit["fixed_versions"][0], "1.1.1d-r3");
    let names: Vec<&str> = hit["installed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["libcrypto1.1", "libssl1.1"]);
    // Alpine 3.11 left support in 2021: said, and a finding of its own
    assert_eq!(v["os"]["end_of_life"], true);
    assert_eq!(v["summary"]["end_of_life"], true);
}

#[test]
fn errors_a_user_meets() {
    let tmp = tempfile::tempdir().unwrap();
    // no database yet: how to get one
    let missing = tmp.path().join("none.db");
    let o = moat(
        tmp.path(),
        &["scan", "--db", missing.to_str().unwrap(), "--rootfs", "."],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("moat db import"), "{}", stderr(&o));
    let db = database().to_str().unwrap();
    // a path that is not there, a folder that is not a layout, a tarball that is not an image
    let o = moat(tmp.path(), &["scan", "--db", db, "./nope.tar"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("./nope.tar: no such file or directory"),
        "{}",
        stderr(&o)
    );
    let o = moat(tmp.path(), &["scan", "--db", db, "."]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("use --rootfs ."), "{}", stderr(&o));
    std::fs::write(tmp.path().join("junk.tar"), b"not a tarball at all").unwrap();
    let o = moat(tmp.path(), &["scan", "--db", db, "junk.tar"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("junk.tar"), "{}", stderr(&o));
    // flags
    let o = moat(
        tmp.path(),
        &["scan", "--db", db, "--fail-on", "severe", "--rootfs", "."],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("--fail-on: unknown severity `severe`"),
        "{}",
        stderr(&o)
    );
    let o = moat(
        tmp.path(),
        &["scan", "--db", db, "--max-db-age", "soon", "--rootfs", "."],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--max-db-age"), "{}", stderr(&o));
    let o = moat(tmp.path(), &["scan", "--db", db]);
    assert_eq!(o.status.code(), Some(2), "an image or --rootfs is required");
    // an informational advisory (an unmaintained crate) is shown but does not fail the scan
    std::fs::create_dir_all(tmp.path().join("app")).unwrap();
    std::fs::write(
        tmp.path().join("app/Cargo.lock"),
        "version = 3\n\n[[package]]\nname = \"ansi_term\"\nversion = \"0.12.1\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n",
    )
    .unwrap();
    let o = moat(
        tmp.path(),
        &["scan", "--db", db, "--rootfs", "app", "-f", "json"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["vulnerabilities"][0]["id"], "RUSTSEC-2021-0139");
    assert_eq!(v["vulnerabilities"][0]["informational"], "unmaintained");
    assert_eq!(v["summary"]["fails"], false);
    // an empty root filesystem: nothing found, exit 0
    std::fs::create_dir_all(tmp.path().join("empty")).unwrap();
    let o = moat(tmp.path(), &["scan", "--db", db, "--rootfs", "empty"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("no distribution found, 0 layers, 0 packages"),
        "{}",
        stdout(&o)
    );
}

/// A Go program built here (Debian's Go toolchain, its one dependency vendored in the fixture:
/// `golang.org/x/text v0.3.5`, a version with known advisories) and scanned in a root
/// filesystem against the real Go advisories. Skipped without `go`, unless `MOAT_REQUIRE_GO=1`.
#[test]
fn a_go_binary_against_the_go_advisories() {
    let required = std::env::var("MOAT_REQUIRE_GO").is_ok_and(|v| v == "1");
    let version = Command::new("go").arg("version").output();
    let Some(version) = version.ok().filter(|o| o.status.success()) else {
        assert!(!required, "MOAT_REQUIRE_GO=1 but `go version` does not run");
        eprintln!("skipped: no Go toolchain (`go` not found); set MOAT_REQUIRE_GO=1 to require it");
        return;
    };
    // `go version go1.19.8 linux/amd64` → `v1.19.8`
    let toolchain = String::from_utf8_lossy(&version.stdout)
        .split_whitespace()
        .nth(2)
        .unwrap()
        .replacen("go", "v", 1);
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("root/usr/local/bin/orders");
    let built = Command::new("go")
        .args(["build", "-o"])
        .arg(&bin)
        .arg(".")
        .current_dir(fixtures().join("go-app"))
        .env("GOTOOLCHAIN", "local")
        .env("GOPROXY", "off")
        .env("GOFLAGS", "-mod=vendor")
        .env("GOCACHE", tmp.path().join("cache"))
        .env("GOPATH", tmp.path().join("gopath"))
        .env("CGO_ENABLED", "0")
        .output()
        .unwrap();
    assert!(built.status.success(), "go build: {}", stderr(&built));
    let root = tmp.path().join("root");
    let o = moat(
        tmp.path(),
        &[
            "scan",
            "--db",
            database().to_str().unwrap(),
            "--rootfs",
            root.to_str().unwrap(),
            "-f",
            "json",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v = json(&o);
    let found = findings(&v);
    let text: BTreeSet<&str> = found
        .iter()
        .filter(|(_, p, _)| p == "golang.org/x/text")
        .map(|(id, _, version)| {
            assert_eq!(version, "v0.3.5");
            id.as_str()
        })
        .collect();
    // fixed in 0.3.7, 0.3.8 and 0.39.0; GO-2020-0015 was fixed in 0.3.3, before this version
    assert_eq!(
        text,
        BTreeSet::from(["GO-2021-0113", "GO-2022-1059", "GO-2026-5970"])
    );
    // the standard library the toolchain linked in: an old toolchain has advisories fixed
    // after it, each with the fixed version of a later release
    let stdlib: Vec<&Value> = v["vulnerabilities"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["package"] == "stdlib")
        .collect();
    assert!(!stdlib.is_empty(), "{toolchain}: no stdlib advisories");
    for x in stdlib {
        assert_eq!(x["version"], toolchain.as_str());
        assert_eq!(x["status"], "fixed");
        assert_eq!(x["installed"][0]["path"], "usr/local/bin/orders");
    }
}

#[test]
fn vex_statements_take_advisories_out() {
    let Some(out) = fixture() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let tar = out.join("debian-api.docker.tar");
    let vex = tmp.path().join("api.vex.json");
    std::fs::write(
        &vex,
        r#"{
  "@context": "https://openvex.dev/ns/v0.2.0",
  "@id": "https://example.com/vex/debian-api-1",
  "author": "API team",
  "timestamp": "2026-11-30T10:00:00Z",
  "version": 1,
  "statements": [
    {"vulnerability": {"name": "CVE-2026-27171", "aliases": ["DEBIAN-CVE-2026-27171"]},
     "products": [{"@id": "pkg:oci/debian-api",
                   "subcomponents": [{"@id": "pkg:deb/debian/zlib1g"}]}],
     "status": "not_affected", "justification": "vulnerable_code_not_in_execute_path"},
    {"vulnerability": {"name": "RUSTSEC-2022-0013"},
     "products": [{"@id": "pkg:cargo/regex@1.5.4"}],
     "status": "fixed"},
    {"vulnerability": {"name": "RUSTSEC-2021-0003"},
     "products": [{"@id": "pkg:cargo/smallvec@0.6.9"}],
     "status": "not_affected", "justification": "component_not_present"},
    {"vulnerability": {"name": "RUSTSEC-2020-0071"},
     "products": [{"@id": "pkg:cargo/time@0.1.45"}],
     "status": "under_investigation"}
  ]
}"#,
    )
    .unwrap();
    let o = scan(
        tmp.path(),
        tar.to_str().unwrap(),
        &["-f", "json", "--no-secrets", "--vex", vex.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v = json(&o);
    let mut want = expected();
    want.remove(&(
        "DEBIAN-CVE-2026-27171".into(),
        "zlib".into(),
        "1:1.2.13.dfsg-1".into(),
    ));
    want.remove(&("RUSTSEC-2022-0013".into(), "regex".into(), "1.5.4".into()));
    // a statement about another version, or still under investigation, changes nothing
    assert_eq!(findings(&v), want);
    let ignored: Vec<(&str, &str)> = v["ignored"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["vulnerability"]["id"].as_str().unwrap(),
                x["vex"]["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        ignored,
        [
            ("RUSTSEC-2022-0013", "fixed"),
            ("DEBIAN-CVE-2026-27171", "not_affected")
        ]
    );
    // a document that is not OpenVEX is an error
    let o = scan(
        tmp.path(),
        tar.to_str().unwrap(),
        &["--vex", tar.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not JSON"), "{}", stderr(&o));
}

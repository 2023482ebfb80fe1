//! The database end to end: real OSV and Alpine data read in place from `shared/advisories`,
//! hand-written Debian 12 records in `tests/fixtures/debian12`, and broken inputs.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime};

use moat_vuln::{Band, Database, Error, FixStatus, Match, Query, SeveritySource, match_package};

/// The shared advisory data, next to the repository (`/work/shared/advisories`), or where
/// `MOAT_ADVISORIES` points.
fn advisories() -> Option<PathBuf> {
    let dir = std::env::var_os("MOAT_ADVISORIES").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/advisories"),
        PathBuf::from,
    );
    if dir.join("osv/rust").is_dir() {
        Some(dir)
    } else {
        // CI always has the data beside the clone: never skip there
        assert!(
            std::env::var_os("CI").is_none(),
            "no advisory data at {}",
            dir.display()
        );
        eprintln!("skipped: no advisory data at {}", dir.display());
        None
    }
}

fn q(ecosystem: &str, name: &str, version: &str) -> Query {
    Query::new(ecosystem, name, version)
}

fn find<'a>(matches: &'a [Match], id: &str) -> Option<&'a Match> {
    matches.iter().find(|m| m.id == id)
}

/// One database of the real Rust and Go data for all tests of this binary.
fn real_db() -> Option<&'static Database> {
    static DB: OnceLock<Option<(tempfile::TempDir, Database)>> = OnceLock::new();
    DB.get_or_init(|| {
        let dir = advisories()?;
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("advisories.db");
        let started = Instant::now();
        let db = Database::import(&path, &[dir.join("osv/rust"), dir.join("osv/Go")]).unwrap();
        eprintln!(
            "imported {} records ({} entries) in {:?}",
            db.metadata()
                .sources
                .iter()
                .map(|s| s.records)
                .sum::<usize>(),
            db.metadata().entries,
            started.elapsed()
        );
        Some((tmp, db))
    })
    .as_ref()
    .map(|(_, db)| db)
}

#[test]
fn real_osv_data_imports_with_metadata() {
    let Some(db) = real_db() else { return };
    let meta = db.metadata();
    assert_eq!(meta.sources.len(), 2);
    assert_eq!(meta.sources[0].records, 1206, "every RustSec record read");
    assert_eq!(meta.sources[1].records, 4291, "every Go record read");
    assert!(
        meta.sources
            .iter()
            .all(|s| s.kind == moat_vuln::SourceKind::OsvFolder)
    );
    assert!(meta.sources.iter().map(|s| s.withdrawn).sum::<usize>() > 0);
    assert!(meta.ecosystems["crates.io"] > 1000);
    assert!(meta.ecosystems["Go"] > 4000);
    // a withdrawn record is not stored: RUSTSEC-2019-0031 (spin)
    let spin = db.lookup("crates.io", "spin").unwrap();
    assert!(spin.iter().all(|a| a.id != "RUSTSEC-2019-0031"));
}

#[test]
fn rustsec_openssl_set_host() {
    // RUSTSEC-2023-0044: openssl < 0.10.55
    let Some(db) = real_db() else { return };
    let m = match_package(db, &q("crates.io", "openssl", "0.10.54")).unwrap();
    let hit = find(&m, "RUSTSEC-2023-0044").expect("0.10.54 is affected");
    assert_eq!(hit.fixed_versions, ["0.10.55"]);
    assert_eq!(hit.status, FixStatus::Fixed);
    assert!(hit.aliases.iter().any(|a| a == "CVE-2023-53159"));
    for outside in ["0.10.55", "0.10.60"] {
        let m = match_package(db, &q("crates.io", "openssl", outside)).unwrap();
        assert!(
            find(&m, "RUSTSEC-2023-0044").is_none(),
            "{outside} is fixed"
        );
    }
}

#[test]
fn rustsec_smallvec_branches_and_cvss() {
    // RUSTSEC-2018-0003: [0.3.2, 0.3.4) [0.4.0-0, 0.4.5) [0.5.0-0, 0.5.1) [0.6.0-0, 0.6.3),
    // CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H
    let Some(db) = real_db() else { return };
    let check = |v: &str| {
        let m = match_package(db, &q("crates.io", "smallvec", v)).unwrap();
        find(&m, "RUSTSEC-2018-0003").cloned()
    };
    let hit = check("0.6.2").expect("0.6.2 is affected");
    assert_eq!(hit.fixed_versions, ["0.6.3"]);
    assert_eq!(hit.severity.band, Band::Critical);
    assert_eq!(hit.severity.score, Some(9.8));
    assert_eq!(hit.severity.source, SeveritySource::CvssV3);
    assert_eq!(check("0.4.1").unwrap().fixed_versions, ["0.4.5"]);
    assert!(check("0.3.1").is_none(), "before the first range");
    assert!(check("0.4.5").is_none(), "between ranges");
    assert!(check("0.6.3").is_none(), "fixed");
    assert!(check("1.13.2").is_none(), "after every range");
}

#[test]
fn go_x_net_pseudo_versions_and_stdlib() {
    // GO-2022-0969: golang.org/x/net < v0.0.0-20220906165146-f3363e06e74c;
    // stdlib < 1.18.6, [1.19.0-0, 1.19.1)
    let Some(db) = real_db() else { return };
    let check = |name: &str, v: &str| {
        let m = match_package(db, &q("Go", name, v)).unwrap();
        find(&m, "GO-2022-0969").cloned()
    };
    let hit = check("golang.org/x/net", "v0.0.0-20220722155237-a158d28d115b")
        .expect("older pseudo-version");
    assert_eq!(hit.fixed_versions, ["0.0.0-20220906165146-f3363e06e74c"]);
    assert!(check("golang.org/x/net", "v0.0.0-20220906165146-f3363e06e74c").is_none());
    assert!(check("golang.org/x/net", "v0.17.0").is_none());
    assert_eq!(
        check("stdlib", "v1.18.5").unwrap().fixed_versions,
        ["1.18.6"]
    );
    assert_eq!(
        check("stdlib", "go1.19").unwrap().fixed_versions,
        ["1.19.1"]
    );
    assert!(check("stdlib", "v1.19.1").is_none());
    assert!(check("stdlib", "v1.21.0").is_none());
}

#[test]
fn go_unfixed_advisory_is_kept_as_unfixed() {
    // GO-2023-2385: every version of github.com/pubnub/go/v6 (no fix)
    let Some(db) = real_db() else { return };
    let m = match_package(db, &q("Go", "github.com/pubnub/go/v6", "v6.1.0")).unwrap();
    let hit = find(&m, "GO-2023-2385").expect("unfixed advisory kept");
    assert_eq!(hit.status, FixStatus::Unfixed);
    assert!(hit.fixed_versions.is_empty());
    assert_eq!(hit.severity.band, Band::Unknown);
}

#[test]
fn real_data_through_a_zip_export() {
    let Some(dir) = advisories() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let zip_path = tmp.path().join("all.zip");
    write_zip(&zip_path, &dir.join("osv/rust"));
    let db = Database::import(&tmp.path().join("a.db"), std::slice::from_ref(&zip_path)).unwrap();
    assert_eq!(db.metadata().sources[0].kind, moat_vuln::SourceKind::OsvZip);
    assert_eq!(db.metadata().sources[0].records, 1206);
    let m = match_package(&db, &q("crates.io", "openssl", "0.10.54")).unwrap();
    assert!(find(&m, "RUSTSEC-2023-0044").is_some());
}

fn write_zip(zip_path: &Path, folder: &Path) {
    let mut zip = zip::ZipWriter::new(std::fs::File::create(zip_path).unwrap());
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let mut files: Vec<_> = std::fs::read_dir(folder)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for f in files {
        zip.start_file(f.file_name().unwrap().to_str().unwrap(), options)
            .unwrap();
        zip.write_all(&std::fs::read(&f).unwrap()).unwrap();
    }
    zip.finish().unwrap();
}

#[test]
fn alpine_secdb_real_secfixes() {
    let Some(dir) = advisories() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let db = Database::import(
        &tmp.path().join("a.db"),
        &[
            dir.join("alpine-secdb/v3.11/main.yaml"),
            dir.join("alpine-secdb/v3.8/main.yaml"),
        ],
    )
    .unwrap();
    assert_eq!(
        db.metadata().sources[0].kind,
        moat_vuln::SourceKind::AlpineSecdb
    );
    // openssl in v3.11: 1.1.1d-r3 fixes CVE-2019-1551, 1.1.1d-r1 fixes CVE-2019-1547/1549/1563;
    // matched by the origin package, libcrypto1.1 is a subpackage of openssl
    let ids = |v: &str| -> Vec<String> {
        match_package(&db, &q("Alpine:v3.11", "openssl", v))
            .unwrap()
            .into_iter()
            .map(|m| m.id)
            .collect()
    };
    let before = ids("1.1.1d-r2");
    assert!(before.contains(&"CVE-2019-1551".to_owned()), "{before:?}");
    assert!(
        !before.contains(&"CVE-2019-1547".to_owned()),
        "1.1.1d-r2 is past 1.1.1d-r1"
    );
    let at = ids("1.1.1d-r3");
    assert!(
        !at.contains(&"CVE-2019-1551".to_owned()),
        "the fixed version itself is not affected"
    );
    assert!(ids("1.1.1g-r0").is_empty(), "after every fix");
    let old = ids("1.1.1d-r0");
    for cve in [
        "CVE-2019-1547",
        "CVE-2019-1549",
        "CVE-2019-1563",
        "CVE-2019-1551",
    ] {
        assert!(old.contains(&cve.to_owned()), "{cve} in {old:?}");
    }
    let m = match_package(&db, &q("Alpine:v3.11", "openssl", "1.1.1d-r2")).unwrap();
    let hit = find(&m, "CVE-2019-1551").unwrap();
    assert_eq!(hit.fixed_versions, ["1.1.1d-r3"]);
    assert_eq!(hit.ecosystem, "Alpine:v3.11");
    assert_eq!(hit.package, "openssl");
    // an Alpine release written as os-release has it (3.11.6) finds the same branch
    assert!(
        !match_package(&db, &q("Alpine:3.11.6", "openssl", "1.1.1d-r2"))
            .unwrap()
            .is_empty()
    );
    // the other release's data does not leak in
    assert!(ids_in(&db, "v3.10", "openssl", "1.0.0-r0").is_empty());
    // v3.8 `db`: `"0": [CVE-2016-0682, …]`, never affected whatever the version
    assert!(
        ids_in(&db, "v3.8", "db", "0.1-r0")
            .iter()
            .all(|id| id != "CVE-2016-0682")
    );
    assert!(
        db.lookup("Alpine:v3.8", "db")
            .unwrap()
            .iter()
            .all(|a| a.id != "CVE-2016-0682")
    );
}

fn ids_in(db: &Database, release: &str, name: &str, version: &str) -> Vec<String> {
    match_package(db, &q(&format!("Alpine:{release}"), name, version))
        .unwrap()
        .into_iter()
        .map(|m| m.id)
        .collect()
}

/// The hand-written Debian 12 records (matched through inventory packages in moat_scan's
/// `tests/matching.rs`).
fn debian_db() -> (tempfile::TempDir, Database) {
    let tmp = tempfile::tempdir().unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/debian12");
    let db = Database::import(&tmp.path().join("d.db"), &[fixtures]).unwrap();
    (tmp, db)
}

#[test]
fn debian_records_match_by_source_package_query() {
    let (_tmp, db) = debian_db();
    let m = match_package(&db, &q("Debian:12", "openssl", "3.0.11-1~deb12u1")).unwrap();
    assert_eq!(
        find(&m, "DSA-5532-1").unwrap().fixed_versions,
        ["3.0.11-1~deb12u2"]
    );
    assert!(
        match_package(&db, &q("Debian:12", "openssl", "3.0.11-1~deb12u2"))
            .unwrap()
            .is_empty()
    );
    assert!(
        match_package(&db, &q("Debian:12", "libssl3", "3.0.11-1~deb12u1"))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn malformed_record_names_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("osv");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(
        dir.join("GOOD-1.json"),
        br#"{"id": "GOOD-1", "affected": []}"#,
    )
    .unwrap();
    std::fs::write(
        dir.join("BAD-1.json"),
        b"{\"id\": \"BAD-1\", \"affected\": [",
    )
    .unwrap();
    let err = Database::import(&tmp.path().join("x.db"), &[dir]).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::Invalid { .. }), "{err:?}");
    assert!(
        text.contains("BAD-1.json") && text.contains("not an OSV record"),
        "{text}"
    );
    assert!(
        !tmp.path().join("x.db").exists(),
        "no database is left behind"
    );
}

#[test]
fn wrong_shape_record_names_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("ODD-1.json");
    std::fs::write(&file, br#"{"id": 7}"#).unwrap();
    let err = Database::import(&tmp.path().join("x.db"), &[file]).unwrap_err();
    assert!(err.to_string().contains("ODD-1.json"), "{err}");
}

#[test]
fn truncated_zip_names_the_file() {
    let Some(dir) = advisories() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let zip_path = tmp.path().join("all.zip");
    write_zip(&zip_path, &dir.join("osv/rust"));
    let bytes = std::fs::read(&zip_path).unwrap();
    std::fs::write(&zip_path, &bytes[..bytes.len() / 2]).unwrap();
    let err = Database::import(&tmp.path().join("x.db"), &[zip_path]).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("all.zip") && text.contains("truncated"),
        "{text}"
    );
}

#[test]
fn unreadable_and_unknown_paths_name_the_path() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("no-such-dir");
    let err =
        Database::import(&tmp.path().join("x.db"), std::slice::from_ref(&missing)).unwrap_err();
    assert!(matches!(err, Error::Read { .. }));
    assert!(err.to_string().contains("no-such-dir"), "{err}");
    let other = tmp.path().join("notes.txt");
    std::fs::write(&other, "hello").unwrap();
    let err = Database::import(&tmp.path().join("x.db"), &[other]).unwrap_err();
    assert!(
        err.to_string().contains("notes.txt") && err.to_string().contains("not an OSV record"),
        "{err}"
    );
    let bad_yaml = tmp.path().join("main.yaml");
    std::fs::write(&bad_yaml, "distroversion: v3.11\npackages: [\n").unwrap();
    let err = Database::import(&tmp.path().join("x.db"), &[bad_yaml]).unwrap_err();
    assert!(
        err.to_string().contains("main.yaml") && err.to_string().contains("YAML"),
        "{err}"
    );
}

#[test]
fn missing_database_says_how_to_get_data_offline() {
    let tmp = tempfile::tempdir().unwrap();
    let err = Database::open(&tmp.path().join("none.db")).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::Missing { .. }));
    for needle in ["none.db", "all.zip", "moat db import", "--db"] {
        assert!(text.contains(needle), "{needle} in {text}");
    }
    // a file that is not a database
    let junk = tmp.path().join("junk.db");
    std::fs::write(&junk, b"not a database at all").unwrap();
    let err = Database::open(&junk).unwrap_err();
    assert!(err.to_string().contains("junk.db"), "{err}");
}

#[test]
fn stale_database_is_an_error_naming_its_age() {
    let (_tmp, db) = debian_db();
    let now = SystemTime::now();
    db.check_age(Duration::from_hours(7 * 24), now).unwrap();
    let later = now + Duration::from_hours(12 * 24 + 5);
    let err = db
        .check_age(Duration::from_hours(7 * 24), later)
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::Stale { .. }));
    for needle in ["stale", "12d 5h", "7d", "moat db import"] {
        assert!(text.contains(needle), "{needle} in {text}");
    }
}

#[test]
fn import_replaces_the_previous_database() {
    let (tmp, db) = debian_db();
    let path = db.path().to_owned();
    drop(db);
    let one = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/debian12/DSA-5532-1.json");
    let db = Database::import(&path, &[one]).unwrap();
    assert_eq!(db.metadata().entries, 1);
    assert_eq!(
        db.metadata().sources[0].kind,
        moat_vuln::SourceKind::OsvFile
    );
    drop(tmp);
}

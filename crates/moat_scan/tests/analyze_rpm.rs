//! rpm's SQLite database: a real `rpmdb.sqlite` written by rpm 4.18 (see
//! `tests/fixtures/analyze/rpm/README.md`) read through `inventory` on Rocky Linux 9.3, its
//! packages matched against hand-written `Rocky Linux:9` advisories in rpm's version order, and
//! damaged copies of it read without a panic.

use std::path::PathBuf;

use moat_scan::analyze::{ANALYZERS, Context, Date, inventory_on, os_release, wants};
use moat_scan::matching::match_package;
use moat_scan::model::{Ecosystem, Inventory, OsRelease, Package, rpm_osv_name};
use moat_vuln::{Database, FixStatus};
use proptest::prelude::*;

const TODAY: Date = Date::new(2026, 12, 4);

const ROCKY_93: &str = "NAME=\"Rocky Linux\"\nVERSION=\"9.3 (Blue Onyx)\"\nID=\"rocky\"\n\
    ID_LIKE=\"rhel centos fedora\"\nVERSION_ID=\"9.3\"\nPLATFORM_ID=\"platform:el9\"\n\
    PRETTY_NAME=\"Rocky Linux 9.3 (Blue Onyx)\"\n";

const DB_PATH: &str = "var/lib/rpm/rpmdb.sqlite";

fn rpmdb() -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/analyze/rpm/rpmdb.sqlite",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The inventory of the database at `path` (layer 1), with Rocky Linux 9.3's os-release
/// (layer 0) when `rocky`.
fn scan(path: &str, data: Vec<u8>, rocky: bool) -> Inventory {
    let mut files = vec![(path.to_owned(), data, 1)];
    if rocky {
        files.push(("etc/os-release".to_owned(), ROCKY_93.as_bytes().to_vec(), 0));
    }
    inventory_on(files, TODAY)
}

fn rocky() -> Ecosystem {
    Ecosystem::Rpm("rocky:9.3".into())
}

/// The three packages of the fixture, in row order (`gpg-pubkey` left out).
fn expected(ecosystem: &Ecosystem, path: &str) -> Vec<Package> {
    let p = |name: &str, version: &str, source: Option<&str>| Package {
        ecosystem: ecosystem.clone(),
        name: name.into(),
        version: version.into(),
        source_name: source.map(Into::into),
        source_version: None,
        path: path.into(),
        layer: Some(1),
    };
    vec![
        p("moat-tools", "2.0~rc1-1.el9", None),
        p("moat-libs", "2.0~rc1-1.el9", Some("moat-tools")),
        p("moat-hello", "2:1.4.2-3.el9_3", None),
    ]
}

#[test]
fn wants_rpmdb_sqlite_only() {
    for (path, wanted) in [
        ("var/lib/rpm/rpmdb.sqlite", true),
        ("usr/lib/sysimage/rpm/rpmdb.sqlite", true),
        ("var/lib/rpm/rpmdb.sqlite-wal", false),
        ("var/lib/rpm/Packages", false),
        ("var/lib/rpm/Packages.db", false),
        ("usr/lib/sysimage/rpm/Packages.db", false),
        ("home/user/var/lib/rpm/rpmdb.sqlite", false),
    ] {
        assert_eq!(wants(path), wanted, "{path}");
    }
}

#[test]
fn rpmdb_sqlite_packages_with_every_field() {
    let data = rpmdb();
    assert_eq!(&data[..16], b"SQLite format 3\0");
    let inv = scan(DB_PATH, data, true);
    assert_eq!(inv.warnings, Vec::<String>::new());
    assert_eq!(
        inv.os,
        Some(OsRelease {
            id: "rocky".into(),
            version_id: Some("9.3".into()),
            pretty_name: Some("Rocky Linux 9.3 (Blue Onyx)".into()),
            end_of_life: None,
        })
    );
    assert_eq!(inv.packages, expected(&rocky(), DB_PATH));
    assert_eq!(rocky().osv_name(), "Rocky Linux:9");
}

#[test]
fn the_sysimage_path_reads_the_same() {
    let path = "usr/lib/sysimage/rpm/rpmdb.sqlite";
    let inv = scan(path, rpmdb(), true);
    assert_eq!(inv.warnings, Vec::<String>::new());
    assert_eq!(inv.packages, expected(&rocky(), path));
}

#[test]
fn without_os_release_the_packages_have_no_distribution() {
    let inv = scan(DB_PATH, rpmdb(), false);
    assert_eq!(
        inv.packages,
        expected(&Ecosystem::Rpm(String::new()), DB_PATH)
    );
    assert_eq!(inv.warnings.len(), 1, "{:?}", inv.warnings);
    assert!(
        inv.warnings[0].contains("no os-release"),
        "{:?}",
        inv.warnings
    );
}

#[test]
fn osv_ecosystems_of_rpm_distributions() {
    for (distro, osv) in [
        ("rocky:9.3", "Rocky Linux:9"),
        ("almalinux:8.10", "AlmaLinux:8"),
        ("rhel:9.4", "Red Hat:enterprise_linux:9::baseos"),
        ("opensuse-leap:15.5", "openSUSE:Leap 15.5"),
        ("opensuse-tumbleweed:20241201", "openSUSE:Tumbleweed"),
        ("sles:15.5", "SUSE:Linux Enterprise Server 15 SP5"),
        ("sles:15", "SUSE:Linux Enterprise Server 15"),
        ("mageia:9", "Mageia:9"),
        ("openEuler:22.03-LTS-SP3", "openEuler:22.03-LTS-SP3"),
        ("photon:5.0", "Photon OS:5.0"),
        ("fedora:40", "fedora:40"),
        ("", ""),
    ] {
        assert_eq!(rpm_osv_name(distro), osv, "{distro}");
    }
}

/// Hand-written `Rocky Linux:9` advisories (one `AlmaLinux:9`), as OSV records.
const ADVISORIES: &[(&str, &str, &str, &str)] = &[
    // (id, ecosystem, source package, fixed)
    (
        "RLSA-2099:0001",
        "Rocky Linux:9",
        "moat-hello",
        "2:1.4.2-5.el9_3",
    ),
    // epoch 0: older than any epoch-2 version
    (
        "RLSA-2099:0002",
        "Rocky Linux:9",
        "moat-hello",
        "1.4.3-1.el9_3",
    ),
    // the ~rc1 pre-release is older than 2.0
    ("RLSA-2099:0003", "Rocky Linux:9", "moat-tools", "2.0-1.el9"),
    // fixed in the installed version itself
    (
        "RLSA-2099:0004",
        "Rocky Linux:9",
        "moat-tools",
        "2.0~rc1-1.el9",
    ),
    (
        "ALSA-2099:0005",
        "AlmaLinux:9",
        "moat-hello",
        "2:1.4.2-5.el9_3",
    ),
];

fn advisory_db() -> (tempfile::TempDir, Database) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("osv");
    std::fs::create_dir(&dir).unwrap();
    for (id, ecosystem, name, fixed) in ADVISORIES {
        let record = serde_json::json!({
            "schema_version": "1.6.0",
            "id": id,
            "modified": "2099-01-01T00:00:00Z",
            "summary": format!("{name}: test advisory"),
            "affected": [{
                "package": {"ecosystem": ecosystem, "name": name},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}],
            }],
        });
        std::fs::write(dir.join(format!("{id}.json")), record.to_string()).unwrap();
    }
    let db = Database::import(&tmp.path().join("advisories.db"), &[PathBuf::from(&dir)]).unwrap();
    (tmp, db)
}

#[test]
fn rpm_packages_match_rocky_advisories_by_source_package_in_rpm_order() {
    let (_tmp, db) = advisory_db();
    let inv = scan(DB_PATH, rpmdb(), true);
    let ids = |name: &str| -> Vec<(String, Vec<String>, String, String)> {
        let p = inv.packages.iter().find(|p| p.name == name).unwrap();
        match_package(&db, p)
            .unwrap()
            .into_iter()
            .map(|m| {
                assert_eq!(m.ecosystem, "Rocky Linux:9");
                assert_eq!(m.status, FixStatus::Fixed);
                (m.id, m.fixed_versions, m.package, m.version)
            })
            .collect()
    };
    let strings = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    // 2:1.4.2-3.el9_3 < 2:1.4.2-5.el9_3; > 1.4.3-1.el9_3 (epoch 0)
    assert_eq!(
        ids("moat-hello"),
        [(
            "RLSA-2099:0001".to_owned(),
            strings(&["2:1.4.2-5.el9_3"]),
            "moat-hello".to_owned(),
            "2:1.4.2-3.el9_3".to_owned()
        )]
    );
    // moat-libs is looked up as its source, moat-tools: 2.0~rc1 < 2.0
    for name in ["moat-tools", "moat-libs"] {
        assert_eq!(
            ids(name),
            [(
                "RLSA-2099:0003".to_owned(),
                strings(&["2.0-1.el9"]),
                "moat-tools".to_owned(),
                "2.0~rc1-1.el9".to_owned()
            )],
            "{name}"
        );
    }
    // without a release, nothing is looked up in Rocky's advisories
    let bare = scan(DB_PATH, rpmdb(), false);
    for p in &bare.packages {
        assert!(match_package(&db, p).unwrap().is_empty(), "{}", p.name);
    }
}

#[test]
fn a_cycle_of_pages_is_a_warning() {
    // page 1, the schema's interior root: its right-most child pointer back to itself
    let mut data = rpmdb();
    assert_eq!(data[100], 0x05, "page 1 is an interior table page");
    data[108..112].copy_from_slice(&1u32.to_be_bytes());
    let inv = scan(DB_PATH, data, true);
    assert!(inv.packages.is_empty());
    assert_eq!(inv.warnings.len(), 1, "{:?}", inv.warnings);
    assert!(inv.warnings[0].contains("twice"), "{:?}", inv.warnings);
}

#[test]
fn other_files_at_the_path_are_warnings() {
    for (data, words) in [
        (b"not a database".to_vec(), "not an SQLite 3 database"),
        (Vec::new(), "not an SQLite 3 database"),
        (rpmdb()[..512].to_vec(), "not in the file"),
    ] {
        let inv = scan(DB_PATH, data, true);
        assert!(inv.packages.is_empty());
        assert_eq!(inv.warnings.len(), 1, "{:?}", inv.warnings);
        assert!(
            inv.warnings[0].starts_with("var/lib/rpm/rpmdb.sqlite: rpm: ")
                && inv.warnings[0].contains(words),
            "{:?}",
            inv.warnings
        );
    }
}

#[test]
fn a_truncated_database_is_read_whole_or_not_at_all() {
    // a row is never half read: every page the Packages table needs is there, or a warning
    let data = rpmdb();
    let (mut whole, mut warned) = (0, 0);
    for len in (0..=data.len()).step_by(128) {
        let inv = scan(DB_PATH, data[..len].to_vec(), true);
        if inv.warnings.is_empty() {
            assert_eq!(inv.packages, expected(&rocky(), DB_PATH), "{len} bytes");
            whole += 1;
        } else {
            assert!(inv.packages.is_empty(), "{len} bytes");
            assert_eq!(inv.warnings.len(), 1, "{len} bytes: {:?}", inv.warnings);
            warned += 1;
        }
    }
    assert!(whole > 0 && warned > 0, "{whole} whole, {warned} warned");
}

fn rpm_analyzer(data: &[u8]) -> Result<Vec<Package>, String> {
    let rpm = ANALYZERS.iter().find(|a| a.name == "rpm").unwrap();
    let ctx = Context {
        os: os_release::parse(ROCKY_93.as_bytes()).ok(),
    };
    (rpm.analyze)(DB_PATH, data, 0, &ctx)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn damaged_databases_never_panic(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..24),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut data = rpmdb();
        for (at, byte) in flips {
            let i = at.index(data.len());
            data[i] = byte;
        }
        data.truncate(cut.index(data.len() + 1).max(data.len() / 2));
        let _ = rpm_analyzer(&data);
    }

    #[test]
    fn damaged_page_headers_never_panic(
        page in 0..83usize,
        at in 0..16usize,
        byte in any::<u8>(),
    ) {
        // the b-tree page headers (and page 1's file header), where a flip changes the walk
        let mut data = rpmdb();
        let base = if page == 0 { 100 } else { page * 512 };
        data[base + at] = byte;
        let _ = rpm_analyzer(&data);
    }

    #[test]
    fn random_bytes_behind_an_sqlite_header_never_panic(
        tail in proptest::collection::vec(any::<u8>(), 0..4096),
        page_size in prop::sample::select(vec![512u16, 1024, 4096]),
    ) {
        let mut data = b"SQLite format 3\0".to_vec();
        data.extend_from_slice(&page_size.to_be_bytes());
        data.extend_from_slice(&tail);
        if data.len() > 60 {
            data[56..60].copy_from_slice(&1u32.to_be_bytes());
        }
        let _ = rpm_analyzer(&data);
    }
}

//! Inventory packages matched against hand-written Debian 12 records (in moat_vuln's
//! `tests/fixtures/debian12`): by source package, by source version, in dpkg's order.

use std::path::Path;

use moat_scan::matching::match_package;
use moat_scan::model::{Ecosystem, Package};
use moat_vuln::{Band, Database, FixStatus, Match};

fn pkg(ecosystem: Ecosystem, name: &str, version: &str) -> Package {
    Package {
        ecosystem,
        name: name.into(),
        version: version.into(),
        source_name: None,
        source_version: None,
        path: "var/lib/dpkg/status".into(),
        layer: None,
    }
}

fn os_pkg(ecosystem: Ecosystem, name: &str, version: &str, source: &str) -> Package {
    Package {
        source_name: Some(source.into()),
        ..pkg(ecosystem, name, version)
    }
}

fn find<'a>(matches: &'a [Match], id: &str) -> Option<&'a Match> {
    matches.iter().find(|m| m.id == id)
}

fn debian_db() -> (tempfile::TempDir, Database) {
    let tmp = tempfile::tempdir().unwrap();
    let fixtures =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../moat_vuln/tests/fixtures/debian12");
    let db = Database::import(&tmp.path().join("d.db"), &[fixtures]).unwrap();
    (tmp, db)
}

#[test]
fn debian_matches_by_source_package() {
    let (_tmp, db) = debian_db();
    assert_eq!(db.metadata().sources[0].records, 5);
    let deb = || Ecosystem::Debian("12".into());
    // libssl3 is built from openssl: DSA-5532-1 fixed in 3.0.11-1~deb12u2
    let m = match_package(
        &db,
        &os_pkg(deb(), "libssl3", "3.0.11-1~deb12u1", "openssl"),
    )
    .unwrap();
    let hit = find(&m, "DSA-5532-1").expect("libssl3 3.0.11-1~deb12u1 is affected");
    assert_eq!(hit.fixed_versions, ["3.0.11-1~deb12u2"]);
    assert_eq!(hit.package, "openssl");
    assert_eq!(hit.version, "3.0.11-1~deb12u1");
    assert!(
        match_package(&db, &os_pkg(deb(), "libssl3", "3.0.9-1", "openssl"))
            .unwrap()
            .len()
            == 1
    );
    // without its source package, the binary name finds nothing
    assert!(
        match_package(&db, &pkg(deb(), "libssl3", "3.0.11-1~deb12u1"))
            .unwrap()
            .is_empty()
    );
    // the fixed version itself does not match, nor anything later
    for v in ["3.0.11-1~deb12u2", "3.0.13-1~deb12u1", "3.0.11-1"] {
        assert!(
            match_package(&db, &os_pkg(deb(), "libssl3", v, "openssl"))
                .unwrap()
                .is_empty(),
            "{v}"
        );
    }
}

#[test]
fn debian_point_release_versions_order() {
    let (_tmp, db) = debian_db();
    let deb = || Ecosystem::Debian("12".into());
    let glibc = |v: &str| match_package(&db, &os_pkg(deb(), "libc6", v, "glibc")).unwrap();
    // DSA-5514-1 fixed in 2.36-9+deb12u3 (CVE-2023-4911, CVSS 7.8)
    let hit = glibc("2.36-9+deb12u1");
    let hit = find(&hit, "DSA-5514-1").unwrap();
    assert_eq!(
        (hit.severity.band, hit.severity.score),
        (Band::High, Some(7.8))
    );
    assert!(!glibc("2.36-9").is_empty());
    assert!(glibc("2.36-9+deb12u3").is_empty(), "equal to the fix");
    assert!(glibc("2.36-9+deb12u10").is_empty(), "u10 is after u3");
    // a binNMU is matched with its source version
    let binnmu = Package {
        source_version: Some("1.34+dfsg-1.2".into()),
        ..os_pkg(deb(), "tar", "1.34+dfsg-1.2+b1", "tar")
    };
    let m = match_package(&db, &binnmu).unwrap();
    assert_eq!(
        find(&m, "DEBIAN-CVE-2023-39804").unwrap().version,
        "1.34+dfsg-1.2"
    );
    let fixed = Package {
        source_version: Some("1.34+dfsg-1.2+deb12u1".into()),
        ..binnmu.clone()
    };
    assert!(match_package(&db, &fixed).unwrap().is_empty());
    // perl's ~ and + suffixes: 5.36.0-7 < 5.36.0-7+deb12u1
    assert!(
        !match_package(&db, &os_pkg(deb(), "perl-base", "5.36.0-7", "perl"))
            .unwrap()
            .is_empty()
    );
    assert!(
        match_package(&db, &os_pkg(deb(), "perl-base", "5.36.0-7+deb12u1", "perl"))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn debian_unfixed_is_reported_as_unfixed() {
    let (_tmp, db) = debian_db();
    let m = match_package(
        &db,
        &os_pkg(
            Ecosystem::Debian("12".into()),
            "zlib1g",
            "1:1.2.13.dfsg-1",
            "zlib",
        ),
    )
    .unwrap();
    let hit = find(&m, "DEBIAN-CVE-2023-45853").unwrap();
    assert_eq!(hit.status, FixStatus::Unfixed);
    assert!(hit.fixed_versions.is_empty());
    // another release's inventory does not see Debian 12's records
    assert!(
        match_package(
            &db,
            &os_pkg(
                Ecosystem::Debian("11".into()),
                "zlib1g",
                "1:1.2.11.dfsg-2",
                "zlib"
            )
        )
        .unwrap()
        .is_empty()
    );
}

//! Files that are not what their path claims: a warning each, never a panic, and the rest of
//! the inventory intact.

use moat_scan::analyze::{ANALYZERS, Context, Date, inventory_on, os_release};
use proptest::prelude::*;

const TODAY: Date = Date::new(2026, 12, 4);

/// A path each analyzer wants (binary analyzers pick by content).
const PATHS: &[&str] = &[
    "var/lib/dpkg/status",
    "var/lib/dpkg/status.d/libc6",
    "lib/apk/db/installed",
    "app/Cargo.lock",
    "app/package-lock.json",
    "app/node_modules/x/package.json",
    "site-packages/x-1.0.dist-info/METADATA",
    "app/requirements.txt",
    "app/poetry.lock",
    "app/Pipfile.lock",
    "usr/local/bin/app",
];

fn fixture(rel: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/analyze/{rel}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

#[test]
fn malformed_files_are_warnings_and_the_rest_goes_on() {
    let cases: &[(&str, &[u8], &str)] = &[
        (
            "var/lib/dpkg/status",
            b"Package: a\nStatus: install ok installed\n",
            "dpkg",
        ),
        ("var/lib/dpkg/status", b"\x00\x01\x02 binary junk", "dpkg"),
        (
            "lib/apk/db/installed",
            b"this is not\nan apk database\n",
            "apk",
        ),
        (
            "app/Cargo.lock",
            b"[[package]]\nname = \"x\"\nversion = ",
            "cargo-lock",
        ),
        ("app/Cargo.lock", b"[[package]]\nname = 3\n", "cargo-lock"),
        ("app/package-lock.json", b"{\"packages\": {", "npm-lock"),
        ("app/package-lock.json", b"[1, 2]", "npm-lock"),
        ("app/package-lock.json", b"{\"name\": \"x\"}", "npm-lock"),
        ("app/node_modules/x/package.json", b"<html>", "npm-package"),
        (
            "site-packages/x-1.0.dist-info/METADATA",
            b"Summary: nothing\n",
            "python-metadata",
        ),
        (
            "app/requirements.txt",
            b"\xff\xfe\xfd",
            "python-requirements",
        ),
        ("app/poetry.lock", b"[[package]\n", "poetry-lock"),
        ("app/Pipfile.lock", b"{\"_meta\": {}}", "pipfile-lock"),
        (
            "etc/os-release",
            b"ID=\"debian\nVERSION_ID=12\n",
            "os-release",
        ),
    ];
    for (path, data, analyzer) in cases {
        let files = vec![
            ((*path).to_owned(), data.to_vec(), 0),
            (
                "app/poetry.lock".to_owned(),
                fixture("python/poetry.lock"),
                1,
            ),
            (
                "usr/lib/os-release".to_owned(),
                fixture("debian12/os-release"),
                1,
            ),
        ]
        .into_iter()
        .filter(|(p, _, l)| *l == 0 || *p != *path);
        let inv = inventory_on(files, TODAY);
        assert_eq!(inv.warnings.len(), 1, "{path}: {:?}", inv.warnings);
        let prefix = format!("{path}: {analyzer}: ");
        assert!(inv.warnings[0].starts_with(&prefix), "{}", inv.warnings[0]);
        if *path != "app/poetry.lock" {
            assert_eq!(inv.packages.len(), 3, "{path}: the good file still counts");
        }
    }
}

#[test]
fn empty_files_are_no_packages() {
    // An empty list is still a list; an empty JSON document or METADATA is not one.
    let warned = [
        "package-lock.json",
        "package.json",
        "Pipfile.lock",
        "METADATA",
    ];
    for path in PATHS {
        let files = [
            ((*path).to_owned(), Vec::new(), 0),
            (
                "etc/os-release".to_owned(),
                fixture("debian12/os-release"),
                0,
            ),
        ];
        let inv = inventory_on(files, TODAY);
        assert!(inv.packages.is_empty(), "{path}");
        let expect = usize::from(warned.iter().any(|w| path.ends_with(w)));
        assert_eq!(inv.warnings.len(), expect, "{path}: {:?}", inv.warnings);
    }
}

fn every_analyzer(path: &str, data: &[u8]) {
    let ctx = Context {
        os: os_release::parse(b"ID=debian\nVERSION_ID=12\n").ok(),
    };
    for a in ANALYZERS {
        let _ = (a.analyze)(path, data, 0, &ctx);
    }
    let _ = os_release::parse(data);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..2048), which in 0..PATHS.len()) {
        every_analyzer(PATHS[which], &data);
        let _ = inventory_on([(PATHS[which].to_owned(), data, 0)], TODAY);
    }

    #[test]
    fn random_bytes_behind_an_elf_header_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..4096), class in 1u8..=2, order in 1u8..=2) {
        let mut data = vec![0x7f, b'E', b'L', b'F', class, order, 1, 0];
        data.extend_from_slice(&tail);
        every_analyzer("usr/local/bin/app", &data);
    }

    #[test]
    fn damaged_fixtures_never_panic(
        which in 0..8usize,
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..16),
        cut in any::<prop::sample::Index>(),
    ) {
        let (path, rel) = [
            ("var/lib/dpkg/status", "debian12/status"),
            ("lib/apk/db/installed", "alpine311/installed"),
            ("app/Cargo.lock", "rust/Cargo.lock.v4"),
            ("app/package-lock.json", "npm/package-lock.v3.json"),
            ("app/package-lock.json", "npm/package-lock.v1.json"),
            ("app/poetry.lock", "python/poetry.lock"),
            ("app/Pipfile.lock", "python/Pipfile.lock"),
            ("etc/os-release", "debian12/os-release"),
        ][which];
        let mut data = fixture(rel);
        for (at, byte) in flips {
            let i = at.index(data.len());
            data[i] = byte;
        }
        data.truncate(cut.index(data.len() + 1));
        every_analyzer(path, &data);
    }
}

//! The analyzers on realistic files of every text format, read through `inventory` as the image
//! reader would hand them over.

use moat_scan::analyze::{self, Date, inventory_on, wants};
use moat_scan::model::{Ecosystem, Inventory, Package};

const TODAY: Date = Date::new(2026, 12, 4);

fn fixture(rel: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/analyze/{rel}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The inventory of `(image path, fixture)` pairs, each in its own layer.
fn scan(files: &[(&str, &str)]) -> Inventory {
    inventory_on(
        files
            .iter()
            .enumerate()
            .map(|(i, (path, rel))| ((*path).to_owned(), fixture(rel), i)),
        TODAY,
    )
}

/// `name version` of every package, in order.
fn names(packages: &[Package]) -> Vec<String> {
    packages
        .iter()
        .map(|p| format!("{} {}", p.name, p.version))
        .collect()
}

fn find<'a>(inv: &'a Inventory, name: &str) -> &'a Package {
    inv.packages
        .iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("{name} not in {:?}", names(&inv.packages)))
}

#[test]
fn wants_decides_from_the_path() {
    for (path, wanted) in [
        ("etc/os-release", true),
        ("usr/lib/os-release", true),
        ("var/lib/dpkg/status", true),
        ("var/lib/dpkg/status-old", false),
        ("var/lib/dpkg/status.d/libssl3", true),
        ("var/lib/dpkg/status.d/libssl3.md5sums", false),
        ("lib/apk/db/installed", true),
        ("app/Cargo.lock", true),
        (
            "root/.cargo/registry/src/index/serde-1.0.0/Cargo.lock",
            false,
        ),
        ("srv/web/package-lock.json", true),
        ("srv/web/node_modules/.package-lock.json", false),
        ("srv/web/node_modules/dep/package-lock.json", false),
        ("srv/web/node_modules/express/package.json", true),
        ("srv/web/node_modules/@babel/core/package.json", true),
        ("srv/web/node_modules/a/node_modules/b/package.json", true),
        ("srv/web/node_modules/express/lib/package.json", false),
        ("srv/web/package.json", false),
        (
            "usr/lib/python3/dist-packages/jinja2-3.1.2.dist-info/METADATA",
            true,
        ),
        (
            "usr/lib/python3/dist-packages/six-1.16.0.egg-info/PKG-INFO",
            true,
        ),
        ("app/requirements.txt", true),
        ("app/requirements-dev.txt", true),
        ("app/requirements.in", false),
        ("app/poetry.lock", true),
        ("app/Pipfile.lock", true),
        ("app/Pipfile", false),
        ("usr/bin/ls", false),
    ] {
        assert_eq!(wants(path), wanted, "{path}");
    }
}

#[test]
fn wants_binary_takes_executables_of_a_plausible_size() {
    use analyze::wants_binary;
    assert!(wants_binary("usr/local/bin/api", 12 << 20, 0o755));
    assert!(!wants_binary("usr/local/bin/api", 12 << 20, 0o644));
    assert!(!wants_binary("usr/local/bin/tiny", 100, 0o755));
    assert!(!wants_binary("usr/local/bin/huge", 1 << 40, 0o755));
    assert!(!wants_binary("usr/local/bin/entrypoint.sh", 4096, 0o755));
}

#[test]
fn debian_status_with_source_packages_and_binnmus() {
    let inv = scan(&[
        ("var/lib/dpkg/status", "debian12/status"),
        ("etc/os-release", "debian12/os-release"),
    ]);
    assert!(inv.warnings.is_empty(), "{:?}", inv.warnings);
    let os = inv.os.as_ref().expect("os-release read");
    assert_eq!(os.id, "debian");
    assert_eq!(os.version_id.as_deref(), Some("12"));
    assert_eq!(
        os.pretty_name.as_deref(),
        Some("Debian GNU/Linux 12 (bookworm)")
    );
    assert_eq!(os.end_of_life, Some(false));
    assert_eq!(
        names(&inv.packages),
        [
            "base-files 12.4+deb12u5",
            "libc6 2.36-9+deb12u4",
            "libgcc-s1 12.2.0-14",
            "libsemanage2 3.4-1+b5",
            "libssl3 3.0.11-1~deb12u2",
            "zlib1g 1:1.2.13.dfsg-1",
        ],
        "the deinstalled openssh-client is left out"
    );
    let eco = Ecosystem::Debian("12".into());
    assert!(inv.packages.iter().all(|p| p.ecosystem == eco));
    assert_eq!(eco.osv_name(), "Debian:12");
    // os-release came second but the packages still carry its release; layer of the status file.
    assert!(inv.packages.iter().all(|p| p.layer == Some(0)));
    assert!(inv.packages.iter().all(|p| p.path == "var/lib/dpkg/status"));

    let cases = [
        ("base-files", None, None),
        ("libc6", Some("glibc"), None),
        ("libgcc-s1", Some("gcc-12"), None),
        ("libsemanage2", Some("libsemanage"), Some("3.4-1")),
        ("libssl3", Some("openssl"), None),
    ];
    for (name, source, source_version) in cases {
        let p = find(&inv, name);
        assert_eq!(p.source_name.as_deref(), source, "{name}");
        assert_eq!(p.source_version.as_deref(), source_version, "{name}");
    }
}

#[test]
fn distroless_status_d_one_stanza_per_file() {
    let inv = scan(&[
        ("etc/os-release", "debian12/os-release"),
        ("var/lib/dpkg/status.d/libssl3", "debian12/status.d/libssl3"),
        ("var/lib/dpkg/status.d/tzdata", "debian12/status.d/tzdata"),
    ]);
    assert!(inv.warnings.is_empty(), "{:?}", inv.warnings);
    assert_eq!(
        names(&inv.packages),
        ["libssl3 3.0.11-1~deb12u2", "tzdata 2024a-0+deb12u1"]
    );
    assert_eq!(
        find(&inv, "libssl3").source_name.as_deref(),
        Some("openssl")
    );
    assert_eq!(find(&inv, "tzdata").layer, Some(2));
}

#[test]
fn alpine_installed_db_with_origins() {
    let inv = scan(&[
        ("etc/os-release", "alpine311/os-release"),
        ("lib/apk/db/installed", "alpine311/installed"),
    ]);
    assert!(inv.warnings.is_empty(), "{:?}", inv.warnings);
    let os = inv.os.as_ref().unwrap();
    assert_eq!(
        (os.id.as_str(), os.end_of_life),
        ("alpine", Some(true)),
        "3.11 ended in 2021"
    );
    assert_eq!(inv.packages.len(), 14);
    let eco = Ecosystem::Alpine("v3.11".into());
    assert_eq!(eco.osv_name(), "Alpine:v3.11");
    assert!(inv.packages.iter().all(|p| p.ecosystem == eco));
    let ssl = find(&inv, "libssl1.1");
    assert_eq!(ssl.version, "1.1.1d-r2");
    assert_eq!(ssl.source_name.as_deref(), Some("openssl"));
    assert_eq!(
        find(&inv, "ssl_client").source_name.as_deref(),
        Some("busybox")
    );
    assert_eq!(
        find(&inv, "musl").source_name,
        None,
        "origin equal to the name"
    );
    assert_eq!(
        find(&inv, "scanelf").source_name.as_deref(),
        Some("pax-utils")
    );
}

#[test]
fn os_packages_without_os_release_still_inventoried() {
    let inv = scan(&[("lib/apk/db/installed", "alpine311/installed")]);
    assert!(inv.os.is_none());
    assert_eq!(
        inv.warnings,
        ["lib/apk/db/installed: no os-release: the distribution's packages carry no release"]
    );
    assert_eq!(inv.packages.len(), 14);
    assert_eq!(inv.packages[0].ecosystem, Ecosystem::Alpine(String::new()));
}

#[test]
fn etc_os_release_wins_over_usr_lib() {
    let inv = scan(&[
        ("usr/lib/os-release", "alpine311/os-release"),
        ("etc/os-release", "debian12/os-release"),
    ]);
    assert_eq!(inv.os.unwrap().id, "debian");
}

#[test]
fn end_of_life_table() {
    let cases = [
        ("ID=debian\nVERSION_ID=\"9\"\n", Some(true)),
        ("ID=debian\nVERSION_ID=\"10\"\n", Some(true)),
        ("ID=debian\nVERSION_ID=\"11\"\n", Some(true)),
        ("ID=debian\nVERSION_ID=\"12\"\n", Some(false)),
        ("ID=debian\nVERSION_CODENAME=forky\n", None),
        ("ID=alpine\nVERSION_ID=3.19.1\n", Some(true)),
        ("ID=alpine\nVERSION_ID=3.22.0\n", Some(false)),
        ("ID=alpine\nVERSION_ID=3.21_alpha20240329\n", None),
        ("ID=ubuntu\nVERSION_ID=\"20.04\"\n", Some(true)),
        ("ID=ubuntu\nVERSION_ID=\"22.04\"\n", Some(false)),
        ("ID=ubuntu\nVERSION_ID=\"24.04\"\n", Some(false)),
        ("ID=\"rocky\"\nVERSION_ID=\"9.3\"\n", None),
    ];
    for (text, eol) in cases {
        let inv = inventory_on([("etc/os-release".to_owned(), text.into(), 0)], TODAY);
        assert_eq!(inv.os.unwrap().end_of_life, eol, "{text}");
    }
    // Debian 11's LTS ran until the end of August 2026.
    let bullseye = "ID=debian\nVERSION_ID=\"11\"\n";
    let on = |d| {
        inventory_on([("etc/os-release".to_owned(), bullseye.into(), 0)], d)
            .os
            .unwrap()
            .end_of_life
    };
    assert_eq!(on(Date::new(2026, 8, 31)), Some(false));
    assert_eq!(on(Date::new(2026, 9, 1)), Some(true));
}

#[test]
fn os_release_quoting_and_releases() {
    let text = "# comment\nNAME='Ubuntu'\nID=ubuntu\nID_LIKE=debian\nPRETTY_NAME=\"Ubuntu 22.04.3 LTS \\\"Jammy\\\"\"\nVERSION_ID=\"22.04\"\n";
    let info = analyze::os_release::parse(text.as_bytes()).unwrap();
    assert_eq!(
        info.pretty_name.as_deref(),
        Some("Ubuntu 22.04.3 LTS \"Jammy\"")
    );
    assert!(info.is_like("debian"));
    assert_eq!(info.dpkg_ecosystem(), Ecosystem::Ubuntu("22.04".into()));
    let sid = analyze::os_release::parse(b"ID=debian\nVERSION_CODENAME=trixie\n").unwrap();
    assert_eq!(sid.release().as_deref(), Some("trixie"));
    let no_id = analyze::os_release::parse(b"NAME=Thing\n").unwrap();
    assert_eq!(no_id.id, "linux");
    let alpine = analyze::os_release::parse(b"ID=alpine\nVERSION_ID=3.19.1\n").unwrap();
    assert_eq!(alpine.release().as_deref(), Some("v3.19"));
    assert!(analyze::os_release::parse(b"ID=\"debian\nVERSION_ID=12\n").is_err());
    assert!(analyze::os_release::parse(b"\xff\xfe\x00garbage").is_err());
}

#[test]
fn cargo_lock_versions() {
    let inv = scan(&[
        ("srv/api/Cargo.lock", "rust/Cargo.lock.v3"),
        ("srv/gateway/Cargo.lock", "rust/Cargo.lock.v4"),
        ("srv/hello/Cargo.lock", "rust/Cargo.lock.v1"),
    ]);
    assert!(inv.warnings.is_empty(), "{:?}", inv.warnings);
    assert_eq!(
        names(&inv.packages),
        [
            "libc 0.2.147",
            "smallvec 1.6.0",
            "time 0.1.43",
            "winapi 0.3.9",
            "bytes 1.5.0",
            "h2 0.3.20",
            "my-fork 0.2.0",
            "tokio 1.18.0",
            "lazy_static 1.0.0",
        ],
        "workspace and path members (no source) are the project itself"
    );
    assert!(
        inv.packages
            .iter()
            .all(|p| p.ecosystem == Ecosystem::CratesIo)
    );
    assert_eq!(find(&inv, "tokio").path, "srv/gateway/Cargo.lock");
    assert_eq!(find(&inv, "tokio").layer, Some(1));
}

#[test]
fn npm_lock_v1_tree() {
    let inv = scan(&[("srv/web/package-lock.json", "npm/package-lock.v1.json")]);
    assert!(inv.warnings.is_empty(), "{:?}", inv.warnings);
    let mut got = names(&inv.packages);
    got.sort();
    assert_eq!(
        got,
        [
            "accepts 1.3.7",
            "express 4.17.1",
            "lodash 4.17.15",
            "negotiator 0.6.2",
            "qs 6.7.0",
            "qs 6.9.4",
        ],
        "nested qs kept, file: dependency skipped"
    );
    assert!(inv.packages.iter().all(|p| p.ecosystem == Ecosystem::Npm));
}

#[test]
fn npm_lock_v3_packages() {
    let inv = scan(&[("srv/web/package-lock.json", "npm/package-lock.v3.json")]);
    assert!(inv.warnings.is_empty(), "{:?}", inv.warnings);
    let mut got = names(&inv.packages);
    got.sort();
    assert_eq!(
        got,
        [
            "@babel/traverse 7.22.5",
            "semver 6.3.0",
            "semver 7.5.1",
            "string-width 4.2.3",
            "web-vitals 3.3.2",
        ],
        "root, link and workspace folder skipped; alias named by its real package"
    );
}

#[test]
fn npm_installed_package_json_deduplicated() {
    let pj = |name: &str, version: &str| {
        format!(r#"{{"name": "{name}", "version": "{version}", "main": "index.js"}}"#).into_bytes()
    };
    let files = vec![
        (
            "app/node_modules/express/package.json".to_owned(),
            pj("express", "4.17.1"),
            3,
        ),
        (
            "app/node_modules/@babel/core/package.json".to_owned(),
            pj("@babel/core", "7.22.5"),
            3,
        ),
        // The same file again from a later layer: one package.
        (
            "app/node_modules/express/package.json".to_owned(),
            pj("express", "4.17.1"),
            4,
        ),
        (
            "app/node_modules/nameless/package.json".to_owned(),
            br#"{"private": true}"#.to_vec(),
            3,
        ),
    ];
    let inv = inventory_on(files, TODAY);
    assert!(inv.warnings.is_empty(), "{:?}", inv.warnings);
    assert_eq!(
        names(&inv.packages),
        ["express 4.17.1", "@babel/core 7.22.5"]
    );
    assert_eq!(inv.packages[0].layer, Some(3));
}

#[test]
fn python_formats() {
    let inv = scan(&[
        (
            "usr/lib/python3.11/site-packages/Jinja2-3.1.2.dist-info/METADATA",
            "python/METADATA",
        ),
        ("app/poetry.lock", "python/poetry.lock"),
        ("app/Pipfile.lock", "python/Pipfile.lock"),
        ("app/requirements-prod.txt", "python/requirements-prod.txt"),
    ]);
    assert!(inv.warnings.is_empty(), "{:?}", inv.warnings);
    assert!(inv.packages.iter().all(|p| p.ecosystem == Ecosystem::PyPi));
    let by_file = |file: &str| {
        names(
            &inv.packages
                .iter()
                .filter(|p| p.path.ends_with(file))
                .cloned()
                .collect::<Vec<_>>(),
        )
    };
    assert_eq!(
        by_file("METADATA"),
        ["jinja2 3.1.2"],
        "headers only, name per PEP 503"
    );
    assert_eq!(
        by_file("poetry.lock"),
        ["certifi 2023.7.22", "requests 2.31.0", "urllib3 2.0.4"],
        "the local directory package is skipped"
    );
    assert_eq!(
        by_file("Pipfile.lock"),
        ["django 4.2.4", "sqlparse 0.4.4", "pytest 7.4.0"],
        "editable path entry has no version"
    );
    assert_eq!(
        by_file("requirements-prod.txt"),
        [
            "flask 2.2.2",
            "gunicorn 20.1.0",
            "uvicorn 0.23.2",
            "zope-interface 6.0"
        ],
        "only exact pins; includes, ranges, wildcards and VCS lines skipped"
    );
}

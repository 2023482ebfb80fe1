//! Binary analyzers: Go build info and `cargo auditable` dependency lists, on ELF files
//! assembled here byte by byte and on a Go program built with the local toolchain.

use moat_scan::analyze::{Date, inventory_on};
use moat_scan::model::{Ecosystem, Inventory};

const TODAY: Date = Date::new(2026, 12, 4);
const BASE: u64 = 0x40_0000;

/// A little-endian ELF64 executable with the given named sections (placed at `BASE + offset`),
/// or, with `headers == false`, the same bytes without section headers.
fn elf(sections: &[(&str, Vec<u8>)], headers: bool) -> Vec<u8> {
    let mut data = vec![0u8; 64];
    let mut placed = Vec::new();
    for (name, bytes) in sections {
        while !data.len().is_multiple_of(16) {
            data.push(0);
        }
        placed.push((*name, data.len() as u64, bytes.len() as u64));
        data.extend_from_slice(bytes);
    }
    let mut shstrtab = vec![0u8];
    let mut name_offsets = Vec::new();
    for (name, _, _) in &placed {
        name_offsets.push(shstrtab.len() as u32);
        shstrtab.extend_from_slice(name.as_bytes());
        shstrtab.push(0);
    }
    let shstrtab_name = shstrtab.len() as u32;
    shstrtab.extend_from_slice(b".shstrtab\0");
    let shstrtab_off = data.len() as u64;
    data.extend_from_slice(&shstrtab);
    while !data.len().is_multiple_of(8) {
        data.push(0);
    }
    let shoff = data.len() as u64;
    let mut sh = |name: u32, kind: u32, addr: u64, off: u64, size: u64| {
        let mut h = Vec::with_capacity(64);
        h.extend_from_slice(&name.to_le_bytes());
        h.extend_from_slice(&kind.to_le_bytes());
        h.extend_from_slice(&2u64.to_le_bytes()); // flags: alloc
        h.extend_from_slice(&addr.to_le_bytes());
        h.extend_from_slice(&off.to_le_bytes());
        h.extend_from_slice(&size.to_le_bytes());
        h.extend_from_slice(&[0u8; 24]); // link, info, align, entsize
        data.extend_from_slice(&h);
    };
    sh(0, 0, 0, 0, 0);
    for ((_, off, size), name) in placed.iter().zip(&name_offsets) {
        sh(*name, 1, BASE + off, *off, *size);
    }
    sh(shstrtab_name, 3, 0, shstrtab_off, shstrtab.len() as u64);
    let shnum = placed.len() as u16 + 2;
    let mut header = Vec::with_capacity(64);
    header.extend_from_slice(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0");
    header.extend_from_slice(&2u16.to_le_bytes()); // executable
    header.extend_from_slice(&62u16.to_le_bytes()); // x86-64
    header.extend_from_slice(&1u32.to_le_bytes());
    header.extend_from_slice(&BASE.to_le_bytes()); // entry
    header.extend_from_slice(&0u64.to_le_bytes()); // program headers
    header.extend_from_slice(&(if headers { shoff } else { 0 }).to_le_bytes());
    header.extend_from_slice(&0u32.to_le_bytes());
    header.extend_from_slice(&64u16.to_le_bytes());
    header.extend_from_slice(&56u16.to_le_bytes());
    header.extend_from_slice(&0u16.to_le_bytes());
    header.extend_from_slice(&64u16.to_le_bytes());
    header.extend_from_slice(&(if headers { shnum } else { 0 }).to_le_bytes());
    header.extend_from_slice(&(if headers { shnum - 1 } else { 0 }).to_le_bytes());
    data[..64].copy_from_slice(&header);
    data
}

fn varint(mut n: usize, out: &mut Vec<u8>) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// Go's markers around the module info.
fn with_sentinels(modinfo: &str) -> Vec<u8> {
    let mut v = b"0w\xaf\x0c\x92t\x08\x02A\xe1\xc1\x07\xe6\xd6\x18\xe6".to_vec();
    v.extend_from_slice(modinfo.as_bytes());
    v.extend_from_slice(b"\xf92C1\x86\x18 r\x00\x82B\x10A\x16\xd8\xf2");
    v
}

/// A Go 1.18+ build-info block: header, then the version and module info, length-prefixed.
fn buildinfo(version: &str, modinfo: &str) -> Vec<u8> {
    let mut b = b"\xff Go buildinf:".to_vec();
    b.push(8); // pointer size
    b.push(2); // flags: strings inline, little-endian
    b.resize(32, 0);
    varint(version.len(), &mut b);
    b.extend_from_slice(version.as_bytes());
    let m = with_sentinels(modinfo);
    varint(m.len(), &mut b);
    b.extend_from_slice(&m);
    b
}

const MODINFO: &str = "path\texample.com/api/cmd/api\n\
mod\texample.com/api\tv1.4.0\th1:qqq=\n\
dep\tgithub.com/gin-gonic/gin\tv1.9.0\th1:OjyFBKICoexlu99ctXNR2gg+c5pKrKQuyC1WDUeqnFQ=\n\
dep\tgolang.org/x/net\tv0.7.0\th1:rJrUqqhjsgNp7KqAIc25s9pZnjU7TUcSY7HcVZjdn1g=\n\
dep\tgolang.org/x/crypto\tv0.5.0\n=>\tgolang.org/x/crypto\tv0.17.0\th1:r8bRNjWL3GshPW3gkd+RpvzWrZAwPS49OmTGZ/uhM4k=\n\
build\t-compiler=gc\nbuild\tGOOS=linux\n";

fn scan_binary(path: &str, data: Vec<u8>) -> Inventory {
    inventory_on([(path.to_owned(), data, 2)], TODAY)
}

fn go_names(inv: &Inventory) -> Vec<String> {
    inv.packages
        .iter()
        .filter(|p| p.ecosystem == Ecosystem::Go)
        .map(|p| format!("{} {}", p.name, p.version))
        .collect()
}

#[test]
fn go_buildinfo_section() {
    let bin = elf(
        &[
            (".text", vec![0xc3; 64]),
            (".go.buildinfo", buildinfo("go1.20.1", MODINFO)),
        ],
        true,
    );
    let inv = scan_binary("usr/local/bin/api", bin);
    assert!(inv.warnings.is_empty(), "{:?}", inv.warnings);
    assert_eq!(
        go_names(&inv),
        [
            "stdlib v1.20.1",
            "example.com/api v1.4.0",
            "github.com/gin-gonic/gin v1.9.0",
            "golang.org/x/net v0.7.0",
            "golang.org/x/crypto v0.17.0",
        ]
    );
    assert!(
        inv.packages
            .iter()
            .all(|p| p.path == "usr/local/bin/api" && p.layer == Some(2))
    );
}

#[test]
fn go_buildinfo_found_without_section_headers() {
    let bin = elf(
        &[
            (".text", vec![0xc3; 100]),
            (".go.buildinfo", buildinfo("go1.21rc2", MODINFO)),
        ],
        false,
    );
    let inv = scan_binary("app", bin);
    assert!(inv.warnings.is_empty(), "{:?}", inv.warnings);
    assert_eq!(go_names(&inv)[0], "stdlib v1.21.0-rc.2");
    assert_eq!(go_names(&inv).len(), 5);
}

#[test]
fn go_buildinfo_before_go_1_18_through_pointers() {
    // `.go.buildinfo` holds two pointers to Go string headers in `.data`.
    let version = b"go1.16.15";
    let modinfo =
        with_sentinels("path\tx/y\nmod\tx/y\t(devel)\t\ndep\tgolang.org/x/text\tv0.3.5\th1:z=\n");
    let data_off = 64 + 0x40; // where `.data` lands: after the 32-byte `.go.buildinfo`, aligned
    let data_addr = BASE + data_off;
    let mut data = Vec::new();
    let strings_at = data_addr + 32;
    for (addr, len) in [
        (strings_at, version.len()),
        (strings_at + version.len() as u64, modinfo.len()),
    ] {
        data.extend_from_slice(&addr.to_le_bytes());
        data.extend_from_slice(&(len as u64).to_le_bytes());
    }
    data.extend_from_slice(version);
    data.extend_from_slice(&modinfo);
    let mut header = b"\xff Go buildinf:".to_vec();
    header.push(8);
    header.push(0); // pointers, little-endian
    header.extend_from_slice(&data_addr.to_le_bytes());
    header.extend_from_slice(&(data_addr + 16).to_le_bytes());
    header.resize(0x40, 0);
    let bin = elf(&[(".go.buildinfo", header), (".data", data)], true);
    let inv = scan_binary("old", bin);
    assert!(inv.warnings.is_empty(), "{:?}", inv.warnings);
    assert_eq!(
        go_names(&inv),
        ["stdlib v1.16.15", "golang.org/x/text v0.3.5"]
    );
}

#[test]
fn truncated_go_buildinfo_is_a_warning() {
    let mut info = buildinfo("go1.20.1", MODINFO);
    info.truncate(50);
    let bin = elf(&[(".go.buildinfo", info)], true);
    let inv = scan_binary("usr/bin/broken", bin);
    assert!(inv.packages.is_empty());
    assert_eq!(inv.warnings.len(), 1, "{:?}", inv.warnings);
    assert!(
        inv.warnings[0].starts_with("usr/bin/broken: go-binary:"),
        "{}",
        inv.warnings[0]
    );
}

#[test]
fn other_elf_files_give_nothing() {
    let inv = scan_binary("usr/bin/true", elf(&[(".text", vec![0x90; 4096])], true));
    assert!(
        inv.packages.is_empty() && inv.warnings.is_empty(),
        "{inv:?}"
    );
    let inv = scan_binary("usr/bin/script", b"#!/bin/sh\necho hi\n".to_vec());
    assert!(
        inv.packages.is_empty() && inv.warnings.is_empty(),
        "{inv:?}"
    );
}

const AUDIT_JSON: &str = r#"{"packages":[
 {"name":"api","version":"0.1.0","source":"local","dependencies":[1,2,3],"root":true},
 {"name":"common","version":"0.1.0","source":"local"},
 {"name":"hyper","version":"0.14.26","source":"crates.io","dependencies":[3]},
 {"name":"smallvec","version":"1.6.0","source":"crates.io"},
 {"name":"cc","version":"1.0.79","source":"crates.io","kind":"build"}
]}"#;

#[test]
fn cargo_auditable_dep_v0() {
    let compressed = miniz_oxide::deflate::compress_to_vec_zlib(AUDIT_JSON.as_bytes(), 6);
    let bin = elf(&[(".text", vec![0xc3; 64]), (".dep-v0", compressed)], true);
    let inv = scan_binary("usr/local/bin/api", bin);
    assert!(inv.warnings.is_empty(), "{:?}", inv.warnings);
    let got: Vec<_> = inv
        .packages
        .iter()
        .map(|p| (p.ecosystem.clone(), p.name.as_str(), p.version.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (Ecosystem::CratesIo, "hyper", "0.14.26"),
            (Ecosystem::CratesIo, "smallvec", "1.6.0"),
            (Ecosystem::CratesIo, "cc", "1.0.79"),
        ],
        "local crates (the project) are skipped"
    );
}

#[test]
fn cargo_auditable_garbage_is_a_warning() {
    let bin = elf(&[(".dep-v0", b"not zlib at all".to_vec())], true);
    let inv = scan_binary("usr/local/bin/api", bin);
    assert!(inv.packages.is_empty());
    assert_eq!(inv.warnings.len(), 1, "{:?}", inv.warnings);
    assert!(
        inv.warnings[0].contains("cargo-auditable"),
        "{}",
        inv.warnings[0]
    );
    let not_json = miniz_oxide::deflate::compress_to_vec_zlib(b"{\"packages\": 3}", 6);
    let inv = scan_binary("x", elf(&[(".dep-v0", not_json)], true));
    assert_eq!(inv.warnings.len(), 1, "{:?}", inv.warnings);
}

/// A program with one dependency, replaced by a local directory, built by the installed Go
/// toolchain without network. Skipped when `go` is missing, unless `MOAT_REQUIRE_GO=1`.
#[test]
fn real_go_binary() {
    let required = std::env::var("MOAT_REQUIRE_GO").is_ok_and(|v| v == "1");
    let version = std::process::Command::new("go").arg("version").output();
    let Some(version) = version.ok().filter(|o| o.status.success()) else {
        assert!(!required, "MOAT_REQUIRE_GO=1 but `go version` does not run");
        eprintln!("skipped: no Go toolchain (`go` not found); set MOAT_REQUIRE_GO=1 to require it");
        return;
    };
    let version = String::from_utf8_lossy(&version.stdout).into_owned();
    let dir = tempfile::tempdir().unwrap();
    let fixtures = format!("{}/tests/fixtures/analyze/go", env!("CARGO_MANIFEST_DIR"));
    for module in ["app", "greet"] {
        let to = dir.path().join(module);
        std::fs::create_dir_all(&to).unwrap();
        for entry in std::fs::read_dir(format!("{fixtures}/{module}")).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
    let out = dir.path().join("app.bin");
    let built = std::process::Command::new("go")
        .args(["build", "-o"])
        .arg(&out)
        .arg(".")
        .current_dir(dir.path().join("app"))
        .env("GOTOOLCHAIN", "local")
        .env("GOPROXY", "off")
        .env("GOFLAGS", "-mod=mod")
        .env("GOCACHE", dir.path().join("cache"))
        .env("GOPATH", dir.path().join("gopath"))
        .env("CGO_ENABLED", "0")
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "go build: {}",
        String::from_utf8_lossy(&built.stderr)
    );
    let inv = scan_binary("usr/local/bin/app", std::fs::read(&out).unwrap());
    assert!(inv.warnings.is_empty(), "{:?}", inv.warnings);
    let names = go_names(&inv);
    // `go version go1.19.8 linux/amd64` → `stdlib v1.19.8`
    let toolchain = version
        .split_whitespace()
        .nth(2)
        .unwrap()
        .trim_start_matches("go");
    let mut want_std = format!("stdlib v{toolchain}");
    if toolchain.matches('.').count() == 1 {
        want_std.push_str(".0");
    }
    assert_eq!(
        names,
        [want_std.as_str(), "example.com/greet v1.2.3"],
        "the main module is (devel); the local replacement keeps the required version"
    );
}

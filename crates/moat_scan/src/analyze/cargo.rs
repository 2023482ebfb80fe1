//! Rust crates: `Cargo.lock` (versions 1 to 4: every `[[package]]` with its `source`; packages
//! without a source are the project's own path or workspace members and are skipped) and
//! binaries built with `cargo auditable`, whose ELF section `.dep-v0` holds the dependency list
//! as zlib-compressed JSON (`{"packages":[{"name","version","source","kind",…}]}`; `local`
//! sources are the project's own crates and are skipped).

use serde::Deserialize;

use super::{Context, elf::Elf, file_name, package};
use crate::model::{Ecosystem, Package};

/// The most bytes a `.dep-v0` section may inflate to.
const MAX_AUDIT_JSON: usize = 16 * 1024 * 1024;

/// Whether `path` is a `Cargo.lock` of a project (not one of the registry's unpacked crates).
pub(crate) fn wants_lock(path: &str) -> bool {
    file_name(path) == "Cargo.lock"
        && !path.contains(".cargo/registry/")
        && !path.contains(".cargo/git/")
}

#[derive(Deserialize)]
struct Lock {
    #[serde(default)]
    package: Vec<LockPackage>,
}

#[derive(Deserialize)]
struct LockPackage {
    name: String,
    version: String,
    source: Option<String>,
}

/// The crates of a `Cargo.lock`.
pub(crate) fn analyze_lock(
    path: &str,
    data: &[u8],
    layer: usize,
    _ctx: &Context,
) -> Result<Vec<Package>, String> {
    let text = std::str::from_utf8(data).map_err(|e| format!("not UTF-8: {e}"))?;
    let lock: Lock = toml::from_str(text).map_err(|e| e.message().to_owned())?;
    Ok(lock
        .package
        .iter()
        .filter(|p| p.source.is_some())
        .map(|p| package(Ecosystem::CratesIo, &p.name, &p.version, path, layer))
        .collect())
}

#[derive(Deserialize)]
struct AuditInfo {
    packages: Vec<AuditPackage>,
}

#[derive(Deserialize)]
struct AuditPackage {
    name: String,
    version: String,
    #[serde(default)]
    source: String,
    #[serde(default)]
    root: bool,
}

/// The crates recorded by `cargo auditable` in an ELF binary; nothing when the binary has no
/// `.dep-v0` section.
pub(crate) fn analyze_auditable(
    path: &str,
    data: &[u8],
    layer: usize,
    _ctx: &Context,
) -> Result<Vec<Package>, String> {
    let Ok(elf) = Elf::parse(data) else {
        return Ok(Vec::new());
    };
    let Some((_, compressed)) = elf.section(".dep-v0") else {
        return Ok(Vec::new());
    };
    let json = miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(compressed, MAX_AUDIT_JSON)
        .map_err(|e| format!(".dep-v0 does not inflate: {e}"))?;
    parse_audit_json(&json, path, layer)
}

/// The packages of `cargo auditable`'s JSON.
pub(crate) fn parse_audit_json(
    json: &[u8],
    path: &str,
    layer: usize,
) -> Result<Vec<Package>, String> {
    let info: AuditInfo = serde_json::from_slice(json)
        .map_err(|e| format!(".dep-v0 is not the expected JSON: {e}"))?;
    Ok(info
        .packages
        .iter()
        .filter(|p| !p.root && p.source != "local")
        .map(|p| package(Ecosystem::CratesIo, &p.name, &p.version, path, layer))
        .collect())
}

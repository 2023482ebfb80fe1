//! dpkg's database: `var/lib/dpkg/status` (every package, stanza by stanza) and distroless
//! images' `var/lib/dpkg/status.d/<name>` (one stanza per file, sometimes without `Status:`).
//!
//! Only installed packages count (`Status: <want> ok installed`; a stanza without `Status:` in
//! `status.d` is taken as installed). `Source: name (version)` gives the source package, and its
//! version when it differs from the binary's (binNMUs: `Version: 1.2-3+b1`).

use super::stanza::stanzas;
use super::{Context, package};
use crate::model::{Ecosystem, Package};

/// Whether `path` is dpkg's status file or a distroless status.d entry.
pub(crate) fn wants(path: &str) -> bool {
    if path == "var/lib/dpkg/status" {
        return true;
    }
    path.strip_prefix("var/lib/dpkg/status.d/")
        .is_some_and(|name| !name.is_empty() && !name.contains('/') && !name.ends_with(".md5sums"))
}

/// The installed packages of a status file.
pub(crate) fn analyze(
    path: &str,
    data: &[u8],
    layer: usize,
    ctx: &Context,
) -> Result<Vec<Package>, String> {
    let distroless = path.starts_with("var/lib/dpkg/status.d/");
    let ecosystem = ctx.os.as_ref().map_or_else(
        || Ecosystem::Debian(String::new()),
        super::OsInfo::dpkg_ecosystem,
    );
    let text = String::from_utf8_lossy(data);
    let all = stanzas(&text);
    let mut out = Vec::new();
    let mut incomplete = 0;
    for st in &all {
        let installed = match st.get("Status") {
            Some(s) => is_installed(s),
            None => distroless,
        };
        if !installed {
            continue;
        }
        let (Some(name), Some(version)) = (st.get("Package"), st.get("Version")) else {
            incomplete += 1;
            continue;
        };
        if name.is_empty() || version.is_empty() {
            incomplete += 1;
            continue;
        }
        let mut p = package(ecosystem.clone(), name, version, path, layer);
        if let Some(source) = st.get("Source") {
            let (src_name, src_version) = parse_source(source);
            if !src_name.is_empty() && src_name != name {
                p.source_name = Some(src_name.to_owned());
            }
            if let Some(v) = src_version.filter(|v| *v != version) {
                p.source_name = Some(src_name.to_owned());
                p.source_version = Some(v.to_owned());
            }
        }
        out.push(p);
    }
    let no_package_field = all.iter().all(|s| s.get("Package").is_none());
    if out.is_empty() && (incomplete > 0 || (no_package_field && !text.trim().is_empty())) {
        return Err(format!(
            "no installed package read ({} stanzas, {incomplete} without Package or Version)",
            all.len()
        ));
    }
    Ok(out)
}

/// `install ok installed`, `hold ok installed`: the package's files are on disk.
fn is_installed(status: &str) -> bool {
    let words: Vec<&str> = status.split_whitespace().collect();
    matches!(words.as_slice(), [_, "ok", "installed"])
}

/// `openssl (3.0.11-1~deb12u1)` → (`openssl`, `Some("3.0.11-1~deb12u1")`).
fn parse_source(field: &str) -> (&str, Option<&str>) {
    match field.split_once('(') {
        Some((name, rest)) => {
            let version = rest.split(')').next().unwrap_or(rest).trim();
            (name.trim(), Some(version).filter(|v| !v.is_empty()))
        }
        None => (field.trim(), None),
    }
}

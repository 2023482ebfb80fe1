//! npm packages: `package-lock.json` and installed `node_modules/<name>/package.json`.
//!
//! A lock file of `lockfileVersion` 2 or 3 lists every installed package in `packages`, keyed by
//! its folder (`node_modules/a/node_modules/@s/b`); the root (`""`), workspace folders (no
//! `node_modules/` in the key) and links (`link: true`) are skipped. Version 1 (and version 2
//! read by an older npm) has the nested `dependencies` tree instead. Versions that are not
//! from the registry (`file:`, `git+…`, URLs) are skipped; aliases (`npm:real@1.0.0`, or a
//! `name` field differing from the folder) name the real package.

use serde_json::{Map, Value};

use super::{Context, file_name, package};
use crate::model::{Ecosystem, Package};

/// Whether `path` is a project's `package-lock.json` (not one shipped inside a package, which
/// npm does not install from).
pub(crate) fn wants_lock(path: &str) -> bool {
    file_name(path) == "package-lock.json" && !path.contains("node_modules/")
}

/// Whether `path` is the `package.json` of an installed package:
/// `…/node_modules/<name>/package.json` or `…/node_modules/@scope/<name>/package.json`.
pub(crate) fn wants_package_json(path: &str) -> bool {
    let Some(dir) = path.strip_suffix("/package.json") else {
        return false;
    };
    let parts: Vec<&str> = dir.rsplit('/').take(3).collect();
    match parts.as_slice() {
        [name, "node_modules", ..] => !name.starts_with(['.', '@']) && !name.is_empty(),
        [name, scope, "node_modules"] => scope.starts_with('@') && !name.is_empty(),
        _ => false,
    }
}

/// The packages of a lock file.
pub(crate) fn analyze_lock(
    path: &str,
    data: &[u8],
    layer: usize,
    _ctx: &Context,
) -> Result<Vec<Package>, String> {
    let doc: Value = serde_json::from_slice(data).map_err(|e| format!("not JSON: {e}"))?;
    let Some(obj) = doc.as_object() else {
        return Err("not a JSON object".into());
    };
    let mut found = Vec::new();
    if let Some(packages) = obj.get("packages").and_then(Value::as_object) {
        for (key, entry) in packages {
            let Some(idx) = key.rfind("node_modules/") else {
                continue; // the root and workspace folders
            };
            if entry.get("link").and_then(Value::as_bool) == Some(true) {
                continue;
            }
            let folder_name = &key[idx + "node_modules/".len()..];
            let name = entry
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or(folder_name);
            if let Some(version) = entry.get("version").and_then(Value::as_str) {
                found.push(registry_version(name, version));
            }
        }
    } else if let Some(deps) = obj.get("dependencies").and_then(Value::as_object) {
        walk_v1(deps, &mut found);
    } else if obj.get("lockfileVersion").is_none() {
        return Err("neither `packages` nor `dependencies` nor `lockfileVersion`".into());
    }
    Ok(found
        .into_iter()
        .flatten()
        .map(|(n, v)| package(Ecosystem::Npm, &n, &v, path, layer))
        .collect())
}

/// Version 1's nested `dependencies`.
fn walk_v1(deps: &Map<String, Value>, found: &mut Vec<Option<(String, String)>>) {
    for (name, entry) in deps {
        if let Some(version) = entry.get("version").and_then(Value::as_str) {
            found.push(registry_version(name, version));
        }
        if let Some(nested) = entry.get("dependencies").and_then(Value::as_object) {
            walk_v1(nested, found);
        }
    }
}

/// `(name, version)` of a registry package; aliases resolved, other sources `None`.
fn registry_version(name: &str, version: &str) -> Option<(String, String)> {
    if let Some(alias) = version.strip_prefix("npm:") {
        let at = alias.rfind('@').filter(|&i| i > 0)?;
        return registry_version(&alias[..at], &alias[at + 1..]);
    }
    let ok = !name.is_empty()
        && !version.is_empty()
        && version.starts_with(|c: char| c.is_ascii_digit())
        && !version.contains([':', '/']);
    ok.then(|| (name.to_owned(), version.to_owned()))
}

/// The package an installed `package.json` describes; nothing when it has no name or version.
pub(crate) fn analyze_package_json(
    path: &str,
    data: &[u8],
    layer: usize,
    _ctx: &Context,
) -> Result<Vec<Package>, String> {
    let doc: Value = serde_json::from_slice(data).map_err(|e| format!("not JSON: {e}"))?;
    let name = doc.get("name").and_then(Value::as_str);
    let version = doc.get("version").and_then(Value::as_str);
    Ok(match (name, version) {
        (Some(n), Some(v)) if !n.is_empty() && !v.is_empty() => {
            vec![package(Ecosystem::Npm, n, v, path, layer)]
        }
        _ => Vec::new(),
    })
}

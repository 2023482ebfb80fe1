//! Python distributions: installed ones (`*.dist-info/METADATA`, `*.egg-info/PKG-INFO`: the
//! `Name:` and `Version:` headers), exact pins of `requirements*.txt`, `poetry.lock`
//! (`[[package]]`; local `directory`/`file` sources skipped) and `Pipfile.lock` (`default` and
//! `develop`, `"version": "==…"`). Names are normalised as PEP 503 says (lower case, runs of
//! `-`, `_`, `.` made one `-`).

use serde::Deserialize;
use serde_json::Value;

use super::{Context, file_name, package, stanza::headers};
use crate::model::{Ecosystem, Package};

/// `Foo.Bar__baz` → `foo-bar-baz`.
pub(crate) fn normalise(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut sep = false;
    for c in name.trim().chars() {
        if matches!(c, '-' | '_' | '.') {
            sep = true;
        } else {
            if sep && !out.is_empty() {
                out.push('-');
            }
            sep = false;
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

fn pypi(name: &str, version: &str, path: &str, layer: usize) -> Package {
    package(Ecosystem::PyPi, &normalise(name), version, path, layer)
}

/// Whether `path` is an installed distribution's metadata.
pub(crate) fn wants_metadata(path: &str) -> bool {
    let mut parts = path.rsplit('/');
    match (parts.next(), parts.next()) {
        (Some("METADATA"), Some(dir)) => dir.ends_with(".dist-info"),
        (Some("PKG-INFO"), Some(dir)) => dir.ends_with(".egg-info"),
        _ => false,
    }
}

/// The distribution a METADATA (or PKG-INFO) file describes.
pub(crate) fn analyze_metadata(
    path: &str,
    data: &[u8],
    layer: usize,
    _ctx: &Context,
) -> Result<Vec<Package>, String> {
    let text = String::from_utf8_lossy(data);
    let h = headers(&text);
    match (h.get("Name"), h.get("Version")) {
        (Some(n), Some(v)) if !n.is_empty() && !v.is_empty() => Ok(vec![pypi(n, v, path, layer)]),
        _ => Err("no Name: and Version: headers".into()),
    }
}

/// Whether `path` is a requirements file (`requirements.txt`, `requirements-dev.txt`, …).
pub(crate) fn wants_requirements(path: &str) -> bool {
    let name = file_name(path);
    name.to_ascii_lowercase().starts_with("requirements")
        && std::path::Path::new(name)
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("txt"))
        && !path.contains("site-packages/")
}

/// The exact pins (`name==version`, extras and markers ignored) of a requirements file; options
/// (`-r`, `-e`, `--hash`), URLs and ranges are skipped.
pub(crate) fn analyze_requirements(
    path: &str,
    data: &[u8],
    layer: usize,
    _ctx: &Context,
) -> Result<Vec<Package>, String> {
    let text = std::str::from_utf8(data).map_err(|e| format!("not UTF-8: {e}"))?;
    let joined = text.replace("\\\r\n", " ").replace("\\\n", " ");
    let mut out = Vec::new();
    for line in joined.lines() {
        let line = strip_comment(line).trim();
        if line.is_empty() || line.starts_with('-') {
            continue;
        }
        if let Some((name, version)) = exact_pin(line) {
            out.push(pypi(name, version, path, layer));
        }
    }
    Ok(out)
}

/// The line without a comment (`#` at its start or after whitespace).
fn strip_comment(line: &str) -> &str {
    let b = line.as_bytes();
    for (i, &c) in b.iter().enumerate() {
        if c == b'#' && (i == 0 || b[i - 1].is_ascii_whitespace()) {
            return &line[..i];
        }
    }
    line
}

/// `name[extra]==1.2.3 ; marker --hash=…` → (`name`, `1.2.3`).
fn exact_pin(line: &str) -> Option<(&str, &str)> {
    let spec = line.split(';').next()?.trim();
    let (left, right) = spec.split_once("==")?;
    if right.starts_with('=') {
        return None; // `===` arbitrary equality
    }
    let name = left.split('[').next()?.trim();
    let version = right.split_whitespace().next()?.trim_end_matches(',');
    let name_ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    let version_ok = !version.is_empty()
        && !version.contains(['*', ',', '<', '>', '!', '='])
        && version.bytes().all(|b| b.is_ascii_graphic());
    (name_ok && version_ok).then_some((name, version))
}

/// Whether `path` is a `poetry.lock`.
pub(crate) fn wants_poetry_lock(path: &str) -> bool {
    file_name(path) == "poetry.lock"
}

#[derive(Deserialize)]
struct PoetryLock {
    #[serde(default)]
    package: Vec<PoetryPackage>,
}

#[derive(Deserialize)]
struct PoetryPackage {
    name: String,
    version: String,
    source: Option<PoetrySource>,
}

#[derive(Deserialize)]
struct PoetrySource {
    #[serde(rename = "type", default)]
    kind: String,
}

/// The packages of a `poetry.lock`.
pub(crate) fn analyze_poetry_lock(
    path: &str,
    data: &[u8],
    layer: usize,
    _ctx: &Context,
) -> Result<Vec<Package>, String> {
    let text = std::str::from_utf8(data).map_err(|e| format!("not UTF-8: {e}"))?;
    let lock: PoetryLock = toml::from_str(text).map_err(|e| e.message().to_owned())?;
    Ok(lock
        .package
        .iter()
        .filter(|p| {
            !p.source
                .as_ref()
                .is_some_and(|s| s.kind == "directory" || s.kind == "file")
        })
        .map(|p| pypi(&p.name, &p.version, path, layer))
        .collect())
}

/// Whether `path` is a `Pipfile.lock`.
pub(crate) fn wants_pipfile_lock(path: &str) -> bool {
    file_name(path) == "Pipfile.lock"
}

/// The pinned packages of a `Pipfile.lock` (`default` and `develop`).
pub(crate) fn analyze_pipfile_lock(
    path: &str,
    data: &[u8],
    layer: usize,
    _ctx: &Context,
) -> Result<Vec<Package>, String> {
    let doc: Value = serde_json::from_slice(data).map_err(|e| format!("not JSON: {e}"))?;
    if !doc.is_object() || (doc.get("default").is_none() && doc.get("develop").is_none()) {
        return Err("no `default` or `develop` section".into());
    }
    let mut out = Vec::new();
    for section in ["default", "develop"] {
        let Some(entries) = doc.get(section).and_then(Value::as_object) else {
            continue;
        };
        for (name, entry) in entries {
            let version = entry
                .get("version")
                .and_then(Value::as_str)
                .and_then(|v| v.strip_prefix("=="));
            if let Some(v) = version.filter(|v| !v.is_empty() && !v.starts_with('=')) {
                out.push(pypi(name, v, path, layer));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pep_503() {
        assert_eq!(normalise("Foo.Bar__baz"), "foo-bar-baz");
        assert_eq!(normalise("zope.interface"), "zope-interface");
        assert_eq!(normalise("PyYAML"), "pyyaml");
    }

    #[test]
    fn pins() {
        assert_eq!(exact_pin("requests==2.31.0"), Some(("requests", "2.31.0")));
        assert_eq!(
            exact_pin("uvicorn[standard] == 0.23.2 ; python_version >= '3.8'"),
            Some(("uvicorn", "0.23.2"))
        );
        assert_eq!(exact_pin("a==1.0 --hash=sha256:00"), Some(("a", "1.0")));
        assert_eq!(exact_pin("a>=1.0"), None);
        assert_eq!(exact_pin("a==1.*"), None);
        assert_eq!(exact_pin("a===1.0"), None);
        assert_eq!(exact_pin("a==1.0,!=1.1"), None);
        assert_eq!(exact_pin("pkg @ https://x/y.whl"), None);
    }
}

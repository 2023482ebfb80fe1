//! Alpine's package database, `lib/apk/db/installed`: one block of `X:value` lines per package,
//! blocks separated by blank lines; `P:` name, `V:` version, `o:` origin (the source package).

use super::{Context, package};
use crate::model::{Ecosystem, Package};

/// Whether `path` is apk's installed database.
pub(crate) fn wants(path: &str) -> bool {
    path == "lib/apk/db/installed"
}

/// The installed packages.
pub(crate) fn analyze(
    path: &str,
    data: &[u8],
    layer: usize,
    ctx: &Context,
) -> Result<Vec<Package>, String> {
    let release = ctx
        .os
        .as_ref()
        .and_then(super::OsInfo::release)
        .unwrap_or_default();
    let ecosystem = Ecosystem::Alpine(release);
    let text = String::from_utf8_lossy(data);
    let mut out = Vec::new();
    let mut incomplete = 0;
    let mut blocks = 0;
    let mut bad_lines = 0;
    for block in text.split("\n\n") {
        let (mut name, mut version, mut origin) = (None, None, None);
        let mut any = false;
        for line in block.lines() {
            let line = line.trim_end_matches('\r');
            if line.is_empty() {
                continue;
            }
            any = true;
            match line.split_once(':') {
                Some(("P", v)) => name = Some(v.trim()),
                Some(("V", v)) => version = Some(v.trim()),
                Some(("o", v)) => origin = Some(v.trim()),
                Some((k, _)) if k.len() == 1 => {}
                _ => bad_lines += 1,
            }
        }
        if !any {
            continue;
        }
        blocks += 1;
        match (name, version) {
            (Some(n), Some(v)) if !n.is_empty() && !v.is_empty() => {
                let mut p = package(ecosystem.clone(), n, v, path, layer);
                p.source_name = origin
                    .filter(|o| !o.is_empty() && *o != n)
                    .map(str::to_owned);
                out.push(p);
            }
            _ => incomplete += 1,
        }
    }
    if out.is_empty() && blocks > 0 {
        return Err(format!(
            "no package read ({blocks} blocks, {incomplete} without P: or V:, {bad_lines} lines not X:value)"
        ));
    }
    Ok(out)
}

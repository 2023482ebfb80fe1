//! Go modules compiled into a binary, from its build info: the `.go.buildinfo` section (or, in
//! a binary without section headers, the 16-byte-aligned block that starts with the magic
//! `\xff Go buildinf:`).
//!
//! The block is a 32-byte header (magic, pointer size, flags) followed, since Go 1.18 (flag
//! bit 2), by two varint-length-prefixed strings: the toolchain version (`go1.21.5`) and the
//! module info; before 1.18 the header holds two pointers to Go string headers, followed here
//! through the ELF sections. The module info is a list of tab-separated lines: `path` (the main
//! package), `mod` (the main module), `dep` (a dependency: path, version, checksum) and `=>`
//! (the preceding module's replacement). A replacement by another module version names the
//! package; a replacement by a local directory (no version, or `(devel)`) keeps the required
//! module's name and version. The toolchain itself is the package `stdlib`, its version in Go's semantic form
//! (`go1.21rc2` → `v1.21.0-rc.2`), as are module versions (`v0.17.0`).

use super::{Context, elf::Elf, elf::read_uint, package};
use crate::model::{Ecosystem, Package};

const MAGIC: &[u8] = b"\xff Go buildinf:";
const HEADER: usize = 32;
/// The longest version or module-info string read.
const MAX_STRING: u64 = 4 * 1024 * 1024;

/// Whether `data` may be a Go binary (an ELF file; the build info decides).
pub(crate) fn sniff(data: &[u8]) -> bool {
    super::elf::is_elf(data)
}

/// Build info read from a binary.
#[derive(Debug, PartialEq, Eq)]
struct BuildInfo {
    go_version: String,
    modules: Vec<(String, String)>,
}

/// The modules of a Go binary; nothing for other binaries.
pub(crate) fn analyze(
    path: &str,
    data: &[u8],
    layer: usize,
    _ctx: &Context,
) -> Result<Vec<Package>, String> {
    let elf = Elf::parse(data).ok();
    let blob = match elf.as_ref().and_then(|e| e.section(".go.buildinfo")) {
        Some((_, bytes)) => bytes,
        None => match find_magic(data) {
            Some(at) => &data[at..],
            None => return Ok(Vec::new()),
        },
    };
    let info = parse(blob, elf.as_ref())?;
    let mut out = Vec::new();
    if let Some(v) = go_semver(&info.go_version) {
        out.push(package(Ecosystem::Go, "stdlib", &v, path, layer));
    }
    for (name, version) in &info.modules {
        out.push(package(Ecosystem::Go, name, version, path, layer));
    }
    Ok(out)
}

/// The build-info block in a binary without a `.go.buildinfo` section.
fn find_magic(data: &[u8]) -> Option<usize> {
    (0..data.len().saturating_sub(HEADER))
        .step_by(16)
        .find(|&i| data[i..].starts_with(MAGIC))
}

fn parse(blob: &[u8], elf: Option<&Elf>) -> Result<BuildInfo, String> {
    if blob.len() < HEADER || !blob.starts_with(MAGIC) {
        return Err("build info does not start with the Go magic".into());
    }
    let ptr_size = usize::from(blob[14]);
    let flags = blob[15];
    let (version, modinfo) = if flags & 2 != 0 {
        let mut rest = &blob[HEADER..];
        let version = varint_string(&mut rest)?;
        let modinfo = varint_string(&mut rest)?;
        (version, modinfo)
    } else {
        let elf = elf.ok_or("build info before Go 1.18 needs the ELF sections")?;
        if ptr_size != 4 && ptr_size != 8 {
            return Err(format!("pointer size {ptr_size}"));
        }
        let big = flags & 1 != 0;
        let at = |i: usize| read_uint(blob, 16 + i * ptr_size, ptr_size, big);
        let version = at(0).and_then(|p| pointed_string(elf, p, ptr_size));
        let modinfo = at(1).and_then(|p| pointed_string(elf, p, ptr_size));
        (
            version.ok_or("version string out of the file")?,
            modinfo.unwrap_or_default(),
        )
    };
    Ok(BuildInfo {
        modules: modules(strip_sentinels(&modinfo)),
        go_version: version,
    })
}

/// A Go string header at `addr` (data pointer, length) and the bytes it points to.
fn pointed_string(elf: &Elf, addr: u64, ptr_size: usize) -> Option<String> {
    let header = elf.read_address(addr, 2 * ptr_size as u64)?;
    let data = elf.word(header, ptr_size)?;
    let len = elf.word(&header[ptr_size..], ptr_size)?;
    if len > MAX_STRING {
        return None;
    }
    let bytes = elf.read_address(data, len)?;
    Some(String::from_utf8_lossy(bytes).into_owned())
}

/// A string prefixed with its length as an unsigned varint; advances `rest`.
fn varint_string(rest: &mut &[u8]) -> Result<String, String> {
    let mut len: u64 = 0;
    let mut shift = 0;
    let mut used = 0;
    loop {
        let b = *rest.get(used).ok_or("build info truncated in a length")?;
        used += 1;
        len |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
        if shift > 63 {
            return Err("build info length overflows".into());
        }
    }
    if len > MAX_STRING {
        return Err(format!("build info string of {len} bytes"));
    }
    let end = used + len as usize;
    let bytes = rest
        .get(used..end)
        .ok_or("build info truncated in a string")?;
    *rest = &rest[end..];
    Ok(String::from_utf8_lossy(bytes).into_owned())
}

/// The module info without the 16-byte markers Go puts around it.
fn strip_sentinels(modinfo: &str) -> &str {
    let b = modinfo.as_bytes();
    if b.len() >= 33 && b[b.len() - 17] == b'\n' {
        modinfo.get(16..b.len() - 16).unwrap_or(modinfo)
    } else {
        modinfo
    }
}

/// `(path, version)` of the main module (unless `(devel)`) and every dependency, replacements
/// applied.
fn modules(modinfo: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut last_is_module = false;
    for line in modinfo.lines() {
        let mut f = line.split('\t');
        let kind = f.next().unwrap_or("");
        let path = f.next().unwrap_or("").trim();
        let version = f.next().unwrap_or("").trim();
        match kind {
            "mod" | "dep" => {
                last_is_module = false;
                if path.is_empty() || version.is_empty() || version == "(devel)" {
                    continue;
                }
                out.push((path.to_owned(), version.to_owned()));
                last_is_module = true;
            }
            "=>" => {
                // A local directory (`../greet`) has no version, or `(devel)`.
                if last_is_module
                    && !version.is_empty()
                    && version != "(devel)"
                    && !path.is_empty()
                    && let Some(last) = out.last_mut()
                {
                    *last = (path.to_owned(), version.to_owned());
                }
                last_is_module = false;
            }
            _ => last_is_module = false,
        }
    }
    out
}

/// Go's toolchain version as a semantic version: `go1.21.5` → `v1.21.5`, `go1.21` →
/// `v1.21.0`, `go1.21rc2` → `v1.21.0-rc.2`; `None` for development builds.
pub(crate) fn go_semver(version: &str) -> Option<String> {
    let v = version.split_whitespace().next()?.strip_prefix("go")?;
    let (release, pre) = match v.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => (&v[..i], Some(&v[i..])),
        None => (v, None),
    };
    let nums: Vec<&str> = release.split('.').collect();
    if nums.is_empty()
        || nums.len() > 3
        || nums
            .iter()
            .any(|n| n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let patch = nums.get(2).copied().unwrap_or("0");
    let mut out = format!(
        "v{}.{}.{patch}",
        nums[0],
        nums.get(1).copied().unwrap_or("0")
    );
    if let Some(pre) = pre {
        let digits = pre.find(|c: char| c.is_ascii_digit()).unwrap_or(pre.len());
        let (word, n) = pre.split_at(digits);
        if word.is_empty() || !word.bytes().all(|b| b.is_ascii_lowercase()) {
            return None;
        }
        out.push('-');
        out.push_str(word);
        if !n.is_empty() {
            out.push('.');
            out.push_str(n);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toolchain_versions() {
        for (go, semver) in [
            ("go1.21.5", Some("v1.21.5")),
            ("go1.21", Some("v1.21.0")),
            ("go1.21rc2", Some("v1.21.0-rc.2")),
            ("go1.9beta1", Some("v1.9.0-beta.1")),
            ("go1.22.1 X:boringcrypto", Some("v1.22.1")),
            ("devel go1.23-abc", None),
            ("go", None),
        ] {
            assert_eq!(go_semver(go).as_deref(), semver, "{go}");
        }
    }

    #[test]
    fn replacements() {
        let info = "path\texample.com/app\nmod\texample.com/app\t(devel)\t\n\
            dep\tgolang.org/x/net\tv0.17.0\th1:abc=\n\
            dep\texample.com/old\tv1.0.0\t\n=>\texample.com/new\tv1.2.0\th1:def=\n\
            dep\texample.com/local\tv0.1.0\t\n=>\t../local\t\t\n\
            dep\texample.com/greet\tv1.2.3\n=>\t../greet\t(devel)\t\n\
            build\tGOOS=linux\n";
        assert_eq!(
            modules(info),
            [
                ("golang.org/x/net", "v0.17.0"),
                ("example.com/new", "v1.2.0"),
                ("example.com/local", "v0.1.0"),
                ("example.com/greet", "v1.2.3"),
            ]
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
        );
    }
}

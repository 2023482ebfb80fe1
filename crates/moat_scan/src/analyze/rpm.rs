//! rpm's package database in its SQLite form: `var/lib/rpm/rpmdb.sqlite`, or
//! `usr/lib/sysimage/rpm/rpmdb.sqlite` where a distribution keeps it there. The older formats,
//! BerkeleyDB (`Packages`) and NDB (`Packages.db`), are not read.
//!
//! The table `Packages (hnum INTEGER PRIMARY KEY, blob BLOB)` holds one package header per
//! row, read with [`super::sqlite`]. A header, as rpm stores it in its database (without the
//! 8-byte magic and reserved word a header has in a package file), is: the number of index
//! entries and the length of the data store (big-endian 32-bit), the entries (16 bytes each:
//! tag, type, offset into the store, count), then the store. Tags read (rpm's `rpmtag.h`):
//! `NAME` 1000, `VERSION` 1001, `RELEASE` 1002 (strings), `EPOCH` 1003 (a 32-bit integer) and
//! `SOURCERPM` 1044 (`openssl-3.0.7-25.el9_3.src.rpm`).
//!
//! A package's version is `[epoch:]version-release` (the epoch when there is one, other than
//! 0). Its source package is the name and `version-release` of the source RPM's file name, with
//! the package's epoch: a source RPM's name has none, and the packages built from one spec
//! share its epoch. The `gpg-pubkey` entries, the keys rpm trusts, are not packages.

use super::sqlite::{Database, Value};
use super::{Context, OsInfo, package};
use crate::model::{Ecosystem, Package};

/// Header tags (rpm's `rpmtag.h`).
const TAG_NAME: u32 = 1000;
const TAG_VERSION: u32 = 1001;
const TAG_RELEASE: u32 = 1002;
const TAG_EPOCH: u32 = 1003;
const TAG_SOURCERPM: u32 = 1044;

/// Entry types.
const TYPE_INT32: u32 = 4;
const TYPE_STRING: u32 = 6;

/// The most index entries a header may have, and the largest data store: bounds far above
/// real packages' headers (hundreds of entries, a few MiB for the largest file lists).
const MAX_ENTRIES: u32 = 0xffff;
const MAX_STORE: u32 = 64 * 1024 * 1024;

/// Whether `path` is rpm's SQLite database.
pub(crate) fn wants(path: &str) -> bool {
    path == "var/lib/rpm/rpmdb.sqlite" || path == "usr/lib/sysimage/rpm/rpmdb.sqlite"
}

/// The ecosystem of the distribution's RPM packages: `Rpm("<ID>:<release>")`, from
/// os-release's `ID` and `VERSION_ID` (`rocky:9.3`), except openEuler, whose advisories name
/// the release with its support line from `PRETTY_NAME` (`openEuler 22.03 (LTS-SP3)` →
/// `openEuler:22.03-LTS-SP3`). [`Ecosystem::osv_name`] maps it to OSV's name.
pub(crate) fn ecosystem(os: Option<&OsInfo>) -> Ecosystem {
    let Some(os) = os else {
        return Ecosystem::Rpm(String::new());
    };
    let release = os.release().unwrap_or_default();
    let release = match (os.id.as_str(), os.pretty_name.as_deref()) {
        ("openEuler", Some(pretty)) => pretty
            .strip_prefix("openEuler ")
            .and_then(|rest| rest.split_once(" ("))
            .and_then(|(v, line)| Some(format!("{v}-{}", line.strip_suffix(')')?)))
            .unwrap_or(release),
        _ => release,
    };
    Ecosystem::Rpm(format!("{}:{release}", os.id))
}

/// The installed packages.
pub(crate) fn analyze(
    path: &str,
    data: &[u8],
    layer: usize,
    ctx: &Context,
) -> Result<Vec<Package>, String> {
    let ecosystem = ecosystem(ctx.os.as_ref());
    let db = Database::open(data)?;
    let root = db
        .table_root("Packages")?
        .ok_or("no Packages table (not an rpm database)")?;
    let mut out = Vec::new();
    let (mut rows, mut bad) = (0usize, 0usize);
    let mut first_error = None;
    // rows: hnum (the row id), blob
    db.for_each_row(root, 2, |row| {
        rows += 1;
        let header = match row.values.get(1) {
            Some(Value::Blob(blob)) => Header::parse(blob),
            _ => Err("no blob in the row".to_owned()),
        };
        match header.and_then(|h| h.package(&ecosystem, path, layer)) {
            Ok(Some(p)) => out.push(p),
            Ok(None) => {}
            Err(e) => {
                bad += 1;
                first_error.get_or_insert_with(|| format!("package {}: {e}", row.rowid));
            }
        }
        Ok(())
    })?;
    match first_error {
        Some(e) if out.is_empty() => Err(format!(
            "no package read ({rows} rows, {bad} unreadable; {e})"
        )),
        _ => Ok(out),
    }
}

/// A package header: its index entries and data store.
#[derive(Debug)]
struct Header<'a> {
    entries: &'a [u8],
    store: &'a [u8],
}

impl<'a> Header<'a> {
    fn parse(blob: &'a [u8]) -> Result<Header<'a>, String> {
        let (Some(count), Some(store_len)) = (be32(blob, 0), be32(blob, 4)) else {
            return Err(format!("header of {} bytes, under 8", blob.len()));
        };
        if count == 0 || count > MAX_ENTRIES || store_len > MAX_STORE {
            return Err(format!(
                "header of {count} entries and {store_len} bytes of data is not believable"
            ));
        }
        let entries_end = 8 + 16 * count as usize;
        let end = entries_end + store_len as usize;
        if blob.len() < end {
            return Err(format!("header of {} bytes, {end} announced", blob.len()));
        }
        Ok(Header {
            entries: &blob[8..entries_end],
            store: &blob[entries_end..end],
        })
    }

    /// The package this header describes; `None` for a `gpg-pubkey` entry.
    fn package(
        &self,
        ecosystem: &Ecosystem,
        path: &str,
        layer: usize,
    ) -> Result<Option<Package>, String> {
        let name = self.string(TAG_NAME)?.ok_or("no NAME")?;
        if name == "gpg-pubkey" {
            return Ok(None);
        }
        let version = self.string(TAG_VERSION)?.ok_or("no VERSION")?;
        let release = self.string(TAG_RELEASE)?.ok_or("no RELEASE")?;
        if name.is_empty() || version.is_empty() {
            return Err("empty NAME or VERSION".into());
        }
        let epoch = match self.int32(TAG_EPOCH)? {
            Some(e) if e != 0 => format!("{e}:"),
            _ => String::new(),
        };
        let full = format!("{epoch}{version}-{release}");
        let mut p = package(ecosystem.clone(), &name, &full, path, layer);
        if let Some(source) = self.string(TAG_SOURCERPM)? {
            let (src_name, src_version) = split_source_rpm(&source).ok_or_else(|| {
                format!("SOURCERPM {source:?} is not name-version-release.src.rpm")
            })?;
            let src_version = format!("{epoch}{src_version}");
            if src_name != name {
                p.source_name = Some(src_name.to_owned());
            }
            if src_version != full {
                p.source_name = Some(src_name.to_owned());
                p.source_version = Some(src_version);
            }
        }
        Ok(Some(p))
    }

    /// The first entry for `tag`: type, offset into the store, count.
    fn entry(&self, tag: u32) -> Option<(u32, u32, u32)> {
        self.entries
            .chunks_exact(16)
            .find(|e| be32(e, 0) == Some(tag))
            .and_then(|e| Some((be32(e, 4)?, be32(e, 8)?, be32(e, 12)?)))
    }

    /// A `STRING` entry: NUL-terminated at its offset.
    fn string(&self, tag: u32) -> Result<Option<String>, String> {
        let Some((kind, offset, _)) = self.entry(tag) else {
            return Ok(None);
        };
        if kind != TYPE_STRING {
            return Err(format!("tag {tag} has type {kind}, not a string"));
        }
        let bytes = self
            .store
            .get(offset as usize..)
            .and_then(|rest| rest.iter().position(|b| *b == 0).map(|end| &rest[..end]))
            .ok_or_else(|| format!("tag {tag}: no NUL-terminated string at {offset}"))?;
        Ok(Some(String::from_utf8_lossy(bytes).into_owned()))
    }

    /// The first value of an `INT32` entry.
    fn int32(&self, tag: u32) -> Result<Option<u32>, String> {
        let Some((kind, offset, count)) = self.entry(tag) else {
            return Ok(None);
        };
        if kind != TYPE_INT32 || count == 0 {
            return Err(format!(
                "tag {tag} has type {kind} and {count} values, not int32"
            ));
        }
        be32(self.store, offset as usize)
            .map(Some)
            .ok_or_else(|| format!("tag {tag}: offset {offset} past the data"))
    }
}

/// `openssl-3.0.7-25.el9_3.src.rpm` → (`openssl`, `3.0.7-25.el9_3`).
fn split_source_rpm(file: &str) -> Option<(&str, &str)> {
    let base = file
        .strip_suffix(".src.rpm")
        .or_else(|| file.strip_suffix(".nosrc.rpm"))?;
    let (name_version, _release) = base.rsplit_once('-')?;
    let (name, _version) = name_version.rsplit_once('-')?;
    (!name.is_empty()).then(|| (name, &base[name.len() + 1..]))
}

fn be32(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A header with these `(tag, type, value)` entries.
    fn header(entries: &[(u32, u32, &[u8])]) -> Vec<u8> {
        let mut index = Vec::new();
        let mut store = Vec::new();
        for (tag, kind, value) in entries {
            index.extend_from_slice(&tag.to_be_bytes());
            index.extend_from_slice(&kind.to_be_bytes());
            index.extend_from_slice(&(store.len() as u32).to_be_bytes());
            index.extend_from_slice(&1u32.to_be_bytes());
            store.extend_from_slice(value);
        }
        let mut blob = Vec::new();
        blob.extend_from_slice(&(entries.len() as u32).to_be_bytes());
        blob.extend_from_slice(&(store.len() as u32).to_be_bytes());
        blob.extend_from_slice(&index);
        blob.extend_from_slice(&store);
        blob
    }

    fn read(blob: &[u8]) -> Result<Option<Package>, String> {
        Header::parse(blob)?.package(&Ecosystem::Rpm("rocky:9.3".into()), "p", 0)
    }

    #[test]
    fn source_rpm_names() {
        assert_eq!(
            split_source_rpm("openssl-3.0.7-25.el9_3.src.rpm"),
            Some(("openssl", "3.0.7-25.el9_3"))
        );
        assert_eq!(
            split_source_rpm("python3.11-pip-22.3.1-4.el9.nosrc.rpm"),
            Some(("python3.11-pip", "22.3.1-4.el9"))
        );
        assert_eq!(split_source_rpm("openssl-3.0.7.src.rpm"), None);
        assert_eq!(split_source_rpm("-3.0.7-1.src.rpm"), None);
        assert_eq!(split_source_rpm("openssl-3.0.7-1.rpm"), None);
    }

    #[test]
    fn headers() {
        let p = read(&header(&[
            (TAG_NAME, TYPE_STRING, b"openssl-libs\0"),
            (TAG_VERSION, TYPE_STRING, b"3.0.7\0"),
            (TAG_RELEASE, TYPE_STRING, b"25.el9_3\0"),
            (TAG_EPOCH, TYPE_INT32, &1u32.to_be_bytes()),
            (
                TAG_SOURCERPM,
                TYPE_STRING,
                b"openssl-3.0.7-25.el9_3.src.rpm\0",
            ),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(p.name, "openssl-libs");
        assert_eq!(p.version, "1:3.0.7-25.el9_3");
        assert_eq!(p.source_name.as_deref(), Some("openssl"));
        assert_eq!(p.source_version, None);
        // epoch 0 is not written
        let p = read(&header(&[
            (TAG_NAME, TYPE_STRING, b"bash\0"),
            (TAG_VERSION, TYPE_STRING, b"5.1.8\0"),
            (TAG_RELEASE, TYPE_STRING, b"6.el9\0"),
            (TAG_EPOCH, TYPE_INT32, &0u32.to_be_bytes()),
            (TAG_SOURCERPM, TYPE_STRING, b"bash-5.1.8-6.el9.src.rpm\0"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!((p.version.as_str(), p.source_name), ("5.1.8-6.el9", None));
        // keys are not packages
        let key = header(&[
            (TAG_NAME, TYPE_STRING, b"gpg-pubkey\0"),
            (TAG_VERSION, TYPE_STRING, b"fd431d51\0"),
        ]);
        assert_eq!(read(&key).unwrap(), None);
    }

    #[test]
    fn malformed_headers_are_errors() {
        let ok: &[(u32, u32, &[u8])] = &[
            (TAG_NAME, TYPE_STRING, b"bash\0"),
            (TAG_VERSION, TYPE_STRING, b"5.1.8\0"),
            (TAG_RELEASE, TYPE_STRING, b"6.el9\0"),
        ];
        assert!(read(&header(ok)).unwrap().is_some());
        let blob = header(ok);
        assert!(read(&blob[..blob.len() - 1]).is_err(), "truncated store");
        assert!(read(&blob[..7]).is_err());
        assert!(read(&[0, 0, 0, 0, 0, 0, 0, 0]).is_err(), "no entries");
        assert!(read(&[0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]).is_err());
        assert!(read(&header(&ok[1..])).unwrap_err().contains("NAME"));
        assert!(
            read(&header(&[(TAG_NAME, TYPE_STRING, b"bash")])).is_err(),
            "no NUL"
        );
        assert!(read(&header(&[(TAG_NAME, TYPE_INT32, b"bash")])).is_err());
        let mut bad_offset = header(ok);
        bad_offset[8 + 8..8 + 12].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(read(&bad_offset).is_err());
        let bad_epoch = [ok, &[(TAG_EPOCH, TYPE_INT32, &[0, 1][..])]].concat();
        assert!(read(&header(&bad_epoch)).is_err());
        let bad_source = [ok, &[(TAG_SOURCERPM, TYPE_STRING, &b"bash.src.rpm\0"[..])]].concat();
        assert!(read(&header(&bad_source)).is_err());
    }

    #[test]
    fn ecosystems_from_os_release() {
        let os = |id: &str, version: &str, pretty: &str| OsInfo {
            id: id.into(),
            version_id: Some(version.into()),
            pretty_name: Some(pretty.into()),
            ..OsInfo::default()
        };
        let eco = |o: OsInfo| ecosystem(Some(&o));
        assert_eq!(
            eco(os("rocky", "9.3", "Rocky Linux 9.3 (Blue Onyx)")),
            Ecosystem::Rpm("rocky:9.3".into())
        );
        assert_eq!(
            eco(os("openEuler", "22.03", "openEuler 22.03 (LTS-SP3)")),
            Ecosystem::Rpm("openEuler:22.03-LTS-SP3".into())
        );
        assert_eq!(
            eco(os("openEuler", "24.03", "openEuler 24.03")),
            Ecosystem::Rpm("openEuler:24.03".into())
        );
        assert_eq!(ecosystem(None), Ecosystem::Rpm(String::new()));
    }
}

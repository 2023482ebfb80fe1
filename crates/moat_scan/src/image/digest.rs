//! Blob digests (`sha256:<hex>`, `sha512:<hex>`): parsing, hashing, and a reader that hashes
//! the bytes of a blob as they pass.
//!
//! A [`Verify`] reader hashes the longest prefix of the blob read so far without a hole. A
//! seek forward either reads (and hashes) the bytes it would skip ([`Verify::draining`]) or
//! leaves a hole; [`Verify::finish`] then reads the rest of the blob (the end of a compressed
//! stream, the padding after a tar's last entry) and gives the digest of the whole blob, or
//! nothing when a hole was left and then read past.

use std::fmt;
use std::io::{self, Read, Seek, SeekFrom};

use sha2::Digest as _;

use super::ImageError;

/// A hash algorithm blobs are named by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Algorithm {
    Sha256,
    Sha512,
}

impl Algorithm {
    fn name(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha512 => "sha512",
        }
    }

    fn hex_len(self) -> usize {
        match self {
            Algorithm::Sha256 => 64,
            Algorithm::Sha512 => 128,
        }
    }
}

/// A digest a blob must hash to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Expected {
    pub(crate) alg: Algorithm,
    hex: String,
}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.alg.name(), self.hex)
    }
}

impl Expected {
    /// The error for a blob whose bytes hash to `actual` (hex) instead.
    fn mismatch(&self, what: &str, actual: &str) -> ImageError {
        ImageError::Corrupt {
            what: what.to_string(),
            detail: format!(
                "digest mismatch: expected {self}, got {}:{actual}",
                self.alg.name()
            ),
        }
    }

    /// `Ok` when `actual` (the hex digest of the blob, by this algorithm) is this one.
    pub(crate) fn check(&self, what: &str, actual: &str) -> Result<(), ImageError> {
        if actual == self.hex {
            Ok(())
        } else {
            Err(self.mismatch(what, actual))
        }
    }

    /// `Ok` when `bytes` hash to this digest.
    pub(crate) fn check_bytes(&self, what: &str, bytes: &[u8]) -> Result<(), ImageError> {
        let mut h = Hasher::new(self.alg);
        h.update(bytes);
        self.check(what, &h.finish())
    }
}

/// What a digest string names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Named {
    /// A digest of a known algorithm: the blob is checked against it.
    Known(Expected),
    /// A well-formed digest of an algorithm this reader does not hash (its name): the blob is
    /// read unchecked, with a warning.
    Unknown(String),
}

/// Parses a digest (`algorithm:encoded`, as the OCI image specification writes it). A digest
/// that is not one, or a `sha256`/`sha512` one whose encoded part is not lowercase hex of the
/// right length, is an error (its text).
pub(crate) fn parse(digest: &str) -> Result<Named, String> {
    let bad = |why: &str| Err(format!("malformed digest {digest:?}: {why}"));
    let Some((alg, encoded)) = digest.split_once(':') else {
        return bad("no `algorithm:` prefix");
    };
    // algorithm ::= component (separator component)*, component ::= [a-z0-9]+
    let well_formed_alg = alg.split(['+', '.', '_', '-']).all(|c| {
        !c.is_empty()
            && c.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    });
    if !well_formed_alg {
        return bad("a bad algorithm name");
    }
    if encoded.is_empty()
        || !encoded
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"=_-".contains(&b))
    {
        return bad("a bad encoded part");
    }
    let alg = match alg {
        "sha256" => Algorithm::Sha256,
        "sha512" => Algorithm::Sha512,
        other => return Ok(Named::Unknown(other.to_string())),
    };
    if encoded.len() != alg.hex_len()
        || !encoded
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return bad(&format!(
            "{} wants {} lowercase hex digits",
            alg.name(),
            alg.hex_len()
        ));
    }
    Ok(Named::Known(Expected {
        alg,
        hex: encoded.to_string(),
    }))
}

/// The digest a member of a layout is named by: `blobs/<alg>/<encoded>` is `<alg>:<encoded>`;
/// `None` for other members (`index.json`, `manifest.json`, `<id>/layer.tar`).
pub(crate) fn of_member(member: &str) -> Option<Result<Named, String>> {
    let rest = member.strip_prefix("blobs/")?;
    let (alg, encoded) = rest.split_once('/')?;
    if encoded.contains('/') {
        return None;
    }
    Some(parse(&format!("{alg}:{encoded}")))
}

/// Checks a metadata document (an index, a manifest, a configuration) read whole against the
/// digest its member name gives (`blobs/<alg>/<encoded>`); other members are not checked. A
/// digest of an unknown algorithm is a warning.
pub(crate) fn check_document(
    what: &str,
    member: &str,
    bytes: &[u8],
    warnings: &mut Vec<String>,
) -> Result<(), ImageError> {
    match of_member(member) {
        None => Ok(()),
        Some(Err(detail)) => Err(ImageError::Corrupt {
            what: what.to_string(),
            detail,
        }),
        Some(Ok(Named::Unknown(alg))) => {
            warnings.push(unknown(what, &alg));
            Ok(())
        }
        Some(Ok(Named::Known(e))) => e.check_bytes(what, bytes),
    }
}

fn unknown(what: &str, alg: &str) -> String {
    format!(
        "{what}: not checked against its digest: the algorithm {alg} is not one this reader \
         hashes"
    )
}

/// What a layer blob must hash to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LayerCheck {
    /// Nothing to check against (a legacy layer without a diff id).
    Nothing,
    /// The blob's own digest (its name in an OCI layout).
    Blob(Expected),
    /// A legacy layer's diff id: the digest of the uncompressed tar, checked when the blob is
    /// not compressed.
    DiffId(Expected),
    /// A digest of an unknown algorithm (its name).
    Unknown(String),
}

impl LayerCheck {
    /// The check of layer `member` of a manifest, with the diff id the configuration gives it
    /// (`rootfs.diff_ids`) if any. A malformed digest is an error (its text).
    pub(crate) fn of(member: &str, diff_id: Option<&str>) -> Result<Self, String> {
        if let Some(named) = of_member(member) {
            return Ok(match named? {
                Named::Known(e) => LayerCheck::Blob(e),
                Named::Unknown(alg) => LayerCheck::Unknown(alg),
            });
        }
        Ok(match diff_id.map(parse).transpose()? {
            None => LayerCheck::Nothing,
            Some(Named::Known(e)) => LayerCheck::DiffId(e),
            Some(Named::Unknown(alg)) => LayerCheck::Unknown(alg),
        })
    }

    /// The algorithm to hash the blob with.
    pub(crate) fn algorithm(&self) -> Option<Algorithm> {
        match self {
            LayerCheck::Blob(e) | LayerCheck::DiffId(e) => Some(e.alg),
            LayerCheck::Nothing | LayerCheck::Unknown(_) => None,
        }
    }

    /// Checks the digest of the whole blob, hashed by `alg` (`None`: the blob was not hashed
    /// whole). A warning for a digest of an unknown algorithm.
    pub(crate) fn verify(
        &self,
        what: &str,
        alg: Option<Algorithm>,
        digested: Option<&Digested>,
        warnings: &mut Vec<String>,
    ) -> Result<(), ImageError> {
        let (e, diff_id) = match self {
            LayerCheck::Nothing => return Ok(()),
            LayerCheck::Unknown(name) => {
                warnings.push(unknown(what, name));
                return Ok(());
            }
            LayerCheck::Blob(e) => (e, false),
            LayerCheck::DiffId(e) => (e, true),
        };
        match digested {
            Some(d) if Some(e.alg) == alg && !(diff_id && d.compressed()) => {
                if diff_id {
                    e.check(&format!("{what} (its diff id)"), &d.hex)
                } else {
                    e.check(what, &d.hex)
                }
            }
            _ => Ok(()),
        }
    }
}

/// A running hash.
#[derive(Clone)]
pub(crate) enum Hasher {
    Sha256(sha2::Sha256),
    Sha512(sha2::Sha512),
}

impl fmt::Debug for Hasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Hasher::Sha256(_) => "Hasher(sha256)",
            Hasher::Sha512(_) => "Hasher(sha512)",
        })
    }
}

impl Hasher {
    pub(crate) fn new(alg: Algorithm) -> Self {
        match alg {
            Algorithm::Sha256 => Hasher::Sha256(sha2::Sha256::new()),
            Algorithm::Sha512 => Hasher::Sha512(sha2::Sha512::new()),
        }
    }

    pub(crate) fn update(&mut self, bytes: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(bytes),
            Hasher::Sha512(h) => h.update(bytes),
        }
    }

    /// The digest, lowercase hex.
    pub(crate) fn finish(self) -> String {
        match self {
            Hasher::Sha256(h) => hex(&h.finalize()),
            Hasher::Sha512(h) => hex(&h.finalize()),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    s
}

/// Size of the buffer the bytes a reader skips (or leaves at its end) are hashed through.
const DRAIN_BUF: usize = 64 * 1024;

/// A reader that hashes the bytes of a blob as they pass (see the module docs).
#[derive(Debug)]
pub(crate) struct Verify<R> {
    inner: R,
    hasher: Option<Hasher>,
    /// The length of the prefix hashed.
    hashed: u64,
    /// Where `inner` is.
    pos: u64,
    /// Bytes past a hole were read: the blob cannot be hashed whole any more.
    hole: bool,
    /// Seeks forward read and hash what they skip.
    draining: bool,
    /// The first bytes of the blob (its compression's magic).
    head: [u8; 4],
    /// A buffer for the bytes hashed without being asked for.
    buf: Vec<u8>,
}

/// The digest of a whole blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Digested {
    /// Lowercase hex.
    pub(crate) hex: String,
    head: [u8; 4],
}

impl Digested {
    /// Whether the blob starts as a gzip or zstd stream does (a legacy layer's diff id is the
    /// digest of the uncompressed tar, not of such a blob).
    pub(crate) fn compressed(&self) -> bool {
        matches!(self.head, [0x1f, 0x8b, ..] | [0x28, 0xb5, 0x2f, 0xfd])
    }
}

impl<R> Verify<R> {
    /// Hashes by `alg` what is read from `inner` (which is at the start of the blob); nothing
    /// when `alg` is `None`.
    pub(crate) fn new(inner: R, alg: Option<Algorithm>) -> Self {
        Self {
            inner,
            hasher: alg.map(Hasher::new),
            hashed: 0,
            pos: 0,
            hole: false,
            draining: false,
            head: [0; 4],
            buf: Vec::new(),
        }
    }

    /// Seeks forward read the bytes they skip, so that the blob is hashed whole.
    #[must_use]
    pub(crate) fn draining(mut self, draining: bool) -> Self {
        self.draining = draining;
        self
    }

    /// Hashes the next bytes of the prefix.
    fn hash(&mut self, bytes: &[u8]) {
        let Some(h) = &mut self.hasher else { return };
        if self.hashed < self.head.len() as u64 {
            let at = self.hashed as usize;
            let n = (self.head.len() - at).min(bytes.len());
            self.head[at..at + n].copy_from_slice(&bytes[..n]);
        }
        h.update(bytes);
        self.hashed += bytes.len() as u64;
    }

    fn hash_read(&mut self, buf: &[u8]) {
        let end = self.pos + buf.len() as u64;
        if self.hasher.is_none() {
        } else if self.pos > self.hashed {
            if !buf.is_empty() {
                self.hole = true;
            }
        } else if end > self.hashed {
            self.hash(&buf[(self.hashed - self.pos) as usize..]);
        }
        self.pos = end;
    }

    fn digested(self) -> Option<Digested> {
        let head = self.head;
        self.hasher.map(|h| Digested {
            hex: h.finish(),
            head,
        })
    }
}

impl<R: Read> Verify<R> {
    /// Reads and hashes from `inner` (at `self.hashed`) up to `until` or the end.
    fn hash_to(&mut self, until: u64) -> io::Result<()> {
        if self.hasher.is_none() {
            return Ok(());
        }
        let mut buf = std::mem::take(&mut self.buf);
        buf.resize(DRAIN_BUF, 0);
        let result = loop {
            if self.hashed >= until {
                break Ok(());
            }
            let want = (until - self.hashed).min(DRAIN_BUF as u64) as usize;
            match self.inner.read(&mut buf[..want]) {
                Ok(0) => break Ok(()),
                Ok(n) => self.hash(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break Err(e),
            }
        };
        self.buf = buf;
        self.pos = self.hashed;
        result
    }

    /// The digest (hex) of the whole blob, reading what is left of it; `None` when nothing is
    /// hashed or a hole was left. For a stream: call it where the reader is, not after a seek.
    pub(crate) fn finish_stream(mut self) -> io::Result<Option<Digested>> {
        if self.hasher.is_none() || self.hole || self.pos != self.hashed {
            return Ok(None);
        }
        self.hash_to(u64::MAX)?;
        Ok(self.digested())
    }
}

impl<R: Read + Seek> Verify<R> {
    /// The digest (hex) of the whole blob, reading what is left of it; `None` when nothing is
    /// hashed or a hole was left.
    pub(crate) fn finish(mut self) -> io::Result<Option<Digested>> {
        if self.hasher.is_none() || self.hole {
            return Ok(None);
        }
        if self.pos != self.hashed {
            self.inner.seek(SeekFrom::Start(self.hashed))?;
            self.pos = self.hashed;
        }
        self.hash_to(u64::MAX)?;
        Ok(self.digested())
    }
}

impl<R: Read> Read for Verify<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash_read(&buf[..n]);
        Ok(n)
    }
}

impl<R: Read + Seek> Seek for Verify<R> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
            SeekFrom::End(_) => None,
        };
        if self.draining && self.hasher.is_some() && !self.hole {
            let until = target.unwrap_or(u64::MAX);
            if until > self.hashed {
                if self.pos != self.hashed {
                    self.inner.seek(SeekFrom::Start(self.hashed))?;
                    self.pos = self.hashed;
                }
                self.hash_to(until)?;
            }
        }
        let at = match target {
            Some(p) if p == self.pos => return Ok(p),
            Some(p) => self.inner.seek(SeekFrom::Start(p))?,
            None => self.inner.seek(to)?,
        };
        self.pos = at;
        Ok(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    const ABC256: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    #[test]
    fn digests_parse() {
        let Ok(Named::Known(e)) = parse(&format!("sha256:{ABC256}")) else {
            panic!()
        };
        assert!(e.check_bytes("x", b"abc").is_ok());
        let err = e.check_bytes("blob", b"abd").unwrap_err().to_string();
        assert!(
            err.starts_with(&format!(
                "blob: corrupt: digest mismatch: expected sha256:{ABC256}, got sha256:"
            )),
            "{err}"
        );
        assert_eq!(
            parse("blake3:abcd").unwrap(),
            Named::Unknown("blake3".into())
        );
        assert_eq!(
            parse("multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8").unwrap(),
            Named::Unknown("multihash+base58".into())
        );
        for bad in [
            "sha256",
            "sha256:",
            "sha256:abc",
            &format!("sha256:{}", ABC256.to_uppercase()),
            &format!("sha512:{ABC256}"),
            "SHA256:ab",
            "sha256+:ab",
            "sha256:a/b",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert_eq!(of_member("index.json"), None);
        assert_eq!(of_member("abc/layer.tar"), None);
        assert_eq!(of_member("blobs/sha256/a/b"), None);
        assert!(matches!(of_member("blobs/sha256/ab"), Some(Err(_))));
    }

    #[test]
    fn sha512_is_hashed() {
        let mut h = Hasher::new(Algorithm::Sha512);
        h.update(b"abc");
        assert!(h.finish().starts_with("ddaf35a193617aba"));
    }

    fn digest(bytes: &[u8]) -> String {
        let mut h = Hasher::new(Algorithm::Sha256);
        h.update(bytes);
        h.finish()
    }

    #[test]
    fn a_reader_hashes_what_passes_and_the_rest() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let whole = digest(&data);
        // read partly, the rest at the end
        let mut v = Verify::new(Cursor::new(&data), Some(Algorithm::Sha256));
        let mut buf = [0u8; 1000];
        v.read_exact(&mut buf).unwrap();
        assert_eq!(
            v.finish().unwrap().map(|d| d.hex).as_deref(),
            Some(whole.as_str())
        );
        // re-reading the start and seeking to where it was are no holes
        let mut v = Verify::new(Cursor::new(&data), Some(Algorithm::Sha256));
        v.read_exact(&mut buf[..6]).unwrap();
        v.seek(SeekFrom::Start(0)).unwrap();
        v.read_exact(&mut buf).unwrap();
        assert_eq!(v.stream_position().unwrap(), 1000);
        assert_eq!(
            v.finish().unwrap().map(|d| d.hex).as_deref(),
            Some(whole.as_str())
        );
        // a seek over bytes, then a read: a hole, unless draining
        for draining in [false, true] {
            let mut v = Verify::new(Cursor::new(&data), Some(Algorithm::Sha256)).draining(draining);
            v.read_exact(&mut buf).unwrap();
            v.seek(SeekFrom::Current(50_000)).unwrap();
            v.read_exact(&mut buf).unwrap();
            assert_eq!(buf[0], data[51_000]);
            let end = v.seek(SeekFrom::End(0)).unwrap();
            assert_eq!(end, data.len() as u64);
            let got = v.finish().unwrap().map(|d| d.hex);
            assert_eq!(got, draining.then(|| whole.clone()), "{draining}");
        }
        // a seek past the end stays past the end
        let mut v = Verify::new(Cursor::new(&data), Some(Algorithm::Sha256)).draining(true);
        assert_eq!(v.seek(SeekFrom::Start(300_000)).unwrap(), 300_000);
        assert_eq!(v.stream_position().unwrap(), 300_000);
        assert_eq!(
            v.finish().unwrap().map(|d| d.hex).as_deref(),
            Some(whole.as_str())
        );
        // a stream
        let mut v = Verify::new(&data[..], Some(Algorithm::Sha256));
        v.read_exact(&mut buf).unwrap();
        assert_eq!(
            v.finish_stream().unwrap().map(|d| d.hex).as_deref(),
            Some(whole.as_str())
        );
        let v = Verify::new(&data[..], None);
        assert_eq!(v.finish_stream().unwrap(), None);
        // without an algorithm: a reader that only keeps its place
        let mut v = Verify::new(Cursor::new(&data), None);
        v.read_exact(&mut buf).unwrap();
        v.seek(SeekFrom::Current(10)).unwrap();
        v.read_exact(&mut buf[..1]).unwrap();
        assert_eq!(buf[0], data[1010]);
        assert_eq!(v.finish().unwrap(), None);
    }
}

//! Tarballs of images: `docker save` (the legacy layout, `manifest.json` + `<id>/layer.tar`,
//! and the OCI layout Docker 25 and later write, `index.json` + `blobs/sha256/…` with a
//! `manifest.json` too) and `oci-archive` (an OCI layout in a tar, `index.json` only).
//!
//! From a file (or anything seekable) the archive is read in two passes: the headers first,
//! seeking over the contents, to find the manifest and where each member lies; then each layer
//! of the chosen image, in order, straight from its place in the file. An uncompressed layer
//! (the legacy layout's `layer.tar`) is itself read with seeks: the bytes of files no analyzer
//! wants are not parsed; they are still read to be hashed when the layer has a digest to be
//! checked against (below).
//!
//! From a stream (the engine's export) there is one pass, and `manifest.json` comes after the
//! layers (`docker save` writes the members in name order). Each layer blob is read as it
//! comes into a layer delta keyed by its member name (only the wanted files' bytes and hashed
//! paths stay in memory); when the manifest arrives the deltas are applied in its order.
//! Nothing is written to disk. Blobs that turn out not to belong to the image (another image
//! of the same tarball) are dropped then.
//!
//! # Digests
//! Blobs of an OCI layout (`blobs/<alg>/<encoded>`: in an `oci-archive`, in the layout Docker
//! 25 and later write into `docker save`, and in an OCI layout directory, which
//! [`OciLayoutSource`](super::OciLayoutSource) reads with the same code) are checked against
//! the digest that names them; a blob whose bytes hash to something else ends the read with
//! [`ImageError::Corrupt`] (`digest mismatch: expected sha256:…, got sha256:…`) naming it.
//! - Indexes, manifests and configurations are read whole and checked before they are used.
//!   (`index.json` and a `docker save`'s `manifest.json` are named by no digest.)
//! - Layers are hashed as they stream into their delta, and checked at their end; their files
//!   are in the image's delta by then, but the read fails, so nothing of a layer that does not
//!   match is returned. A layer that fails to decompress or parse and does not match its
//!   digest is reported as the mismatch, the cause.
//! - Uncompressed layers are read with seeks over the bytes of unwanted files. Those bytes are
//!   read and hashed all the same ([`HASH_SKIPPED_BYTES`]): every layer with a digest is
//!   checked whole, none is taken on trust because a reader skipped part of it. Measured on a
//!   104.6 MB `docker save` of an image of 3,000 files and four 10 MB binaries (warm page
//!   cache, release build, two cores with the SHA extensions, analyzers wanting two files): a
//!   seekable read takes 110 ms instead of 12 ms without hashing (about 1.1 GB/s of SHA-256:
//!   the skipping is then worth nothing); the same image as a plain OCI layout directory
//!   103 ms instead of 8 ms; streamed, 91 ms instead of 19 ms; with gzip layers (all their
//!   bytes are read anyway) 187 ms instead of 108 ms. Checking only the layers read to their
//!   end would keep the 12 ms but leave every uncompressed layer unchecked: all of `docker
//!   save`'s.
//! - Legacy `docker save` layers (`<id>/layer.tar`) are named by no digest; the configuration's
//!   `rootfs.diff_ids` gives the digest of each uncompressed layer, which is what `layer.tar`
//!   is. It is checked the same way (a `layer.tar` that is compressed after all, which a diff
//!   id does not name, is not checked). A streamed legacy layer is hashed by SHA-256 before the
//!   configuration says anything: there, a diff id of another algorithm is not checked.
//! - `sha256` and `sha512` digests are checked; a well-formed digest of another algorithm is
//!   not, with a warning; a malformed one (`sha256:` and not 64 lowercase hex digits, no
//!   algorithm) is [`ImageError::Corrupt`].

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use super::digest::{self, Algorithm, Digested, LayerCheck, Named, Verify, check_document};
use super::layer::BUF_SIZE;
use super::meta::{ImageConfig, Resolved, resolve};
use super::path::{clean, clean_into, parent, resolve_link};
use super::{ImageError, ImageMeta, ImageSource, LayerSink, Limits, ReadSeek};

/// How many aliases (outer-tar links between members) are followed.
const MAX_ALIAS_HOPS: usize = 8;

enum Input {
    Seekable(Box<dyn ReadSeek + Send>),
    Stream(Box<dyn Read + Send>),
}

/// A `docker save` or `oci-archive` tarball, from a file or a stream.
pub struct ArchiveSource {
    input: Input,
    name: String,
    reference: Option<String>,
}

impl std::fmt::Debug for ArchiveSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArchiveSource")
            .field("name", &self.name)
            .field("reference", &self.reference)
            .finish_non_exhaustive()
    }
}

impl ArchiveSource {
    /// Opens a tarball file (read with seeks).
    pub fn open(path: impl AsRef<Path>) -> Result<Self, ImageError> {
        let path = path.as_ref();
        let file = File::open(path).map_err(|source| ImageError::Io {
            what: path.display().to_string(),
            source,
        })?;
        Ok(Self {
            input: Input::Seekable(Box::new(file)),
            name: path.display().to_string(),
            reference: None,
        })
    }

    /// A tarball from something seekable (a file, bytes in memory), named `name` in messages.
    pub fn from_seekable(reader: impl Read + Seek + Send + 'static, name: &str) -> Self {
        Self {
            input: Input::Seekable(Box::new(reader)),
            name: name.to_string(),
            reference: None,
        }
    }

    /// A tarball from a stream, read in one pass, named `name` in messages.
    pub fn from_stream(reader: impl Read + Send + 'static, name: &str) -> Self {
        Self {
            input: Input::Stream(Box::new(reader)),
            name: name.to_string(),
            reference: None,
        }
    }

    /// Which image of the tarball to read (a tag such as `app:1.2` or `busybox`, or an image
    /// id prefix); without one, the tarball must hold exactly one image.
    #[must_use]
    pub fn with_reference(mut self, reference: Option<&str>) -> Self {
        self.reference = reference.map(str::to_string);
        self
    }
}

impl ImageSource for ArchiveSource {
    fn describe(&self) -> String {
        self.name.clone()
    }

    fn read(&mut self, sink: &mut LayerSink<'_>) -> Result<ImageMeta, ImageError> {
        let name = self.name.clone();
        let reference = self.reference.clone();
        match &mut self.input {
            Input::Seekable(r) => read_seekable(&name, r.as_mut(), sink, reference.as_deref()),
            Input::Stream(r) => {
                let mut buffered = BufReader::with_capacity(BUF_SIZE, r.as_mut());
                read_stream(&name, &mut buffered, sink, reference.as_deref())
            }
        }
    }
}

fn io_err(what: &str) -> impl Fn(io::Error) -> ImageError + '_ {
    move |source| ImageError::Io {
        what: what.to_string(),
        source,
    }
}

fn corrupt(what: &str, e: &io::Error) -> ImageError {
    ImageError::Corrupt {
        what: what.to_string(),
        detail: e.to_string(),
    }
}

/// A member's place in a seekable tarball.
#[derive(Debug, Clone, Copy)]
struct Member {
    offset: u64,
    size: u64,
}

/// Links between members (`<id>/layer.tar -> ../<other>/layer.tar`, for layers Docker saved
/// once for several images), as cleaned member paths.
#[derive(Debug, Default)]
struct Aliases(HashMap<String, String>);

impl Aliases {
    fn add<R: Read>(&mut self, path: &str, entry: &tar::Entry<'_, R>) {
        let Some(target) = entry.link_name_bytes() else {
            return;
        };
        let target = String::from_utf8_lossy(&target).into_owned();
        let to = if entry.header().entry_type() == tar::EntryType::Symlink {
            resolve_link(parent(path), &target)
        } else {
            match clean(&target) {
                Some(t) => t,
                None => return,
            }
        };
        self.0.insert(path.to_string(), to);
    }

    fn resolve<'a>(&'a self, mut member: &'a str) -> &'a str {
        for _ in 0..MAX_ALIAS_HOPS {
            match self.0.get(member) {
                Some(to) => member = to,
                None => break,
            }
        }
        member
    }
}

fn too_big(what: &str, member: &str, limits: &Limits) -> ImageError {
    ImageError::Limit {
        what: format!("{what}: {member}"),
        detail: format!(
            "a metadata document larger than {} bytes (the limit)",
            limits.max_metadata_size
        ),
    }
}

fn read_seekable(
    name: &str,
    reader: &mut dyn ReadSeek,
    sink: &mut LayerSink<'_>,
    reference: Option<&str>,
) -> Result<ImageMeta, ImageError> {
    let limits = sink.limits().clone();
    let mut members: HashMap<String, Member> = HashMap::new();
    let mut aliases = Aliases::default();
    let file_len = reader.seek(SeekFrom::End(0)).map_err(io_err(name))?;
    {
        let mut window = Window::new(&mut *reader, 0, u64::MAX, 16 * 1024);
        let mut archive = tar::Archive::new(&mut window);
        let entries = archive.entries_with_seek().map_err(|e| corrupt(name, &e))?;
        let mut path = String::new();
        for entry in entries {
            let entry = entry.map_err(|e| corrupt(name, &e))?;
            if !clean_into(&entry.path_bytes(), &mut path) {
                continue;
            }
            match entry.header().entry_type() {
                tar::EntryType::Regular | tar::EntryType::Continuous => {
                    if entry.raw_file_position().saturating_add(entry.size()) > file_len {
                        return Err(ImageError::Corrupt {
                            what: format!("{name}: {path}"),
                            detail: "the tarball ends inside this member (truncated?)".into(),
                        });
                    }
                    members.insert(
                        path.clone(),
                        Member {
                            offset: entry.raw_file_position(),
                            size: entry.size(),
                        },
                    );
                }
                tar::EntryType::Symlink | tar::EntryType::Link => aliases.add(&path, &entry),
                _ => {}
            }
        }
    }
    let mut warnings = Vec::new();
    let resolved = {
        let mut load = |member: &str| -> Result<Option<Vec<u8>>, ImageError> {
            let Some(m) = members.get(aliases.resolve(member)).copied() else {
                return Ok(None);
            };
            if m.size > limits.max_metadata_size {
                return Err(too_big(name, member, &limits));
            }
            let what = format!("{name}: {member}");
            reader
                .seek(SeekFrom::Start(m.offset))
                .map_err(io_err(&what))?;
            let mut bytes = Vec::with_capacity(m.size as usize);
            (&mut *reader)
                .take(m.size)
                .read_to_end(&mut bytes)
                .map_err(io_err(&what))?;
            if (bytes.len() as u64) < m.size {
                return Err(ImageError::Corrupt {
                    what,
                    detail: "the tarball ends inside this member".into(),
                });
            }
            check_document(&what, member, &bytes, &mut warnings)?;
            Ok(Some(bytes))
        };
        resolve(name, &mut load, reference)?
    };
    for w in warnings {
        sink.warn(w);
    }
    let checks = layer_checks(name, &resolved)?;
    let keys: Vec<String> = resolved
        .layers
        .iter()
        .map(|l| aliases.resolve(l).to_string())
        .collect();
    sink.set_order(keys.clone())?;
    for (i, key) in keys.iter().enumerate() {
        if keys[..i].contains(key) {
            continue;
        }
        let m = members
            .get(key)
            .copied()
            .ok_or_else(|| ImageError::Missing {
                what: format!("{name}: the image manifest"),
                name: format!("layer {}", resolved.layers[i]),
            })?;
        let mut window = Window::new(&mut *reader, m.offset, m.size, BUF_SIZE);
        let mine = same_key(&keys, key, &checks);
        read_checked(sink, name, key, &mine, &mut window)?;
    }
    Ok(meta(resolved))
}

/// Whether the bytes an uncompressed layer's reader seeks over are read and hashed, so that
/// the layer is checked against its digest too (see the module docs: `# Digests`).
pub(crate) const HASH_SKIPPED_BYTES: bool = true;

/// What each layer of the chosen image must hash to, as `(member, check)`, bottom first.
pub(crate) fn layer_checks(
    name: &str,
    resolved: &Resolved,
) -> Result<Vec<(String, LayerCheck)>, ImageError> {
    let diff_ids = ImageConfig::parse(&resolved.config)
        .map(|c| c.diff_ids)
        .unwrap_or_default();
    resolved
        .layers
        .iter()
        .enumerate()
        .map(|(i, member)| {
            let check =
                LayerCheck::of(member, diff_ids.get(i).map(String::as_str)).map_err(|detail| {
                    ImageError::Corrupt {
                        what: format!("{name}: {member}"),
                        detail,
                    }
                })?;
            Ok((member.clone(), check))
        })
        .collect()
}

/// The checks of every place the layer `key` is used at (keys are the layers' members with
/// links followed).
pub(crate) fn same_key<'c>(
    keys: &[String],
    key: &str,
    checks: &'c [(String, LayerCheck)],
) -> Vec<&'c (String, LayerCheck)> {
    keys.iter()
        .zip(checks)
        .filter(|(k, _)| *k == key)
        .map(|(_, c)| c)
        .collect()
}

/// Reads layer `key` into `sink` from `blob` (a seekable window of the whole blob), hashing its
/// bytes, and checks them against `checks`. When the layer is broken and its bytes do not
/// hash to its digest, the mismatch is the error (the cause).
pub(crate) fn read_checked(
    sink: &mut LayerSink<'_>,
    name: &str,
    key: &str,
    checks: &[&(String, LayerCheck)],
    blob: &mut dyn ReadSeek,
) -> Result<(), ImageError> {
    let alg = checks.iter().find_map(|(_, c)| c.algorithm());
    let mut verify = Verify::new(&mut *blob, alg).draining(HASH_SKIPPED_BYTES);
    let read = sink.layer_seekable(key, &mut verify);
    let what = |member: &str| format!("{name}: {member}");
    let mut warnings = Vec::new();
    let digested = match read {
        Ok(()) => verify.finish().map_err(io_err(&what(key)))?,
        Err(e @ (ImageError::Corrupt { .. } | ImageError::Io { .. })) => {
            drop(verify);
            if alg.is_some() {
                // the whole blob hashed afresh, to tell a damaged blob from a broken layer
                let whole = blob
                    .seek(SeekFrom::Start(0))
                    .and_then(|_| Verify::new(&mut *blob, alg).finish())
                    .ok()
                    .flatten();
                for (member, check) in checks {
                    check.verify(&what(member), alg, whole.as_ref(), &mut warnings)?;
                }
            }
            return Err(e);
        }
        Err(e) => return Err(e),
    };
    for (member, check) in checks {
        check.verify(&what(member), alg, digested.as_ref(), &mut warnings)?;
    }
    for w in warnings {
        sink.warn(w);
    }
    Ok(())
}

fn meta(resolved: Resolved) -> ImageMeta {
    ImageMeta {
        config: Some(resolved.config),
        layer_digests: resolved.digests,
        reference: resolved.reference,
    }
}

/// Whether a member of a docker-archive is metadata to keep (`manifest.json`, `index.json`,
/// `<hex>.json` configurations) rather than a layer.
#[allow(clippy::case_sensitive_file_extension_comparisons)] // docker writes these names
fn is_metadata(path: &str) -> bool {
    matches!(
        path,
        "manifest.json" | "index.json" | "oci-layout" | "repositories"
    ) || (path.ends_with(".json") && !path.contains('/'))
}

#[allow(clippy::case_sensitive_file_extension_comparisons)] // docker writes these names
fn read_stream(
    name: &str,
    reader: &mut dyn Read,
    sink: &mut LayerSink<'_>,
    reference: Option<&str>,
) -> Result<ImageMeta, ImageError> {
    let limits = sink.limits().clone();
    let mut metadata: HashMap<String, Vec<u8>> = HashMap::new();
    // the digests of the layer blobs read, by member, with the algorithm
    let mut digests: HashMap<String, (Option<Algorithm>, Option<Digested>)> = HashMap::new();
    let mut aliases = Aliases::default();
    let mut archive = tar::Archive::new(reader);
    let entries = archive.entries().map_err(|e| corrupt(name, &e))?;
    let mut path = String::new();
    for entry in entries {
        let mut entry = entry.map_err(|e| corrupt(name, &e))?;
        if !clean_into(&entry.path_bytes(), &mut path) {
            continue;
        }
        match entry.header().entry_type() {
            tar::EntryType::Regular | tar::EntryType::Continuous => {}
            tar::EntryType::Symlink | tar::EntryType::Link => {
                aliases.add(&path, &entry);
                continue;
            }
            _ => continue,
        }
        let what = format!("{name}: {path}");
        if is_metadata(&path) {
            if entry.size() > limits.max_metadata_size {
                return Err(too_big(name, &path, &limits));
            }
            let mut bytes = Vec::with_capacity(entry.size() as usize);
            entry
                .read_to_end(&mut bytes)
                .map_err(|e| corrupt(&what, &e))?;
            metadata.insert(path.clone(), bytes);
        } else if path.starts_with("blobs/") {
            // a blob is a manifest, a configuration or a layer: JSON starts with `{`
            let mut head = [0u8; 1];
            let n = entry.read(&mut head).map_err(|e| corrupt(&what, &e))?;
            if n == 1 && head[0] == b'{' && entry.size() <= limits.max_metadata_size {
                let mut bytes = Vec::with_capacity(entry.size() as usize);
                bytes.push(b'{');
                entry
                    .read_to_end(&mut bytes)
                    .map_err(|e| corrupt(&what, &e))?;
                metadata.insert(path.clone(), bytes);
            } else {
                let chained = (&head[..n]).chain(&mut entry);
                let digested = stream_layer(sink, &what, &path, chained)?;
                digests.insert(path.clone(), digested);
            }
        } else if path.ends_with(".tar") {
            let digested = stream_layer(sink, &what, &path, &mut entry)?;
            digests.insert(path.clone(), digested);
        } else if path.ends_with(".tar.gz") || path.ends_with(".tar.zst") {
            sink.layer(&path, &mut entry)?;
        }
    }
    let mut warnings = Vec::new();
    let resolved = {
        let mut load = |member: &str| -> Result<Option<Vec<u8>>, ImageError> {
            match metadata.get(aliases.resolve(member)) {
                Some(bytes) => {
                    check_document(&format!("{name}: {member}"), member, bytes, &mut warnings)?;
                    Ok(Some(bytes.clone()))
                }
                None => Ok(None),
            }
        };
        resolve(name, &mut load, reference)?
    };
    for w in warnings.drain(..) {
        sink.warn(w);
    }
    let checks = layer_checks(name, &resolved)?;
    let mut keys = Vec::with_capacity(resolved.layers.len());
    for (layer, (member, check)) in resolved.layers.iter().zip(&checks) {
        let key = aliases.resolve(layer).to_string();
        let what = format!("{name}: {member}");
        if let Some((alg, digested)) = digests.get(&key) {
            check.verify(&what, *alg, digested.as_ref(), &mut warnings)?;
        } else if !sink.has_layer(&key) {
            match metadata.get(&key) {
                // a layer blob taken for a JSON document: read it as a layer, which says
                // what is wrong with it (once it is known to be the blob it claims to be)
                Some(bytes) => {
                    let alg = check.algorithm();
                    let verify = Verify::new(bytes.as_slice(), alg);
                    let digested = verify.finish_stream().map_err(io_err(&what))?;
                    check.verify(&what, alg, digested.as_ref(), &mut warnings)?;
                    digests.insert(key.clone(), (alg, digested));
                    sink.layer(&key, &mut bytes.as_slice())?;
                }
                None => {
                    return Err(ImageError::Missing {
                        what: format!("{name}: the image manifest"),
                        name: format!("layer {layer}"),
                    });
                }
            }
        }
        keys.push(key);
    }
    for w in warnings {
        sink.warn(w);
    }
    sink.set_order(keys)?;
    Ok(meta(resolved))
}

/// Reads the layer blob `path` of a stream into `sink`, hashing it whole: by the algorithm its
/// name gives (`blobs/<alg>/<encoded>`), else by SHA-256 (a legacy `layer.tar`, checked later
/// against its diff id). The outer tar reads past a member's bytes anyway: what the layer's
/// reader leaves is hashed too. A blob that does not hash to its name and does not read as a
/// layer is reported as the mismatch.
fn stream_layer(
    sink: &mut LayerSink<'_>,
    what: &str,
    path: &str,
    blob: impl Read,
) -> Result<(Option<Algorithm>, Option<Digested>), ImageError> {
    let alg = match digest::of_member(path) {
        None => Some(Algorithm::Sha256),
        Some(Ok(Named::Known(e))) => Some(e.alg),
        // not hashed; a malformed name is an error if the image uses the blob
        Some(Ok(Named::Unknown(_)) | Err(_)) => None,
    };
    let mut verify = Verify::new(blob, alg);
    let read = sink.layer(path, &mut verify);
    let digested = verify.finish_stream();
    match read {
        Ok(()) => Ok((alg, digested.map_err(io_err(what))?)),
        Err(e @ (ImageError::Corrupt { .. } | ImageError::Io { .. })) => {
            if let (Some(Ok(Named::Known(expected))), Ok(Some(d))) =
                (digest::of_member(path), &digested)
            {
                expected.check(what, &d.hex)?;
            }
            Err(e)
        }
        Err(e) => Err(e),
    }
}

/// A buffered window `[start, start + len)` of a seekable stream: reads and seeks inside it,
/// short seeks within the buffer cost nothing.
pub(crate) struct Window<'r> {
    inner: &'r mut dyn ReadSeek,
    start: u64,
    len: u64,
    /// Position in the window.
    pos: u64,
    buf: Vec<u8>,
    /// Window position of `buf[0]`.
    buf_at: u64,
    filled: usize,
    /// Where `inner` is, when known.
    inner_at: Option<u64>,
}

impl<'r> Window<'r> {
    pub(crate) fn new(inner: &'r mut dyn ReadSeek, start: u64, len: u64, capacity: usize) -> Self {
        Self {
            inner,
            start,
            len,
            pos: 0,
            buf: vec![0; capacity],
            buf_at: 0,
            filled: 0,
            inner_at: None,
        }
    }

    fn read_inner(&mut self, at: u64, out: &mut [u8]) -> io::Result<usize> {
        let abs = self.start.saturating_add(at);
        if self.inner_at != Some(abs) {
            self.inner.seek(SeekFrom::Start(abs))?;
        }
        let room = (self.len - at).min(out.len() as u64) as usize;
        let n = loop {
            match self.inner.read(&mut out[..room]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                other => break other?,
            }
        };
        self.inner_at = Some(abs + n as u64);
        Ok(n)
    }
}

impl Read for Window<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.len || out.is_empty() {
            return Ok(0);
        }
        if self.pos >= self.buf_at && self.pos < self.buf_at + self.filled as u64 {
            let from = (self.pos - self.buf_at) as usize;
            let n = (self.filled - from).min(out.len());
            out[..n].copy_from_slice(&self.buf[from..from + n]);
            self.pos += n as u64;
            return Ok(n);
        }
        if out.len() >= self.buf.len() {
            let n = self.read_inner(self.pos, out)?;
            self.pos += n as u64;
            return Ok(n);
        }
        let mut buf = std::mem::take(&mut self.buf);
        let filled = self.read_inner(self.pos, &mut buf);
        self.buf = buf;
        self.buf_at = self.pos;
        self.filled = filled?;
        let n = self.filled.min(out.len());
        out[..n].copy_from_slice(&self.buf[..n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for Window<'_> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
        };
        match target {
            Some(p) => {
                self.pos = p;
                Ok(p)
            }
            None => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek before the start of the member",
            )),
        }
    }
}

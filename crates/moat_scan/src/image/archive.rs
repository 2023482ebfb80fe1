//! Tarballs of images: `docker save` (the legacy layout, `manifest.json` + `<id>/layer.tar`,
//! and the OCI layout Docker 25 and later write, `index.json` + `blobs/sha256/…` with a
//! `manifest.json` too) and `oci-archive` (an OCI layout in a tar, `index.json` only).
//!
//! From a file (or anything seekable) the archive is read in two passes: the headers first,
//! seeking over the contents, to find the manifest and where each member lies; then each layer
//! of the chosen image, in order, straight from its place in the file. An uncompressed layer
//! (the legacy layout's `layer.tar`) is itself read with seeks: the bytes of files no analyzer
//! wants are not read at all.
//!
//! From a stream (the engine's export) there is one pass, and `manifest.json` comes after the
//! layers (`docker save` writes the members in name order). Each layer blob is read as it
//! comes into a layer delta keyed by its member name (only the wanted files' bytes and hashed
//! paths stay in memory); when the manifest arrives the deltas are applied in its order.
//! Nothing is written to disk. Blobs that turn out not to belong to the image (another image
//! of the same tarball) are dropped then.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use super::layer::BUF_SIZE;
use super::meta::{Resolved, resolve};
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
            Ok(Some(bytes))
        };
        resolve(name, &mut load, reference)?
    };
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
        sink.layer_seekable(key, &mut window)?;
    }
    Ok(meta(resolved))
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
                let mut chained = (&head[..n]).chain(&mut entry);
                sink.layer(&path, &mut chained)?;
            }
        } else if path.ends_with(".tar") || path.ends_with(".tar.gz") || path.ends_with(".tar.zst")
        {
            sink.layer(&path, &mut entry)?;
        }
    }
    let resolved = {
        let mut load = |member: &str| -> Result<Option<Vec<u8>>, ImageError> {
            Ok(metadata.get(aliases.resolve(member)).cloned())
        };
        resolve(name, &mut load, reference)?
    };
    let mut keys = Vec::with_capacity(resolved.layers.len());
    for layer in &resolved.layers {
        let key = aliases.resolve(layer).to_string();
        if !sink.has_layer(&key) {
            match metadata.get(&key) {
                // a layer blob taken for a JSON document: read it as a layer, which says
                // what is wrong with it
                Some(bytes) => sink.layer(&key, &mut bytes.as_slice())?,
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
    sink.set_order(keys)?;
    Ok(meta(resolved))
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

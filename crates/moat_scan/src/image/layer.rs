//! One layer: its compression told from its first bytes, its tar entries read once into a
//! [`LayerDelta`], and the final filesystem ([`Fs`]) the deltas are applied to.

use std::cell::Cell;
use std::collections::{BTreeMap, HashSet};
use std::hash::RandomState;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};

use super::path::{clean_into, parent, resolve_link};
use super::{FileEntry, FoundFile, ImageError, Inspection, LayerSink, ReadSeek, S_IFLNK, S_IFREG};

/// Buffer size for reading compressed layers and their decompressed tar streams.
pub(crate) const BUF_SIZE: usize = 256 * 1024;

/// The most symbolic links followed to resolve one wanted link.
const MAX_LINK_HOPS: usize = 40;

/// A kept entry: a wanted file's bytes, or a wanted symbolic link.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    /// A regular file (or a hard link to one).
    File {
        /// The first bytes (up to the file size limit).
        data: Vec<u8>,
        /// `st_mode`.
        mode: u32,
        /// The full size.
        size: u64,
    },
    /// A symbolic link.
    Symlink {
        /// The link's target, as written.
        target: String,
    },
    /// A file that was searched and dropped ([`Inspector`]): what the search found.
    Found {
        /// What the search found in it.
        found: Inspection,
    },
}

impl Node {
    fn bytes(&self) -> u64 {
        match self {
            Node::File { data, .. } => data.len() as u64,
            Node::Symlink { target } => target.len() as u64,
            Node::Found { found } => found.bytes(),
        }
    }
}

/// What one layer does to the filesystem below it.
///
/// Deletions are kept as keyed 64-bit hashes of paths ([`RandomState`], so that an image cannot
/// choose colliding paths): an entry at a path replaces a lower file there (`any`); a
/// non-directory entry or a whiteout removes a lower path and everything under it (`subtree`);
/// an opaque directory removes everything under it (`under`).
#[derive(Debug, Clone, Default)]
pub(crate) struct LayerDelta {
    any: HashSet<u64>,
    subtree: HashSet<u64>,
    under: HashSet<u64>,
    kept: BTreeMap<String, Node>,
    /// Bytes held by `kept`.
    pub(crate) kept_bytes: u64,
    /// Uncompressed bytes read.
    pub(crate) read_bytes: u64,
    /// Entries read.
    pub(crate) entries: u64,
    /// Entries skipped, with why.
    pub(crate) warnings: Vec<String>,
}

/// The wanted files of the final filesystem, with the layer that last wrote each.
#[derive(Debug, Default)]
pub(crate) struct Fs {
    files: BTreeMap<String, (usize, Node)>,
    /// Bytes held.
    pub(crate) bytes: u64,
    /// Searched files with findings that a later layer deleted or replaced: still in the image
    /// (anyone with the image has their layer), not in its final filesystem.
    buried: Vec<FoundFile>,
}

impl Fs {
    /// Applies a layer on top: its deletions to what is here, then its kept files.
    pub(crate) fn apply(&mut self, delta: LayerDelta, layer: usize, hasher: &RandomState) {
        if !(delta.any.is_empty() && delta.subtree.is_empty() && delta.under.is_empty()) {
            let mut freed = 0;
            let mut buried = Vec::new();
            self.files.retain(|path, (at, node)| {
                let gone = removed_by(&delta, path, hasher);
                if gone {
                    freed += node.bytes();
                    // a removed file's secrets are still in its layer; its packages are
                    // not installed
                    if let Node::Found { found } = node
                        && !found.hits.is_empty()
                    {
                        buried.push(FoundFile {
                            path: path.clone(),
                            layer: *at,
                            hits: std::mem::take(&mut found.hits),
                            packages: Vec::new(),
                            warnings: Vec::new(),
                            removed_in: Some(layer),
                        });
                    }
                }
                !gone
            });
            self.bytes -= freed;
            self.buried.append(&mut buried);
        }
        for (path, node) in delta.kept {
            self.bytes += node.bytes();
            if let Some((_, old)) = self.files.insert(path, (layer, node)) {
                self.bytes -= old.bytes();
            }
        }
    }

    /// The final files, symbolic links resolved (a link whose target is not a kept file is
    /// skipped with a warning). Files' bytes are moved out, copied only for links.
    ///
    /// Also returns the searched files with findings: those of the final filesystem, then those
    /// a later layer removed, by path.
    pub(crate) fn into_files(
        mut self,
        warnings: &mut Vec<String>,
    ) -> (Vec<FileEntry>, Vec<FoundFile>) {
        let mut found = std::mem::take(&mut self.buried);
        let mut links = Vec::new();
        for (path, (_, node)) in &self.files {
            if let Node::Symlink { target } = node {
                match self.resolve(path, target) {
                    Some((to, _)) => links.push((path.clone(), to.to_string())),
                    None => warnings.push(format!(
                        "{path}: symbolic link to {target}, which is not a file that was read \
                         (absent, outside what was wanted, or a loop); skipped"
                    )),
                }
            }
        }
        let mut out: Vec<FileEntry> = self
            .files
            .into_iter()
            .filter_map(|(path, (layer, node))| match node {
                Node::File { data, mode, size } => Some(FileEntry {
                    truncated: (data.len() as u64) < size,
                    path,
                    data,
                    layer,
                    mode,
                    size,
                    link: None,
                }),
                Node::Found { found: f } => {
                    found.push(FoundFile {
                        path,
                        layer,
                        hits: f.hits,
                        packages: f.packages,
                        warnings: f.warnings,
                        removed_in: None,
                    });
                    None
                }
                Node::Symlink { .. } => None,
            })
            .collect();
        let files = out.len();
        for (path, to) in links {
            if let Ok(i) = out[..files].binary_search_by(|f| f.path.as_str().cmp(&to)) {
                let mut entry = out[i].clone();
                entry.path = path;
                entry.link = Some(to);
                out.push(entry);
            }
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        found.sort_by(|a, b| {
            (a.removed_in.is_some(), &a.path, a.layer).cmp(&(
                b.removed_in.is_some(),
                &b.path,
                b.layer,
            ))
        });
        (out, found)
    }

    /// Resolves a symbolic link inside the root, following the kept links met on the way.
    fn resolve(&self, link: &str, target: &str) -> Option<(&str, &(usize, Node))> {
        let mut path = resolve_link(parent(link), target);
        for _ in 0..MAX_LINK_HOPS {
            // the first prefix of `path` that is a kept symbolic link, if any
            let mut hop = None;
            for (i, _) in path
                .match_indices('/')
                .chain(std::iter::once((path.len(), "")))
            {
                if let Some((_, Node::Symlink { target })) = self.files.get(&path[..i]) {
                    hop = Some((i, target.clone()));
                    break;
                }
            }
            match hop {
                None => {
                    return self
                        .files
                        .get_key_value(&path)
                        .map(|(k, v)| (k.as_str(), v))
                        .filter(|(_, (_, n))| matches!(n, Node::File { .. }));
                }
                Some((i, t)) => {
                    let rest = &path[i..];
                    path = resolve_link(parent(&path[..i]), &format!("{t}{rest}"));
                }
            }
        }
        None
    }
}

/// Whether a layer's deletions remove the lower path `path`.
fn removed_by(delta: &LayerDelta, path: &str, hasher: &RandomState) -> bool {
    use std::hash::BuildHasher;
    let h = hasher.hash_one(path);
    if delta.any.contains(&h) || delta.subtree.contains(&h) {
        return true;
    }
    if delta.under.contains(&hasher.hash_one("")) {
        return true;
    }
    for (i, _) in path.match_indices('/') {
        let h = hasher.hash_one(&path[..i]);
        if delta.subtree.contains(&h) || delta.under.contains(&h) {
            return true;
        }
    }
    false
}

/// How a blob is compressed, from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compression {
    None,
    Gzip,
    Zstd,
}

fn compression(magic: &[u8], what: &str) -> Result<Compression, ImageError> {
    let unsupported = |name: &str| {
        Err(ImageError::Unsupported {
            what: what.to_string(),
            detail: format!("{name}-compressed layer (gzip, zstd and uncompressed are read)"),
        })
    };
    match magic {
        [0x1f, 0x8b, ..] => Ok(Compression::Gzip),
        [0x28, 0xb5, 0x2f, 0xfd, ..] => Ok(Compression::Zstd),
        [0xfd, b'7', b'z', b'X', b'Z', ..] => unsupported("xz"),
        [b'B', b'Z', b'h', ..] => unsupported("bzip2"),
        _ => Ok(Compression::None),
    }
}

/// Reads up to `buf.len()` bytes, fewer only at the end of the stream.
fn read_full(r: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Reads a layer blob from a stream.
pub(crate) fn read_layer(
    sink: &LayerSink<'_>,
    key: &str,
    reader: &mut dyn Read,
) -> Result<LayerDelta, ImageError> {
    let what = format!("{}: layer {key}", sink.what);
    let mut magic = [0u8; 6];
    let n = read_full(reader, &mut magic).map_err(|e| io_error(&what, e))?;
    let chained = (&magic[..n]).chain(reader);
    let used = Cell::new(0);
    let budget = sink.limits.max_total_bytes.saturating_sub(sink.total_bytes);
    let result = match compression(&magic[..n], &what)? {
        Compression::None => {
            let counted = Counted::new(BufReader::with_capacity(BUF_SIZE, chained), &used, budget);
            let mut archive = tar::Archive::new(counted);
            archive
                .entries()
                .map_err(ScanError::Io)
                .and_then(|entries| scan(sink, &what, entries))
        }
        Compression::Gzip => {
            let gz =
                flate2::bufread::MultiGzDecoder::new(BufReader::with_capacity(BUF_SIZE, chained));
            let counted = Counted::new(BufReader::with_capacity(BUF_SIZE, gz), &used, budget);
            let mut archive = tar::Archive::new(counted);
            archive
                .entries()
                .map_err(ScanError::Io)
                .and_then(|entries| scan(sink, &what, entries))
        }
        Compression::Zstd => {
            let zstd = Zstd::new(BufReader::with_capacity(BUF_SIZE, chained));
            let counted = Counted::new(BufReader::with_capacity(BUF_SIZE, zstd), &used, budget);
            let mut archive = tar::Archive::new(counted);
            archive
                .entries()
                .map_err(ScanError::Io)
                .and_then(|entries| scan(sink, &what, entries))
        }
    };
    finish(sink, &what, result, used.get(), budget)
}

/// Reads a layer blob from a seekable stream (an uncompressed layer's unwanted bytes are
/// seeked over).
pub(crate) fn read_layer_seekable(
    sink: &LayerSink<'_>,
    key: &str,
    reader: &mut dyn ReadSeek,
) -> Result<LayerDelta, ImageError> {
    let what = format!("{}: layer {key}", sink.what);
    let mut magic = [0u8; 6];
    let start = reader.stream_position().map_err(|e| io_error(&what, e))?;
    let n = read_full(reader, &mut magic).map_err(|e| io_error(&what, e))?;
    reader
        .seek(SeekFrom::Start(start))
        .map_err(|e| io_error(&what, e))?;
    if compression(&magic[..n], &what)? != Compression::None {
        return read_layer(sink, key, reader);
    }
    let used = Cell::new(0);
    let budget = sink.limits.max_total_bytes.saturating_sub(sink.total_bytes);
    let counted = Counted::new(reader, &used, budget);
    let mut archive = tar::Archive::new(counted);
    let result = archive
        .entries_with_seek()
        .map_err(ScanError::Io)
        .and_then(|entries| scan(sink, &what, entries));
    let delta = finish(sink, &what, result, used.get(), budget)?;
    // an entry that claims more bytes than the layer has was seeked over, not read: the end
    // of the layer came first
    let reader = archive.into_inner().inner;
    let at = reader.stream_position().map_err(|e| io_error(&what, e))?;
    let end = reader
        .seek(SeekFrom::End(0))
        .map_err(|e| io_error(&what, e))?;
    if at > end {
        return Err(ImageError::Corrupt {
            what,
            detail: "an entry extends past the end of the layer (truncated?)".into(),
        });
    }
    Ok(delta)
}

fn io_error(what: &str, source: io::Error) -> ImageError {
    ImageError::Io {
        what: what.to_string(),
        source,
    }
}

/// Turns the outcome of [`scan`] into the delta or the right error.
fn finish(
    sink: &LayerSink<'_>,
    what: &str,
    result: Result<LayerDelta, ScanError>,
    used: u64,
    budget: u64,
) -> Result<LayerDelta, ImageError> {
    if used > budget {
        return Err(ImageError::Limit {
            what: what.to_string(),
            detail: format!(
                "more than {} uncompressed bytes in the image's layers (the limit; a \
                 decompression bomb?)",
                sink.limits.max_total_bytes
            ),
        });
    }
    match result {
        Ok(mut delta) => {
            delta.read_bytes = used;
            Ok(delta)
        }
        Err(ScanError::Image(e)) => Err(e),
        Err(ScanError::Io(e)) => Err(ImageError::Corrupt {
            what: what.to_string(),
            detail: e.to_string(),
        }),
    }
}

enum ScanError {
    Io(io::Error),
    Image(ImageError),
}

impl From<io::Error> for ScanError {
    fn from(e: io::Error) -> Self {
        ScanError::Io(e)
    }
}

impl From<ImageError> for ScanError {
    fn from(e: ImageError) -> Self {
        ScanError::Image(e)
    }
}

/// Reads every entry of a layer's tar stream into a delta.
fn scan<R: Read>(
    sink: &LayerSink<'_>,
    what: &str,
    entries: tar::Entries<'_, R>,
) -> Result<LayerDelta, ScanError> {
    use std::hash::BuildHasher;
    let limits = sink.limits;
    let mut delta = LayerDelta::default();
    let mut path = String::new();
    let mut link = String::new();
    let mut warnings = Vec::new();
    // the bytes of a file being searched, reused from one to the next
    let mut scratch = Vec::new();
    for entry in entries {
        let mut entry = entry?;
        delta.entries += 1;
        if delta.entries > limits.max_layer_entries {
            return Err(limit(
                what,
                format!(
                    "more than {} entries in one layer (the limit)",
                    limits.max_layer_entries
                ),
            ));
        }
        if sink.entries + delta.entries > limits.max_entries {
            return Err(limit(
                what,
                format!(
                    "more than {} entries in the image's layers (the limit)",
                    limits.max_entries
                ),
            ));
        }
        let kind = entry.header().entry_type();
        if kind.is_pax_global_extensions()
            || kind.is_pax_local_extensions()
            || kind.is_gnu_longname()
            || kind.is_gnu_longlink()
        {
            continue;
        }
        let raw = entry.path_bytes();
        if !clean_into(&raw, &mut path) {
            warnings.push(format!(
                "{what}: entry {}: the path leaves the image root; skipped",
                String::from_utf8_lossy(&raw)
            ));
            continue;
        }
        drop(raw);
        let name = path.rsplit('/').next().unwrap_or("");
        if let Some(rest) = name.strip_prefix(".wh.") {
            let dir = parent(&path);
            if rest == ".wh..opq" {
                delta.under.insert(sink.hasher.hash_one(dir));
            } else if !rest.starts_with(".wh.") && !rest.is_empty() {
                let gone = if dir.is_empty() {
                    rest.to_string()
                } else {
                    format!("{dir}/{rest}")
                };
                delta.subtree.insert(sink.hasher.hash_one(gone.as_str()));
            }
            // other `.wh..wh.` names are aufs bookkeeping, not files
            continue;
        }
        if path.is_empty() {
            continue; // the root directory itself
        }
        let h = sink.hasher.hash_one(path.as_str());
        delta.any.insert(h);
        let perm = entry.header().mode().unwrap_or(0o644) & 0o7777;
        match kind {
            tar::EntryType::Directory => {
                if let Some(old) = delta.kept.remove(&path) {
                    delta.kept_bytes -= old.bytes();
                }
            }
            tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::GNUSparse => {
                delta.subtree.insert(h);
                let size = entry.size();
                let mode = S_IFREG | perm;
                if sink.filter.wants(&path, size, mode) {
                    let cap = size.min(limits.max_file_size);
                    check_kept(sink, &delta, what, &path, cap)?;
                    let mut data = Vec::with_capacity(cap as usize);
                    (&mut entry).take(cap).read_to_end(&mut data)?;
                    delta.keep(path.clone(), Node::File { data, mode, size });
                } else {
                    if let Some(old) = delta.kept.remove(&path) {
                        delta.kept_bytes -= old.bytes();
                    }
                    if let Some(inspector) = sink.inspector.filter(|i| i.wants(&path, size, mode)) {
                        scratch.clear();
                        (&mut entry)
                            .take(size.min(limits.max_file_size))
                            .read_to_end(&mut scratch)?;
                        let found = inspector.inspect(&path, mode, &scratch);
                        if !found.is_empty() {
                            delta.keep(path.clone(), Node::Found { found });
                        }
                    }
                }
            }
            tar::EntryType::Symlink => {
                delta.subtree.insert(h);
                let target = entry
                    .link_name_bytes()
                    .map(|t| String::from_utf8_lossy(&t).into_owned())
                    .unwrap_or_default();
                if sink
                    .filter
                    .wants(&path, target.len() as u64, S_IFLNK | 0o777)
                {
                    check_kept(sink, &delta, what, &path, target.len() as u64)?;
                    delta.keep(path.clone(), Node::Symlink { target });
                } else if let Some(old) = delta.kept.remove(&path) {
                    delta.kept_bytes -= old.bytes();
                }
            }
            tar::EntryType::Link => {
                delta.subtree.insert(h);
                let raw = entry.link_name_bytes().unwrap_or_default();
                let inside = clean_into(&raw, &mut link);
                // only a file of this layer read before the link can give its bytes: the
                // link is a second name for it
                let same = match delta.kept.get(&link) {
                    Some(Node::File { data, mode, size }) if inside => {
                        Some((data.clone(), *mode, *size))
                    }
                    _ => None,
                };
                if let Some((data, mode, size)) = same {
                    if sink.filter.wants(&path, size, mode) {
                        check_kept(sink, &delta, what, &path, data.len() as u64)?;
                        delta.keep(path.clone(), Node::File { data, mode, size });
                    }
                } else {
                    if let Some(old) = delta.kept.remove(&path) {
                        delta.kept_bytes -= old.bytes();
                    }
                    if sink.filter.wants(&path, 0, S_IFREG | perm) {
                        warnings.push(format!(
                            "{what}: {path}: hard link to {}, which was not read before it \
                             in this layer; skipped",
                            String::from_utf8_lossy(&raw)
                        ));
                    }
                }
            }
            _ => {
                // devices, FIFOs, unknown types: nothing to read, but they replace what was there
                delta.subtree.insert(h);
                if let Some(old) = delta.kept.remove(&path) {
                    delta.kept_bytes -= old.bytes();
                }
            }
        }
    }
    delta.warnings = warnings;
    Ok(delta)
}

impl LayerDelta {
    /// Keeps a wanted entry (replacing one of the same path read before in this layer).
    pub(crate) fn keep(&mut self, path: String, node: Node) {
        self.kept_bytes += node.bytes();
        if let Some(old) = self.kept.insert(path, node) {
            self.kept_bytes -= old.bytes();
        }
    }
}

fn limit(what: &str, detail: String) -> ScanError {
    ScanError::Image(ImageError::Limit {
        what: what.to_string(),
        detail,
    })
}

fn check_kept(
    sink: &LayerSink<'_>,
    delta: &LayerDelta,
    what: &str,
    path: &str,
    more: u64,
) -> Result<(), ScanError> {
    let held = sink.kept_bytes + sink.fs.bytes + delta.kept_bytes + more;
    if held > sink.limits.max_kept_bytes {
        return Err(limit(
            what,
            format!(
                "{path}: the wanted files would hold more than {} bytes in memory (the limit)",
                sink.limits.max_kept_bytes
            ),
        ));
    }
    Ok(())
}

/// Counts the bytes read and fails once more than `budget` were.
struct Counted<'c, R> {
    inner: R,
    used: &'c Cell<u64>,
    budget: u64,
}

impl<'c, R> Counted<'c, R> {
    fn new(inner: R, used: &'c Cell<u64>, budget: u64) -> Self {
        Self {
            inner,
            used,
            budget,
        }
    }
}

impl<R: Read> Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let used = self.used.get() + n as u64;
        self.used.set(used);
        if used > self.budget {
            return Err(io::Error::other("uncompressed size limit exceeded"));
        }
        Ok(n)
    }
}

impl<R: Seek> Seek for Counted<'_, R> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.inner.seek(pos)
    }
}

/// A zstd stream of one or more frames (skippable frames skipped).
struct Zstd<R> {
    source: R,
    decoder: ruzstd::decoding::FrameDecoder,
}

impl<R: BufRead> Zstd<R> {
    fn new(source: R) -> Self {
        Self {
            source,
            decoder: ruzstd::decoding::FrameDecoder::new(),
        }
    }
}

impl<R: BufRead> Read for Zstd<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        use ruzstd::decoding::BlockDecodingStrategy;
        use ruzstd::decoding::errors::{FrameDecoderError, ReadFrameHeaderError};
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if self.decoder.can_collect() > 0 {
                return self.decoder.read(buf);
            }
            if !self.decoder.is_finished() {
                self.decoder
                    .decode_blocks(&mut self.source, BlockDecodingStrategy::UptoBlocks(1))
                    .map_err(io::Error::other)?;
                continue;
            }
            // between frames: the end of the stream, or another frame
            if self.source.fill_buf()?.is_empty() {
                return Ok(0);
            }
            match self.decoder.init(&mut self.source) {
                Ok(()) => {}
                Err(FrameDecoderError::ReadFrameHeaderError(ReadFrameHeaderError::SkipFrame {
                    length,
                    ..
                })) => {
                    let skipped = io::copy(
                        &mut (&mut self.source).take(u64::from(length)),
                        &mut io::sink(),
                    )?;
                    if skipped < u64::from(length) {
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "zstd: truncated skippable frame",
                        ));
                    }
                }
                Err(e) => return Err(io::Error::other(format!("zstd: {e}"))),
            }
        }
    }
}

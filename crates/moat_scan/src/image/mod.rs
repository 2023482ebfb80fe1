//! Reading images: which files of an image's final filesystem the analyzers want, streamed from
//! the image's layers, nothing extracted to disk.
//!
//! - A [`FileFilter`] (what an analyzer wants) decides from a path, a size and a mode whether a
//!   file is read.
//! - An [`ImageSource`] hands its layers, in any order, to a [`LayerSink`] and says which order
//!   they apply in: [`ArchiveSource`] (`docker save` tarballs in both layouts, `oci-archive`
//!   tarballs, from a file or from any stream), [`OciLayoutSource`] (an OCI image layout
//!   directory), [`RootfsSource`] (an unpacked root filesystem) and, with the feature `engine`,
//!   [`EngineSource`] (an image of the local Docker engine, streamed from its export).
//! - [`final_files`] applies the layers in order (whiteouts `.wh.NAME`, opaque directories
//!   `.wh..wh..opq`, entries replacing what a lower layer had at their path) and returns the
//!   wanted files of the final filesystem with the image's configuration and layer digests.
//!
//! # How layers are applied while streaming
//! Each layer is read once, as a stream, into a *layer delta*: the bytes of the files the filter
//! wants (each read up to [`Limits::max_file_size`]), the paths it deletes (whiteouts, opaque
//! directories) and, for every other entry, a 64-bit keyed hash of its path (an entry at a path
//! replaces a lower layer's file there; a non-directory entry replaces a lower directory's whole
//! subtree). A delta is applied to the final filesystem — which holds only wanted files — as
//! soon as every layer below it has been applied, then dropped.
//!
//! Layers usually come in order. When they do not — a `docker save` stream names the order in
//! `manifest.json`, written after the layers — the deltas wait until the order is known. Memory is
//! then bounded by the wanted files' bytes ([`Limits::max_kept_bytes`]) plus about 20 bytes per
//! entry ([`Limits::max_entries`]), whatever the size of the image; nothing is written to disk.
//!
//! # Paths
//! Paths are relative to the image root, without a leading `/` (`var/lib/dpkg/status`), cleaned
//! lexically (`./a//b/../c` is `a/c`). An entry whose path leaves the root (`../etc/passwd`) is
//! skipped with a warning. Symbolic links in parent directories are not resolved (layers write
//! real paths); a wanted symbolic link is delivered with the bytes of its target when the
//! target, resolved inside the root, is a file the filter also wanted ([`FileEntry::link`]).
//!
//! # Modes
//! The `mode` given to [`FileFilter::wants`] and kept in [`FileEntry::mode`] is a `st_mode`: file
//! type bits ([`S_IFREG`], [`S_IFLNK`]) and permission bits (`mode & 0o111 != 0`: executable).

mod archive;
mod digest;
#[cfg(feature = "engine")]
mod engine;
mod layer;
mod meta;
mod oci_dir;
mod path;
mod rootfs;

use std::collections::HashMap;
use std::fmt;
use std::hash::RandomState;
use std::io::{Read, Seek};

pub use archive::ArchiveSource;
#[cfg(feature = "engine")]
pub use engine::EngineSource;
pub use meta::{HistoryEntry, ImageConfig};
pub use oci_dir::OciLayoutSource;
pub use rootfs::RootfsSource;

use layer::{Fs, LayerDelta};

use crate::model::Package;
use crate::secrets::SecretHit;

/// File type bits of a regular file, as in `st_mode`.
pub const S_IFREG: u32 = 0o100_000;
/// File type bits of a symbolic link, as in `st_mode`.
pub const S_IFLNK: u32 = 0o120_000;
/// The mask of the file type bits.
pub const S_IFMT: u32 = 0o170_000;

/// What an analyzer wants: decides from a path (relative to the image root, no leading `/`,
/// e.g. `var/lib/dpkg/status`, `usr/local/bin/api`) and the file's size and mode (`st_mode`:
/// [`S_IFREG`] or [`S_IFLNK`] with the permission bits) whether to read it.
///
/// Called once per regular file and symbolic link of every layer (not for directories), so it
/// should be cheap. A closure `Fn(&str, u64, u32) -> bool` is a filter.
pub trait FileFilter {
    /// Whether the file at `path`, of `size` bytes and `mode`, is read.
    fn wants(&self, path: &str, size: u64, mode: u32) -> bool;
}

impl<F: Fn(&str, u64, u32) -> bool> FileFilter for F {
    fn wants(&self, path: &str, size: u64, mode: u32) -> bool {
        self(path, size, mode)
    }
}

/// Files searched as they stream past instead of being kept (secret detection, and executables
/// read for the packages built into them): a file that
/// the [`FileFilter`] does not want and the inspector does is read (up to
/// [`Limits::max_file_size`]), handed to [`inspect`](Inspector::inspect) and dropped; only what
/// the search found is kept, in the file's place. A later layer that deletes or replaces the
/// file takes it out of the final filesystem, and the finding is reported as buried in its
/// layer ([`FoundFile::removed_in`]): anyone with the image still has that layer.
///
/// Memory stays bounded by one file at a time, whatever the number of files searched.
pub trait Inspector {
    /// Whether the file at `path`, of `size` bytes and `mode`, is searched.
    fn wants(&self, path: &str, size: u64, mode: u32) -> bool;
    /// What is found in the file at `path` of `mode`, whose bytes are `data`.
    fn inspect(&self, path: &str, mode: u32, data: &[u8]) -> Inspection;
}

/// What an [`Inspector`] found in one file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inspection {
    /// Secrets.
    pub hits: Vec<SecretHit>,
    /// Packages recorded in the file (an executable's build information); their layer is
    /// set from [`FoundFile::layer`].
    pub packages: Vec<Package>,
    /// What could not be read in it.
    pub warnings: Vec<String>,
}

impl Inspection {
    /// Nothing found.
    pub fn is_empty(&self) -> bool {
        self.hits.is_empty() && self.packages.is_empty() && self.warnings.is_empty()
    }

    /// A rough count of the bytes it holds (for the bound on kept bytes).
    pub(crate) fn bytes(&self) -> u64 {
        let strings: usize = self
            .packages
            .iter()
            .map(|p| p.name.len() + p.version.len() + p.path.len() + 64)
            .chain(self.warnings.iter().map(String::len))
            .chain(self.hits.iter().map(|h| h.evidence.len() + 64))
            .sum();
        strings as u64
    }
}

/// A searched file in which the [`Inspector`] found something.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundFile {
    /// Path relative to the image root, without a leading `/`.
    pub path: String,
    /// Index of the layer that wrote this version of the file.
    pub layer: usize,
    /// The secrets found.
    pub hits: Vec<SecretHit>,
    /// The packages found (empty for a file a later layer removed: they are not installed).
    pub packages: Vec<Package>,
    /// What could not be read in it.
    pub warnings: Vec<String>,
    /// The layer that deleted or replaced the file, when it is not in the final filesystem.
    pub removed_in: Option<usize>,
}

/// One file of the final filesystem that a filter wanted, with its bytes (bounded) and the layer
/// that last wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEntry {
    /// Path relative to the image root, without a leading `/`.
    pub path: String,
    /// The file's bytes, at most [`Limits::max_file_size`] of them.
    pub data: Vec<u8>,
    /// Index of the layer that last wrote the file (0 = the first layer; 0 for a root
    /// filesystem directory). For a symbolic link, the layer of its target.
    pub layer: usize,
    /// `st_mode`: type and permission bits (of the target, for a symbolic link).
    pub mode: u32,
    /// The file's full size in bytes.
    pub size: u64,
    /// `data` holds only the first [`Limits::max_file_size`] bytes of the file.
    pub truncated: bool,
    /// When `path` is a symbolic link: the path of the file it resolves to (inside the root),
    /// whose bytes `data` holds.
    pub link: Option<String>,
}

/// What [`final_files`] found in an image.
#[derive(Debug, Clone, Default)]
pub struct ImageFiles {
    /// The wanted files of the final filesystem, sorted by path.
    pub files: Vec<FileEntry>,
    /// The image configuration (environment, user, labels, history), when the source has one
    /// (not a root filesystem directory).
    pub config: Option<ImageConfig>,
    /// The layer digests (`sha256:…`), bottom first, as the source names them: the blob digests
    /// of an OCI manifest, the `rootfs.diff_ids` of a `docker save` legacy archive.
    pub layers: Vec<String>,
    /// The image's name when the source says it (`repo:tag`).
    pub reference: Option<String>,
    /// The searched files in which the [`Inspector`] found something: those of the final
    /// filesystem by path, then those a later layer removed.
    pub found: Vec<FoundFile>,
    /// Entries that were skipped, with why (the walk goes on without them).
    pub warnings: Vec<String>,
}

/// Bounds on what reading one image may cost. Every bound ends the walk with an
/// [`ImageError::Limit`] except [`max_file_size`](Self::max_file_size), which truncates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// The most bytes read of one wanted file (the rest is skipped, [`FileEntry::truncated`]).
    pub max_file_size: u64,
    /// The most uncompressed bytes read from all layers of one image (decompression bombs).
    pub max_total_bytes: u64,
    /// The most entries in one layer.
    pub max_layer_entries: u64,
    /// The most entries in all layers of one image.
    pub max_entries: u64,
    /// The most bytes of wanted files held in memory at once.
    pub max_kept_bytes: u64,
    /// The largest metadata document read (`manifest.json`, `index.json`, manifests, configs).
    pub max_metadata_size: u64,
    /// The most layers of one image.
    pub max_layers: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_file_size: 64 * 1024 * 1024,
            max_total_bytes: 8 * 1024 * 1024 * 1024,
            max_layer_entries: 1_000_000,
            max_entries: 4_000_000,
            max_kept_bytes: 1024 * 1024 * 1024,
            max_metadata_size: 16 * 1024 * 1024,
            max_layers: 1000,
        }
    }
}

/// Why an image could not be read.
#[derive(Debug)]
pub enum ImageError {
    /// Reading `what` failed.
    Io {
        /// The file, blob or stream.
        what: String,
        /// The error.
        source: std::io::Error,
    },
    /// `what` is not what it claims to be (a broken tar, gzip or zstd stream, bad JSON).
    Corrupt {
        /// The file, blob or layer.
        what: String,
        /// What is wrong.
        detail: String,
    },
    /// A bound of [`Limits`] was exceeded.
    Limit {
        /// Where.
        what: String,
        /// Which bound, and its value.
        detail: String,
    },
    /// A manifest names a blob or layer that is not in the image.
    Missing {
        /// The document that names it.
        what: String,
        /// The blob or member.
        name: String,
    },
    /// Several images are in the source and none was named.
    Ambiguous {
        /// The source.
        what: String,
        /// The images it holds (tags, or config digests for untagged ones).
        images: Vec<String>,
    },
    /// The image named is not in the source.
    NotFound {
        /// The source.
        what: String,
        /// The name asked for.
        reference: String,
        /// The images it holds.
        images: Vec<String>,
    },
    /// The source is of a format, or uses a compression, this reader does not know.
    Unsupported {
        /// The file, blob or layer.
        what: String,
        /// What is not supported.
        detail: String,
    },
    /// The Docker engine failed or refused.
    Engine(String),
}

impl fmt::Display for ImageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageError::Io { what, source } => write!(f, "{what}: {source}"),
            ImageError::Corrupt { what, detail } => write!(f, "{what}: corrupt: {detail}"),
            ImageError::Limit { what, detail } | ImageError::Unsupported { what, detail } => {
                write!(f, "{what}: {detail}")
            }
            ImageError::Missing { what, name } => {
                write!(f, "{what} names {name}, which is not in the image")
            }
            ImageError::Ambiguous { what, images } => write!(
                f,
                "{what} holds {} images; name one of: {}",
                images.len(),
                images.join(", ")
            ),
            ImageError::NotFound {
                what,
                reference,
                images,
            } => {
                if images.is_empty() {
                    write!(f, "{what}: no image {reference}")
                } else {
                    write!(
                        f,
                        "{what}: no image {reference}; it holds: {}",
                        images.join(", ")
                    )
                }
            }
            ImageError::Engine(msg) => f.write_str(msg),
        }
    }
}

impl std::error::Error for ImageError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ImageError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// What a source says about the image besides its layers.
#[derive(Debug, Clone, Default)]
pub struct ImageMeta {
    /// The configuration JSON, as stored.
    pub config: Option<Vec<u8>>,
    /// Layer digests, bottom first (see [`ImageFiles::layers`]).
    pub layer_digests: Vec<String>,
    /// The image's name, when known.
    pub reference: Option<String>,
}

/// A readable and seekable stream (a file, a window of a file).
pub trait ReadSeek: Read + Seek {}
impl<T: Read + Seek + ?Sized> ReadSeek for T {}

/// Somewhere layers come from.
///
/// [`read`](Self::read) hands every layer blob to the sink ([`LayerSink::layer`], or
/// [`LayerSink::layer_seekable`] when it can seek), each under a key of its own choosing, in
/// any order, and calls [`LayerSink::set_order`] with the keys bottom first — as early as it
/// knows them, so that layers are applied (and their memory freed) while reading.
pub trait ImageSource {
    /// Names the source in messages (`docker-archive:image.tar`).
    fn describe(&self) -> String;
    /// Reads the image into `sink`.
    fn read(&mut self, sink: &mut LayerSink<'_>) -> Result<ImageMeta, ImageError>;
}

/// Receives an image's layers from an [`ImageSource`] and builds its final filesystem.
#[derive(Debug)]
pub struct LayerSink<'a> {
    filter: &'a dyn FileFilter,
    inspector: Option<&'a dyn Inspector>,
    limits: &'a Limits,
    what: String,
    hasher: RandomState,
    fs: Fs,
    pending: HashMap<String, LayerDelta>,
    order: Option<Vec<String>>,
    applied: usize,
    total_bytes: u64,
    entries: u64,
    kept_bytes: u64,
    warnings: Vec<String>,
}

impl fmt::Debug for dyn Inspector + '_ {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Inspector")
    }
}

impl fmt::Debug for dyn FileFilter + '_ {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FileFilter")
    }
}

impl<'a> LayerSink<'a> {
    fn new(
        filter: &'a dyn FileFilter,
        inspector: Option<&'a dyn Inspector>,
        limits: &'a Limits,
        what: &str,
    ) -> Self {
        Self {
            filter,
            inspector,
            limits,
            what: what.to_string(),
            hasher: RandomState::new(),
            fs: Fs::default(),
            pending: HashMap::new(),
            order: None,
            applied: 0,
            total_bytes: 0,
            entries: 0,
            kept_bytes: 0,
            warnings: Vec::new(),
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        self.limits
    }

    /// Adds a warning (an entry skipped, and why).
    pub fn warn(&mut self, message: impl Into<String>) {
        self.warnings.push(message.into());
    }

    /// Reads one layer blob (a tar, gzip- or zstd-compressed or not, told by its first bytes)
    /// from a stream, under `key`.
    pub fn layer(&mut self, key: &str, reader: &mut dyn Read) -> Result<(), ImageError> {
        let delta = layer::read_layer(self, key, reader)?;
        self.add_delta(key, delta)
    }

    /// Reads one layer blob under `key` from a seekable stream: the bytes of unwanted files of
    /// an uncompressed layer are skipped by seeking instead of being read.
    pub fn layer_seekable(
        &mut self,
        key: &str,
        reader: &mut dyn ReadSeek,
    ) -> Result<(), ImageError> {
        let delta = layer::read_layer_seekable(self, key, reader)?;
        self.add_delta(key, delta)
    }

    /// The keys of the image's layers, bottom first. The same key may appear more than once
    /// (an image that adds the same layer twice).
    pub fn set_order(&mut self, keys: Vec<String>) -> Result<(), ImageError> {
        if keys.len() > self.limits.max_layers {
            return Err(ImageError::Limit {
                what: "image".into(),
                detail: format!(
                    "{} layers, more than the limit of {}",
                    keys.len(),
                    self.limits.max_layers
                ),
            });
        }
        self.order = Some(keys);
        self.apply_ready();
        Ok(())
    }

    /// Whether a layer was read under `key` and not yet applied.
    pub fn has_layer(&self, key: &str) -> bool {
        self.pending.contains_key(key)
    }

    pub(crate) fn add_delta(&mut self, key: &str, mut delta: LayerDelta) -> Result<(), ImageError> {
        self.total_bytes += delta.read_bytes;
        self.entries += delta.entries;
        self.kept_bytes += delta.kept_bytes;
        self.warnings.append(&mut delta.warnings);
        if self.pending.len() >= self.limits.max_layers {
            return Err(ImageError::Limit {
                what: self.what.clone(),
                detail: format!(
                    "more than {} layer blobs (the limit)",
                    self.limits.max_layers
                ),
            });
        }
        if let Some(old) = self.pending.insert(key.to_string(), delta) {
            self.kept_bytes = self.kept_bytes.saturating_sub(old.kept_bytes);
        }
        self.apply_ready();
        Ok(())
    }

    /// Applies, in order, the layers whose deltas are here.
    fn apply_ready(&mut self) {
        let Some(order) = &self.order else { return };
        while let Some(key) = order.get(self.applied) {
            let reused = order[self.applied + 1..].contains(key);
            let delta = if reused {
                match self.pending.get(key) {
                    Some(d) => d.clone(),
                    None => break,
                }
            } else {
                match self.pending.remove(key) {
                    Some(d) => d,
                    None => break,
                }
            };
            if !reused {
                self.kept_bytes = self.kept_bytes.saturating_sub(delta.kept_bytes);
            }
            self.fs.apply(delta, self.applied, &self.hasher);
            self.applied += 1;
        }
    }

    #[allow(clippy::type_complexity)]
    fn finish(
        mut self,
        what: &str,
    ) -> Result<(Vec<FileEntry>, Vec<FoundFile>, Vec<String>), ImageError> {
        let Some(order) = self.order.take() else {
            return Err(ImageError::Corrupt {
                what: what.to_string(),
                detail: "no image manifest found".into(),
            });
        };
        if let Some(key) = order.get(self.applied) {
            return Err(ImageError::Missing {
                what: format!("{what}: the image manifest"),
                name: format!("layer {key}"),
            });
        }
        let mut warnings = self.warnings;
        let (files, found) = self.fs.into_files(&mut warnings);
        Ok((files, found, warnings))
    }
}

/// Walks an image: applies the layers in order (whiteouts `.wh.NAME`, opaque dirs
/// `.wh..wh..opq`), and returns the files of the FINAL filesystem that `filter` wants, each read
/// up to `limits.max_file_size` bytes, with the image's configuration and layer digests.
pub fn final_files(
    source: &mut dyn ImageSource,
    filter: &dyn FileFilter,
    limits: &Limits,
) -> Result<ImageFiles, ImageError> {
    read_image(source, filter, None, limits)
}

/// [`final_files`], with the files `inspector` wants searched on the way, in every layer
/// ([`ImageFiles::found`]).
pub fn read_image(
    source: &mut dyn ImageSource,
    filter: &dyn FileFilter,
    inspector: Option<&dyn Inspector>,
    limits: &Limits,
) -> Result<ImageFiles, ImageError> {
    let what = source.describe();
    let mut sink = LayerSink::new(filter, inspector, limits, &what);
    let meta = source.read(&mut sink)?;
    let (files, found, mut warnings) = sink.finish(&what)?;
    let config = match &meta.config {
        Some(bytes) => match ImageConfig::parse(bytes) {
            Ok(c) => Some(c),
            Err(e) => {
                warnings.push(format!("{what}: image configuration: {e}"));
                None
            }
        },
        None => None,
    };
    Ok(ImageFiles {
        files,
        config,
        layers: meta.layer_digests,
        reference: meta.reference,
        found,
        warnings,
    })
}

//! An unpacked root filesystem directory (`--rootfs DIR`): one "layer" (index 0), walked
//! without following symbolic links; a wanted link is resolved inside the root, lexically, like
//! a layer's (never through the host's filesystem).

use std::fs::{self, File};
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::layer::{LayerDelta, Node};
use super::{ImageError, ImageMeta, ImageSource, LayerSink, S_IFLNK, S_IFREG};

/// The key of the only layer of a root filesystem.
const KEY: &str = "rootfs";

/// An unpacked root filesystem.
///
/// Directories are entered only when they are real directories (a symbolic link to one is a
/// link), so nothing outside `dir` is read — unless the tree is changed while it is walked.
#[derive(Debug, Clone)]
pub struct RootfsSource {
    dir: PathBuf,
}

impl RootfsSource {
    /// The root filesystem in `dir`.
    pub fn new(dir: impl AsRef<Path>) -> Self {
        Self {
            dir: dir.as_ref().to_path_buf(),
        }
    }
}

impl ImageSource for RootfsSource {
    fn describe(&self) -> String {
        self.dir.display().to_string()
    }

    fn read(&mut self, sink: &mut LayerSink<'_>) -> Result<ImageMeta, ImageError> {
        let name = self.describe();
        let meta = fs::metadata(&self.dir).map_err(|source| ImageError::Io {
            what: name.clone(),
            source,
        })?;
        if !meta.is_dir() {
            return Err(ImageError::Unsupported {
                what: name,
                detail: "not a directory".into(),
            });
        }
        sink.set_order(vec![KEY.to_string()])?;
        let limits = sink.limits().clone();
        let mut delta = LayerDelta::default();
        let mut stack = vec![(self.dir.clone(), String::new())];
        // the bytes of a file being searched, reused from one to the next
        let mut scratch = Vec::new();
        while let Some((dir, rel)) = stack.pop() {
            let entries = match fs::read_dir(&dir) {
                Ok(e) => e,
                Err(e) => {
                    delta
                        .warnings
                        .push(format!("{}: {e}; skipped", dir.display()));
                    continue;
                }
            };
            for entry in entries {
                let entry = match entry {
                    Ok(e) => e,
                    Err(e) => {
                        delta
                            .warnings
                            .push(format!("{}: {e}; skipped", dir.display()));
                        continue;
                    }
                };
                delta.entries += 1;
                if delta.entries > limits.max_layer_entries {
                    return Err(ImageError::Limit {
                        what: name,
                        detail: format!(
                            "more than {} entries (the limit)",
                            limits.max_layer_entries
                        ),
                    });
                }
                let file_name = entry.file_name();
                let file_name = file_name.to_string_lossy();
                let path = if rel.is_empty() {
                    file_name.into_owned()
                } else {
                    format!("{rel}/{file_name}")
                };
                let full = entry.path();
                let Ok(meta) = fs::symlink_metadata(&full) else {
                    continue;
                };
                let kind = meta.file_type();
                if kind.is_dir() {
                    stack.push((full, path));
                } else if kind.is_symlink() {
                    let Ok(target) = fs::read_link(&full) else {
                        continue;
                    };
                    let target = target.to_string_lossy().into_owned();
                    if sink
                        .filter
                        .wants(&path, target.len() as u64, S_IFLNK | 0o777)
                    {
                        delta.keep(path, Node::Symlink { target });
                    }
                } else if kind.is_file() {
                    let size = meta.len();
                    let mode = S_IFREG | (meta.permissions().mode() & 0o7777);
                    if !sink.filter.wants(&path, size, mode) {
                        if let Some(inspector) =
                            sink.inspector.filter(|i| i.wants(&path, size, mode))
                        {
                            scratch.clear();
                            let read = File::open(&full).and_then(|f| {
                                f.take(size.min(limits.max_file_size))
                                    .read_to_end(&mut scratch)
                            });
                            match read {
                                Ok(n) => delta.read_bytes += n as u64,
                                Err(e) => {
                                    delta
                                        .warnings
                                        .push(format!("{}: {e}; skipped", full.display()));
                                    continue;
                                }
                            }
                            let found = inspector.inspect(&path, mode, &scratch);
                            if !found.is_empty() {
                                delta.keep(path, Node::Found { found });
                            }
                        }
                        continue;
                    }
                    let cap = size.min(limits.max_file_size);
                    if sink.fs.bytes + delta.kept_bytes + cap > limits.max_kept_bytes {
                        return Err(ImageError::Limit {
                            what: format!("{name}: {path}"),
                            detail: format!(
                                "the wanted files would hold more than {} bytes in memory (the \
                                 limit)",
                                limits.max_kept_bytes
                            ),
                        });
                    }
                    let mut data = Vec::with_capacity(cap as usize);
                    let read = File::open(&full).and_then(|f| f.take(cap).read_to_end(&mut data));
                    if let Err(e) = read {
                        delta
                            .warnings
                            .push(format!("{}: {e}; skipped", full.display()));
                        continue;
                    }
                    delta.read_bytes += data.len() as u64;
                    delta.keep(path, Node::File { data, mode, size });
                }
            }
        }
        sink.add_delta(KEY, delta)?;
        Ok(ImageMeta::default())
    }
}

//! An OCI image layout directory (`oci-layout`, `index.json`, `blobs/<alg>/<hex>`).

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::archive::{Window, layer_checks, read_checked, same_key};
use super::digest::check_document;
use super::layer::BUF_SIZE;
use super::meta::resolve;
use super::{ImageError, ImageMeta, ImageSource, LayerSink};

/// An OCI image layout directory. Blob names come from digests checked to be `alg:hex`, so a
/// manifest cannot make the reader open a file outside `blobs/`. Every blob read is checked
/// against its digest: the index, the manifest and the configuration before they are used,
/// each layer as it is read, its whole bytes (those of unwanted files of an uncompressed layer
/// too); a mismatch is an [`ImageError::Corrupt`] naming the blob.
#[derive(Debug, Clone)]
pub struct OciLayoutSource {
    dir: PathBuf,
    reference: Option<String>,
}

impl OciLayoutSource {
    /// The layout in `dir`.
    pub fn new(dir: impl AsRef<Path>) -> Self {
        Self {
            dir: dir.as_ref().to_path_buf(),
            reference: None,
        }
    }

    /// Which image of the layout to read (its `org.opencontainers.image.ref.name`, such as
    /// `latest`, or `io.containerd.image.name`); without one, the layout must hold one image.
    #[must_use]
    pub fn with_reference(mut self, reference: Option<&str>) -> Self {
        self.reference = reference.map(str::to_string);
        self
    }
}

impl ImageSource for OciLayoutSource {
    fn describe(&self) -> String {
        self.dir.display().to_string()
    }

    fn read(&mut self, sink: &mut LayerSink<'_>) -> Result<ImageMeta, ImageError> {
        let name = self.describe();
        let max = sink.limits().max_metadata_size;
        let dir = self.dir.clone();
        let mut warnings = Vec::new();
        let mut load = |member: &str| -> Result<Option<Vec<u8>>, ImageError> {
            let path = dir.join(member);
            let what = format!("{name}: {member}");
            let file = match File::open(&path) {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(source) => return Err(ImageError::Io { what, source }),
            };
            let mut bytes = Vec::new();
            file.take(max + 1)
                .read_to_end(&mut bytes)
                .map_err(|source| ImageError::Io {
                    what: what.clone(),
                    source,
                })?;
            if bytes.len() as u64 > max {
                return Err(ImageError::Limit {
                    what,
                    detail: format!("a metadata document larger than {max} bytes (the limit)"),
                });
            }
            check_document(&what, member, &bytes, &mut warnings)?;
            Ok(Some(bytes))
        };
        let resolved = resolve(&name, &mut load, self.reference.as_deref())?;
        for w in warnings {
            sink.warn(w);
        }
        let checks = layer_checks(&name, &resolved)?;
        sink.set_order(resolved.layers.clone())?;
        for (i, key) in resolved.layers.iter().enumerate() {
            if resolved.layers[..i].contains(key) {
                continue;
            }
            let path = self.dir.join(key);
            let what = format!("{name}: {key}");
            let mut file = match File::open(&path) {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(ImageError::Missing {
                        what: format!("{name}: the image manifest"),
                        name: format!("layer {}", resolved.digests[i]),
                    });
                }
                Err(source) => return Err(ImageError::Io { what, source }),
            };
            let len = file
                .metadata()
                .map_err(|source| ImageError::Io {
                    what: what.clone(),
                    source,
                })?
                .len();
            let mut window = Window::new(&mut file, 0, len, BUF_SIZE);
            let mine = same_key(&resolved.layers, key, &checks);
            read_checked(sink, &name, key, &mine, &mut window)?;
        }
        Ok(ImageMeta {
            config: Some(resolved.config),
            layer_digests: resolved.digests,
            reference: resolved.reference,
        })
    }
}

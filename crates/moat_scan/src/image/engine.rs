//! An image of the Docker engine, streamed from its export (`GET /images/{name}/get`, the
//! `docker save` tarball) into the archive reader: read in one pass, nothing written to disk
//! (see [`ArchiveSource`] for how a layer order known only at the end is handled).

use std::io::{self, Read};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use moat_engine::{Engine, EngineError};

use super::{ArchiveSource, ImageError, ImageMeta, ImageSource, LayerSink};

/// How long the engine may take to start answering an export: it prepares the whole tarball
/// before the first byte.
const EXPORT_TIMEOUT: Duration = Duration::from_mins(10);

/// Chunks of the export in flight between the engine task and the reader.
const CHANNEL_CHUNKS: usize = 16;

/// An image of a Docker engine, by name or id.
///
/// The export is pumped by a task on the tokio runtime of `handle` while [`final_files`]
/// reads on the calling thread, which must therefore not be one of that runtime's workers
/// (call it from `tokio::task::spawn_blocking` or a thread of its own).
///
/// [`final_files`]: super::final_files
#[derive(Debug, Clone)]
pub struct EngineSource {
    engine: Engine,
    name: String,
    handle: tokio::runtime::Handle,
}

impl EngineSource {
    /// The image `name` (`app:1.2`, an id) of `engine`, its export driven on `handle`.
    pub fn new(engine: &Engine, name: &str, handle: tokio::runtime::Handle) -> Self {
        Self {
            engine: engine.clone(),
            name: name.to_string(),
            handle,
        }
    }
}

/// The export as a blocking reader.
struct ChannelReader<T> {
    rx: Receiver<io::Result<T>>,
    chunk: Option<T>,
    at: usize,
}

impl<T: AsRef<[u8]>> Read for ChannelReader<T> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        loop {
            if let Some(chunk) = &self.chunk {
                let bytes = chunk.as_ref();
                if self.at < bytes.len() {
                    let n = (bytes.len() - self.at).min(out.len());
                    out[..n].copy_from_slice(&bytes[self.at..self.at + n]);
                    self.at += n;
                    return Ok(n);
                }
            }
            match self.rx.recv() {
                Ok(Ok(chunk)) => {
                    self.chunk = Some(chunk);
                    self.at = 0;
                }
                Ok(Err(e)) => return Err(e),
                Err(_) => return Ok(0), // the task is done: the end of the export
            }
        }
    }
}

async fn pump<T, E>(
    mut stream: impl futures_util::Stream<Item = Result<T, E>> + Unpin,
    tx: SyncSender<io::Result<T>>,
    failed: Arc<Mutex<Option<E>>>,
) {
    while let Some(item) = stream.next().await {
        let item = match item {
            Ok(chunk) => Ok(chunk),
            Err(e) => {
                *failed
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(e);
                Err(io::Error::other("the engine's export failed"))
            }
        };
        let stop = item.is_err();
        // a send fails when the reader is gone (it stopped on an error of its own)
        if tx.send(item).is_err() || stop {
            break;
        }
    }
}

impl ImageSource for EngineSource {
    fn describe(&self) -> String {
        format!("engine image {}", self.name)
    }

    fn read(&mut self, sink: &mut LayerSink<'_>) -> Result<ImageMeta, ImageError> {
        let mut docker = self.engine.docker().clone();
        docker.set_timeout(EXPORT_TIMEOUT);
        let (tx, rx) = sync_channel(CHANNEL_CHUNKS);
        let failed = Arc::new(Mutex::new(None));
        let name = self.name.clone();
        let task = {
            let failed = Arc::clone(&failed);
            self.handle.spawn(async move {
                let stream = docker.export_image(&name);
                pump(stream, tx, failed).await;
            })
        };
        let reader = ChannelReader {
            rx,
            chunk: None,
            at: 0,
        };
        let mut archive =
            ArchiveSource::from_stream(reader, &self.describe()).with_reference(Some(&self.name));
        let result = archive.read(sink);
        task.abort();
        let engine_error = failed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        match (result, engine_error) {
            (_, Some(e)) => {
                let err: EngineError = self.engine.error(&format!("/images/{}/get", self.name), &e);
                if err.is_not_found() {
                    Err(ImageError::NotFound {
                        what: format!("engine {}", self.engine.host()),
                        reference: self.name.clone(),
                        images: Vec::new(),
                    })
                } else {
                    Err(ImageError::Engine(err.to_string()))
                }
            }
            (result, None) => result,
        }
    }
}

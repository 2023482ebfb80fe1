//! The JSON access log: one line per request, ECS-style field names, written by a dedicated
//! thread so a slow terminal never stalls the proxy (lines are dropped and counted instead
//! when more than 8 MiB are waiting).
//!
//! Only the fields below are ever written: no header values, no query string (the path only),
//! so `Authorization`, cookies, API keys and query secrets cannot reach the log.

use serde::Serialize;
use std::io::Write;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// Where lines go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
    /// Appended to a file.
    File(std::path::PathBuf),
    /// Nowhere.
    Off,
}

/// One access-log record.
#[derive(Debug, Serialize)]
pub struct Record {
    /// RFC 3339 time the request arrived.
    #[serde(rename = "@timestamp")]
    pub timestamp: String,
    /// Client address (after trusted proxies).
    #[serde(rename = "client.ip")]
    pub client_ip: String,
    /// Method.
    #[serde(rename = "http.request.method")]
    pub method: String,
    /// Protocol version, e.g. `1.1` or `2`.
    #[serde(rename = "http.version")]
    pub version: &'static str,
    /// Path without the query.
    #[serde(rename = "url.path")]
    pub path: String,
    /// Host the request named.
    #[serde(rename = "url.domain", skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Status sent.
    #[serde(rename = "http.response.status_code")]
    pub status: u16,
    /// Nanoseconds from request to response headers.
    #[serde(rename = "event.duration")]
    pub duration_ns: u64,
    /// Key id, when authenticated.
    #[serde(rename = "user.id", skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// `passed`, `rejected`, `dry-run`, or absent when no limit applied.
    #[serde(rename = "moat.rate_limit", skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<&'static str>,
    /// Route name.
    #[serde(rename = "moat.route", skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
    /// Why the gateway answered itself (error code), if it did.
    #[serde(rename = "error.code", skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Upstream target used.
    #[serde(rename = "upstream.address", skip_serializing_if = "Option::is_none")]
    pub upstream_address: Option<String>,
    /// Nanoseconds the upstream took to answer.
    #[serde(rename = "upstream.duration", skip_serializing_if = "Option::is_none")]
    pub upstream_duration_ns: Option<u64>,
    /// Request id.
    #[serde(rename = "trace.id")]
    pub trace_id: String,
    /// TLS protocol, e.g. `TLSv1.3`.
    #[serde(rename = "tls.version", skip_serializing_if = "Option::is_none")]
    pub tls_version: Option<&'static str>,
}

/// Lines waiting for the writer, and whether the writer should hurry.
#[derive(Debug, Default)]
struct Pending {
    buf: Vec<u8>,
    closed: bool,
}

#[derive(Debug, Default)]
struct Shared {
    pending: Mutex<Pending>,
    wake: Condvar,
}

/// Bytes buffered before lines are dropped (the writer is behind).
const MAX_PENDING: usize = 8 << 20;
/// Bytes after which the writer is woken early.
const FLUSH_AT: usize = 256 << 10;
/// How often the writer flushes at most.
const INTERVAL: Duration = Duration::from_millis(50);

/// A handle to the writer thread. Requests append to a shared buffer (no wake-up, no system
/// call per line); the writer thread writes it out every 50 ms or when 256 KiB are waiting.
#[derive(Debug, Clone)]
pub struct AccessLog {
    shared: Option<Arc<Shared>>,
}

impl AccessLog {
    /// Starts the writer for `target`.
    pub fn start(target: &Target) -> std::io::Result<Self> {
        let out: Box<dyn Write + Send> = match target {
            Target::Off => return Ok(Self { shared: None }),
            Target::Stdout => Box::new(std::io::stdout()),
            Target::Stderr => Box::new(std::io::stderr()),
            Target::File(p) => Box::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)?,
            ),
        };
        let shared = Arc::new(Shared::default());
        let s = shared.clone();
        std::thread::Builder::new()
            .name("moat-access-log".into())
            .spawn(move || writer(out, &s))?;
        Ok(Self {
            shared: Some(shared),
        })
    }

    /// Queues one record; returns false when it was dropped.
    pub fn write(&self, rec: &Record) -> bool {
        let Some(shared) = &self.shared else {
            return true;
        };
        let Ok(mut line) = serde_json::to_vec(rec) else {
            return false;
        };
        line.push(b'\n');
        let mut p = match shared.pending.lock() {
            Ok(p) => p,
            Err(e) => e.into_inner(),
        };
        if p.buf.len() + line.len() > MAX_PENDING {
            return false;
        }
        p.buf.extend_from_slice(&line);
        if p.buf.len() >= FLUSH_AT {
            shared.wake.notify_one();
        }
        true
    }

    /// Writes out everything queued so far and stops the writer after that.
    pub fn close(&self) {
        if let Some(shared) = &self.shared {
            if let Ok(mut p) = shared.pending.lock() {
                p.closed = true;
            }
            shared.wake.notify_one();
        }
    }
}

fn writer(out: Box<dyn Write + Send>, shared: &Shared) {
    let mut out = out;
    let mut spare = Vec::new();
    loop {
        let closed = {
            let mut p = match shared.pending.lock() {
                Ok(p) => p,
                Err(e) => e.into_inner(),
            };
            if p.buf.len() < FLUSH_AT && !p.closed {
                p = match shared.wake.wait_timeout(p, INTERVAL) {
                    Ok((p, _)) => p,
                    Err(e) => e.into_inner().0,
                };
            }
            std::mem::swap(&mut p.buf, &mut spare);
            p.closed
        };
        if !spare.is_empty() {
            let _ = out.write_all(&spare);
            let _ = out.flush();
            spare.clear();
            if spare.capacity() > FLUSH_AT * 4 {
                spare.shrink_to(FLUSH_AT);
            }
        }
        if closed {
            return;
        }
    }
}

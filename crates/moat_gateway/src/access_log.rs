//! The JSON access log: one line per request, ECS-style field names, written by a dedicated
//! thread so a slow terminal never stalls the proxy (lines are dropped and counted instead
//! when more than 8 MiB are waiting).
//!
//! Only the fields below are ever written: no header values, no query string (the path only),
//! so `Authorization`, cookies, API keys and query secrets cannot reach the log.

use std::io::Write;
use std::net::IpAddr;
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

/// One access-log record, borrowed from the request it describes. [`Record::write_json`] renders
/// it straight into the writer's buffer (no intermediate strings or JSON values).
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    /// Time the request arrived, since the Unix epoch (`@timestamp`, RFC 3339 with ms).
    pub timestamp: Duration,
    /// Client address after trusted proxies (`client.ip`).
    pub client_ip: IpAddr,
    /// Method (`http.request.method`).
    pub method: &'a str,
    /// Protocol version, e.g. `1.1` or `2` (`http.version`).
    pub version: &'static str,
    /// Canonical path without the query (`url.path`): the path routed, authorised and forwarded.
    pub path: &'a str,
    /// The path as the client sent it, when it differs from the canonical one
    /// (`moat.original_path`).
    pub original_path: Option<&'a str>,
    /// Host the request named (`url.domain`).
    pub host: Option<&'a str>,
    /// Status sent (`http.response.status_code`).
    pub status: u16,
    /// Nanoseconds from request to response headers (`event.duration`).
    pub duration_ns: u64,
    /// Key id, when authenticated (`user.id`).
    pub user_id: Option<&'a str>,
    /// `passed`, `rejected`, `dry-run`, or absent when no limit applied (`moat.rate_limit`).
    pub rate_limit: Option<&'static str>,
    /// Route name (`moat.route`).
    pub route: Option<&'a str>,
    /// Why the gateway answered itself (error code), if it did (`error.code`).
    pub error: Option<&'a str>,
    /// Upstream target used (`upstream.address`).
    pub upstream_address: Option<&'a str>,
    /// Nanoseconds the upstream took to answer (`upstream.duration`).
    pub upstream_duration_ns: Option<u64>,
    /// Request id (`trace.id`).
    pub trace_id: &'a str,
    /// TLS protocol, e.g. `TLSv1.3` (`tls.version`).
    pub tls_version: Option<&'static str>,
}

impl Record<'_> {
    /// Appends the record as one JSON object (no newline) to `out`. Field order and string
    /// escaping are those of `serde_json`.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"@timestamp\":\"");
        crate::util::write_rfc3339(out, self.timestamp);
        out.extend_from_slice(b"\",\"client.ip\":\"");
        // addresses contain only hex digits, `.` and `:`: nothing to escape
        match self.client_ip {
            IpAddr::V4(v4) => {
                out.extend_from_slice(crate::util::ipv4_text(v4, &mut [0; 15]).as_bytes());
            }
            IpAddr::V6(v6) => {
                let _ = write!(out, "{v6}");
            }
        }
        out.extend_from_slice(b"\",\"http.request.method\":");
        json_str(out, self.method);
        out.extend_from_slice(b",\"http.version\":");
        json_str(out, self.version);
        out.extend_from_slice(b",\"url.path\":");
        json_str(out, self.path);
        if let Some(p) = self.original_path {
            out.extend_from_slice(b",\"moat.original_path\":");
            json_str(out, p);
        }
        if let Some(h) = self.host {
            out.extend_from_slice(b",\"url.domain\":");
            json_str(out, h);
        }
        out.extend_from_slice(b",\"http.response.status_code\":");
        json_u64(out, u64::from(self.status));
        out.extend_from_slice(b",\"event.duration\":");
        json_u64(out, self.duration_ns);
        let strs = [
            (&b",\"user.id\":"[..], self.user_id),
            (b",\"moat.rate_limit\":", self.rate_limit),
            (b",\"moat.route\":", self.route),
            (b",\"error.code\":", self.error),
            (b",\"upstream.address\":", self.upstream_address),
        ];
        for (key, v) in strs {
            if let Some(v) = v {
                out.extend_from_slice(key);
                json_str(out, v);
            }
        }
        if let Some(d) = self.upstream_duration_ns {
            out.extend_from_slice(b",\"upstream.duration\":");
            json_u64(out, d);
        }
        out.extend_from_slice(b",\"trace.id\":");
        json_str(out, self.trace_id);
        if let Some(t) = self.tls_version {
            out.extend_from_slice(b",\"tls.version\":");
            json_str(out, t);
        }
        out.push(b'}');
    }
}

fn json_u64(out: &mut Vec<u8>, v: u64) {
    let mut buf = itoa::Buffer::new();
    out.extend_from_slice(buf.format(v).as_bytes());
}

/// A JSON string literal, escaped as `serde_json` does: `"` and `\\`, the short escapes for
/// backspace, form feed, newline, carriage return and tab, `\u00XX` for other control
/// characters; everything else (including non-ASCII) as is.
fn json_str(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let mut rest = s.as_bytes();
    // copy runs that need no escape in one go (almost every field is one such run)
    while let Some(i) = rest
        .iter()
        .position(|&c| c < 0x20 || c == b'"' || c == b'\\')
    {
        out.extend_from_slice(&rest[..i]);
        let c = rest[i];
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            _ => {
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(c >> 4)]);
                out.push(HEX[usize::from(c & 0xf)]);
            }
        }
        rest = &rest[i + 1..];
    }
    out.extend_from_slice(rest);
    out.push(b'"');
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
        let mut p = match shared.pending.lock() {
            Ok(p) => p,
            Err(e) => e.into_inner(),
        };
        // rendered in place: one copy, no allocation once the buffer has grown
        let start = p.buf.len();
        rec.write_json(&mut p.buf);
        p.buf.push(b'\n');
        if p.buf.len() > MAX_PENDING {
            p.buf.truncate(start);
            return false;
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn record(tricky: &str) -> Record<'_> {
        Record {
            timestamp: Duration::from_millis(1_709_251_199_123),
            client_ip: "2001:db8::1".parse().unwrap(),
            method: "GET",
            version: "1.1",
            path: tricky,
            original_path: Some(tricky),
            host: None,
            status: 200,
            duration_ns: 1234,
            user_id: Some(tricky),
            rate_limit: Some("passed"),
            route: Some("api"),
            error: None,
            upstream_address: Some("127.0.0.1:8080"),
            upstream_duration_ns: Some(99),
            trace_id: "abc",
            tls_version: Some("TLSv1.3"),
        }
    }

    #[test]
    fn lines_are_json_escaped_like_serde_json() {
        let tricky = "/a\"b\\c\n\r\t\u{8}\u{c}\u{1}\u{1f}\u{7f}é/<>";
        let mut s = Vec::new();
        json_str(&mut s, tricky);
        assert_eq!(
            String::from_utf8(s).unwrap(),
            serde_json::to_string(tricky).unwrap()
        );
        let mut out = Vec::new();
        record(tricky).write_json(&mut out);
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with(
            "{\"@timestamp\":\"2024-02-29T23:59:59.123Z\",\"client.ip\":\"2001:db8::1\",\"http.request.method\":\"GET\",\"http.version\":\"1.1\",\"url.path\":"
        ));
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["url.path"], tricky);
        assert_eq!(v["user.id"], tricky);
        assert_eq!(v["http.response.status_code"], 200);
        assert_eq!(v["event.duration"], 1234);
        assert_eq!(v["upstream.duration"], 99);
        assert_eq!(v["moat.rate_limit"], "passed");
        assert_eq!(v["tls.version"], "TLSv1.3");
        assert_eq!(v["moat.original_path"], tricky);
        // absent values are left out, as before
        assert!(v.get("url.domain").is_none() && v.get("error.code").is_none());
        assert_eq!(v.as_object().unwrap().len(), 15);
        let mut v4 = record("/");
        v4.client_ip = "10.0.255.7".parse().unwrap();
        let mut out = Vec::new();
        v4.write_json(&mut out);
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["client.ip"], "10.0.255.7");
    }
}

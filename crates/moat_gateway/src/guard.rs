//! The HTTP/1 connection guard, below hyper: it watches request heads as bytes arrive and
//!
//! - answers **408** and closes when a request head is not complete within the header-read
//!   timeout (slowloris), and closes quietly after the keep-alive idle timeout;
//! - answers **400** and closes on framing that invites request smuggling, before hyper sees
//!   the head: `Content-Length` together with `Transfer-Encoding`, several differing or
//!   malformed `Content-Length` values, obsolete line folding, bare CR or bare LF line ends,
//!   whitespace before the colon of a header name;
//! - answers **431** (JSON) and closes when a head is longer than the limit;
//! - replaces the bare error responses hyper writes for heads it cannot parse (an invalid
//!   method, request target, version or header byte) by the same JSON errors.
//!
//! Every request the guard answers itself is counted (`moat_gateway_rejected_total`) and handed
//! to the connection's [`RejectHook`] (the access log), with a fresh request id that the
//! response also carries.
//!
//! After a head, it skips a `Content-Length` body to find the next pipelined head. After a
//! chunked head it stops inspecting until the request is answered (hyper still parses and
//! re-frames those requests; the gateway never forwards client framing upstream).
//!
//! Once the connection is handed to a WebSocket tunnel (the flag given to
//! [`GuardedIo::passthrough_when`] is set, before the `101` is written), bytes pass both ways
//! untouched and untimed: they are WebSocket frames, and the tunnel has its own idle timeout.
//!
//! Parking (see [`GuardedIo::park_after`]): a keep-alive connection idle between requests for
//! a while is handed back to its task, which drops the HTTP/1 state above it (hyper's read and
//! write buffers, the service) and waits for the socket to become readable again with only
//! the TLS session and this guard held. Hyper is told the peer closed (a read of 0 bytes,
//! which is what it expects from an idle connection); the shutdown that follows is not passed
//! on, and [`ParkedIo`] returns the guard to the task.

use crate::metrics::Metrics;
use crate::util::raw_error;
use http::StatusCode;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

#[derive(Debug, PartialEq, Eq)]
enum State {
    /// Between requests (or inside a head, when `head` is not empty).
    Head,
    /// Skipping a body of this many bytes.
    Body(u64),
    /// Not inspecting until the current request is answered.
    Passthrough,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Timer {
    Off,
    Idle,
    Header,
    /// Idle, not yet parked (the idle deadline is in `idle_deadline`).
    Park,
}

/// Told about every request the guard answers itself: status, error code, request id.
pub type RejectHook = Box<dyn Fn(StatusCode, &'static str, &str) + Send + Sync>;

/// What was wrong with a head.
#[derive(Debug, PartialEq, Eq)]
pub enum HeadError {
    /// Content-Length and Transfer-Encoding together.
    ClAndTe,
    /// Several differing or malformed Content-Length values.
    BadContentLength,
    /// Obsolete line folding.
    ObsFold,
    /// CR or LF not in a CRLF pair.
    BareLineEnd,
    /// Whitespace between a header name and its colon, or a line without a colon.
    BadHeaderLine,
    /// The head is longer than the limit.
    TooLarge,
}

/// How the body of a valid head is framed.
#[derive(Debug, PartialEq, Eq)]
pub enum Framing {
    /// No body.
    None,
    /// This many bytes.
    Length(u64),
    /// Transfer-Encoding.
    Chunked,
}

/// Checks one complete request head (through its empty line).
pub fn check_head(head: &[u8]) -> Result<Framing, HeadError> {
    for (i, &b) in head.iter().enumerate() {
        match b {
            b'\n' if i == 0 || head[i - 1] != b'\r' => return Err(HeadError::BareLineEnd),
            b'\r' if head.get(i + 1) != Some(&b'\n') => return Err(HeadError::BareLineEnd),
            _ => {}
        }
    }
    let mut lines = head
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let _request_line = lines.next();
    let mut cl: Option<u64> = None;
    let mut te = false;
    for line in lines {
        if line.is_empty() {
            break;
        }
        if line[0] == b' ' || line[0] == b'\t' {
            return Err(HeadError::ObsFold);
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            return Err(HeadError::BadHeaderLine);
        };
        let name = &line[..colon];
        if name.is_empty() || name.last().is_some_and(u8::is_ascii_whitespace) {
            return Err(HeadError::BadHeaderLine);
        }
        let value = line[colon + 1..].trim_ascii();
        if name.eq_ignore_ascii_case(b"content-length") {
            for part in value.split(|&b| b == b',') {
                let part = part.trim_ascii();
                if part.is_empty() || part.len() > 19 || !part.iter().all(u8::is_ascii_digit) {
                    return Err(HeadError::BadContentLength);
                }
                let n: u64 = std::str::from_utf8(part)
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .ok_or(HeadError::BadContentLength)?;
                match cl {
                    Some(prev) if prev != n => return Err(HeadError::BadContentLength),
                    _ => cl = Some(n),
                }
            }
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            te = true;
        }
    }
    match (cl, te) {
        (Some(_), true) => Err(HeadError::ClAndTe),
        (_, true) => Ok(Framing::Chunked),
        (Some(0) | None, false) => Ok(Framing::None),
        (Some(n), false) => Ok(Framing::Length(n)),
    }
}

fn head_end(buf: &[u8], from: usize) -> Option<usize> {
    let start = from.saturating_sub(3);
    (start..buf.len()).find_map(|i| {
        if buf[i] != b'\n' {
            return None;
        }
        if buf.get(i + 1) == Some(&b'\n') {
            return Some(i + 2);
        }
        if buf.get(i + 1) == Some(&b'\r') && buf.get(i + 2) == Some(&b'\n') {
            return Some(i + 3);
        }
        None
    })
}

/// The request-head state machine, without I/O or timers: feed it bytes as they arrive.
#[derive(Debug)]
pub struct HeadInspector {
    state: State,
    head: Vec<u8>,
    max_head: usize,
}

impl HeadInspector {
    /// An inspector between requests; heads longer than `max_head` are left to hyper (431).
    pub fn new(max_head: usize) -> Self {
        Self {
            state: State::Head,
            head: Vec::new(),
            max_head,
        }
    }

    /// Whether part of a request head has arrived but not its end.
    pub fn in_head(&self) -> bool {
        self.state == State::Head && !self.head.is_empty()
    }

    /// Whether the connection is between requests: no part of a head or body is pending.
    pub fn between_requests(&self) -> bool {
        self.state == State::Head && self.head.is_empty()
    }

    /// Called when no request is in flight and the peer is quiet: a chunked body is over.
    pub fn request_done(&mut self) {
        if self.state == State::Passthrough {
            self.state = State::Head;
        }
    }

    /// Feeds bytes; returns how many heads were completed, or the first bad head.
    pub fn feed(&mut self, mut data: &[u8]) -> Result<usize, HeadError> {
        let mut completed = 0;
        while !data.is_empty() {
            match self.state {
                State::Passthrough => return Ok(completed),
                State::Body(n) => {
                    let take = (data.len() as u64).min(n);
                    data = &data[take as usize..];
                    self.state = if n == take {
                        State::Head
                    } else {
                        State::Body(n - take)
                    };
                }
                State::Head => {
                    if self.head.is_empty() {
                        let skip = data
                            .iter()
                            .take_while(|b| matches!(b, b'\r' | b'\n'))
                            .count();
                        data = &data[skip..];
                        if data.is_empty() {
                            return Ok(completed);
                        }
                    }
                    let before = self.head.len();
                    self.head.extend_from_slice(data);
                    let Some(end) = head_end(&self.head, before) else {
                        if self.head.len() > self.max_head {
                            self.head.clear();
                            return Err(HeadError::TooLarge);
                        }
                        return Ok(completed);
                    };
                    if end > self.max_head {
                        self.head.clear();
                        return Err(HeadError::TooLarge);
                    }
                    let framing = check_head(&self.head[..end]);
                    data = &data[end - before..];
                    self.head.clear();
                    completed += 1;
                    self.state = match framing? {
                        Framing::None => State::Head,
                        Framing::Length(n) => State::Body(n),
                        Framing::Chunked => State::Passthrough,
                    };
                }
            }
        }
        Ok(completed)
    }
}

/// Guarded I/O for one HTTP/1 connection.
pub struct GuardedIo<T> {
    inner: T,
    inspector: HeadInspector,
    timer: Timer,
    sleep: Pin<Box<Sleep>>,
    header_timeout: Duration,
    idle_timeout: Duration,
    active: Arc<AtomicUsize>,
    metrics: Arc<Metrics>,
    reply: Option<(Vec<u8>, usize)>,
    closed: bool,
    on_reject: Option<RejectHook>,
    passthrough: Option<Arc<AtomicBool>>,
    park_after: Option<Duration>,
    idle_deadline: Instant,
    parked: bool,
}

/// The socket under the guard, whose read readiness a parked connection waits for.
pub trait ReadReady {
    /// Ready when the socket has bytes (or an end of stream) to read.
    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
}

impl ReadReady for tokio::net::TcpStream {
    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        tokio::net::TcpStream::poll_read_ready(self, cx)
    }
}

impl ReadReady for tokio_rustls::server::TlsStream<tokio::net::TcpStream> {
    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // the guard parks only after a read that found no plaintext left in the session and
        // the socket drained, so new bytes can only come from the socket
        self.get_ref().0.poll_read_ready(cx)
    }
}

impl<T: ReadReady> ReadReady for Box<T> {
    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        (**self).poll_read_ready(cx)
    }
}

/// How a parked connection's wait ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Unparked {
    /// Bytes (or the end of the stream) arrived: serve HTTP/1 again.
    Readable,
    /// The keep-alive idle timeout passed: close.
    IdleTimeout,
}

impl<T> std::fmt::Debug for GuardedIo<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuardedIo")
            .field("inspector", &self.inspector.state)
            .finish_non_exhaustive()
    }
}

impl<T> GuardedIo<T> {
    /// Guards `inner`; `active` counts requests in flight on the connection.
    pub fn new(
        inner: T,
        max_head: usize,
        header_timeout: Duration,
        idle_timeout: Duration,
        active: Arc<AtomicUsize>,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            inner,
            inspector: HeadInspector::new(max_head),
            timer: Timer::Off,
            sleep: Box::pin(tokio::time::sleep(idle_timeout)),
            header_timeout,
            idle_timeout,
            active,
            metrics,
            reply: None,
            closed: false,
            on_reject: None,
            passthrough: None,
            park_after: None,
            idle_deadline: Instant::now(),
            parked: false,
        }
    }

    /// Parks the connection after `after` idle between requests (when shorter than the idle
    /// timeout): the read in progress ends as if the peer had closed, the shutdown that
    /// follows is not passed on, and the caller gets the guard back through [`ParkedIo`].
    #[must_use]
    pub fn park_after(mut self, after: Duration) -> Self {
        self.park_after = Some(after);
        self
    }

    /// Whether the guard ended hyper's connection to park (rather than to close).
    pub fn is_parked(&self) -> bool {
        self.parked
    }

    /// Waits, parked, until the socket is readable or the idle timeout passes. After
    /// `Readable` the guard is serving again (the idle deadline kept).
    pub fn poll_unpark(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Unparked>>
    where
        T: ReadReady,
    {
        if let Poll::Ready(r) = self.inner.poll_read_ready(cx) {
            r?;
            self.parked = false;
            return Poll::Ready(Ok(Unparked::Readable));
        }
        if self.sleep.as_mut().poll(cx).is_ready() {
            self.parked = false;
            self.closed = true;
            return Poll::Ready(Ok(Unparked::IdleTimeout));
        }
        Poll::Pending
    }

    /// Closes a parked connection: TLS close_notify (when TLS) and the socket's write side.
    pub async fn close_parked(&mut self) -> io::Result<()>
    where
        T: AsyncWrite + Unpin,
    {
        use tokio::io::AsyncWriteExt;
        self.parked = false;
        self.inner.shutdown().await
    }

    /// Stops inspecting, timing and replacing anything once `flag` is set (the connection
    /// then carries a WebSocket tunnel).
    #[must_use]
    pub fn passthrough_when(mut self, flag: Arc<AtomicBool>) -> Self {
        self.passthrough = Some(flag);
        self
    }

    fn passing_through(&self) -> bool {
        self.reply.is_none()
            && !self.closed
            && self
                .passthrough
                .as_ref()
                .is_some_and(|f| f.load(Ordering::Acquire))
    }

    /// Calls `hook` for every request the guard answers itself.
    #[must_use]
    pub fn on_reject(mut self, hook: RejectHook) -> Self {
        self.on_reject = Some(hook);
        self
    }

    fn arm(&mut self, t: Timer) {
        let d = match t {
            Timer::Idle => self.idle_timeout,
            Timer::Header => self.header_timeout,
            Timer::Park => {
                let now = Instant::now();
                self.idle_deadline = now + self.idle_timeout;
                self.sleep
                    .as_mut()
                    .reset(now + self.park_after.unwrap_or(self.idle_timeout));
                self.timer = t;
                return;
            }
            Timer::Off => {
                self.timer = Timer::Off;
                return;
            }
        };
        self.sleep.as_mut().reset(Instant::now() + d);
        self.timer = t;
    }

    fn fail(&mut self, status: StatusCode, code: &'static str, msg: &str) {
        self.metrics.rejected(code);
        let id = crate::util::request_id();
        if let Some(hook) = &self.on_reject {
            hook(status, code, &id);
        }
        self.reply = Some((raw_error(status, code, msg, Some(&id)), 0));
    }

    /// When hyper starts writing its own bare answer to a head it could not parse, queues the
    /// JSON error instead; returns whether it did.
    fn replace_bare_error(&mut self, first: &[u8]) -> bool {
        if self.reply.is_some() {
            return false;
        }
        let Some(status) = bare_error_status(first) else {
            return false;
        };
        let (code, msg) = match status {
            StatusCode::URI_TOO_LONG => ("uri_too_long", "request URI too long"),
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => {
                ("headers_too_large", "request headers too large")
            }
            StatusCode::HTTP_VERSION_NOT_SUPPORTED => {
                ("version_not_supported", "HTTP version not supported")
            }
            _ => ("malformed_request", "malformed request"),
        };
        self.fail(status, code, msg);
        true
    }

    /// Feeds newly read bytes through the inspector and keeps the header timer in step.
    fn inspect(&mut self, data: &[u8]) -> Result<(), HeadError> {
        let completed = self.inspector.feed(data)?;
        if self.inspector.in_head() {
            if completed > 0 || self.timer != Timer::Header {
                self.arm(Timer::Header);
            }
        } else if self.timer == Timer::Header {
            self.timer = Timer::Off;
        }
        Ok(())
    }

    fn poll_reply(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>>
    where
        T: AsyncWrite + Unpin,
    {
        if let Some((bytes, sent)) = &mut self.reply {
            while *sent < bytes.len() {
                match Pin::new(&mut self.inner).poll_write(cx, &bytes[*sent..]) {
                    Poll::Ready(Ok(0) | Err(_)) => break,
                    Poll::Ready(Ok(n)) => *sent += n,
                    Poll::Pending => return Poll::Pending,
                }
            }
            if Pin::new(&mut self.inner).poll_flush(cx).is_pending() {
                return Poll::Pending;
            }
            self.reply = None;
            self.closed = true;
        }
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin> AsyncRead for GuardedIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.passing_through() {
            return Pin::new(&mut this.inner).poll_read(cx, buf);
        }
        loop {
            if this.reply.is_some() {
                return match this.poll_reply(cx) {
                    Poll::Pending => Poll::Pending,
                    Poll::Ready(_) => Poll::Ready(Ok(())),
                };
            }
            if this.closed {
                return Poll::Ready(Ok(()));
            }
            let before = buf.filled().len();
            match Pin::new(&mut this.inner).poll_read(cx, buf) {
                Poll::Ready(Ok(())) => {
                    let n = buf.filled().len() - before;
                    if n == 0 {
                        return Poll::Ready(Ok(()));
                    }
                    if matches!(this.timer, Timer::Idle | Timer::Park) {
                        this.timer = Timer::Off;
                    }
                    if let Err(e) = this.inspect(&buf.filled()[before..]) {
                        buf.set_filled(before);
                        if e == HeadError::TooLarge {
                            this.fail(
                                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                                "headers_too_large",
                                "request headers too large",
                            );
                            continue;
                        }
                        let msg = match e {
                            HeadError::ClAndTe => "Content-Length with Transfer-Encoding",
                            HeadError::BadContentLength => "invalid Content-Length",
                            HeadError::ObsFold => "obsolete line folding",
                            HeadError::BareLineEnd => "bare CR or LF",
                            HeadError::BadHeaderLine | HeadError::TooLarge => {
                                "malformed header line"
                            }
                        };
                        this.fail(StatusCode::BAD_REQUEST, "smuggling", msg);
                        continue;
                    }
                    return Poll::Ready(Ok(()));
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => {
                    let busy = this.active.load(Ordering::Acquire) > 0;
                    if busy {
                        if matches!(this.timer, Timer::Idle | Timer::Park) {
                            this.timer = Timer::Off;
                        }
                        return Poll::Pending;
                    }
                    this.inspector.request_done();
                    if this.timer == Timer::Off {
                        if this.inspector.in_head() {
                            this.arm(Timer::Header);
                        } else if this.inspector.between_requests()
                            && this.park_after.is_some_and(|p| p < this.idle_timeout)
                        {
                            this.arm(Timer::Park);
                        } else {
                            this.arm(Timer::Idle);
                        }
                    }
                    if this.sleep.as_mut().poll(cx).is_ready() {
                        if this.timer == Timer::Park {
                            // idle long enough: end hyper's connection (it sees the peer
                            // close) and keep the socket, timed to the idle deadline
                            let deadline = this.idle_deadline;
                            this.sleep.as_mut().reset(deadline);
                            this.timer = Timer::Idle;
                            this.parked = true;
                            return Poll::Ready(Ok(()));
                        }
                        if this.timer == Timer::Header {
                            this.timer = Timer::Off;
                            this.fail(
                                StatusCode::REQUEST_TIMEOUT,
                                "header_timeout",
                                "request headers not received in time",
                            );
                            continue;
                        }
                        this.closed = true;
                        return Poll::Ready(Ok(()));
                    }
                    return Poll::Pending;
                }
            }
        }
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin> AsyncWrite for GuardedIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.passing_through() {
            return Pin::new(&mut self.inner).poll_write(cx, buf);
        }
        if self.closed {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        if self.replace_bare_error(buf) {
            return Poll::Ready(Ok(buf.len()));
        }
        if self.reply.is_some() {
            // the connection is ending with the guard's answer: hyper's bytes go nowhere
            return self.poll_reply(cx).map_ok(|()| buf.len());
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.reply.is_some() {
            return self.poll_reply(cx);
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.reply.is_some() && self.poll_reply(cx).is_pending() {
            return Poll::Pending;
        }
        if self.parked {
            // parking, not closing: only what is written goes out
            return Pin::new(&mut self.inner).poll_flush(cx);
        }
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if self.passing_through() {
            return Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        }
        if self.closed {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        let total = bufs.iter().map(|b| b.len()).sum();
        let first = bufs
            .iter()
            .find(|b| !b.is_empty())
            .map_or(&[][..], |b| &b[..]);
        if self.replace_bare_error(first) {
            return Poll::Ready(Ok(total));
        }
        if self.reply.is_some() {
            return self.poll_reply(cx).map_ok(|()| total);
        }
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// Where [`ParkedIo`] leaves the guard when it parks.
pub type ParkSlot<T> = Arc<std::sync::Mutex<Option<Box<GuardedIo<T>>>>>;

/// The guard as hyper's connection holds it: when the guard parks, the shutdown hyper then
/// asks for puts the guard into `slot` for the connection's task to take back.
pub struct ParkedIo<T> {
    io: Option<Box<GuardedIo<T>>>,
    slot: ParkSlot<T>,
}

impl<T> std::fmt::Debug for ParkedIo<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParkedIo")
            .field("io", &self.io)
            .finish_non_exhaustive()
    }
}

impl<T> ParkedIo<T> {
    /// Hands `io` to hyper; `slot` receives it back if it parks.
    pub fn new(io: Box<GuardedIo<T>>, slot: ParkSlot<T>) -> Self {
        Self { io: Some(io), slot }
    }

    fn get(&mut self) -> io::Result<&mut GuardedIo<T>> {
        self.io
            .as_deref_mut()
            .ok_or_else(|| io::ErrorKind::NotConnected.into())
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin> AsyncRead for ParkedIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get() {
            Ok(io) => Pin::new(io).poll_read(cx, buf),
            Err(e) => Poll::Ready(Err(e)),
        }
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin> AsyncWrite for ParkedIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get() {
            Ok(io) => Pin::new(io).poll_write(cx, buf),
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get() {
            Ok(io) => Pin::new(io).poll_write_vectored(cx, bufs),
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.io
            .as_deref()
            .is_some_and(AsyncWrite::is_write_vectored)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get() {
            Ok(io) => Pin::new(io).poll_flush(cx),
            Err(_) => Poll::Ready(Ok(())),
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let Ok(io) = self.get() else {
            return Poll::Ready(Ok(()));
        };
        let parked = io.is_parked();
        let r = std::task::ready!(Pin::new(io).poll_shutdown(cx));
        if parked && r.is_ok() {
            let io = self.io.take();
            *self
                .slot
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = io;
        }
        Poll::Ready(r)
    }
}

/// The status of a bare error response hyper wrote by itself, if `first` (the start of a
/// write) is one. Every response the gateway produces carries `x-request-id`; hyper's own
/// answers to unparsable heads (400, 414, 431, 505) carry none and fit in one write.
fn bare_error_status(first: &[u8]) -> Option<StatusCode> {
    // the cheap test first: almost every write is a 2xx/3xx head or body bytes
    if first.len() < 16 || !first.starts_with(b"HTTP/1.") || !matches!(first[9], b'4' | b'5') {
        return None;
    }
    let end = first.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = &first[..end + 2];
    let has_id = head
        .windows(15)
        .any(|w| w.eq_ignore_ascii_case(b"\r\nx-request-id:"));
    if has_id {
        return None;
    }
    StatusCode::from_bytes(&first[9..12]).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_are_classified() {
        let ok = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";
        assert_eq!(check_head(ok), Ok(Framing::None));
        let cl = b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\n";
        assert_eq!(check_head(cl), Ok(Framing::Length(5)));
        let both = b"POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert_eq!(check_head(both), Err(HeadError::ClAndTe));
        let dup = b"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n";
        assert_eq!(check_head(dup), Err(HeadError::BadContentLength));
        let same = b"POST / HTTP/1.1\r\nContent-Length: 5\r\ncontent-length: 5\r\n\r\n";
        assert_eq!(check_head(same), Ok(Framing::Length(5)));
        let fold = b"GET / HTTP/1.1\r\nX-A: a\r\n b\r\n\r\n";
        assert_eq!(check_head(fold), Err(HeadError::ObsFold));
        let lf = b"GET / HTTP/1.1\nHost: a\n\n";
        assert_eq!(check_head(lf), Err(HeadError::BareLineEnd));
        let cr = b"GET / HTTP/1.1\r\nX: a\rb\r\n\r\n";
        assert_eq!(check_head(cr), Err(HeadError::BareLineEnd));
        let sp = b"GET / HTTP/1.1\r\nContent-Length : 5\r\n\r\n";
        assert_eq!(check_head(sp), Err(HeadError::BadHeaderLine));
        let plus = b"POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\n";
        assert_eq!(check_head(plus), Err(HeadError::BadContentLength));
    }

    #[test]
    fn inspector_follows_pipelined_heads_in_any_chunking() {
        let stream: &[u8] = b"POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\nHost: a\r\n\r\nGET /x HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n";
        for split in 1..stream.len() {
            let mut insp = HeadInspector::new(1 << 14);
            let first = insp.feed(&stream[..split]);
            let second = first.and_then(|_| insp.feed(&stream[split..]));
            assert_eq!(second, Err(HeadError::ClAndTe), "split at {split}");
        }
        let mut insp = HeadInspector::new(1 << 14);
        assert_eq!(insp.feed(b"GET / HTTP/1.1\r\nHo"), Ok(0));
        assert!(insp.in_head());
        assert_eq!(insp.feed(b"st: a\r\n\r\n"), Ok(1));
        assert!(!insp.in_head());
    }

    #[test]
    fn only_hyper_s_bare_errors_are_replaced() {
        let bare = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\ndate: x\r\n\r\n";
        assert_eq!(bare_error_status(bare), Some(StatusCode::BAD_REQUEST));
        let long = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\n\r\n";
        assert_eq!(
            bare_error_status(long),
            Some(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
        );
        let ours = b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\nX-Request-Id: 1\r\n\r\n{}";
        assert_eq!(bare_error_status(ours), None);
        let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
        assert_eq!(bare_error_status(ok), None);
        // body bytes that merely look like a head, with no end of head in the write
        assert_eq!(bare_error_status(b"HTTP/1.1 500 in a body, no end"), None);
    }

    #[tokio::test]
    async fn a_tunnel_s_bytes_pass_uninspected_and_untimed() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (mut client, server) = tokio::io::duplex(1 << 16);
        let flag = Arc::new(AtomicBool::new(false));
        let mut io = GuardedIo::new(
            server,
            1024,
            Duration::from_millis(100),
            Duration::from_millis(200),
            Arc::new(AtomicUsize::new(0)),
            Arc::new(Metrics::default()),
        )
        .passthrough_when(flag.clone());
        client
            .write_all(b"GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n")
            .await
            .unwrap();
        let mut buf = vec![0u8; 4096];
        let n = io.read(&mut buf).await.unwrap();
        assert!(n > 0);
        flag.store(true, Ordering::Release);
        // a frame with bare line ends, longer than any head, then a bare-error look-alike
        let mut frame = vec![0x82, 0x7e, 0x08, 0x00];
        frame.extend(std::iter::repeat_n(b'\n', 2048));
        client.write_all(&frame).await.unwrap();
        let mut got = Vec::new();
        while got.len() < frame.len() {
            let n = io.read(&mut buf).await.unwrap();
            assert!(n > 0, "closed by the guard");
            got.extend_from_slice(&buf[..n]);
        }
        assert_eq!(got, frame);
        let look_alike = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n";
        io.write_all(look_alike).await.unwrap();
        let mut echoed = vec![0u8; look_alike.len()];
        client.read_exact(&mut echoed).await.unwrap();
        assert_eq!(echoed, look_alike, "written as it is");
        // a read waits past the keep-alive idle and header timeouts: the guard closes nothing
        let waited = tokio::time::timeout(Duration::from_millis(600), io.read(&mut buf)).await;
        assert!(waited.is_err(), "the read ended: {waited:?}");
        client.write_all(b"late").await.unwrap();
        let n = io.read(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"late");
    }

    #[tokio::test]
    async fn an_idle_connection_parks_wakes_on_bytes_and_times_out_parked() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut client = tokio::net::TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let guard = GuardedIo::new(
            server,
            1024,
            Duration::from_millis(500),
            Duration::from_millis(400),
            Arc::new(AtomicUsize::new(0)),
            Arc::new(Metrics::default()),
        )
        .park_after(Duration::from_millis(50));
        let slot: ParkSlot<tokio::net::TcpStream> = Arc::default();
        let mut io = ParkedIo::new(Box::new(guard), slot.clone());
        client
            .write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            .await
            .unwrap();
        let mut buf = vec![0u8; 4096];
        assert!(io.read(&mut buf).await.unwrap() > 0);
        // idle past `park_after`: the read ends as if the peer had closed, and the shutdown
        // that follows hands the guard back instead of closing the socket
        let started = Instant::now();
        assert_eq!(io.read(&mut buf).await.unwrap(), 0);
        assert!(started.elapsed() >= Duration::from_millis(50));
        io.shutdown().await.unwrap();
        let mut guard = slot.lock().unwrap().take().expect("parked");
        assert!(guard.is_parked());
        // bytes wake it; the guard serves them
        client
            .write_all(b"GET /2 HTTP/1.1\r\nHost: a\r\n\r\n")
            .await
            .unwrap();
        let woke = std::future::poll_fn(|cx| guard.poll_unpark(cx))
            .await
            .unwrap();
        assert_eq!(woke, Unparked::Readable);
        let n = guard.read(&mut buf).await.unwrap();
        assert!(buf[..n].starts_with(b"GET /2 "));
        // parked again, then the idle timeout (counted from the end of the request) ends it
        let idle_from = Instant::now();
        assert_eq!(guard.read(&mut buf).await.unwrap(), 0);
        assert!(guard.is_parked());
        let woke = std::future::poll_fn(|cx| guard.poll_unpark(cx))
            .await
            .unwrap();
        assert_eq!(woke, Unparked::IdleTimeout);
        let waited = idle_from.elapsed();
        assert!(
            waited >= Duration::from_millis(400) && waited < Duration::from_millis(1500),
            "{waited:?}"
        );
        guard.close_parked().await.unwrap();
        assert_eq!(client.read(&mut buf).await.unwrap(), 0, "closed");
    }

    #[test]
    fn head_end_finds_crlf_and_lf_terminators() {
        assert_eq!(head_end(b"GET / HTTP/1.1\r\n\r\nrest", 0), Some(18));
        assert_eq!(head_end(b"GET /\n\nrest", 0), Some(7));
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nHost: a\r\n", 0), None);
    }
}

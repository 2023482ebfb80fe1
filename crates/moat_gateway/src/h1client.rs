//! The HTTP/1.1 client side of the proxy: one request at a time on a pooled keep-alive
//! connection to an upstream, run inside the task of the request it serves.
//!
//! Written here rather than taken from `hyper::client::conn`: hyper drives every client
//! connection from a task of its own and passes requests, responses and body chunks to it
//! through channels, which costs two extra task wake-ups, a channel round trip and several
//! allocations per proxied request. Here the request's own task writes the head, parses the
//! response head with `httparse` (the parser hyper uses) and reads the body straight from the
//! socket; a response whose body already arrived with its head gives its connection back to
//! the pool before the body is even sent on.
//!
//! Framing follows RFC 9112: requests get `Content-Length` when the body size is known and
//! `chunked` otherwise (the client's own framing headers are never forwarded); responses are
//! read by `Transfer-Encoding: chunked`, `Content-Length` (several values must agree) or until
//! the connection closes. HEAD responses and 1xx/204/304 have no body; interim 1xx responses are
//! skipped. `101 Switching Protocols` is accepted only in answer to a request that asked for a
//! WebSocket upgrade (it carries `Upgrade`, which the proxy sets on WebSocket handshakes only),
//! and only with `Upgrade: websocket` and `Connection: upgrade`; its connection is then handed
//! over whole ([`ResponseBody::into_upgraded`], with any bytes that came after the head) and
//! never pooled. Any other 101 is an invalid response.
//! A connection is reused only when both sides allow keep-alive and the body was read to its end.
//! Hop-by-hop response fields (`Connection` and the fields it names, and the rest of
//! [`crate::headers::HOP_BY_HOP`]) are consumed here and never reach the response handed on.

use crate::headers::is_hop_by_hop;
use crate::util::{Body, BoxError};
use bytes::{Buf, Bytes, BytesMut};
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, StatusCode, Version};
use http_body::{Body as HttpBody, Frame, SizeHint};
use http_body_util::BodyExt;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use tokio::io::{AsyncRead, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;

/// Longest response head accepted.
const MAX_HEAD: usize = 64 * 1024;
/// Most response header fields accepted.
const MAX_HEADERS: usize = 128;
/// Longest chunk-size or trailer line accepted.
const MAX_LINE: usize = 4096;

/// Why an exchange failed.
#[derive(Debug)]
pub enum Error {
    /// Reading or writing the socket failed, or the peer closed it.
    Io(io::Error),
    /// The upstream closed the connection before sending any byte of a response.
    ClosedEarly,
    /// The response head or body framing is invalid.
    Parse(&'static str),
    /// The request body failed (too large, stalled, client gone).
    RequestBody(BoxError),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Io(e) => write!(f, "upstream i/o: {e}"),
            Self::ClosedEarly => f.write_str("upstream closed the connection without a response"),
            Self::Parse(m) => write!(f, "invalid upstream response: {m}"),
            Self::RequestBody(e) => write!(f, "request body: {e}"),
        }
    }
}

impl std::error::Error for Error {}

impl Error {
    /// Whether the upstream had started answering (its response was invalid or cut off): such
    /// a request is never sent again, to this upstream or another.
    pub fn upstream_answered(&self) -> bool {
        matches!(self, Self::Parse(_))
    }
}

/// One connection to an upstream, with the bytes read but not yet used.
#[derive(Debug)]
pub struct Conn {
    io: TcpStream,
    buf: BytesMut,
    /// Where reads land before they are appended to `buf` (initialised once; the crate has no
    /// `unsafe` to read into uninitialised capacity, and zeroing per read costs more than the
    /// copy of what arrived).
    scratch: Box<[u8]>,
}

impl Conn {
    /// Wraps a connected stream.
    pub fn new(io: TcpStream) -> Self {
        Self {
            io,
            buf: BytesMut::new(),
            scratch: vec![0; 8 * 1024].into_boxed_slice(),
        }
    }

    /// Whether an idle connection can carry another request: nothing unread, and the peer has
    /// not closed it. Costs no system call unless the reactor saw the socket become readable.
    pub fn is_reusable(&self) -> bool {
        if !self.buf.is_empty() {
            return false;
        }
        let mut probe = [0u8; 1];
        matches!(self.io.try_read(&mut probe), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
    }

    /// Reads more bytes into the buffer; `Ok(0)` at end of stream. Goes through tokio's
    /// `poll_read`, which forgets the socket's readiness after a short read, so that checking an
    /// idle connection later costs no system call.
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let mut rb = ReadBuf::new(&mut self.scratch);
        ready!(Pin::new(&mut self.io).poll_read(cx, &mut rb))?;
        let n = rb.filled().len();
        self.buf.extend_from_slice(rb.filled());
        Poll::Ready(Ok(n))
    }

    async fn fill(&mut self) -> io::Result<usize> {
        std::future::poll_fn(|cx| self.poll_fill(cx)).await
    }

    /// The socket and the bytes read from it but not yet used (after a `101`: what the
    /// upstream sent on the new protocol in the same read as the head).
    pub fn into_parts(self) -> (TcpStream, Bytes) {
        (self.io, self.buf.freeze())
    }
}

/// How a request body is framed on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReqFraming {
    None,
    Length(u64),
    Chunked,
}

/// A request head rendered once, so a request without a body can be sent again on another
/// connection.
#[derive(Debug)]
pub struct RequestHead {
    bytes: Vec<u8>,
    framing: ReqFraming,
    head_only: bool,
    /// The request asks for a protocol upgrade: a `101` answer is accepted.
    upgrade: bool,
}

impl RequestHead {
    /// Renders `parts` (origin-form URI, hop-by-hop headers already removed) for a body of
    /// `body`'s size. `Content-Length` and `Transfer-Encoding` from the client are replaced.
    /// A request carrying `Upgrade` (set by the proxy on WebSocket handshakes only) accepts a
    /// `101` answer.
    pub fn new(parts: &http::request::Parts, body: &Body) -> Self {
        let framing = if body.is_end_stream() {
            ReqFraming::None
        } else if let Some(n) = body.size_hint().exact() {
            ReqFraming::Length(n)
        } else {
            ReqFraming::Chunked
        };
        let mut b = Vec::with_capacity(256 + parts.headers.len() * 32);
        b.extend_from_slice(parts.method.as_str().as_bytes());
        b.push(b' ');
        let target = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
        b.extend_from_slice(if target.is_empty() {
            b"/"
        } else {
            target.as_bytes()
        });
        b.extend_from_slice(b" HTTP/1.1\r\n");
        for (name, value) in &parts.headers {
            if name == header::CONTENT_LENGTH || name == header::TRANSFER_ENCODING {
                continue;
            }
            b.extend_from_slice(name.as_str().as_bytes());
            b.extend_from_slice(b": ");
            b.extend_from_slice(value.as_bytes());
            b.extend_from_slice(b"\r\n");
        }
        match framing {
            ReqFraming::None => {
                if matches!(parts.method, Method::POST | Method::PUT | Method::PATCH) {
                    b.extend_from_slice(b"content-length: 0\r\n");
                }
            }
            ReqFraming::Length(n) => {
                b.extend_from_slice(b"content-length: ");
                b.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
                b.extend_from_slice(b"\r\n");
            }
            ReqFraming::Chunked => b.extend_from_slice(b"transfer-encoding: chunked\r\n"),
        }
        b.extend_from_slice(b"\r\n");
        Self {
            bytes: b,
            framing,
            head_only: parts.method == Method::HEAD,
            upgrade: parts.headers.contains_key(header::UPGRADE),
        }
    }

    /// Whether the request has no body (it can be sent again as it is).
    pub fn replayable(&self) -> bool {
        self.framing == ReqFraming::None
    }
}

/// A parsed response head and how its body is framed.
#[derive(Debug)]
pub struct ResponseHead {
    /// Status, version and headers.
    pub parts: http::response::Parts,
    framing: RespFraming,
    keep_alive: bool,
    /// A valid `101` to a WebSocket upgrade: the connection now carries the new protocol.
    upgraded: bool,
}

impl ResponseHead {
    /// Whether the upstream switched to the WebSocket protocol (`101`).
    pub fn is_upgrade(&self) -> bool {
        self.upgraded
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RespFraming {
    Length(u64),
    Chunked,
    Close,
}

/// Writes the request and reads the response head. On success the connection is positioned
/// at the start of the response body.
pub async fn exchange(
    conn: &mut Conn,
    head: &RequestHead,
    body: Option<Body>,
) -> Result<ResponseHead, Error> {
    conn.io.write_all(&head.bytes).await.map_err(Error::Io)?;
    if let Some(body) = body
        && head.framing != ReqFraming::None
    {
        write_body(conn, body, head.framing).await?;
    }
    let mut received = false;
    loop {
        if !conn.buf.is_empty() {
            received = true;
            if let Some(resp) = parse_head(&mut conn.buf, head.head_only, head.upgrade)? {
                return Ok(resp);
            }
            if conn.buf.len() > MAX_HEAD {
                return Err(Error::Parse("response head too large"));
            }
        }
        match conn.fill().await {
            Ok(0) if received => return Err(Error::Parse("connection closed inside the head")),
            Ok(0) => return Err(Error::ClosedEarly),
            Ok(_) => {}
            Err(e) if !received && is_reset(&e) => return Err(Error::ClosedEarly),
            // the upstream had started answering: the request is never sent again
            Err(_) if received => return Err(Error::Parse("connection failed inside the head")),
            Err(e) => return Err(Error::Io(e)),
        }
    }
}

fn is_reset(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionAborted
    )
}

async fn write_body(conn: &mut Conn, mut body: Body, framing: ReqFraming) -> Result<(), Error> {
    let mut sent: u64 = 0;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(Error::RequestBody)?;
        let Ok(mut data) = frame.into_data() else {
            continue; // trailers are not forwarded
        };
        if data.is_empty() {
            continue;
        }
        sent += data.len() as u64;
        match framing {
            ReqFraming::Length(n) if sent > n => {
                return Err(Error::RequestBody(
                    "request body longer than its length".into(),
                ));
            }
            ReqFraming::Chunked => {
                let mut size = [0u8; 18];
                let line = chunk_size_line(data.len(), &mut size);
                conn.io.write_all(line).await.map_err(Error::Io)?;
                conn.io.write_all_buf(&mut data).await.map_err(Error::Io)?;
                conn.io.write_all(b"\r\n").await.map_err(Error::Io)?;
                continue;
            }
            _ => {}
        }
        conn.io.write_all_buf(&mut data).await.map_err(Error::Io)?;
    }
    match framing {
        ReqFraming::Length(n) if sent != n => Err(Error::RequestBody(
            "request body shorter than its length".into(),
        )),
        ReqFraming::Chunked => conn.io.write_all(b"0\r\n\r\n").await.map_err(Error::Io),
        _ => Ok(()),
    }
}

fn chunk_size_line(n: usize, out: &mut [u8; 18]) -> &[u8] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digits = ((usize::BITS - n.leading_zeros()).max(1)).div_ceil(4) as usize;
    for i in 0..digits {
        out[digits - 1 - i] = HEX[(n >> (4 * i)) & 0xf];
    }
    out[digits] = b'\r';
    out[digits + 1] = b'\n';
    &out[..digits + 2]
}

/// Parses one response head from the front of `buf`, skipping interim 1xx responses other than
/// `101`; `None` when more bytes are needed. `upgrade`: the request asked for a WebSocket
/// upgrade, so a `101` with `Upgrade: websocket` and `Connection: upgrade` is a valid answer.
fn parse_head(
    buf: &mut BytesMut,
    head_only: bool,
    upgrade: bool,
) -> Result<Option<ResponseHead>, Error> {
    loop {
        // parsed in place, then the header positions are used to slice the frozen head
        let mut spans: Vec<(u32, u32, u32, u32)>;
        let (len, code, minor) = {
            // uninitialised slots: initialising 128 of them costs more than parsing a head
            let mut slots =
                [const { std::mem::MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
            let mut resp = httparse::Response::new(&mut []);
            let config = httparse::ParserConfig::default();
            let len = match config.parse_response_with_uninit_headers(&mut resp, buf, &mut slots) {
                Ok(httparse::Status::Complete(n)) => n,
                Ok(httparse::Status::Partial) => return Ok(None),
                Err(httparse::Error::TooManyHeaders) => {
                    return Err(Error::Parse("too many headers"));
                }
                Err(_) => return Err(Error::Parse("malformed head")),
            };
            let base = buf.as_ptr() as usize;
            #[allow(clippy::cast_possible_truncation)] // within a head of at most MAX_HEAD bytes
            let at = |p: *const u8| (p as usize - base) as u32;
            spans = Vec::with_capacity(resp.headers.len());
            for h in resp.headers.iter() {
                let n0 = at(h.name.as_ptr());
                let v0 = at(h.value.as_ptr());
                #[allow(clippy::cast_possible_truncation)]
                spans.push((n0, n0 + h.name.len() as u32, v0, v0 + h.value.len() as u32));
            }
            (len, resp.code.unwrap_or(0), resp.version)
        };
        if len > MAX_HEAD {
            return Err(Error::Parse("response head too large"));
        }
        let status = StatusCode::from_u16(code).map_err(|_| Error::Parse("invalid status"))?;
        let switching = status == StatusCode::SWITCHING_PROTOCOLS;
        if switching && !upgrade {
            return Err(Error::Parse("protocol switch that was not asked for"));
        }
        if status.is_informational() && !switching {
            buf.advance(len);
            continue;
        }
        let version = if minor == Some(0) {
            Version::HTTP_10
        } else {
            Version::HTTP_11
        };
        // header values are sliced out of the head bytes instead of copied
        let raw = buf.split_to(len).freeze();
        // room for what the gateway adds (security, request id, rate-limit headers)
        let mut headers = HeaderMap::with_capacity(spans.len() + 12);
        let mut close = false;
        let mut keep_alive_token = false;
        let mut chunked = false;
        let mut te = false;
        let mut length: Option<u64> = None;
        // `Connection: upgrade` and `Upgrade: websocket`, which a `101` must carry
        let mut connection_upgrade = false;
        let mut upgrade_websocket = false;
        // headers named in `Connection` (other than close/keep-alive): rare, removed at the end
        let mut named: Vec<&[u8]> = Vec::new();
        for &(n0, n1, v0, v1) in &spans {
            let name_bytes = &raw[n0 as usize..n1 as usize];
            let value_bytes = &raw[v0 as usize..v1 as usize];
            if name_bytes.eq_ignore_ascii_case(b"connection") {
                for token in value_bytes.split(|&c| c == b',') {
                    let token = token.trim_ascii();
                    if token.eq_ignore_ascii_case(b"close") {
                        close = true;
                    } else if token.eq_ignore_ascii_case(b"keep-alive") {
                        keep_alive_token = true;
                    } else if !token.is_empty() {
                        connection_upgrade |= token.eq_ignore_ascii_case(b"upgrade");
                        named.push(token);
                    }
                }
                continue;
            }
            if name_bytes.eq_ignore_ascii_case(b"transfer-encoding") {
                te = true;
                // only a final `chunked` frames the body; anything else reads until close
                chunked = value_bytes
                    .rsplit(|&c| c == b',')
                    .next()
                    .is_some_and(|last| last.trim_ascii().eq_ignore_ascii_case(b"chunked"));
                continue;
            }
            if name_bytes.eq_ignore_ascii_case(b"upgrade") {
                // a protocol name, with an optional `/version`
                upgrade_websocket |= value_bytes.split(|&c| c == b',').any(|p| {
                    let name = p.split(|&c| c == b'/').next().unwrap_or_default();
                    name.trim_ascii().eq_ignore_ascii_case(b"websocket")
                });
                continue;
            }
            if is_hop_by_hop(name_bytes) {
                // never passed on: not worth a map entry
                continue;
            }
            let name = HeaderName::from_bytes(name_bytes)
                .map_err(|_| Error::Parse("invalid header name"))?;
            let value = HeaderValue::from_maybe_shared(raw.slice(v0 as usize..v1 as usize))
                .map_err(|_| Error::Parse("invalid header value"))?;
            if name == header::CONTENT_LENGTH {
                for part in value_bytes.split(|&c| c == b',') {
                    let n = std::str::from_utf8(part.trim_ascii())
                        .ok()
                        .filter(|s| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()))
                        .and_then(|s| s.parse::<u64>().ok())
                        .ok_or(Error::Parse("invalid Content-Length"))?;
                    if length.is_some_and(|l| l != n) {
                        return Err(Error::Parse("conflicting Content-Length values"));
                    }
                    length = Some(n);
                }
            }
            headers.append(name, value);
        }
        for n in named {
            if let Ok(n) = HeaderName::from_bytes(n) {
                headers.remove(n);
            }
        }
        let mut keep_alive = match version {
            Version::HTTP_10 => keep_alive_token && !close,
            _ => !close,
        };
        if te && length.is_some() {
            // RFC 9112 §6.3: "ought to be handled as an error" (a response-splitting attempt or
            // a broken upstream); answering from either length would pass on one reading of it
            return Err(Error::Parse("both Content-Length and Transfer-Encoding"));
        }
        if switching {
            if !(connection_upgrade && upgrade_websocket) {
                return Err(Error::Parse(
                    "101 without `Upgrade: websocket` and `Connection: upgrade`",
                ));
            }
            // the connection now belongs to the new protocol: no body, never pooled
            keep_alive = false;
        }
        let no_body = switching
            || head_only
            || status == StatusCode::NO_CONTENT
            || status == StatusCode::NOT_MODIFIED;
        let framing = if no_body {
            RespFraming::Length(0)
        } else if te {
            if chunked {
                RespFraming::Chunked
            } else {
                keep_alive = false;
                RespFraming::Close
            }
        } else if let Some(n) = length {
            RespFraming::Length(n)
        } else {
            keep_alive = false;
            RespFraming::Close
        };
        let mut parts = http::Response::new(()).into_parts().0;
        parts.status = status;
        parts.version = version;
        parts.headers = headers;
        return Ok(Some(ResponseHead {
            parts,
            framing,
            keep_alive,
            upgraded: switching,
        }));
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    /// Expecting a chunk-size line.
    Size,
    /// Inside chunk data, this many bytes left.
    Data(u64),
    /// Expecting the CRLF after chunk data.
    DataEnd,
    /// Reading trailer lines until the empty one.
    Trailers,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Length(u64),
    Chunked(Chunk),
    Close,
    Done,
}

/// What the body decoder made of the bytes it has.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// Body bytes, taken from the front of the buffer.
    Data(Bytes),
    /// More bytes are needed.
    NeedMore,
    /// The body is complete (the buffer holds whatever follows it).
    End,
}

/// The response-body framing state machine, without I/O: it takes body bytes from the front of
/// a buffer, removing framing (chunk sizes, extensions, trailers) as it goes.
#[derive(Debug, Clone, Copy)]
pub struct Decoder {
    state: State,
}

impl Decoder {
    fn new(framing: RespFraming) -> Self {
        let state = match framing {
            RespFraming::Length(n) => State::Length(n),
            RespFraming::Chunked => State::Chunked(Chunk::Size),
            RespFraming::Close => State::Close,
        };
        Self { state }
    }

    /// A decoder for a chunked body (fuzzing and tests).
    pub fn chunked() -> Self {
        Self::new(RespFraming::Chunked)
    }

    /// Whether the body is complete.
    pub fn is_done(&self) -> bool {
        matches!(self.state, State::Done | State::Length(0))
    }

    /// Decodes from the front of `buf`.
    pub fn step(&mut self, buf: &mut BytesMut) -> Result<Step, &'static str> {
        loop {
            match self.state {
                State::Done | State::Length(0) => {
                    self.state = State::Done;
                    return Ok(Step::End);
                }
                State::Length(n) | State::Chunked(Chunk::Data(n)) if !buf.is_empty() => {
                    #[allow(clippy::cast_possible_truncation)] // bounded by buf.len()
                    let take = (buf.len() as u64).min(n) as usize;
                    let data = buf.split_to(take).freeze();
                    let left = n - take as u64;
                    self.state = match self.state {
                        State::Length(_) if left == 0 => State::Done,
                        State::Length(_) => State::Length(left),
                        _ if left == 0 => State::Chunked(Chunk::DataEnd),
                        _ => State::Chunked(Chunk::Data(left)),
                    };
                    return Ok(Step::Data(data));
                }
                State::Close if !buf.is_empty() => return Ok(Step::Data(buf.split().freeze())),
                State::Chunked(Chunk::Size) => {
                    let Some((l, used)) = line(buf) else {
                        return if buf.len() > MAX_LINE {
                            Err("chunk size line too long")
                        } else {
                            Ok(Step::NeedMore)
                        };
                    };
                    let size = parse_chunk_size(l).ok_or("invalid chunk size")?;
                    buf.advance(used);
                    self.state = State::Chunked(if size == 0 {
                        Chunk::Trailers
                    } else {
                        Chunk::Data(size)
                    });
                }
                State::Chunked(Chunk::DataEnd) if buf.len() >= 2 => {
                    if &buf[..2] != b"\r\n" {
                        return Err("chunk data not followed by CRLF");
                    }
                    buf.advance(2);
                    self.state = State::Chunked(Chunk::Size);
                }
                State::Chunked(Chunk::Trailers) => {
                    let Some((l, used)) = line(buf) else {
                        return if buf.len() > MAX_LINE {
                            Err("trailer line too long")
                        } else {
                            Ok(Step::NeedMore)
                        };
                    };
                    let last = l.is_empty();
                    buf.advance(used);
                    if last {
                        self.state = State::Done;
                        return Ok(Step::End);
                    }
                    // trailer fields are not forwarded
                }
                _ => return Ok(Step::NeedMore),
            }
        }
    }

    /// The end of the stream was reached: fine for a read-until-close body only.
    fn at_eof(&mut self) -> Result<(), &'static str> {
        let close = self.state == State::Close;
        self.state = State::Done;
        if close {
            Ok(())
        } else {
            Err("connection closed inside the body")
        }
    }
}

/// Gives a connection back once its response was read to the end.
pub trait Release: Send {
    /// Called at most once, with a connection ready for the next request.
    fn release(&mut self, conn: Conn);
}

/// A response body read from the upstream connection.
pub struct ResponseBody<R: Release> {
    conn: Option<Conn>,
    decoder: Decoder,
    buffered: Option<Bytes>,
    keep_alive: bool,
    release: R,
    /// The connection of a `101`, waiting for [`ResponseBody::into_upgraded`].
    upgraded: Option<Conn>,
}

impl<R: Release> std::fmt::Debug for ResponseBody<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseBody")
            .field("decoder", &self.decoder)
            .finish_non_exhaustive()
    }
}

impl<R: Release> ResponseBody<R> {
    /// The body of `head` on `conn`. A body that has fully arrived with the head is taken out
    /// at once and the connection released right away. A `101` has no body: its connection is
    /// kept for [`ResponseBody::into_upgraded`] and never released.
    pub fn new(conn: Conn, head: &ResponseHead, release: R) -> Self {
        if head.upgraded {
            return Self {
                conn: None,
                decoder: Decoder { state: State::Done },
                buffered: None,
                keep_alive: false,
                release,
                upgraded: Some(conn),
            };
        }
        let mut body = Self {
            conn: Some(conn),
            decoder: Decoder::new(head.framing),
            buffered: None,
            keep_alive: head.keep_alive,
            release,
            upgraded: None,
        };
        if let (State::Length(n), Some(c)) = (body.decoder.state, &mut body.conn)
            && (c.buf.len() as u64) >= n
        {
            #[allow(clippy::cast_possible_truncation)] // n <= buf.len()
            let data = c.buf.split_to(n as usize).freeze();
            body.buffered = (!data.is_empty()).then_some(data);
            body.finish();
        }
        body
    }

    /// The connection of a `101` answer (with the bytes that followed the head), to carry the
    /// new protocol; `None` for any other response.
    pub fn into_upgraded(mut self) -> Option<Conn> {
        self.upgraded.take()
    }

    fn finish(&mut self) {
        self.decoder.state = State::Done;
        if let Some(conn) = self.conn.take()
            && self.keep_alive
            && conn.buf.is_empty()
        {
            self.release.release(conn);
        }
    }

    fn fail(&mut self, err: Error) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        self.decoder.state = State::Done;
        self.conn = None;
        Poll::Ready(Some(Err(err.into())))
    }
}

/// Finds the end of a CRLF line at the front of `buf`: the line without its CRLF, and the bytes
/// it takes up.
fn line(buf: &[u8]) -> Option<(&[u8], usize)> {
    let i = buf.windows(2).position(|w| w == b"\r\n")?;
    Some((&buf[..i], i + 2))
}

fn parse_chunk_size(line: &[u8]) -> Option<u64> {
    // chunk extensions after `;` are ignored
    let size = line.split(|&c| c == b';').next()?.trim_ascii();
    if size.is_empty() || size.len() > 15 {
        return None;
    }
    size.iter().try_fold(0u64, |acc, &c| {
        let d = (c as char).to_digit(16)?;
        Some(acc * 16 + u64::from(d))
    })
}

impl<R: Release + Unpin> HttpBody for ResponseBody<R> {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        if let Some(data) = this.buffered.take() {
            return Poll::Ready(Some(Ok(Frame::data(data))));
        }
        loop {
            let Some(conn) = this.conn.as_mut() else {
                return Poll::Ready(None);
            };
            match this.decoder.step(&mut conn.buf) {
                Ok(Step::Data(data)) => {
                    if this.decoder.is_done() {
                        this.finish();
                    }
                    return Poll::Ready(Some(Ok(Frame::data(data))));
                }
                Ok(Step::End) => {
                    this.finish();
                    return Poll::Ready(None);
                }
                Ok(Step::NeedMore) => {}
                Err(msg) => return this.fail(Error::Parse(msg)),
            }
            match ready!(conn.poll_fill(cx)) {
                Ok(0) => {
                    if let Err(msg) = this.decoder.at_eof() {
                        return this.fail(Error::Parse(msg));
                    }
                    this.conn = None;
                    return Poll::Ready(None);
                }
                Ok(_) => {}
                Err(e) => return this.fail(Error::Io(e)),
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.buffered.is_none() && self.decoder.is_done()
    }

    fn size_hint(&self) -> SizeHint {
        let buffered = self.buffered.as_ref().map_or(0, |b| b.len() as u64);
        match self.decoder.state {
            State::Length(n) => SizeHint::with_exact(n + buffered),
            State::Done => SizeHint::with_exact(buffered),
            _ => SizeHint::default(),
        }
    }
}

/// The response side on arbitrary bytes (fuzzing): the head parser, then the body decoder fed
/// in two pieces split at the first byte's value.
pub fn fuzz_response(data: &[u8]) {
    let split = data.first().map_or(0, |b| usize::from(*b)).min(data.len());
    let mut buf = BytesMut::from(&data[..split]);
    let mut rest = &data[split..];
    let head = loop {
        // odd lengths parse as answers to an upgrade request
        match parse_head(&mut buf, false, data.len() % 2 == 1) {
            Ok(Some(h)) => break h,
            Ok(None) if !rest.is_empty() => {
                buf.extend_from_slice(rest);
                rest = &[];
            }
            _ => return,
        }
    };
    let mut dec = Decoder::new(head.framing);
    let mut total = 0usize;
    loop {
        match dec.step(&mut buf) {
            Ok(Step::Data(d)) => {
                assert!(!d.is_empty(), "empty data frame");
                total += d.len();
            }
            Ok(Step::NeedMore) if !rest.is_empty() => {
                buf.extend_from_slice(rest);
                rest = &[];
            }
            Ok(Step::End) => {
                assert!(dec.is_done());
                break;
            }
            Ok(Step::NeedMore) | Err(_) => break,
        }
    }
    assert!(total <= data.len());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(text: &[u8], head_only: bool) -> Result<Option<ResponseHead>, Error> {
        let mut buf = BytesMut::from(text);
        parse_head(&mut buf, head_only, false)
    }

    #[test]
    fn response_framing_follows_rfc_9112() {
        let h = head(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc", false)
            .unwrap()
            .unwrap();
        assert_eq!((h.framing, h.keep_alive), (RespFraming::Length(3), true));
        let h = head(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
            false,
        )
        .unwrap()
        .unwrap();
        assert_eq!((h.framing, h.keep_alive), (RespFraming::Chunked, true));
        assert!(matches!(
            head(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
                false,
            ),
            Err(Error::Parse(_))
        ));
        let h = head(
            b"HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\nKeep-Alive: timeout=5\r\nX-Kept: 2\r\nContent-Length: 0\r\n\r\n",
            false,
        )
        .unwrap()
        .unwrap();
        let mut names: Vec<&str> = h.parts.headers.keys().map(HeaderName::as_str).collect();
        names.sort_unstable();
        assert_eq!(
            names,
            ["content-length", "x-kept"],
            "hop-by-hop fields consumed"
        );
        let h = head(b"HTTP/1.1 200 OK\r\n\r\n", false).unwrap().unwrap();
        assert_eq!((h.framing, h.keep_alive), (RespFraming::Close, false));
        let h = head(b"HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", false)
            .unwrap()
            .unwrap();
        assert!(!h.keep_alive, "HTTP/1.0 without keep-alive closes");
        let h = head(
            b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\n",
            false,
        )
        .unwrap()
        .unwrap();
        assert!(!h.keep_alive);
        let h = head(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", true)
            .unwrap()
            .unwrap();
        assert_eq!(h.framing, RespFraming::Length(0), "HEAD has no body");
        let h = head(
            b"HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n",
            false,
        )
        .unwrap()
        .unwrap();
        assert_eq!(h.framing, RespFraming::Length(0));
        // interim responses are skipped
        let h = head(
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n",
            false,
        )
        .unwrap()
        .unwrap();
        assert_eq!(h.parts.status, StatusCode::CREATED);
        assert!(
            head(b"HTTP/1.1 200 OK\r\nContent-Len", false)
                .unwrap()
                .is_none()
        );
        for bad in [
            &b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n"[..],
            b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\n",
            // a switch nobody asked for, even a well-formed one
            b"HTTP/1.1 101 Switching Protocols\r\n\r\n",
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
            b"HTTP/1.1 2000 OK\r\n\r\n",
            b"NOT HTTP\r\n\r\n",
        ] {
            assert!(
                head(bad, false).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn a_101_is_accepted_only_for_a_websocket_upgrade_with_its_headers() {
        let upgrade = |text: &[u8]| {
            let mut buf = BytesMut::from(text);
            parse_head(&mut buf, false, true).map(|h| (h, buf))
        };
        let ok = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: WebSocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n\x81\x02hi";
        let (h, rest) = upgrade(ok).unwrap();
        let h = h.unwrap();
        assert!(h.is_upgrade());
        assert_eq!(h.parts.status, StatusCode::SWITCHING_PROTOCOLS);
        assert_eq!((h.framing, h.keep_alive), (RespFraming::Length(0), false));
        assert_eq!(
            h.parts.headers["sec-websocket-accept"],
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
        assert!(!h.parts.headers.contains_key("upgrade"), "hop-by-hop");
        assert_eq!(&rest[..], b"\x81\x02hi", "the first frame stays unread");
        // an interim 100 first, a versioned protocol name
        let (h, _) = upgrade(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 101 Switching Protocols\r\nupgrade: websocket/13\r\nconnection: upgrade\r\n\r\n").unwrap();
        assert!(h.unwrap().is_upgrade());
        // an ordinary answer to the handshake is an ordinary response
        let (h, _) = upgrade(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n").unwrap();
        let h = h.unwrap();
        assert!(!h.is_upgrade());
        assert_eq!(
            (h.parts.status, h.keep_alive),
            (StatusCode::FORBIDDEN, true)
        );
        for bad in [
            &b"HTTP/1.1 101 Switching Protocols\r\n\r\n"[..],
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
            b"HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\n\r\n",
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: upgrade\r\n\r\n",
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocketx\r\nConnection: upgrade\r\n\r\n",
        ] {
            assert!(
                matches!(upgrade(bad), Err(Error::Parse(_))),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    struct NeverPooled;

    impl Release for NeverPooled {
        fn release(&mut self, _: Conn) {
            panic!("an upgraded connection went back to the pool");
        }
    }

    #[tokio::test]
    async fn an_upgraded_connection_is_handed_over_with_the_bytes_after_the_head() {
        use tokio::io::AsyncReadExt;
        let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = tcp.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut s, _) = tcp.accept().await.unwrap();
            let mut head = Vec::new();
            while !head.ends_with(b"\r\n\r\n") {
                let mut b = [0u8; 1];
                s.read_exact(&mut b).await.unwrap();
                head.push(b[0]);
            }
            // the head and the first frame in one write
            s.write_all(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nFIRST").await.unwrap();
            let mut echo = [0u8; 4];
            s.read_exact(&mut echo).await.unwrap();
            s.write_all(&echo).await.unwrap();
            String::from_utf8(head).unwrap()
        });
        let mut conn = Conn::new(TcpStream::connect(addr).await.unwrap());
        let mut req = http::Request::new(());
        req.headers_mut()
            .insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        req.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        let (parts, ()) = req.into_parts();
        let head = RequestHead::new(&parts, &crate::util::empty());
        let resp = exchange(&mut conn, &head, None).await.unwrap();
        assert!(resp.is_upgrade());
        let body = ResponseBody::new(conn, &resp, NeverPooled);
        assert!(body.is_end_stream());
        let (mut io, early) = body.into_upgraded().unwrap().into_parts();
        let mut early = early.to_vec();
        while early.len() < 5 {
            let mut b = [0u8; 8];
            let n = io.read(&mut b).await.unwrap();
            assert!(n > 0, "closed early");
            early.extend_from_slice(&b[..n]);
        }
        assert_eq!(early, b"FIRST");
        io.write_all(b"ping").await.unwrap();
        let mut back = [0u8; 4];
        io.read_exact(&mut back).await.unwrap();
        assert_eq!(&back, b"ping");
        let sent = server.await.unwrap();
        assert!(sent.contains("upgrade: websocket\r\n"), "{sent}");
    }

    /// Decodes `wire` fed in pieces of `piece` bytes; returns the body or the error.
    fn decode(
        mut dec: Decoder,
        wire: &[u8],
        piece: usize,
    ) -> Result<(Vec<u8>, Vec<u8>), &'static str> {
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        let mut chunks = wire.chunks(piece.max(1));
        loop {
            match dec.step(&mut buf)? {
                Step::Data(d) => out.extend_from_slice(&d),
                Step::End => {
                    let mut rest = buf.to_vec();
                    rest.extend(chunks.flatten());
                    return Ok((out, rest));
                }
                Step::NeedMore => {
                    if let Some(c) = chunks.next() {
                        buf.extend_from_slice(c);
                    } else {
                        dec.at_eof()?;
                        return Ok((out, buf.to_vec()));
                    }
                }
            }
        }
    }

    #[test]
    fn bodies_decode_the_same_in_any_chunking() {
        let wire = b"5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\nNEXT";
        for piece in 1..=wire.len() {
            let (body, rest) = decode(Decoder::chunked(), wire, piece).unwrap();
            assert_eq!(body, b"hello, world", "piece {piece}");
            assert_eq!(rest, b"NEXT", "bytes after the body stay: piece {piece}");
            let (body, rest) =
                decode(Decoder::new(RespFraming::Length(4)), b"abcdNEXT", piece).unwrap();
            assert_eq!(
                (body.as_slice(), rest.as_slice()),
                (&b"abcd"[..], &b"NEXT"[..])
            );
            let (body, _) =
                decode(Decoder::new(RespFraming::Close), b"until close", piece).unwrap();
            assert_eq!(body, b"until close");
        }
        for bad in [&b"5\r\nhelloXX0\r\n\r\n"[..], b"zz\r\n", b"5\r\nhel"] {
            assert!(
                decode(Decoder::chunked(), bad, 3).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        assert!(decode(Decoder::new(RespFraming::Length(9)), b"short", 2).is_err());
        fuzz_response(
            b"\x20HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        );
    }

    #[test]
    fn chunk_sizes_are_rendered_and_parsed() {
        let mut out = [0u8; 18];
        assert_eq!(chunk_size_line(0, &mut out), b"0\r\n");
        assert_eq!(chunk_size_line(255, &mut out), b"ff\r\n");
        assert_eq!(chunk_size_line(4096, &mut out), b"1000\r\n");
        assert_eq!(parse_chunk_size(b"1a;ext=1"), Some(26));
        assert_eq!(parse_chunk_size(b" 10 "), Some(16));
        assert_eq!(parse_chunk_size(b""), None);
        assert_eq!(parse_chunk_size(b"xyz"), None);
        assert_eq!(parse_chunk_size(b"fffffffffffffffff"), None);
    }
}

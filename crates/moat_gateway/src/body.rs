//! Body wrappers: the request body with its size and stall limits, and the response body that
//! keeps per-connection and per-target accounting alive until it is done.

use crate::upstream::InFlight;
use crate::util::BoxError;
use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::{Instant, Sleep};

/// Why a request body stopped.
pub const BODY_OK: u8 = 0;
/// The body went over the route's limit.
pub const BODY_TOO_LARGE: u8 = 1;
/// The body stalled longer than the idle timeout.
pub const BODY_STALLED: u8 = 2;

/// Error of a limited body.
#[derive(Debug)]
pub struct BodyLimitError(pub &'static str);

impl std::fmt::Display for BodyLimitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for BodyLimitError {}

/// A request body limited in size and in the time it may stall; never buffers.
pub struct LimitedBody<B> {
    inner: B,
    seen: u64,
    max: u64,
    idle: Duration,
    // created on the first wait, so bodies that arrive at once never touch the timer
    sleep: Option<Pin<Box<Sleep>>>,
    flag: Arc<AtomicU8>,
}

impl<B> std::fmt::Debug for LimitedBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LimitedBody")
            .field("seen", &self.seen)
            .field("max", &self.max)
            .finish_non_exhaustive()
    }
}

impl<B> LimitedBody<B> {
    /// Wraps `inner`; `flag` records why it failed.
    pub fn new(inner: B, max: u64, idle: Duration, flag: Arc<AtomicU8>) -> Self {
        Self {
            inner,
            seen: 0,
            max,
            idle,
            sleep: None,
            flag,
        }
    }
}

impl<B> HttpBody for LimitedBody<B>
where
    B: HttpBody<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.seen = this.seen.saturating_add(data.len() as u64);
                    if this.seen > this.max {
                        this.flag.store(BODY_TOO_LARGE, Ordering::Relaxed);
                        return Poll::Ready(Some(Err(Box::new(BodyLimitError(
                            "request body too large",
                        )))));
                    }
                }
                if let Some(s) = this.sleep.as_mut() {
                    s.as_mut().reset(Instant::now() + this.idle);
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e.into()))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => {
                let idle = this.idle;
                let sleep = this
                    .sleep
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(idle)));
                if sleep.as_mut().poll(cx).is_ready() {
                    this.flag.store(BODY_STALLED, Ordering::Relaxed);
                    return Poll::Ready(Some(Err(Box::new(BodyLimitError(
                        "request body stalled",
                    )))));
                }
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Counts a request as active on its connection until dropped.
#[derive(Debug)]
pub struct ActiveGuard(pub Arc<AtomicUsize>);

impl ActiveGuard {
    /// Marks one more active request.
    pub fn new(counter: Arc<AtomicUsize>) -> Self {
        counter.fetch_add(1, Ordering::AcqRel);
        Self(counter)
    }
}

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A response body that holds guards until it ends and enforces an overall deadline.
pub struct ResponseBody {
    inner: crate::util::Body,
    deadline: Option<Instant>,
    sleep: Option<Pin<Box<Sleep>>>,
    _active: Option<ActiveGuard>,
    _in_flight: Option<InFlight>,
}

impl std::fmt::Debug for ResponseBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseBody").finish_non_exhaustive()
    }
}

impl ResponseBody {
    /// Wraps `inner`.
    pub fn new(
        inner: crate::util::Body,
        deadline: Option<Instant>,
        active: Option<ActiveGuard>,
        in_flight: Option<InFlight>,
    ) -> Self {
        Self {
            inner,
            deadline,
            sleep: None,
            _active: active,
            _in_flight: in_flight,
        }
    }
}

impl HttpBody for ResponseBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Pending => {
                if let Some(d) = this.deadline
                    && this
                        .sleep
                        .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(d)))
                        .as_mut()
                        .poll(cx)
                        .is_ready()
                {
                    return Poll::Ready(Some(Err(Box::new(BodyLimitError(
                        "upstream total timeout",
                    )))));
                }
                Poll::Pending
            }
            other @ Poll::Ready(_) => other,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

//! WebSocket tunnels: once the upstream has answered a handshake with `101` and the gateway
//! has sent its own `101` to the client, the client's connection (handed over by hyper) and the
//! upstream's socket are joined, and bytes are copied both ways as they come, without reading
//! the frames.
//!
//! A tunnel ends when both directions have reached their end (each end's close is passed on as
//! a half-close), when either side fails, when no byte has passed either way for the route's
//! `websocket_idle_timeout`, or when the gateway shuts down (just before the shutdown grace
//! runs out, see [`crate::Gateway::shutdown`]). It holds its client connection's live count
//! (connection limits, drain) and its target's in-flight count (least-connections balancing)
//! until then; the upstream connection is never pooled.

use crate::h1client::Conn;
use crate::state::{ConnInfo, Shared};
use crate::upstream::InFlight;
use bytes::Bytes;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::watch;
use tokio::time::Instant;

/// Bytes copied per read.
const COPY_BUF: usize = 16 * 1024;

/// What a tunnel needs once the handshake is answered.
#[derive(Debug)]
pub struct Tunnel {
    /// The client's side, ready once hyper has written the `101`.
    pub client: OnUpgrade,
    /// The upstream connection that answered `101`, with any bytes read after its head.
    pub upstream: Conn,
    /// The target's in-flight count, held while the tunnel is open.
    pub in_flight: InFlight,
    /// The route's `websocket_idle_timeout`.
    pub idle: Duration,
}

/// Why a tunnel ended: the `reason` label of `moat_gateway_websocket_tunnels_closed_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// Both sides closed.
    Closed,
    /// No byte either way for the idle timeout.
    IdleTimeout,
    /// The gateway shut down.
    Shutdown,
    /// A read or write failed, or the client's connection was never handed over.
    Error,
}

impl End {
    /// The metric label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::IdleTimeout => "idle_timeout",
            Self::Shutdown => "shutdown",
            Self::Error => "error",
        }
    }
}

/// Counts the tunnel as open until dropped.
struct Open<'a>(&'a Shared);

impl Drop for Open<'_> {
    fn drop(&mut self) {
        self.0
            .metrics
            .websocket_tunnels
            .fetch_sub(1, Ordering::Relaxed);
    }
}

/// Runs `tunnel` to its end. `conn` is held so the client connection stays counted as live.
pub(crate) async fn run(tunnel: Tunnel, shared: Arc<Shared>, conn: Arc<ConnInfo>) {
    let metrics = &shared.metrics;
    metrics
        .websocket_tunnels_opened
        .fetch_add(1, Ordering::Relaxed);
    metrics.websocket_tunnels.fetch_add(1, Ordering::Relaxed);
    let open = Open(&shared);
    let mut closing = shared.tunnels_closing();
    let Tunnel {
        client,
        upstream,
        in_flight,
        idle,
    } = tunnel;
    let end = tokio::select! {
        c = client => match c {
            Ok(c) => {
                let (io, early) = upstream.into_parts();
                splice(TokioIo::new(c), io, early, idle, closing).await
            }
            Err(_) => End::Error,
        },
        () = closed(&mut closing) => End::Shutdown,
    };
    metrics.websocket_closed(end.label());
    drop(open);
    drop(in_flight);
    drop(conn);
}

async fn closed(rx: &mut watch::Receiver<bool>) {
    // a dropped sender (the gateway gone) closes too
    let _ = rx.wait_for(|v| *v).await;
}

/// The time of the last byte, as milliseconds after the tunnel started.
struct Activity {
    start: Instant,
    last_ms: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Self {
            start: Instant::now(),
            last_ms: AtomicU64::new(0),
        }
    }

    fn touch(&self) {
        let ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.fetch_max(ms, Ordering::Relaxed);
    }

    fn last(&self) -> Instant {
        self.start + Duration::from_millis(self.last_ms.load(Ordering::Relaxed))
    }

    /// Resolves once no byte has passed for `idle`.
    async fn idle_for(&self, idle: Duration) {
        loop {
            let deadline = self.last() + idle;
            if Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep_until(deadline).await;
        }
    }
}

/// Copies `r` to `w` (after `first`) until `r` ends, then shuts `w` down.
async fn pump<R, W>(r: &mut R, w: &mut W, first: Bytes, activity: &Activity) -> io::Result<()>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    if !first.is_empty() {
        w.write_all(&first).await?;
        w.flush().await?;
    }
    let mut buf = vec![0u8; COPY_BUF];
    loop {
        let n = match r.read(&mut buf).await {
            Ok(n) => n,
            // a TLS peer that closes without close_notify: its end, as for HTTP/1 bodies that
            // are not read to a length
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => 0,
            Err(e) => return Err(e),
        };
        if n == 0 {
            // the half-close passed on; the other direction goes on until its own end
            let _ = w.shutdown().await;
            return Ok(());
        }
        activity.touch();
        w.write_all(&buf[..n]).await?;
        w.flush().await?;
    }
}

/// Joins `client` and `upstream` (whose first bytes `early` were read with the `101` head)
/// until both ends close, one fails, nothing passes for `idle`, or `closing` is set.
pub(crate) async fn splice<C, U>(
    client: C,
    upstream: U,
    early: Bytes,
    idle: Duration,
    mut closing: watch::Receiver<bool>,
) -> End
where
    C: AsyncRead + AsyncWrite + Unpin,
    U: AsyncRead + AsyncWrite + Unpin,
{
    let activity = Activity::new();
    let (mut cr, mut cw) = tokio::io::split(client);
    let (mut ur, mut uw) = tokio::io::split(upstream);
    let copy = async {
        tokio::try_join!(
            pump(&mut cr, &mut uw, Bytes::new(), &activity),
            pump(&mut ur, &mut cw, early, &activity),
        )
    };
    tokio::select! {
        r = copy => if r.is_ok() { End::Closed } else { End::Error },
        () = activity.idle_for(idle) => End::IdleTimeout,
        () = closed(&mut closing) => End::Shutdown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::duplex;

    #[tokio::test]
    async fn bytes_pass_both_ways_early_bytes_first_and_half_closes_are_passed_on() {
        let (client, mut client_peer) = duplex(1 << 16);
        let (upstream, mut upstream_peer) = duplex(1 << 16);
        let (_tx, rx) = watch::channel(false);
        let task = tokio::spawn(splice(
            client,
            upstream,
            Bytes::from_static(b"early"),
            Duration::from_secs(5),
            rx,
        ));
        let mut got = [0u8; 5];
        client_peer.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"early");
        let big = vec![7u8; 200_000];
        let writer = {
            let big = big.clone();
            tokio::spawn(async move {
                client_peer.write_all(&big).await.unwrap();
                client_peer.shutdown().await.unwrap();
                client_peer
            })
        };
        let mut seen = Vec::new();
        upstream_peer.read_to_end(&mut seen).await.unwrap();
        assert_eq!(seen, big, "the client's bytes, then its close");
        let mut client_peer = writer.await.unwrap();
        upstream_peer.write_all(b"bye").await.unwrap();
        upstream_peer.shutdown().await.unwrap();
        let mut last = Vec::new();
        client_peer.read_to_end(&mut last).await.unwrap();
        assert_eq!(last, b"bye");
        assert_eq!(task.await.unwrap(), End::Closed);
    }

    #[tokio::test]
    async fn a_quiet_tunnel_closes_after_the_idle_timeout_and_traffic_keeps_it_open() {
        let (client, mut client_peer) = duplex(1024);
        let (upstream, mut upstream_peer) = duplex(1024);
        let (_tx, rx) = watch::channel(false);
        let started = Instant::now();
        let task = tokio::spawn(splice(
            client,
            upstream,
            Bytes::new(),
            Duration::from_millis(300),
            rx,
        ));
        for _ in 0..4 {
            tokio::time::sleep(Duration::from_millis(150)).await;
            client_peer.write_all(b"x").await.unwrap();
            let mut b = [0u8; 1];
            upstream_peer.read_exact(&mut b).await.unwrap();
        }
        assert_eq!(task.await.unwrap(), End::IdleTimeout);
        assert!(
            started.elapsed() >= Duration::from_millis(900),
            "traffic every 150 ms kept it open: {:?}",
            started.elapsed()
        );
        let mut rest = Vec::new();
        client_peer.read_to_end(&mut rest).await.unwrap();
        assert!(rest.is_empty(), "closed towards the client");
    }

    #[tokio::test]
    async fn closing_ends_an_active_tunnel() {
        let (client, _client_peer) = duplex(1024);
        let (upstream, _upstream_peer) = duplex(1024);
        let (tx, rx) = watch::channel(false);
        let task = tokio::spawn(splice(
            client,
            upstream,
            Bytes::new(),
            Duration::from_mins(1),
            rx,
        ));
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!task.is_finished());
        tx.send_replace(true);
        let end = tokio::time::timeout(Duration::from_secs(2), task)
            .await
            .expect("closed at once")
            .unwrap();
        assert_eq!(end, End::Shutdown);
    }
}

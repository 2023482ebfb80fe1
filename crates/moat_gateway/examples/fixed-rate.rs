//! A fixed-rate HTTPS load generator for the latency benchmark (`bench/gateway-vs-nginx.sh`):
//! open-loop, keep-alive HTTP/1.1 over TLS (`https://`) or plain TCP (`http://`), microsecond
//! timings.
//!
//!   fixed-rate --rate 2000 --conns 20 --secs 10 [--header 'k: v'] https://localhost:PORT/
//!
//! Each connection sends on a fixed schedule (rate / conns per second). When a response comes
//! back after the next request's slot, that request's latency is measured from its slot, so a
//! stall also counts against the requests queued behind it (no "coordinated omission", as in
//! wrk2); otherwise from the moment it is sent (tokio's timer wakes up to 1 ms late).
//! Certificates are not verified: this is a benchmark client for a local self-signed server.
//! Prints the achieved rate and the latency percentiles in milliseconds with three decimals.

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug)]
struct AcceptAny(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

struct Args {
    rate: f64,
    conns: usize,
    secs: f64,
    headers: Vec<(String, String)>,
    url: http::Uri,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        rate: 2000.0,
        conns: 20,
        secs: 10.0,
        headers: Vec::new(),
        url: http::Uri::from_static("https://localhost/"),
    };
    let mut it = std::env::args().skip(1);
    let mut url = None;
    while let Some(arg) = it.next() {
        let mut value = || it.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--rate" => a.rate = value()?.parse().map_err(|e| format!("--rate: {e}"))?,
            "--conns" => a.conns = value()?.parse().map_err(|e| format!("--conns: {e}"))?,
            "--secs" => a.secs = value()?.parse().map_err(|e| format!("--secs: {e}"))?,
            "--header" => {
                let h = value()?;
                let (k, v) = h.split_once(':').ok_or("--header needs `name: value`")?;
                a.headers.push((k.trim().to_string(), v.trim().to_string()));
            }
            _ => url = Some(arg.parse().map_err(|e| format!("url: {e}"))?),
        }
    }
    a.url = url.ok_or("a URL is needed")?;
    if a.rate <= 0.0 || a.conns == 0 || a.secs <= 0.0 {
        return Err("rate, conns and secs must be positive".into());
    }
    Ok(a)
}

async fn connection(
    args: Arc<Args>,
    tls: tokio_rustls::TlsConnector,
    start: Instant,
    offset: Duration,
) -> Result<(Vec<u32>, usize), String> {
    let host = args.url.host().unwrap_or("localhost").to_string();
    let default_port = if args.url.scheme_str() == Some("http") {
        80
    } else {
        443
    };
    let port = args.url.port_u16().unwrap_or(default_port);
    let tcp = tokio::net::TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|e| e.to_string())?;
    let _ = tcp.set_nodelay(true);
    let mut send = if args.url.scheme_str() == Some("http") {
        let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(conn);
        send
    } else {
        let name = ServerName::try_from(host.clone()).map_err(|e| e.to_string())?;
        let stream = tls.connect(name, tcp).await.map_err(|e| e.to_string())?;
        let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(conn);
        send
    };
    let per_conn = args.rate / args.conns as f64;
    let interval = Duration::from_secs_f64(1.0 / per_conn);
    let end = start + Duration::from_secs_f64(args.secs);
    let path = args
        .url
        .path_and_query()
        .map_or("/", http::uri::PathAndQuery::as_str)
        .to_string();
    let mut latencies = Vec::with_capacity((per_conn * args.secs) as usize + 1);
    let mut errors = 0;
    let mut next = start + offset;
    while next < end {
        // the server held us past this request's slot: count from the slot (no coordinated
        // omission); otherwise from the actual send (the timer wakes up to 1 ms late, which is
        // the client's lateness, not the server's)
        let blocked = Instant::now() > next;
        if !blocked {
            tokio::time::sleep_until(next.into()).await;
        }
        let origin = if blocked { next } else { Instant::now() };
        let mut req = http::Request::builder()
            .uri(path.as_str())
            .header(http::header::HOST, host.as_str());
        for (k, v) in &args.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let req = req.body(Empty::<Bytes>::new()).map_err(|e| e.to_string())?;
        let Ok(resp) = send.send_request(req).await else {
            errors += 1;
            break;
        };
        let ok = resp.status().is_success();
        let body = resp.into_body().collect().await;
        if ok && body.is_ok() {
            let us = origin.elapsed().as_micros();
            latencies.push(u32::try_from(us).unwrap_or(u32::MAX));
        } else {
            errors += 1;
        }
        next += interval;
    }
    Ok((latencies, errors))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    let args = match parse_args() {
        Ok(a) => Arc::new(a),
        Err(e) => {
            eprintln!("fixed-rate: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map(|b| {
            b.dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAny(provider)))
                .with_no_client_auth()
        });
    let cfg = match cfg {
        Ok(c) => c,
        Err(e) => {
            eprintln!("fixed-rate: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let tls = tokio_rustls::TlsConnector::from(Arc::new(cfg));
    // connections start spread over one interval, so sends do not line up
    let start = Instant::now() + Duration::from_millis(200);
    let step = Duration::from_secs_f64(args.conns as f64 / args.rate / args.conns as f64);
    let tasks: Vec<_> = (0..args.conns)
        .map(|i| {
            let offset = step * u32::try_from(i).unwrap_or(0);
            tokio::spawn(connection(args.clone(), tls.clone(), start, offset))
        })
        .collect();
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        match t.await {
            Ok(Ok((l, e))) => {
                all.extend(l);
                errors += e;
            }
            Ok(Err(e)) => {
                eprintln!("fixed-rate: connection failed: {e}");
                errors += 1;
            }
            Err(e) => {
                eprintln!("fixed-rate: {e}");
                errors += 1;
            }
        }
    }
    all.sort_unstable();
    let pct = |p: f64| -> f64 {
        if all.is_empty() {
            return f64::NAN;
        }
        let i = ((p / 100.0) * (all.len() - 1) as f64).round() as usize;
        f64::from(all[i.min(all.len() - 1)]) / 1000.0
    };
    println!(
        "requests {} errors {} rate {:.1}/s p50 {:.3}ms p90 {:.3}ms p99 {:.3}ms p99.9 {:.3}ms max {:.3}ms",
        all.len(),
        errors,
        all.len() as f64 / args.secs,
        pct(50.0),
        pct(90.0),
        pct(99.0),
        pct(99.9),
        pct(100.0)
    );
    if errors > 0 {
        std::process::ExitCode::from(1)
    } else {
        std::process::ExitCode::SUCCESS
    }
}

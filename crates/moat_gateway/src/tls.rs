//! TLS server configuration: TLS 1.2 and 1.3 only, the `ring` provider's AEAD suites with
//! forward secrecy, several certificates chosen by SNI, ALPN `h2` and `http/1.1`.
//!
//! Certificates read from files are watched: [`SniResolver::refresh`] stats the files (by
//! polling, so that renewals done by renaming a file or swapping a symlink — as certbot and
//! Kubernetes secret volumes do — are seen like in-place writes) and, once a change has been
//! stable for one check, loads the new pair and swaps it in for new handshakes. Open
//! connections keep their session. A pair that does not load (say, a key that does not match
//! its certificate yet) is reported and the old certificate keeps serving.

use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::{ServerConfig, version};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant, SystemTime};

/// One loaded certificate with the names it serves.
#[derive(Debug)]
pub struct LoadedCert {
    /// Lower-case names; `*.example.com` wildcards allowed. Empty = default only.
    pub names: Vec<String>,
    /// Chain and signing key.
    pub key: Arc<CertifiedKey>,
    /// The chain and key files, when both came from files (then they are watched).
    pub files: Option<(PathBuf, PathBuf)>,
}

/// What identifies a file's content without reading it: device, inode, size, mtime.
type Stamp = Option<[(u64, u64, u64, Option<SystemTime>); 2]>;

fn stamp(files: &(PathBuf, PathBuf)) -> Stamp {
    use std::os::unix::fs::MetadataExt;
    let one = |p: &PathBuf| {
        // `metadata` follows symlinks: a swapped link target counts as a change
        std::fs::metadata(p)
            .ok()
            .map(|m| (m.dev(), m.ino(), m.len(), m.modified().ok()))
    };
    Some([one(&files.0)?, one(&files.1)?])
}

#[derive(Debug)]
struct Watched {
    index: usize,
    files: (PathBuf, PathBuf),
    seen: Stamp,
    pending: Stamp,
}

#[derive(Debug)]
struct Watch {
    interval: Duration,
    next: Instant,
    entries: Vec<Watched>,
}

/// Picks the certificate for a ClientHello's SNI; the first certificate is the default.
#[derive(Debug)]
pub struct SniResolver {
    names: Vec<Vec<String>>,
    keys: RwLock<Vec<Arc<CertifiedKey>>>,
    watch: Mutex<Watch>,
}

/// What a certificate check found: one line per certificate that changed on disk.
#[derive(Debug, PartialEq, Eq)]
pub enum Refreshed {
    /// The new pair was loaded from these files.
    Loaded(String),
    /// The new files did not load; the old certificate is kept.
    Failed(String),
}

impl SniResolver {
    /// A resolver over `certs`; file-backed ones are checked for changes every `interval`
    /// (never when it is zero).
    pub fn new(certs: Vec<LoadedCert>, interval: Duration) -> Self {
        let entries = if interval.is_zero() {
            Vec::new()
        } else {
            certs
                .iter()
                .enumerate()
                .filter_map(|(index, c)| {
                    let files = c.files.clone()?;
                    let seen = stamp(&files);
                    Some(Watched {
                        index,
                        files,
                        seen,
                        pending: None,
                    })
                })
                .collect()
        };
        Self {
            names: certs.iter().map(|c| c.names.clone()).collect(),
            keys: RwLock::new(certs.into_iter().map(|c| c.key).collect()),
            watch: Mutex::new(Watch {
                interval,
                next: Instant::now() + interval,
                entries,
            }),
        }
    }

    fn find(&self, sni: Option<&str>) -> Option<Arc<CertifiedKey>> {
        let keys = self.keys.read().unwrap_or_else(PoisonError::into_inner);
        if let Some(name) = sni {
            let name = name.to_ascii_lowercase();
            let exact = self
                .names
                .iter()
                .position(|ns| ns.iter().any(|n| n == &name));
            let found = exact.or_else(|| {
                self.names
                    .iter()
                    .position(|ns| ns.iter().any(|n| wildcard_match(n, &name)))
            });
            if let Some(i) = found {
                return keys.get(i).cloned();
            }
        }
        keys.first().cloned()
    }

    /// Checks the certificate files when a check is due (a few `stat` calls) and swaps in
    /// pairs that changed and have stayed unchanged since the previous check.
    pub fn refresh(&self, now: Instant) -> Vec<Refreshed> {
        let mut w = self.watch.lock().unwrap_or_else(PoisonError::into_inner);
        if w.entries.is_empty() || now < w.next {
            return Vec::new();
        }
        w.next = now + w.interval;
        let mut out = Vec::new();
        for e in &mut w.entries {
            let cur = stamp(&e.files);
            if cur.is_none() || cur == e.seen {
                // missing (mid-rename) or unchanged
                e.pending = None;
                continue;
            }
            if cur != e.pending {
                // changed since the last check: wait until the writer is done
                e.pending = cur;
                continue;
            }
            e.seen = cur;
            e.pending = None;
            let (cert, key) = &e.files;
            let what = format!("{} and {}", cert.display(), key.display());
            let loaded = std::fs::read(cert)
                .and_then(|c| std::fs::read(key).map(|k| (c, k)))
                .map_err(|err| err.to_string())
                .and_then(|(c, k)| certified_key(&c, &k));
            match loaded {
                Ok(k) => {
                    let mut keys = self.keys.write().unwrap_or_else(PoisonError::into_inner);
                    if let Some(slot) = keys.get_mut(e.index) {
                        *slot = k;
                    }
                    out.push(Refreshed::Loaded(format!(
                        "certificate reloaded from {what}"
                    )));
                }
                Err(err) => out.push(Refreshed::Failed(format!(
                    "certificate files {what} changed but do not load, old certificate kept: {err}"
                ))),
            }
        }
        out
    }
}

fn wildcard_match(pattern: &str, name: &str) -> bool {
    let Some(suffix) = pattern.strip_prefix("*.") else {
        return false;
    };
    name.strip_suffix(suffix)
        .and_then(|head| head.strip_suffix('.'))
        .is_some_and(|label| !label.is_empty() && !label.contains('.'))
}

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.find(hello.server_name())
    }
}

/// The crypto provider used everywhere: `ring` with its default (AEAD, ECDHE) suites.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Builds a certified key from PEM texts; errors never contain key material.
pub fn certified_key(chain_pem: &[u8], key_pem: &[u8]) -> Result<Arc<CertifiedKey>, String> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(chain_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("certificate chain is not valid PEM: {e}"))?;
    if chain.is_empty() {
        return Err("no certificate found in the PEM chain".into());
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem)
        .map_err(|_| "private key is not a valid PEM private key".to_string())?;
    let signing = provider()
        .key_provider
        .load_private_key(key)
        .map_err(|_| "private key type is not supported".to_string())?;
    let ck = CertifiedKey::new(chain, signing);
    ck.keys_match()
        .map_err(|_| "private key does not match the certificate".to_string())?;
    Ok(Arc::new(ck))
}

/// Builds the server config and its certificate resolver. `tls13_only` drops TLS 1.2; file
/// certificates are checked for changes every `watch` (never when zero).
pub fn server_config(
    certs: Vec<LoadedCert>,
    tls13_only: bool,
    h2: bool,
    watch: Duration,
) -> Result<(Arc<ServerConfig>, Arc<SniResolver>), String> {
    let versions: &[&'static rustls::SupportedProtocolVersion] = if tls13_only {
        &[&version::TLS13]
    } else {
        &[&version::TLS13, &version::TLS12]
    };
    let resolver = Arc::new(SniResolver::new(certs, watch));
    let mut cfg = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(versions)
        .map_err(|e| format!("TLS setup failed: {e}"))?
        .with_no_client_auth()
        .with_cert_resolver(resolver.clone());
    cfg.alpn_protocols = if h2 {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    } else {
        vec![b"http/1.1".to_vec()]
    };
    cfg.ignore_client_order = true;
    Ok((Arc::new(cfg), resolver))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_cover_one_label() {
        assert!(wildcard_match("*.example.com", "api.example.com"));
        assert!(!wildcard_match("*.example.com", "a.b.example.com"));
        assert!(!wildcard_match("*.example.com", "example.com"));
        assert!(!wildcard_match("api.example.com", "api.example.com"));
    }
}

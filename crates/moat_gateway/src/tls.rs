//! TLS server configuration: TLS 1.2 and 1.3 only, the `ring` provider's AEAD suites with
//! forward secrecy, several certificates chosen by SNI, ALPN `h2` and `http/1.1`.

use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::{ServerConfig, version};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::sync::Arc;

/// One loaded certificate with the names it serves.
#[derive(Debug)]
pub struct LoadedCert {
    /// Lower-case names; `*.example.com` wildcards allowed. Empty = default only.
    pub names: Vec<String>,
    /// Chain and signing key.
    pub key: Arc<CertifiedKey>,
}

/// Picks the certificate for a ClientHello's SNI; the first certificate is the default.
#[derive(Debug)]
pub struct SniResolver {
    certs: Vec<LoadedCert>,
}

impl SniResolver {
    fn find(&self, sni: Option<&str>) -> Option<Arc<CertifiedKey>> {
        if let Some(name) = sni {
            let name = name.to_ascii_lowercase();
            for c in &self.certs {
                if c.names.iter().any(|n| n == &name) {
                    return Some(c.key.clone());
                }
            }
            for c in &self.certs {
                if c.names.iter().any(|n| wildcard_match(n, &name)) {
                    return Some(c.key.clone());
                }
            }
        }
        self.certs.first().map(|c| c.key.clone())
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

/// Builds the server config. `tls13_only` drops TLS 1.2.
pub fn server_config(
    certs: Vec<LoadedCert>,
    tls13_only: bool,
    h2: bool,
) -> Result<Arc<ServerConfig>, String> {
    let versions: &[&'static rustls::SupportedProtocolVersion] = if tls13_only {
        &[&version::TLS13]
    } else {
        &[&version::TLS13, &version::TLS12]
    };
    let mut cfg = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(versions)
        .map_err(|e| format!("TLS setup failed: {e}"))?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(SniResolver { certs }));
    cfg.alpn_protocols = if h2 {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    } else {
        vec![b"http/1.1".to_vec()]
    };
    cfg.ignore_client_order = true;
    Ok(Arc::new(cfg))
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

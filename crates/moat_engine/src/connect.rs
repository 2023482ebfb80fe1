//! Where the engine is ([`EngineHost`]), connecting to it ([`connect`]) and what can go wrong
//! ([`EngineError`]).

use bollard::{ClientVersion, Docker};
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

/// The host `docker` uses when `DOCKER_HOST` is not set.
pub const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";

/// The highest API version this crate asks for (bollard's models are written for it).
pub const MAX_API_VERSION: ClientVersion = ClientVersion {
    major_version: 1,
    minor_version: 53,
};

/// The lowest API version this crate can read: 1.25 is Docker 1.13 (2017), the first to report
/// `Init`, `NanoCpus` and the daemon's security options in the shapes read here.
pub const MIN_API_VERSION: ClientVersion = ClientVersion {
    major_version: 1,
    minor_version: 25,
};

/// How long one request may take before the engine counts as unreachable.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The client certificate files of a TLS connection (`DOCKER_CERT_PATH`: `ca.pem`, `cert.pem`,
/// `key.pem`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate authority that signed the daemon's certificate.
    pub ca: PathBuf,
    /// The client certificate.
    pub cert: PathBuf,
    /// The client certificate's private key.
    pub key: PathBuf,
}

impl TlsFiles {
    /// `ca.pem`, `cert.pem` and `key.pem` in `dir`.
    pub fn in_dir(dir: impl AsRef<Path>) -> Self {
        let dir = dir.as_ref();
        Self {
            ca: dir.join("ca.pem"),
            cert: dir.join("cert.pem"),
            key: dir.join("key.pem"),
        }
    }
}

/// How an [`EngineHost`] is reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    /// A unix socket at this path.
    Unix(PathBuf),
    /// TCP to `host:port`, in plain text.
    Tcp(String),
    /// TCP to `host:port` with TLS, verifying the daemon with the CA and presenting the client
    /// certificate.
    TcpTls(String, TlsFiles),
}

/// A Docker engine to read: what `DOCKER_HOST` or `--host` names (`unix:///path`,
/// `tcp://host:port`), with TLS files when the connection is verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineHost {
    raw: String,
    transport: Transport,
}

impl EngineHost {
    /// Parses `unix:///path`, `tcp://host[:port]` (port 2375 by default) or a bare absolute
    /// socket path. TLS is not used; see [`EngineHost::with_tls`] and [`EngineHost::from_env`].
    pub fn parse(host: &str) -> Result<Self, EngineError> {
        let raw = host.trim();
        let invalid = |reason: &str| EngineError::InvalidHost {
            host: raw.to_string(),
            reason: reason.to_string(),
        };
        let transport = if let Some(path) = raw.strip_prefix("unix://") {
            if path.is_empty() {
                return Err(invalid("no socket path after `unix://`"));
            }
            Transport::Unix(PathBuf::from(path))
        } else if raw.starts_with('/') {
            Transport::Unix(PathBuf::from(raw))
        } else if let Some(rest) = raw
            .strip_prefix("tcp://")
            .or_else(|| raw.strip_prefix("http://"))
        {
            let addr = rest.trim_end_matches('/');
            if addr.is_empty() || addr.contains('/') {
                return Err(invalid("expected `tcp://HOST:PORT`"));
            }
            let has_port = match addr.rsplit_once(':') {
                // `[::1]` alone has a colon but no port
                Some((h, p)) => !p.is_empty() && !h.ends_with('[') && !addr.ends_with(']'),
                None => false,
            };
            if has_port {
                let port = addr.rsplit_once(':').map_or("", |(_, p)| p);
                if port.parse::<u16>().is_err() {
                    return Err(invalid("the port is not a number from 0 to 65535"));
                }
                Transport::Tcp(addr.to_string())
            } else {
                Transport::Tcp(format!("{addr}:2375"))
            }
        } else if let Some((scheme, _)) = raw.split_once("://") {
            return Err(invalid(&format!(
                "`{scheme}://` is not supported (use `unix://` or `tcp://`)"
            )));
        } else {
            return Err(invalid("expected `unix:///PATH` or `tcp://HOST:PORT`"));
        };
        Ok(Self {
            raw: raw.to_string(),
            transport,
        })
    }

    /// This host over TLS with `files` (only for `tcp://`; a unix socket is returned as is).
    #[must_use]
    pub fn with_tls(self, files: TlsFiles) -> Self {
        let transport = match self.transport {
            Transport::Tcp(addr) | Transport::TcpTls(addr, _) => Transport::TcpTls(addr, files),
            unix @ Transport::Unix(_) => unix,
        };
        Self { transport, ..self }
    }

    /// The host `docker` would use: `host` when given (a `--host` option), else `DOCKER_HOST`,
    /// else [`DEFAULT_HOST`]; TLS when `DOCKER_TLS_VERIFY` is set to anything but an empty
    /// string, with the files in `DOCKER_CERT_PATH` (default `~/.docker`).
    pub fn from_env(host: Option<&str>) -> Result<Self, EngineError> {
        Self::resolve(host, |name| std::env::var(name).ok())
    }

    /// [`EngineHost::from_env`] with the environment given as a lookup function.
    pub fn resolve(
        host: Option<&str>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, EngineError> {
        let from_env = env("DOCKER_HOST").filter(|h| !h.trim().is_empty());
        let raw = host.map(str::to_string).or(from_env);
        let parsed = Self::parse(raw.as_deref().unwrap_or(DEFAULT_HOST))?;
        let verify = env("DOCKER_TLS_VERIFY").is_some_and(|v| !v.is_empty());
        if !verify || matches!(parsed.transport, Transport::Unix(_)) {
            return Ok(parsed);
        }
        let dir = match env("DOCKER_CERT_PATH").filter(|p| !p.is_empty()) {
            Some(dir) => PathBuf::from(dir),
            None => match env("HOME").filter(|h| !h.is_empty()) {
                Some(home) => Path::new(&home).join(".docker"),
                None => {
                    return Err(EngineError::Tls {
                        host: parsed.raw.clone(),
                        file: PathBuf::from("~/.docker"),
                        reason: "DOCKER_TLS_VERIFY is set but neither DOCKER_CERT_PATH nor HOME is"
                            .into(),
                    });
                }
            },
        };
        Ok(parsed.with_tls(TlsFiles::in_dir(dir)))
    }

    /// The host as given (`unix:///var/run/docker.sock`).
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// How the host is reached.
    pub fn transport(&self) -> &Transport {
        &self.transport
    }
}

impl FromStr for EngineHost {
    type Err = EngineError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for EngineHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)?;
        if matches!(self.transport, Transport::TcpTls(..)) {
            f.write_str(" (TLS)")?;
        }
        Ok(())
    }
}

/// What can go wrong when connecting to or reading an engine. Every message names the host.
#[derive(Debug)]
#[non_exhaustive]
pub enum EngineError {
    /// The host string cannot be understood.
    InvalidHost {
        /// As given.
        host: String,
        /// What is wrong.
        reason: String,
    },
    /// The unix socket does not exist.
    SocketNotFound {
        /// The host.
        host: String,
        /// The socket path.
        path: PathBuf,
    },
    /// The unix socket exists but this user may not open it.
    PermissionDenied {
        /// The host.
        host: String,
        /// The socket path.
        path: PathBuf,
    },
    /// Nothing answers at the host (connection refused, timed out, name not resolved).
    Unreachable {
        /// The host.
        host: String,
        /// The underlying error.
        reason: String,
    },
    /// The daemon speaks no API version this crate can read.
    UnsupportedApiVersion {
        /// The host.
        host: String,
        /// The daemon's highest API version.
        server: String,
        /// The daemon's lowest API version, when it says.
        server_min: Option<String>,
    },
    /// A TLS file is missing or unreadable, or the TLS handshake failed.
    Tls {
        /// The host.
        host: String,
        /// The file, or the certificate path, involved.
        file: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The daemon answered a request with an error.
    Api {
        /// The host.
        host: String,
        /// What was asked (`/info`, `inspect container web`).
        what: String,
        /// HTTP status.
        status: u16,
        /// The daemon's message.
        message: String,
    },
    /// Any other failure of a request (an answer that cannot be decoded…).
    Request {
        /// The host.
        host: String,
        /// What was asked.
        what: String,
        /// The underlying error.
        reason: String,
    },
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EngineError::InvalidHost { host, reason } => {
                write!(f, "invalid Docker host `{host}`: {reason}")
            }
            EngineError::SocketNotFound { host, path } => write!(
                f,
                "cannot reach the Docker engine at `{host}`: no socket at {} (is the daemon running? set DOCKER_HOST or --host to another engine)",
                path.display()
            ),
            EngineError::PermissionDenied { host, path } => write!(
                f,
                "cannot reach the Docker engine at `{host}`: permission denied on {}; add this user to the `docker` group (`sudo usermod -aG docker $USER`, then log in again) or run with access to the socket",
                path.display()
            ),
            EngineError::Unreachable { host, reason } => {
                write!(f, "cannot reach the Docker engine at `{host}`: {reason}")
            }
            EngineError::UnsupportedApiVersion {
                host,
                server,
                server_min,
            } => {
                write!(
                    f,
                    "the Docker engine at `{host}` speaks API {server}",
                    server = match server_min {
                        Some(min) => format!("{min} to {server}"),
                        None => server.clone(),
                    }
                )?;
                write!(
                    f,
                    "; this version of moat reads API {MIN_API_VERSION} to {MAX_API_VERSION}"
                )
            }
            EngineError::Tls { host, file, reason } => write!(
                f,
                "TLS to the Docker engine at `{host}`: {}: {reason}",
                file.display()
            ),
            EngineError::Api {
                host,
                what,
                status,
                message,
            } => write!(
                f,
                "the Docker engine at `{host}` refused {what} (HTTP {status}): {message}"
            ),
            EngineError::Request { host, what, reason } => {
                write!(
                    f,
                    "{what} from the Docker engine at `{host}` failed: {reason}"
                )
            }
        }
    }
}

impl std::error::Error for EngineError {}

impl EngineError {
    /// The host the error is about.
    pub fn host(&self) -> &str {
        match self {
            EngineError::InvalidHost { host, .. }
            | EngineError::SocketNotFound { host, .. }
            | EngineError::PermissionDenied { host, .. }
            | EngineError::Unreachable { host, .. }
            | EngineError::UnsupportedApiVersion { host, .. }
            | EngineError::Tls { host, .. }
            | EngineError::Api { host, .. }
            | EngineError::Request { host, .. } => host,
        }
    }

    /// Whether the engine answered "no such object" (the object went away while it was read).
    pub fn is_not_found(&self) -> bool {
        matches!(self, EngineError::Api { status: 404, .. })
    }

    /// Classifies a bollard error from a request to `host` about `what`.
    pub fn from_bollard(host: &EngineHost, what: &str, err: &bollard::errors::Error) -> Self {
        use bollard::errors::Error as B;
        let name = host.as_str().to_string();
        let socket = match &host.transport {
            Transport::Unix(p) => Some(p.clone()),
            _ => None,
        };
        match err {
            B::SocketNotFoundError(path) => EngineError::SocketNotFound {
                host: name,
                path: socket.unwrap_or_else(|| PathBuf::from(path)),
            },
            B::DockerResponseServerError {
                status_code,
                message,
            } => EngineError::Api {
                host: name,
                what: what.to_string(),
                status: *status_code,
                message: message.clone(),
            },
            B::CertPathError { path } | B::CertParseError { path } => EngineError::Tls {
                host: name,
                file: path.clone(),
                reason: err.to_string(),
            },
            B::RequestTimeoutError => EngineError::Unreachable {
                host: name,
                reason: "no answer before the timeout".into(),
            },
            _ => {
                // `IOError` is transparent: its source is the io::Error's own source
                let io = match err {
                    B::IOError { err } => Some(err),
                    _ => find_io_error(err),
                };
                if let Some(io) = io {
                    return match (io.kind(), socket) {
                        (io::ErrorKind::PermissionDenied, Some(path)) => {
                            EngineError::PermissionDenied { host: name, path }
                        }
                        (io::ErrorKind::NotFound, Some(path)) => {
                            EngineError::SocketNotFound { host: name, path }
                        }
                        _ if is_tls_error(err) => EngineError::Tls {
                            host: name,
                            file: tls_dir(host),
                            reason: chain(err),
                        },
                        _ => EngineError::Unreachable {
                            host: name,
                            reason: io.to_string(),
                        },
                    };
                }
                if is_connect_error(err) {
                    return EngineError::Unreachable {
                        host: name,
                        reason: chain(err),
                    };
                }
                EngineError::Request {
                    host: name,
                    what: what.to_string(),
                    reason: chain(err),
                }
            }
        }
    }
}

/// The directory of the TLS files, for messages.
fn tls_dir(host: &EngineHost) -> PathBuf {
    match &host.transport {
        Transport::TcpTls(_, files) => files.ca.parent().map(Path::to_path_buf).unwrap_or_default(),
        _ => PathBuf::new(),
    }
}

/// The first `io::Error` in an error's source chain.
fn find_io_error<'a>(err: &'a (dyn std::error::Error + 'static)) -> Option<&'a io::Error> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(io) = e.downcast_ref::<io::Error>() {
            // an io::Error may wrap the real cause (a TLS alert) in its own source
            return Some(io);
        }
        cur = e.source();
    }
    None
}

/// The error and its sources, joined with `: `, repeated texts dropped.
fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        let text = e.to_string();
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        cur = e.source();
    }
    parts.join(": ")
}

fn is_tls_error(err: &(dyn std::error::Error + 'static)) -> bool {
    let text = chain(err).to_ascii_lowercase();
    ["certificate", "tls", "handshake", "alert"]
        .iter()
        .any(|w| text.contains(w))
}

fn is_connect_error(err: &(dyn std::error::Error + 'static)) -> bool {
    let text = chain(err).to_ascii_lowercase();
    ["connect", "dns", "resolve", "refused", "unreachable"]
        .iter()
        .any(|w| text.contains(w))
}

/// A connected engine: the bollard client set to the negotiated API version, and what the
/// daemon said about its version.
#[derive(Debug, Clone)]
pub struct Engine {
    docker: Docker,
    host: EngineHost,
    api_version: ClientVersion,
    version: bollard::models::SystemVersion,
}

impl Engine {
    /// The bollard client (for requests this crate does not make).
    pub fn docker(&self) -> &Docker {
        &self.docker
    }

    /// The host.
    pub fn host(&self) -> &EngineHost {
        &self.host
    }

    /// The API version used for every request.
    pub fn api_version(&self) -> String {
        self.api_version.to_string()
    }

    /// The daemon's `/version` answer.
    pub fn version(&self) -> &bollard::models::SystemVersion {
        &self.version
    }

    /// Turns a bollard error of a request about `what` into an [`EngineError`].
    pub fn error(&self, what: &str, err: &bollard::errors::Error) -> EngineError {
        EngineError::from_bollard(&self.host, what, err)
    }
}

/// Connects to `host` with [`DEFAULT_TIMEOUT`]; see [`connect_with_timeout`].
pub async fn connect(host: &EngineHost) -> Result<Engine, EngineError> {
    connect_with_timeout(host, DEFAULT_TIMEOUT).await
}

/// Connects to `host` and negotiates the API version: asks `/version` (a request without a
/// version prefix, which every daemon answers in its own version), then uses the lower of the
/// daemon's version and [`MAX_API_VERSION`]. A daemon older than [`MIN_API_VERSION`], or one
/// that no longer accepts [`MAX_API_VERSION`], is an [`EngineError::UnsupportedApiVersion`].
pub async fn connect_with_timeout(
    host: &EngineHost,
    timeout: Duration,
) -> Result<Engine, EngineError> {
    let first = client(host, timeout.as_secs().max(1), &MAX_API_VERSION)?;
    let version = first
        .version()
        .await
        .map_err(|e| EngineError::from_bollard(host, "/version", &e))?;
    let api = negotiate(host, &version)?;
    let docker = client(host, timeout.as_secs().max(1), &api)?;
    Ok(Engine {
        docker,
        host: host.clone(),
        api_version: api,
        version,
    })
}

/// The API version to use with a daemon that answered `/version` with `version`.
pub fn negotiate(
    host: &EngineHost,
    version: &bollard::models::SystemVersion,
) -> Result<ClientVersion, EngineError> {
    let unsupported = || EngineError::UnsupportedApiVersion {
        host: host.as_str().to_string(),
        server: version
            .api_version
            .clone()
            .unwrap_or_else(|| "unknown".into()),
        server_min: version.min_api_version.clone(),
    };
    let server = version
        .api_version
        .as_deref()
        .and_then(parse_api_version)
        .ok_or_else(unsupported)?;
    let server_min = version
        .min_api_version
        .as_deref()
        .and_then(parse_api_version);
    let api = if server < MAX_API_VERSION {
        server
    } else {
        MAX_API_VERSION
    };
    if api < MIN_API_VERSION || server_min.is_some_and(|min| min > api) {
        return Err(unsupported());
    }
    Ok(api)
}

fn parse_api_version(s: &str) -> Option<ClientVersion> {
    let (major, minor) = s.trim().split_once('.')?;
    Some(ClientVersion {
        major_version: major.parse().ok()?,
        minor_version: minor.parse().ok()?,
    })
}

/// A bollard client for `host` (no request is made).
fn client(host: &EngineHost, timeout: u64, api: &ClientVersion) -> Result<Docker, EngineError> {
    let what = "connect";
    match &host.transport {
        Transport::Unix(path) => Docker::connect_with_unix(&path.to_string_lossy(), timeout, api)
            .map_err(|e| EngineError::from_bollard(host, what, &e)),
        Transport::Tcp(addr) => Docker::connect_with_http(&format!("tcp://{addr}"), timeout, api)
            .map_err(|e| EngineError::from_bollard(host, what, &e)),
        Transport::TcpTls(addr, files) => {
            check_tls_files(host, files)?;
            Docker::connect_with_ssl(
                &format!("tcp://{addr}"),
                &files.key,
                &files.cert,
                &files.ca,
                timeout,
                api,
            )
            .map_err(|e| EngineError::from_bollard(host, what, &e))
        }
    }
}

/// Reads the three TLS files and checks that each holds what it should, so that a missing or
/// wrong file is named (the TLS library would only fail the handshake).
pub fn check_tls_files(host: &EngineHost, files: &TlsFiles) -> Result<(), EngineError> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let tls = |file: &Path, reason: String| EngineError::Tls {
        host: host.as_str().to_string(),
        file: file.to_path_buf(),
        reason,
    };
    for (file, what) in [
        (&files.ca, "CA certificate"),
        (&files.cert, "client certificate"),
    ] {
        let bytes =
            std::fs::read(file).map_err(|e| tls(file, format!("cannot read the {what}: {e}")))?;
        let certs: Vec<_> = CertificateDer::pem_slice_iter(&bytes).collect();
        if certs.is_empty() || certs.iter().any(Result::is_err) {
            return Err(tls(file, format!("no PEM {what} in the file")));
        }
    }
    let bytes = std::fs::read(&files.key)
        .map_err(|e| tls(&files.key, format!("cannot read the private key: {e}")))?;
    PrivateKeyDer::from_pem_slice(&bytes)
        .map_err(|_| tls(&files.key, "no PEM private key in the file".into()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn hosts_parse() {
        let h = EngineHost::parse("unix:///run/user/1000/docker.sock").unwrap();
        assert_eq!(
            h.transport(),
            &Transport::Unix("/run/user/1000/docker.sock".into())
        );
        let h = EngineHost::parse("tcp://10.0.0.5:2376").unwrap();
        assert_eq!(h.transport(), &Transport::Tcp("10.0.0.5:2376".into()));
        assert_eq!(h.as_str(), "tcp://10.0.0.5:2376");
        let h = EngineHost::parse("tcp://docker.example").unwrap();
        assert_eq!(h.transport(), &Transport::Tcp("docker.example:2375".into()));
        let h = EngineHost::parse("tcp://[::1]:2375/").unwrap();
        assert_eq!(h.transport(), &Transport::Tcp("[::1]:2375".into()));
        let h = EngineHost::parse("tcp://[::1]").unwrap();
        assert_eq!(h.transport(), &Transport::Tcp("[::1]:2375".into()));
        let h: EngineHost = "/var/run/docker.sock".parse().unwrap();
        assert_eq!(
            h.transport(),
            &Transport::Unix("/var/run/docker.sock".into())
        );
        for bad in [
            "ssh://me@host",
            "unix://",
            "tcp://",
            "tcp://h:99999",
            "docker.sock",
        ] {
            let e = EngineHost::parse(bad).unwrap_err();
            assert!(matches!(e, EngineError::InvalidHost { .. }), "{bad}");
            assert!(e.to_string().contains(bad.trim()), "{e}");
        }
    }

    #[test]
    fn environment_like_docker() {
        let h = EngineHost::resolve(None, env(&[])).unwrap();
        assert_eq!(h.as_str(), DEFAULT_HOST);
        let h = EngineHost::resolve(None, env(&[("DOCKER_HOST", "tcp://h:2376")])).unwrap();
        assert_eq!(h.transport(), &Transport::Tcp("h:2376".into()));
        // --host wins over DOCKER_HOST
        let h = EngineHost::resolve(
            Some("unix:///x.sock"),
            env(&[("DOCKER_HOST", "tcp://h:2376")]),
        )
        .unwrap();
        assert_eq!(h.as_str(), "unix:///x.sock");
        let h = EngineHost::resolve(
            None,
            env(&[
                ("DOCKER_HOST", "tcp://h:2376"),
                ("DOCKER_TLS_VERIFY", "1"),
                ("DOCKER_CERT_PATH", "/certs"),
            ]),
        )
        .unwrap();
        assert_eq!(
            h.transport(),
            &Transport::TcpTls("h:2376".into(), TlsFiles::in_dir("/certs"))
        );
        assert_eq!(h.to_string(), "tcp://h:2376 (TLS)");
        let h = EngineHost::resolve(
            None,
            env(&[
                ("DOCKER_HOST", "tcp://h:2376"),
                ("DOCKER_TLS_VERIFY", "1"),
                ("HOME", "/home/u"),
            ]),
        )
        .unwrap();
        assert_eq!(
            h.transport(),
            &Transport::TcpTls("h:2376".into(), TlsFiles::in_dir("/home/u/.docker"))
        );
        // an empty DOCKER_TLS_VERIFY is unset, as for docker
        let h = EngineHost::resolve(
            None,
            env(&[("DOCKER_HOST", "tcp://h:2376"), ("DOCKER_TLS_VERIFY", "")]),
        )
        .unwrap();
        assert_eq!(h.transport(), &Transport::Tcp("h:2376".into()));
    }

    #[test]
    fn io_errors_are_classified_with_the_socket_named() {
        let host = EngineHost::parse("unix:///srv/docker.sock").unwrap();
        let denied = bollard::errors::Error::IOError {
            err: io::Error::from(io::ErrorKind::PermissionDenied),
        };
        let e = EngineError::from_bollard(&host, "/version", &denied);
        assert!(matches!(e, EngineError::PermissionDenied { .. }), "{e:?}");
        let text = e.to_string();
        assert!(text.contains("unix:///srv/docker.sock"), "{text}");
        assert!(text.contains("permission denied"), "{text}");
        assert!(text.contains("`docker` group"), "{text}");

        let missing = bollard::errors::Error::SocketNotFoundError("/srv/docker.sock".into());
        let e = EngineError::from_bollard(&host, "connect", &missing);
        assert!(matches!(e, EngineError::SocketNotFound { .. }), "{e:?}");
        assert!(e.to_string().contains("/srv/docker.sock"));

        let tcp = EngineHost::parse("tcp://127.0.0.1:1").unwrap();
        let refused = bollard::errors::Error::IOError {
            err: io::Error::from(io::ErrorKind::ConnectionRefused),
        };
        let e = EngineError::from_bollard(&tcp, "/version", &refused);
        assert!(matches!(e, EngineError::Unreachable { .. }), "{e:?}");
        assert!(e.to_string().contains("tcp://127.0.0.1:1"));

        let server = bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            message: "No such container: web".into(),
        };
        let e = EngineError::from_bollard(&tcp, "inspect container web", &server);
        assert!(e.is_not_found());
        assert_eq!(e.host(), "tcp://127.0.0.1:1");
    }

    fn version(api: &str, min: Option<&str>) -> bollard::models::SystemVersion {
        bollard::models::SystemVersion {
            api_version: Some(api.into()),
            min_api_version: min.map(str::to_string),
            ..Default::default()
        }
    }

    #[test]
    fn api_versions_are_negotiated() {
        let host = EngineHost::parse(DEFAULT_HOST).unwrap();
        let v = negotiate(&host, &version("1.41", Some("1.12"))).unwrap();
        assert_eq!(v.to_string(), "1.41");
        let v = negotiate(&host, &version("1.54", Some("1.44"))).unwrap();
        assert_eq!(v.to_string(), "1.53");
        let e = negotiate(&host, &version("1.24", Some("1.12"))).unwrap_err();
        assert!(matches!(e, EngineError::UnsupportedApiVersion { .. }));
        assert!(e.to_string().contains("1.12 to 1.24"), "{e}");
        assert!(e.to_string().contains(DEFAULT_HOST), "{e}");
        let e = negotiate(&host, &version("1.70", Some("1.60"))).unwrap_err();
        assert!(matches!(e, EngineError::UnsupportedApiVersion { .. }));
        assert!(negotiate(&host, &version("x", None)).is_err());
    }

    #[test]
    fn tls_files_are_named() {
        let dir = std::env::temp_dir().join(format!("moat-engine-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let files = TlsFiles::in_dir(&dir);
        let host = EngineHost::parse("tcp://h:2376")
            .unwrap()
            .with_tls(files.clone());
        let e = check_tls_files(&host, &files).unwrap_err();
        assert!(
            matches!(&e, EngineError::Tls { file, .. } if file == &files.ca),
            "{e:?}"
        );
        assert!(e.to_string().contains("ca.pem"), "{e}");
        std::fs::write(&files.ca, "not a certificate").unwrap();
        let e = check_tls_files(&host, &files).unwrap_err();
        assert!(e.to_string().contains("no PEM CA certificate"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

//! Gateway configs for the tests, built in code and rendered as TOML: listeners, the admin
//! listener, sections written as they are (`[limits]`, `[api_keys]`, `[[rate_limit]]`, …), the
//! access log, upstreams and routes, in that order.

use crate::common::TempDir;
use moat_gateway::Gateway;
use std::fmt::Write as _;
use std::net::SocketAddr;

/// A config under construction.
#[derive(Debug, Clone, Default)]
pub struct Config {
    listeners: Vec<String>,
    admin: bool,
    sections: Vec<String>,
    access_log: Option<String>,
    upstreams: Vec<String>,
    routes: Vec<String>,
}

impl Config {
    /// Nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// A plain-HTTP listener on port 0, an admin listener on port 0, and the access log in
    /// `dir/access.log` (read with [`crate::common::access_log`]).
    pub fn plain(dir: &TempDir) -> Self {
        Self::new().plain_listener().admin().access_log_in(dir)
    }

    /// [`Config::plain`] with one upstream `api` at `up` and one route `all` to it.
    pub fn single(dir: &TempDir, up: SocketAddr) -> Self {
        Self::plain(dir)
            .upstream("api", &[up], "")
            .route("all", "api", "")
    }

    /// An HTTPS listener on port 0 (h2 and HTTP/1.1 by ALPN) with the certificate `api.pem`
    /// and its key `api.key` (see [`crate::common::make_certs`]), an admin listener, and the
    /// access log in `dir`.
    pub fn tls(dir: &TempDir) -> Self {
        Self::new()
            .tls_listener("")
            .certificate("api", &[])
            .admin()
            .access_log_in(dir)
    }

    /// An HTTPS listener on port 0 with `listener_extra` (see [`Config::tls_listener`]) and the
    /// certificate `api.pem`, no admin listener, no access log.
    pub fn tls_quiet(listener_extra: &str) -> Self {
        Self::new()
            .tls_listener(listener_extra)
            .certificate("api", &[])
            .access_log("off")
    }

    /// `[[listener]]` on `127.0.0.1:0` with `plain_http = true`.
    #[must_use]
    pub fn plain_listener(mut self) -> Self {
        self.listeners
            .push("[[listener]]\nlisten = \"127.0.0.1:0\"\nplain_http = true\n".into());
        self
    }

    /// `[[listener]]` on `127.0.0.1:0` for TLS, with `extra` (its settings, `[listener.tls]`,
    /// `[listener.http2]`); its certificates follow ([`Config::certificate`]).
    #[must_use]
    pub fn tls_listener(mut self, extra: &str) -> Self {
        self.listeners
            .push(format!("[[listener]]\nlisten = \"127.0.0.1:0\"\n{extra}"));
        self
    }

    /// A certificate of the last listener: `STEM.pem` and `STEM.key`, for `server_names`
    /// (none: the default certificate).
    #[must_use]
    pub fn certificate(self, stem: &str, server_names: &[&str]) -> Self {
        let mut body = format!("cert_file = \"{stem}.pem\"\nkey_file = \"{stem}.key\"\n");
        if !server_names.is_empty() {
            let names: Vec<String> = server_names.iter().map(|n| format!("\"{n}\"")).collect();
            let _ = writeln!(body, "server_names = [{}]", names.join(", "));
        }
        self.certificate_with(&body)
    }

    /// A certificate of the last listener, its table written as it is.
    #[must_use]
    pub fn certificate_with(mut self, body: &str) -> Self {
        let last = self
            .listeners
            .last_mut()
            .expect("a listener before its certificates");
        let _ = write!(last, "\n[[listener.tls.certificates]]\n{body}");
        self
    }

    /// An admin listener on `127.0.0.1:0`.
    #[must_use]
    pub fn admin(mut self) -> Self {
        self.admin = true;
        self
    }

    /// A section (or several) written as it is.
    #[must_use]
    pub fn section(mut self, toml: &str) -> Self {
        if !toml.trim().is_empty() {
            self.sections.push(toml.to_string());
        }
        self
    }

    /// The access log to `target` (`off`, or a file).
    #[must_use]
    pub fn access_log(mut self, target: &str) -> Self {
        self.access_log = Some(target.to_string());
        self
    }

    /// The access log to `dir/access.log`.
    #[must_use]
    pub fn access_log_in(self, dir: &TempDir) -> Self {
        let target = dir.path().join("access.log").display().to_string();
        self.access_log(&target)
    }

    /// `[upstream.NAME]` with `targets`, then `extra` (its settings and subtables).
    #[must_use]
    pub fn upstream(mut self, name: &str, targets: &[SocketAddr], extra: &str) -> Self {
        let t: Vec<String> = targets.iter().map(|a| format!("\"{a}\"")).collect();
        self.upstreams.push(format!(
            "[upstream.{name}]\ntargets = [{}]\n{extra}",
            t.join(", ")
        ));
        self
    }

    /// `[[route]]` named `name` to `upstream`, then `extra` (its settings).
    #[must_use]
    pub fn route(mut self, name: &str, upstream: &str, extra: &str) -> Self {
        self.routes.push(format!(
            "[[route]]\nname = \"{name}\"\nupstream = \"{upstream}\"\n{extra}"
        ));
        self
    }

    /// The TOML text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let mut block = |text: &str| {
            out.push_str(text);
            if !text.ends_with('\n') {
                out.push('\n');
            }
            out.push('\n');
        };
        for l in &self.listeners {
            block(l);
        }
        if self.admin {
            block("[admin]\nlisten = \"127.0.0.1:0\"");
        }
        for s in &self.sections {
            block(s);
        }
        if let Some(target) = &self.access_log {
            block(&format!("[access_log]\ntarget = \"{target}\""));
        }
        for u in &self.upstreams {
            block(u);
        }
        for r in &self.routes {
            block(r);
        }
        out
    }

    /// Writes it to `dir/gateway.toml` and starts a gateway on it.
    pub async fn start(&self, dir: &TempDir) -> Gateway {
        crate::common::start(dir, &self.render()).await
    }
}

#[test]
fn renders_each_part_in_its_place() {
    let dir = TempDir::new();
    let up: SocketAddr = "127.0.0.1:8080".parse().unwrap();
    let text = Config::plain(&dir)
        .section("[limits]\nmax_uri_bytes = 256")
        .upstream("api", &[up, up], "retries = 2\n")
        .route("all", "api", "methods = [\"GET\"]\n")
        .render();
    let log = dir.path().join("access.log");
    assert_eq!(
        text,
        format!(
            "[[listener]]\nlisten = \"127.0.0.1:0\"\nplain_http = true\n\n[admin]\nlisten = \"127.0.0.1:0\"\n\n[limits]\nmax_uri_bytes = 256\n\n[access_log]\ntarget = \"{}\"\n\n[upstream.api]\ntargets = [\"127.0.0.1:8080\", \"127.0.0.1:8080\"]\nretries = 2\n\n[[route]]\nname = \"all\"\nupstream = \"api\"\nmethods = [\"GET\"]\n\n",
            log.display()
        )
    );
    let tls = Config::new()
        .tls_listener("[listener.http2]\nmax_concurrent_streams = 7\n")
        .certificate("api", &["api.test"])
        .certificate("other", &[])
        .access_log("off")
        .render();
    assert_eq!(
        tls,
        "[[listener]]\nlisten = \"127.0.0.1:0\"\n[listener.http2]\nmax_concurrent_streams = 7\n\n[[listener.tls.certificates]]\ncert_file = \"api.pem\"\nkey_file = \"api.key\"\nserver_names = [\"api.test\"]\n\n[[listener.tls.certificates]]\ncert_file = \"other.pem\"\nkey_file = \"other.key\"\n\n[access_log]\ntarget = \"off\"\n\n"
    );
    for text in [&text, &tls] {
        let parsed = moat_gateway::config::parse_str("t.toml", text);
        assert!(parsed.is_ok(), "{text}");
    }
}

//! `moat audit --engine`: reading live Docker engines (one or several `--host`s, concurrently)
//! with `moat_engine`, for the audit to judge their facts like any other source.

use clap::Args;
use moat_engine::{EngineHost, EngineSnapshot, Filter, ReadOptions, Selector};

/// Options of `moat audit` for live engines.
#[derive(Debug, Args, Default)]
pub struct EngineArgs {
    /// Audit the live Docker engine at DOCKER_HOST (default unix:///var/run/docker.sock): the
    /// daemon, every container (stopped ones too), the images they run.
    #[arg(long)]
    pub engine: bool,
    /// Engine to audit (`unix:///…`, `tcp://HOST:2376`; TLS with DOCKER_TLS_VERIFY and
    /// DOCKER_CERT_PATH); repeatable: several engines in one report, each finding naming its
    /// host. Implies --engine.
    #[arg(long = "host", value_name = "HOST")]
    pub hosts: Vec<String>,
    /// Only running containers.
    #[arg(long)]
    pub running_only: bool,
    /// Only containers whose name matches GLOB (repeatable; `*` and `?`).
    #[arg(long = "container", value_name = "GLOB")]
    pub containers: Vec<String>,
    /// Only containers created from an image matching GLOB (repeatable).
    #[arg(long = "image", value_name = "GLOB")]
    pub images: Vec<String>,
    /// Only containers with label KEY (and VALUE, when given) (repeatable).
    #[arg(long = "label", value_name = "KEY[=VALUE]")]
    pub labels: Vec<String>,
    /// Leave out the containers a selector matches: `name=GLOB`, `image=GLOB`,
    /// `label=KEY[=VALUE]`, or a bare name GLOB (repeatable).
    #[arg(long = "exclude", value_name = "SELECTOR")]
    pub exclude: Vec<String>,
}

impl EngineArgs {
    /// Whether any engine is to be audited.
    pub fn wanted(&self) -> bool {
        self.engine || !self.hosts.is_empty()
    }

    /// The container filter the options describe.
    fn filter(&self) -> Result<Filter, String> {
        let mut include: Vec<Selector> = Vec::new();
        include.extend(self.containers.iter().map(|g| Selector::Name(g.clone())));
        include.extend(self.images.iter().map(|g| Selector::Image(g.clone())));
        for l in &self.labels {
            include.push(format!("label={l}").parse()?);
        }
        let exclude = self
            .exclude
            .iter()
            .map(|s| s.parse::<Selector>())
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Filter { include, exclude })
    }
}

/// Reads every engine the options name, concurrently. The first error ends the audit (exit 2):
/// an audit that silently skipped an engine would pass as a clean one.
pub fn read_engines(args: &EngineArgs) -> Result<Vec<EngineSnapshot>, String> {
    let filter = args.filter()?;
    let hosts: Vec<EngineHost> = if args.hosts.is_empty() {
        vec![EngineHost::from_env(None).map_err(|e| e.to_string())?]
    } else {
        args.hosts
            .iter()
            .map(|h| EngineHost::from_env(Some(h)).map_err(|e| e.to_string()))
            .collect::<Result<_, _>>()?
    };
    let opts = ReadOptions {
        running_only: args.running_only,
        filter,
        // images are judged when a container runs them (and stale tags need the others)
        all_images: true,
        qualify_names: hosts.len() > 1,
        ..ReadOptions::default()
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the engine client: {e}"))?;
    runtime
        .block_on(async {
            let reads = hosts.iter().map(|host| {
                let opts = &opts;
                async move {
                    let engine = moat_engine::connect(host).await?;
                    moat_engine::read_engine(&engine, opts).await
                }
            });
            let results = futures_util::future::join_all(reads).await;
            results
                .into_iter()
                .map(|r| r.map_err(|e| e.to_string()))
                .collect::<Result<Vec<_>, _>>()
        })
        .map(|mut snapshots| {
            for s in &mut snapshots {
                complete_local_daemon(s);
            }
            snapshots
        })
}

/// Where the local daemon's configuration file is.
const LOCAL_DAEMON_JSON: &str = "/etc/docker/daemon.json";

/// Completes the facts of an engine reached over its local socket with what the host says
/// about its daemon: `/info` does not report every setting (`userland-proxy`, `iptables`,
/// `default-ulimits`…). When the `dockerd` process is found, its command line and the
/// daemon.json it reads (`--config-file`, else `/etc/docker/daemon.json`) give every setting,
/// an absent one being the default; without the process, the daemon.json alone fills what it
/// sets and the rest stays unknown. A file that does not parse is left alone here (audit it
/// with `--daemon-config` to see why).
fn complete_local_daemon(snapshot: &mut EngineSnapshot) {
    if !snapshot.host.starts_with("unix://") {
        return;
    }
    let dockerd = local_dockerd();
    let (flags, config_file) = match &dockerd {
        Some(args) => {
            let (flags, file) = moat_deploy::daemon_command_line(args);
            (Some(flags), file)
        }
        None => (None, None),
    };
    let path = config_file.unwrap_or_else(|| LOCAL_DAEMON_JSON.to_string());
    let file = match moat_deploy::load_daemon_config(std::path::Path::new(&path)) {
        Ok(f) => Some(Ok(f)),
        Err(_) if !std::path::Path::new(&path).exists() => None,
        Err(e) => Some(Err(e)),
    };
    if let Some(flags) = &flags {
        snapshot.daemon.fill_from_file(flags);
    }
    if let Some(Ok(file)) = &file {
        snapshot.daemon.fill_from_file(file);
    }
    if flags.is_some() && !matches!(file, Some(Err(_))) {
        snapshot.daemon.source = moat_deploy::DaemonSource::LocalDaemon;
    }
}

/// The command line of the `dockerd` process of this host, when one runs and `/proc` shows it.
fn local_dockerd() -> Option<Vec<String>> {
    let entries = std::fs::read_dir("/proc").ok()?;
    for entry in entries.flatten() {
        let pid = entry.file_name();
        if !pid.to_string_lossy().bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let comm = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
        if comm.trim() != "dockerd" {
            continue;
        }
        let raw = std::fs::read(entry.path().join("cmdline")).ok()?;
        let args: Vec<String> = raw
            .split(|b| *b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        if !args.is_empty() {
            return Some(args);
        }
    }
    None
}

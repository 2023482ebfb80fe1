//! Every compose file of the shared awesome-compose corpus loads without error.

use moat_deploy::{Env, load_compose};
use std::path::PathBuf;

#[test]
fn awesome_compose_corpus_parses() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/compose");
    let Ok(read) = std::fs::read_dir(&dir) else {
        println!("skipped: corpus directory {} not found", dir.display());
        return;
    };
    let mut files: Vec<PathBuf> = read.filter_map(Result::ok).map(|e| e.path()).collect();
    files.sort();
    let mut errors = Vec::new();
    let mut services = 0;
    for f in &files {
        match load_compose(std::slice::from_ref(f), &Env::new()) {
            Ok(p) => {
                services += p.services.len();
                let names: Vec<String> = p
                    .services
                    .iter()
                    .map(|s| {
                        let image = s.image.as_ref().map_or("(build)", |i| i.value.as_str());
                        format!("{} [{image}; {} ports]", s.name, s.ports.len())
                    })
                    .collect();
                println!(
                    "{}: {}",
                    f.file_name().unwrap_or_default().to_string_lossy(),
                    names.join(", ")
                );
            }
            Err(e) => errors.push(e.to_string()),
        }
    }
    println!(
        "{} files, {services} services, {} errors",
        files.len(),
        errors.len()
    );
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(files.len(), 39);
}

fn corpus_file(name: &str) -> Option<moat_deploy::ComposeProject> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpus/compose")
        .join(name);
    if !path.is_file() {
        println!("skipped: {} not found", path.display());
        return None;
    }
    Some(load_compose(&[path], &Env::new()).unwrap_or_else(|e| panic!("{e}")))
}

#[test]
fn corpus_facts_are_what_the_files_say() {
    if let Some(p) = corpus_file("portainer_compose.yaml") {
        let s = &p.services[0];
        let sock = &s.mounts[0];
        assert_eq!(sock.value.source.as_deref(), Some("/var/run/docker.sock"));
        assert_eq!((sock.location.line, sock.location.column), (9, 9));
        assert_eq!(s.restart.as_ref().unwrap().value.name, "always");
        let argv: Vec<&str> = s
            .command
            .as_ref()
            .unwrap()
            .value
            .iter()
            .map(|a| a.value.as_str())
            .collect();
        assert_eq!(argv, ["-H", "unix:///var/run/docker.sock"]);
        assert_eq!(p.volumes[0].name.value, "portainer_data");
    }
    if let Some(p) = corpus_file("wireguard_compose.yaml") {
        let s = &p.services[0];
        let caps: Vec<&str> = s.cap_add.iter().map(|c| c.value.as_str()).collect();
        assert_eq!(caps, ["NET_ADMIN", "SYS_MODULE"]);
        assert_eq!(s.cap_add[1].location.line, 8);
        assert_eq!(
            s.env("TZ").unwrap().provenance,
            moat_deploy::Provenance::Interpolated
        );
        assert_eq!(
            s.env("PUID").unwrap().provenance,
            moat_deploy::Provenance::Literal
        );
        assert_eq!(
            s.env("ALLOWEDIPS").unwrap().value.as_ref().unwrap().value,
            "0.0.0.0/0"
        );
        assert_eq!(s.ports[0].value.protocol, "udp");
        assert_eq!(s.sysctls[0].key.value, "net.ipv4.conf.all.src_valid_mark");
    }
    if let Some(p) = corpus_file("nginx-golang-postgres_compose.yaml") {
        let db = p.services.iter().find(|s| s.name == "db").unwrap();
        assert_eq!(db.user.as_ref().unwrap().value, "postgres");
        assert_eq!(db.secrets[0].value.source, "db-password");
        let hc = &db.healthcheck.as_ref().unwrap().value;
        assert_eq!(hc.test.as_ref().unwrap().value, ["CMD", "pg_isready"]);
        assert_eq!(hc.retries.as_ref().unwrap().value, 5);
        assert!(db.ports.is_empty());
        let backend = p.services.iter().find(|s| s.name == "backend").unwrap();
        assert_eq!(backend.build.as_ref().unwrap().value, "backend");
        assert_eq!(backend.depends_on[0].value, "db");
        let proxy = p.services.iter().find(|s| s.name == "proxy").unwrap();
        assert!(proxy.mounts[0].value.read_only);
    }
}

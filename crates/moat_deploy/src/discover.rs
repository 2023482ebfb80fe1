//! Which files the deploy-time sources read, by file name.

/// The file-name part of `name` (a bare name or a path).
fn base(name: &str) -> &str {
    name.rsplit(['/', '\\']).next().unwrap_or(name)
}

/// Whether `name` is a compose file: `compose.yaml`, `compose.yml`, `docker-compose.yml`,
/// `docker-compose.yaml`, their `.override` and other `compose.*.yaml` /
/// `docker-compose.*.yml` variants, and names ending in `compose.yaml` / `compose.yml`
/// (`app_compose.yaml`, `prod-docker-compose.yml`).
pub fn is_compose_file(name: &str) -> bool {
    let b = base(name).to_ascii_lowercase();
    let Some(stem) = b.strip_suffix(".yaml").or_else(|| b.strip_suffix(".yml")) else {
        return false;
    };
    stem.ends_with("compose")
        || stem.starts_with("compose.")
        || stem.starts_with("docker-compose.")
        || stem.starts_with("docker-compose-")
}

/// Whether `name` is a Docker daemon configuration file (`daemon.json`).
pub fn is_daemon_config(name: &str) -> bool {
    base(name).eq_ignore_ascii_case("daemon.json")
}

/// Whether `name` is a script that may hold `docker run` lines: `*.sh`, `*.bash`, `Makefile`
/// (also `makefile`, `GNUmakefile`) and `*.mk`.
pub fn is_script(name: &str) -> bool {
    let b = base(name);
    has_ext(b, "sh") || has_ext(b, "bash") || is_makefile(b)
}

fn has_ext(name: &str, ext: &str) -> bool {
    std::path::Path::new(name)
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case(ext))
}

/// Whether `name` is a Makefile (recipes use `$$` for `$`).
pub(crate) fn is_makefile(name: &str) -> bool {
    let b = base(name);
    has_ext(b, "mk") || matches!(b, "Makefile" | "makefile" | "GNUmakefile")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for yes in [
            "compose.yaml",
            "a/compose.yml",
            "docker-compose.yml",
            "docker-compose.override.yml",
            "compose.prod.yaml",
            "angular_compose.yaml",
        ] {
            assert!(is_compose_file(yes), "{yes}");
        }
        for no in ["compose.json", "config.yml", "composer.yaml"] {
            assert!(!is_compose_file(no), "{no}");
        }
        assert!(is_daemon_config("/etc/docker/daemon.json"));
        assert!(is_script("deploy.sh") && is_script("Makefile") && is_script("x/rules.mk"));
        assert!(!is_script("main.rs"));
        assert!(is_makefile("Makefile") && !is_makefile("a.sh"));
    }
}

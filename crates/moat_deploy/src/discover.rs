//! Which files the deploy-time sources read, by file name.

/// The file-name part of `name` (a bare name or a path).
fn base(name: &str) -> &str {
    name.rsplit(['/', '\\']).next().unwrap_or(name)
}

/// Whether `name` is a compose file: `compose.yaml`, `compose.yml`, `docker-compose.yml`,
/// `docker-compose.yaml` (the names `docker compose` looks for), their `.override` and other
/// variants that start with one of them and a `.`, `-` or `_` (`compose.prod.yaml`,
/// `compose-dev.yaml`, `docker-compose-test.yml`, `docker-compose_ci.yml`), and names ending in
/// `compose.yaml` / `compose.yml` (`prod.compose.yml`, `app_compose.yaml`,
/// `prod-docker-compose.yml`). A name that ends otherwise (`docker-compose.yml.j2`,
/// `docker-compose.yml.example`) is not one.
pub fn is_compose_file(name: &str) -> bool {
    let b = base(name).to_ascii_lowercase();
    let Some(stem) = b.strip_suffix(".yaml").or_else(|| b.strip_suffix(".yml")) else {
        return false;
    };
    let variant_of = |main: &str| {
        stem.strip_prefix(main)
            .and_then(|rest| rest.chars().next())
            .is_some_and(|c| matches!(c, '.' | '-' | '_'))
    };
    stem.ends_with("compose") || variant_of("compose") || variant_of("docker-compose")
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
            "compose-dev.yaml",
            "compose_ci.yml",
            "docker-compose-test.yml",
            "docker-compose_prod.yml",
            "docker-compose.dev.yaml",
            "prod.compose.yml",
            "prod-docker-compose.yml",
            "Docker-Compose.YML",
        ] {
            assert!(is_compose_file(yes), "{yes}");
        }
        for no in [
            "compose.json",
            "config.yml",
            "composer.yaml",
            "composer.lock",
            "composition.yaml",
            "docker-compose.yml.j2",
            "docker-compose.yml.example",
            "docker-composer.yml",
        ] {
            assert!(!is_compose_file(no), "{no}");
        }
        assert!(is_daemon_config("/etc/docker/daemon.json"));
        assert!(is_script("deploy.sh") && is_script("Makefile") && is_script("x/rules.mk"));
        assert!(!is_script("main.rs"));
        assert!(is_makefile("Makefile") && !is_makefile("a.sh"));
    }
}

//! Shared code of the image rules.

/// Image facts for tests.
#[cfg(test)]
pub mod testing {
    use moat_deploy::ImageFacts;
    use moat_diagnostics::Location;

    /// An image tagged `tag`, with id `id`, built at `created` (RFC 3339).
    pub fn image(tag: &str, id: &str, created: Option<&str>) -> ImageFacts {
        ImageFacts {
            reference: tag.into(),
            tags: vec![tag.into()],
            digests: Vec::new(),
            id: id.into(),
            created: created.map(Into::into),
            user: None,
            env: Vec::new(),
            healthcheck: None,
            exposed_ports: Vec::new(),
            volumes: Vec::new(),
            entrypoint: None,
            cmd: None,
            working_dir: None,
            labels: Vec::new(),
            history: Vec::new(),
            platform: None,
            size: None,
            host: "unix:///var/run/docker.sock".into(),
            location: Location::object(format!("image:{tag}")),
        }
    }
}

//! What several container and network rules share. Not rules themselves.
#[cfg(test)]
pub(crate) mod compose_testing;
pub(crate) mod host_namespace;
pub(crate) mod secret_values;
pub(crate) mod security_opt;

/// Facts of a live container, for the tests of the rules that only live containers trigger.
#[cfg(test)]
pub mod live_testing {
    use moat_deploy::{
        ContainerFacts, Located, Process, RuntimeFacts, SourceKind, UserOrigin,
    };
    use moat_diagnostics::Location;

    /// A running container `name` of image `image` (id `image_id`) with these processes.
    pub fn live_container(
        name: &str,
        image: &str,
        image_id: &str,
        processes: &[&str],
    ) -> ContainerFacts {
        let location = Location::object(format!("container:{name}"));
        let mut facts = ContainerFacts::new(name, SourceKind::Engine, location.clone());
        facts.image = Some(Located::new(image.to_string(), location));
        facts.live = Some(RuntimeFacts {
            host: "unix:///var/run/docker.sock".into(),
            id: "0123456789abcdef".into(),
            running: true,
            status: "running".into(),
            exit_code: None,
            health: None,
            restart_count: 0,
            image_id: image_id.into(),
            created: None,
            started_at: None,
            user_origin: UserOrigin::Default,
            processes: processes
                .iter()
                .enumerate()
                .map(|(i, c)| Process {
                    pid: Some((4000 + i).to_string()),
                    user: Some("root".into()),
                    command: (*c).to_string(),
                })
                .collect(),
            compose: None,
        });
        facts
    }
}

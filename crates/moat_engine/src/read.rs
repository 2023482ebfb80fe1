//! Reading an engine: everything at once, concurrently, into an [`EngineSnapshot`].

use std::collections::HashMap;

use bollard::models::{
    ContainerInspectResponse, ContainerTopResponse, ImageInspect, NetworkInspect,
};
use bollard::query_parameters::{ListContainersOptions, ListImagesOptions};
use futures_util::stream::{self, StreamExt, TryStreamExt};
use moat_deploy::{ContainerFacts, DaemonFacts, ImageFacts, NetworkFacts};

use crate::connect::{Engine, EngineError, Transport};
use crate::container::container_facts;
use crate::daemon::daemon_facts;
use crate::filter::Filter;
use crate::image::image_facts;
use crate::names::ObjectNames;
use crate::network::network_facts;

/// A container's inspect data, its processes when running, and a note when `top` failed.
type Inspected = (
    ContainerInspectResponse,
    Option<ContainerTopResponse>,
    Option<String>,
);

/// What to read.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// Only running containers (stopped and created ones are read by default).
    pub running_only: bool,
    /// Which containers.
    pub filter: Filter,
    /// Which images: every image of the engine (`true`, the default), or only those the read
    /// containers use.
    pub all_images: bool,
    /// Append the host to object names (`container:web @ tcp://…`); for audits of several
    /// hosts. See [`ObjectNames`].
    pub qualify_names: bool,
    /// How many inspect requests run at once.
    pub concurrency: usize,
}

impl Default for ReadOptions {
    fn default() -> Self {
        Self {
            running_only: false,
            filter: Filter::default(),
            all_images: true,
            qualify_names: false,
            concurrency: 8,
        }
    }
}

/// Everything read from one engine.
#[derive(Debug, Clone)]
pub struct EngineSnapshot {
    /// The host, as given.
    pub host: String,
    /// The daemon, from `/info` and `/version` (its [`DaemonFacts::info`] is set).
    pub daemon: DaemonFacts,
    /// The containers that pass the filter, by name.
    pub containers: Vec<ContainerFacts>,
    /// Every network, by name.
    pub networks: Vec<NetworkFacts>,
    /// The images read, by reference.
    pub images: Vec<ImageFacts>,
    /// Objects that could not be read completely (removed while the engine was read, `top`
    /// refused…), one sentence each.
    pub notes: Vec<String>,
}

/// Reads `engine`: `/info`, `/version`, networks, containers (each inspected, with `top` for
/// running ones) and images (each inspected, with its history), requests running
/// concurrently. An object removed between listing and inspecting is left out with a note;
/// any other failure is an error.
pub async fn read_engine(
    engine: &Engine,
    opts: &ReadOptions,
) -> Result<EngineSnapshot, EngineError> {
    let docker = engine.docker();
    let host = engine.host().as_str().to_string();
    let names = ObjectNames::new(host.clone(), opts.qualify_names);
    let conc = opts.concurrency.max(1);
    let err = |what: &str| {
        let what = what.to_string();
        move |e: bollard::errors::Error| engine.error(&what, &e)
    };

    let list_containers = docker.list_containers(Some(ListContainersOptions {
        all: !opts.running_only,
        ..Default::default()
    }));
    let list_images = docker.list_images(Some(ListImagesOptions::default()));
    let (info, networks, containers, images) = futures_util::join!(
        async { docker.info().await.map_err(err("/info")) },
        async {
            docker
                .list_networks(None)
                .await
                .map_err(err("the network list"))
        },
        async { list_containers.await.map_err(err("the container list")) },
        async { list_images.await.map_err(err("the image list")) },
    );
    let (info, networks, containers, images) = (info?, networks?, containers?, images?);
    let mut notes = Vec::new();

    // containers: filter on the list, then inspect (and top) concurrently
    let wanted: Vec<String> = containers
        .iter()
        .filter(|c| {
            let name = c.names.iter().flatten().next().map_or("", String::as_str);
            let image = c.image.as_deref().unwrap_or("");
            let labels = c.labels.clone().unwrap_or_default();
            opts.filter.matches(name, image, &labels)
        })
        .filter_map(|c| c.id.clone())
        .collect();
    let inspected: Vec<Option<Inspected>> = stream::iter(wanted)
        .map(|id| async move {
            let c = match docker.inspect_container(&id, None).await {
                Ok(c) => c,
                Err(e) => {
                    let e = engine.error(&format!("inspect container {id}"), &e);
                    return if e.is_not_found() { Ok(None) } else { Err(e) };
                }
            };
            let running = c.state.as_ref().and_then(|s| s.running).unwrap_or(false);
            let (top, note) = if running {
                match docker.top_processes(&id, None).await {
                    Ok(t) => (Some(t), None),
                    Err(e) => (
                        None,
                        Some(format!(
                            "processes of container {id}: {}",
                            engine.error("top", &e)
                        )),
                    ),
                }
            } else {
                (None, None)
            };
            Ok(Some((c, top, note)))
        })
        .buffer_unordered(conc)
        .try_collect()
        .await?;
    let inspected: Vec<_> = inspected.into_iter().flatten().collect();
    notes.extend(inspected.iter().filter_map(|(_, _, n)| n.clone()));

    // images: all, or those of the containers read; inspected with history
    let mut image_ids: Vec<String> = if opts.all_images {
        images.iter().map(|i| i.id.clone()).collect()
    } else {
        inspected
            .iter()
            .filter_map(|(c, _, _)| c.image.clone())
            .collect()
    };
    image_ids.sort();
    image_ids.dedup();
    let image_data: Vec<Option<(ImageInspect, Vec<bollard::models::ImageHistoryResponseItem>)>> =
        stream::iter(image_ids)
            .map(|id| async move {
                let (img, hist) =
                    futures_util::join!(docker.inspect_image(&id), docker.image_history(&id));
                let img = match img {
                    Ok(i) => i,
                    Err(e) => {
                        let e = engine.error(&format!("inspect image {id}"), &e);
                        return if e.is_not_found() { Ok(None) } else { Err(e) };
                    }
                };
                Ok(Some((img, hist.unwrap_or_default())))
            })
            .buffer_unordered(conc)
            .try_collect()
            .await?;
    let image_data: Vec<_> = image_data.into_iter().flatten().collect();

    // networks: inspected for their containers
    let network_data: Vec<Option<NetworkInspect>> =
        stream::iter(networks.iter().filter_map(|n| n.id.clone()))
            .map(|id| async move {
                match docker.inspect_network(&id, None).await {
                    Ok(n) => Ok(Some(n)),
                    Err(e) => {
                        let e = engine.error(&format!("inspect network {id}"), &e);
                        if e.is_not_found() { Ok(None) } else { Err(e) }
                    }
                }
            })
            .buffer_unordered(conc)
            .try_collect()
            .await?;
    let network_data: Vec<NetworkInspect> = network_data.into_iter().flatten().collect();

    let by_id: HashMap<&str, &ImageInspect> = image_data
        .iter()
        .filter_map(|(i, _)| i.id.as_deref().map(|id| (id, i)))
        .collect();
    let mut container_facts: Vec<ContainerFacts> = inspected
        .iter()
        .map(|(c, top, _)| {
            let image = c.image.as_deref().and_then(|id| by_id.get(id).copied());
            container_facts(c, image, top.as_ref(), &names)
        })
        .collect();
    container_facts.sort_by(|a, b| a.name.cmp(&b.name));
    let mut image_facts: Vec<ImageFacts> = image_data
        .iter()
        .map(|(i, h)| image_facts(i, h, &names))
        .collect();
    image_facts.sort_by(|a, b| a.reference.cmp(&b.reference));
    let mut network_facts: Vec<NetworkFacts> = network_data
        .iter()
        .map(|n| network_facts(n, &names))
        .collect();
    network_facts.sort_by(|a, b| a.name.value.cmp(&b.name.value));

    let bridge = network_data.iter().find(|n| {
        n.options
            .as_ref()
            .and_then(|o| o.get("com.docker.network.bridge.default_bridge"))
            .is_some_and(|v| v == "true")
            || n.name.as_deref() == Some("bridge") && n.driver.as_deref() == Some("bridge")
    });
    let plain_tcp = matches!(engine.host().transport(), Transport::Tcp(_));
    let api = engine.api_version();
    let daemon = daemon_facts(
        &info,
        Some(engine.version()),
        Some(&api),
        bridge,
        plain_tcp,
        &names,
    );

    Ok(EngineSnapshot {
        host,
        daemon,
        containers: container_facts,
        networks: network_facts,
        images: image_facts,
        notes,
    })
}

//! An image's inspect data and history → [`ImageFacts`].

use bollard::models::{ImageHistoryResponseItem, ImageInspect};
use moat_deploy::{ImageFacts, ImageLayer, KeyValue};

use crate::container::{environment, healthcheck};
use crate::names::{At, ObjectNames, short_id};

/// The facts of one image. `history` is the answer of `/images/ID/history` (newest layer
/// first, as the engine gives it; the facts keep the oldest first). The image is named by its
/// first tag, else its first digest, else its short id (`image:3f677f58c10b`).
pub fn image_facts(
    img: &ImageInspect,
    history: &[ImageHistoryResponseItem],
    names: &ObjectNames,
) -> ImageFacts {
    let id = img.id.clone().unwrap_or_default();
    let tags: Vec<String> = img
        .repo_tags
        .iter()
        .flatten()
        .filter(|t| t.as_str() != "<none>:<none>")
        .cloned()
        .collect();
    let digests: Vec<String> = img
        .repo_digests
        .iter()
        .flatten()
        .filter(|d| !d.starts_with("<none>@"))
        .cloned()
        .collect();
    let reference = tags
        .first()
        .or(digests.first())
        .cloned()
        .unwrap_or_else(|| short_id(&id).to_string());
    let location = names.location("image", &reference);
    let at = At(&location);
    let cfg = img.config.clone().unwrap_or_default();
    let mut labels: Vec<(String, String)> =
        cfg.labels.clone().unwrap_or_default().into_iter().collect();
    labels.sort();
    let mut history: Vec<ImageLayer> = history
        .iter()
        .map(|h| ImageLayer {
            created_by: h.created_by.clone(),
            created: None,
            empty_layer: h.size == 0 && h.id == "<missing>",
            comment: Some(h.comment.clone()).filter(|c| !c.is_empty()),
        })
        .collect();
    history.reverse();
    let platform = match (img.os.as_deref(), img.architecture.as_deref()) {
        (Some(os), Some(arch)) if !os.is_empty() => Some(format!("{os}/{arch}")),
        _ => None,
    };
    ImageFacts {
        tags,
        digests,
        id,
        created: img.created.clone().filter(|c| !c.is_empty()),
        user: cfg.user.clone().filter(|u| !u.is_empty()).map(|v| at.of(v)),
        env: environment(
            cfg.env.as_ref(),
            cfg.env.as_ref(),
            Some(&reference),
            &location,
        ),
        healthcheck: cfg
            .healthcheck
            .as_ref()
            .and_then(|h| healthcheck(h, &location)),
        exposed_ports: cfg.exposed_ports.clone().unwrap_or_default(),
        volumes: cfg.volumes.clone().unwrap_or_default(),
        entrypoint: cfg.entrypoint.clone().filter(|e| !e.is_empty()),
        cmd: cfg.cmd.clone().filter(|c| !c.is_empty()),
        working_dir: cfg.working_dir.clone().filter(|w| !w.is_empty()),
        labels: labels
            .into_iter()
            .map(|(k, v)| KeyValue {
                key: at.of(k),
                value: Some(at.of(v)),
            })
            .collect(),
        history,
        platform,
        size: img.size,
        host: names.host.clone(),
        reference,
        location,
    }
}

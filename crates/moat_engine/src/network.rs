//! A network's inspect data → [`NetworkFacts`].

use bollard::models::NetworkInspect;
use moat_deploy::{KeyValue, NetworkFacts, NetworkRuntimeFacts};

use crate::names::{At, ObjectNames};

/// Docker's predefined networks.
const PREDEFINED: [&str; 3] = ["bridge", "host", "none"];

/// The facts of one network, located at `network:NAME`. `external` is `None`: the notion
/// belongs to compose.
pub fn network_facts(n: &NetworkInspect, names: &ObjectNames) -> NetworkFacts {
    let name = n.name.clone().unwrap_or_default();
    let location = names.location("network", &name);
    let at = At(&location);
    let kv = |map: Option<&std::collections::HashMap<String, String>>| {
        let mut pairs: Vec<(String, String)> =
            map.cloned().unwrap_or_default().into_iter().collect();
        pairs.sort();
        pairs
            .into_iter()
            .map(|(k, v)| KeyValue {
                key: at.of(k),
                value: Some(at.of(v)),
            })
            .collect::<Vec<_>>()
    };
    let mut containers: Vec<String> = n
        .containers
        .iter()
        .flatten()
        .map(|(id, c)| c.name.clone().unwrap_or_else(|| id.clone()))
        .collect();
    containers.sort();
    let subnets = n
        .ipam
        .as_ref()
        .and_then(|i| i.config.as_ref())
        .into_iter()
        .flatten()
        .filter_map(|c| c.subnet.clone())
        .collect();
    NetworkFacts {
        name: at.of(name.clone()),
        driver: n.driver.clone().filter(|d| !d.is_empty()).map(|v| at.of(v)),
        internal: Some(at.of(n.internal.unwrap_or(false))),
        attachable: Some(at.of(n.attachable.unwrap_or(false))),
        external: None,
        enable_ipv6: n.enable_ipv6.map(|v| at.of(v)),
        driver_opts: kv(n.options.as_ref()),
        live: Some(NetworkRuntimeFacts {
            host: names.host.clone(),
            id: n.id.clone().unwrap_or_default(),
            scope: n.scope.clone().filter(|s| !s.is_empty()),
            subnets,
            containers,
            labels: kv(n.labels.as_ref()),
            predefined: PREDEFINED.contains(&name.as_str()),
        }),
        location,
    }
}

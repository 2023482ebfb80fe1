use moat_deploy::ContainerFacts;

use crate::context::{ContainerContext, Emitter};
use crate::image::ImageRef;
use crate::rule::{Confidence, declare_rule};
use crate::rules::container::port_on_all_interfaces::{is_loopback, on_all_interfaces};

/// Image names (last path component, lower case) of databases, caches, brokers and
/// coordination services.
const DATASTORES: &[&str] = &[
    "postgres",
    "postgresql",
    "postgis",
    "timescaledb",
    "mysql",
    "mysql-server",
    "mariadb",
    "percona",
    "percona-server",
    "mongo",
    "mongodb",
    "mongodb-community-server",
    "redis",
    "redis-stack",
    "redis-stack-server",
    "redis-cluster",
    "redismod",
    "valkey",
    "keydb",
    "memcached",
    "elasticsearch",
    "opensearch",
    "cassandra",
    "scylla",
    "couchdb",
    "couchbase",
    "influxdb",
    "rabbitmq",
    "neo4j",
    "clickhouse",
    "clickhouse-server",
    "etcd",
    "zookeeper",
    "cp-zookeeper",
    "kafka",
    "cp-kafka",
    "nats",
    "minio",
    "azure-sql-edge",
];

/// The datastore an image runs, by the last component of its repository (`bitnami/postgresql`
/// → `postgresql`); Microsoft's `mssql/server` too.
pub(crate) fn datastore(facts: &ContainerFacts) -> Option<String> {
    let image = ImageRef::parse(&facts.image.as_ref()?.value)?;
    let repo = image.repository.to_ascii_lowercase();
    if repo.ends_with("mssql/server") {
        return Some("mssql".into());
    }
    let short = repo.rsplit('/').next().unwrap_or(&repo);
    DATASTORES.contains(&short).then(|| short.to_string())
}

declare_rule! {
    /// ## What it does
    /// Reports a published port of a database, cache or broker container: an image named
    /// `postgres`, `mysql`, `mariadb`, `mongo`, `redis`, `memcached`, `elasticsearch`,
    /// `opensearch`, `cassandra`, `couchdb`, `influxdb`, `rabbitmq`, `neo4j`, `clickhouse`,
    /// `etcd`, `zookeeper`, `kafka`, … (matched on the last part of the repository, so
    /// `bitnami/postgresql` and `docker.elastic.co/elasticsearch/elasticsearch` count), with
    /// `ports:` / `-p` / `-P`.
    ///
    /// A port bound to a loopback address (`127.0.0.1:5432:5432`) is reported with low
    /// confidence: it is reachable from the host only, which is often meant for local tools.
    ///
    /// ## Why is this bad?
    /// A datastore should be reached only by the services that use it, over a compose
    /// network. Published on the host it becomes reachable from outside (Docker's iptables
    /// rules bypass ufw/firewalld), and exposed Redis, MongoDB and Elasticsearch instances are
    /// found and wiped or ransomed by scanners within hours.
    ///
    /// ## Example
    /// ```yaml
    /// services:
    ///   db:
    ///     image: postgres:16
    ///     ports:
    ///       - "5432:5432"
    /// ```
    ///
    /// Use instead:
    /// ```yaml
    /// services:
    ///   db:
    ///     image: postgres:16
    ///     networks: [backend]   # the API reaches db:5432 on this network
    /// ```
    ///
    /// ## Fix
    /// Remove `ports:`; the services of the project reach the datastore by service name. For
    /// local administration bind to loopback (`127.0.0.1:5432:5432`) or use `docker compose
    /// exec`.
    ///
    /// ## References
    /// - CIS Docker Benchmark 5.9 (only needed ports are open on the container).
    /// - OWASP Docker Security Cheat Sheet, rule 5 (limit inter-container and external
    ///   connectivity).
    pub struct DatastorePortPublished {
        code: "N001",
        name: "datastore-port-published",
        summary: "database or cache publishes a port on the host",
        severity: High,
        confidence: High,
        default_enabled: true,
        references: ["CIS-DOCKER-5.9"],
        check: Container,
    }
}

pub(crate) fn check(ctx: &ContainerContext<'_>, out: &mut Emitter<'_>) {
    let facts = ctx.facts;
    let Some(kind) = datastore(facts) else {
        return;
    };
    if let Some(all) = &facts.publish_all
        && all.value
    {
        out.emit_at(
            &DatastorePortPublished::INFO,
            all.location.clone(),
            format!(
                "`{}` ({kind}) publishes its ports on all host interfaces",
                facts.name
            ),
        );
    }
    for port in &facts.ports {
        let p = &port.value;
        let what = p
            .published
            .as_deref()
            .map_or_else(|| format!("port {}", p.target), |h| format!("port {h}"));
        let loopback = p.host_ip.as_deref().is_some_and(is_loopback);
        let place = if on_all_interfaces(p) {
            "on all host interfaces".to_string()
        } else if loopback {
            "on the host's loopback interface".to_string()
        } else {
            format!(
                "on host address {}",
                p.host_ip.as_deref().unwrap_or_default()
            )
        };
        let finding = out.emit_at(
            &DatastorePortPublished::INFO,
            port.location.clone(),
            format!("`{}` ({kind}) publishes {what} {place}", facts.name),
        );
        if loopback {
            finding.confidence = Confidence::Low;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::check;
    use crate::rule::Confidence;
    use crate::rules::container::helpers::compose_testing::{compose_findings, run_findings};

    #[test]
    fn datastores_by_image() {
        let yaml = "services:\n  db:\n    image: bitnami/postgresql:16\n    ports:\n      - \"5432:5432\"\n      - \"127.0.0.1:5433:5432\"\n  ui:\n    image: mongo-express\n    ports:\n      - \"8081:8081\"\n  es:\n    image: docker.elastic.co/elasticsearch/elasticsearch:8.13.0\n    ports:\n      - 9200\n";
        let got: Vec<_> = compose_findings(check, yaml)
            .into_iter()
            .map(|f| (f.location.line, f.confidence))
            .collect();
        assert_eq!(
            got,
            [
                (5, Confidence::High),
                (6, Confidence::Low),
                (14, Confidence::High)
            ]
        );
        assert_eq!(
            run_findings(check, "docker run -p 6379:6379 redis:7").len(),
            1
        );
        assert!(run_findings(check, "docker run redis:7").is_empty());
    }
}

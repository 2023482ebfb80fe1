use moat_deploy::ContainerFacts;

use crate::context::{ContainerContext, Emitter};
use moat_deploy::ImageRef;
use crate::ports::{self, Protocol};
use crate::rule::{Confidence, Severity, declare_rule};
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
    /// A port bound to a loopback address (`127.0.0.1:5432:5432`) is reported as low severity
    /// with low confidence: it is reachable from the host only (its users and processes, and
    /// other containers through the host), which is often meant for local tools — not an
    /// exposure to the network.
    ///
    /// A database, cache or broker protocol is recognised by its port too, whatever the image
    /// (a custom build, PgBouncer, Redpanda): a published container port 5432 (PostgreSQL),
    /// 6432 (PgBouncer), 3306 / 33060 (MySQL), 1433 (SQL Server), 1521 (Oracle), 27017–27019
    /// (MongoDB), 6379 / 26379 (Redis), 11211 (memcached), 9042 (Cassandra), 9200 / 9300
    /// (Elasticsearch), 5984 (CouchDB), 8086 (InfluxDB), 7687 (Neo4j), 5672 / 5671 (AMQP),
    /// 9092 (Kafka), 2181 (ZooKeeper), 4222 (NATS), 2379 / 2380 (etcd), 6650 (Pulsar), 8529
    /// (ArangoDB), 26257 (CockroachDB), 28015 (RethinkDB), 61616 (ActiveMQ). A port of a
    /// datastore image that speaks a protocol served to clients directly (MQTT on 1883 of a
    /// broker, SMTP, DNS, …) is not reported: it is meant to be reachable, and is no datastore
    /// port. `C025` and `N003` report the same port too; the finding is given once, by this
    /// rule, naming them.
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
    let image_kind = datastore(facts);
    if let Some(kind) = &image_kind
        && let Some(all) = &facts.publish_all
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
        let subject = match (&image_kind, ports::of_mapping(p)) {
            // served to its clients directly: not a datastore port
            (_, Protocol::Direct(_)) => continue,
            (Some(kind), _) => format!("`{}` ({kind}) publishes {what}", facts.name),
            (None, Protocol::Datastore(protocol)) => {
                format!("`{}` publishes {what} ({protocol})", facts.name)
            }
            (None, _) => continue,
        };
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
            format!("{subject} {place}"),
        );
        if loopback {
            finding.confidence = Confidence::Low;
            finding.severity = Severity::Low;
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

    #[test]
    fn datastore_protocols_by_port_and_direct_protocols_of_datastores() {
        let yaml = "services:\n  pool:\n    image: edoburu/pgbouncer:1.23.1\n    ports:\n      - \"6432:5432\"\n  broker:\n    image: redpandadata/redpanda:v24.2.1\n    ports:\n      - \"9092:9092\"\n      - \"8081:8081\"\n  mq:\n    image: rabbitmq:3.13-management\n    ports:\n      - \"1883:1883\"\n      - \"15672:15672\"\n  mail:\n    image: mailserver/docker-mailserver:14\n    ports:\n      - \"25:25\"\n";
        let got: Vec<(usize, String)> = compose_findings(check, yaml)
            .into_iter()
            .map(|f| (f.location.line, f.message))
            .collect();
        assert_eq!(
            got,
            [
                (
                    5,
                    "`pool` publishes port 6432 (PostgreSQL) on all host interfaces".to_string()
                ),
                (
                    9,
                    "`broker` publishes port 9092 (Kafka) on all host interfaces".to_string()
                ),
                (
                    15,
                    "`mq` (rabbitmq) publishes port 15672 on all host interfaces".to_string()
                ),
            ]
        );
    }
}

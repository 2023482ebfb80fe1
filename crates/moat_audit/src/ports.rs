//! What a published port speaks, judged from its number and transport. The rules about
//! published ports each judge one kind: the gateway rules (`C025`, `N003`) HTTP ports, which a
//! gateway can front; the datastore rule (`N001`) database, cache and broker ports; and none of
//! them the protocols that clients reach directly by design (mail, DNS, SSH, VPN, …), which an
//! HTTP gateway cannot front.
//!
//! Port numbers are the IANA registrations and the defaults of the servers that use them; a
//! port moat does not know is taken to be HTTP over TCP (in a project with API containers, a
//! custom port is most often an HTTP API) and a UDP port moat does not know to be served
//! directly (an HTTP gateway does not carry UDP, HTTP/3 on 443 aside).

use moat_deploy::PortMapping;

/// The kind of protocol a port speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// HTTP or HTTPS, or a TCP port moat does not know: what a gateway can front.
    Http,
    /// A database, cache or message broker protocol (the name, for messages).
    Datastore(&'static str),
    /// A protocol served to its clients directly, which an HTTP gateway cannot front: mail,
    /// DNS, DHCP, NTP, SSH, FTP, LDAP, Kerberos, syslog, SNMP, MQTT, XMPP, SIP, STUN/TURN, IRC,
    /// VPNs, and UDP services moat does not know.
    Direct(&'static str),
    /// Neither HTTP nor meant to be reached from outside: remote desktops, debuggers and the
    /// Docker API, which belong on loopback or behind a VPN.
    Private(&'static str),
}

impl Protocol {
    /// The protocol's name, for messages (`None` for HTTP).
    pub fn name(self) -> Option<&'static str> {
        match self {
            Protocol::Http => None,
            Protocol::Datastore(n) | Protocol::Direct(n) | Protocol::Private(n) => Some(n),
        }
    }
}

/// Well-known ports of protocols served directly (TCP or UDP).
const DIRECT: &[(u16, &str)] = &[
    (20, "FTP"),
    (21, "FTP"),
    (22, "SSH"),
    (25, "SMTP"),
    (53, "DNS"),
    (67, "DHCP"),
    (68, "DHCP"),
    (69, "TFTP"),
    (88, "Kerberos"),
    (110, "POP3"),
    (123, "NTP"),
    (143, "IMAP"),
    (161, "SNMP"),
    (162, "SNMP"),
    (389, "LDAP"),
    (464, "Kerberos"),
    (465, "SMTP"),
    (500, "IPsec"),
    (514, "syslog"),
    (547, "DHCPv6"),
    (587, "SMTP"),
    (636, "LDAP"),
    (853, "DNS over TLS"),
    (873, "rsync"),
    (989, "FTP"),
    (990, "FTP"),
    (993, "IMAP"),
    (995, "POP3"),
    (1025, "SMTP"),
    (1194, "OpenVPN"),
    (1701, "L2TP"),
    (1723, "PPTP"),
    (1883, "MQTT"),
    (2525, "SMTP"),
    (3025, "SMTP"),
    (3110, "POP3"),
    (3143, "IMAP"),
    (3268, "LDAP"),
    (3269, "LDAP"),
    (3465, "SMTP"),
    (3478, "STUN/TURN"),
    (3993, "IMAP"),
    (3995, "POP3"),
    (4190, "ManageSieve"),
    (4500, "IPsec"),
    (5060, "SIP"),
    (5061, "SIP"),
    (5222, "XMPP"),
    (5223, "XMPP"),
    (5269, "XMPP"),
    (5349, "STUN/TURN"),
    (5353, "mDNS"),
    (6514, "syslog"),
    (6667, "IRC"),
    (6697, "IRC"),
    (8883, "MQTT"),
    (51820, "WireGuard"),
];

/// Default ports of databases, caches and message brokers.
const DATASTORE: &[(u16, &str)] = &[
    (1433, "SQL Server"),
    (1521, "Oracle"),
    (2181, "ZooKeeper"),
    (2379, "etcd"),
    (2380, "etcd"),
    (3306, "MySQL"),
    (4222, "NATS"),
    (5432, "PostgreSQL"),
    (5671, "AMQP"),
    (5672, "AMQP"),
    (5984, "CouchDB"),
    (6379, "Redis"),
    (6432, "PgBouncer"),
    (6650, "Pulsar"),
    (7687, "Neo4j"),
    (8086, "InfluxDB"),
    (8529, "ArangoDB"),
    (9042, "Cassandra"),
    (9092, "Kafka"),
    (9200, "Elasticsearch"),
    (9300, "Elasticsearch"),
    (11211, "memcached"),
    (26257, "CockroachDB"),
    (26379, "Redis Sentinel"),
    (27017, "MongoDB"),
    (27018, "MongoDB"),
    (27019, "MongoDB"),
    (28015, "RethinkDB"),
    (33060, "MySQL"),
    (61616, "ActiveMQ"),
];

/// Ports that must not be public and are not HTTP APIs.
const PRIVATE: &[(u16, &str)] = &[
    (2375, "the Docker API"),
    (2376, "the Docker API"),
    (3389, "RDP"),
    (5005, "a Java debugger"),
    (5900, "VNC"),
    (5901, "VNC"),
    (6000, "X11"),
    (9229, "the Node.js inspector"),
];

fn lookup(table: &[(u16, &'static str)], port: u16) -> Option<&'static str> {
    table.iter().find(|(p, _)| *p == port).map(|(_, n)| *n)
}

/// The protocol of a port number over `transport` (`tcp`, `udp`, `sctp`).
pub fn of_port(port: u16, transport: &str) -> Protocol {
    if let Some(n) = lookup(DIRECT, port) {
        return Protocol::Direct(n);
    }
    let tcp = transport.is_empty() || transport.eq_ignore_ascii_case("tcp");
    if !tcp {
        // HTTP/3 runs over UDP on the HTTPS ports
        return if matches!(port, 443 | 8443) {
            Protocol::Http
        } else {
            Protocol::Direct("a UDP or SCTP service")
        };
    }
    if let Some(n) = lookup(DATASTORE, port) {
        return Protocol::Datastore(n);
    }
    if let Some(n) = lookup(PRIVATE, port) {
        return Protocol::Private(n);
    }
    Protocol::Http
}

/// The protocol a published port speaks: that of its container port (the first of a range),
/// or, when the container port is not a number, of its host port.
pub fn of_mapping(port: &PortMapping) -> Protocol {
    port.target_range
        .or(port.published_range)
        .map_or(Protocol::Http, |(first, _)| of_port(first, &port.protocol))
}

/// Whether the host side of a published port is the standard port of a protocol served
/// directly (`25`, `53`, `993`): such a service must listen on its own port.
pub fn is_direct_standard_port(port: &PortMapping) -> bool {
    port.published_range
        .is_some_and(|(first, _)| lookup(DIRECT, first).is_some())
}

#[cfg(test)]
mod tests {
    use super::{Protocol, of_port};

    #[test]
    fn protocols_by_port() {
        assert_eq!(of_port(25, "tcp"), Protocol::Direct("SMTP"));
        assert_eq!(of_port(53, "udp"), Protocol::Direct("DNS"));
        assert_eq!(of_port(993, "tcp"), Protocol::Direct("IMAP"));
        assert_eq!(of_port(5432, "tcp"), Protocol::Datastore("PostgreSQL"));
        assert_eq!(of_port(5900, "tcp"), Protocol::Private("VNC"));
        assert_eq!(of_port(8080, "tcp"), Protocol::Http);
        assert_eq!(of_port(443, "udp"), Protocol::Http);
        assert_eq!(
            of_port(27015, "udp"),
            Protocol::Direct("a UDP or SCTP service")
        );
        assert_eq!(of_port(3000, ""), Protocol::Http);
    }
}

//! Shared helper for the EXPOSE rules: parsing `port[/protocol]` and `from-to[/protocol]`.

/// A parsed EXPOSE argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortSpec {
    /// A port or range with its protocol (lower case; `tcp` when not written).
    Ports {
        /// First port.
        from: u32,
        /// Last port (same as `from` for a single port).
        to: u32,
        /// Protocol.
        protocol: String,
    },
    /// Contains a variable; not judged.
    Variable,
    /// Not a valid port specification, with the reason.
    Invalid(&'static str),
}

/// Parses one EXPOSE argument. Ports above 65535 parse (as [`PortSpec::Ports`]) so that the
/// caller can say what is wrong.
pub fn parse_port_spec(spec: &str) -> PortSpec {
    if spec.contains('$') {
        return PortSpec::Variable;
    }
    let (ports, protocol) = match spec.split_once('/') {
        Some((p, proto)) => (p, proto.to_ascii_lowercase()),
        None => (spec, "tcp".to_string()),
    };
    if !matches!(protocol.as_str(), "tcp" | "udp" | "sctp") {
        return PortSpec::Invalid("the protocol must be tcp, udp or sctp");
    }
    if ports.contains(':') {
        return PortSpec::Invalid(
            "a host mapping, which EXPOSE ignores; publish with `docker run -p`",
        );
    }
    let (a, b) = ports.split_once('-').unwrap_or((ports, ports));
    let (Some(from), Some(to)) = (number(a), number(b)) else {
        return PortSpec::Invalid("not a port number");
    };
    if from > to {
        return PortSpec::Invalid("the range ends before it starts");
    }
    PortSpec::Ports { from, to, protocol }
}

/// A decimal number of at most 10 digits.
fn number(s: &str) -> Option<u32> {
    if s.is_empty() || s.len() > 10 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<u64>()
        .ok()
        .map(|n| u32::try_from(n).unwrap_or(u32::MAX))
}

#[cfg(test)]
mod tests {
    use super::{PortSpec, parse_port_spec};

    fn ports(from: u32, to: u32, p: &str) -> PortSpec {
        PortSpec::Ports {
            from,
            to,
            protocol: p.to_string(),
        }
    }

    #[test]
    fn specs() {
        assert_eq!(parse_port_spec("22"), ports(22, 22, "tcp"));
        assert_eq!(parse_port_spec("53/UDP"), ports(53, 53, "udp"));
        assert_eq!(parse_port_spec("8000-8080/tcp"), ports(8000, 8080, "tcp"));
        assert_eq!(parse_port_spec("70000"), ports(70000, 70000, "tcp"));
        assert_eq!(parse_port_spec("${PORT}"), PortSpec::Variable);
        assert!(matches!(parse_port_spec("80/foo"), PortSpec::Invalid(_)));
        assert!(matches!(parse_port_spec("http"), PortSpec::Invalid(_)));
        assert!(matches!(parse_port_spec("8080:80"), PortSpec::Invalid(_)));
        assert!(matches!(parse_port_spec("90-80"), PortSpec::Invalid(_)));
        assert!(matches!(parse_port_spec("-1"), PortSpec::Invalid(_)));
        assert!(matches!(
            parse_port_spec("99999999999999999999"),
            PortSpec::Invalid(_)
        ));
    }
}

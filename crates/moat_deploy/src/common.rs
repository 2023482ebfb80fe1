//! Value syntaxes shared by compose and `docker run`: ports, volumes, devices, security
//! options, capabilities, sizes, restart policies and ulimits.

use crate::facts::{
    ByteSize, CpuLimit, Device, Mount, MountKind, PortMapping, SecurityOpt, SecurityOptKind,
    Syntax, Ulimit,
};

/// Upper-cases a capability and removes a `CAP_` prefix.
pub fn normalize_cap(s: &str) -> String {
    let up = s.trim().to_ascii_uppercase();
    up.strip_prefix("CAP_").map_or(up.clone(), str::to_string)
}

/// Parses a security option (`seccomp=…`, `seccomp:…`, `apparmor=…`, `label=…`,
/// `no-new-privileges[=|:]bool`).
pub fn parse_security_opt(raw: &str) -> SecurityOpt {
    let s = raw.trim();
    let (key, value) = match s.find(['=', ':']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let kind = match (key.to_ascii_lowercase().as_str(), value) {
        ("seccomp", Some(v)) => SecurityOptKind::Seccomp(v.to_string()),
        ("apparmor", Some(v)) => SecurityOptKind::Apparmor(v.to_string()),
        ("label", Some(v)) => SecurityOptKind::Label(v.to_string()),
        ("no-new-privileges", None) => SecurityOptKind::NoNewPrivileges(true),
        ("no-new-privileges", Some(v)) => SecurityOptKind::NoNewPrivileges(!matches!(
            v.to_ascii_lowercase().as_str(),
            "false" | "0"
        )),
        _ => SecurityOptKind::Other(s.to_string()),
    };
    SecurityOpt {
        kind,
        raw: raw.to_string(),
    }
}

/// Parses `8080`, `1g`, `512MiB`, `100kb` into bytes.
pub(crate) fn parse_byte_size(raw: &str) -> ByteSize {
    let s = raw.trim().to_ascii_lowercase();
    let digits_end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(digits_end);
    let unit = unit.trim();
    let mult: Option<u64> = match unit {
        "" | "b" => Some(1),
        "k" | "kb" | "kib" => Some(1 << 10),
        "m" | "mb" | "mib" => Some(1 << 20),
        "g" | "gb" | "gib" => Some(1 << 30),
        "t" | "tb" | "tib" => Some(1 << 40),
        _ => None,
    };
    let bytes = match (num.parse::<f64>(), mult) {
        (Ok(n), Some(m)) if n.is_finite() && n >= 0.0 => {
            let v = n * m as f64;
            (v < 1.8e19).then_some(v as u64)
        }
        _ => None,
    };
    ByteSize {
        raw: raw.to_string(),
        bytes,
    }
}

/// Parses a CPU count.
pub(crate) fn parse_cpus(raw: &str) -> CpuLimit {
    let cpus = raw.trim().parse::<f64>().ok().filter(|c| c.is_finite());
    CpuLimit {
        raw: raw.to_string(),
        cpus,
    }
}

fn port_range(s: &str) -> Option<(u16, u16)> {
    if let Some((a, b)) = s.split_once('-') {
        Some((a.trim().parse().ok()?, b.trim().parse().ok()?))
    } else {
        let p = s.trim().parse().ok()?;
        Some((p, p))
    }
}

/// Parses the short port syntax `[[HOST_IP:][HOST_PORT]:]CONTAINER_PORT[/PROTO]`, IPv6 host
/// addresses in brackets or bare. Errors name what is wrong.
pub(crate) fn parse_port_short(raw: &str) -> Result<PortMapping, String> {
    let s = raw.trim();
    let (body, protocol) = match s.rsplit_once('/') {
        Some((b, p)) => (b, p.to_ascii_lowercase()),
        None => (s, "tcp".to_string()),
    };
    if !matches!(protocol.as_str(), "tcp" | "udp" | "sctp") {
        return Err(format!("invalid protocol `{protocol}` in port `{raw}`"));
    }
    let (host_ip, rest): (Option<String>, &str) = if let Some(r) = body.strip_prefix('[') {
        let Some((ip, after)) = r.split_once(']') else {
            return Err(format!("unclosed `[` in port `{raw}`"));
        };
        let Some(after) = after.strip_prefix(':') else {
            return Err(format!("expected `:` after `]` in port `{raw}`"));
        };
        (Some(ip.to_string()), after)
    } else {
        let parts: Vec<&str> = body.split(':').collect();
        let n = parts.len();
        match n {
            // bare IPv6 address when more than three parts: the last two are the ports
            3.. => {
                let ip = parts[..n - 2].join(":");
                let rest = &body[ip.len() + 1..];
                (Some(ip), rest)
            }
            _ => (None, body),
        }
    };
    let (published, target) = match rest.split_once(':') {
        Some((p, t)) => ((!p.is_empty()).then(|| p.to_string()), t.to_string()),
        None => (None, rest.to_string()),
    };
    if target.is_empty() {
        return Err(format!("missing container port in `{raw}`"));
    }
    let target_range = port_range(&target);
    if target_range.is_none() && !target.contains('$') {
        return Err(format!("invalid container port `{target}` in `{raw}`"));
    }
    let published_range = published.as_deref().and_then(port_range);
    Ok(PortMapping {
        host_ip: host_ip.filter(|h| !h.is_empty()),
        published_range,
        published,
        target,
        target_range,
        protocol,
        mode: None,
        syntax: Syntax::Short,
        published_at: None,
    })
}

/// Whether a short-syntax volume source is a host path.
fn is_host_path(s: &str) -> bool {
    s.starts_with(['/', '.', '~', '\\', '$'])
        || (s.len() >= 2 && s.as_bytes()[1] == b':' && s.as_bytes()[0].is_ascii_alphabetic())
}

/// Parses `[SOURCE:]TARGET[:OPTIONS]` (`-v` and compose short syntax).
pub(crate) fn parse_volume_short(raw: &str) -> Result<Mount, String> {
    let s = raw.trim();
    let mut parts: Vec<String> = Vec::new();
    for p in s.split(':') {
        // re-join Windows drive letters (`C:\data`)
        let first_only = parts.len() == 1;
        if let Some(last) = parts.last_mut()
            && first_only
            && last.len() == 1
            && last.as_bytes()[0].is_ascii_alphabetic()
            && (p.starts_with('\\') || p.starts_with('/'))
        {
            last.push(':');
            last.push_str(p);
            continue;
        }
        parts.push(p.to_string());
    }
    let (source, target, opts) = match parts.len() {
        1 => (None, parts[0].clone(), String::new()),
        2 => (Some(parts[0].clone()), parts[1].clone(), String::new()),
        3 => (Some(parts[0].clone()), parts[1].clone(), parts[2].clone()),
        _ => return Err(format!("invalid volume specification `{raw}`")),
    };
    if target.is_empty() {
        return Err(format!("missing container path in volume `{raw}`"));
    }
    let source = source.filter(|x| !x.is_empty());
    let kind = match &source {
        Some(src) if is_host_path(src) => MountKind::Bind,
        _ => MountKind::Volume,
    };
    let mut m = Mount {
        kind,
        source,
        target,
        read_only: false,
        propagation: None,
        selinux: None,
        syntax: Syntax::Short,
    };
    for o in opts.split(',').filter(|o| !o.is_empty()) {
        match o {
            "ro" | "readonly" => m.read_only = true,
            "z" | "Z" => m.selinux = Some(o.to_string()),
            "shared" | "rshared" | "slave" | "rslave" | "private" | "rprivate" => {
                m.propagation = Some(o.to_string());
            }
            _ => {}
        }
    }
    Ok(m)
}

/// Parses `HOST[:CONTAINER[:PERMISSIONS]]`.
pub(crate) fn parse_device_short(raw: &str) -> Device {
    let mut it = raw.trim().splitn(3, ':');
    let host = it.next().unwrap_or("").to_string();
    let mut container = it.next().map(str::to_string);
    let mut permissions = it.next().map(str::to_string);
    if permissions.is_none()
        && container
            .as_deref()
            .is_some_and(|c| !c.starts_with('/') && c.chars().all(|x| "rwm".contains(x)))
    {
        permissions = container.take();
    }
    Device {
        host,
        container,
        permissions,
    }
}

/// Parses `no`, `always`, `unless-stopped`, `on-failure[:N]`. Returns the policy and the byte
/// offset of N in `raw`, when given.
pub(crate) fn parse_restart(raw: &str) -> Result<(String, Option<(u32, usize)>), String> {
    let s = raw.trim();
    let (name, n) = match s.split_once(':') {
        Some((a, b)) => (a, Some(b)),
        None => (s, None),
    };
    if !matches!(name, "no" | "always" | "unless-stopped" | "on-failure") {
        return Err(format!("invalid restart policy `{raw}`"));
    }
    let retries = match n {
        None => None,
        Some(n) => {
            let v: u32 = n
                .trim()
                .parse()
                .map_err(|_| format!("invalid restart count in `{raw}`"))?;
            let off = raw.find(':').map_or(0, |i| i + 1);
            Some((v, off))
        }
    };
    Ok((name.to_string(), retries))
}

/// Parses `name=soft[:hard]` (`--ulimit`).
pub(crate) fn parse_ulimit_flag(raw: &str) -> Result<Ulimit, String> {
    let Some((name, vals)) = raw.split_once('=') else {
        return Err(format!(
            "invalid ulimit `{raw}` (expected name=soft[:hard])"
        ));
    };
    let parse = |v: &str| {
        v.trim()
            .parse::<i64>()
            .map_err(|_| format!("invalid ulimit value in `{raw}`"))
    };
    let (soft, hard) = if let Some((s, h)) = vals.split_once(':') {
        (parse(s)?, parse(h)?)
    } else {
        let v = parse(vals)?;
        (v, v)
    };
    Ok(Ulimit {
        name: name.trim().to_string(),
        soft: Some(soft),
        hard: Some(hard),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports() {
        let p = parse_port_short("127.0.0.1:8080:80/udp").unwrap();
        assert_eq!(p.host_ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(p.published_range, Some((8080, 8080)));
        assert_eq!(p.protocol, "udp");
        let p = parse_port_short("[::1]:80:80").unwrap();
        assert_eq!(p.host_ip.as_deref(), Some("::1"));
        let p = parse_port_short("::1:80:81").unwrap();
        assert_eq!(
            (p.host_ip.as_deref(), p.target.as_str()),
            (Some("::1"), "81")
        );
        let p = parse_port_short("8000-8010:80-90").unwrap();
        assert_eq!(p.published_range, Some((8000, 8010)));
        let p = parse_port_short("3000").unwrap();
        assert_eq!((p.published, p.host_ip), (None, None));
        let p = parse_port_short("127.0.0.1::80").unwrap();
        assert_eq!(p.published, None);
        assert!(parse_port_short("80/xyz").is_err());
        assert!(parse_port_short("a:b").is_err());
    }

    #[test]
    fn volumes() {
        let m = parse_volume_short("/var/run/docker.sock:/var/run/docker.sock:ro,rshared").unwrap();
        assert_eq!(m.kind, MountKind::Bind);
        assert!(m.read_only);
        assert_eq!(m.propagation.as_deref(), Some("rshared"));
        let m = parse_volume_short("data:/data").unwrap();
        assert_eq!(m.kind, MountKind::Volume);
        let m = parse_volume_short("/data").unwrap();
        assert_eq!((m.kind, m.source), (MountKind::Volume, None));
        let m = parse_volume_short("C:\\x:/data").unwrap();
        assert_eq!(m.source.as_deref(), Some("C:\\x"));
    }

    #[test]
    fn misc() {
        assert_eq!(normalize_cap("cap_sys_admin"), "SYS_ADMIN");
        assert_eq!(parse_byte_size("512m").bytes, Some(512 << 20));
        assert_eq!(parse_byte_size("1GiB").bytes, Some(1 << 30));
        assert_eq!(parse_byte_size("x").bytes, None);
        assert_eq!(
            parse_security_opt("seccomp:unconfined").kind,
            SecurityOptKind::Seccomp("unconfined".into())
        );
        assert_eq!(
            parse_security_opt("no-new-privileges:false").kind,
            SecurityOptKind::NoNewPrivileges(false)
        );
        assert_eq!(
            parse_restart("on-failure:7").unwrap(),
            ("on-failure".into(), Some((7, 11)))
        );
        assert!(parse_restart("sometimes").is_err());
        assert_eq!(
            parse_device_short("/dev/fuse:rwm").permissions.as_deref(),
            Some("rwm")
        );
        let u = parse_ulimit_flag("nofile=1024:2048").unwrap();
        assert_eq!((u.soft, u.hard), (Some(1024), Some(2048)));
    }
}

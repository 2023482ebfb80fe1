//! How engine objects are named in locations.

use moat_diagnostics::Location;

/// Names the objects of one engine host: `container:NAME`, `image:REF`, `network:NAME`,
/// `daemon:HOST`. With [`ObjectNames::qualified`] (several hosts read in one audit), a
/// container, image or network name gets ` @ HOST` appended (`container:web @
/// tcp://10.0.0.5:2376`), so two hosts' `web` stay apart in a report; the daemon's name always
/// is its host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectNames {
    /// The engine host, as given.
    pub host: String,
    /// Append the host to object names.
    pub qualified: bool,
}

impl ObjectNames {
    /// Names for objects of `host`, qualified with it or not.
    pub fn new(host: impl Into<String>, qualified: bool) -> Self {
        Self {
            host: host.into(),
            qualified,
        }
    }

    /// `KIND:NAME`, with ` @ HOST` when qualified.
    pub fn name(&self, kind: &str, name: &str) -> String {
        if self.qualified {
            format!("{kind}:{name} @ {}", self.host)
        } else {
            format!("{kind}:{name}")
        }
    }

    /// The location of object `KIND:NAME`.
    pub fn location(&self, kind: &str, name: &str) -> Location {
        Location::object(self.name(kind, name))
    }

    /// The location of the daemon: `daemon:HOST`.
    pub fn daemon(&self) -> Location {
        Location::object(format!("daemon:{}", self.host))
    }
}

/// The first 12 hex digits of an id (`sha256:` removed), as `docker` shows ids.
pub fn short_id(id: &str) -> &str {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    hex.get(..12).unwrap_or(hex)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let n = ObjectNames::new("unix:///var/run/docker.sock", false);
        assert_eq!(n.name("container", "web"), "container:web");
        assert_eq!(n.daemon().path, "daemon:unix:///var/run/docker.sock");
        let n = ObjectNames::new("tcp://10.0.0.5:2376", true);
        let loc = n.location("image", "nginx:1.27");
        assert_eq!(
            loc.object.as_deref(),
            Some("image:nginx:1.27 @ tcp://10.0.0.5:2376")
        );
        assert_eq!(
            short_id("sha256:3f677f58c10b751d640170b05b"),
            "3f677f58c10b"
        );
    }
}

/// Locates values at one object.
#[derive(Debug, Clone, Copy)]
pub(crate) struct At<'a>(pub(crate) &'a Location);

impl At<'_> {
    /// `value`, located at the object.
    pub(crate) fn of<T>(self, value: T) -> moat_deploy::Located<T> {
        moat_deploy::Located::new(value, self.0.clone())
    }
}

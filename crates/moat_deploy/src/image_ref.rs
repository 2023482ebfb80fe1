//! Image references: `[registry/]repository[:tag][@digest]`, following the rules the Docker CLI
//! uses to tell a registry host from a repository path. One type for the audit (`FROM`, compose
//! `image:`), the live engine (a container's image, an image's tags) and the scanner.

/// A parsed image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// Registry host (with port) when the first path component is one; `None` means Docker Hub.
    pub registry: Option<String>,
    /// Repository path without registry, tag or digest.
    pub repository: String,
    /// Tag, if written.
    pub tag: Option<String>,
    /// Digest (`sha256:…`), if written.
    pub digest: Option<String>,
}

impl ImageRef {
    /// Parses `reference`. Returns `None` for an empty string.
    pub fn parse(reference: &str) -> Option<ImageRef> {
        let reference = reference.trim();
        if reference.is_empty() {
            return None;
        }
        let (rest, digest) = match reference.split_once('@') {
            Some((r, d)) => (r, Some(d.to_string())),
            None => (reference, None),
        };
        // A `:` after the last `/` separates the tag; one before it belongs to a registry port.
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => (
                &rest[..last_slash + i],
                Some(rest[last_slash + i + 1..].to_string()),
            ),
            None => (rest, None),
        };
        let (registry, repository) = match name.split_once('/') {
            Some((first, path))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (Some(first.to_ascii_lowercase()), path.to_string())
            }
            _ => (None, name.to_string()),
        };
        Some(ImageRef {
            registry,
            repository,
            tag,
            digest,
        })
    }

    /// The reference as `docker` shows it: Docker Hub's `docker.io/` and `library/` left out,
    /// and `:latest` added when neither a tag nor a digest is written (`nginx` →
    /// `nginx:latest`, `docker.io/library/nginx:1.27` → `nginx:1.27`). Two references name the
    /// same image tag when their familiar forms are equal.
    pub fn familiar(&self) -> String {
        let hub = self.registry.as_deref().is_none_or(|r| {
            r == "docker.io" || r == "index.docker.io" || r == "registry-1.docker.io"
        });
        let mut out = if hub {
            self.repository
                .strip_prefix("library/")
                .unwrap_or(&self.repository)
                .to_string()
        } else {
            format!(
                "{}/{}",
                self.registry.as_deref().unwrap_or_default(),
                self.repository
            )
        };
        match (&self.tag, &self.digest) {
            (Some(tag), _) => {
                out.push(':');
                out.push_str(tag);
            }
            (None, None) => out.push_str(":latest"),
            (None, Some(_)) => {}
        }
        if let Some(d) = &self.digest {
            out.push('@');
            out.push_str(d);
        }
        out
    }

    /// The registry host, with Docker Hub written `docker.io`.
    pub fn registry_or_hub(&self) -> &str {
        self.registry.as_deref().unwrap_or("docker.io")
    }

    /// Whether this is the empty `scratch` image.
    pub fn is_scratch(&self) -> bool {
        self.registry.is_none() && self.repository.eq_ignore_ascii_case("scratch")
    }

    /// Whether the reference still contains an unexpanded variable.
    pub fn has_variable(reference: &str) -> bool {
        reference.contains('$')
    }

    /// Whether `other` names the same repository of the same registry, whatever the tags and
    /// digests (`acme/api:dev` and `docker.io/acme/api`; `redis` and `library/redis`).
    pub fn same_repository(&self, other: &ImageRef) -> bool {
        let key = |i: &ImageRef| {
            let repo = i.repository.to_ascii_lowercase();
            let repo = repo
                .strip_prefix("library/")
                .map_or_else(|| repo.clone(), str::to_string);
            (i.registry_or_hub().to_string(), repo)
        };
        key(self) == key(other)
    }

    /// Whether the image is one of `built` (references as written, of images built locally:
    /// `docker build -t`, compose `build:` with `image:`), by [`ImageRef::same_repository`].
    pub fn is_one_of(&self, built: &[String]) -> bool {
        built
            .iter()
            .filter_map(|b| ImageRef::parse(b))
            .any(|b| self.same_repository(&b))
    }

    /// The last path component of the repository (`library/postgres` → `postgres`).
    pub fn short_name(&self) -> &str {
        self.repository
            .rsplit('/')
            .next()
            .unwrap_or(&self.repository)
    }
}

#[cfg(test)]
mod tests {
    use super::ImageRef;

    #[test]
    fn parses_references() {
        let r = ImageRef::parse("node:20-alpine").unwrap();
        assert_eq!(
            (r.registry, r.repository.as_str(), r.tag.as_deref()),
            (None, "node", Some("20-alpine"))
        );
        let r = ImageRef::parse("localhost:5000/team/api@sha256:abc").unwrap();
        assert_eq!(r.registry.as_deref(), Some("localhost:5000"));
        assert_eq!(r.repository, "team/api");
        assert_eq!(r.tag, None);
        assert_eq!(r.digest.as_deref(), Some("sha256:abc"));
        let r = ImageRef::parse("ghcr.io/org/img:1.2").unwrap();
        assert_eq!(r.registry_or_hub(), "ghcr.io");
        assert_eq!(r.short_name(), "img");
        let r = ImageRef::parse("library/ubuntu").unwrap();
        assert_eq!(r.registry_or_hub(), "docker.io");
        assert!(r.same_repository(&ImageRef::parse("docker.io/ubuntu:24.04").unwrap()));
        assert!(!r.same_repository(&ImageRef::parse("ghcr.io/library/ubuntu").unwrap()));
        assert!(r.is_one_of(&["ubuntu:dev".to_string()]));
        assert!(ImageRef::parse("scratch").unwrap().is_scratch());
    }
}

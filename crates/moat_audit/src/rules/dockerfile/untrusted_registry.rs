use crate::context::{DockerfileContext, Emitter};
use crate::rule::declare_rule;
use crate::rules::dockerfile::helpers::base_image::pulled_images;

declare_rule! {
    /// ## What it does
    /// Reports an image pulled from a registry that is not in the configured list of trusted
    /// registries (`[dockerfile] trusted-registries` in `.moat.toml`): a base image, or an image
    /// named by `COPY --from=<image>` or `RUN --mount=…,from=<image>`, whose files end up in the
    /// image or run in the build just the same. With no list configured the rule reports
    /// nothing.
    ///
    /// ## Why is this bad?
    /// Base images are code you run with your secrets. Limiting them to registries you control
    /// or vet (your own mirror, a verified publisher) shrinks the supply-chain attack surface.
    ///
    /// ## Example
    /// With `trusted-registries = ["registry.example.com"]`:
    /// ```dockerfile
    /// FROM docker.io/someone/node-with-extras:1.0
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// FROM registry.example.com/base/node:20
    /// ```
    ///
    /// ## Fix
    /// Mirror the image into a trusted registry, or add the registry to the list after review.
    /// An entry may name a registry (`ghcr.io`), a registry and path prefix (`ghcr.io/my-org`),
    /// every subdomain of a domain (`*.example.com`), or anything (`*`); Docker Hub is
    /// `docker.io`.
    ///
    /// ## References
    /// - hadolint DL3026 (same idea: `--trusted-registry`, also applied to `COPY --from` and
    ///   mounts).
    /// - CIS Docker Benchmark 4.2 (use trusted base images).
    pub struct UntrustedRegistry {
        code: "D004",
        name: "untrusted-registry",
        summary: "an image comes from a registry that is not trusted",
        severity: Medium,
        confidence: High,
        default_enabled: true,
        references: ["DL3026", "CIS-DOCKER-4.2"],
        check: Dockerfile,
    }
}

pub(crate) fn check(ctx: &DockerfileContext<'_>, out: &mut Emitter<'_>) {
    let trusted = &ctx.settings.trusted_registries;
    if trusted.is_empty() {
        return;
    }
    for image in pulled_images(ctx) {
        if image.unresolved {
            continue;
        }
        let registry = image.image.registry_or_hub();
        let full = format!("{registry}/{}", image.image.repository).to_ascii_lowercase();
        if !trusted.iter().any(|t| is_trusted(t, registry, &full)) {
            out.emit(
                &UntrustedRegistry::INFO,
                image.span,
                format!(
                    "{} comes from `{registry}`, which is not a trusted registry",
                    image.describe()
                ),
            );
        }
    }
}

/// Whether the entry `trusted` covers an image of `registry` whose full name is `full`.
fn is_trusted(trusted: &str, registry: &str, full: &str) -> bool {
    if trusted == "*" {
        return true;
    }
    if let Some(domain) = trusted.strip_prefix("*.") {
        let host = registry.split(':').next().unwrap_or(registry);
        return host.len() > domain.len()
            && host.ends_with(domain)
            && host[..host.len() - domain.len()].ends_with('.');
    }
    full == trusted
        || full.starts_with(&format!("{trusted}/"))
        || (trusted == "hub.docker.com" && registry == "docker.io")
}

#[cfg(test)]
mod tests {
    use super::is_trusted;

    #[test]
    fn entries() {
        assert!(is_trusted("*", "quay.io", "quay.io/x"));
        assert!(is_trusted(
            "*.example.com",
            "cr.example.com",
            "cr.example.com/a"
        ));
        assert!(is_trusted(
            "*.example.com",
            "cr.example.com:5000",
            "cr.example.com:5000/a"
        ));
        assert!(!is_trusted("*.example.com", "example.com", "example.com/a"));
        assert!(!is_trusted(
            "*.example.com",
            "badexample.com",
            "badexample.com/a"
        ));
        assert!(is_trusted("ghcr.io/org", "ghcr.io", "ghcr.io/org/img"));
        assert!(!is_trusted(
            "ghcr.io/org",
            "ghcr.io",
            "ghcr.io/organisation/img"
        ));
    }
}

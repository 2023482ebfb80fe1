use crate::context::{DockerfileContext, Emitter};
use crate::rule::declare_rule;
use crate::rules::dockerfile::helpers::base_image::base_images;

declare_rule! {
    /// ## What it does
    /// Reports a base image pulled from a registry that is not in the configured list of
    /// trusted registries (`[dockerfile] trusted-registries` in `.moat.toml`). With no list
    /// configured the rule reports nothing.
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
    /// An entry may name a registry (`ghcr.io`) or a registry and path prefix (`ghcr.io/my-org`);
    /// Docker Hub is `docker.io`.
    ///
    /// ## References
    /// - hadolint DL3026 (same idea: `--trusted-registry`).
    /// - CIS Docker Benchmark 4.2 (use trusted base images).
    pub struct UntrustedRegistry {
        code: "D004",
        name: "untrusted-registry",
        summary: "base image comes from a registry that is not trusted",
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
    for base in base_images(ctx) {
        if base.unresolved {
            continue;
        }
        let registry = base.image.registry_or_hub();
        let full = format!("{registry}/{}", base.image.repository).to_ascii_lowercase();
        let ok = trusted.iter().any(|t| {
            full == *t
                || full.starts_with(&format!("{t}/"))
                || (t == "hub.docker.com" && registry == "docker.io")
        });
        if !ok {
            out.emit(
                &UntrustedRegistry::INFO,
                base.stage.image.span,
                format!(
                    "base image `{}` comes from `{registry}`, which is not a trusted registry",
                    base.stage.image_resolved
                ),
            );
        }
    }
}

use moat_deploy::SourceKind;

use crate::context::{ContainerContext, Emitter};
use crate::rule::declare_rule;

declare_rule! {
    /// ## What it does
    /// Reports a container whose root filesystem is writable: no `read_only: true` in compose,
    /// no `docker run --read-only`. `read_only: false` is reported at the value.
    ///
    /// ## Why is this bad?
    /// An attacker who gets code execution in a writable container can drop tools, replace
    /// binaries or scripts the application runs later, and persist until the container is
    /// recreated. A read-only root filesystem also makes accidental writes outside the
    /// declared volumes fail loudly instead of filling the container layer.
    ///
    /// ## Example
    /// ```yaml
    /// services:
    ///   api:
    ///     image: example/api:1.4
    /// ```
    ///
    /// Use instead:
    /// ```yaml
    /// services:
    ///   api:
    ///     image: example/api:1.4
    ///     read_only: true
    ///     tmpfs:
    ///       - /tmp
    /// ```
    ///
    /// ## Fix
    /// Set `read_only: true` (`docker run --read-only`) and give the paths the process must
    /// write to a `tmpfs` or a volume.
    ///
    /// ## References
    /// - CIS Docker Benchmark 5.13 (the container's root filesystem is mounted read-only).
    /// - Docker Bench for Security check 5.13; KICS "Container Root Filesystem Not Read-Only".
    pub struct WritableRootFilesystem {
        code: "C023",
        name: "writable-root-filesystem",
        summary: "container root filesystem is writable",
        severity: Medium,
        confidence: High,
        default_enabled: true,
        fix: Unsafe,
        references: ["CIS-DOCKER-5.13"],
        check: Container,
    }
}

pub(crate) fn check(ctx: &ContainerContext<'_>, out: &mut Emitter<'_>) {
    let facts = ctx.facts;
    match &facts.read_only {
        None => {
            out.emit_at(
                &WritableRootFilesystem::INFO,
                facts.location.clone(),
                format!("`{}` has a writable root filesystem", facts.name),
            );
        }
        // a live engine always says `ReadonlyRootfs`: false there is the default, not a setting
        Some(r) if !r.value && facts.source_kind == SourceKind::Engine => {
            out.emit_at(
                &WritableRootFilesystem::INFO,
                facts.location.clone(),
                format!("`{}` has a writable root filesystem", facts.name),
            );
        }
        Some(r) if !r.value => {
            out.emit_at(
                &WritableRootFilesystem::INFO,
                r.location.clone(),
                format!(
                    "`{}` sets `read_only: false`: its root filesystem is writable",
                    facts.name
                ),
            );
        }
        Some(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::check;
    use crate::rules::container::helpers::compose_testing::{compose_lines, run_findings};

    #[test]
    fn read_only_true_is_fine() {
        let yaml = "services:\n  a:\n    image: x\n  b:\n    image: x\n    read_only: true\n  c:\n    image: x\n    read_only: false\n";
        assert_eq!(compose_lines(check, yaml), [2, 9]);
        assert!(run_findings(check, "docker run --read-only nginx:1.27").is_empty());
        assert_eq!(run_findings(check, "docker run nginx:1.27").len(), 1);
    }
}

#[cfg(test)]
mod live_tests {
    use moat_deploy::Located;

    use super::check;
    use crate::config::Settings;
    use crate::context::{ContainerContext, Emitter};
    use crate::rules::container::helpers::live_testing::live_container;

    #[test]
    fn a_live_container_says_read_only_either_way() {
        let settings = Settings::default();
        for (read_only, want) in [(false, 1), (true, 0)] {
            let mut facts = live_container("api", "api:1", "sha256:aa", &[]);
            facts.read_only = Some(Located::new(read_only, facts.location.clone()));
            let ctx = ContainerContext {
                facts: &facts,
                project: None,
                built_images: &[],
                images: &[],
                settings: &settings,
            };
            let mut out = Emitter::detached();
            check(&ctx, &mut out);
            let got = out.into_findings();
            assert_eq!(got.len(), want);
            if let Some(f) = got.first() {
                assert_eq!(f.message, "`api` has a writable root filesystem");
            }
        }
    }
}

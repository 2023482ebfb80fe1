use crate::context::{ContainerContext, Emitter};
use crate::rule::{Confidence, Severity, declare_rule};

declare_rule! {
    /// ## What it does
    /// Reports a container that runs as root: `user: root`, `user: "0"`, `user: "0:0"`,
    /// `-u root:1000`… (medium severity, high confidence).
    ///
    /// A container without `user:` runs as the image's `USER`, which this rule cannot see. It
    /// is reported too, at the service, with low severity and low confidence, so that the
    /// default output mentions it without insisting; services that `build:` their image are
    /// skipped, since the Dockerfile rules (`D020`, `D021`) judge their `USER`. Interpolated
    /// values (`user: ${UID}`) are never reported.
    ///
    /// ## Why is this bad?
    /// Root in a container is root on the host's kernel, only fenced by namespaces and
    /// capabilities. Any escape, writable host mount or device then acts as uid 0, and files
    /// the process writes to volumes belong to root.
    ///
    /// ## Example
    /// ```yaml
    /// services:
    ///   api:
    ///     image: example/api:1.4
    ///     user: root
    /// ```
    ///
    /// Use instead:
    /// ```yaml
    /// services:
    ///   api:
    ///     image: example/api:1.4
    ///     user: "10001:10001"
    /// ```
    ///
    /// ## Fix
    /// Set a non-root numeric uid and gid (`user: "10001:10001"`, `-u 10001:10001`), and give
    /// that user ownership of the paths it writes.
    ///
    /// ## References
    /// - CIS Docker Benchmark 4.1 (a user for the container has been created).
    pub struct RootUser {
        code: "C018",
        name: "container-root-user",
        summary: "container runs as root",
        severity: Medium,
        confidence: High,
        default_enabled: true,
        references: ["CIS-DOCKER-4.1"],
        check: Container,
    }
}

/// Whether a `user[:group]` value names root as the user.
pub(crate) fn is_root(user: &str) -> bool {
    let name = user.split(':').next().unwrap_or("").trim();
    name == "root" || (!name.is_empty() && name.parse::<u64>() == Ok(0))
}

pub(crate) fn check(ctx: &ContainerContext<'_>, out: &mut Emitter<'_>) {
    let f = ctx.facts;
    match &f.user {
        Some(u) if u.interpolated || u.value.contains('$') => {}
        Some(u) if is_root(&u.value) => {
            out.emit_at(
                &RootUser::INFO,
                u.location.clone(),
                format!("`{}` runs as root (`{}`)", f.name, u.value.trim()),
            );
        }
        Some(_) => {}
        None if f.build.is_some() || f.image.is_none() => {}
        None => {
            let finding = out.emit_at(
                &RootUser::INFO,
                f.location.clone(),
                format!(
                    "`{}` sets no `user`: it runs as the image's USER, root unless the image says otherwise",
                    f.name
                ),
            );
            finding.severity = Severity::Low;
            finding.confidence = Confidence::Low;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_root;

    #[test]
    fn recognises_root() {
        for u in ["root", "0", "0:0", "root:root", "00", "root:1000"] {
            assert!(is_root(u), "{u}");
        }
        for u in ["1000", "1000:0", "app", "", ":0", "rootless"] {
            assert!(!is_root(u), "{u}");
        }
    }
}

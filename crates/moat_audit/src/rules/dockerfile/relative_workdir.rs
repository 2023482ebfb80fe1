use moat_dockerfile::Kind;

use crate::context::{DockerfileContext, Emitter};
use crate::rule::declare_rule;

declare_rule! {
    /// ## What it does
    /// Reports a `WORKDIR` with a relative path (`WORKDIR app`, `WORKDIR ~/app`). Paths that
    /// start with a variable (`WORKDIR $HOME/app`) are not judged, and Windows paths with a drive
    /// (`WORKDIR C:\app`) are absolute.
    ///
    /// ## Why is this bad?
    /// A relative `WORKDIR` is resolved against the previous one, which may come from the base
    /// image and change when it is updated; the files then land somewhere else and `CMD` runs in
    /// an unexpected directory. `~` is not expanded by `WORKDIR`: `WORKDIR ~/app` creates a
    /// directory literally named `~`.
    ///
    /// ## Example
    /// ```dockerfile
    /// FROM python:3.12-slim
    /// WORKDIR app
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// FROM python:3.12-slim
    /// WORKDIR /app
    /// ```
    ///
    /// ## Fix
    /// Write the absolute path.
    ///
    /// ## References
    /// - hadolint DL3000.
    pub struct RelativeWorkdir {
        code: "D104",
        name: "relative-workdir",
        summary: "WORKDIR is not an absolute path",
        severity: Low,
        confidence: High,
        default_enabled: true,
        references: ["DL3000"],
        check: Dockerfile,
    }
}

pub(crate) fn check(ctx: &DockerfileContext<'_>, out: &mut Emitter<'_>) {
    for instr in ctx.of_kind(Kind::Workdir) {
        let words = instr.words();
        let Some(path) = words.first() else { continue };
        if !is_absolute(&path.value) {
            out.emit(
                &RelativeWorkdir::INFO,
                path.span,
                format!("WORKDIR `{}` is relative: use an absolute path", path.value),
            );
        }
    }
}

/// Absolute, or starting with a variable (not judged).
fn is_absolute(path: &str) -> bool {
    let b = path.as_bytes();
    path.starts_with(['/', '\\', '$'])
        || (b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':')
}

#[cfg(test)]
mod tests {
    use super::is_absolute;

    #[test]
    fn absolute_paths() {
        for p in [
            "/app",
            "$HOME/app",
            "${APP_DIR}",
            r"C:\app",
            "c:/app",
            r"\app",
        ] {
            assert!(is_absolute(p), "{p}");
        }
        for p in ["app", "./app", "~/app", "app/$X", ""] {
            assert!(!is_absolute(p), "{p}");
        }
    }
}

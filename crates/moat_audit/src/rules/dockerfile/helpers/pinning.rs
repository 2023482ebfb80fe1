//! Whether a package argument names a version, per package manager (the conventions hadolint's
//! DL3008/DL3013/DL3016/DL3018/DL3028/DL3033 use, written down from their documentation and
//! observed behaviour).

use moat_dockerfile::Word;

use super::pkg::{Manager, PkgCommand};

/// Package arguments of an install that carry no version. Empty when the install is driven by a
/// requirements or lock file.
pub fn unpinned<'a>(p: &PkgCommand<'a>) -> Vec<&'a Word> {
    if p.manager == Manager::Pip && p.has_flag(&["--requirement", "--constraint"], &['r', 'c']) {
        return Vec::new();
    }
    if p.manager == Manager::Gem && p.has_flag(&["--version"], &['v']) {
        return Vec::new();
    }
    p.packages()
        .into_iter()
        .filter(|w| !is_pinned(p.manager, &w.value))
        .collect()
}

/// Whether one package argument is pinned (or is not a registry package at all).
pub fn is_pinned(manager: Manager, pkg: &str) -> bool {
    let lower = pkg.to_ascii_lowercase();
    let ext = |e: &str| lower.ends_with(e);
    let local =
        pkg.starts_with('.') || pkg.starts_with('/') || pkg.starts_with('~') || pkg.contains('$');
    match manager {
        Manager::AptGet | Manager::Apt => pkg.contains('=') || ext(".deb") || pkg.contains('/'),
        Manager::Apk => pkg.contains('=') || pkg.contains('~') || ext(".apk"),
        Manager::Pip => {
            local
                || ["==", ">=", "<=", "~=", "!=", "<", ">", "@"]
                    .iter()
                    .any(|op| pkg.contains(op))
                || [".whl", ".tar.gz", ".zip", ".tar.bz2"]
                    .iter()
                    .any(|ext| pkg.ends_with(ext))
        }
        Manager::Npm => {
            let name = pkg.strip_prefix('@').unwrap_or(pkg);
            local
                || name.contains('@')
                || pkg.contains('#')
                || ext(".tgz")
                || ext(".tar.gz")
                || pkg.contains("://") && pkg.contains('#')
        }
        Manager::Gem => pkg.contains(':') || local || ext(".gem"),
        Manager::Yum | Manager::Dnf | Manager::Zypper => {
            local
                || ext(".rpm")
                || pkg.contains('=')
                || pkg
                    .as_bytes()
                    .windows(2)
                    .any(|w| w[0] == b'-' && w[1].is_ascii_digit())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins() {
        assert!(is_pinned(Manager::AptGet, "curl=7.88"));
        assert!(!is_pinned(Manager::AptGet, "curl"));
        assert!(is_pinned(Manager::Pip, "django>=3"));
        assert!(is_pinned(Manager::Pip, "."));
        assert!(!is_pinned(Manager::Pip, "git+https://x/y"));
        assert!(is_pinned(Manager::Npm, "@scope/x@1"));
        assert!(!is_pinned(Manager::Npm, "@scope/x"));
        assert!(is_pinned(Manager::Yum, "httpd-2.4"));
        assert!(!is_pinned(Manager::Yum, "python3-devel"));
        assert!(is_pinned(Manager::Gem, "bundler:2.0"));
    }
}

//! Lexical path cleaning: what a tar entry's name means inside the image root.

/// Cleans `raw` (a tar entry's name, a link target, a manifest's member name) into `out`: a path
/// relative to the root without a leading `/`, `.` or empty components, `..` applied. Returns
/// `false`, leaving `out` unspecified, when the path leaves the root. The root itself is `""`.
pub(crate) fn clean_into(raw: &[u8], out: &mut String) -> bool {
    out.clear();
    let text = String::from_utf8_lossy(raw);
    for part in text.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if out.is_empty() {
                    return false;
                }
                match out.rfind('/') {
                    Some(i) => out.truncate(i),
                    None => out.clear(),
                }
            }
            _ => {
                if !out.is_empty() {
                    out.push('/');
                }
                out.push_str(part);
            }
        }
    }
    true
}

/// [`clean_into`] into a new string; `None` when the path leaves the root.
pub(crate) fn clean(raw: &str) -> Option<String> {
    let mut out = String::with_capacity(raw.len());
    clean_into(raw.as_bytes(), &mut out).then_some(out)
}

/// The parent directory of a cleaned path (`""` for a top-level name).
pub(crate) fn parent(path: &str) -> &str {
    path.rfind('/').map_or("", |i| &path[..i])
}

/// Joins a link target to the directory holding the link, confined to the root: an absolute
/// target starts at the root, and `..` at the root stays there (as inside a `chroot`).
pub(crate) fn resolve_link(dir: &str, target: &str) -> String {
    let mut out = if target.starts_with('/') {
        String::new()
    } else {
        dir.to_string()
    };
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => match out.rfind('/') {
                Some(i) => out.truncate(i),
                None => out.clear(),
            },
            _ => {
                if !out.is_empty() {
                    out.push('/');
                }
                out.push_str(part);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleans_names() {
        assert_eq!(clean("./etc/passwd").as_deref(), Some("etc/passwd"));
        assert_eq!(clean("/etc//a/./b/").as_deref(), Some("etc/a/b"));
        assert_eq!(clean("a/../b").as_deref(), Some("b"));
        assert_eq!(clean("./").as_deref(), Some(""));
        assert_eq!(clean("../etc/passwd"), None);
        assert_eq!(clean("a/../../b"), None);
        assert_eq!(clean("/../x"), None);
    }

    #[test]
    fn resolves_links_inside_the_root() {
        assert_eq!(
            resolve_link("etc", "../usr/lib/os-release"),
            "usr/lib/os-release"
        );
        assert_eq!(
            resolve_link("etc", "/usr/lib/os-release"),
            "usr/lib/os-release"
        );
        assert_eq!(resolve_link("a/b", "../../../../etc/shadow"), "etc/shadow");
        assert_eq!(resolve_link("", "x"), "x");
        assert_eq!(parent("a/b/c"), "a/b");
        assert_eq!(parent("a"), "");
    }
}

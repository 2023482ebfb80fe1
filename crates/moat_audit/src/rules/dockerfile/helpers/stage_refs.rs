//! Shared helper for the `COPY --from` rules: what a `--from` value refers to.

use moat_dockerfile::Stage;

/// What `COPY --from=<value>` names, seen from the stage the COPY is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FromRef {
    /// An earlier stage (by name or index).
    Earlier,
    /// The stage the COPY is in.
    Own,
    /// An image reference (it has a `/`, `:` or `@`).
    Image,
    /// Contains a variable; not judged.
    Variable,
    /// A name (or index) that is no earlier stage: Docker would pull it as an image.
    Unknown,
}

/// Classifies `value`, for a COPY in `stages[current]`. Stage names compare case-insensitively,
/// as BuildKit does.
pub fn classify_from(stages: &[Stage], current: usize, value: &str) -> FromRef {
    let v = value.trim();
    if v.contains('$') {
        return FromRef::Variable;
    }
    if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
        return match v.parse::<usize>() {
            Ok(i) if i < current => FromRef::Earlier,
            Ok(i) if i == current => FromRef::Own,
            _ => FromRef::Unknown,
        };
    }
    let named = |s: &Stage| {
        s.name
            .as_ref()
            .is_some_and(|n| n.value.eq_ignore_ascii_case(v))
    };
    if stages.get(current).is_some_and(named) {
        return FromRef::Own;
    }
    if stages.get(..current).unwrap_or_default().iter().any(named) {
        return FromRef::Earlier;
    }
    if v.contains(['/', ':', '@']) {
        return FromRef::Image;
    }
    FromRef::Unknown
}

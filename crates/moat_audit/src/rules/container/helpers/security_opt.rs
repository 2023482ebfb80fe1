//! Shared helpers for the `security_opt` rules (`C013`–`C015`, `C017`).

use moat_deploy::{Located, SecurityOpt, SecurityOptKind};

/// The options whose parsed kind satisfies `pred`.
pub(crate) fn matching<'a>(
    opts: &'a [Located<SecurityOpt>],
    pred: impl Fn(&SecurityOptKind) -> bool + 'a,
) -> impl Iterator<Item = &'a Located<SecurityOpt>> + 'a {
    opts.iter().filter(move |o| pred(&o.value.kind))
}

/// Whether a profile name is `unconfined`.
pub(crate) fn is_unconfined(profile: &str) -> bool {
    profile.trim().eq_ignore_ascii_case("unconfined")
}

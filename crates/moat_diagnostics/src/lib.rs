//! The finding model shared by every moat job (audit, scan, gateway self-check, harden) and the
//! reporters that render it.
//!
//! A [`Finding`] is plain data: a stable code, a severity and confidence, a message, a
//! [`Location`] and optionally a [`Fix`] made of byte-range edits. Reporters (text, JSON, SARIF)
//! live in [`report`].
#![deny(missing_docs)]

mod model;
pub mod report;
mod source;

pub use model::*;
pub use source::{LineIndex, SourceFile};

/// A [`RuleInfo`] from a rule's doc comment and metadata: the one way rules are described, used
/// by the audit rules (through `moat_audit`'s `declare_rule!`) and the gateway's configuration
/// checks alike. The doc comment becomes [`RuleInfo::docs`]; `fix` (`Safe` or `Unsafe`: the
/// least safe fix the rule offers) may be left out (no fix).
///
/// ```
/// const INFO: moat_diagnostics::RuleInfo = moat_diagnostics::rule_info! {
///     /// ## What it does
///     /// Flags something.
///     code: "X001",
///     name: "something",
///     summary: "Something is flagged",
///     severity: Low,
///     confidence: High,
///     default_enabled: true,
///     references: ["CIS-DOCKER-5.1"],
/// };
/// assert_eq!(INFO.docs, " ## What it does\n Flags something.\n");
/// assert!(!INFO.fixable());
/// ```
#[macro_export]
macro_rules! rule_info {
    (
        $(#[doc = $doc:literal])*
        code: $code:literal,
        name: $kebab:literal,
        summary: $summary:literal,
        severity: $sev:ident,
        confidence: $conf:ident,
        default_enabled: $enabled:literal,
        $(fix: $fix:ident,)?
        references: [$($reference:literal),* $(,)?] $(,)?
    ) => {
        $crate::RuleInfo {
            code: $code,
            name: $kebab,
            summary: $summary,
            severity: $crate::Severity::$sev,
            confidence: $crate::Confidence::$conf,
            default_enabled: $enabled,
            references: &[$($reference),*],
            fix: $crate::rule_info!(@fix $($fix)?),
            docs: concat!($($doc, "\n"),*),
        }
    };
    (@fix) => { None };
    (@fix $fix:ident) => { Some($crate::Applicability::$fix) };
}

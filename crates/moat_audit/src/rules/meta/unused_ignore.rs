//! `M001`: an inline ignore that suppressed nothing.

use crate::rule::declare_rule;

declare_rule! {
    /// ## What it does
    /// Reports a `# moat: ignore[…]` or `# moat: ignore-file[…]` comment, or an entry of one,
    /// that suppressed no finding — either because the problem was fixed or because the code is
    /// misspelled or names no rule.
    ///
    /// ## Why is this bad?
    /// Stale ignores hide the next real finding on that line, and a misspelled code silently
    /// ignores nothing. Both make the audit less trustworthy.
    ///
    /// ## Example
    /// ```dockerfile
    /// # moat: ignore[D002] pinned below
    /// FROM node:20.11
    /// ```
    ///
    /// ## Fix
    /// Remove the ignore, or the entry that no longer matches. `# hadolint ignore=…` pragmas are
    /// honoured but never reported as unused, since they may serve hadolint rules moat lacks.
    ///
    /// ## References
    /// - cargo-deny and ruff (`RUF100`) report unused suppressions the same way.
    pub struct UnusedIgnore {
        code: "M001",
        name: "unused-ignore",
        summary: "an inline ignore suppressed nothing",
        severity: Low,
        confidence: High,
        default_enabled: true,
        references: [],
        check: Meta,
    }
}

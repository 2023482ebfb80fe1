//! Documentation generated from the rule registry (`docs/rules.md`).

use std::fmt::Write;

use crate::rules;

/// The rules table in Markdown: code, name, severity, default, fix available, references,
/// summary; then each
/// rule's full documentation.
pub fn rules_markdown() -> String {
    let mut out = String::from(
        "# moat rules\n\n\
         Generated from the rule registry by `cargo test -p moat_audit --test docs` \
         (set `MOAT_BLESS=1` to rewrite it). `moat audit --explain CODE` prints the same text.\n\n\
         | code | name | severity | default | fix | references | summary |\n\
         |---|---|---|---|---|---|---|\n",
    );
    for r in rules::all() {
        let _ = writeln!(
            out,
            "| [{code}](#{anchor}) | `{name}` | {sev} | {on} | {fix} | {refs} | {summary} |",
            code = r.info.code,
            anchor = r.info.code.to_ascii_lowercase(),
            name = r.info.name,
            sev = r.info.severity,
            on = if r.info.default_enabled { "on" } else { "off" },
            fix = r.info.fix_label(),
            refs = r.info.references.join(", "),
            summary = r.info.summary.replace('|', "\\|"),
        );
    }
    for r in rules::all() {
        let docs = r.docs().replace("\n## ", "\n#### ");
        let docs = docs
            .strip_prefix("## ")
            .map_or(docs.clone(), |d| format!("#### {d}"));
        let fix = match r.info.fix_label() {
            "" => String::new(),
            kind => format!(" · {kind} fix (`moat harden`)"),
        };
        let _ = write!(
            out,
            "\n## {}\n\n`{}` · {} · confidence {}{fix}\n\n{}\n",
            r.info.code, r.info.name, r.info.severity, r.info.confidence, docs
        );
    }
    out
}

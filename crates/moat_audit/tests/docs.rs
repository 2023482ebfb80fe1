//! `docs/rules.md` must match the registry. Run with `MOAT_BLESS=1` to regenerate it.

use std::path::Path;

#[test]
fn rules_doc_is_up_to_date() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/rules.md");
    let expected = moat_audit::docs::rules_markdown();
    if std::env::var_os("MOAT_BLESS").is_some() {
        std::fs::write(&path, &expected).unwrap();
        return;
    }
    let actual = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        actual == expected,
        "docs/rules.md is stale: run `MOAT_BLESS=1 cargo test -p moat_audit --test docs`"
    );
}

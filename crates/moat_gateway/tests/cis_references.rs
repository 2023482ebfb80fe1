//! Every CIS Docker Benchmark reference of a `moat gateway check` rule (`CIS-DOCKER-x.y`)
//! checked against the numbering of CIS Docker Benchmark v1.6.0, like the audit rules' in
//! `crates/moat_audit/tests/cis_references.rs` (which documents the benchmark's sections): a
//! rule that cites an id must have its row `(code, id, recommendation title)` in [`TABLE`], and
//! every row must be cited.
//!
//! No gateway rule cites the benchmark: it is about Docker hosts, images and containers, not
//! about a proxy's configuration. `G004` (admin listener beyond loopback) cited 5.7, which is
//! "Ensure sshd is not run within containers" in v1.6.0; it cites OWASP API8:2023 instead.

use moat_gateway::check::RULES;

/// `(rule code, CIS id, recommendation title)`.
const TABLE: &[(&str, &str, &str)] = &[];

#[test]
fn every_cis_reference_is_in_the_table_and_every_row_is_cited() {
    let cited: Vec<(&str, &str)> = RULES
        .iter()
        .flat_map(|r| {
            r.references
                .iter()
                .filter(|id| id.starts_with("CIS-"))
                .map(|id| (r.code, *id))
        })
        .collect();
    for (code, id) in &cited {
        assert!(
            TABLE.iter().any(|(c, i, _)| c == code && i == id),
            "{code} cites {id}, which the table does not list for it: check the id against CIS \
             Docker Benchmark v1.6.0 and add the row (code, id, recommendation title)"
        );
    }
    for (code, id, _) in TABLE {
        assert!(
            cited.contains(&(*code, *id)),
            "the table lists {id} for {code}, which does not cite it (or does not exist)"
        );
    }
}

//! One problem, one finding. Run over every finding of an audit, after inline ignores:
//!
//! - **The same line, once.** A rule that reports the same place for several subjects (an env
//!   file shared by three services gives the same `DB_PASSWORD=…` line three times) reports it
//!   once; the message names the other subjects.
//! - **One port, the most specific rule.** A published port can be a datastore on the network
//!   (`N001`), published on every interface (`C025`) and one entry point too many (`N003`) at
//!   once; the most specific of these reports it and names the others in its message, at the
//!   highest severity of the group.
//!
//! Ignores still work per rule: they are applied before, so ignoring `N001` on a line brings
//! back the next rule of the group.

use moat_diagnostics::Finding;

/// Rules that report the same published port, most specific first.
const PORT_RULES: [(&str, &str); 3] = [
    ("N001", "datastore-port-published"),
    ("C025", "port-on-all-interfaces"),
    ("N003", "multiple-public-services"),
];

/// Merges findings that report one problem several times (see the module docs). The order of
/// the remaining findings is kept.
pub fn consolidate(findings: &mut Vec<Finding>) {
    merge_same_place(findings);
    merge_port_rules(findings);
}

type Place<'a> = (&'a str, usize, usize, usize, usize);

fn place(f: &Finding) -> Place<'_> {
    let l = &f.location;
    (&l.path, l.line, l.column, l.end_line, l.end_column)
}

/// The subject a message starts with: its first back-quoted word (`` `api` sets … ``).
fn subject(message: &str) -> Option<&str> {
    let rest = message.strip_prefix('`')?;
    let end = rest.find('`')?;
    Some(&message[..end + 2])
}

/// The message without its subject.
fn after_subject(message: &str) -> &str {
    subject(message).map_or(message, |s| &message[s.len()..])
}

fn merge_same_place(findings: &mut Vec<Finding>) {
    let mut groups: std::collections::HashMap<(Place<'_>, &str), Vec<usize>> =
        std::collections::HashMap::new();
    for (i, f) in findings.iter().enumerate() {
        if f.location.line == 0 {
            continue;
        }
        groups
            .entry((place(f), f.code.as_str()))
            .or_default()
            .push(i);
    }
    let mut extra: Vec<(usize, Vec<String>)> = Vec::new();
    let mut drop = vec![false; findings.len()];
    for idx in groups.into_values().filter(|v| v.len() > 1) {
        let first = idx[0];
        let mut others: Vec<String> = Vec::new();
        let first_rest = after_subject(&findings[first].message);
        for &i in &idx[1..] {
            // the same problem: the same message but for its subject
            if after_subject(&findings[i].message) != first_rest {
                continue;
            }
            if let Some(s) = subject(&findings[i].message)
                && subject(&findings[first].message) != Some(s)
                && !others.iter().any(|o| o == s)
            {
                others.push(s.to_string());
            }
            drop[i] = true;
        }
        if !others.is_empty() {
            extra.push((first, others));
        }
    }
    for (i, others) in extra {
        let f = &mut findings[i];
        f.message = format!("{} (also {})", f.message, join(&others));
    }
    remove_marked(findings, &drop);
}

fn merge_port_rules(findings: &mut Vec<Finding>) {
    let rank = |code: &str| PORT_RULES.iter().position(|(c, _)| *c == code);
    let mut groups: std::collections::HashMap<Place<'_>, Vec<usize>> =
        std::collections::HashMap::new();
    for (i, f) in findings.iter().enumerate() {
        if rank(&f.code).is_some() && f.location.line > 0 {
            groups.entry(place(f)).or_default().push(i);
        }
    }
    let mut drop = vec![false; findings.len()];
    let mut notes: Vec<(usize, Vec<usize>, moat_diagnostics::Severity)> = Vec::new();
    for mut idx in groups.into_values().filter(|v| v.len() > 1) {
        idx.sort_by_key(|&i| rank(&findings[i].code));
        let keep = idx[0];
        let severity = idx
            .iter()
            .map(|&i| findings[i].severity)
            .max()
            .unwrap_or(findings[keep].severity);
        for &i in &idx[1..] {
            drop[i] = true;
        }
        notes.push((keep, idx[1..].to_vec(), severity));
    }
    for (keep, others, severity) in notes {
        let names: Vec<String> = others
            .iter()
            .filter_map(|&i| {
                let code = findings[i].code.as_str();
                PORT_RULES
                    .iter()
                    .find(|(c, _)| *c == code)
                    .map(|(c, n)| format!("{c} {n}"))
            })
            .collect();
        let f = &mut findings[keep];
        f.severity = severity;
        f.message = format!("{}; also {}", f.message, join(&names));
    }
    remove_marked(findings, &drop);
}

/// Removes the findings whose index is marked in `drop`, keeping the order of the others.
fn remove_marked(findings: &mut Vec<Finding>, drop: &[bool]) {
    let mut marks = drop.iter();
    findings.retain(|_| !marks.next().copied().unwrap_or(false));
}

/// `a`, `a and b`, `a, b and c`.
fn join(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use moat_diagnostics::{Confidence, Location, Severity};

    fn finding(code: &str, line: usize, column: usize, sev: Severity, msg: &str) -> Finding {
        Finding {
            code: code.into(),
            name: code.to_lowercase(),
            severity: sev,
            confidence: Confidence::High,
            message: msg.into(),
            location: Location {
                line,
                column,
                end_line: line,
                end_column: column + 4,
                ..Location::file("compose.yaml".to_string())
            },
            references: Vec::new(),
            evidence: None,
            fix: None,
            related: Vec::new(),
            secret: None,
        }
    }

    #[test]
    fn a_shared_env_line_is_reported_once_naming_every_service() {
        let msg = |s: &str| format!("`{s}` sets `DB_PASSWORD` to a hard-coded secret");
        let mut v = vec![
            finding("C029", 1, 13, Severity::High, &msg("api")),
            finding("C029", 1, 13, Severity::High, &msg("worker")),
            finding("C029", 1, 13, Severity::High, &msg("cron")),
            finding("C029", 2, 13, Severity::High, &msg("api")),
            finding("C020", 1, 13, Severity::Medium, "`api` has no memory limit"),
        ];
        consolidate(&mut v);
        let got: Vec<(&str, usize, &str)> = v
            .iter()
            .map(|f| (f.code.as_str(), f.location.line, f.message.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "C029",
                    1,
                    "`api` sets `DB_PASSWORD` to a hard-coded secret (also `worker` and `cron`)"
                ),
                ("C029", 2, "`api` sets `DB_PASSWORD` to a hard-coded secret"),
                ("C020", 1, "`api` has no memory limit"),
            ]
        );
    }

    #[test]
    fn identical_findings_collapse_and_different_ones_stay() {
        let mut v = vec![
            finding("D051", 3, 5, Severity::Low, "apt lists are kept"),
            finding("D051", 3, 5, Severity::Low, "apt lists are kept"),
            finding("D051", 3, 5, Severity::Low, "another problem here"),
        ];
        consolidate(&mut v);
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].message, "apt lists are kept");
    }

    #[test]
    fn one_published_port_is_reported_by_the_most_specific_rule() {
        let mut v = vec![
            finding(
                "C025",
                16,
                9,
                Severity::Medium,
                "`db` publishes port 5432 on all host interfaces",
            ),
            finding(
                "N001",
                16,
                9,
                Severity::High,
                "`db` (postgres) publishes port 5432 on all host interfaces",
            ),
            finding(
                "N003",
                16,
                9,
                Severity::Medium,
                "`db` publishes ports on all host interfaces",
            ),
            finding(
                "C025",
                6,
                9,
                Severity::Medium,
                "`api` publishes port 8080 on all host interfaces",
            ),
            finding("N003", 20, 9, Severity::Medium, "`web` publishes ports"),
            finding("C025", 20, 9, Severity::Low, "`web` publishes port 80"),
        ];
        consolidate(&mut v);
        let got: Vec<(&str, usize, Severity, &str)> = v
            .iter()
            .map(|f| {
                (
                    f.code.as_str(),
                    f.location.line,
                    f.severity,
                    f.message.as_str(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    "N001",
                    16,
                    Severity::High,
                    "`db` (postgres) publishes port 5432 on all host interfaces; also C025 port-on-all-interfaces and N003 multiple-public-services"
                ),
                (
                    "C025",
                    6,
                    Severity::Medium,
                    "`api` publishes port 8080 on all host interfaces"
                ),
                (
                    "C025",
                    20,
                    Severity::Medium,
                    "`web` publishes port 80; also N003 multiple-public-services"
                ),
            ]
        );
    }
}

//! Every CIS Docker Benchmark reference of an audit rule (`CIS-DOCKER-x.y`) checked against the
//! numbering of CIS Docker Benchmark v1.6.0: [`TABLE`] lists, for each rule that cites one, the
//! id and the title of the recommendation it names. The test fails when a rule cites an id that
//! the table does not list for it, when the table lists an id that the rule does not cite (or a
//! rule that does not exist), when one id is given two titles, when an id is outside the
//! benchmark's sections, and when a rule's documentation does not name the recommendations it
//! cites. A new rule that cites the benchmark adds its rows here. The gateway's rules (`G…`)
//! are checked the same way in `crates/moat_gateway/tests/cis_references.rs`.
//!
//! The benchmark's sections: 1 host configuration (1.1.1–1.1.18, 1.2.1–1.2.2), 2 Docker daemon
//! configuration (2.1–2.18), 3 daemon configuration files (3.1–3.24), 4 container images and
//! build file (4.1–4.12), 5 container runtime (5.1–5.32), 6 security operations (6.1–6.2), 7
//! swarm (7.1–7.9). In v1.6.0, 2.1 is "Run the Docker daemon as a non-root user, if possible"
//! and 5.1 "Ensure swarm mode is not Enabled, if not needed", which shifts the daemon and
//! runtime items one place from the numbers older versions and older tools use (in v1.2.0, 5.7
//! was the privileged-ports item; in v1.6.0 it is "Ensure sshd is not run within containers").
//!
//! Unsure: the numbers of sections 2, 4 and 5 agree with the v1.6.0 recommendation list and
//! with Docker Bench for Security's checks for it; the titles are v1.6.0's as best known, and
//! the exact wording of a few (2.7's "…, if applicable" suffix, 4.7's "Dockerfiles" versus "the
//! Dockerfile", the capitalisation of 2.16 and 5.22) differs between editions of the benchmark.

use std::collections::{BTreeMap, BTreeSet};

use moat_audit::rules;

/// `(rule code, CIS id, recommendation title)`, one row per id a rule cites.
#[rustfmt::skip]
const TABLE: &[(&str, &str, &str)] = &[
    // container rules: section 5, container runtime (and 4.1 for the user)
    ("C001", "CIS-DOCKER-5.5", "Ensure that privileged containers are not used"),
    ("C002", "CIS-DOCKER-5.4", CAPABILITIES),
    ("C003", "CIS-DOCKER-5.4", CAPABILITIES),
    ("C004", "CIS-DOCKER-5.6", "Ensure sensitive host system directories are not mounted on containers"),
    ("C005", "CIS-DOCKER-5.32", "Ensure that the Docker socket is not mounted inside any containers"),
    ("C006", "CIS-DOCKER-5.10", "Ensure that the host's network namespace is not shared"),
    ("C007", "CIS-DOCKER-5.16", "Ensure that the host's process namespace is not shared"),
    ("C008", "CIS-DOCKER-5.17", "Ensure that the host's IPC namespace is not shared"),
    ("C009", "CIS-DOCKER-5.21", "Ensure that the host's UTS namespace is not shared"),
    ("C010", "CIS-DOCKER-5.31", "Ensure that the host's user namespaces are not shared"),
    ("C011", "CIS-DOCKER-5.18", "Ensure that host devices are not directly exposed to containers"),
    ("C012", "CIS-DOCKER-5.20", "Ensure mount propagation mode is not set to shared"),
    ("C013", "CIS-DOCKER-5.22", "Ensure the default seccomp profile is not Disabled"),
    ("C014", "CIS-DOCKER-5.2", "Ensure that, if applicable, an AppArmor Profile is enabled"),
    ("C015", "CIS-DOCKER-5.3", "Ensure that, if applicable, SELinux security options are set"),
    ("C016", "CIS-DOCKER-5.25", "Ensure that cgroup usage is confirmed"),
    ("C017", "CIS-DOCKER-5.26", "Ensure that the container is restricted from acquiring additional privileges"),
    ("C018", "CIS-DOCKER-4.1", USER),
    ("C020", "CIS-DOCKER-5.11", "Ensure that the memory usage for containers is limited"),
    ("C021", "CIS-DOCKER-5.12", "Ensure that CPU priority is set appropriately on containers"),
    ("C022", "CIS-DOCKER-5.29", "Ensure that the PIDs cgroup limit is used"),
    ("C023", "CIS-DOCKER-5.13", "Ensure that the container's root filesystem is mounted as read only"),
    ("C024", "CIS-DOCKER-5.8", "Ensure privileged ports are not mapped within containers"),
    ("C025", "CIS-DOCKER-5.14", BOUND_INTERFACE),
    ("C026", "CIS-DOCKER-5.15", "Ensure that the 'on-failure' container restart policy is set to '5'"),
    ("C027", "CIS-DOCKER-5.27", "Ensure that container health is checked at runtime"),
    ("C028", "CIS-DOCKER-5.30", "Ensure that Docker's default bridge \"docker0\" is not used"),
    ("C033", "CIS-DOCKER-5.7", "Ensure sshd is not run within containers"),
    ("C034", "CIS-DOCKER-5.28", "Ensure that Docker commands always make use of the latest version of their image"),
    // Dockerfile rules: section 4, images and build file (and 5.7 for an exposed SSH port)
    ("D001", "CIS-DOCKER-4.2", TRUSTED_BASE),
    ("D002", "CIS-DOCKER-4.2", TRUSTED_BASE),
    ("D003", "CIS-DOCKER-4.2", TRUSTED_BASE),
    ("D004", "CIS-DOCKER-4.2", TRUSTED_BASE),
    ("D005", "CIS-DOCKER-4.2", TRUSTED_BASE),
    ("D010", "CIS-DOCKER-4.10", SECRETS),
    ("D011", "CIS-DOCKER-4.10", SECRETS),
    ("D012", "CIS-DOCKER-4.10", SECRETS),
    ("D020", "CIS-DOCKER-4.1", USER),
    ("D021", "CIS-DOCKER-4.1", USER),
    ("D023", "CIS-DOCKER-4.3", "Ensure that unnecessary packages are not installed in the container"),
    ("D024", "CIS-DOCKER-4.1", USER),
    ("D030", "CIS-DOCKER-4.6", "Ensure that HEALTHCHECK instructions have been added to container images"),
    ("D040", "CIS-DOCKER-4.9", COPY_NOT_ADD),
    ("D041", "CIS-DOCKER-4.9", COPY_NOT_ADD),
    ("D050", "CIS-DOCKER-4.7", "Ensure update instructions are not used alone in Dockerfiles"),
    ("D070", "CIS-DOCKER-4.8", "Ensure setuid and setgid permissions are removed"),
    ("D081", "CIS-DOCKER-4.11", "Ensure only verified packages are installed"),
    ("D090", "CIS-DOCKER-5.7", "Ensure sshd is not run within containers"),
    // daemon rules: section 2, daemon configuration
    ("H001", "CIS-DOCKER-2.7", "Ensure TLS authentication for Docker daemon is configured"),
    ("H002", "CIS-DOCKER-2.5", "Ensure insecure registries are not used"),
    ("H003", "CIS-DOCKER-2.2", "Ensure network traffic is restricted between containers on the default bridge"),
    ("H004", "CIS-DOCKER-2.9", "Enable user namespace support"),
    ("H005", "CIS-DOCKER-2.14", "Ensure containers are restricted from acquiring new privileges"),
    ("H006", "CIS-DOCKER-2.15", "Ensure live restore is enabled"),
    ("H007", "CIS-DOCKER-2.16", "Ensure Userland Proxy is Disabled"),
    ("H008", "CIS-DOCKER-2.18", "Ensure that experimental features are not implemented in production"),
    ("H009", "CIS-DOCKER-2.4", "Ensure Docker is allowed to make changes to iptables"),
    ("H010", "CIS-DOCKER-2.3", "Ensure the logging level is set to 'info'"),
    ("H011", "CIS-DOCKER-2.8", "Ensure the default ulimit is configured appropriately"),
    ("H012", "CIS-DOCKER-2.17", "Ensure that a daemon-wide custom seccomp profile is applied if appropriate"),
    ("H013", "CIS-DOCKER-2.6", "Ensure aufs storage driver is not used"),
    ("H014", "CIS-DOCKER-5.1", "Ensure swarm mode is not Enabled, if not needed"),
    ("H015", "CIS-DOCKER-2.12", "Ensure that authorization for Docker client commands is enabled"),
    ("H016", "CIS-DOCKER-2.13", "Ensure centralized and remote logging is configured"),
    ("H017", "CIS-DOCKER-2.10", "Ensure the default cgroup usage has been confirmed"),
    // image rules (live engine): section 4
    ("I001", "CIS-DOCKER-4.4", "Ensure images are scanned and rebuilt to include security patches"),
    // network rules: published ports
    ("N001", "CIS-DOCKER-5.9", NEEDED_PORTS),
    ("N003", "CIS-DOCKER-5.9", NEEDED_PORTS),
    ("N003", "CIS-DOCKER-5.14", BOUND_INTERFACE),
];

const CAPABILITIES: &str = "Ensure that Linux kernel capabilities are restricted within containers";
const USER: &str = "Ensure that a user for the container has been created";
const BOUND_INTERFACE: &str =
    "Ensure that incoming container traffic is bound to a specific host interface";
const TRUSTED_BASE: &str = "Ensure that containers use only trusted base images";
const SECRETS: &str = "Ensure secrets are not stored in Dockerfiles";
const COPY_NOT_ADD: &str = "Ensure that COPY is used instead of ADD in Dockerfiles";
const NEEDED_PORTS: &str = "Ensure that only needed ports are open on the container";

/// The number of recommendations of each section of v1.6.0 that uses two-part ids.
const SECTION_SIZES: &[(u32, u32)] = &[(2, 18), (3, 24), (4, 12), (5, 32), (6, 2), (7, 9)];

/// `x.y` of `CIS-DOCKER-x.y`, when it is a recommendation of v1.6.0.
fn in_benchmark(id: &str) -> bool {
    let Some(number) = id.strip_prefix("CIS-DOCKER-") else {
        return false;
    };
    let parts: Vec<u32> = number.split('.').filter_map(|p| p.parse().ok()).collect();
    match parts.as_slice() {
        [1, 1, n] => (1..=18).contains(n),
        [1, 2, n] => (1..=2).contains(n),
        [section, n] => SECTION_SIZES
            .iter()
            .any(|(s, size)| s == section && (1..=*size).contains(n)),
        _ => false,
    }
}

#[test]
fn every_cis_reference_is_in_the_table_and_every_row_is_cited() {
    let table: BTreeSet<(&str, &str)> = TABLE.iter().map(|(c, id, _)| (*c, *id)).collect();
    assert_eq!(table.len(), TABLE.len(), "the table repeats a row");
    let cited: BTreeSet<(&str, &str)> = rules::all()
        .flat_map(|r| {
            r.info
                .references
                .iter()
                .filter(|id| id.starts_with("CIS-"))
                .map(|id| (r.info.code, *id))
        })
        .collect();
    let uncited: Vec<_> = cited.difference(&table).collect();
    assert!(
        uncited.is_empty(),
        "rules cite ids that the table does not list for them: {uncited:?}; check each id \
         against CIS Docker Benchmark v1.6.0 and add its row (code, id, recommendation title)"
    );
    let stale: Vec<_> = table.difference(&cited).collect();
    assert!(
        stale.is_empty(),
        "the table lists ids that these rules do not cite (or rules that do not exist): {stale:?}"
    );
}

#[test]
fn ids_are_in_the_benchmark_and_have_one_title() {
    let mut titles: BTreeMap<&str, &str> = BTreeMap::new();
    for (code, id, title) in TABLE {
        assert!(
            in_benchmark(id),
            "{code}: {id} is no CIS Docker Benchmark v1.6.0 id"
        );
        assert!(
            title.starts_with("Ensure") || title.starts_with("Enable"),
            "{id}: {title}"
        );
        if let Some(other) = titles.insert(id, title) {
            assert_eq!(other, *title, "{id} has two titles");
        }
    }
}

/// Whether `text` mentions the number `x.y` on its own (not as part of `5.14` for `5.1`).
fn mentions(text: &str, number: &str) -> bool {
    text.match_indices(number).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let mut after = text[i + number.len()..].chars();
        let next = after.next();
        let digit_after_dot = next == Some('.') && after.next().is_some_and(|c| c.is_ascii_digit());
        !before.is_some_and(|c| c.is_ascii_digit() || c == '.')
            && !next.is_some_and(|c| c.is_ascii_digit())
            && !digit_after_dot
    })
}

#[test]
fn docs_name_the_recommendations_they_cite() {
    for rule in rules::all() {
        let docs = rule.docs();
        let references = docs
            .split("## References")
            .nth(1)
            .unwrap_or_else(|| panic!("{} has no References section", rule.info.code));
        for id in rule
            .info
            .references
            .iter()
            .filter(|id| id.starts_with("CIS-"))
        {
            assert!(
                references.contains("CIS Docker Benchmark")
                    && mentions(references, id.trim_start_matches("CIS-DOCKER-")),
                "{}: the References section does not name {id}",
                rule.info.code
            );
        }
    }
}

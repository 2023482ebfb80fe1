//! The YAML Docker Compose accepts, moat accepts: flow collections and quoted scalars whose
//! lines are less indented than YAML 1.2 wants (go-yaml and PyYAML, being libyaml ports, do not
//! check indentation there), comments inside flow collections, plain scalars over lines. YAML
//! that Compose refuses gives a located error. A key written twice in a mapping is read as
//! docker-compose v1 reads it (the last one wins); docker compose v2 refuses the file.
//!
//! Each case is also run through `docker compose config` (v2) or `docker-compose config` (v1)
//! when one is installed: a case moat loads must load there too, with the same values; a case
//! moat refuses must be refused there too. Without either, that part is skipped with a message.

mod support;

use moat_deploy::{ContainerFacts, Env, parse_compose};
use support::{reference, reference_config, summaries};

enum Expect {
    /// Loads; the function checks the service `web`.
    Loads(fn(&ContainerFacts)),
    /// Loads with go-yaml (`docker compose`), which skips tabs between tokens of a flow
    /// collection (its scanner's "tabs are allowed in the flow context"); PyYAML
    /// (`docker-compose` v1) refuses the tab.
    LoadsGoYamlOnly(fn(&ContainerFacts)),
    /// Loads as docker-compose v1 (PyYAML) reads it; go-yaml (`docker compose` v2) refuses
    /// it.
    LoadsV1Only(fn(&ContainerFacts)),
    /// Refused, at this line and column.
    Error(usize, usize),
}

struct Case {
    name: &'static str,
    text: &'static str,
    expect: Expect,
}

fn argv(a: Option<&moat_deploy::Located<Vec<moat_deploy::Located<String>>>>) -> Vec<&str> {
    a.map(|v| v.value.iter().map(|x| x.value.as_str()).collect())
        .unwrap_or_default()
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "flow sequence closed at the key's indentation",
            text: "services:
  web:
    image: nginx:1.27
    healthcheck:
      test: [
        \"CMD\", \"curl\", \"-f\", \"http://localhost\"
      ]
      interval: 30s
    read_only: true
",
            expect: Expect::Loads(|s| {
                let h = s.healthcheck.as_ref().unwrap();
                let test = h.value.test.as_ref().unwrap();
                assert_eq!(test.value, ["CMD", "curl", "-f", "http://localhost"]);
                assert_eq!((test.location.line, test.location.column), (5, 13));
                assert_eq!(test.location.end_line, 7);
                assert_eq!(h.value.interval.as_ref().unwrap().value, "30s");
                // the keys after the flow collection are read too
                assert!(s.read_only.as_ref().unwrap().value);
            }),
        },
        Case {
            name: "flow sequence items and bracket at column 0",
            text: "services:
  web:
    image: nginx:1.27
    command: [
  \"nginx\", \"-g\",
\"daemon off;\"
]
    user: \"101\"
",
            expect: Expect::Loads(|s| {
                assert_eq!(argv(s.command.as_ref()), ["nginx", "-g", "daemon off;"]);
                let third = &s.command.as_ref().unwrap().value[2];
                assert_eq!((third.location.line, third.location.column), (6, 1));
                assert_eq!(s.user.as_ref().unwrap().value, "101");
            }),
        },
        Case {
            name: "flow mappings over lines, closed low",
            text: "services:
  web:
    image: nginx:1.27
    environment: {
      LOG_LEVEL: info,
      WORKERS: \"4\"
    }
    labels: {
  traefik.enable: \"true\"
}
    logging: {
      driver: json-file,
      options: { max-size: 10m,
        max-file: \"3\" }
    }
",
            expect: Expect::Loads(|s| {
                assert_eq!(
                    s.env("LOG_LEVEL").unwrap().value.as_ref().unwrap().value,
                    "info"
                );
                let workers = s.env("WORKERS").unwrap().value.as_ref().unwrap();
                assert_eq!(workers.value, "4");
                assert_eq!((workers.location.line, workers.location.column), (6, 16));
                assert_eq!(s.labels[0].key.value, "traefik.enable");
                assert_eq!(s.logging.driver.as_ref().unwrap().value, "json-file");
                assert_eq!(s.logging.options.len(), 2);
            }),
        },
        Case {
            name: "comments and a trailing comma inside a flow sequence",
            text: "services:
  web:
    image: nginx:1.27
    ports: [ # published on loopback only
      \"127.0.0.1:8080:80\", # http
      # \"8443:443\",
    ]
    expose: [\"9000\"]
",
            expect: Expect::Loads(|s| {
                assert_eq!(s.ports.len(), 1);
                let p = &s.ports[0];
                assert_eq!(p.value.host_ip.as_deref(), Some("127.0.0.1"));
                assert_eq!((p.location.line, p.location.column), (5, 7));
                assert_eq!(s.expose[0].value, "9000");
            }),
        },
        Case {
            name: "quoted scalar over lines, less indented",
            text: "services:
  web:
    image: nginx:1.27
    command: \"nginx -g
  'daemon off;'\"
    restart: unless-stopped
",
            expect: Expect::Loads(|s| {
                assert_eq!(argv(s.command.as_ref()), ["nginx", "-g", "daemon off;"]);
                assert_eq!(s.restart.as_ref().unwrap().value.name, "unless-stopped");
            }),
        },
        Case {
            name: "plain scalars of a flow sequence on a less indented line",
            text: "services:
  web:
    image: nginx:1.27
    entrypoint: [/docker-entrypoint.sh,
  nginx, -g, daemon off;]
",
            expect: Expect::Loads(|s| {
                assert_eq!(
                    argv(s.entrypoint.as_ref()),
                    ["/docker-entrypoint.sh", "nginx", "-g", "daemon off;"]
                );
            }),
        },
        Case {
            name: "plain scalar over lines in block context",
            text: "services:
  web:
    image: nginx:1.27
    command: nginx -g
      'daemon off;'
    environment:
      GREETING: hello
        world
",
            expect: Expect::Loads(|s| {
                assert_eq!(argv(s.command.as_ref()), ["nginx", "-g", "daemon off;"]);
                let g = s.env("GREETING").unwrap().value.as_ref().unwrap();
                assert_eq!(g.value, "hello world");
            }),
        },
        Case {
            name: "nested flow mappings closed on a later line",
            text: "services:
  web:
    image: nginx:1.27
    deploy: {resources: {limits: {
      memory: 512M}}}
",
            expect: Expect::Loads(|s| {
                let m = s.resources.memory.as_ref().unwrap();
                assert_eq!(m.value.bytes, Some(512 * 1024 * 1024));
                assert_eq!((m.location.line, m.location.column), (5, 15));
            }),
        },
        Case {
            name: "CRLF line ends",
            text: "services:\r\n  web:\r\n    image: nginx:1.27\r\n    cap_drop: [\r\n      ALL\r\n    ]\r\n",
            expect: Expect::Loads(|s| {
                assert_eq!(s.cap_drop[0].value, "ALL");
                assert_eq!(
                    (s.cap_drop[0].location.line, s.cap_drop[0].location.column),
                    (5, 7)
                );
            }),
        },
        Case {
            name: "tabs indenting the lines of a flow sequence",
            text: "services:
  web:
    image: nginx:1.27
    command: [
\t\"nginx\",
\t\"-g\", \"daemon off;\"
    ]
",
            expect: Expect::LoadsGoYamlOnly(|s| {
                assert_eq!(argv(s.command.as_ref()), ["nginx", "-g", "daemon off;"]);
                let first = &s.command.as_ref().unwrap().value[0];
                assert_eq!((first.location.line, first.location.column), (5, 2));
            }),
        },
        Case {
            name: "a key written twice: the last one wins",
            text: "services:
  web:
    image: nginx:1.27
    privileged: false
    ports: [\"8080:80\"]
    privileged: true
",
            expect: Expect::LoadsV1Only(|s| {
                let p = s.privileged.as_ref().unwrap();
                assert!(p.value);
                assert_eq!(p.location.line, 6);
                assert_eq!(s.ports.len(), 1);
            }),
        },
        Case {
            name: "unclosed flow sequence",
            text: "services:
  web:
    image: nginx:1.27
    command: [\"nginx\", \"-g\"
  other: x
",
            expect: Expect::Error(5, 8),
        },
        Case {
            name: "tab indenting a block mapping",
            text: "services:\n\tweb:\n\t\timage: nginx:1.27\n",
            expect: Expect::Error(2, 2),
        },
        Case {
            name: "key less indented than its siblings",
            text: "services:
  web:
    image: nginx:1.27
   ports:
      - \"80:80\"
",
            expect: Expect::Error(4, 4),
        },
        Case {
            name: "document marker inside a flow sequence",
            text: "services:
  web:
    image: nginx:1.27
    command: [
---
    ]
",
            expect: Expect::Error(5, 1),
        },
    ]
}

#[test]
fn compose_yaml_leniency() {
    let reference = reference();
    if reference.is_none() {
        println!(
            "skipped the comparison: neither `docker compose` nor `docker-compose` is installed"
        );
    }
    for case in cases() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("compose.yaml");
        std::fs::write(&path, case.text).expect("write");
        let ours = parse_compose(case.text, &path.display().to_string(), &Env::new());
        let theirs = reference
            .as_ref()
            .map(|r| (r, reference_config(r, dir.path(), &["compose.yaml"], &[])));
        match case.expect {
            Expect::Loads(check) | Expect::LoadsGoYamlOnly(check) | Expect::LoadsV1Only(check) => {
                let project = ours.unwrap_or_else(|e| panic!("{}: {e}", case.name));
                let web = project
                    .services
                    .iter()
                    .find(|s| s.name == "web")
                    .unwrap_or_else(|| panic!("{}: no service web", case.name));
                check(web);
                // whether the installed reference is expected to refuse the case
                let refuses = |prog: &str| match case.expect {
                    Expect::LoadsGoYamlOnly(_) => prog == "docker-compose",
                    Expect::LoadsV1Only(_) => prog != "docker-compose",
                    _ => false,
                };
                match theirs {
                    Some(((prog, _), Err(e))) if refuses(prog) => {
                        println!("{}: {prog} refuses it, as expected: {e}", case.name);
                    }
                    Some(((prog, _), Ok(text))) if !refuses(prog) => {
                        let theirs = parse_compose(&text, "<reference config>", &Env::new())
                            .unwrap_or_else(|e| panic!("{}: reference output: {e}", case.name));
                        assert_eq!(
                            summaries(&project),
                            summaries(&theirs),
                            "{}: reference output:\n{text}",
                            case.name
                        );
                    }
                    Some(((prog, _), other)) => {
                        panic!("{}: {prog} config gave {other:?}", case.name)
                    }
                    None => {}
                }
            }
            Expect::Error(line, column) => {
                let Err(e) = ours else {
                    panic!("{}: loaded, but Compose refuses it", case.name)
                };
                assert_eq!(
                    (e.line, e.column),
                    (Some(line), Some(column)),
                    "{}: {e}",
                    case.name
                );
                assert!(e.message.starts_with("invalid YAML"), "{}: {e}", case.name);
                if let Some(((prog, _), result)) = theirs {
                    assert!(
                        result.is_err(),
                        "{}: {prog} config accepts it: {result:?}",
                        case.name
                    );
                }
            }
        }
    }
}

//! Test helpers for container and project rules: run one check on a compose text or a
//! `docker run` line and get `(line, message)` pairs.

use moat_deploy::{ComposeProject, Env};
use moat_diagnostics::{Finding, SourceFile};

use crate::config::Settings;
use crate::context::{ContainerContext, Emitter, ProjectContext};

type ContainerCheck = fn(&ContainerContext<'_>, &mut Emitter<'_>);
type ProjectCheck = fn(&ProjectContext<'_>, &mut Emitter<'_>);

fn project(yaml: &str) -> ComposeProject {
    moat_deploy::parse_compose(yaml, "compose.yaml", &Env::new()).expect("compose parses")
}

/// Findings of a container check on every service of `yaml`.
pub(crate) fn compose_findings(check: ContainerCheck, yaml: &str) -> Vec<Finding> {
    let project = project(yaml);
    let src = SourceFile::new("compose.yaml", yaml);
    let settings = Settings::default();
    let mut out = Emitter::new(&src);
    let built = project.built_images();
    for facts in &project.services {
        let ctx = ContainerContext {
            facts,
            project: Some(&project),
            built_images: &built,
            images: &[],
            settings: &settings,
        };
        check(&ctx, &mut out);
    }
    out.into_findings()
}

/// Lines of the findings of a container check on `yaml`.
pub(crate) fn compose_lines(check: ContainerCheck, yaml: &str) -> Vec<usize> {
    compose_findings(check, yaml)
        .iter()
        .map(|f| f.location.line)
        .collect()
}

/// Findings of a project check on `yaml`.
pub(crate) fn project_findings(check: ProjectCheck, yaml: &str) -> Vec<Finding> {
    let project = project(yaml);
    let src = SourceFile::new("compose.yaml", yaml);
    let settings = Settings::default();
    let mut out = Emitter::new(&src);
    check(
        &ProjectContext {
            project: &project,
            settings: &settings,
        },
        &mut out,
    );
    out.into_findings()
}

/// Lines of the findings of a project check on `yaml`.
pub(crate) fn project_lines(check: ProjectCheck, yaml: &str) -> Vec<usize> {
    project_findings(check, yaml)
        .iter()
        .map(|f| f.location.line)
        .collect()
}

/// Findings of a container check on one `docker run` command line.
pub(crate) fn run_findings(check: ContainerCheck, cmdline: &str) -> Vec<Finding> {
    let facts = moat_deploy::parse_docker_run(cmdline, "deploy.sh", 0).expect("docker run parses");
    let src = SourceFile::new("deploy.sh", cmdline);
    let settings = Settings::default();
    let mut out = Emitter::new(&src);
    let ctx = ContainerContext {
        facts: &facts,
        project: None,
        built_images: &[],
        images: &[],
        settings: &settings,
    };
    check(&ctx, &mut out);
    out.into_findings()
}

/// Findings of a container check on every `docker run` of a shell script, which knows the
/// images the script builds.
pub(crate) fn script_findings(check: ContainerCheck, script: &str) -> Vec<Finding> {
    let built: Vec<String> = moat_deploy::find_built_images(script, "deploy.sh")
        .into_iter()
        .map(|i| i.value)
        .collect();
    let src = SourceFile::new("deploy.sh", script);
    let settings = Settings::default();
    let mut out = Emitter::new(&src);
    for facts in moat_deploy::find_docker_runs(script, "deploy.sh") {
        let facts = facts.expect("docker run parses");
        let ctx = ContainerContext {
            facts: &facts,
            project: None,
            built_images: &built,
            images: &[],
            settings: &settings,
        };
        check(&ctx, &mut out);
    }
    out.into_findings()
}

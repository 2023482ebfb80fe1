use moat_dockerfile::Kind;

use crate::context::{DockerfileContext, Emitter};
use crate::rule::declare_rule;
use crate::rules::dockerfile::helpers::expose_port::{PortSpec, parse_port_spec};

declare_rule! {
    /// ## What it does
    /// Reports `EXPOSE 22`, `EXPOSE 22/tcp` and port ranges that contain 22 (`EXPOSE 20-25`).
    /// UDP and SCTP ports are not reported.
    ///
    /// ## Why is this bad?
    /// An exposed SSH port means an SSH server in the container: one more daemon to patch, keys
    /// or passwords to manage inside the image, and a login path that bypasses `docker exec`
    /// and its audit trail. Containers are administered through the engine, not over SSH.
    ///
    /// ## Example
    /// ```dockerfile
    /// FROM ubuntu:24.04
    /// RUN apt-get update && apt-get install -y --no-install-recommends openssh-server
    /// EXPOSE 22 8080
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// FROM ubuntu:24.04
    /// EXPOSE 8080
    /// # debug with `docker exec -it <container> sh`
    /// ```
    ///
    /// ## Fix
    /// Remove the SSH server and the `EXPOSE 22`; use `docker exec` (or `kubectl exec`) for
    /// interactive access.
    ///
    /// ## References
    /// - CIS Docker Benchmark 5.7 (sshd is not run within containers); this is the image-side
    ///   check.
    /// - hadolint has no corresponding rule.
    pub struct SshPortExposed {
        code: "D090",
        name: "ssh-port-exposed",
        summary: "EXPOSE of the SSH port 22",
        severity: Medium,
        confidence: Medium,
        default_enabled: true,
        references: ["CIS-DOCKER-5.7"],
        check: Dockerfile,
    }
}

pub(crate) fn check(ctx: &DockerfileContext<'_>, out: &mut Emitter<'_>) {
    for instr in ctx.of_kind(Kind::Expose) {
        for word in instr.words() {
            let PortSpec::Ports { from, to, protocol } = parse_port_spec(&word.value) else {
                continue;
            };
            if protocol != "tcp" || !(from..=to).contains(&22) {
                continue;
            }
            let what = if from == to {
                "port 22".to_string()
            } else {
                format!("range `{}`, which includes port 22", word.value)
            };
            out.emit(
                &SshPortExposed::INFO,
                word.span,
                format!("EXPOSE of {what} (SSH): administer containers with `docker exec`"),
            );
        }
    }
}

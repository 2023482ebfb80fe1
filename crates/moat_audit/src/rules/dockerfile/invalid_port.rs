use moat_dockerfile::Kind;

use crate::context::{DockerfileContext, Emitter};
use crate::rule::declare_rule;
use crate::rules::dockerfile::helpers::expose_port::{PortSpec, parse_port_spec};

declare_rule! {
    /// ## What it does
    /// Reports an `EXPOSE` argument that is not a valid port: a number above 65535, a range that
    /// ends before it starts, something that is not a number, a protocol other than
    /// `tcp`/`udp`/`sctp`, or a host mapping (`8080:80`). Arguments with a variable
    /// (`EXPOSE $PORT`) are not judged.
    ///
    /// ## Why is this bad?
    /// The build fails or, worse, the image documents a port that nothing listens on, so
    /// whoever deploys it publishes the wrong port or none.
    ///
    /// ## Example
    /// ```dockerfile
    /// FROM nginx:1.27
    /// EXPOSE 80800 8080:80
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// FROM nginx:1.27
    /// EXPOSE 8080
    /// ```
    ///
    /// ## Fix
    /// Write container ports between 0 and 65535, optionally with `/tcp`, `/udp` or `/sctp`;
    /// leave host ports to `docker run -p` or the compose file.
    ///
    /// ## References
    /// - hadolint DL3011. Both report ports above 65535. moat differs on purpose: hadolint rejects
    ///   the whole file for a non-numeric port, a host mapping or an unknown protocol, which moat
    ///   reports as a finding instead, and it does not report a reversed range
    ///   (`EXPOSE 9000-8000`), which Docker rejects.
    pub struct InvalidPort {
        code: "D091",
        name: "invalid-port",
        summary: "EXPOSE of an invalid port",
        severity: Medium,
        confidence: High,
        default_enabled: true,
        references: ["DL3011"],
        check: Dockerfile,
    }
}

pub(crate) fn check(ctx: &DockerfileContext<'_>, out: &mut Emitter<'_>) {
    for instr in ctx.of_kind(Kind::Expose) {
        for word in instr.words() {
            let problem = match parse_port_spec(&word.value) {
                PortSpec::Ports { to, .. } if to > 65535 => "ports range from 0 to 65535",
                PortSpec::Ports { .. } | PortSpec::Variable => continue,
                PortSpec::Invalid(why) => why,
            };
            out.emit(
                &InvalidPort::INFO,
                word.span,
                format!("`{}` is not a valid port: {problem}", word.value),
            );
        }
    }
}

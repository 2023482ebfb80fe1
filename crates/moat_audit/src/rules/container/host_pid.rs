use crate::context::{ContainerContext, Emitter};
use crate::rule::declare_rule;
use crate::rules::container::helpers::host_namespace::report_host_mode;

declare_rule! {
    /// ## What it does
    /// Reports a container in the host's process namespace: compose `pid: host`,
    /// `docker run --pid host`.
    ///
    /// ## Why is this bad?
    /// The container sees every host process, with its command line and environment (often
    /// secrets) and can signal processes of the same user. With `SYS_PTRACE` it can inject
    /// code into them and reach the host's file system through `/proc/1/root`.
    ///
    /// ## Example
    /// ```yaml
    /// services:
    ///   api:
    ///     image: example/api:1.4
    ///     pid: host
    /// ```
    ///
    /// Use instead: leave `pid` unset, so the container gets its own namespace.
    /// ```yaml
    /// services:
    ///   api:
    ///     image: example/api:1.4
    /// ```
    ///
    /// ## Fix
    /// Remove `pid: host`. A debugging or monitoring tool that needs it should run only
    /// when needed, not as part of the deployment.
    ///
    /// ## References
    /// - CIS Docker Benchmark 5.16 (the host's process namespace is not shared).
    pub struct HostPid {
        code: "C007",
        name: "host-pid",
        summary: "container shares the host's process namespace",
        severity: High,
        confidence: High,
        default_enabled: true,
        references: ["CIS-DOCKER-5.16"],
        check: Container,
    }
}

pub(crate) fn check(ctx: &ContainerContext<'_>, out: &mut Emitter<'_>) {
    report_host_mode(
        &HostPid::INFO,
        &ctx.facts.name,
        ctx.facts.pid.as_ref(),
        "process namespace (every host process is visible)",
        out,
    );
}

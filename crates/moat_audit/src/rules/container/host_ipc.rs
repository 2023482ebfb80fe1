use crate::context::{ContainerContext, Emitter};
use crate::rule::declare_rule;
use crate::rules::container::helpers::host_namespace::report_host_mode;

declare_rule! {
    /// ## What it does
    /// Reports a container in the host's IPC namespace: compose `ipc: host`,
    /// `docker run --ipc host`.
    ///
    /// ## Why is this bad?
    /// The container can read and write the host's System V shared memory, semaphores and
    /// message queues, and POSIX shared memory in `/dev/shm`: data of host processes leaks
    /// into it and it can corrupt them.
    ///
    /// ## Example
    /// ```yaml
    /// services:
    ///   api:
    ///     image: example/api:1.4
    ///     ipc: host
    /// ```
    ///
    /// Use instead: leave `ipc` unset, so the container gets its own namespace.
    /// ```yaml
    /// services:
    ///   api:
    ///     image: example/api:1.4
    /// ```
    ///
    /// ## Fix
    /// Remove `ipc: host`. Containers that must share memory with each other can use
    /// `ipc: shareable` on one and `ipc: "service:NAME"` on the other.
    ///
    /// ## References
    /// - CIS Docker Benchmark 5.17 (the host's IPC namespace is not shared).
    pub struct HostIpc {
        code: "C008",
        name: "host-ipc",
        summary: "container shares the host's IPC namespace",
        severity: High,
        confidence: High,
        default_enabled: true,
        references: ["CIS-DOCKER-5.17"],
        check: Container,
    }
}

pub(crate) fn check(ctx: &ContainerContext<'_>, out: &mut Emitter<'_>) {
    report_host_mode(
        &HostIpc::INFO,
        &ctx.facts.name,
        ctx.facts.ipc.as_ref(),
        "IPC namespace (shared memory, semaphores, message queues)",
        out,
    );
}

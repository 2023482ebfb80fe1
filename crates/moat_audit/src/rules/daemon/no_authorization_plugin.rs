use crate::context::{DaemonContext, Emitter};
use crate::rule::declare_rule;
use crate::rules::daemon::helpers::key_location;

declare_rule! {
    /// ## What it does
    /// Reports a daemon without an authorization plugin: `authorization-plugins` is empty or
    /// absent in daemon.json, or a live engine's `/info` lists none under
    /// `Plugins.Authorization`.
    ///
    /// ## Why is this bad?
    /// Without one, whoever can reach the daemon's socket or API can do everything: start
    /// privileged containers, mount the host's root, read every secret. An authorization plugin
    /// (Open Policy Agent's, Twistlock's, a custom one) lets an operations team allow each user
    /// only the commands they need.
    ///
    /// ## Example
    /// ```json
    /// {
    ///   "log-driver": "journald"
    /// }
    /// ```
    ///
    /// Use instead:
    /// ```json
    /// {
    ///   "log-driver": "journald",
    ///   "authorization-plugins": ["opa-docker-authz"]
    /// }
    /// ```
    ///
    /// ## Fix
    /// Install an authorization plugin and list it in `authorization-plugins`. Where access to
    /// the socket is already limited to administrators, the rule can be disabled.
    ///
    /// ## References
    /// - CIS Docker Benchmark 2.12 (authorization for Docker client commands is enabled;
    ///   Docker Bench for Security `check_2_12`). Off by default and informational: almost no
    ///   engine has one, and the socket's permissions are the first line of defence; turn it on
    ///   (`enable = ["H015"]`) where a plugin is the policy.
    pub struct NoAuthorizationPlugin {
        code: "H015",
        name: "no-authorization-plugin",
        summary: "the daemon has no authorization plugin",
        severity: Info,
        confidence: High,
        default_enabled: false,
        references: ["CIS-DOCKER-2.12"],
        check: Daemon,
    }
}

pub(crate) fn check(ctx: &DaemonContext<'_>, out: &mut Emitter<'_>) {
    let f = ctx.facts;
    if f.authorization_plugins.is_empty() {
        out.emit_at(
            &NoAuthorizationPlugin::INFO,
            key_location(f, "authorization-plugins"),
            "no authorization plugin: whoever reaches the daemon can run anything",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::check;
    use crate::rules::daemon::helpers::testing::{findings, lines};

    #[test]
    fn a_plugin_or_none() {
        assert_eq!(findings(check, "{}").len(), 1);
        assert!(lines(check, r#"{"authorization-plugins": ["authz"]}"#).is_empty());
    }
}

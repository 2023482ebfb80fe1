//! Shared check of the `host` namespace modes (`C006`–`C010`).

use moat_deploy::Located;
use moat_diagnostics::RuleInfo;

use crate::context::Emitter;

/// Reports `mode` when it is `host` (compose `pid: host`, `--pid=host`, …).
pub(crate) fn report_host_mode(
    info: &RuleInfo,
    name: &str,
    mode: Option<&Located<String>>,
    what: &str,
    out: &mut Emitter<'_>,
) {
    if let Some(m) = mode
        && m.value.trim().eq_ignore_ascii_case("host")
    {
        out.emit_at(
            info,
            m.location.clone(),
            format!("`{name}` shares the host's {what}"),
        );
    }
}

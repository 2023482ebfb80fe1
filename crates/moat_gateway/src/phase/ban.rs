//! Bans ([`crate::bans`]): a client address banned by a rule is refused before its credentials
//! are looked at, so that a banned client can neither guess keys nor spend rate-limit budget.
//! What a request did wrong is counted after its answer (see [`crate::proxy`]).

use super::{Metric, Reject};
use crate::bans::Bans;
use crate::client_addr;
use http::StatusCode;
use http::header::{self, HeaderValue};
use std::net::IpAddr;

/// The error code of a banned client's answer.
pub const BANNED_CODE: &str = "banned";

/// Refuses a banned address (IPv6 by its `v6_prefix`): 403 with `Retry-After` in seconds.
pub async fn check(bans: Option<&Bans>, client: IpAddr, v6_prefix: u8) -> Result<(), Reject> {
    let Some(bans) = bans else { return Ok(()) };
    let Some(ban) = bans.check(client_addr::masked(client, v6_prefix)).await else {
        return Ok(());
    };
    let secs = ban.remaining.as_secs() + u64::from(ban.remaining.subsec_nanos() > 0);
    Err(Reject::new(
        StatusCode::FORBIDDEN,
        BANNED_CODE,
        "the client is banned for repeated abuse",
    )
    .counted(Metric::Rejected("banned"))
    .with_header(header::RETRY_AFTER, HeaderValue::from(secs.max(1))))
}

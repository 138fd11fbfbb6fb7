//! Access tokens: the calling agent signs, with its own key, a claim to read one blob (or
//! to join one call) at one node until an expiry. The format is `media_rules::token`, which
//! the sidecar parses.

use crate::caller::{me, refuse};
use hdk::prelude::*;
use media_api::{IssueCallTokenInput, IssueTokenInput, IssuedToken};
use media_rules::token::{AccessToken, Subject, TokenClaims, MAX_LIFETIME_SECS as MAX_TTL_SECONDS};

/// Signs a blob token for the caller.
pub fn issue_access_token(input: IssueTokenInput) -> ExternResult<IssuedToken> {
    sign(Subject::Blob(input.blob), input.audience, input.ttl_seconds)
}

/// Signs a call token for the caller. Whether the call admits the caller is the hosting
/// node's to decide when the token is used: signing says only who the caller is.
pub fn issue_call_token(input: IssueCallTokenInput) -> ExternResult<IssuedToken> {
    sign(
        Subject::Call(input.call.to_string()),
        input.audience,
        input.ttl_seconds,
    )
}

fn sign(subject: Subject, audience: String, ttl_seconds: u32) -> ExternResult<IssuedToken> {
    if ttl_seconds == 0 || ttl_seconds > MAX_TTL_SECONDS {
        return Err(refuse(format!("ttl_seconds must be 1 to {MAX_TTL_SECONDS}")));
    }
    let agent = me()?;
    let expires_at = Timestamp::from_micros(sys_time()?.as_micros() + i64::from(ttl_seconds) * 1_000_000);
    let claims = TokenClaims {
        agent: agent.get_raw_39().to_vec(),
        subject,
        audience,
        expires_at_micros: expires_at.as_micros(),
    };
    claims.check().map_err(refuse)?;
    let signature = sign_raw(agent.clone(), claims.signing_bytes())?;
    let token = AccessToken {
        claims,
        signature: signature.0,
    };
    Ok(IssuedToken {
        token: token.encode(),
        agent,
        expires_at,
    })
}

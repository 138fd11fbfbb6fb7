//! Access tokens: an agent's signed claim "I may read this blob until then, at that node".
//! The coordinator zome signs [`TokenClaims::signing_bytes`] with the agent's own key; the
//! sidecar parses the token with [`AccessToken::parse`] and checks the ed25519 signature.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;

/// What the signature covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenClaims {
    /// The agent's key in Holochain's 39-byte form (prefix, 32-byte ed25519 key, location).
    pub agent: Vec<u8>,
    /// The blob's SHA-256, lowercase hex.
    pub blob: String,
    /// Who should accept the token: the serving node's agent key (`uhCAk…`). A URL is not
    /// accepted: several nodes can share one, and a token must open one node only.
    pub audience: String,
    /// When it stops working, in microseconds since the Unix epoch.
    pub expires_at_micros: i64,
}

/// A token: claims and the agent's signature over them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessToken {
    /// The signed claims.
    pub claims: TokenClaims,
    /// The ed25519 signature over [`TokenClaims::signing_bytes`].
    pub signature: [u8; 64],
}

const DOMAIN: &[u8] = b"elohim-media-token/v1\n";
const PREFIX: &str = "v1";
/// Longest token string accepted (bounds parsing work on hostile input).
pub const MAX_TOKEN_LEN: usize = 2_048;
/// The longest a token may live (one day): the zome signs no longer one, and a sidecar
/// accepts no token whose expiry lies further ahead.
pub const MAX_LIFETIME_SECS: u32 = 86_400;
/// How far a signer's clock may run ahead of a sidecar's.
pub const CLOCK_SKEW_SECS: u32 = 60;

/// Whether `audience` has the shape of a Holochain agent key as printed: `uhCAk` and 48
/// more URL-safe base64 characters.
pub fn is_agent_key(audience: &str) -> bool {
    audience.len() == 53
        && audience.starts_with("uhCAk")
        && audience
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl TokenClaims {
    /// The exact bytes the agent signs; domain-separated so no other signature of the
    /// agent's can be passed off as a token.
    pub fn signing_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(DOMAIN.len() + 39 + 64 + self.audience.len() + 11);
        out.extend_from_slice(DOMAIN);
        out.extend_from_slice(&self.agent);
        out.push(b'\n');
        out.extend_from_slice(self.blob.as_bytes());
        out.push(b'\n');
        out.extend_from_slice(self.audience.as_bytes());
        out.push(b'\n');
        out.extend_from_slice(&self.expires_at_micros.to_be_bytes());
        out
    }

    /// The 32-byte ed25519 public key inside the 39-byte agent key.
    pub fn ed25519_key(&self) -> Option<[u8; 32]> {
        (self.agent.len() == 39)
            .then(|| self.agent[3..35].try_into().ok())
            .flatten()
    }

    /// Checks the claims' shape; the error names the field.
    pub fn check(&self) -> Result<(), String> {
        if self.ed25519_key().is_none() {
            return Err("agent must be a 39-byte agent key".into());
        }
        crate::hash::check_sha256_hex("blob", &self.blob)?;
        if !is_agent_key(&self.audience) {
            return Err("audience must be the serving node's agent key (uhCAk…)".into());
        }
        Ok(())
    }

    /// Whether the token is live at `now_micros`: not expired, and not expiring further
    /// ahead than [`MAX_LIFETIME_SECS`] (with [`CLOCK_SKEW_SECS`] of slack).
    pub fn check_lifetime(&self, now_micros: i64) -> Result<(), String> {
        if self.expires_at_micros <= now_micros {
            return Err("token has expired".into());
        }
        let longest = i64::from(MAX_LIFETIME_SECS + CLOCK_SKEW_SECS) * 1_000_000;
        if self.expires_at_micros - now_micros > longest {
            return Err(format!(
                "token lives longer than this node accepts ({MAX_LIFETIME_SECS} s)"
            ));
        }
        Ok(())
    }
}

impl AccessToken {
    /// The token as it travels in `Authorization: Bearer …` or `?token=…` (URL-safe).
    pub fn encode(&self) -> String {
        let c = &self.claims;
        format!(
            "{PREFIX}.{}.{}.{}.{}.{}",
            B64.encode(&c.agent),
            c.blob,
            B64.encode(c.audience.as_bytes()),
            c.expires_at_micros,
            B64.encode(self.signature)
        )
    }

    /// Parses a token string; says what is malformed. The signature is not checked here.
    pub fn parse(token: &str) -> Result<Self, String> {
        if token.len() > MAX_TOKEN_LEN {
            return Err("token is too long".into());
        }
        let parts: Vec<&str> = token.split('.').collect();
        let [prefix, agent, blob, audience, expires, signature] = parts[..] else {
            return Err("token must have six dot-separated parts".into());
        };
        if prefix != PREFIX {
            return Err(format!("token version '{prefix}' is not supported"));
        }
        let decode = |field: &str, s: &str| {
            B64.decode(s)
                .map_err(|_| format!("token {field} is not base64url"))
        };
        let audience = String::from_utf8(decode("audience", audience)?)
            .map_err(|_| "token audience is not UTF-8".to_string())?;
        let claims = TokenClaims {
            agent: decode("agent", agent)?,
            blob: blob.to_string(),
            audience,
            expires_at_micros: expires
                .parse()
                .map_err(|_| "token expiry is not a number".to_string())?,
        };
        claims.check().map_err(|e| format!("token {e}"))?;
        let signature = decode("signature", signature)?
            .try_into()
            .map_err(|_| "token signature must be 64 bytes".to_string())?;
        Ok(AccessToken { claims, signature })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const NODE: &str = "uhCAkq4vZzp0bk2l5xQa3V2zF9wJ0m6eK1YyRjTtUuGgHhIiLlMmN";

    fn token() -> AccessToken {
        AccessToken {
            claims: TokenClaims {
                agent: (0..39).collect(),
                blob: "ab".repeat(32),
                audience: NODE.into(),
                expires_at_micros: 1_700_000_000_000_000,
            },
            signature: [7; 64],
        }
    }

    #[test]
    fn round_trips() {
        let t = token();
        assert_eq!(AccessToken::parse(&t.encode()), Ok(t));
    }

    #[test]
    fn golden_signing_bytes() {
        let bytes = token().claims.signing_bytes();
        assert!(bytes.starts_with(b"elohim-media-token/v1\n\x00\x01\x02"));
        assert!(bytes.ends_with(&1_700_000_000_000_000i64.to_be_bytes()));
        assert_eq!(bytes.len(), 22 + 39 + 1 + 64 + 1 + 53 + 1 + 8);
    }

    #[test]
    fn a_url_audience_is_refused_as_nodes_can_share_one() {
        assert!(is_agent_key(NODE));
        let mut t = token();
        t.claims.audience = "http://127.0.0.1:8788".into();
        assert!(AccessToken::parse(&t.encode()).unwrap_err().contains("agent key"));
        for bad in [
            "",
            "uhCAk",
            &format!("{}!", &NODE[..52]),
            &format!("uhCkk{}", &NODE[5..]),
        ] {
            assert!(!is_agent_key(bad), "{bad}");
        }
    }

    #[test]
    fn a_token_may_not_live_longer_than_the_cap() {
        let now = 1_700_000_000_000_000;
        let mut t = token().claims;
        t.expires_at_micros = now;
        assert!(t.check_lifetime(now).unwrap_err().contains("expired"));
        t.expires_at_micros = now + i64::from(MAX_LIFETIME_SECS) * 1_000_000;
        assert_eq!(t.check_lifetime(now), Ok(()));
        t.expires_at_micros = now + i64::from(MAX_LIFETIME_SECS + CLOCK_SKEW_SECS + 1) * 1_000_000;
        assert!(t.check_lifetime(now).unwrap_err().contains("longer"));
    }

    #[test]
    fn malformed_tokens_say_why() {
        assert!(AccessToken::parse("v2.a.b.c.d.e")
            .unwrap_err()
            .contains("version"));
        assert!(AccessToken::parse("garbage").unwrap_err().contains("six"));
        let mut t = token();
        t.claims.blob = "zz".into();
        assert!(AccessToken::parse(&t.encode()).unwrap_err().contains("blob"));
        let mut t = token();
        t.claims.agent.truncate(10);
        assert!(AccessToken::parse(&t.encode()).unwrap_err().contains("agent"));
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in ".{0,300}") {
            let _ = AccessToken::parse(&s);
        }
    }
}

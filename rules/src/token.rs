//! Access tokens: an agent's signed claim "I may read this blob (or join this call) until
//! then, at that node". The coordinator zome signs [`TokenClaims::signing_bytes`] with the
//! agent's own key; the sidecar parses the token with [`AccessToken::parse`] and checks the
//! ed25519 signature. Blob and call tokens sign under different domain strings and travel
//! with different prefixes, so neither can be passed off as the other.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;

/// What the signature covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenClaims {
    /// The agent's key in Holochain's 39-byte form (prefix, 32-byte ed25519 key, location).
    pub agent: Vec<u8>,
    /// What the token opens.
    pub subject: Subject,
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

/// What a token opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// One blob (and the renditions its record lists): its SHA-256, lowercase hex.
    Blob(String),
    /// One live call or stream: its ContentNode id as printed (`uhCkk…`).
    Call(String),
}

impl Subject {
    /// The domain string the signature is made under.
    fn domain(&self) -> &'static [u8] {
        match self {
            Subject::Blob(_) => b"elohim-media-token/v1\n",
            Subject::Call(_) => b"elohim-media-call-token/v1\n",
        }
    }

    /// The first part of the encoded token.
    fn prefix(&self) -> &'static str {
        match self {
            Subject::Blob(_) => "v1",
            Subject::Call(_) => "c1",
        }
    }

    /// The blob hash or call id.
    pub fn as_str(&self) -> &str {
        match self {
            Subject::Blob(s) | Subject::Call(s) => s,
        }
    }

    /// What kind of thing it names, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Subject::Blob(_) => "blob",
            Subject::Call(_) => "call",
        }
    }

    /// Checks the shape of the hash or id.
    fn check(&self) -> Result<(), String> {
        match self {
            Subject::Blob(hex) => crate::hash::check_sha256_hex("blob", hex),
            Subject::Call(id) if is_action_hash(id) => Ok(()),
            Subject::Call(_) => Err("call must be a ContentNode id (uhCkk…)".into()),
        }
    }
}
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
    is_printed_hash(audience, "uhCAk")
}

/// Whether `id` has the shape of a Holochain action hash as printed (`uhCkk…`), the id of
/// a ContentNode.
pub fn is_action_hash(id: &str) -> bool {
    is_printed_hash(id, "uhCkk")
}

fn is_printed_hash(s: &str, prefix: &str) -> bool {
    s.len() == 53
        && s.starts_with(prefix)
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl TokenClaims {
    /// The exact bytes the agent signs; domain-separated so no other signature of the
    /// agent's can be passed off as a token.
    pub fn signing_bytes(&self) -> Vec<u8> {
        let domain = self.subject.domain();
        let subject = self.subject.as_str();
        let mut out = Vec::with_capacity(domain.len() + 39 + subject.len() + self.audience.len() + 11);
        out.extend_from_slice(domain);
        out.extend_from_slice(&self.agent);
        out.push(b'\n');
        out.extend_from_slice(subject.as_bytes());
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
        self.subject.check()?;
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
            "{}.{}.{}.{}.{}.{}",
            c.subject.prefix(),
            B64.encode(&c.agent),
            c.subject.as_str(),
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
        let [prefix, agent, subject, audience, expires, signature] = parts[..] else {
            return Err("token must have six dot-separated parts".into());
        };
        let subject = match prefix {
            "v1" => Subject::Blob(subject.to_string()),
            "c1" => Subject::Call(subject.to_string()),
            _ => return Err(format!("token version '{prefix}' is not supported")),
        };
        let decode = |field: &str, s: &str| {
            B64.decode(s)
                .map_err(|_| format!("token {field} is not base64url"))
        };
        let audience = String::from_utf8(decode("audience", audience)?)
            .map_err(|_| "token audience is not UTF-8".to_string())?;
        let claims = TokenClaims {
            agent: decode("agent", agent)?,
            subject,
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
                subject: Subject::Blob("ab".repeat(32)),
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
        t.claims.subject = Subject::Blob("zz".into());
        assert!(AccessToken::parse(&t.encode()).unwrap_err().contains("blob"));
        let mut t = token();
        t.claims.agent.truncate(10);
        assert!(AccessToken::parse(&t.encode()).unwrap_err().contains("agent"));
    }

    const CALL: &str = "uhCkkq4vZzp0bk2l5xQa3V2zF9wJ0m6eK1YyRjTtUuGgHhIiLlMmN";

    #[test]
    fn a_call_token_round_trips_and_signs_under_its_own_domain() {
        let mut t = token();
        t.claims.subject = Subject::Call(CALL.into());
        let encoded = t.encode();
        assert!(encoded.starts_with("c1."));
        assert_eq!(AccessToken::parse(&encoded), Ok(t.clone()));
        let bytes = t.claims.signing_bytes();
        assert!(bytes.starts_with(b"elohim-media-call-token/v1\n"));
        // The same claims as a blob token would sign other bytes: a signature made for one
        // kind never verifies as the other.
        let blob = token().claims.signing_bytes();
        assert_ne!(bytes[..26], blob[..26]);
    }

    #[test]
    fn a_call_token_names_a_content_id() {
        assert!(is_action_hash(CALL));
        assert!(!is_action_hash(NODE), "an agent key is no content id");
        let mut t = token();
        t.claims.subject = Subject::Call("ab".repeat(32));
        assert!(AccessToken::parse(&t.encode())
            .unwrap_err()
            .contains("ContentNode id"));
        // A blob token's hash under the call prefix is refused, and the other way round.
        let swapped = token().encode().replacen("v1.", "c1.", 1);
        assert!(AccessToken::parse(&swapped).is_err());
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in ".{0,300}") {
            let _ = AccessToken::parse(&s);
        }
    }
}

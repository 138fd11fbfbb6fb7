//! How a node fetches from other machines when it replicates: it trusts nothing it is
//! told. Peer endpoints and fallback URLs come from the DHT, where anyone may write them,
//! so a node refuses those that name or resolve to loopback, link-local or private
//! addresses (`media_rules::endpoint::is_private`) unless its operator allows them (a
//! private network, tests); it follows no redirect; every request has connect and overall
//! timeouts; and every body is read under the size it must have.

use bytes::{Bytes, BytesMut};
use media_rules::endpoint::{check_url, is_private};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// Why a URL may not be fetched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Refused {
    /// Not an http(s) URL with a host.
    #[error("{0}")]
    Malformed(String),
    /// It names a private or local address.
    #[error("{0} is a private or local address; this node fetches from public addresses only (--allow-private-peers)")]
    Private(String),
}

/// Checks a URL before a fetch: its shape, and — unless `allow_private` — that its host is
/// not a private address literal. (Names are checked when they resolve: [`client`].)
pub(crate) fn check(url: &str, allow_private: bool) -> Result<(), Refused> {
    let host = check_url(url).map_err(Refused::Malformed)?;
    let local = host.parse::<IpAddr>().is_ok_and(is_private) || host.eq_ignore_ascii_case("localhost");
    if local && !allow_private {
        return Err(Refused::Private(host.to_string()));
    }
    Ok(())
}

/// Resolves names to public addresses only.
struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = found.into_iter().filter(|a| !is_private(a.ip())).collect();
            if public.is_empty() {
                let refused = Refused::Private(name.as_str().to_string());
                return Err(Box::new(refused) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(public.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The client a node replicates with: no redirects, timeouts, and (unless
/// `allow_private`) names resolved to public addresses only.
pub(crate) fn client(allow_private: bool) -> reqwest::Result<reqwest::Client> {
    let builder = reqwest::Client::builder()
        .pool_idle_timeout(crate::limits::CLIENT_IDLE)
        .connect_timeout(Duration::from_secs(5))
        .read_timeout(Duration::from_secs(20))
        .timeout(Duration::from_secs(60))
        .redirect(reqwest::redirect::Policy::none());
    if allow_private {
        builder.build()
    } else {
        builder.dns_resolver(Arc::new(PublicOnly)).build()
    }
}

/// Why a body was not taken.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BodyError {
    /// It is longer than it may be.
    #[error("the body is longer than {0} bytes")]
    TooLong(u64),
    /// The transfer failed.
    #[error("{0}")]
    Transfer(#[from] reqwest::Error),
}

/// Reads a response body of at most `limit` bytes, stopping as soon as it runs over.
pub(crate) async fn body_within(mut resp: reqwest::Response, limit: u64) -> Result<Bytes, BodyError> {
    if resp.content_length().is_some_and(|n| n > limit) {
        return Err(BodyError::TooLong(limit));
    }
    let mut body = BytesMut::with_capacity(limit.min(16 << 20) as usize);
    while let Some(piece) = resp.chunk().await? {
        if (body.len() + piece.len()) as u64 > limit {
            return Err(BodyError::TooLong(limit));
        }
        body.extend_from_slice(&piece);
    }
    Ok(body.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_literals_are_refused_unless_allowed() {
        for url in [
            "http://127.0.0.1:8788",
            "http://[::1]/x",
            "http://169.254.169.254/latest",
            "http://localhost:1",
        ] {
            assert!(matches!(check(url, false), Err(Refused::Private(_))), "{url}");
            assert_eq!(check(url, true), Ok(()), "{url}");
        }
        assert_eq!(check("https://203.0.113.7:8788/x", false), Ok(()));
        assert!(matches!(
            check("file:///etc/passwd", true),
            Err(Refused::Malformed(_))
        ));
    }
}

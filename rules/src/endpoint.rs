//! Where nodes reach each other: the shape of a sidecar endpoint or fallback URL, and which
//! addresses are private (loopback, link-local, private and shared ranges) so that a node
//! does not fetch from them on a stranger's say-so — a manifest's fallback URL or a
//! custodian's endpoint could otherwise point a node at services on its own network.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Longest endpoint or fallback URL accepted.
pub const MAX_URL_LEN: usize = 2_048;

/// Checks that `url` is an `http` or `https` URL with a host, on one line, of bounded
/// length; returns its host (an IPv6 literal without brackets).
pub fn check_url(url: &str) -> Result<&str, String> {
    if url.len() > MAX_URL_LEN {
        return Err(format!("URL is longer than {MAX_URL_LEN} bytes"));
    }
    if url.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err("URL holds white space or control characters".into());
    }
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or("URL must start with http:// or https://")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err("URL must not carry credentials".into());
    }
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    if host.is_empty() {
        return Err("URL has no host".into());
    }
    Ok(host)
}

/// Checks that `origin` is a web origin as browsers send it in `Origin`:
/// `scheme://host[:port]`, lowercase scheme, no path, no credentials, on one line. Any
/// scheme is allowed: app hosts serve their pages from schemes of their own.
pub fn check_origin(origin: &str) -> Result<(), String> {
    let bad = |why: &str| Err(format!("origin '{origin}': {why}"));
    if origin.len() > MAX_URL_LEN || origin.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return bad("too long, or holds white space or control characters");
    }
    let Some((scheme, authority)) = origin.split_once("://") else {
        return bad("must be scheme://host[:port]");
    };
    let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_lowercase())
        && scheme
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+-.".contains(c));
    if !scheme_ok {
        return bad("the scheme must be lowercase letters, digits, '+', '-' or '.'");
    }
    if authority.is_empty() || authority.contains(['/', '?', '#', '@']) {
        return bad("must be scheme://host[:port], with no path and no credentials");
    }
    Ok(())
}

/// Whether an address is not on the public internet: loopback, unspecified, private,
/// link-local, shared (CGNAT), multicast, broadcast, or an IPv6 unique-local or
/// IPv4-mapped form of one of these.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_private_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_private_v4(v4),
            None => is_private_v6(v6),
        },
    }
}

fn is_private_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
}

fn is_private_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_a_scheme_and_a_host_only() {
        for ok in ["http://127.0.0.1:8888", "https://app.example", "app://kangaroo"] {
            assert_eq!(check_origin(ok), Ok(()), "{ok}");
        }
        for bad in [
            "127.0.0.1:8888",
            "http://",
            "http://a.example/path",
            "http://user@a.example",
            "HTTP://a.example",
            "http://a.example\n",
            "*",
            "null",
        ] {
            assert!(check_origin(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn urls_have_a_scheme_a_host_and_nothing_hidden() {
        assert_eq!(check_url("http://203.0.113.7:8788"), Ok("203.0.113.7"));
        assert_eq!(check_url("https://cdn.example/x.mp4?a=1"), Ok("cdn.example"));
        assert_eq!(check_url("http://[::1]:8788/"), Ok("::1"));
        for bad in [
            "ftp://x",
            "file:///etc/passwd",
            "http://",
            "http://user:pw@host/",
            "http://a b",
            "http://host/\r\nX: y",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
        assert!(check_url(&format!("http://h/{}", "a".repeat(MAX_URL_LEN))).is_err());
    }

    #[test]
    fn private_and_local_addresses_are_named() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
        ] {
            assert!(is_private(private.parse().unwrap()), "{private}");
        }
        for public in [
            "203.0.113.7",
            "8.8.8.8",
            "2001:db8::1",
            "172.32.0.1",
            "100.128.0.1",
        ] {
            assert!(!is_private(public.parse().unwrap()), "{public}");
        }
    }
}

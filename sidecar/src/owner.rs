//! The node owner's credential. Routes that act as the node's agent (status, content,
//! tokens, pulls, chunk pushes, and uploads on a node) need it as `Authorization: Bearer …`.
//! It is a random secret made at the first start in `DATA_DIR/node-token`, readable by the
//! node's user only; the CLI reads it from there. Being on loopback proves nothing: a
//! reverse proxy on the same host, or a web page the owner opens, connects from there too.
//! Those routes also refuse a `Host` that is not one of the node's own names, so a page
//! that rebinds its DNS name to 127.0.0.1 cannot reach them, and they send no CORS headers.

use crate::error::ApiError;
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use warp::http::{header, HeaderMap};

/// The credential's file name in the data directory.
pub const FILE: &str = "node-token";

/// The owner's secret.
#[derive(Clone)]
pub struct OwnerKey(String);

impl std::fmt::Debug for OwnerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OwnerKey(…)")
    }
}

/// Where the credential of the node with data directory `data_dir` lives.
pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.join(FILE)
}

impl OwnerKey {
    /// Reads the credential in `data_dir`, making it (mode 0600) if there is none yet.
    pub fn open(data_dir: &Path) -> io::Result<Self> {
        let path = path(data_dir);
        match Self::read(&path) {
            Ok(key) => return Ok(key),
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            Err(_) => {}
        }
        let secret = hex::encode(rand::random::<[u8; 32]>());
        let made = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path);
        match made {
            Ok(mut file) => {
                file.write_all(secret.as_bytes())?;
                file.sync_all()?;
                Ok(OwnerKey(secret))
            }
            // Another process made it first: use theirs.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Self::read(&path),
            Err(e) => Err(e),
        }
    }

    /// Reads the credential file at `path` (the CLI's way in).
    pub fn read(path: &Path) -> io::Result<Self> {
        let text = std::fs::read_to_string(path)?;
        let secret = text.trim();
        if secret.len() != 64 || !secret.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{} is not a node credential", path.display()),
            ));
        }
        Ok(OwnerKey(secret.to_string()))
    }

    /// The secret, to send as a bearer credential.
    pub fn secret(&self) -> &str {
        &self.0
    }

    /// Whether `presented` is the secret (compared in constant time).
    pub fn matches(&self, presented: &str) -> bool {
        let (a, b) = (self.0.as_bytes(), presented.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }

    /// Whether the request's bearer credential is the owner's.
    pub fn presented_by(&self, headers: &HeaderMap) -> bool {
        bearer(headers).is_some_and(|b| self.matches(b))
    }
}

/// The bearer value of the `Authorization` header, if any.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// The names a request to an owner route may carry in `Host`: the loopback names, and the
/// address the node listens on when it is a specific one.
pub fn own_host(host: &str, listen: std::net::SocketAddr) -> bool {
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    let name = name.to_ascii_lowercase();
    if matches!(name.as_str(), "localhost" | "127.0.0.1" | "::1") {
        return true;
    }
    let ip = listen.ip();
    !ip.is_unspecified() && name.parse::<std::net::IpAddr>().is_ok_and(|n| n == ip)
}

/// Checks that a request to an owner route carries the owner's credential and names this
/// node in `Host`.
pub fn check(key: &OwnerKey, listen: std::net::SocketAddr, headers: &HeaderMap) -> Result<(), ApiError> {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    if !own_host(host, listen) {
        return Err(ApiError::Forbidden(format!(
            "this route answers requests to the node's own names, not to '{host}'"
        )));
    }
    if !key.presented_by(headers) {
        return Err(ApiError::Unauthorized(format!(
            "this route acts as the node's agent; send the owner's credential (DATA_DIR/{FILE}) as a bearer token"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_credential_is_made_once_and_readable_by_the_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let key = OwnerKey::open(dir.path()).unwrap();
        let again = OwnerKey::open(dir.path()).unwrap();
        assert_eq!(key.secret(), again.secret());
        let mode = std::fs::metadata(path(dir.path())).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(key.matches(key.secret()));
        assert!(!key.matches(&key.secret()[1..]));
        assert!(!key.matches(&"0".repeat(64)));
    }

    #[test]
    fn only_the_nodes_own_names_pass_as_host() {
        let any: std::net::SocketAddr = "0.0.0.0:8788".parse().unwrap();
        let lan: std::net::SocketAddr = "192.168.1.5:8788".parse().unwrap();
        for ok in [
            "127.0.0.1:8788",
            "localhost:8788",
            "LOCALHOST",
            "[::1]:8788",
            "127.0.0.1",
        ] {
            assert!(own_host(ok, any), "{ok}");
        }
        for bad in [
            "evil.example:8788",
            "evil.example",
            "",
            "127.0.0.1.evil.example:80",
            "192.168.1.5:8788",
        ] {
            assert!(!own_host(bad, any), "{bad}");
        }
        assert!(own_host("192.168.1.5:8788", lan));
    }
}

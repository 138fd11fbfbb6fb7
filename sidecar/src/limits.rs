//! How much a server gives any one client, and how long this node's own clients wait.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// How much a server gives any one client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerLimits {
    /// Connections served at once.
    pub max_connections: usize,
    /// Time a client has to send a request's head, counted from when the connection is
    /// ready for one (so an idle keep-alive connection is closed after it too).
    pub header_read_timeout: Duration,
    /// Uploads (tus `PATCH`, `POST /api/blob`) taking bytes at once; more get `503`.
    pub max_uploads: usize,
    /// A connection with no request in flight that moves no byte for this long is closed.
    pub idle_timeout: Duration,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            max_connections: 1024,
            header_read_timeout: Duration::from_secs(30),
            max_uploads: 16,
            idle_timeout: Duration::from_secs(60),
        }
    }
}

/// How long this node's own HTTP clients keep an idle connection: well under a server's
/// head deadline, so a request never goes out on a connection the server is closing.
pub(crate) const CLIENT_IDLE: Duration = Duration::from_secs(10);

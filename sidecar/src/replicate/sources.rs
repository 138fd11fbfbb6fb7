//! Where a pull takes chunks from.

use serde::{Deserialize, Serialize};

/// Where chunks may come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Source {
    /// A sidecar, by base URL; `token` is sent for blobs that are not public.
    Peer {
        /// e.g. `http://10.0.0.7:8788`.
        base: String,
        /// An access token naming the blob and that peer.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token: Option<String>,
    },
    /// A plain URL serving the whole blob and honouring `Range`.
    Fallback {
        /// The URL.
        url: String,
    },
}

impl Source {
    /// The URL the source is reached at (a peer's base URL).
    pub fn url(&self) -> &str {
        match self {
            Source::Peer { base, .. } => base,
            Source::Fallback { url } => url,
        }
    }
}

/// Where a pull takes chunks from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sources {
    /// Holders to spread over (custodians, those still pulling among them): each chunk
    /// asks them in its own rotation. One that lacks a chunk answers `404` at once.
    pub swarm: Vec<Source>,
    /// Asked in order after the swarm: the author's node, then fallback URLs.
    pub then: Vec<Source>,
}

impl Sources {
    /// Sources asked in the order given, with no swarm.
    pub fn in_order(then: Vec<Source>) -> Self {
        Sources {
            swarm: Vec::new(),
            then,
        }
    }

    /// The order chunk `index` asks its sources in.
    pub fn for_chunk(&self, index: usize) -> impl Iterator<Item = &Source> {
        let start = index.checked_rem(self.swarm.len()).unwrap_or(0);
        let (before, after) = self.swarm.split_at(start);
        after.iter().chain(before).chain(&self.then)
    }

    /// Every source, the swarm first.
    pub fn all(&self) -> impl Iterator<Item = &Source> {
        self.swarm.iter().chain(&self.then)
    }

    /// Drops the sources `keep` refuses.
    pub fn retain(&mut self, mut keep: impl FnMut(&Source) -> bool) {
        self.swarm.retain(&mut keep);
        self.then.retain(keep);
    }
}

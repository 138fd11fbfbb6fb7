//! Quotas for uploads made without the owner's credential: what one client, and all such
//! clients together, may hold at once. The sidecar counts; this decides.

use core::fmt;
use serde::{Deserialize, Serialize};

/// What anonymous uploaders hold, or ask to add.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Bytes stored or reserved: finished blobs and the declared length of uploads under way.
    pub bytes: u64,
    /// Uploads taking bytes at this moment (a `POST /api/blob` body or a tus `PATCH`).
    pub streams: u32,
    /// tus uploads created and not yet finished, terminated or expired.
    pub tus_open: u32,
}

impl Usage {
    /// `n` bytes, and nothing else.
    pub fn of_bytes(n: u64) -> Usage {
        Usage {
            bytes: n,
            ..Usage::default()
        }
    }

    /// `self` with `more` added (saturating).
    pub fn plus(self, more: Usage) -> Usage {
        Usage {
            bytes: self.bytes.saturating_add(more.bytes),
            streams: self.streams.saturating_add(more.streams),
            tus_open: self.tus_open.saturating_add(more.tus_open),
        }
    }

    /// `self` with `less` taken away (saturating at zero).
    pub fn minus(self, less: Usage) -> Usage {
        Usage {
            bytes: self.bytes.saturating_sub(less.bytes),
            streams: self.streams.saturating_sub(less.streams),
            tus_open: self.tus_open.saturating_sub(less.tus_open),
        }
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        *self == Usage::default()
    }
}

/// The most one client, and all anonymous clients together, may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quotas {
    /// Per client.
    pub client: Usage,
    /// All anonymous clients together.
    pub total: Usage,
}

impl Default for Quotas {
    fn default() -> Self {
        const GIB: u64 = 1 << 30;
        Quotas {
            client: Usage {
                bytes: 4 * GIB,
                streams: 2,
                tus_open: 4,
            },
            total: Usage {
                bytes: 64 * GIB,
                streams: 8,
                tus_open: 64,
            },
        }
    }
}

/// Whose quota an upload would exceed, and which part of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exceeded {
    /// This client's.
    Client(Part, u64),
    /// All anonymous clients' together.
    Total(Part, u64),
}

/// A part of a quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// Bytes held.
    Bytes,
    /// Uploads taking bytes at once.
    Streams,
    /// tus uploads in progress.
    TusOpen,
}

impl Exceeded {
    /// Whether waiting may help: streams end by themselves, while stored bytes and open
    /// uploads stay until someone acts.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Exceeded::Client(Part::Streams, _) | Exceeded::Total(Part::Streams, _)
        )
    }
}

impl fmt::Display for Exceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (whose, part, limit) = match self {
            Exceeded::Client(part, limit) => ("this client's", part, limit),
            Exceeded::Total(part, limit) => ("the node's total", part, limit),
        };
        match part {
            Part::Bytes => write!(
                f,
                "{whose} quota for anonymous uploads ({limit} bytes) is used up"
            ),
            Part::Streams => write!(f, "{whose} limit of {limit} anonymous uploads at once is reached"),
            Part::TusOpen => write!(
                f,
                "{whose} limit of {limit} anonymous tus uploads in progress is reached"
            ),
        }
    }
}

/// Whether a client holding `client`, among anonymous clients holding `total`, may add
/// `ask`. Only the parts `ask` adds to are checked, so finishing what is already admitted is
/// never refused; the client's own quota is checked first.
pub fn admit(quotas: &Quotas, client: Usage, total: Usage, ask: Usage) -> Result<(), Exceeded> {
    let check = |held: Usage, limit: Usage, wrap: fn(Part, u64) -> Exceeded| {
        let after = held.plus(ask);
        if ask.bytes > 0 && after.bytes > limit.bytes {
            return Err(wrap(Part::Bytes, limit.bytes));
        }
        if ask.streams > 0 && after.streams > limit.streams {
            return Err(wrap(Part::Streams, limit.streams.into()));
        }
        if ask.tus_open > 0 && after.tus_open > limit.tus_open {
            return Err(wrap(Part::TusOpen, limit.tus_open.into()));
        }
        Ok(())
    };
    check(client, quotas.client, Exceeded::Client)?;
    check(total, quotas.total, Exceeded::Total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_client_may_fill_its_quota_exactly_and_no_more() {
        let q = Quotas::default();
        let limit = q.client.bytes;
        assert_eq!(
            admit(&q, Usage::of_bytes(0), Usage::of_bytes(0), Usage::of_bytes(limit)),
            Ok(())
        );
        assert_eq!(
            admit(&q, Usage::of_bytes(1), Usage::of_bytes(1), Usage::of_bytes(limit)),
            Err(Exceeded::Client(Part::Bytes, limit))
        );
    }

    #[test]
    fn clients_within_their_own_quota_are_refused_once_the_total_is_used_up() {
        let q = Quotas::default();
        let total = Usage::of_bytes(q.total.bytes);
        assert_eq!(
            admit(&q, Usage::of_bytes(0), total, Usage::of_bytes(1)),
            Err(Exceeded::Total(Part::Bytes, q.total.bytes))
        );
    }

    #[test]
    fn only_the_parts_asked_for_are_checked() {
        let q = Quotas::default();
        // A client at its byte quota may still finish a stream it was admitted for.
        let full = Usage {
            bytes: q.client.bytes,
            streams: 0,
            tus_open: q.client.tus_open,
        };
        let stream = Usage {
            streams: 1,
            ..Usage::default()
        };
        assert_eq!(admit(&q, full, full, stream), Ok(()));
        let busy = Usage {
            streams: q.client.streams,
            ..Usage::default()
        };
        let refused = admit(&q, busy, busy, stream).unwrap_err();
        assert_eq!(refused, Exceeded::Client(Part::Streams, q.client.streams.into()));
        assert!(refused.is_transient());
        assert!(refused.to_string().contains("at once"), "{refused}");
    }

    proptest! {
        /// Whatever is admitted leaves the client and the total within their quotas.
        #[test]
        fn admitted_usage_stays_within_quotas(
            held in (0u64..1 << 33, 0u32..4, 0u32..8),
            others in (0u64..1 << 37, 0u32..16, 0u32..128),
            ask in (0u64..1 << 33, 0u32..2, 0u32..2),
        ) {
            let q = Quotas::default();
            let client = Usage { bytes: held.0, streams: held.1, tus_open: held.2 };
            let total = client.plus(Usage { bytes: others.0, streams: others.1, tus_open: others.2 });
            let ask = Usage { bytes: ask.0, streams: ask.1, tus_open: ask.2 };
            if admit(&q, client, total, ask).is_ok() {
                let (c, t) = (client.plus(ask), total.plus(ask));
                prop_assert!(ask.bytes == 0 || (c.bytes <= q.client.bytes && t.bytes <= q.total.bytes));
                prop_assert!(ask.streams == 0 || (c.streams <= q.client.streams && t.streams <= q.total.streams));
                prop_assert!(ask.tus_open == 0 || (c.tus_open <= q.client.tus_open && t.tus_open <= q.total.tus_open));
            }
        }
    }
}

//! Who is in which call, shared by the HTTP handlers (which admit and end sessions) and the
//! media thread (which drops sessions that died and measures what it sends): what the
//! Relay budget is checked against.

use media_rules::relay::{self, Admission, Budget, Load};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// What a session does in its call (the rule's own notion).
pub use media_rules::call::Role;

/// One admitted session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    /// The call it is in.
    pub call: String,
    /// What it does there.
    pub role: Role,
    /// Forwarded tracks it takes from the budget (0 for publishers).
    pub streams: u32,
}

/// The sessions admitted and not yet ended.
#[derive(Debug)]
pub(crate) struct Registry {
    entries: Mutex<HashMap<String, Entry>>,
    budget: Budget,
    /// Kbit/s sent to viewers over the media thread's last second, and the streams taken
    /// then.
    measured: Mutex<(u64, u32)>,
    /// Bumped on every change, so the media thread re-reads only when something changed.
    generation: AtomicU64,
    refused: AtomicU64,
}

impl Registry {
    /// An empty registry with `budget`.
    pub(crate) fn new(budget: Budget) -> Self {
        Registry {
            entries: Mutex::new(HashMap::new()),
            budget,
            measured: Mutex::new((0, 0)),
            generation: AtomicU64::new(0),
            refused: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Admits `entry` as session `id` if the budget allows it, in one step so two joins
    /// racing for the last stream cannot both get it.
    pub(crate) fn admit(&self, id: &str, entry: Entry) -> Admission {
        let mut entries = self.lock();
        let (kbps, measured_streams) = self.measured();
        let load = Load {
            streams: streams_of(&entries),
            kbps,
            measured_streams,
        };
        let admission = relay::admit(load, entry.streams, self.budget);
        match admission {
            Admission::Admit => {
                entries.insert(id.to_string(), entry);
                self.generation.fetch_add(1, Ordering::Release);
            }
            Admission::Refuse { .. } => {
                self.refused.fetch_add(1, Ordering::Relaxed);
            }
        }
        admission
    }

    /// Ends session `id` of `call`; whether there was one.
    pub(crate) fn end(&self, call: &str, id: &str) -> bool {
        let mut entries = self.lock();
        if entries.get(id).is_none_or(|e| e.call != call) {
            return false;
        }
        entries.remove(id);
        self.generation.fetch_add(1, Ordering::Release);
        true
    }

    /// Forgets session `id`, whatever its call (the media thread, when it died).
    pub(crate) fn forget(&self, id: &str) {
        if self.lock().remove(id).is_some() {
            self.generation.fetch_add(1, Ordering::Release);
        }
    }

    /// Whether session `id` is still admitted.
    pub(crate) fn contains(&self, id: &str) -> bool {
        self.lock().contains_key(id)
    }

    /// A number that changes whenever a session is admitted or ends.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Records what the media thread measured it sent to viewers, with the streams taken
    /// now.
    pub(crate) fn set_kbps(&self, kbps: u64) {
        let streams = streams_of(&self.lock());
        *self.measured.lock().unwrap_or_else(|e| e.into_inner()) = (kbps, streams);
    }

    fn measured(&self) -> (u64, u32) {
        *self.measured.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Streams taken now, and the budget.
    pub(crate) fn usage(&self) -> Usage {
        let entries = self.lock();
        Usage {
            streams: streams_of(&entries),
            max_streams: self.budget.streams,
            kbps: self.measured().0,
            max_mbps: self.budget.mbps,
            sessions: entries.len(),
            refused: self.refused.load(Ordering::Relaxed),
        }
    }
}

/// Streams `entries` take.
fn streams_of(entries: &HashMap<String, Entry>) -> u32 {
    entries.values().map(|e| e.streams).sum()
}

/// What the relay carries now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Usage {
    /// Forwarded tracks taken.
    pub streams: u32,
    /// The most it carries.
    pub max_streams: u32,
    /// Kbit/s sent to viewers, over the last second.
    pub kbps: u64,
    /// The most Mbit/s it sends to viewers, when capped.
    pub max_mbps: Option<u32>,
    /// Sessions admitted (publishers and viewers).
    pub sessions: usize,
    /// Joins refused over budget since start.
    pub refused: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn viewer(call: &str, streams: u32) -> Entry {
        Entry {
            call: call.into(),
            role: Role::View,
            streams,
        }
    }

    fn streams_only(streams: u32) -> Budget {
        Budget { streams, mbps: None }
    }

    #[test]
    fn a_join_over_budget_is_refused_until_a_session_ends() {
        let r = Registry::new(streams_only(2));
        assert_eq!(r.admit("a", viewer("c", 1)), Admission::Admit);
        assert_eq!(r.admit("b", viewer("c", 1)), Admission::Admit);
        assert!(matches!(r.admit("x", viewer("c", 1)), Admission::Refuse { .. }));
        assert!(!r.contains("x"));
        assert!(!r.end("other-call", "a"), "a session ends only in its own call");
        assert!(r.end("c", "a"));
        assert_eq!(r.admit("x", viewer("c", 1)), Admission::Admit);
        let usage = r.usage();
        assert_eq!((usage.streams, usage.sessions, usage.refused), (2, 2, 1));
    }

    #[test]
    fn publishers_take_no_streams() {
        let r = Registry::new(streams_only(1));
        let publisher = Entry {
            call: "c".into(),
            role: Role::Publish,
            streams: 0,
        };
        assert_eq!(r.admit("p", publisher.clone()), Admission::Admit);
        assert_eq!(r.admit("q", publisher), Admission::Admit);
        assert_eq!(r.usage().streams, 0);
        let before = r.generation();
        r.forget("p");
        assert!(r.generation() > before);
    }

    #[test]
    fn a_join_is_measured_against_the_rate_last_sent() {
        let r = Registry::new(Budget {
            streams: 10,
            mbps: Some(1),
        });
        assert_eq!(r.admit("a", viewer("c", 1)), Admission::Admit);
        r.set_kbps(700);
        assert!(matches!(r.admit("b", viewer("c", 1)), Admission::Refuse { .. }));
        r.set_kbps(400);
        assert_eq!(r.admit("b", viewer("c", 1)), Admission::Admit);
        assert_eq!((r.usage().kbps, r.usage().max_mbps), (400, Some(1)));
        // "b" is not in the rate yet, but is priced like "a": a third would make 1 200.
        assert!(matches!(r.admit("x", viewer("c", 1)), Admission::Refuse { .. }));
    }
}

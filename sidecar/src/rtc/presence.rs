//! Who is in a call and what they are doing, as the media thread sees it: the state behind
//! `GET /api/rtc/{call}/events`.
//!
//! A member is named by a public id derived from its session ([`member_id`]), never by the
//! session id: that one is the capability to end the session, and presence goes to
//! everyone in the call.
//!
//! Every change gets the next id. The last [`KEPT`] changes are kept so a client that
//! reconnects with `Last-Event-ID` gets what it missed; one that missed more starts again
//! from a snapshot.

use super::sessions::Role;
use serde::Serialize;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use tokio::sync::broadcast;

/// Changes kept for clients that reconnect.
pub const KEPT: usize = 1024;

/// What a session is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Admitted; its connection is being set up.
    Joined,
    /// A publisher whose media arrives.
    Publishing,
    /// A publisher whose media stopped arriving for a second.
    Stalled,
    /// A viewer whose connection is up.
    Watching,
    /// Gone (left, failed, or never connected).
    Left,
}

/// One change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// Its id, increasing.
    pub id: u64,
    /// The call.
    pub call: String,
    /// The member's public id.
    pub member: String,
    /// `publish` or `view`.
    pub role: &'static str,
    /// What it does now.
    pub state: State,
    /// Whether what it publishes is being recorded.
    pub recording: bool,
}

/// A session as a snapshot lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Member {
    /// The member's public id.
    pub member: String,
    /// `publish` or `view`.
    pub role: &'static str,
    /// What it does now.
    pub state: State,
    /// Whether what it publishes is being recorded.
    pub recording: bool,
}

#[derive(Default)]
struct Inner {
    next_id: u64,
    log: VecDeque<Change>,
    /// Member id → (call, role, state), for sessions not yet left.
    now: HashMap<String, (String, &'static str, State)>,
}

/// Presence of every call on this SFU.
pub struct Presence {
    inner: Mutex<Inner>,
    tx: broadcast::Sender<Change>,
    /// Whether this SFU records its publishers.
    recorded: bool,
}

impl Default for Presence {
    fn default() -> Self {
        Presence::new(false)
    }
}

/// The public id of `session` in presence: 16 hex digits of a domain-separated SHA-256,
/// which tells nothing of the session id it comes from.
pub fn member_id(session: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::new()
        .chain_update(b"elohim-media-presence/v1\n")
        .chain_update(session.as_bytes())
        .finalize();
    hex::encode(&digest[..8])
}

impl Presence {
    /// Presence for an SFU that records its publishers (`recorded`) or not.
    pub fn new(recorded: bool) -> Self {
        Presence {
            inner: Mutex::default(),
            tx: broadcast::channel(KEPT).0,
            recorded,
        }
    }

    /// Whether a member in `role` and `state` is being recorded: a publisher whose media
    /// arrives (or has stalled), on an SFU that records.
    fn recording(&self, role: &str, state: State) -> bool {
        self.recorded && role == Role::Publish.as_str() && matches!(state, State::Publishing | State::Stalled)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records that `session` of `call` is now in `state`, if that is a change.
    pub fn set(&self, call: &str, session: &str, role: Role, state: State) {
        let member = member_id(session);
        let mut inner = self.lock();
        if inner.now.get(&member).map(|(_, _, s)| *s) == Some(state) {
            return;
        }
        if state == State::Left {
            if inner.now.remove(&member).is_none() {
                return;
            }
        } else {
            inner
                .now
                .insert(member.clone(), (call.to_string(), role.as_str(), state));
        }
        inner.next_id += 1;
        let change = Change {
            id: inner.next_id,
            call: call.to_string(),
            member,
            role: role.as_str(),
            state,
            recording: self.recording(role.as_str(), state),
        };
        if inner.log.len() == KEPT {
            inner.log.pop_front();
        }
        inner.log.push_back(change.clone());
        // Sent under the lock, so subscribers see changes in id order.
        let _ = self.tx.send(change);
    }

    /// A subscription to every change from now on, with the call's members now and the id
    /// of the last change they include.
    pub fn snapshot(&self, call: &str) -> (Vec<Member>, u64, broadcast::Receiver<Change>) {
        let inner = self.lock();
        let mut members: Vec<Member> = inner
            .now
            .iter()
            .filter(|(_, (c, _, _))| c == call)
            .map(|(member, (_, role, state))| Member {
                member: member.clone(),
                role,
                state: *state,
                recording: self.recording(role, *state),
            })
            .collect();
        members.sort_by(|a, b| a.member.cmp(&b.member));
        (members, inner.next_id, self.tx.subscribe())
    }

    /// The changes to `call` after `id` and a subscription to those that follow, or `None`
    /// when some of them are no longer kept.
    pub fn since(&self, call: &str, id: u64) -> Option<(Vec<Change>, broadcast::Receiver<Change>)> {
        let inner = self.lock();
        let oldest_kept = inner.log.front().map_or(inner.next_id + 1, |c| c.id);
        if id > inner.next_id || id + 1 < oldest_kept {
            return None;
        }
        let missed = inner
            .log
            .iter()
            .filter(|c| c.id > id && c.call == call)
            .cloned()
            .collect();
        Some((missed, self.tx.subscribe()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_changes_are_recorded_and_a_reconnect_gets_what_it_missed() {
        let p = Presence::default();
        p.set("c", "s1", Role::Publish, State::Joined);
        p.set("c", "s1", Role::Publish, State::Joined);
        p.set("other", "s9", Role::View, State::Joined);
        let (members, last, _) = p.snapshot("c");
        assert_eq!(members.len(), 1);
        assert_eq!(last, 2, "the repeated state is no change");
        p.set("c", "s1", Role::Publish, State::Publishing);
        p.set("c", "s1", Role::Publish, State::Left);
        p.set("c", "s1", Role::Publish, State::Left);
        let (missed, _) = p.since("c", 2).unwrap();
        let states: Vec<State> = missed.iter().map(|c| c.state).collect();
        assert_eq!(states, [State::Publishing, State::Left]);
        assert!(p.snapshot("c").0.is_empty(), "who left is not a member");
        assert!(p.since("c", 99).is_none(), "an id from the future starts over");
    }

    #[test]
    fn a_client_that_missed_more_than_is_kept_starts_over() {
        let p = Presence::default();
        for i in 0..KEPT + 10 {
            p.set("c", &format!("s{i}"), Role::View, State::Joined);
        }
        assert!(p.since("c", 1).is_none());
        assert!(p.since("c", (KEPT + 9) as u64).is_some());
    }
}

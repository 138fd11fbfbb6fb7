//! Which viewer track carries which publisher track: a decision apart from the media
//! thread's effects.
//!
//! In a call, the publishers' tracks of one kind are ordered by the publishers' joining
//! order, then by their own order; a viewer's tracks of that kind take them in the same
//! order. A viewer that offered one video track sees the first publisher's video; one that
//! offered two sees the first two publishers'. A viewer may leave one session out (its own
//! publishing session: nobody wants to see and hear themselves back); the others then move
//! up one place for it.

/// One track of a session, as the forwarding rule sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct TrackRef {
    /// Index of the session in the media thread's list.
    pub session: usize,
    /// Index of the track among that session's tracks.
    pub track: usize,
}

/// For a publisher track `from` (of some kind), the position it holds among the call's
/// publisher tracks of that kind that a viewer leaving out session `besides` sees;
/// `publisher_tracks` lists them in order.
pub(super) fn slot(publisher_tracks: &[TrackRef], from: TrackRef, besides: Option<usize>) -> Option<usize> {
    seen(publisher_tracks, besides).position(|t| t == from)
}

/// The publisher tracks a viewer leaving out session `besides` sees, in order.
fn seen(publisher_tracks: &[TrackRef], besides: Option<usize>) -> impl Iterator<Item = TrackRef> + '_ {
    publisher_tracks
        .iter()
        .copied()
        .filter(move |t| Some(t.session) != besides)
}

/// The viewer track that slot `slot` goes to, given the viewer's tracks of that kind in
/// order.
pub(super) fn target(viewer_tracks: &[usize], slot: usize) -> Option<usize> {
    viewer_tracks.get(slot).copied()
}

/// The publisher track that feeds a viewer's `track`, the inverse of [`target`].
pub(super) fn source(
    publisher_tracks: &[TrackRef],
    viewer_tracks: &[usize],
    track: usize,
    besides: Option<usize>,
) -> Option<TrackRef> {
    let slot = viewer_tracks.iter().position(|t| *t == track)?;
    seen(publisher_tracks, besides).nth(slot)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn viewers_take_publisher_tracks_in_joining_order() {
        let first = TrackRef { session: 3, track: 1 };
        let second = TrackRef { session: 0, track: 0 };
        let publishers = [first, second];
        assert_eq!(slot(&publishers, second, None), Some(1));
        assert_eq!(target(&[4, 7], 1), Some(7));
        assert_eq!(
            target(&[4], 1),
            None,
            "a viewer with one video track sees only the first"
        );
        assert_eq!(source(&publishers, &[4, 7], 4, None), Some(first));
        assert_eq!(source(&publishers, &[4, 7], 5, None), None);
    }

    #[test]
    fn a_viewer_that_leaves_out_its_own_session_sees_the_others_move_up() {
        let own = TrackRef { session: 3, track: 1 };
        let other = TrackRef { session: 0, track: 0 };
        let publishers = [own, other];
        assert_eq!(
            slot(&publishers, own, Some(3)),
            None,
            "its own track is not sent back"
        );
        assert_eq!(slot(&publishers, other, Some(3)), Some(0));
        assert_eq!(source(&publishers, &[4, 7], 4, Some(3)), Some(other));
        assert_eq!(source(&publishers, &[4, 7], 7, Some(3)), None);
    }
}

//! Who may host, publish into and watch a live call or stream: one pure decision from the
//! call's ContentNode (format, reach, lifecycle, author, invitees, place), the hosting
//! node's agent and the joining agent.
//!
//! - A node hosts a call only when the call's reach admits the node's own agent: an SFU
//!   sees the media in clear, so a private call lives on its author's node and an invited
//!   one on the author's or an invitee's.
//! - Anyone watches a commons call or stream, with no token. Otherwise the joining agent
//!   must prove who they are (a call token, or the node owner's credential) and the reach
//!   must admit them.
//! - A live stream is a broadcast: only its author and invitees publish into it. In a call
//!   everyone the reach admits may speak.

use crate::access::Use;
use crate::content::ContentFormat;
use crate::Place;

/// Which way a participant's media goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Sends media into the call (WHIP).
    Publish,
    /// Receives the call's media (WHEP, presence).
    View,
}

impl Role {
    /// Its name, for logs and presence.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Publish => "publish",
            Role::View => "view",
        }
    }
}

/// A call as the rule sees it.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a, A> {
    /// The ContentNode's format, when it parses.
    pub format: Option<ContentFormat>,
    /// Reach, lifecycle and audience.
    pub content: Use<'a, A>,
}

/// An agent and the place they declared.
#[derive(Debug, Clone, Copy)]
pub struct Agent<'a, A> {
    /// The agent.
    pub key: &'a A,
    /// Their declared place, if any.
    pub place: Option<&'a Place>,
}

/// Why a join is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The content is not a live stream or a call.
    NotACall,
    /// The call's reach does not admit this node's agent, so it may not carry the media.
    NotHostedHere,
    /// The call is not open: the joining agent must say who they are.
    NeedsAgent,
    /// The call's reach does not admit the joining agent (or the content is not shown to
    /// its audience now).
    NotAdmitted,
    /// Only the author and invitees publish into a live stream.
    BroadcastOnly,
}

impl Refusal {
    /// The refusal in words, for the client.
    pub fn message(self) -> &'static str {
        match self {
            Refusal::NotACall => "this content is not a live stream or a call",
            Refusal::NotHostedHere => {
                "this node may not host the call: its reach does not include this node's agent (join at the author's or an invitee's node)"
            }
            Refusal::NeedsAgent => "this call is not public; send a call token",
            Refusal::NotAdmitted => "the call's reach does not include this agent",
            Refusal::BroadcastOnly => "only the author and invitees publish into a live stream",
        }
    }
}

/// Whether `format` is content one joins live.
pub fn is_call(format: ContentFormat) -> bool {
    matches!(format, ContentFormat::LiveStream | ContentFormat::CallRecording)
}

/// Decides whether `joining` (or an anonymous client, `None`) may take `role` in `call` on
/// the node of agent `host`.
pub fn admit<A: PartialEq>(
    call: &Call<'_, A>,
    host: Agent<'_, A>,
    role: Role,
    joining: Option<Agent<'_, A>>,
) -> Result<(), Refusal> {
    if !call.format.is_some_and(is_call) {
        return Err(Refusal::NotACall);
    }
    let content = &call.content;
    if !content.admits(host.key, host.place) {
        return Err(Refusal::NotHostedHere);
    }
    if role == Role::View && content.is_open() {
        return Ok(());
    }
    let joining = joining.ok_or(Refusal::NeedsAgent)?;
    if !content.admits(joining.key, joining.place) {
        return Err(Refusal::NotAdmitted);
    }
    let audience = &content.audience;
    let member = joining.key == audience.author || audience.invitees.contains(joining.key);
    if role == Role::Publish && call.format == Some(ContentFormat::LiveStream) && !member {
        return Err(Refusal::BroadcastOnly);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reach::{Audience, Reach};
    use crate::Lifecycle;
    use proptest::prelude::*;

    const ALICE: u8 = 1;
    const BOB: u8 = 2;
    const CAROL: u8 = 3;

    fn call<'a>(format: ContentFormat, reach: Reach, invitees: &'a [u8]) -> Call<'a, u8> {
        Call {
            format: Some(format),
            content: Use {
                reach: Some(reach),
                lifecycle: Some(Lifecycle::Published),
                audience: Audience {
                    author: &ALICE,
                    invitees,
                    place: None,
                },
            },
        }
    }

    fn agent(key: &u8) -> Agent<'_, u8> {
        Agent { key, place: None }
    }

    #[test]
    fn an_invited_call_admits_its_author_and_invitees_and_no_stranger() {
        let c = call(ContentFormat::CallRecording, Reach::Invited, &[BOB]);
        for role in [Role::Publish, Role::View] {
            assert_eq!(admit(&c, agent(&ALICE), role, Some(agent(&ALICE))), Ok(()));
            assert_eq!(admit(&c, agent(&ALICE), role, Some(agent(&BOB))), Ok(()));
            assert_eq!(
                admit(&c, agent(&ALICE), role, Some(agent(&CAROL))),
                Err(Refusal::NotAdmitted)
            );
            assert_eq!(admit(&c, agent(&ALICE), role, None), Err(Refusal::NeedsAgent));
        }
    }

    #[test]
    fn only_the_authors_or_an_invitees_node_hosts_a_call_that_is_not_public() {
        let invited = call(ContentFormat::CallRecording, Reach::Invited, &[BOB]);
        assert_eq!(
            admit(&invited, agent(&BOB), Role::View, Some(agent(&ALICE))),
            Ok(())
        );
        assert_eq!(
            admit(&invited, agent(&CAROL), Role::View, Some(agent(&ALICE))),
            Err(Refusal::NotHostedHere)
        );
        let private = call(ContentFormat::CallRecording, Reach::Private, &[]);
        assert_eq!(
            admit(&private, agent(&BOB), Role::View, Some(agent(&ALICE))),
            Err(Refusal::NotHostedHere)
        );
    }

    #[test]
    fn anyone_watches_a_commons_stream_and_only_its_author_broadcasts() {
        let stream = call(ContentFormat::LiveStream, Reach::Commons, &[]);
        assert_eq!(admit(&stream, agent(&CAROL), Role::View, None), Ok(()));
        assert_eq!(
            admit(&stream, agent(&CAROL), Role::Publish, None),
            Err(Refusal::NeedsAgent)
        );
        assert_eq!(
            admit(&stream, agent(&CAROL), Role::Publish, Some(agent(&BOB))),
            Err(Refusal::BroadcastOnly)
        );
        assert_eq!(
            admit(&stream, agent(&CAROL), Role::Publish, Some(agent(&ALICE))),
            Ok(())
        );
        // In an open call, everyone who says who they are may speak.
        let open = call(ContentFormat::CallRecording, Reach::Commons, &[]);
        assert_eq!(
            admit(&open, agent(&CAROL), Role::Publish, Some(agent(&BOB))),
            Ok(())
        );
    }

    #[test]
    fn content_that_is_not_a_call_is_joined_by_nobody() {
        let video = call(ContentFormat::VideoFile, Reach::Commons, &[]);
        assert_eq!(
            admit(&video, agent(&ALICE), Role::View, Some(agent(&ALICE))),
            Err(Refusal::NotACall)
        );
        let mut unknown = call(ContentFormat::LiveStream, Reach::Commons, &[]);
        unknown.format = None;
        assert_eq!(
            admit(&unknown, agent(&ALICE), Role::View, None),
            Err(Refusal::NotACall)
        );
    }

    #[test]
    fn a_call_not_shown_to_its_audience_admits_only_its_author() {
        let mut draft = call(ContentFormat::LiveStream, Reach::Commons, &[]);
        draft.content.lifecycle = Some(Lifecycle::Draft);
        assert_eq!(
            admit(&draft, agent(&ALICE), Role::View, None),
            Err(Refusal::NeedsAgent)
        );
        assert_eq!(
            admit(&draft, agent(&ALICE), Role::View, Some(agent(&BOB))),
            Err(Refusal::NotAdmitted)
        );
        assert_eq!(
            admit(&draft, agent(&ALICE), Role::Publish, Some(agent(&ALICE))),
            Ok(())
        );
    }

    fn reach() -> impl Strategy<Value = Reach> {
        prop::sample::select(vec![Reach::Private, Reach::Invited, Reach::Local, Reach::Commons])
    }

    proptest! {
        /// Whoever is admitted is someone the content's own reach rule admits, and a node
        /// whose agent the reach refuses never carries the call.
        #[test]
        fn admission_never_goes_beyond_the_reach(
            r in reach(),
            live in any::<bool>(),
            invite_bob in any::<bool>(),
            host in 1u8..=3,
            joining in proptest::option::of(1u8..=3),
            publish in any::<bool>(),
        ) {
            let invitees: &[u8] = if invite_bob && r == Reach::Invited { &[BOB] } else { &[] };
            let format = if live { ContentFormat::LiveStream } else { ContentFormat::CallRecording };
            let c = call(format, r, invitees);
            let role = if publish { Role::Publish } else { Role::View };
            let joining_agent = joining.as_ref().map(agent);
            if admit(&c, agent(&host), role, joining_agent).is_ok() {
                prop_assert!(c.content.admits(&host, None));
                match joining {
                    Some(j) => prop_assert!(c.content.admits(&j, None)),
                    None => prop_assert!(!publish && c.content.is_open()),
                }
            }
        }
    }
}

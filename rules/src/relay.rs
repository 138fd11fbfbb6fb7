//! The Relay role's budget for live media (forwarded tracks and the bit rate sent to
//! viewers): who may join a call's forwarding now, and what an SDP offer asks of it.
//!
//! A *stream* is one forwarded track to one viewer (the unit of `max_concurrent_streams`).
//! Publishers cost no streams: what they send is forwarded only to viewers.

/// Seconds a refused client is told to wait before it tries again (`Retry-After`).
pub const RETRY_AFTER_SECS: u32 = 5;

/// What a node's relay holds open at most, when it committed no Relay role (a standalone
/// sidecar, or a node that only stores).
pub const DEFAULT_MAX_STREAMS: u32 = 100;

/// What a joining client is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// It may join; the streams it takes are counted.
    Admit,
    /// Over budget: it may try again after this many seconds.
    Refuse {
        /// For `Retry-After`.
        retry_after_secs: u32,
    },
}

/// What a relay forwards now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Load {
    /// Streams taken.
    pub streams: u32,
    /// Kbit/s sent to viewers, as last measured.
    pub kbps: u64,
    /// Streams taken when `kbps` was measured.
    pub measured_streams: u32,
}

/// What a relay may forward: the Relay role's `max_concurrent_streams` and, when it has
/// one, its `bandwidth_mbps`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Streams at once.
    pub streams: u32,
    /// Mbit/s sent to viewers, when capped.
    pub mbps: Option<u32>,
}

/// Kbit/s of `bytes` sent over `millis` milliseconds.
pub fn kbps(bytes: u64, millis: u64) -> u64 {
    bytes.saturating_mul(8) / millis.max(1)
}

/// Whether a client asking for `asked` streams may join a relay that carries `load`.
/// Within the stream budget, and, under a bandwidth budget, within it once every stream
/// taken, the new ones and those admitted since the rate was measured included, is priced
/// at the average rate of the streams taken when it was measured (a relay that has not
/// measured any stream yet has nothing to go by, and admits). Publishers ask for no
/// streams: what they send costs only when viewers take it.
pub fn admit(load: Load, asked: u32, budget: Budget) -> Admission {
    let refuse = Admission::Refuse {
        retry_after_secs: RETRY_AFTER_SECS,
    };
    let Some(total) = load.streams.checked_add(asked).filter(|t| *t <= budget.streams) else {
        return refuse;
    };
    let Some(mbps) = budget.mbps.filter(|_| asked > 0) else {
        return Admission::Admit;
    };
    let per_stream = load
        .kbps
        .checked_div(u64::from(load.measured_streams))
        .unwrap_or(0);
    if per_stream.saturating_mul(u64::from(total)) <= u64::from(mbps) * 1000 {
        Admission::Admit
    } else {
        refuse
    }
}

/// Which way media flows on one media section of an offer, from the offerer's side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// The offerer sends and receives (`a=sendrecv`, the default).
    SendRecv,
    /// The offerer only sends (`a=sendonly`).
    SendOnly,
    /// The offerer only receives (`a=recvonly`).
    RecvOnly,
    /// Neither (`a=inactive`, or port 0).
    Inactive,
}

impl Flow {
    /// Whether the offerer sends media on this section.
    pub fn sends(self) -> bool {
        matches!(self, Flow::SendRecv | Flow::SendOnly)
    }

    /// Whether the offerer receives media on this section.
    pub fn receives(self) -> bool {
        matches!(self, Flow::SendRecv | Flow::RecvOnly)
    }
}

/// One audio or video section of an offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Section {
    /// `true` for video, `false` for audio.
    pub video: bool,
    /// Its direction.
    pub flow: Flow,
}

/// The audio and video sections of an SDP offer, in order (data channels and other media
/// are left out). Reads only the `m=` lines and their direction attributes, so it never
/// fails: whether the SDP is valid is the WebRTC stack's to say.
pub fn sections(sdp: &str) -> Vec<Section> {
    let mut out: Vec<Section> = Vec::new();
    // Whether the section being read is audio or video (and so in `out`).
    let mut in_media = false;
    let mut session_flow = Flow::SendRecv;
    for line in sdp.lines().map(str::trim) {
        if let Some(m) = line.strip_prefix("m=") {
            let mut parts = m.split_whitespace();
            let kind = parts.next().unwrap_or_default();
            let port = parts.next().unwrap_or_default();
            in_media = kind == "audio" || kind == "video";
            if in_media {
                out.push(Section {
                    video: kind == "video",
                    flow: if port == "0" { Flow::Inactive } else { session_flow },
                });
            }
            continue;
        }
        let flow = match line {
            "a=sendrecv" => Flow::SendRecv,
            "a=sendonly" => Flow::SendOnly,
            "a=recvonly" => Flow::RecvOnly,
            "a=inactive" => Flow::Inactive,
            _ => continue,
        };
        match out.last_mut() {
            Some(last) if in_media => {
                if last.flow != Flow::Inactive || flow == Flow::Inactive {
                    last.flow = flow;
                }
            }
            // Before the first m= line it is the session's default.
            None => session_flow = flow,
            Some(_) => {}
        }
    }
    out
}

/// What a WHIP publisher's or a WHEP viewer's offer must hold, and the streams a viewer
/// takes; the error says what is wrong.
pub fn check_offer(sections: &[Section], publishing: bool) -> Result<u32, String> {
    if sections.is_empty() {
        return Err("the offer has no audio or video".into());
    }
    let active: Vec<&Section> = sections.iter().filter(|s| s.flow != Flow::Inactive).collect();
    if publishing {
        if !active.iter().any(|s| s.flow.sends()) {
            return Err("a WHIP offer must send audio or video".into());
        }
        return Ok(0);
    }
    let streams = active.iter().filter(|s| s.flow.receives()).count();
    if streams == 0 {
        return Err("a WHEP offer must receive audio or video".into());
    }
    Ok(streams as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    const WHEP: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
        m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=recvonly\r\n\
        m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\na=recvonly\r\n\
        m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:2\r\n";

    #[test]
    fn a_viewer_takes_one_stream_per_track_it_receives() {
        let s = sections(WHEP);
        assert_eq!(s.len(), 2, "the data channel is not media");
        assert_eq!(check_offer(&s, false), Ok(2));
        assert!(check_offer(&s, true).unwrap_err().contains("must send"));
    }

    #[test]
    fn directions_come_from_the_section_then_the_session() {
        let sdp = "v=0\na=sendonly\nm=audio 9 RTP 111\nm=video 9 RTP 96\na=inactive\nm=video 0 RTP 96\na=sendonly\n";
        let s = sections(sdp);
        assert_eq!(
            s.iter().map(|s| s.flow).collect::<Vec<_>>(),
            [Flow::SendOnly, Flow::Inactive, Flow::Inactive],
            "port 0 stays inactive whatever it says"
        );
        assert_eq!(check_offer(&s, true), Ok(0));
        assert!(check_offer(&s, false).is_err());
    }

    #[test]
    fn an_offer_without_media_is_refused() {
        assert!(check_offer(&sections("v=0\r\nm=application 9 DTLS webrtc\r\n"), true).is_err());
        assert!(check_offer(&sections("not sdp at all"), false).is_err());
    }

    /// A budget of `streams` and no bandwidth cap.
    fn streams_only(streams: u32) -> Budget {
        Budget { streams, mbps: None }
    }

    /// `streams` taken, carrying `kbps` when measured with as many.
    fn carrying(streams: u32, kbps: u64) -> Load {
        Load {
            streams,
            kbps,
            measured_streams: streams,
        }
    }

    #[test]
    fn the_budget_admits_up_to_its_limit_and_no_further() {
        assert_eq!(admit(carrying(0, 0), 2, streams_only(2)), Admission::Admit);
        assert_eq!(admit(carrying(1, 0), 1, streams_only(2)), Admission::Admit);
        assert_eq!(
            admit(carrying(2, 0), 1, streams_only(2)),
            Admission::Refuse {
                retry_after_secs: RETRY_AFTER_SECS
            }
        );
        assert!(matches!(
            admit(carrying(u32::MAX, 0), 1, streams_only(u32::MAX)),
            Admission::Refuse { .. }
        ));
    }

    #[test]
    fn a_bandwidth_budget_admits_a_viewer_only_if_its_streams_fit_at_the_average_rate() {
        let budget = Budget {
            streams: 100,
            mbps: Some(2),
        };
        // Nothing measured yet: nothing to go by.
        assert_eq!(admit(carrying(0, 0), 2, budget), Admission::Admit);
        // Two streams at 600 kbit/s each: one more fits (1 800), two more do not (2 400).
        assert_eq!(admit(carrying(2, 1_200), 1, budget), Admission::Admit);
        assert!(matches!(
            admit(carrying(2, 1_200), 2, budget),
            Admission::Refuse { .. }
        ));
        // A viewer admitted since the measurement counts at the average too, though the
        // rate does not show it yet.
        let pending = Load {
            streams: 3,
            ..carrying(2, 1_200)
        };
        assert!(matches!(admit(pending, 1, budget), Admission::Refuse { .. }));
        // Over the cap already: no viewer, however small, but a publisher still joins.
        assert!(matches!(
            admit(carrying(4, 2_400), 1, budget),
            Admission::Refuse { .. }
        ));
        assert_eq!(admit(carrying(4, 2_400), 0, budget), Admission::Admit);
        // Once viewers left, what they took is no longer counted.
        let left = Load {
            streams: 1,
            ..carrying(4, 2_400)
        };
        assert_eq!(admit(left, 1, budget), Admission::Admit);
        // The stream budget still holds under a bandwidth budget.
        let tight = Budget { streams: 2, ..budget };
        assert!(matches!(
            admit(carrying(2, 0), 1, tight),
            Admission::Refuse { .. }
        ));
        // Huge figures saturate instead of wrapping into an admission.
        let huge = Budget {
            streams: u32::MAX,
            mbps: Some(1),
        };
        assert!(matches!(
            admit(carrying(1, u64::MAX), u32::MAX - 1, huge),
            Admission::Refuse { .. }
        ));
    }

    #[test]
    fn the_rate_is_kilobits_per_second_and_a_zero_window_does_not_divide_by_zero() {
        assert_eq!(kbps(125_000, 1_000), 1_000);
        assert_eq!(kbps(81_250, 1_000), 650);
        assert_eq!(kbps(1_000, 0), 8_000);
        assert_eq!(kbps(u64::MAX, 1), u64::MAX);
    }
}

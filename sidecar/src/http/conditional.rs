//! Conditional requests (RFC 9110 §13.2.2), evaluated in the RFC's order for a
//! representation whose only validator is its strong ETag (the blob hash):
//! 1. If-Match → 412 unless it matches; 3. If-None-Match → 304 on a match (GET/HEAD);
//! 5. Range, honoured only if If-Range is absent or names the current ETag.
//!
//! (Steps 2 and 4 use dates, which content-addressed blobs do not carry.)

use super::range::{decide as decide_range, RangeDecision};

/// The request headers that decide what to send.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Preconditions<'a> {
    /// `If-Match`.
    pub if_match: Option<&'a str>,
    /// `If-None-Match`.
    pub if_none_match: Option<&'a str>,
    /// `Range`.
    pub range: Option<&'a str>,
    /// `If-Range`.
    pub if_range: Option<&'a str>,
}

/// What to answer with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// 412: If-Match did not match.
    PreconditionFailed,
    /// 304: the client's copy is current.
    NotModified,
    /// 200 with every byte, or 206 / 416 per the range decision.
    Send(RangeDecision),
}

/// Decides what a GET or HEAD for a representation of `len` bytes with `etag` (quoted,
/// strong) should answer.
pub(crate) fn evaluate(pre: &Preconditions<'_>, etag: &str, len: u64) -> Outcome {
    if let Some(if_match) = pre.if_match {
        if !list_matches(if_match, etag, Compare::Strong) {
            return Outcome::PreconditionFailed;
        }
    }
    if let Some(if_none_match) = pre.if_none_match {
        if list_matches(if_none_match, etag, Compare::Weak) {
            return Outcome::NotModified;
        }
    }
    let Some(range) = pre.range else {
        return Outcome::Send(RangeDecision::Full);
    };
    if let Some(if_range) = pre.if_range {
        // A date, a weak tag or another tag: the client's copy may differ; send it all.
        if if_range.trim() != etag {
            return Outcome::Send(RangeDecision::Full);
        }
    }
    Outcome::Send(decide_range(range, len))
}

#[derive(Clone, Copy)]
enum Compare {
    Strong,
    Weak,
}

/// Whether a comma-separated entity-tag list (or `*`) matches `etag`.
fn list_matches(list: &str, etag: &str, compare: Compare) -> bool {
    if list.trim() == "*" {
        return true;
    }
    list.split(',').map(str::trim).any(|tag| match compare {
        Compare::Strong => tag == etag,
        Compare::Weak => tag.strip_prefix("W/").unwrap_or(tag) == etag,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TAG: &str = "\"abc\"";

    fn eval(pre: Preconditions<'_>) -> Outcome {
        evaluate(&pre, TAG, 100)
    }

    #[test]
    fn if_none_match_with_the_current_tag_is_not_modified() {
        assert_eq!(
            eval(Preconditions {
                if_none_match: Some("\"x\", \"abc\""),
                ..Default::default()
            }),
            Outcome::NotModified
        );
        assert_eq!(
            eval(Preconditions {
                if_none_match: Some("W/\"abc\""),
                ..Default::default()
            }),
            Outcome::NotModified
        );
        assert_eq!(
            eval(Preconditions {
                if_none_match: Some("*"),
                ..Default::default()
            }),
            Outcome::NotModified
        );
        assert_eq!(
            eval(Preconditions {
                if_none_match: Some("\"x\""),
                ..Default::default()
            }),
            Outcome::Send(RangeDecision::Full)
        );
    }

    #[test]
    fn if_match_is_strong_and_comes_first() {
        let pre = Preconditions {
            if_match: Some("W/\"abc\""),
            if_none_match: Some(TAG),
            ..Default::default()
        };
        assert_eq!(eval(pre), Outcome::PreconditionFailed);
        let pre = Preconditions {
            if_match: Some(TAG),
            range: Some("bytes=0-9"),
            ..Default::default()
        };
        assert_eq!(eval(pre), Outcome::Send(RangeDecision::Partial(vec![0..10])));
    }

    #[test]
    fn if_range_with_stale_etag_sends_whole_blob() {
        let pre = Preconditions {
            range: Some("bytes=0-9"),
            if_range: Some("\"old\""),
            ..Default::default()
        };
        assert_eq!(eval(pre), Outcome::Send(RangeDecision::Full));
        let pre = Preconditions {
            range: Some("bytes=0-9"),
            if_range: Some("Wed, 21 Oct 2015 07:28:00 GMT"),
            ..Default::default()
        };
        assert_eq!(eval(pre), Outcome::Send(RangeDecision::Full));
        let pre = Preconditions {
            range: Some("bytes=0-9"),
            if_range: Some(TAG),
            ..Default::default()
        };
        assert_eq!(eval(pre), Outcome::Send(RangeDecision::Partial(vec![0..10])));
    }
}

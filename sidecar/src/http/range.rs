//! Range requests (RFC 9110 §14): a Range header value and a length in, the byte ranges
//! to send out. Syntax comes from `http-range-header`; what to do with the ranges — which
//! are satisfiable, when to ignore the header — is decided here, the way nginx does.

use http_range_header::{EndPosition, StartPosition};
use std::ops::Range;

/// More ranges than this in one request and the header is ignored (whole blob, 200).
pub const MAX_RANGES: usize = 32;

/// What a Range header asks for, resolved against a representation's length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RangeDecision {
    /// Send the whole representation (no header, or one that is ignored).
    Full,
    /// Send these ranges (half-open), in the order asked, each non-empty.
    Partial(Vec<Range<u64>>),
    /// No range can be satisfied: 416 with `Content-Range: bytes */len`.
    Unsatisfiable,
}

/// Resolves a Range header against `len` bytes.
///
/// - invalid syntax (including `b-a` with `b < a`) or another unit: ignored → `Full`;
/// - ranges starting at or past the end are dropped; none left → `Unsatisfiable`;
/// - `-n` longer than the representation selects all of it;
/// - more than [`MAX_RANGES`], overlapping ranges, or ranges adding up to more than the
///   representation: ignored → `Full` (what nginx does instead of amplifying a request).
pub fn decide(header: &str, len: u64) -> RangeDecision {
    let Ok(parsed) = http_range_header::parse_range_header(header.trim()) else {
        return RangeDecision::Full;
    };
    if parsed.ranges.len() > MAX_RANGES {
        return RangeDecision::Full;
    }
    let mut out = Vec::with_capacity(parsed.ranges.len());
    for r in &parsed.ranges {
        let range = match (r.start, r.end) {
            (StartPosition::Index(a), EndPosition::Index(b)) if b < a => return RangeDecision::Full,
            (StartPosition::Index(a), _) if a >= len => continue,
            (StartPosition::Index(a), EndPosition::Index(b)) => a..b.min(len - 1) + 1,
            (StartPosition::Index(a), EndPosition::LastByte) => a..len,
            (StartPosition::FromLast(_), _) if len == 0 => continue,
            (StartPosition::FromLast(n), _) => len.saturating_sub(n)..len,
        };
        out.push(range);
    }
    if out.is_empty() {
        return RangeDecision::Unsatisfiable;
    }
    let total: u64 = out.iter().map(|r| r.end - r.start).sum();
    if total > len || overlapping(&out) {
        return RangeDecision::Full;
    }
    RangeDecision::Partial(out)
}

fn overlapping(ranges: &[Range<u64>]) -> bool {
    let mut sorted: Vec<&Range<u64>> = ranges.iter().collect();
    sorted.sort_by_key(|r| r.start);
    sorted.windows(2).any(|w| w[1].start < w[0].end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use RangeDecision::*;

    #[test]
    fn single_ranges() {
        assert_eq!(decide("bytes=0-499", 1000), Partial(vec![0..500]));
        assert_eq!(decide("bytes=500-", 1000), Partial(vec![500..1000]));
        assert_eq!(decide("bytes=-200", 1000), Partial(vec![800..1000]));
        assert_eq!(decide("bytes=-2000", 1000), Partial(vec![0..1000]));
        assert_eq!(decide("bytes=900-5000", 1000), Partial(vec![900..1000]));
    }

    #[test]
    fn unsatisfiable_ranges() {
        assert_eq!(decide("bytes=1000-", 1000), Unsatisfiable);
        assert_eq!(decide("bytes=1000-2000, 3000-", 1000), Unsatisfiable);
        assert_eq!(decide("bytes=-5", 0), Unsatisfiable);
        assert_eq!(decide("bytes=0-0", 0), Unsatisfiable);
        assert_eq!(decide("bytes=5000-6000, 0-9", 1000), Partial(vec![0..10]));
    }

    #[test]
    fn invalid_headers_are_ignored() {
        for h in [
            "bytes=5-1",
            "bytes=a-b",
            "items=0-5",
            "bytes=",
            "bytes=--1",
            "0-5",
            "bytes=1-2-3",
            "bytes=+1-2",
        ] {
            assert_eq!(decide(h, 1000), Full, "{h}");
        }
    }

    #[test]
    fn abusive_range_sets_get_the_whole_blob() {
        assert_eq!(decide("bytes=0-500, 400-900", 1000), Full);
        assert_eq!(decide("bytes=0-999, 0-999", 1000), Full);
        let many: Vec<String> = (0..40).map(|i| format!("{}-{}", i * 10, i * 10 + 1)).collect();
        assert_eq!(decide(&format!("bytes={}", many.join(",")), 1000), Full);
    }

    #[test]
    fn several_ranges_keep_their_order() {
        assert_eq!(
            decide("bytes=500-599, 0-99", 1000),
            Partial(vec![500..600, 0..100])
        );
    }

    /// A deliberately plain reference model of RFC 9110 byte ranges with this module's
    /// policy, to check `decide` against on arbitrary headers.
    fn model(specs: &[(Option<u64>, Option<u64>)], len: u64) -> RangeDecision {
        let mut out = vec![];
        for &(first, last) in specs {
            match (first, last) {
                (Some(a), Some(b)) if b < a => return Full,
                (Some(a), _) if a >= len => {}
                (Some(a), Some(b)) => out.push(a..std::cmp::min(b + 1, len)),
                (Some(a), None) => out.push(a..len),
                (None, Some(n)) if len > 0 => out.push(len - std::cmp::min(n, len)..len),
                _ => {}
            }
        }
        if specs.len() > MAX_RANGES {
            return Full;
        }
        if out.is_empty() {
            return Unsatisfiable;
        }
        let total: u64 = out.iter().map(|r| r.end - r.start).sum();
        let overlap = out
            .iter()
            .enumerate()
            .any(|(i, a)| out[i + 1..].iter().any(|b| a.start < b.end && b.start < a.end));
        if total > len || overlap {
            Full
        } else {
            Partial(out)
        }
    }

    fn spec() -> impl Strategy<Value = (Option<u64>, Option<u64>)> {
        prop_oneof![
            (0u64..3000, 0u64..3000).prop_map(|(a, b)| (Some(a), Some(b))),
            (0u64..3000).prop_map(|a| (Some(a), None)),
            (1u64..3000).prop_map(|n| (None, Some(n))),
        ]
    }

    fn render(specs: &[(Option<u64>, Option<u64>)]) -> String {
        let parts: Vec<String> = specs
            .iter()
            .map(|(a, b)| match (a, b) {
                (Some(a), Some(b)) => format!("{a}-{b}"),
                (Some(a), None) => format!("{a}-"),
                (None, Some(n)) => format!("-{n}"),
                (None, None) => unreachable!(),
            })
            .collect();
        format!("bytes={}", parts.join(", "))
    }

    proptest! {
        #[test]
        fn agrees_with_the_reference_model(specs in proptest::collection::vec(spec(), 1..40), len in 0u64..2500) {
            prop_assert_eq!(decide(&render(&specs), len), model(&specs, len));
        }

        #[test]
        fn never_panics_and_stays_in_bounds(header in "\\PC{0,80}", len in 0u64..10_000) {
            if let Partial(ranges) = decide(&header, len) {
                for r in ranges {
                    prop_assert!(r.start < r.end && r.end <= len);
                }
            }
        }

        #[test]
        fn byte_garbage_after_the_unit_never_panics(tail in proptest::collection::vec(any::<u8>(), 0..60), len in 0u64..5000) {
            let header = format!("bytes={}", String::from_utf8_lossy(&tail));
            let _ = decide(&header, len);
        }
    }
}

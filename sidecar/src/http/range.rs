//! Range requests (RFC 9110 §14): a Range header value and a length in, the byte ranges
//! to send out. The header is parsed by the RFC's grammar here, and what to do with the
//! ranges — which are satisfiable, when to ignore the header — is decided the way nginx
//! does, with a cap on how many ranges one request may ask for.

use std::ops::Range;

/// More ranges than this in one request and the header is ignored (whole blob, 200).
pub(crate) const MAX_RANGES: usize = 32;

/// What a Range header asks for, resolved against a representation's length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RangeDecision {
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
/// - ranges starting at or past the end, and `-0`, cannot be satisfied and are dropped;
///   none left → `Unsatisfiable`;
/// - positions too large for 64 bits are valid and read as "past any end": `a-` with a
///   huge last position runs to the end, a huge `-n` selects all of the representation;
/// - more than [`MAX_RANGES`], or ranges adding up to more than the representation:
///   ignored → `Full` (nginx's rule against amplifying a request). Overlapping ranges
///   within that are sent as asked, as nginx does.
pub(crate) fn decide(header: &str, len: u64) -> RangeDecision {
    let Some(specs) = parse(header) else {
        return RangeDecision::Full;
    };
    if specs.len() > MAX_RANGES {
        return RangeDecision::Full;
    }
    let mut out = Vec::with_capacity(specs.len());
    for spec in specs {
        let range = match spec {
            Spec::From(a, _) if a >= len => continue,
            Spec::From(a, Some(b)) => a..b.min(len - 1) + 1,
            Spec::From(a, None) => a..len,
            Spec::Suffix(n) if n == 0 || len == 0 => continue,
            Spec::Suffix(n) => len.saturating_sub(n)..len,
        };
        out.push(range);
    }
    if out.is_empty() {
        return RangeDecision::Unsatisfiable;
    }
    let total = out
        .iter()
        .fold(0u64, |sum, r| sum.saturating_add(r.end - r.start));
    if total > len {
        return RangeDecision::Full;
    }
    RangeDecision::Partial(out)
}

/// One range-spec of a `bytes` range set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Spec {
    /// `first-pos "-" [ last-pos ]`.
    From(u64, Option<u64>),
    /// `"-" suffix-length`.
    Suffix(u64),
}

/// Parses `bytes=<range-set>` (RFC 9110 §14.1.1–14.2): the unit is case-insensitive, list
/// elements are separated by commas with optional spaces and tabs, and empty elements are
/// skipped (§5.6.1). `None` when the header is not a valid `bytes` range set.
fn parse(header: &str) -> Option<Vec<Spec>> {
    let (unit, set) = header.trim().split_once('=')?;
    if !unit.eq_ignore_ascii_case("bytes") {
        return None;
    }
    let mut specs = Vec::new();
    for element in set.split(',').map(|e| e.trim_matches([' ', '\t'])) {
        if element.is_empty() {
            continue;
        }
        let (first, last) = element.split_once('-')?;
        let spec = match (first.is_empty(), last.is_empty()) {
            (true, true) => return None,
            (true, false) => Spec::Suffix(position(last)?),
            (false, true) => Spec::From(position(first)?, None),
            (false, false) => {
                let (a, b) = (position(first)?, position(last)?);
                if b < a {
                    return None;
                }
                Spec::From(a, Some(b))
            }
        };
        specs.push(spec);
    }
    (!specs.is_empty()).then_some(specs)
}

/// A position (`1*DIGIT`); one too large for 64 bits is `u64::MAX`, past any end.
fn position(digits: &str) -> Option<u64> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(digits.parse().unwrap_or(u64::MAX))
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
        // A zero-length suffix is valid syntax that selects nothing.
        assert_eq!(decide("bytes=-0", 1000), Unsatisfiable);
        assert_eq!(decide("bytes=-0, 0-9", 1000), Partial(vec![0..10]));
    }

    #[test]
    fn positions_too_large_for_64_bits_lie_past_the_end() {
        let huge = "99999999999999999999999";
        assert_eq!(decide(&format!("bytes=0-{huge}"), 1000), Partial(vec![0..1000]));
        assert_eq!(decide(&format!("bytes={huge}-"), 1000), Unsatisfiable);
        assert_eq!(decide(&format!("bytes=-{huge}"), 1000), Partial(vec![0..1000]));
        assert_eq!(
            decide(&format!("bytes={huge}-5"), 1000),
            Full,
            "last before first"
        );
    }

    #[test]
    fn the_unit_is_case_insensitive_and_empty_list_elements_are_skipped() {
        assert_eq!(decide("Bytes=0-9", 1000), Partial(vec![0..10]));
        assert_eq!(
            decide("bytes=0-9,, \t,20-29 ,", 1000),
            Partial(vec![0..10, 20..30])
        );
        assert_eq!(decide("bytes=,", 1000), Full);
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
        // Overlapping ranges that add up to no more than the whole are sent, as nginx does.
        assert_eq!(decide("bytes=0-10, 5-20", 1000), Partial(vec![0..11, 5..21]));
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
                (None, Some(n)) if n > 0 && len > 0 => out.push(len - std::cmp::min(n, len)..len),
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
        if total > len {
            Full
        } else {
            Partial(out)
        }
    }

    fn spec() -> impl Strategy<Value = (Option<u64>, Option<u64>)> {
        prop_oneof![
            (0u64..3000, 0u64..3000).prop_map(|(a, b)| (Some(a), Some(b))),
            (0u64..3000).prop_map(|a| (Some(a), None)),
            (0u64..3000).prop_map(|n| (None, Some(n))),
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

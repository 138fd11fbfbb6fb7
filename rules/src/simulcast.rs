//! Which simulcast layer of a publisher's video the SFU forwards to viewers (issue 19,
//! point 4): the best layer within the node's delivery cap ([`DeliveryCap`], from its
//! bandwidth class), so a `low` node forwards nothing taller than 480p and, while a layer
//! within 2 Mbit/s is sent, nothing faster. A layer is judged by what the SFU sees of it:
//! its height once a keyframe says (VP8 keyframes do), and its measured bit rate.

use crate::bandwidth::DeliveryCap;

/// One layer of a publisher's video, as the SFU sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Layer {
    /// Its height in lines, once a keyframe said; `None` before, and for codecs whose
    /// frames the SFU does not read.
    pub height: Option<u32>,
    /// Its bit rate over the last measurement, in kbit/s (0 before the first).
    pub kbps: u32,
}

impl Layer {
    /// Whether it is no taller than `cap` allows (a height not known yet does not count
    /// against it).
    pub fn low_enough(&self, cap: DeliveryCap) -> bool {
        self.height.is_none_or(|h| h <= cap.max_height)
    }

    /// Whether forwarding it stays within `cap`, in height and in bit rate.
    pub fn fits(&self, cap: DeliveryCap) -> bool {
        self.low_enough(cap) && self.kbps <= cap.max_kbps
    }
}

/// The layer to forward (its index in `layers`): the tallest, then fastest, of those that
/// fit `cap`; when each one low enough is over the bit rate, the slowest of them (a
/// publisher's only layer, or its lowest, rather than no picture); none when every layer
/// is too tall (the viewer then gets that publisher's audio only).
pub fn layer_for(layers: &[Layer], cap: DeliveryCap) -> Option<usize> {
    let indexed = || layers.iter().enumerate();
    indexed()
        .filter(|(_, l)| l.fits(cap))
        // The first of equals wins: before anything is measured, the first layer seen.
        .min_by_key(|(i, l)| (core::cmp::Reverse((l.height.unwrap_or(0), l.kbps)), *i))
        .or_else(|| {
            indexed()
                .filter(|(_, l)| l.low_enough(cap))
                .min_by_key(|(i, l)| (l.kbps, *i))
        })
        .map(|(i, _)| i)
}

/// What a viewer's video track does with a publisher's frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Take {
    /// Forward it: the layer the viewer gets.
    Forward,
    /// Forward it and get this layer from now on: a keyframe of the layer it is to get.
    Switch,
    /// Not yet: the layer it is to get, which it can start on only at a keyframe (so ask
    /// the publisher for one).
    AwaitKeyframe,
    /// The layer the viewer was getting, which no longer fits while another does: it
    /// gets nothing more of it, and starts again at a keyframe of the one it is to get
    /// (forwarding this layer again later from an interframe would break its decoding).
    Restart,
    /// Not for this viewer.
    Skip,
}

/// What to do with a frame of layer `layer` (a keyframe or not, within the cap or not),
/// for a viewer getting `current` (none before its first keyframe) that is to get
/// `target` (none: no layer fits). A viewer moving to a better layer keeps its current one
/// until a keyframe of the target arrives; one whose layer went over the cap stops it at
/// once, and its picture holds until that keyframe.
pub fn take<R: PartialEq>(
    current: Option<&R>,
    target: Option<&R>,
    layer: &R,
    keyframe: bool,
    fits: bool,
) -> Take {
    let is_target = target == Some(layer);
    match (current == Some(layer), is_target, keyframe) {
        (true, true, _) => Take::Forward,
        (true, false, _) if fits => Take::Forward,
        (true, false, _) => Take::Restart,
        (false, true, true) => Take::Switch,
        (false, true, false) => Take::AwaitKeyframe,
        _ => Take::Skip,
    }
}

/// The height a VP8 keyframe gives (RFC 6386, section 9.1), or `None` for an interframe
/// or bytes that are not a VP8 keyframe.
pub fn vp8_keyframe_height(frame: &[u8]) -> Option<u32> {
    let [tag, _, _, 0x9d, 0x01, 0x2a, w0, w1, h0, h1, ..] = *frame else {
        return None;
    };
    if tag & 1 != 0 {
        return None;
    }
    let width = u16::from_le_bytes([w0, w1]) & 0x3fff;
    let height = u16::from_le_bytes([h0, h1]) & 0x3fff;
    (width > 0 && height > 0).then_some(u32::from(height))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BandwidthClass;

    fn layer(height: u32, kbps: u32) -> Layer {
        Layer {
            height: Some(height),
            kbps,
        }
    }

    #[test]
    fn a_low_node_forwards_the_best_layer_at_or_under_480p_and_2_mbits() {
        let low = BandwidthClass::Low.cap();
        let layers = [layer(720, 2_500), layer(360, 600), layer(480, 1_200)];
        assert_eq!(layer_for(&layers, low), Some(2));
        assert_eq!(layer_for(&layers, BandwidthClass::High.cap()), Some(0));
        // 480p at more than 2 Mbit/s is over the cap too.
        let fat = [layer(480, 2_400), layer(240, 300)];
        assert_eq!(layer_for(&fat, low), Some(1));
    }

    #[test]
    fn nothing_taller_than_the_cap_is_forwarded_and_the_slowest_when_all_run_over() {
        let low = BandwidthClass::Low.cap();
        assert_eq!(layer_for(&[layer(720, 1_000)], low), None);
        assert_eq!(layer_for(&[], low), None);
        // Over the rate but low enough: the slowest, rather than no picture.
        assert_eq!(layer_for(&[layer(480, 3_000)], low), Some(0));
        assert_eq!(
            layer_for(&[layer(720, 900), layer(480, 3_000), layer(360, 2_500)], low),
            Some(2)
        );
    }

    #[test]
    fn layers_not_yet_measured_go_by_height_then_by_arrival() {
        let high = BandwidthClass::High.cap();
        let unknown = Layer::default();
        assert_eq!(layer_for(&[unknown, unknown], high), Some(0));
        assert_eq!(layer_for(&[unknown, layer(360, 0)], high), Some(1));
        // A height not known yet is judged by the bit rate alone.
        let low = BandwidthClass::Low.cap();
        let fast = Layer {
            height: None,
            kbps: 3_000,
        };
        assert!(!fast.fits(low));
        assert_eq!(layer_for(&[fast, unknown], low), Some(1));
    }

    #[test]
    fn a_viewer_switches_layers_only_at_a_keyframe_of_the_new_one() {
        let (low, high) = ("l", "h");
        // Joining: nothing until the target's keyframe.
        assert_eq!(take(None, Some(&high), &high, false, true), Take::AwaitKeyframe);
        assert_eq!(take(None, Some(&high), &high, true, true), Take::Switch);
        assert_eq!(take(None, Some(&high), &low, true, true), Take::Skip);
        // Moving down: the high layer goes on while it fits, until the low one's keyframe.
        assert_eq!(take(Some(&high), Some(&low), &high, false, true), Take::Forward);
        assert_eq!(
            take(Some(&high), Some(&low), &low, false, true),
            Take::AwaitKeyframe
        );
        assert_eq!(take(Some(&high), Some(&low), &low, true, true), Take::Switch);
        // A current layer over the cap stops at once, and is not taken up again but at a
        // keyframe.
        assert_eq!(take(Some(&high), Some(&low), &high, false, false), Take::Restart);
        assert_eq!(take(Some(&high), None, &high, true, false), Take::Restart);
        assert_eq!(take(None, Some(&high), &high, false, true), Take::AwaitKeyframe);
        // Settled: the current layer is forwarded, keyframe or not.
        assert_eq!(take(Some(&low), Some(&low), &low, false, true), Take::Forward);
    }

    #[test]
    fn the_height_is_read_from_vp8_keyframes_only() {
        // 1280×720: width 0x0500, height 0x02d0, little-endian, scale bits clear.
        let key = [0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x00, 0x05, 0xd0, 0x02, 0xff];
        assert_eq!(vp8_keyframe_height(&key), Some(720));
        let mut inter = key;
        inter[0] |= 1;
        assert_eq!(vp8_keyframe_height(&inter), None);
        // Scale bits are not part of the size.
        let mut scaled = key;
        scaled[9] |= 0xc0;
        assert_eq!(vp8_keyframe_height(&scaled), Some(720));
        assert_eq!(vp8_keyframe_height(&key[..9]), None);
        let mut no_start_code = key;
        no_start_code[3] = 0;
        assert_eq!(vp8_keyframe_height(&no_start_code), None);
    }
}

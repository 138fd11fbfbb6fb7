//! Bandwidth classes and the delivery caps they put on a stream (seed, Gap 4).

use crate::reach::Reach;

crate::named_enum! {
    /// How much a custodian can send.
    BandwidthClass {
        /// At most 480p / 2 Mbps.
        Low => "low",
        /// At most 720p / 5 Mbps.
        Medium => "medium",
        /// At most 1080p / 8 Mbps.
        High => "high",
        /// Up to 4K / 25 Mbps.
        Ultra => "ultra",
    }
}

/// The most a stream may use over a custodian of some bandwidth class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryCap {
    /// The tallest rendition, in lines.
    pub max_height: u32,
    /// The highest bitrate, in kbit/s.
    pub max_kbps: u32,
}

impl BandwidthClass {
    /// The cap this class puts on delivery.
    pub const fn cap(self) -> DeliveryCap {
        let (max_height, max_kbps) = match self {
            BandwidthClass::Low => (480, 2_000),
            BandwidthClass::Medium => (720, 5_000),
            BandwidthClass::High => (1080, 8_000),
            BandwidthClass::Ultra => (2160, 25_000),
        };
        DeliveryCap { max_height, max_kbps }
    }

    /// The delivery cap for content of `reach` over this class, or why it is refused:
    /// private content over a low-bandwidth custodian is refused (too slow to serve
    /// securely, seed Gap 4).
    pub fn delivery(self, reach: Reach) -> Result<DeliveryCap, String> {
        if reach == Reach::Private && self == BandwidthClass::Low {
            return Err("private content is not served over a low-bandwidth custodian".into());
        }
        Ok(self.cap())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_table() {
        assert_eq!(
            BandwidthClass::Low.cap(),
            DeliveryCap {
                max_height: 480,
                max_kbps: 2_000
            }
        );
        assert_eq!(BandwidthClass::Ultra.cap().max_kbps, 25_000);
        assert!(BandwidthClass::Low.delivery(Reach::Private).is_err());
        assert!(BandwidthClass::Low.delivery(Reach::Commons).is_ok());
        assert!(BandwidthClass::Medium.delivery(Reach::Private).is_ok());
    }
}

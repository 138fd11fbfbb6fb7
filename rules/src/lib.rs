//! The rules of Elohim Media, shared by the integrity zome, the coordinator zome and the
//! sidecar: one source of truth, compiled for wasm and native alike.
//!
//! Nothing here knows about Holochain types, so every rule is unit- and property-tested
//! natively and the sidecar applies exactly what validation applies.

pub mod access;
pub mod bandwidth;
pub mod cache;
pub mod call;
pub mod chunks;
pub mod content;
pub mod endpoint;
pub mod hash;
pub mod ladder;
pub mod lifecycle;
pub mod limits;
pub mod manifest;
pub mod membership;
pub mod place;
pub mod placement;
pub mod quota;
pub mod reach;
pub mod relay;
pub mod replica;
pub mod role;
pub mod simulcast;
pub mod token;

pub use bandwidth::BandwidthClass;
pub use cache::CachePartition;
pub use chunks::{ChunkLayout, ChunkSlice};
pub use lifecycle::Lifecycle;
pub use place::{Place, PlaceLevel};
pub use reach::Reach;
pub use replica::ReplicaState;

/// A value that is not one of the names a field accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownValue {
    /// What was given.
    pub given: String,
    /// The names that field accepts.
    pub expected: &'static [&'static str],
}

impl core::fmt::Display for UnknownValue {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "unknown value '{}'; expected one of: {}",
            self.given,
            self.expected.join(", ")
        )
    }
}

/// Declares a closed set of lowercase names with parsing and printing, so every enum-like
/// field of an entry is stored as a plain string a UI can send and validated in one way.
macro_rules! named_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The accepted names, in declaration order.
            pub const NAMES: &'static [&'static str] = &[$($text),+];

            /// The stored name of this value.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Parses a stored name; anything else is an [`UnknownValue`](crate::UnknownValue).
            pub fn parse(s: &str) -> Result<Self, crate::UnknownValue> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(crate::UnknownValue { given: s.into(), expected: Self::NAMES }),
                }
            }
        }

        impl core::fmt::Display for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl core::str::FromStr for $name {
            type Err = crate::UnknownValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> { Self::parse(s) }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <String as serde::Deserialize>::deserialize(d)?;
                Self::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}
pub(crate) use named_enum;

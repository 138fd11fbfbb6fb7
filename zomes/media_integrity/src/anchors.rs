//! The anchors that index links hang from. Both zomes compute them here, so validation
//! can check that a link hangs from the right one.

use hdi::prelude::*;
use media_rules::{Place, Reach};

/// The path that content of `reach` (and, for place-bound reaches, `place`) is listed
/// under: `reach.<name>` then the place's names from the region down to the reach's level.
/// Private and invited content has no reach anchor.
pub fn reach_path(reach: Reach, place: Option<&Place>) -> Option<Path> {
    let mut components = vec![Component::from("reach"), Component::from(reach.as_str())];
    match (reach.rule().place_level, place) {
        (Some(level), Some(place)) => components.extend(
            place
                .names()
                .iter()
                .filter(|(l, _)| *l >= level)
                .map(|(_, name)| Component::from(*name)),
        ),
        (Some(_), None) => return None,
        (None, _) if reach != Reach::Commons => return None,
        (None, _) => {}
    }
    Some(Path::from(components))
}

/// The path a blob's manifests and contents hang from.
pub fn blob_path(blob_hash_hex: &str) -> Path {
    Path::from(vec![Component::from("blob"), Component::from(blob_hash_hex)])
}

/// The path every custodian commitment hangs from.
pub fn custodians_path() -> Path {
    Path::from(vec![Component::from("custodians")])
}

/// The path every vouch for a place in `region` hangs from.
pub fn vouches_path(region: &str) -> Path {
    Path::from(vec![Component::from("place-vouches"), Component::from(region)])
}

//! Places: the nested household → neighborhood → municipality → bioregion → region names
//! that place-bound reaches (local…regional) compare.

use serde::{Deserialize, Serialize};

crate::named_enum! {
    /// One level of a place, from the narrowest to the widest.
    PlaceLevel {
        /// A household (local reach).
        Household => "household",
        /// A neighborhood.
        Neighborhood => "neighborhood",
        /// A municipality.
        Municipality => "municipality",
        /// A bioregion.
        Bioregion => "bioregion",
        /// A region.
        Region => "region",
    }
}

/// The longest name a place level may have.
pub const MAX_PLACE_NAME: usize = 128;

/// Where an agent lives or where content belongs, widest name first. Two places share a
/// level when every name from the region down to that level is equal.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Place {
    /// Region name.
    pub region: String,
    /// Bioregion name.
    pub bioregion: String,
    /// Municipality name.
    pub municipality: String,
    /// Neighborhood name.
    pub neighborhood: String,
    /// Household name.
    pub household: String,
}

impl Place {
    /// Builds a place from names ordered region, bioregion, municipality, neighborhood,
    /// household.
    pub fn new([region, bioregion, municipality, neighborhood, household]: [String; 5]) -> Self {
        Place {
            region,
            bioregion,
            municipality,
            neighborhood,
            household,
        }
    }

    /// Parses `region/bioregion/municipality/neighborhood/household` and checks it.
    pub fn parse_path(path: &str) -> Result<Self, String> {
        let names: Vec<String> = path.split('/').map(str::to_string).collect();
        let names: [String; 5] = names
            .try_into()
            .map_err(|_| "place must be region/bioregion/municipality/neighborhood/household".to_string())?;
        let place = Place::new(names);
        place.check().map_err(|e| format!("place: {e}"))?;
        Ok(place)
    }

    /// The names from widest to narrowest, with their levels.
    pub fn names(&self) -> [(PlaceLevel, &str); 5] {
        [
            (PlaceLevel::Region, &self.region),
            (PlaceLevel::Bioregion, &self.bioregion),
            (PlaceLevel::Municipality, &self.municipality),
            (PlaceLevel::Neighborhood, &self.neighborhood),
            (PlaceLevel::Household, &self.household),
        ]
    }

    /// Whether both places are the same down to `level`.
    pub fn shares(&self, other: &Place, level: PlaceLevel) -> bool {
        self.names()
            .iter()
            .zip(other.names().iter())
            .take_while(|((l, _), _)| *l >= level)
            .all(|((_, a), (_, b))| a == b)
    }

    /// Checks that every name is present and of sane length; names the bad level.
    pub fn check(&self) -> Result<(), String> {
        for (level, name) in self.names() {
            if name.trim().is_empty() {
                return Err(format!("{level} must not be empty"));
            }
            if name.len() > MAX_PLACE_NAME {
                return Err(format!("{level} is longer than {MAX_PLACE_NAME} bytes"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(h: &str, n: &str, m: &str) -> Place {
        Place::new(["r".into(), "b".into(), m.into(), n.into(), h.into()])
    }

    #[test]
    fn sharing_is_prefix_equality_from_the_region_down() {
        let a = p("h1", "n1", "m1");
        assert!(a.shares(&p("h1", "n1", "m1"), PlaceLevel::Household));
        assert!(a.shares(&p("h2", "n1", "m1"), PlaceLevel::Neighborhood));
        assert!(!a.shares(&p("h2", "n1", "m1"), PlaceLevel::Household));
        // Same neighborhood name in another municipality is another neighborhood.
        assert!(!a.shares(&p("h1", "n1", "m2"), PlaceLevel::Neighborhood));
        assert!(a.shares(&p("h9", "n9", "m2"), PlaceLevel::Bioregion));
    }

    #[test]
    fn empty_names_are_refused_by_level() {
        let err = p("", "n", "m").check().unwrap_err();
        assert!(err.contains("household"), "{err}");
    }
}

//! The content a custodian knows of. Reading every visible content item each round would
//! make rounds grow with the whole library, so the catalog is read whole only every
//! [`FULL_LISTING_ROUNDS`] rounds and in the rounds between is topped up with what was
//! indexed since the last reading. Each new version is indexed again, so new content and
//! edits that leave it visible (a new rendition, a deprecation) are seen at the next round;
//! content that left this reader's sight (deleted, archived, forgotten, or of a place it
//! left) drops out at the next whole reading.

use crate::dht::Node;
use crate::error::ApiError;
use hdi::prelude::{ActionHash, Timestamp};
use media_api::ContentView;
use std::collections::HashMap;
use std::time::Duration;

/// Every this many rounds the catalog is read whole again.
pub const FULL_LISTING_ROUNDS: u32 = 10;

/// How far back a top-up looks before the previous reading: index links travel the DHT
/// and may arrive after a later reading, stamped with their author's (earlier) time.
pub const LATE_LINKS: Duration = Duration::from_secs(300);

/// Content by identity, and when it was read.
#[derive(Default)]
pub struct Catalog {
    contents: HashMap<ActionHash, ContentView>,
    /// When the newest reading (whole or top-up) started.
    read_at: Option<Timestamp>,
    /// Top-ups since the last whole reading.
    top_ups: u32,
}

impl Catalog {
    /// Reads the catalog whole or tops it up, as due; the content it knows, newest first.
    pub async fn refresh(&mut self, link: Node<'_>) -> Result<Vec<ContentView>, ApiError> {
        let started = crate::clock::now();
        match self.read_at {
            Some(at) if self.top_ups + 1 < FULL_LISTING_ROUNDS => {
                let since = Timestamp::from_micros(at.as_micros() - LATE_LINKS.as_micros() as i64);
                let fresh: Vec<ContentView> = link.visible_content(Some(since)).await?;
                for view in fresh {
                    self.contents.insert(view.id.clone(), view);
                }
                self.top_ups += 1;
            }
            _ => {
                let all: Vec<ContentView> = link.visible_content(None).await?;
                self.contents = all.into_iter().map(|v| (v.id.clone(), v)).collect();
                self.top_ups = 0;
            }
        }
        self.read_at = Some(started);
        let mut contents: Vec<ContentView> = self.contents.values().cloned().collect();
        contents.sort_by_key(|v| std::cmp::Reverse(v.updated_at));
        Ok(contents)
    }
}

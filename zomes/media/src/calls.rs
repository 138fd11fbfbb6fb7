//! Live calls and streams are content: starting one creates its ContentNode, with no blobs
//! until its recording is stored. Who may host, publish and watch is `media_rules::call`.

use crate::content::create_content;
use hdk::prelude::*;
use media_api::{ContentView, StartCallInput};
use media_integrity::ContentNode;
use media_rules::content::{ContentFormat, EmbedStrategy};

/// Days a call's recording is kept after the call is deprecated or archived.
pub const RETENTION_DAYS: u32 = 30;

/// The ContentNode of a new call: published at once, no blobs yet, its recording to be
/// played by HLS.
pub fn call_node(input: StartCallInput) -> ContentNode {
    let format = match input.live_stream {
        true => ContentFormat::LiveStream,
        false => ContentFormat::CallRecording,
    };
    ContentNode {
        title: input.title,
        description: input.description,
        content_format: format.as_str().into(),
        reach: input.reach,
        lifecycle: "published".into(),
        refresh_interval_days: None,
        retention_days: RETENTION_DAYS,
        embed_strategy: EmbedStrategy::Hls.as_str().into(),
        blobs: vec![],
        invitees: input.invitees,
        place: input.place,
        codecs: vec![],
    }
}

/// Starts a call as the caller: validation checks its fields as for any content.
pub fn start_call(input: StartCallInput) -> ExternResult<ContentView> {
    create_content(call_node(input))
}

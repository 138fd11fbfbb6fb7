//! What ffprobe says about a source file.

use super::sandbox;
use media_rules::ladder::{SourceFacts, PROBE_SECS};
use serde::Deserialize;
use std::path::Path;

/// The facts about a source the ladder needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    /// Height of the first video stream, if there is one.
    pub height: Option<u32>,
    /// Width of the first video stream, if there is one.
    pub width: Option<u32>,
    /// How many streams the container has.
    pub streams: u32,
    /// Whether there is an audio stream.
    pub audio: bool,
    /// Duration in seconds.
    pub duration_s: f64,
    /// ffprobe's container name (`mov,mp4,m4a,3gp,3g2,mj2`, `mp3`, `ogg` …).
    pub format: String,
}

#[derive(Deserialize)]
struct Output {
    #[serde(default)]
    streams: Vec<Stream>,
    format: Option<Format>,
}

#[derive(Deserialize)]
struct Stream {
    codec_type: String,
    height: Option<u32>,
    width: Option<u32>,
    #[serde(default)]
    disposition: Disposition,
}

#[derive(Deserialize, Default)]
struct Disposition {
    #[serde(default)]
    attached_pic: u8,
}

#[derive(Deserialize)]
struct Format {
    format_name: String,
    duration: Option<String>,
}

impl Probe {
    /// The facts the source bounds are checked against.
    pub fn facts(&self) -> SourceFacts {
        SourceFacts {
            seconds: self.duration_s,
            picture: self.width.zip(self.height),
            streams: self.streams,
        }
    }
}

/// Runs ffprobe on `path`, confined to that one file read by `demuxers` (see [`sandbox`]).
/// An error says what ffprobe could not read.
pub async fn probe(path: &Path, demuxers: &str) -> Result<Probe, String> {
    let mut cmd = sandbox::command("ffprobe", PROBE_SECS);
    cmd.args([
        "-v",
        "error",
        "-print_format",
        "json",
        "-show_streams",
        "-show_format",
    ])
    .args(sandbox::input(path, demuxers));
    let out = sandbox::within("ffprobe", PROBE_SECS, async {
        cmd.output().await.map_err(|e| format!("cannot run ffprobe: {e}"))
    })
    .await?;
    if !out.status.success() {
        let why = String::from_utf8_lossy(&out.stderr);
        let why = why.trim();
        return Err(match why.is_empty() {
            true => sandbox::ended("ffprobe", out.status, PROBE_SECS),
            false => format!("ffprobe cannot read the source: {why}"),
        });
    }
    parse(&out.stdout)
}

fn parse(json: &[u8]) -> Result<Probe, String> {
    let out: Output = serde_json::from_slice(json).map_err(|e| format!("ffprobe output: {e}"))?;
    let format = out.format.ok_or("ffprobe found no container")?;
    // Cover art in an MP3 shows up as a one-frame video stream; it is not video.
    let video = out
        .streams
        .iter()
        .find(|s| s.codec_type == "video" && s.disposition.attached_pic == 0);
    let duration_s = format
        .duration
        .as_deref()
        .and_then(|d| d.parse::<f64>().ok())
        .filter(|d| d.is_finite() && *d > 0.0)
        .ok_or("the source has no duration")?;
    Ok(Probe {
        height: video.and_then(|s| s.height),
        width: video.and_then(|s| s.width),
        streams: out.streams.len() as u32,
        audio: out.streams.iter().any(|s| s.codec_type == "audio"),
        duration_s,
        format: format.format_name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cover_art_is_not_video() {
        let json = br#"{"streams":[{"codec_type":"audio"},{"codec_type":"video","height":500,"disposition":{"attached_pic":1}}],
            "format":{"format_name":"mp3","duration":"61.5"}}"#;
        let p = parse(json).unwrap();
        assert_eq!(p.height, None);
        assert!(p.audio);
        assert_eq!(p.format, "mp3");
        assert!(parse(br#"{"streams":[],"format":{"format_name":"mp3"}}"#).is_err());
    }
}

//! The ffmpeg run that makes the renditions: one decode of the source, one CMAF
//! (fragmented MP4) file per rung plus one for the audio, keyframes every segment.

use super::probe::Probe;
use super::sandbox;
use media_rules::ladder::{self, Rung, AUDIO_KBPS, AUDIO_LABEL, SEGMENT_SECONDS};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, BufReader};

/// One output of the ffmpeg run.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    /// The rung's label (`720p`, `audio`).
    pub label: String,
    /// Where ffmpeg writes it.
    pub path: PathBuf,
}

const CMAF_FLAGS: &str = "+frag_keyframe+empty_moov+default_base_moof+cmaf";

/// The outputs for a source (read by `demuxers` only) and the ffmpeg arguments that make
/// them (without the program name). Benchmarks run the same arguments to compare.
pub fn plan(source: &Path, demuxers: &str, probe: &Probe, dir: &Path) -> (Vec<Output>, Vec<String>) {
    let mut args: Vec<String> = ["-hide_banner", "-nostdin", "-v", "error", "-y", "-nostats"]
        .map(String::from)
        .to_vec();
    let [input @ .., file] = sandbox::input(source, demuxers);
    args.extend(input);
    args.extend(["-progress".into(), "pipe:1".into(), "-i".into(), file]);
    let mut outputs = Vec::new();
    let keyframes = format!("expr:gte(t,n_forced*{SEGMENT_SECONDS})");
    for rung in probe.height.map(ladder::video_rungs).unwrap_or_default() {
        let Rung { label, height, kbps } = rung;
        let path = dir.join(format!("{label}.mp4"));
        let profile = if height >= 720 { "high" } else { "main" };
        args.extend(
            [
                "-map",
                "0:v:0",
                "-an",
                "-sn",
                "-c:v",
                "libx264",
                "-preset",
                "veryfast",
                "-profile:v",
                profile,
                "-pix_fmt",
                "yuv420p",
                "-sc_threshold",
                "0",
                "-force_key_frames",
                &keyframes,
            ]
            .map(String::from),
        );
        args.extend([
            "-vf".into(),
            format!("scale=-2:{height},setsar=1"),
            "-b:v".into(),
            format!("{kbps}k"),
            "-maxrate".into(),
            format!("{kbps}k"),
            "-bufsize".into(),
            format!("{kbps}k"),
            "-f".into(),
            "mp4".into(),
            "-movflags".into(),
            CMAF_FLAGS.into(),
        ]);
        args.push(path.display().to_string());
        outputs.push(Output {
            label: label.into(),
            path,
        });
    }
    if probe.audio {
        let path = dir.join(format!("{AUDIO_LABEL}.mp4"));
        args.extend(["-map", "0:a:0", "-vn", "-sn", "-c:a", "aac", "-ac", "2"].map(String::from));
        args.extend([
            "-b:a".into(),
            format!("{AUDIO_KBPS}k"),
            "-frag_duration".into(),
            (u64::from(SEGMENT_SECONDS) * 1_000_000).to_string(),
            "-f".into(),
            "mp4".into(),
            "-movflags".into(),
            CMAF_FLAGS.trim_start_matches("+frag_keyframe").into(),
        ]);
        args.push(path.display().to_string());
        outputs.push(Output {
            label: AUDIO_LABEL.into(),
            path,
        });
    }
    (outputs, args)
}

/// Runs ffmpeg with `args` (see [`sandbox`]) within the wall-clock and CPU limits for a
/// source of `duration_s`, reporting the fraction done (0–1) as it goes.
pub async fn run(args: &[String], duration_s: f64, progress: impl FnMut(f64)) -> Result<(), String> {
    let wall = ladder::transcode_wall_secs(duration_s);
    sandbox::within("ffmpeg", wall, run_unbounded(args, duration_s, progress)).await
}

async fn run_unbounded(
    args: &[String],
    duration_s: f64,
    mut progress: impl FnMut(f64),
) -> Result<(), String> {
    let cpu = ladder::transcode_cpu_secs(duration_s);
    let mut child = sandbox::command("ffmpeg", cpu)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run ffmpeg: {e}"))?;
    let stderr = child.stderr.take().ok_or("ffmpeg has no stderr")?;
    let errors = tokio::spawn(async move {
        let mut lines = BufReader::new(stderr).lines();
        let mut kept = Vec::new();
        while let Ok(Some(line)) = lines.next_line().await {
            if kept.len() < 20 {
                kept.push(line);
            }
        }
        kept.join("\n")
    });
    if let Some(stdout) = child.stdout.take() {
        let mut lines = BufReader::new(stdout).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(us) = line
                .strip_prefix("out_time_us=")
                .and_then(|v| v.parse::<f64>().ok())
            {
                progress((us / 1e6 / duration_s).clamp(0.0, 1.0));
            }
        }
    }
    let status = child.wait().await.map_err(|e| format!("ffmpeg: {e}"))?;
    let errors = errors.await.unwrap_or_default();
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}: {}",
            sandbox::ended("ffmpeg", status, cpu),
            errors.trim()
        ))
    }
}

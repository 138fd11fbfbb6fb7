//! Helpers for tests and benchmarks that drive the real ffmpeg (one way to run it, and test
//! media made from lavfi's generators) and the SFU (an offer as a viewer sends it).

pub mod rtc_client;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository root: the parent of the running test's package, as cargo names it when
/// the test runs (a binary built in another clone that shares the target dir would carry
/// that clone's path in `env!`).
pub fn repo_root() -> PathBuf {
    let package = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    package
        .parent()
        .expect("a package directory has a parent")
        .to_path_buf()
}

/// Runs ffmpeg with `args` (quietly, overwriting its outputs) and returns its stdout.
/// Panics with ffmpeg's own messages if it fails or reports any error: for tests and
/// benchmarks, which want the failure on screen.
pub fn ffmpeg<I, S>(args: I) -> Vec<u8>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let args: Vec<_> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-v", "error", "-y"])
        .args(&args)
        .output()
        .expect("ffmpeg is installed (scripts/setup.sh)");
    let errors = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && errors.trim().is_empty(),
        "ffmpeg {args:?}: {errors}"
    );
    out.stdout
}

/// Writes to `path` an H.264/AAC MP4 of lavfi's test pattern with a 440 Hz tone,
/// `width`×`height` at 30 fps for `seconds`; `options` are further output options, written
/// as on a command line (e.g. `"-crf 18 -b:a 192k"`).
pub fn test_video(path: &Path, width: u32, height: u32, seconds: u64, options: &str) {
    let line = format!(
        "-f lavfi -i testsrc2=size={width}x{height}:rate=30:duration={seconds} \
         -f lavfi -i sine=frequency=440:duration={seconds} \
         -c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac -shortest {options}"
    );
    let mut args: Vec<&OsStr> = line.split_whitespace().map(OsStr::new).collect();
    args.push(path.as_os_str());
    ffmpeg(args);
}

/// How many video frames ffmpeg, as a player, decodes from the first video stream at `url`
/// (a playlist or a file), every one of them read through whatever serves it.
pub fn decoded_frames(url: &str) -> usize {
    let out = ffmpeg(["-i", url, "-map", "0:v:0", "-f", "framemd5", "-"]);
    String::from_utf8_lossy(&out)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .count()
}

/// `len` random bytes from a seed (not compressible, not repetitive), the same for the
/// same seed.
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// A benchmark's numeric argument `name VALUE` from the command line, or `default`.
pub fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1)?.parse().ok())
        .unwrap_or(default)
}

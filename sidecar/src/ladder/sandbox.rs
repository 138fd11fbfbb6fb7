//! How ffprobe and ffmpeg run on an uploaded file, which may be hostile: with an empty
//! environment (the keystore passphrase and every other secret stay out), reading only the
//! one local file through the demuxer of its declared type
//! ([`media_rules::ladder::demuxers_for`]; a playlist that names `file:///…` or any other
//! input is refused), under a CPU-time limit set in the child before it runs, and a
//! wall-clock limit after which it is killed.

use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;
use tokio::process::Command;

/// `program` (ffprobe or ffmpeg) set up to run under `cpu_secs` of CPU time.
pub(crate) fn command(program: &str, cpu_secs: u64) -> Command {
    let mut cmd = Command::new(program);
    cmd.env_clear()
        .env(
            "PATH",
            std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into()),
        )
        .stdin(Stdio::null())
        .kill_on_drop(true);
    // SAFETY: the closure runs in the forked child before exec and calls only setrlimit,
    // which is async-signal-safe.
    unsafe {
        cmd.pre_exec(move || {
            let limit = libc::rlimit {
                rlim_cur: cpu_secs,
                rlim_max: cpu_secs + 5,
            };
            if libc::setrlimit(libc::RLIMIT_CPU, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd
}

/// The input options that confine a run to the one local file at `path`, read by
/// `demuxers` only, ending with the input itself (for ffmpeg, after `-i`).
pub(crate) fn input(path: &Path, demuxers: &str) -> [String; 5] {
    [
        "-protocol_whitelist".into(),
        "file".into(),
        "-format_whitelist".into(),
        demuxers.into(),
        format!("file:{}", path.display()),
    ]
}

/// Waits for `run` at most `wall_secs`; past that the child is killed (dropped) and the
/// error names the limit.
pub(crate) async fn within<T>(
    what: &str,
    wall_secs: u64,
    run: impl std::future::Future<Output = Result<T, String>>,
) -> Result<T, String> {
    tokio::time::timeout(Duration::from_secs(wall_secs), run)
        .await
        .unwrap_or_else(|_| {
            Err(format!(
                "{what} ran longer than its limit of {wall_secs} s and was stopped"
            ))
        })
}

/// Why a run that did not succeed ended, in words: a CPU limit it hit, or its status.
pub(crate) fn ended(what: &str, status: ExitStatus, cpu_secs: u64) -> String {
    use std::os::unix::process::ExitStatusExt;
    match status.signal() {
        Some(libc::SIGXCPU) | Some(libc::SIGKILL) => {
            format!("{what} used more than its limit of {cpu_secs} s of CPU and was stopped")
        }
        _ => format!("{what} failed ({status})"),
    }
}

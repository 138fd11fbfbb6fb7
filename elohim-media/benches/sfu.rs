//! The SFU's cost (issue 19 point 9): a standalone sidecar process forwards one publisher's
//! 600 kbit/s video (30 fps, 2 500-byte frames) to N str0m viewers in this process, over
//! loopback. Measured on the sidecar process alone (`/proc/PID`):
//!
//! - forwarded packets per core-second of the sidecar, against a **reference forwarder**
//!   in the same run: a bare loop on one UDP socket that takes each packet, decrypts it
//!   once and encrypts it once per viewer with the same AES-128-GCM that str0m uses for
//!   SRTP, and sends it, nothing else (no RTP, no RTCP, no pacing);
//! - frames lost (viewers' frames against the frames sent while they watched);
//! - join time, from the WHEP `POST` to the viewer's first decoded frame;
//! - anonymous memory per down-track (the sidecar's RSS with N viewers, less without).
//!
//! Run: `cargo bench -p elohim-media --bench sfu --profile dev -- --viewers 20 --seconds 10`.
//!
//! With `--record 1` the call runs twice, without and then with the recorder, and the
//! recorder's memory is the difference: anonymous RSS at the start and the end of the steady
//! state (growth would mean memory that is not bounded), against the same call unrecorded.

use sidecar::testkit::arg;
use sidecar::testkit::rtc_client::{drive_counting, video_frame, write_frame, Client};
use std::io::{BufRead, BufReader};
use std::net::UdpSocket;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use str0m::format::Codec;
use str0m::media::{MediaKind, MediaTime};
use str0m::Event;

const FRAME_BYTES: usize = 2_500;
const FPS: u64 = 30;

/// User + system CPU seconds of process `pid`.
fn cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat.rsplit_once(')').unwrap().1.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // SAFETY: sysconf only reads a system setting.
    ticks as f64 / unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64
}

/// Anonymous resident memory of process `pid`, in KiB.
fn anon_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("RssAnon:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// CPU seconds this thread has used.
fn thread_cpu_secs() -> f64 {
    // SAFETY: getrusage writes into the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut usage) };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

async fn post_offer(url: &str, offer: &str) -> (u16, String, String) {
    let resp = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/sdp")
        .body(offer.to_string())
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let location = resp
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, location, resp.text().await.unwrap())
}

struct Viewer {
    frames: Arc<AtomicU64>,
    packets: Arc<AtomicU64>,
    /// From the `POST` to the connection being up (ICE and DTLS).
    connected: Duration,
    /// From the `POST` to the first frame.
    joined: Duration,
}

/// Packets per CPU-second of the reference forwarder: `viewers` copies of each packet,
/// each encrypted, for the same packets per second the publisher sends.
fn reference(viewers: usize, packets_per_sec: u64, seconds: u64) -> f64 {
    let provider = str0m::crypto::from_feature_flags();
    let gcm = provider.srtp_provider.aead_aes_128_gcm();
    let input = UdpSocket::bind("127.0.0.1:0").unwrap();
    input.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
    let to = input.local_addr().unwrap();
    let sinks: Vec<UdpSocket> = (0..viewers)
        .map(|_| UdpSocket::bind("127.0.0.1:0").unwrap())
        .collect();
    let targets: Vec<_> = sinks.iter().map(|s| s.local_addr().unwrap()).collect();
    let stop = Arc::new(AtomicBool::new(false));
    // The sinks are drained, as viewers' sockets are.
    let drain = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 2000];
            for s in &sinks {
                s.set_nonblocking(true).unwrap();
            }
            while !stop.load(Ordering::Acquire) {
                let mut any = false;
                for s in &sinks {
                    while s.recv(&mut buf).is_ok() {
                        any = true;
                    }
                }
                if !any {
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        })
    };
    // The publisher's side: encrypted packets of an RTP packet's size, at its rate.
    let sender = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let out = UdpSocket::bind("127.0.0.1:0").unwrap();
            let mut cipher = str0m::crypto::from_feature_flags()
                .srtp_provider
                .aead_aes_128_gcm()
                .create_cipher([7; 16], true);
            let plain = vec![0x5a; 1_100];
            let mut packet = vec![0u8; 1_100 + 16];
            let start = Instant::now();
            let mut sent = 0u64;
            while !stop.load(Ordering::Acquire) {
                let due = start.elapsed().as_secs_f64() * packets_per_sec as f64;
                while (sent as f64) < due {
                    cipher.encrypt(&[1; 12], &[0; 12], &plain, &mut packet).unwrap();
                    let _ = out.send_to(&packet, to);
                    sent += 1;
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        })
    };
    let mut decrypt = gcm.create_cipher([7; 16], false);
    let mut encrypt: Vec<_> = (0..viewers)
        .map(|i| gcm.create_cipher([i as u8; 16], true))
        .collect();
    let mut buf = [0u8; 2000];
    let mut plain = [0u8; 2000];
    let mut out = [0u8; 2000];
    let started = Instant::now();
    let cpu0 = thread_cpu_secs();
    let mut forwarded = 0u64;
    while started.elapsed() < Duration::from_secs(seconds) {
        let Ok((n, _)) = input.recv_from(&mut buf) else {
            continue;
        };
        let Ok(len) = decrypt.decrypt(&[1; 12], &[&[0; 12]], &buf[..n], &mut plain) else {
            continue;
        };
        for (cipher, target) in encrypt.iter_mut().zip(&targets) {
            cipher
                .encrypt(&[2; 12], &[0; 12], &plain[..len], &mut out[..len + 16])
                .unwrap();
            let _ = input.send_to(&out[..len + 16], target);
            forwarded += 1;
        }
    }
    let cpu = thread_cpu_secs() - cpu0;
    stop.store(true, Ordering::Release);
    sender.join().unwrap();
    drain.join().unwrap();
    forwarded as f64 / cpu
}

/// Memory figures of one run.
struct Memory {
    /// Anonymous RSS when the steady state starts, KiB.
    start: u64,
    /// At its end, KiB.
    end: u64,
    /// Bytes under the data directory's `recordings/`.
    recorded: u64,
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let viewers = arg("--viewers", 20) as usize;
    let seconds = arg("--seconds", 10);
    if arg("--record", 0) == 0 {
        run(viewers, seconds, false).await;
        return;
    }
    let off = run(viewers, seconds, false).await;
    let on = run(viewers, seconds, true).await;
    println!("Recorder, {seconds} s of 600 kbit/s video, same call without and with it:");
    println!(
        "  anon RSS, steady start → end:  without {} → {} KiB; with {} → {} KiB",
        off.start, off.end, on.start, on.end
    );
    println!(
        "  the recorder's memory:         {} KiB at the end ({:+} KiB over the {seconds} s with it, {:+} without)",
        on.end as i64 - off.end as i64,
        on.end as i64 - on.start as i64,
        off.end as i64 - off.start as i64
    );
    println!(
        "  recorded on disk:              {:.1} MiB",
        on.recorded as f64 / 1048576.0
    );
}

/// Bytes of the files under `dir`.
fn disk_bytes(dir: &std::path::Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => disk_bytes(&e.path()),
            _ => e.metadata().map_or(0, |m| m.len()),
        })
        .sum()
}

async fn run(viewers: usize, seconds: u64, record: bool) -> Memory {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_elohim-media"))
        .args([
            "serve",
            "--standalone",
            "--listen",
            "127.0.0.1:0",
            "--rtc-max-streams",
            "100000",
            "--rtc-record",
            if record { "true" } else { "false" },
        ])
        .arg("--data-dir")
        .arg(dir.path())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .expect("the sidecar starts");
    let pid = child.id();
    let mut base = String::new();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for line in lines.by_ref().map_while(Result::ok).take(10) {
        if let Some(url) = line.strip_prefix("elohim-media sidecar listening on ") {
            base = url.trim().to_string();
            break;
        }
    }
    // The rest of its output is read and dropped: a closed pipe would end the sidecar at its
    // next line.
    std::thread::spawn(move || lines.map_while(Result::ok).for_each(drop));
    assert!(!base.is_empty(), "the sidecar printed its address");
    let call = format!("{base}/api/rtc/bench");
    let limit = Duration::from_secs(seconds + 30 + viewers as u64);
    let stop = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();
    let rss_before = anon_kib(pid);

    // The publisher: 600 kbit/s of video, a keyframe a second and whenever asked.
    let mut publisher = Client::new(true, &[MediaKind::Video]);
    let (status, _, answer) = post_offer(&format!("{call}/whip"), &publisher.offer).await;
    assert_eq!(status, 201);
    publisher.accept(&answer);
    let video = publisher.mid(MediaKind::Video);
    let sent = Arc::new(AtomicU64::new(0));
    {
        let (stop, sent) = (stop.clone(), sent.clone());
        threads.push(std::thread::spawn(move || {
            let connected = Arc::new(AtomicBool::new(false));
            let asked = Arc::new(AtomicBool::new(true));
            let (connected_events, asked_events) = (connected.clone(), asked.clone());
            let mut start: Option<Instant> = None;
            drive_counting(
                publisher.rtc,
                publisher.socket,
                stop,
                limit,
                &AtomicU64::new(0),
                move |rtc| {
                    if !connected.load(Ordering::Acquire) {
                        return;
                    }
                    let start = *start.get_or_insert_with(Instant::now);
                    let due = start.elapsed().as_millis() as u64 * FPS / 1000;
                    while sent.load(Ordering::Relaxed) < due {
                        let n = sent.load(Ordering::Relaxed) as u32;
                        let key = asked.swap(false, Ordering::AcqRel) || u64::from(n) % FPS == 0;
                        let mut frame = video_frame(n, key);
                        frame.resize(FRAME_BYTES, 0x33);
                        write_frame(
                            rtc,
                            video,
                            Codec::Vp8,
                            MediaTime::from_90khz(u64::from(n) * 3000),
                            frame,
                        );
                        sent.fetch_add(1, Ordering::Relaxed);
                    }
                },
                move |_, e| match e {
                    Event::Connected => connected_events.store(true, Ordering::Release),
                    Event::KeyframeRequest(_) => asked_events.store(true, Ordering::Release),
                    _ => {}
                },
            )
        }));
    }

    // Viewers join one after another; each one's join time runs to its first frame.
    let mut watching = Vec::new();
    for _ in 0..viewers {
        let mut viewer = Client::new(false, &[MediaKind::Video]);
        let asked_at = Instant::now();
        let (status, _, answer) = post_offer(&format!("{call}/whep"), &viewer.offer).await;
        assert_eq!(status, 201);
        viewer.accept(&answer);
        let frames = Arc::new(AtomicU64::new(0));
        let packets = Arc::new(AtomicU64::new(0));
        let first = Arc::new(Mutex::new(None::<Duration>));
        let up = Arc::new(Mutex::new(None::<Duration>));
        {
            let (stop, frames, packets) = (stop.clone(), frames.clone(), packets.clone());
            let (first, up) = (first.clone(), up.clone());
            threads.push(std::thread::spawn(move || {
                drive_counting(
                    viewer.rtc,
                    viewer.socket,
                    stop,
                    limit,
                    &packets,
                    |_| {},
                    move |_, e| match e {
                        Event::MediaData(_) => {
                            frames.fetch_add(1, Ordering::Relaxed);
                            first.lock().unwrap().get_or_insert_with(|| asked_at.elapsed());
                        }
                        Event::Connected => {
                            up.lock().unwrap().get_or_insert_with(|| asked_at.elapsed());
                        }
                        _ => {}
                    },
                )
            }));
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        while first.lock().unwrap().is_none() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let joined = first.lock().unwrap().expect("the viewer got a frame within 20 s");
        let connected = up.lock().unwrap().unwrap_or(joined);
        watching.push(Viewer {
            frames,
            packets,
            connected,
            joined,
        });
    }

    // Steady state: every viewer watches for `seconds`.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let count = |v: &[Viewer]| -> (u64, u64) {
        v.iter().fold((0, 0), |(f, p), v| {
            (
                f + v.frames.load(Ordering::Relaxed),
                p + v.packets.load(Ordering::Relaxed),
            )
        })
    };
    let (cpu0, (frames0, packets0), sent0) = (cpu_secs(pid), count(&watching), sent.load(Ordering::Relaxed));
    let rss_start = anon_kib(pid);
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let (cpu1, (frames1, packets1), sent1) = (cpu_secs(pid), count(&watching), sent.load(Ordering::Relaxed));
    let rss_with = anon_kib(pid);
    let recorded = disk_bytes(&dir.path().join("recordings"));
    stop.store(true, Ordering::Release);
    for t in threads {
        let _ = t.join();
    }
    // SAFETY: kill only signals the child we started.
    unsafe { libc::kill(pid as i32, libc::SIGTERM) };
    let _ = child.wait();

    let forwarded = (packets1 - packets0) as f64;
    let sfu_rate = forwarded / (cpu1 - cpu0).max(1e-3);
    let expected = (sent1 - sent0) * viewers as u64;
    let got = frames1 - frames0;
    let loss = 100.0 * (expected.saturating_sub(got)) as f64 / expected.max(1) as f64;
    let packets_per_sec = forwarded / seconds as f64 / viewers as f64;
    let reference_rate = reference(viewers, packets_per_sec.round() as u64, seconds);
    let mut joins: Vec<Duration> = watching.iter().map(|v| v.joined).collect();
    joins.sort();
    let mut ups: Vec<Duration> = watching.iter().map(|v| v.connected).collect();
    ups.sort();
    let recording = if record { ", recorded" } else { "" };
    println!(
        "SFU: 1 publisher (600 kbit/s video{recording}) → {viewers} viewers, {seconds} s, over loopback"
    );
    println!(
        "  forwarded packets/s:           {:.0}",
        forwarded / seconds as f64
    );
    println!(
        "  sidecar CPU:                   {:.1} % of a core",
        100.0 * (cpu1 - cpu0) / seconds as f64
    );
    println!("  packets per sidecar core-s:    {sfu_rate:.0}");
    println!("  reference forwarder, same run: {reference_rate:.0} packets per core-s");
    println!(
        "  ratio SFU / reference:         {:.2}",
        sfu_rate / reference_rate
    );
    println!("  frames lost:                   {loss:.2} % ({got} of {expected})");
    println!(
        "  join to first frame:           median {:?}, max {:?}",
        joins[joins.len() / 2],
        joins[joins.len() - 1]
    );
    println!(
        "  of which connecting (ICE+DTLS): median {:?}",
        ups[ups.len() / 2]
    );
    println!("  the first viewer's join:       {:?}", watching[0].joined);
    println!(
        "  anon RSS per down-track:       {:.0} KiB ({} KiB with {viewers} viewers, {} KiB before)",
        (rss_with.saturating_sub(rss_before)) as f64 / viewers as f64,
        rss_with,
        rss_before
    );
    Memory {
        start: rss_start,
        end: rss_with,
        recorded,
    }
}

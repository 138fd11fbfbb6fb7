//! Nodes in separate processes, as users run them: a rendezvous (bootstrap server and
//! relay) and `elohim-media node` processes from the built binary, each with its own data
//! directory and embedded conductor, talking over loopback only.
//!
//! The headline scenario: five nodes find each other through the rendezvous; Alice uploads
//! a commons video (with its renditions), a neighborhood podcast and notes for three
//! friends with the CLI; the custodians reach the reach table's replica counts; Alice's
//! process is killed, and Dave, who keeps nothing for others, lists and streams both
//! through his own node (the CLI's verified download and an HLS playlist); a custodian is
//! killed and another takes its replica over; Alice's node starts again and catches up.
//! Also: a node whose network does not answer keeps serving and says so.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_elohim-media");

/// Every node's replica TTL here: a custodian silent this long counts as lost. Custodians
/// refresh every third of it; with five conductors on two cores a refresh can take 20–30 s
/// to reach the others, which is within one refresh period (30 s) only from a TTL of 90 s.
const REPLICA_TTL: Duration = Duration::from_secs(90);

/// Fremont, where Alice founded her household and her neighbors live.
fn fremont(household: &str) -> String {
    format!("cascadia/salish-sea/seattle/fremont/{household}")
}

/// A child process stopped by PID when dropped (SIGKILL if it is still running).
struct Proc {
    child: Child,
    name: String,
}

impl Proc {
    fn pid(&self) -> libc::pid_t {
        self.child.id() as libc::pid_t
    }

    /// Sends `signal` and waits (at most 30 s) for the process to end; returns whether it
    /// ended by itself.
    fn stop(&mut self, signal: libc::c_int) -> bool {
        // SAFETY: kill only sends a signal to our own child's PID.
        unsafe { libc::kill(self.pid(), signal) };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            eprintln!("stopping {} (pid {})", self.name, self.pid());
            self.stop(libc::SIGKILL);
        }
    }
}

/// Starts `BIN args…`; the first stdout line that starts with `wanted` is sent on the
/// returned channel, and all of its output goes to stderr.
fn launch(name: &str, args: &[String], wanted: &str) -> (Proc, std::sync::mpsc::Receiver<String>) {
    let mut child = Command::new(BIN)
        .args(args)
        .env("ELOHIM_PASSPHRASE", "test-passphrase")
        // Without publish failures, which every node logs while it is alone; with each
        // custodian's placements, which a failed run prints.
        .env(
            "RUST_LOG",
            "warn,sidecar::custodian=debug,holochain::core::workflow::publish_dht_ops_workflow=error",
        )
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the binary starts");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let prefix = wanted.to_string();
    let tag = name.to_string();
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if !sent && line.trim_start().starts_with(&prefix) {
                let _ = tx.send(line.trim().to_string());
                sent = true;
            }
            eprintln!("[{tag}] {line}");
        }
    });
    let proc = Proc {
        child,
        name: name.into(),
    };
    (proc, rx)
}

/// The line `launch` watches for, waiting at most `secs`.
fn line_from(rx: &std::sync::mpsc::Receiver<String>, name: &str, secs: u64) -> String {
    rx.recv_timeout(Duration::from_secs(secs))
        .unwrap_or_else(|_| panic!("{name} printed no ready line within {secs} s"))
}

/// Starts `BIN args…` and waits (at most `secs`) for its line that starts with `wanted`.
fn spawn(name: &str, args: &[&str], wanted: &str, secs: u64) -> (Proc, String) {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let (proc, rx) = launch(name, &args, wanted);
    let line = line_from(&rx, name, secs);
    (proc, line)
}

/// A loopback port free just now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

use sidecar::testkit::repo_root;

/// A node process and what a client needs to act as its owner.
struct Node {
    proc: Proc,
    name: String,
    url: String,
    dir: PathBuf,
    /// How it was started, to start it again.
    args: Vec<String>,
}

/// A node process that has not said yet that it runs.
struct Starting {
    node: Node,
    ready: std::sync::mpsc::Receiver<String>,
}

impl Starting {
    /// Waits (at most 120 s) until the node says it runs.
    fn ready(self) -> Node {
        line_from(&self.ready, &self.node.name, 120);
        self.node
    }
}

const READY: &str = "elohim-media node is running";

impl Node {
    /// Starts a node listening on `host` (an address literal, `[::]` for every address).
    fn start(name: &str, host: &str, root: &Path, rendezvous: &str, seed: &str, extra: &[&str]) -> Node {
        Node::launch(name, host, root, rendezvous, seed, extra).ready()
    }

    /// Starts a node without waiting for it (several start faster side by side).
    fn launch(name: &str, host: &str, root: &Path, rendezvous: &str, seed: &str, extra: &[&str]) -> Starting {
        let dir = root.join(name);
        let port = free_port();
        let listen = format!("{host}:{port}");
        let url = format!("http://127.0.0.1:{port}");
        let happ = repo_root().join("workdir/elohim_media.happ");
        let mut args: Vec<String> = [
            "node",
            "--happ",
            happ.to_str().unwrap(),
            "--data-dir",
            dir.to_str().unwrap(),
            "--listen",
            &listen,
            "--bootstrap-url",
            rendezvous,
            "--relay-url",
            rendezvous,
            "--network-seed",
            seed,
            "--allow-private-peers",
            "--endpoint",
            &url,
            "--custodian-interval-secs",
            "2",
            "--replica-ttl-secs",
            &REPLICA_TTL.as_secs().to_string(),
        ]
        .iter()
        .map(|a| a.to_string())
        .collect();
        args.extend(extra.iter().map(|a| a.to_string()));
        let (proc, ready) = launch(name, &args, READY);
        Starting {
            node: Node {
                proc,
                name: name.into(),
                url,
                dir,
                args,
            },
            ready,
        }
    }

    /// Starts the node's process again, with the same data directory and address.
    fn restart(&mut self) {
        let (proc, ready) = launch(&self.name, &self.args, READY);
        self.proc = proc;
        line_from(&ready, &self.name, 120);
    }

    /// A client that acts as the node's owner, with the credential from its data dir.
    fn owner(&self) -> reqwest::Client {
        let secret = std::fs::read_to_string(self.dir.join("node-token")).unwrap();
        sidecar::cli::client(Some(secret.trim())).unwrap()
    }

    async fn status(&self) -> serde_json::Value {
        let resp = self.owner().get(format!("{}/api/node", self.url)).send().await;
        match resp {
            Ok(resp) => resp.json().await.unwrap_or_default(),
            Err(_) => serde_json::Value::Null,
        }
    }

    /// Uploads `body` to the node as its owner, with `headers`: the receipt.
    async fn upload(&self, body: Vec<u8>, headers: &[(&str, &str)]) -> serde_json::Value {
        let mut request = self
            .owner()
            .post(format!("{}/api/blob", self.url))
            .header("content-type", "application/octet-stream");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.body(body).send().await.unwrap().json().await.unwrap()
    }

    /// The node's agent key.
    async fn key(&self) -> String {
        self.status().await["agent"].as_str().unwrap().to_string()
    }

    /// The manifests this custodian keeps with a verified replica, as its status says.
    async fn verified(&self) -> Vec<String> {
        let status = self.status().await;
        let replicas = status["custodian"]["replicas"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        replicas
            .iter()
            .filter(|r| r["state"] == "verified")
            .filter_map(|r| r["manifest"].as_str().map(String::from))
            .collect()
    }

    /// The content this node's agent may see.
    async fn contents(&self) -> Vec<serde_json::Value> {
        let resp = self.owner().get(format!("{}/api/content", self.url)).send().await;
        match resp {
            Ok(resp) => resp.json().await.unwrap_or_default(),
            Err(_) => Vec::new(),
        }
    }

    /// The manifests (blobs) of the content titled `title`, as this node lists it.
    async fn blobs_of(&self, title: &str) -> Vec<String> {
        self.contents()
            .await
            .iter()
            .find(|c| c["content"]["title"] == title)
            .and_then(|c| c["content"]["blobs"].as_array().cloned())
            .unwrap_or_default()
            .iter()
            .filter_map(|b| b.as_str().map(String::from))
            .collect()
    }
}

/// Which of `nodes` keep every manifest of `blobs` verified (their indexes).
async fn holders_of(nodes: &[&Node], blobs: &[String]) -> Vec<usize> {
    let mut out = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        let held = node.verified().await;
        if !blobs.is_empty() && blobs.iter().all(|b| held.contains(b)) {
            out.push(i);
        }
    }
    out
}

/// How many of `nodes` keep every manifest of `blobs` verified.
async fn keepers(nodes: &[&Node], blobs: &[String]) -> usize {
    holders_of(nodes, blobs).await.len()
}

/// Runs the CLI against `node` as its owner: its output, or `None` (with its error noted)
/// when it fails.
fn cli(node: &Node, args: &[&str]) -> Option<String> {
    let out = Command::new(BIN)
        .args(args)
        .args(["--node", &node.url, "--data-dir", node.dir.to_str().unwrap()])
        .output()
        .unwrap();
    if !out.status.success() {
        note(&format!(
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
        return None;
    }
    Some(String::from_utf8(out.stdout).unwrap())
}

/// The value of the line `name` in the CLI's output.
fn field(output: &str, name: &str) -> String {
    output
        .lines()
        .find_map(|l| l.strip_prefix(name))
        .unwrap_or_else(|| panic!("no '{name}' in {output}"))
        .trim()
        .to_string()
}

/// A WHEP offer posted to `url` with a call token: the status and the session's Location.
async fn whep(url: String, token: String) -> (u16, Option<String>) {
    let resp = reqwest::Client::new()
        .post(url)
        .bearer_auth(token)
        .header("content-type", "application/sdp")
        .body(sidecar::testkit::rtc_client::whep_offer())
        .send()
        .await
        .unwrap();
    let location = resp
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_string());
    (resp.status().as_u16(), location)
}

/// Writes a line straight to the process's stderr, past the test harness's capture, so
/// it stands beside the nodes' own output (and survives a log cut short before the panic).
fn note(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "[test] {line}");
}

/// Polls `check` every 500 ms for at most `secs`; panics with `what` if it never holds.
async fn wait_until<F: std::future::Future<Output = bool>>(
    what: &str,
    secs: u64,
    mut check: impl FnMut() -> F,
) {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(secs) {
        if check().await {
            note(&format!("{what}: after {:.1} s", started.elapsed().as_secs_f64()));
            return;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    note(&format!("TIMED OUT: {what}: not within {secs} s"));
    panic!("{what}: not within {secs} s");
}

#[tokio::test(flavor = "multi_thread")]
async fn nodes_in_separate_processes_keep_media_alive_after_its_author_dies_and_repair_a_lost_custodian() {
    let root = tempfile::tempdir().unwrap();
    let (mut rendezvous, line) = spawn(
        "rendezvous",
        &["rendezvous", "--listen", "127.0.0.1:0"],
        "rendezvous:",
        30,
    );
    let rendezvous_url = line.trim_start_matches("rendezvous:").trim().to_string();
    assert!(
        rendezvous_url.starts_with("http://127.0.0.1:"),
        "{rendezvous_url}"
    );
    let seed = format!("test-{}", std::process::id());

    // Alice keeps no one else's media: custodians find her node by the endpoint it
    // publishes. Carol, Erin and Frank keep media for their neighborhood. Dave keeps
    // nothing for others: he relays live calls, one viewer's track at a time, and watches.
    // He listens on every address; his CLI reaches him over IPv4 and IPv6 loopback.
    let (rv, s) = (&rendezvous_url, &seed);
    let places: Vec<String> = ["c", "e", "f"].iter().map(|h| fremont(h)).collect();
    let starting = [
        Node::launch("alice", "127.0.0.1", root.path(), rv, s, &[]),
        Node::launch(
            "carol",
            "127.0.0.1",
            root.path(),
            rv,
            s,
            &["--custodian", "storage:50", "--custodian-place", &places[0]],
        ),
        Node::launch(
            "erin",
            "127.0.0.1",
            root.path(),
            rv,
            s,
            &["--custodian", "storage:50", "--custodian-place", &places[1]],
        ),
        Node::launch(
            "frank",
            "127.0.0.1",
            root.path(),
            rv,
            s,
            &["--custodian", "storage:50", "--custodian-place", &places[2]],
        ),
        Node::launch("dave", "[::]", root.path(), rv, s, &["--custodian", "relay:1:10"]),
    ];
    let [mut alice, carol, erin, frank, dave] = starting.map(Starting::ready);
    let port = dave.url.rsplit(':').next().unwrap().to_string();
    for url in [format!("http://127.0.0.1:{port}"), format!("http://[::1]:{port}")] {
        let out = Command::new(BIN)
            .args(["status", "--node", &url, "--data-dir", dave.dir.to_str().unwrap()])
            .output()
            .unwrap();
        let status: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|_| panic!("status via {url}: {}", String::from_utf8_lossy(&out.stderr)));
        assert!(status["agent"].is_string(), "status via {url}: {status}");
    }

    // Each finds the others through the rendezvous, and sees who keeps media.
    wait_until("dave knows the four others", 120, || async {
        dave.status().await["network"]["peers"]
            .as_array()
            .is_some_and(|p| p.len() >= 4)
    })
    .await;
    let status = dave.status().await;
    let network = &status["network"];
    assert_eq!(network["bootstrap_answers"], true, "{network}");
    assert_eq!(network["relay_answers"], true, "{network}");
    assert!(network["last_heard_from_peer"].as_i64().is_some(), "{network}");
    wait_until("dave sees the three storage commitments", 120, || async {
        dave.status().await["network"]["peers"]
            .as_array()
            .is_some_and(|peers| {
                [&carol, &erin, &frank]
                    .iter()
                    .all(|c| peers.iter().any(|p| p["custodian"]["endpoint"] == c.url.as_str()))
            })
    })
    .await;

    // Dave starts a call from the CLI, with Carol invited. His relay commitment is his
    // SFU's budget (one track): his own viewer gets in; Carol, joining from her own node
    // with a token it signs for Dave's, is told to come back later, and gets in once he
    // leaves.
    let carol_key = carol.key().await;
    let started = cli(
        &dave,
        &[
            "call", "start", "--title", "standup", "--reach", "invited", "--invite", &carol_key,
        ],
    )
    .expect("dave starts a call");
    let call = field(&started, "call:");
    let page = reqwest::get(field(&started, "join page:")).await.unwrap();
    assert_eq!(page.status(), 200, "the join page");
    let joined = until_some("carol's node signs her into dave's call", 120, || {
        // Carol's node signs once it sees the call (gossip brings it).
        cli(&carol, &["call", "join", &call, "--host", &dave.url])
    })
    .await;
    // Dave's viewer takes the one track only now: it never connects, and a session that
    // has not connected within 30 s is swept (gossip may take longer than that).
    let (status, daves) = whep(field(&started, "whep:"), field(&started, "token:")).await;
    assert_eq!(status, 201);
    let (carol_whep, carol_token) = (field(&joined, "whep:"), field(&joined, "token:"));
    assert_eq!(whep(carol_whep.clone(), carol_token.clone()).await.0, 503);
    let left = reqwest::Client::new()
        .delete(format!("{}{}", dave.url, daves.unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(left.status(), 200);
    assert_eq!(whep(carol_whep, carol_token).await.0, 201);

    // Alice founds her household in Fremont and vouches her neighbors in, as neighbors:
    // they may read (and keep) what she shares with the neighborhood.
    cli(&alice, &["place", "found", &fremont("a")]).expect("alice founds her place");
    for (node, household) in [(&carol, "c"), (&erin, "e"), (&frank, "f"), (&dave, "d")] {
        cli(node, &["place", "set", &fremont(household)]).expect("a neighbor declares a place");
        let key = node.key().await;
        until_some("alice vouches for a neighbor", 60, || {
            cli(
                &alice,
                &[
                    "place",
                    "vouch",
                    &key,
                    &fremont(household),
                    "--level",
                    "neighborhood",
                ],
            )
        })
        .await;
    }

    // Alice uploads, with the CLI: a commons video (over 50 MB, which gets its renditions),
    // a neighborhood podcast, and notes for her three custodian friends.
    let video = root.path().join("walk.mp4");
    sidecar::testkit::test_video(&video, 1280, 720, 6, "-vf noise=alls=25:allf=t");
    let video_bytes = std::fs::read(&video).unwrap();
    assert!(video_bytes.len() > 50_000_000, "{} bytes", video_bytes.len());
    let podcast = root.path().join("radio.mp3");
    sidecar::testkit::ffmpeg([
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=330:duration=60",
        "-c:a",
        "libmp3lame",
        "-b:a",
        "96k",
        podcast.to_str().unwrap(),
    ]);
    let notes = root.path().join("notes.bin");
    std::fs::write(&notes, sidecar::testkit::noise(2_000_000, 7)).unwrap();
    let upload = |file: &Path, args: &[&str]| {
        let mut all = vec!["upload", file.to_str().unwrap()];
        all.extend_from_slice(args);
        let out = cli(&alice, &all).expect("alice uploads");
        field(&out, "blob:")
    };
    let video_hash = upload(&video, &["--title", "a long walk", "--reach", "commons"]);
    let home = fremont("a");
    let podcast_hash = upload(
        &podcast,
        &[
            "--title",
            "fremont radio",
            "--reach",
            "neighborhood",
            "--place",
            &home,
        ],
    );
    let friends = [carol.key().await, erin.key().await, frank.key().await];
    let notes_hash = upload(
        &notes,
        &[
            "--title",
            "notes for friends",
            "--reach",
            "invited",
            "--invite",
            &friends[0],
            "--invite",
            &friends[1],
            "--invite",
            &friends[2],
        ],
    );

    // Each reaches its replica count: all three neighbors keep the video with its
    // renditions and the podcast (they want 25 and 5), two of the three the notes (2).
    let video_blobs = alice.blobs_of("a long walk").await;
    assert!(
        video_blobs.len() >= 3,
        "the video and its renditions: {video_blobs:?}"
    );
    let podcast_blobs = alice.blobs_of("fremont radio").await;
    let notes_blobs = alice.blobs_of("notes for friends").await;
    let custodians = [&carol, &erin, &frank];
    wait_until("three custodians keep the video and the podcast", 300, || async {
        keepers(&custodians, &video_blobs).await == 3 && keepers(&custodians, &podcast_blobs).await == 3
    })
    .await;
    wait_until("at least two custodians keep the notes", 120, || async {
        keepers(&custodians, &notes_blobs).await >= 2
    })
    .await;

    // Alice's process dies.
    assert!(alice.proc.stop(libc::SIGKILL));

    // Dave lists both, and streams both through his own node: his node fetches each chunk
    // from the custodians, verifies it, and streams it. The CLI's verified download...
    wait_until("dave lists the video and the podcast", 120, || async {
        let titles: Vec<String> = dave
            .contents()
            .await
            .iter()
            .filter_map(|c| c["content"]["title"].as_str().map(String::from))
            .collect();
        titles.iter().any(|t| t == "a long walk") && titles.iter().any(|t| t == "fremont radio")
    })
    .await;
    for (hash, original) in [(&video_hash, &video), (&podcast_hash, &podcast)] {
        let copy = root.path().join(format!("{hash}.from-dave"));
        cli(&dave, &["get", hash, "--output", copy.to_str().unwrap()]).expect("dave's CLI downloads");
        assert!(
            std::fs::read(&copy).unwrap() == std::fs::read(original).unwrap(),
            "the copy through dave's node is byte-exact"
        );
    }
    // ... and a player: ffmpeg decodes every frame of the HLS playlist from his node.
    let master = format!("{}/api/manifest/{video_hash}/hls.m3u8", dave.url);
    let text = reqwest::get(&master).await.unwrap().text().await.unwrap();
    assert!(text.contains("#EXT-X-STREAM-INF"), "{text}");
    let decoded = tokio::task::spawn_blocking(move || sidecar::testkit::decoded_frames(&master))
        .await
        .unwrap();
    assert!(decoded >= 6 * 30 - 1, "decoded {decoded} frames");
    assert!(
        dave.verified().await.is_empty(),
        "dave's node keeps nothing for others"
    );

    // While Alice is away, Dave shares a note with everyone from his node. Alice's node
    // starts again on the same data: it meets the network again and catches up: it lists
    // Dave's note and reads it through her own node.
    let hello = sidecar::testkit::noise(300_000, 9);
    let receipt = dave
        .upload(
            hello.clone(),
            &[
                ("x-upload-title", "hello from dave"),
                ("x-upload-reach", "commons"),
            ],
        )
        .await;
    let hello_hash = receipt["hash"]
        .as_str()
        .expect("dave's note is stored")
        .to_string();
    alice.restart();
    wait_until("alice's node lists dave's note", 180, || async {
        alice
            .contents()
            .await
            .iter()
            .any(|c| c["content"]["title"] == "hello from dave")
    })
    .await;
    let from_alice = format!("{}/api/blob/{hello_hash}", alice.url);
    let mut last = String::new();
    let read = tokio::time::timeout(Duration::from_secs(120), async {
        loop {
            match reqwest::get(&from_alice).await {
                Ok(resp) if resp.status() == 200 => {
                    if resp.bytes().await.ok().as_deref() == Some(&hello[..]) {
                        return;
                    }
                    last = "200 with other bytes".into();
                }
                Ok(resp) => last = format!("{} {}", resp.status(), resp.text().await.unwrap_or_default()),
                Err(e) => last = e.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    })
    .await;
    assert!(
        read.is_ok(),
        "alice's node reads dave's note: not within 120 s; last answer: {last}"
    );

    // Alice goes away again, so the notes' only copies are the custodians'. A custodian
    // of the notes dies; the third friend takes them over, from the survivor.
    assert!(alice.proc.stop(libc::SIGKILL));
    // (A third copy may exist for a while, when a custodian pulled it while another's
    // commitment looked late; it is dropped once the two placed ones are verified.)
    let started = Instant::now();
    let holders = loop {
        let now = holders_of(&custodians, &notes_blobs).await;
        if now.len() == 2 {
            break now;
        }
        assert!(
            started.elapsed() < Duration::from_secs(180),
            "not two holders of the notes: {now:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    note(&format!(
        "exactly two custodians keep the notes: after {:.1} s",
        started.elapsed().as_secs_f64()
    ));
    let mut custodians = vec![carol, erin, frank];
    let mut victim = custodians.remove(holders[0]);
    note(&format!("killing {}, a holder of the notes", victim.name));
    assert!(victim.proc.stop(libc::SIGKILL));
    let survivors: Vec<&Node> = custodians.iter().collect();
    // (The dead one counts as lost a TTL after its last refresh; then a pull.)
    wait_until(
        "the notes have two live replicas again",
        REPLICA_TTL.as_secs() + 90,
        || async { keepers(&survivors, &notes_blobs).await == 2 },
    )
    .await;
    let notes_bytes = std::fs::read(&notes).unwrap();
    for survivor in &survivors {
        let url = format!("{}/api/blob/{notes_hash}", survivor.url);
        let resp = survivor.owner().get(url).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{} reads its copy", survivor.name);
        assert!(
            resp.bytes().await.unwrap()[..] == notes_bytes[..],
            "{}'s copy is whole",
            survivor.name
        );
    }

    // SIGTERM stops a node cleanly; the rendezvous stops on it too.
    let mut dave = dave;
    assert!(dave.proc.stop(libc::SIGTERM), "dave stops on SIGTERM");
    assert!(rendezvous.stop(libc::SIGTERM), "the rendezvous stops on SIGTERM");
}

/// Calls `attempt` every 500 ms for at most `secs` until it gives a value.
async fn until_some<T>(what: &str, secs: u64, mut attempt: impl FnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(value) = attempt() {
            note(&format!("{what}: after {:.1} s", started.elapsed().as_secs_f64()));
            return value;
        }
        assert!(
            started.elapsed() < Duration::from_secs(secs),
            "{what}: not within {secs} s"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// CPU time (user + system) a process has used so far, in clock ticks.
fn cpu_ticks(pid: libc::pid_t) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name (which may hold spaces) start after its ')'.
    let fields: Vec<&str> = stat.rsplit_once(')').unwrap().1.split_whitespace().collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_node_whose_bootstrap_and_relay_do_not_answer_keeps_serving_and_says_so() {
    let root = tempfile::tempdir().unwrap();
    // Nothing listens there: the network is unreachable from the start.
    let nowhere = format!("http://127.0.0.1:{}", free_port());
    let node = Node::start("island", "127.0.0.1", root.path(), &nowhere, "test-island", &[]);
    wait_until("the status says neither server answers", 60, || async {
        let network = &node.status().await["network"];
        network["bootstrap_answers"] == false && network["relay_answers"] == false
    })
    .await;

    // It serves what it holds.
    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let receipt = node.upload(data.clone(), &[]).await;
    let hash = receipt["hash"].as_str().expect("the upload is stored");
    let back = node
        .owner()
        .get(format!("{}/api/blob/{hash}", node.url))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(back[..] == data[..], "it reads back byte for byte");

    // It retries with backoff rather than spinning: idle for 10 s, it uses well under half
    // a core (a busy loop would use a whole one).
    // SAFETY: sysconf only reads a system setting.
    let ticks_per_sec = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as u64;
    let before = cpu_ticks(node.proc.pid());
    tokio::time::sleep(Duration::from_secs(10)).await;
    let used = cpu_ticks(node.proc.pid()) - before;
    assert!(used < 5 * ticks_per_sec, "{used} ticks of CPU in 10 s idle");

    // A call's presence feed, which never ends by itself, is open when the node is told to
    // stop: it stops anyway (the feed is given a few seconds, then cut).
    let call: serde_json::Value = node
        .owner()
        .post(format!("{}/api/calls", node.url))
        .json(&serde_json::json!({"title": "island talk", "reach": "commons"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let events = call["events"].as_str().expect("the call has a presence feed");
    let mut feed = reqwest::Client::new()
        .get(format!("{}{events}", node.url))
        .bearer_auth(call["token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(feed.status(), 200, "the presence feed opens");
    let first = feed
        .chunk()
        .await
        .unwrap()
        .expect("the feed starts with a snapshot");
    assert!(String::from_utf8_lossy(&first).contains("snapshot"));
    let mut node = node;
    let stopping = Instant::now();
    assert!(node.proc.stop(libc::SIGTERM), "it stops on SIGTERM");
    eprintln!(
        "[test] stopped {:.1} s after SIGTERM",
        stopping.elapsed().as_secs_f64()
    );
    let rest = tokio::time::timeout(Duration::from_secs(5), async {
        while let Ok(Some(_)) = feed.chunk().await {}
    })
    .await;
    assert!(rest.is_ok(), "the feed ended with the node");
}

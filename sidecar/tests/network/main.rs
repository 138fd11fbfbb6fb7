//! Nodes in separate processes, as users run them: a rendezvous (bootstrap server and
//! relay) and `elohim-media node` processes from the built binary, each with its own data
//! directory and embedded conductor, talking over loopback only. They find each other
//! through the rendezvous, a custodian keeps the author's upload, and it still reads back
//! after the author's process is killed, from the custodian and through a viewer's own
//! node. A node whose network does not answer keeps serving and says so.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_elohim-media");

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

/// Starts `BIN args…`, and returns it with the first stdout line that starts with
/// `wanted` (waiting at most `secs`); the rest of its output goes to stderr.
fn spawn(name: &str, args: &[&str], wanted: &str, secs: u64) -> (Proc, String) {
    let mut child = Command::new(BIN)
        .args(args)
        .env("ELOHIM_PASSPHRASE", "test-passphrase")
        // Without publish failures, which every node logs while it is alone.
        .env(
            "RUST_LOG",
            "warn,holochain::core::workflow::publish_dht_ops_workflow=error",
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
    let line = rx
        .recv_timeout(Duration::from_secs(secs))
        .unwrap_or_else(|_| panic!("{name} printed no '{wanted}' line within {secs} s"));
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
    url: String,
    dir: PathBuf,
}

impl Node {
    /// Starts a node listening on `host` (an address literal, `[::]` for every address).
    fn start(name: &str, host: &str, root: &Path, rendezvous: &str, seed: &str, extra: &[&str]) -> Node {
        let dir = root.join(name);
        let port = free_port();
        let listen = format!("{host}:{port}");
        let url = format!("http://127.0.0.1:{port}");
        let happ = repo_root().join("workdir/elohim_media.happ");
        let mut args = vec![
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
        ];
        args.extend_from_slice(extra);
        let (proc, _) = spawn(name, &args, "elohim-media node is running", 120);
        Node {
            proc,
            url: url.clone(),
            dir,
        }
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
async fn nodes_in_separate_processes_meet_through_a_rendezvous_and_keep_an_upload_after_its_author_dies() {
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

    // Alice keeps no one else's media: custodians find her node by the endpoint it publishes.
    let mut alice = Node::start("alice", "127.0.0.1", root.path(), &rendezvous_url, &seed, &[]);
    let carol = Node::start(
        "carol",
        "127.0.0.1",
        root.path(),
        &rendezvous_url,
        &seed,
        &["--custodian", "storage:50"],
    );
    // Dave listens on every address; his CLI reaches him over IPv4 and IPv6 loopback.
    // He also relays live calls, for one viewer's track at a time.
    let dave = Node::start(
        "dave",
        "[::]",
        root.path(),
        &rendezvous_url,
        &seed,
        &["--custodian", "relay:1:10"],
    );
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
    wait_until("dave knows alice and carol", 120, || async {
        dave.status().await["network"]["peers"]
            .as_array()
            .is_some_and(|p| p.len() >= 2)
    })
    .await;
    let status = dave.status().await;
    let network = &status["network"];
    assert_eq!(network["bootstrap_answers"], true, "{network}");
    assert_eq!(network["relay_answers"], true, "{network}");
    assert!(network["last_heard_from_peer"].as_i64().is_some(), "{network}");
    wait_until("dave sees carol's commitment", 120, || async {
        dave.status().await["network"]["peers"]
            .as_array()
            .is_some_and(|peers| {
                peers
                    .iter()
                    .any(|p| p["custodian"]["endpoint"] == carol.url.as_str())
            })
    })
    .await;

    // Dave starts a call from the CLI, with Carol invited. His relay commitment is his
    // SFU's budget (one track): his own viewer gets in; Carol, joining from her own node
    // with a token it signs for Dave's, is told to come back later, and gets in once he
    // leaves.
    let carol_key = carol.status().await["agent"].as_str().unwrap().to_string();
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
    let (status, daves) = whep(field(&started, "whep:"), field(&started, "token:")).await;
    assert_eq!(status, 201);
    let started_at = Instant::now();
    let joined = loop {
        // Carol's node signs once it sees the call (gossip brings it).
        if let Some(out) = cli(&carol, &["call", "join", &call, "--host", &dave.url]) {
            break out;
        }
        assert!(
            started_at.elapsed() < Duration::from_secs(120),
            "carol's node never saw the call"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    note(&format!(
        "carol's node signs her into dave's call: after {:.1} s",
        started_at.elapsed().as_secs_f64()
    ));
    let (carol_whep, carol_token) = (field(&joined, "whep:"), field(&joined, "token:"));
    assert_eq!(whep(carol_whep.clone(), carol_token.clone()).await.0, 503);
    let left = reqwest::Client::new()
        .delete(format!("{}{}", dave.url, daves.unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(left.status(), 200);
    assert_eq!(whep(carol_whep, carol_token).await.0, 201);

    // Alice uploads a commons file through her own node.
    let data: Vec<u8> = (0..3 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let receipt: serde_json::Value = alice
        .owner()
        .post(format!("{}/api/blob", alice.url))
        .header("content-type", "application/octet-stream")
        .header("x-upload-title", "field notes")
        .header("x-upload-reach", "commons")
        .body(data.clone())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let hash = receipt["hash"].as_str().unwrap().to_string();
    assert!(receipt["published"]["content"].is_string(), "{receipt}");

    // Carol's custodian rounds fetch it from Alice's node.
    let read = |url: String| async move {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap();
        let resp = client.get(url).send().await.ok().filter(|r| r.status() == 200)?;
        resp.bytes().await.ok()
    };
    let at_carol = format!("{}/api/blob/{hash}", carol.url);
    wait_until("carol keeps alice's upload", 180, || {
        let at_carol = at_carol.clone();
        async move { read(at_carol).await.is_some() }
    })
    .await;

    // Alice's process dies; Carol still serves the upload, byte for byte, and Dave lists it
    // (from what gossip brought him, or from Carol, once Alice is gone).
    assert!(alice.proc.stop(libc::SIGKILL));
    assert_eq!(read(at_carol).await.as_deref(), Some(&data[..]));
    wait_until("dave lists alice's upload", 120, || async {
        let listed: Vec<serde_json::Value> = dave
            .owner()
            .get(format!("{}/api/content", dave.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        listed.iter().any(|c| c["content"]["title"] == "field notes")
    })
    .await;

    // Dave keeps no one's media, yet a player pointed at his own node plays the upload: his
    // node fetches each chunk from Carol (Alice is gone), verifies it and streams it. The
    // CLI's verified download works against his node too.
    let at_dave = format!("{}/api/blob/{hash}", dave.url);
    wait_until("dave's own node serves alice's upload", 60, || {
        let at_dave = at_dave.clone();
        let data = &data;
        async move { read(at_dave).await.as_deref() == Some(&data[..]) }
    })
    .await;
    let out = root.path().join("from-dave.bin");
    let got = Command::new(BIN)
        .args([
            "get",
            &hash,
            "--output",
            out.to_str().unwrap(),
            "--node",
            &dave.url,
        ])
        .args(["--data-dir", dave.dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(got.status.success(), "{}", String::from_utf8_lossy(&got.stderr));
    assert!(
        std::fs::read(&out).unwrap() == data,
        "the CLI's copy is byte-exact"
    );

    // SIGTERM stops a node cleanly; the rendezvous stops on it too.
    let mut dave = dave;
    assert!(dave.proc.stop(libc::SIGTERM), "dave stops on SIGTERM");
    assert!(rendezvous.stop(libc::SIGTERM), "the rendezvous stops on SIGTERM");
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
    let receipt: serde_json::Value = node
        .owner()
        .post(format!("{}/api/blob", node.url))
        .header("content-type", "application/octet-stream")
        .body(data.clone())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
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

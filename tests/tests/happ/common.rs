//! One `setup()` for every scenario: loads the packed DNA, starts one conductor per agent,
//! and hands back named agents plus fixtures for entries.

use holochain::prelude::*;
use holochain::sweettest::*;
use media_api::ContentView;
use media_integrity::media_rules::manifest::BlobManifest as Manifest;
use media_integrity::media_rules::role::MediaRole;
use media_integrity::{BlobManifest, ContentNode, CustodianCommitment};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// The role name of the media DNA in `happ.yaml`.
pub const ROLE: &str = "media";

pub use sidecar::testkit::repo_root;

/// The packed DNA.
pub async fn media_dna() -> DnaFile {
    let path = repo_root().join("workdir/media.dna");
    SweetDnaFile::from_bundle(&path)
        .await
        .unwrap_or_else(|e| panic!("{} missing or broken ({e}); run scripts/setup.sh", path.display()))
}

/// A named agent: an index into the network.
#[derive(Clone, Copy, Debug)]
pub struct Agent(pub usize);

/// Agents on separate conductors that know each other.
pub struct Net {
    pub conductors: SweetConductorBatch,
    pub cells: Vec<SweetCell>,
}

/// Starts `N` conductors with the hApp and introduces them; the agents come back in order
/// (alice, bob, carol, …).
pub async fn setup<const N: usize>() -> (Net, [Agent; N]) {
    media_node::embedded::keep_openssl_until_exit();
    let dna = media_dna().await;
    let mut conductors = SweetConductorBatch::standard(N).await;
    let apps = conductors
        .setup_app("elohim_media", &[(RoleName::from(ROLE), dna)])
        .await
        .expect("install");
    let cells = apps.cells_flattened();
    conductors.exchange_peer_info().await;
    (Net { conductors, cells }, std::array::from_fn(Agent))
}

impl Drop for Net {
    /// Shuts every conductor still running down, and waits for each, before the test's
    /// runtime goes. A dropped `SweetConductor` only spawns its shutdown, which then runs
    /// while the runtime shuts down; a database pool's maintenance task can spin on a worker
    /// forever then (seen once, at the end of `custodians_e2e`), and the test process hangs.
    fn drop(&mut self) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if runtime.runtime_flavor() != tokio::runtime::RuntimeFlavor::MultiThread {
            return;
        }
        let conductors = &mut self.conductors;
        tokio::task::block_in_place(|| {
            runtime.block_on(async {
                for i in 0..conductors.iter().count() {
                    if conductors[i].is_running() {
                        let wait = std::time::Duration::from_secs(30);
                        let _ = tokio::time::timeout(wait, conductors[i].try_shutdown()).await;
                    }
                }
            })
        });
    }
}

impl Net {
    /// Calls `f` as `who`; panics if the call fails.
    pub async fn call<I, O>(&self, who: Agent, f: &str, input: I) -> O
    where
        I: Serialize + std::fmt::Debug,
        O: DeserializeOwned + std::fmt::Debug,
    {
        self.conductors[who.0]
            .call(&self.cells[who.0].zome("media"), f, input)
            .await
    }

    /// Calls `f` as `who`, returning the error's text if it fails.
    pub async fn try_call<I, O>(&self, who: Agent, f: &str, input: I) -> Result<O, String>
    where
        I: Serialize + std::fmt::Debug,
        O: DeserializeOwned + std::fmt::Debug,
    {
        self.conductors[who.0]
            .call_fallible(&self.cells[who.0].zome("media"), f, input)
            .await
            .map_err(|e| format!("{e:?}"))
    }

    /// Calls `f` as `who`, which must fail with an error mentioning `expected`.
    pub async fn must_fail<I: Serialize + std::fmt::Debug>(
        &self,
        who: Agent,
        f: &str,
        input: I,
        expected: &str,
    ) {
        match self.try_call::<I, serde_json::Value>(who, f, input).await {
            Ok(v) => panic!("{f} should have failed with '{expected}' but returned {v:?}"),
            Err(e) => assert!(
                e.contains(expected),
                "{f} failed, but not with '{expected}':\n{e}"
            ),
        }
    }

    /// An agent's key.
    pub fn key(&self, who: Agent) -> AgentPubKey {
        self.cells[who.0].agent_pubkey().clone()
    }

    /// Waits until every agent has seen every op.
    pub async fn sync(&self) {
        await_consistency_s(120, self.cells.iter())
            .await
            .expect("consistency");
    }

    /// Titles of the content `who` may see, sorted.
    pub async fn visible_titles(&self, who: Agent) -> Vec<String> {
        let list: Vec<ContentView> = self.call(who, "list_visible_content", ()).await;
        let mut titles: Vec<String> = list.into_iter().map(|v| v.content.title).collect();
        titles.sort();
        titles
    }
}

/// Published content of `reach` with sensible defaults.
pub fn content(title: &str, reach: &str) -> ContentNode {
    ContentNode {
        title: title.into(),
        description: format!("About {title}"),
        content_format: "video-file".into(),
        reach: reach.into(),
        lifecycle: "published".into(),
        refresh_interval_days: Some(180),
        retention_days: 30,
        embed_strategy: "http-range".into(),
        blobs: vec![],
        invitees: vec![],
        place: None,
        codecs: vec![],
    }
}

/// A consistent manifest of a `size`-byte blob with 64 KiB chunks.
pub fn manifest(seed: u8, size: u64) -> BlobManifest {
    let chunk_size = media_integrity::media_rules::limits::MIN_CHUNK_SIZE;
    let count = size.div_ceil(u64::from(chunk_size)) as usize;
    let hex = |n: usize| format!("{:02x}{:062x}", seed, n);
    BlobManifest(Manifest {
        hash: hex(usize::MAX >> 8),
        size,
        mime_type: "video/mp4".into(),
        codec: Some("avc1.64001f".into()),
        chunk_size,
        chunks: (0..count).map(hex).collect(),
        bitrate_kbps: Some(2_500),
        duration_ms: Some(60_000),
        variants: vec![],
        segments: None,
        fallback_urls: vec![],
    })
}

/// A storage commitment for a day, at `endpoint`.
pub fn commitment(endpoint: &str) -> CustodianCommitment {
    CustodianCommitment {
        media_role: MediaRole::Storage {
            max_storage_gb: 100,
            chunk_redundancy: 1,
        },
        bandwidth_class: "high".into(),
        cache_priority: 50,
        place: None,
        endpoint: endpoint.into(),
        expires_at: Timestamp::from_micros(Timestamp::now().as_micros() + 86_400_000_000),
    }
}

/// A place, narrowest name last.
pub fn place(municipality: &str, neighborhood: &str, household: &str) -> media_integrity::media_rules::Place {
    media_integrity::media_rules::Place::new([
        "cascadia".into(),
        "salish-sea".into(),
        municipality.into(),
        neighborhood.into(),
        household.into(),
    ])
}

/// A real sidecar on loopback, wired to the conductor of one agent.
pub struct NodeSidecar {
    /// Its base URL.
    pub url: String,
    /// Its state (for workers).
    pub state: std::sync::Arc<sidecar::state::Sidecar>,
    /// Its data directory.
    pub dir: tempfile::TempDir,
    /// Its link to the conductor (the DHT it asks, and how many calls it made).
    pub link: std::sync::Arc<media_node::ConductorLink>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: tokio::task::JoinHandle<()>,
}

impl NodeSidecar {
    /// Starts a sidecar for `who`, linked to its conductor over the admin and app websockets.
    pub async fn start(net: &Net, who: Agent) -> Self {
        Self::start_with(net, who, |_| {}).await
    }

    /// Starts a sidecar for `who` with its configuration changed by `adjust`.
    pub async fn start_with(
        net: &Net,
        who: Agent,
        adjust: impl FnOnce(&mut sidecar::config::Config),
    ) -> Self {
        Self::start_in(net, who, tempfile::tempdir().unwrap(), adjust).await
    }

    /// Stops this sidecar and starts another for `who` on the same data directory, with
    /// the default configuration: a node restarted.
    pub async fn restart(self, net: &Net, who: Agent) -> Self {
        self.restart_with(net, who, |_| {}).await
    }

    /// Stops this sidecar and starts another on the same data directory, with its
    /// configuration changed by `adjust`.
    pub async fn restart_with(
        mut self,
        net: &Net,
        who: Agent,
        adjust: impl FnOnce(&mut sidecar::config::Config),
    ) -> Self {
        self.stop().await;
        Self::start_in(net, who, self.dir, adjust).await
    }

    async fn start_in(
        net: &Net,
        who: Agent,
        dir: tempfile::TempDir,
        adjust: impl FnOnce(&mut sidecar::config::Config),
    ) -> Self {
        let options = media_node::link::LinkOptions::default();
        Self::attach(&net.conductors[who.0], &net.key(who), options, dir, adjust).await
    }

    /// Starts a sidecar for the app `options` names on `conductor`, whose agent is `agent`
    /// (several agents may share one conductor, each with its app).
    pub async fn attach(
        conductor: &SweetConductor,
        agent: &AgentPubKey,
        options: media_node::link::LinkOptions,
        dir: tempfile::TempDir,
        adjust: impl FnOnce(&mut sidecar::config::Config),
    ) -> Self {
        let port = conductor
            .raw_handle()
            .get_arbitrary_admin_websocket_port()
            .expect("admin port");
        // A conductor just started may close the first admin connection: a few tries.
        let happ = repo_root().join("workdir/elohim_media.happ");
        let mut tries = 0;
        let link = loop {
            match media_node::ConductorLink::attach(&format!("127.0.0.1:{port}"), &happ, options.clone())
                .await
            {
                Ok(link) => break link,
                Err(e) if tries < 3 => {
                    tries += 1;
                    eprintln!("linking to the conductor (try {tries}): {e:#}");
                    tokio::time::sleep(std::time::Duration::from_millis(500 * tries)).await;
                }
                Err(e) => panic!("link to the conductor: {e:#}"),
            }
        };
        assert_eq!(link.agent(), agent, "the link acts as the app's agent");
        let mut config = sidecar::config::Config::on_loopback(dir.path().to_path_buf());
        adjust(&mut config);
        let state = sidecar::state::Sidecar::open(config.clone()).unwrap();
        let link = std::sync::Arc::new(link);
        state.attach(link.clone());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (addr, server) = sidecar::server::bind(state.clone(), config.listen, async {
            let _ = stopped.await;
        })
        .unwrap();
        NodeSidecar {
            url: format!("http://{addr}"),
            state,
            dir,
            link,
            stop: Some(stop),
            server: tokio::spawn(server),
        }
    }

    /// The owner's credential, which the routes acting as the node's agent need.
    pub fn owner(&self) -> &str {
        self.state.owner.secret()
    }

    /// Stops serving and waits until the listener is closed.
    pub async fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.server).await;
    }
}

// HTTP helpers for scenarios with node sidecars.

/// Uploads `data` as `mime` to the node, as its owner, with the upload headers given;
/// returns the 201's receipt.
pub async fn post_blob(
    node: &NodeSidecar,
    data: Vec<u8>,
    mime: &str,
    headers: &[(&str, &str)],
) -> serde_json::Value {
    let mut req = reqwest::Client::new()
        .post(format!("{}/api/blob", node.url))
        .bearer_auth(node.owner())
        .header("content-type", mime)
        .body(data);
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let resp = req.send().await.unwrap();
    assert_eq!(resp.status(), 201);
    resp.json().await.unwrap()
}

/// Uploads and publishes `data` as audio; returns its hash.
pub async fn upload(
    node: &NodeSidecar,
    data: &[u8],
    title: &str,
    reach: &str,
    invite: Option<String>,
) -> String {
    let mut headers = vec![("x-upload-title", title), ("x-upload-reach", reach)];
    if let Some(invite) = &invite {
        headers.push(("x-upload-invite", invite));
    }
    let receipt = post_blob(node, data.to_vec(), "audio/mpeg", &headers).await;
    assert!(
        receipt["published"]["content"]
            .as_str()
            .unwrap()
            .starts_with("uhCkk"),
        "{receipt}"
    );
    receipt["hash"].as_str().unwrap().to_string()
}

/// Hands `author`'s invited content to its invitees now, as a node's worker does soon
/// after publishing (when one runs, the two may race for a copy: the loser tries again);
/// returns how many copies this call handed over.
pub async fn deliver_shares(net: &Net, author: Agent) -> u32 {
    let mut delivered = 0;
    for _ in 0..10 {
        let report: media_api::ShareDelivery = net.call(author, "deliver_shares", ()).await;
        delivered += report.delivered;
        if report.pending == 0 {
            return delivered;
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
    panic!("an invitee's conductor did not take its copy in ten tries");
}

/// Polls `check` every half second until it gives a value, and returns it; fails the
/// test, naming `what`, when `limit` passes first.
pub async fn until<T, F, Fut>(what: &str, limit: std::time::Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = std::time::Instant::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(start.elapsed() < limit, "timed out waiting until {what}");
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
}

/// How long a test waits for the author's node to hand invited content over: a first try
/// that finds the invitee not yet reachable, then the worker's retries after 5, 10 and 20 s.
const SHARED_WITHIN: std::time::Duration = std::time::Duration::from_secs(60);

/// Waits (at most [`SHARED_WITHIN`]) until `who` holds a copy of invited content using `blob`, which
/// the author's node hands over in the background after publishing; returns the manifests.
pub async fn until_shared(net: &Net, who: Agent, blob: &str) -> Vec<media_api::ManifestView> {
    until(
        "the author's node hands over its invited content",
        SHARED_WITHIN,
        || async {
            let found: Vec<media_api::ManifestView> =
                net.call(who, "find_blob_manifests", blob.to_string()).await;
            (!found.is_empty()).then_some(found)
        },
    )
    .await
}

/// Waits (at most [`SHARED_WITHIN`]) until `who` sees content titled `title` that `ready` accepts: the
/// author's node hands invited content over in the background. Returns it.
pub async fn until_seen(
    net: &Net,
    who: Agent,
    title: &str,
    ready: impl Fn(&ContentView) -> bool,
) -> ContentView {
    until(&format!("{who:?} sees {title:?}"), SHARED_WITHIN, || async {
        let seen: Vec<ContentView> = net.call(who, "list_visible_content", ()).await;
        seen.into_iter().find(|v| v.content.title == title && ready(v))
    })
    .await
}

/// A token `who` signs for `blob`, for the node whose agent key is `audience`.
pub async fn token(net: &Net, who: Agent, blob: &str, audience: String, ttl: u32) -> String {
    let issued: media_api::IssuedToken = net
        .call(
            who,
            "issue_access_token",
            media_api::IssueTokenInput {
                blob: blob.into(),
                audience,
                ttl_seconds: ttl,
            },
        )
        .await;
    issued.token
}

/// GETs one of the node's own routes (`path`, e.g. `/api/content`) as its owner: the JSON.
pub async fn owner_get<T: serde::de::DeserializeOwned>(node: &NodeSidecar, path: &str) -> T {
    sidecar::cli::client(Some(node.owner()))
        .unwrap()
        .get(format!("{}{path}", node.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// GETs a blob from a node, with a token or without: status and body.
pub async fn get(url: &str, blob: &str, token: Option<&str>) -> (u16, Vec<u8>) {
    let mut req = reqwest::Client::new().get(format!("{url}/api/blob/{blob}"));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    (resp.status().as_u16(), resp.bytes().await.unwrap().to_vec())
}

/// Follows the ladder job an upload's receipt names, as the CLI does, until it ends;
/// fails unless it ends done.
pub async fn ladder_of(node: &NodeSidecar, receipt: &serde_json::Value) -> sidecar::ladder::Progress {
    ladder_ends(node, receipt, sidecar::ladder::Stage::Done).await
}

/// Waits up to three minutes for the upload's ladder job to end, in `stage`.
pub async fn ladder_ends(
    node: &NodeSidecar,
    receipt: &serde_json::Value,
    stage: sidecar::ladder::Stage,
) -> sidecar::ladder::Progress {
    let path = receipt["ladder"].as_str().expect("a ladder job");
    let progress = tokio::time::timeout(
        std::time::Duration::from_secs(180),
        sidecar::cli::wait_for_ladder_as(
            &sidecar::cli::client(Some(node.owner())).unwrap(),
            &node.url,
            path,
        ),
    )
    .await
    .expect("the ladder job ends in three minutes")
    .unwrap();
    assert_eq!(progress.stage, stage, "{progress:?}");
    progress
}

//! What a custodian round costs as the library grows (a benchmark, run by
//! `bench/rounds.sh`, not by the test command): N commons items are published, one
//! custodian keeps up to [`KEPT`] of them (the author's; beyond that the items are the
//! custodian's own uploads, which it lists and walks every round but does not place on
//! itself; they share one blob, which a round never reads), and rounds are timed and their
//! zome calls counted. The reads the round made before the catalog (every content item,
//! and each blob's manifest and replicas, every round) are replayed in the same run for
//! comparison.

use crate::common::*;
use holochain::prelude::{ActionHash, RoleName};
use holochain::sweettest::{SweetCell, SweetConductor, SweetConductorConfig, SweetLocalRendezvous};
use media_api::{ContentView, ManifestView};
use media_integrity::media_rules::manifest::BlobManifest as Manifest;
use media_integrity::BlobManifest;
use sidecar::custodian::{CustodianConfig, Worker};
use std::time::{Duration, Instant};

/// Most items the custodian keeps for their author. Recording and verifying a replica costs
/// about half a second here, so a custodian keeping all of 10 000 would take hours to set
/// up; in a network that large each custodian keeps its share.
const KEPT: usize = 1_000;

/// The library sizes measured: `ROUND_COST_SIZES=100,1000` (as `bench/rounds.sh` runs it),
/// or these.
fn sizes() -> Vec<usize> {
    std::env::var("ROUND_COST_SIZES")
        .unwrap_or_else(|_| "100,1000,10000".into())
        .split(',')
        .filter_map(|n| n.trim().parse().ok())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "a benchmark: bench/rounds.sh"]
async fn custodian_round_cost_by_library_size() {
    println!("| contents | kept | round | zome calls | seconds | previous round's reads: calls | seconds |");
    println!("|---:|---:|---|---:|---:|---:|---:|");
    for n in sizes() {
        measure(n).await;
    }
}

/// Two agents' apps on one conductor, as a simulation of a large network's DHT: with two
/// conductors, each op is also gossiped and re-published between them, which makes
/// publishing 10 000 items take hours on this machine.
struct OneConductor {
    conductor: SweetConductor,
    cells: [SweetCell; 2],
}

impl OneConductor {
    async fn start() -> Self {
        let dna = media_dna().await;
        // Authored ops are integrated into the conductor's one DHT store when they are
        // committed; with no other conductor, publishing and gossip have no one to reach.
        // (Turning them off did not stop publishing from slowing as the library grows.)
        media_node::embedded::keep_openssl_until_exit();
        let config = SweetConductorConfig::rendezvous(true).tune_network_config(|network| {
            network.disable_publish = true;
            network.disable_gossip = true;
        });
        let mut conductor =
            SweetConductor::from_config_rendezvous(config, SweetLocalRendezvous::new().await).await;
        let mut cells = Vec::new();
        for app in ["alice", "bob"] {
            let app = conductor
                .setup_app(app, &[(RoleName::from(ROLE), dna.clone())])
                .await
                .expect("install");
            cells.push(app.into_cells().remove(0));
        }
        let cells = [cells.remove(0), cells.remove(0)];
        OneConductor { conductor, cells }
    }

    async fn call<I, O>(&self, who: usize, f: &str, input: I) -> O
    where
        I: serde::Serialize + std::fmt::Debug,
        O: serde::de::DeserializeOwned + std::fmt::Debug,
    {
        self.conductor
            .call(&self.cells[who].zome("media"), f, input)
            .await
    }
}

async fn measure(n: usize) {
    let net = OneConductor::start().await;
    let (alice, bob) = (0, 1);
    let options = media_node::link::LinkOptions {
        app_id: "bob".into(),
        install: false,
        ..Default::default()
    };
    let bob_key = net.cells[bob].agent_pubkey().clone();
    let bob_node = NodeSidecar::attach(
        &net.conductor,
        &bob_key,
        options,
        tempfile::tempdir().unwrap(),
        |_| {},
    )
    .await;
    // Bob keeps every blob already (stored on his node), so rounds measure bookkeeping, not
    // transfers. Alice publishes up to KEPT items as commons content, spread over the
    // library, each with its own blob; Bob publishes the rest. His items share one blob: a
    // round passes over its node's own content before it reads any blob of it, so what the
    // rounds read is the same, and publishing costs one zome call per item instead of two.
    let kept = n.min(KEPT);
    let started = Instant::now();
    let mut own_blob: Option<ActionHash> = None;
    for i in 0..n {
        let by_alice = i * kept / n != (i + 1) * kept / n;
        let blob = match (&own_blob, by_alice) {
            (Some(shared), false) => shared.clone(),
            _ => {
                let author = if by_alice { alice } else { bob };
                let id = register_blob(&net, &bob_node, author, format!("item {i} of {n}")).await;
                if !by_alice {
                    own_blob = Some(id.clone());
                }
                id
            }
        };
        let mut item = content(&format!("item {i}"), "commons");
        item.content_format = "document".into();
        item.blobs = vec![blob];
        let _: ContentView = net
            .call(if by_alice { alice } else { bob }, "create_content", item)
            .await;
        if (i + 1) % 500 == 0 {
            eprintln!(
                "{} of {n} published after {:.0} s",
                i + 1,
                started.elapsed().as_secs_f64()
            );
        }
    }
    eprintln!(
        "{n} items published in {:.0} s, {kept} of them for the custodian to keep",
        started.elapsed().as_secs_f64()
    );

    let synced = Instant::now();
    holochain::sweettest::await_consistency_s(3600, net.cells.iter())
        .await
        .expect("consistency");
    eprintln!("synced in {:.0} s", synced.elapsed().as_secs_f64());

    let mut config = CustodianConfig::from_flags("storage:100", "high", None, bob_node.url.clone()).unwrap();
    // Long enough that no refresh falls due while the measured rounds run.
    config.replica_ttl = Duration::from_secs(7 * 86_400);
    let mut worker = Worker::start(bob_node.state.clone(), config).await.unwrap();
    let link = bob_node.link.clone();
    let previous = replay_previous_reads(&link).await;
    for round in 1..=catalog_rounds() {
        let calls = link.calls_made();
        let at = Instant::now();
        let report = worker.round().await.unwrap();
        let (calls, secs) = (link.calls_made() - calls, at.elapsed().as_secs_f64());
        let what = match round {
            1 => "first (records every replica)".to_string(),
            r if (r - 1) % sidecar::custodian::catalog::FULL_LISTING_ROUNDS as usize == 0 => {
                format!("{round} (reads the catalog whole)")
            }
            r => format!("{r}"),
        };
        if round <= 3 || round == catalog_rounds() {
            println!(
                "| {n} | {kept} | {what} | {calls} | {secs:.2} | {} | {:.2} |",
                previous.0, previous.1
            );
        }
        assert_eq!(
            report.assigned, kept,
            "every item of the author is placed on the one custodian"
        );
    }
}

/// Stores `text` on Bob's node and registers its manifest as `author`'s.
async fn register_blob(
    net: &OneConductor,
    bob_node: &NodeSidecar,
    author: usize,
    text: String,
) -> ActionHash {
    let data = format!("{text}: {}", "x".repeat(200)).into_bytes();
    let receipt = post_blob(bob_node, data, "application/octet-stream", &[]).await;
    let manifest = BlobManifest(Manifest {
        hash: receipt["hash"].as_str().unwrap().into(),
        size: receipt["size"].as_u64().unwrap(),
        mime_type: "application/octet-stream".into(),
        codec: None,
        chunk_size: receipt["chunk_size"].as_u64().unwrap() as u32,
        chunks: serde_json::from_value(receipt["chunks"].clone()).unwrap(),
        bitrate_kbps: None,
        duration_ms: None,
        variants: vec![],
        segments: None,
        fallback_urls: vec![],
    });
    let view: ManifestView = net.call(author, "register_blob_manifest", manifest).await;
    view.id
}

/// Rounds run per size: enough to reach one whole reading after the first.
fn catalog_rounds() -> usize {
    sidecar::custodian::catalog::FULL_LISTING_ROUNDS as usize + 1
}

/// The reads a round made before the catalog, replayed: zome calls and seconds.
async fn replay_previous_reads(link: &media_node::ConductorLink) -> (u64, f64) {
    let at = Instant::now();
    let before = link.calls_made();
    use sidecar::dht::Dht;
    link.live_commitments().await.unwrap();
    let contents = link.visible_content(None).await.unwrap();
    for c in &contents {
        for m in &c.content.blobs {
            link.manifest(m).await.unwrap();
            link.replicas(m).await.unwrap();
        }
    }
    (link.calls_made() - before, at.elapsed().as_secs_f64())
}

//! Custodians commit, report replicas, refresh them, and withdraw; others see it all.

use crate::common::*;
use holochain::prelude::*;
use media_api::{CommitmentView, ContentView, ManifestView, RefreshReplicaInput, ReplicaView};
use media_integrity::ReplicaStatus;

#[tokio::test(flavor = "multi_thread")]
async fn commitments_and_replicas_are_visible_to_everyone() {
    let (net, [alice, bob, carol]) = setup::<3>().await;
    let m: ManifestView = net
        .call(alice, "register_blob_manifest", manifest(7, 150_000))
        .await;
    let mut c = content("podcast", "commons");
    c.blobs = vec![m.id.clone()];
    c.content_format = "audio-file".into();
    let podcast: ContentView = net.call(alice, "create_content", c).await;
    let bobs: CommitmentView = net
        .call(bob, "commit_as_custodian", commitment("http://127.0.0.1:8801"))
        .await;
    net.sync().await;

    // Carol sees Bob's live commitment.
    let live: Vec<CommitmentView> = net.call(carol, "list_live_commitments", ()).await;
    assert_eq!(
        live.iter().map(|c| c.author.clone()).collect::<Vec<_>>(),
        vec![net.key(bob)]
    );

    // Bob stores the podcast, then verifies it.
    let stored = ReplicaStatus {
        content: podcast.version.clone(),
        manifest: m.id.clone(),
        commitment: bobs.version.clone(),
        state: "stored".into(),
        chunks_held: 3,
        last_verified: None,
    };
    let replica: ReplicaView = net.call(bob, "record_replica", stored.clone()).await;
    let verified = ReplicaStatus {
        state: "verified".into(),
        last_verified: Some(Timestamp::now()),
        ..stored.clone()
    };
    let _: ReplicaView = net
        .call(
            bob,
            "refresh_replica",
            RefreshReplicaInput {
                id: replica.id.clone(),
                status: verified,
            },
        )
        .await;
    // A verified replica cannot go back to pending.
    let back = ReplicaStatus {
        state: "pending".into(),
        chunks_held: 0,
        ..stored
    };
    net.must_fail(
        bob,
        "refresh_replica",
        RefreshReplicaInput {
            id: replica.id.clone(),
            status: back,
        },
        "state cannot move from verified to pending",
    )
    .await;
    net.sync().await;

    // Carol lists the blob's replicas: Bob's, verified, with his sidecar's address.
    let replicas: Vec<ReplicaView> = net.call(carol, "list_replicas", m.id.clone()).await;
    assert_eq!(replicas.len(), 1);
    assert_eq!(replicas[0].custodian, net.key(bob));
    assert_eq!(replicas[0].status.state, "verified");
    assert_eq!(replicas[0].endpoint.as_deref(), Some("http://127.0.0.1:8801"));

    // Bob withdraws; Carol no longer sees a live commitment.
    let _: ActionHash = net.call(bob, "withdraw_commitment", bobs.id.clone()).await;
    net.sync().await;
    let live: Vec<CommitmentView> = net.call(carol, "list_live_commitments", ()).await;
    assert!(live.is_empty());
}

/// What one replica costs the DHT: the ReplicaStatus entry as stored (MessagePack), for the
/// replication figures in BENCHMARKS.md (`cargo test -p media_tests --test happ
/// replica_status_entry_bytes -- --nocapture`).
#[test]
fn replica_status_entry_bytes() {
    let hash = ActionHash::from_raw_36(vec![7; 36]);
    let status = ReplicaStatus {
        content: hash.clone(),
        manifest: hash.clone(),
        commitment: hash,
        state: "verified".into(),
        chunks_held: 1024,
        last_verified: Some(Timestamp::now()),
    };
    let bytes = SerializedBytes::try_from(status).unwrap().bytes().len();
    println!("ReplicaStatus entry: {bytes} bytes");
    assert!((100..400).contains(&bytes), "{bytes}");
}

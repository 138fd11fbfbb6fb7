//! Versions cannot fork: an update must build on the newest version, so an old version
//! cannot be updated to revive content that was archived or forgotten, and a replica
//! status cannot cite a commitment that a later version superseded.

use crate::common::*;
use holochain::prelude::*;
use media_api::{
    CommitmentView, ContentView, ManifestView, SetLifecycleInput, UpdateCommitmentInput, UpdateContentInput,
};
use media_integrity::ReplicaStatus;

#[tokio::test(flavor = "multi_thread")]
async fn updating_an_older_version_cannot_revive_content_nor_a_superseded_commitment_back_a_replica() {
    let (net, [alice, bob]) = setup::<2>().await;
    let m: ManifestView = net
        .call(alice, "register_blob_manifest", manifest(7, 200_000))
        .await;
    let mut talk = content("talk", "commons");
    talk.blobs = vec![m.id.clone()];
    let v1: ContentView = net.call(alice, "create_content", talk).await;
    let archived: ContentView = net
        .call(
            alice,
            "set_lifecycle",
            SetLifecycleInput {
                id: v1.id.clone(),
                lifecycle: "archived".into(),
            },
        )
        .await;
    assert_eq!(archived.content.lifecycle, "archived");

    // Alice updates the first version again, as if the archiving had not happened.
    let mut revived = v1.content.clone();
    revived.title = "talk, back again".into();
    net.must_fail(
        alice,
        "update_content",
        UpdateContentInput {
            id: v1.id.clone(),
            previous_version: v1.version.clone(),
            content: revived,
        },
        "this version was already updated",
    )
    .await;
    let latest: Option<ContentView> = net.call(alice, "get_latest_content", v1.id.clone()).await;
    assert_eq!(latest.unwrap().content.lifecycle, "archived");

    // Bob commits as custodian, then renews his commitment: a status must cite the newest.
    let first: CommitmentView = net
        .call(bob, "commit_as_custodian", commitment("http://127.0.0.1:9"))
        .await;
    let renew = || {
        let input = UpdateCommitmentInput {
            id: first.id.clone(),
            commitment: commitment("http://127.0.0.1:9"),
        };
        net.call::<_, CommitmentView>(bob, "update_commitment", input)
    };
    let renewed = renew().await;
    assert_ne!(renewed.version, first.version);
    let mut live = content("live talk", "commons");
    live.blobs = vec![m.id.clone()];
    let live: ContentView = net.call(alice, "create_content", live).await;
    net.sync().await;
    let status = |commitment: &ActionHash| ReplicaStatus {
        content: live.version.clone(),
        manifest: m.id.clone(),
        commitment: commitment.clone(),
        state: "stored".into(),
        chunks_held: m.manifest.chunks.len() as u32,
        last_verified: None,
    };
    net.must_fail(
        bob,
        "record_replica",
        status(&first.version),
        "commitment was superseded",
    )
    .await;
    let ok: media_api::ReplicaView = net.call(bob, "record_replica", status(&renewed.version)).await;
    assert_eq!(ok.custodian, net.key(bob));

    // Renewing prunes the links to versions before the previous one; everyone still finds
    // the newest, and a status citing a pruned version is still refused as superseded.
    let mut newest = renewed.clone();
    for _ in 0..3 {
        newest = renew().await;
    }
    net.sync().await;
    let live: Vec<CommitmentView> = net.call(alice, "list_live_commitments", ()).await;
    assert_eq!(
        live.iter().map(|c| &c.version).collect::<Vec<_>>(),
        [&newest.version],
        "the newest version, as Alice sees it"
    );
    net.must_fail(
        bob,
        "record_replica",
        status(&renewed.version),
        "commitment was superseded",
    )
    .await;
    // Withdrawn after many renewals: no status can cite it any more.
    let _: ActionHash = net.call(bob, "withdraw_commitment", first.id.clone()).await;
    net.must_fail(bob, "record_replica", status(&newest.version), "withdrawn")
        .await;
    net.sync().await;
    let live: Vec<CommitmentView> = net.call(alice, "list_live_commitments", ()).await;
    assert!(live.is_empty(), "{live:?}");
}

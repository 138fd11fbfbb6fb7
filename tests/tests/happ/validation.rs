//! Every validation rule, each broken by a real zome call that must fail with a message
//! naming the problem.

use crate::common::*;
use holochain::prelude::*;
use media_api::{
    CommitmentView, ContentView, LinkReplicaInput, ManifestView, RefreshReplicaInput, ReplicaView,
    UpdateContentInput,
};
use media_integrity::media_rules::role::MediaRole;
use media_integrity::ReplicaStatus;

#[tokio::test(flavor = "multi_thread")]
async fn malformed_entries_are_rejected_by_field() {
    let (net, [alice]) = setup::<1>().await;

    // A size that disagrees with the chunk list.
    let mut m = manifest(1, 200_000);
    m.0.chunks.pop();
    net.must_fail(
        alice,
        "register_blob_manifest",
        m,
        "does not agree with the chunk list",
    )
    .await;
    // A malformed blob hash and a malformed chunk hash.
    let mut m = manifest(1, 1000);
    m.0.hash = "not-a-hash".into();
    net.must_fail(alice, "register_blob_manifest", m, "hash must be a SHA-256")
        .await;
    let mut m = manifest(1, 1000);
    m.0.chunks[0] = "Z".repeat(64);
    net.must_fail(
        alice,
        "register_blob_manifest",
        m,
        "chunks[0] must be lowercase hex",
    )
    .await;

    // Unknown reach, role and bandwidth values.
    net.must_fail(
        alice,
        "create_content",
        content("x", "galactic"),
        "reach: unknown value 'galactic'",
    )
    .await;
    let mut c = commitment("http://127.0.0.1:1");
    c.media_role = MediaRole::Unknown;
    net.must_fail(alice, "commit_as_custodian", c, "media_role: unknown role")
        .await;
    let mut c = commitment("http://127.0.0.1:1");
    c.bandwidth_class = "warp-speed".into();
    net.must_fail(
        alice,
        "commit_as_custodian",
        c,
        "bandwidth_class: unknown value 'warp-speed'",
    )
    .await;

    // Capacities out of range.
    let mut c = commitment("http://127.0.0.1:1");
    c.media_role = MediaRole::Storage {
        max_storage_gb: 0,
        chunk_redundancy: 1,
    };
    net.must_fail(
        alice,
        "commit_as_custodian",
        c,
        "media_role.max_storage_gb is 0, out of range",
    )
    .await;
    let mut c = commitment("http://127.0.0.1:1");
    c.cache_priority = 101;
    net.must_fail(
        alice,
        "commit_as_custodian",
        c,
        "cache_priority is 101, out of range",
    )
    .await;

    // Place-bound reach needs a place; blobs must be manifests.
    net.must_fail(
        alice,
        "create_content",
        content("x", "municipal"),
        "place is required for municipal reach",
    )
    .await;
    let other: ContentView = net
        .call(alice, "create_content", content("other", "commons"))
        .await;
    let mut c = content("x", "commons");
    c.blobs = vec![other.id.clone()];
    net.must_fail(
        alice,
        "create_content",
        c,
        "blobs[0] must point at a BlobManifest",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn only_the_author_may_update_or_delete() {
    let (net, [alice, bob]) = setup::<2>().await;
    let talk: ContentView = net
        .call(alice, "create_content", content("talk", "commons"))
        .await;
    let m: ManifestView = net.call(alice, "register_blob_manifest", manifest(2, 1000)).await;
    net.sync().await;

    // Bob tries to rewrite and to delete Alice's content.
    let mut hijack = talk.content.clone();
    hijack.title = "bob's now".into();
    let input = UpdateContentInput {
        id: talk.id.clone(),
        previous_version: talk.version.clone(),
        content: hijack,
    };
    net.must_fail(
        bob,
        "update_content",
        input,
        "only the author may update this entry",
    )
    .await;
    net.must_fail(
        bob,
        "delete_content",
        talk.id.clone(),
        "only the author may delete this ContentNode",
    )
    .await;

    // Nor may he delete her manifest.
    net.must_fail(
        bob,
        "delete_content",
        m.id.clone(),
        "only the author may delete this BlobManifest",
    )
    .await;
    // Alice may delete her own.
    let _: ActionHash = net.call(alice, "delete_content", talk.id.clone()).await;
}

/// Alice publishes a commons video with one blob; returns (content, manifest).
async fn published_video(net: &Net, alice: Agent, reach: &str) -> (ContentView, ManifestView) {
    let register = match reach {
        "private" | "invited" => "register_private_manifest",
        _ => "register_blob_manifest",
    };
    let m: ManifestView = net.call(alice, register, manifest(3, 300_000)).await;
    let mut c = content("video", reach);
    c.blobs = vec![m.id.clone()];
    let view: ContentView = net.call(alice, "create_content", c).await;
    (view, m)
}

fn status(content: &ContentView, m: &ManifestView, commitment: &ActionHash) -> ReplicaStatus {
    ReplicaStatus {
        content: content.version.clone(),
        manifest: m.id.clone(),
        commitment: commitment.clone(),
        state: "stored".into(),
        chunks_held: m.manifest.chunks.len() as u32,
        last_verified: None,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn replica_claims_need_a_live_commitment_of_ones_own() {
    let (net, [alice, bob]) = setup::<2>().await;
    let (video, m) = published_video(&net, alice, "commons").await;
    let alices: CommitmentView = net
        .call(alice, "commit_as_custodian", commitment("http://127.0.0.1:9"))
        .await;
    net.sync().await;

    // Bob has no commitment and forges a claim citing Alice's.
    let forged = status(&video, &m, &alices.version);
    net.must_fail(
        bob,
        "record_replica",
        forged,
        "no live CustodianCommitment of this agent backs the claim",
    )
    .await;

    // Bob commits, claims, then withdraws; a claim after withdrawal is refused.
    let bobs: CommitmentView = net
        .call(bob, "commit_as_custodian", commitment("http://127.0.0.1:10"))
        .await;
    let ok: ReplicaView = net
        .call(bob, "record_replica", status(&video, &m, &bobs.version))
        .await;
    assert_eq!(ok.custodian, net.key(bob));
    let _: ActionHash = net.call(bob, "withdraw_commitment", bobs.id.clone()).await;
    net.must_fail(
        bob,
        "record_replica",
        status(&video, &m, &bobs.version),
        "commitment was withdrawn",
    )
    .await;

    // A commitment that has run out backs nothing.
    let mut short = commitment("http://127.0.0.1:11");
    short.expires_at = Timestamp::from_micros(Timestamp::now().as_micros() + 2_000_000);
    let short: CommitmentView = net.call(bob, "commit_as_custodian", short).await;
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    net.must_fail(
        bob,
        "record_replica",
        status(&video, &m, &short.version),
        "commitment has expired",
    )
    .await;

    // Counts must agree with the manifest.
    let alices_own = CommitmentView { ..alices };
    let mut wrong = status(&video, &m, &alices_own.version);
    wrong.chunks_held = 1;
    net.must_fail(
        alice,
        "record_replica",
        wrong,
        "state stored requires all 5 chunks",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn reach_decides_who_may_hold_a_replica() {
    let (net, [alice, bob]) = setup::<2>().await;
    let (diary, m) = published_video(&net, alice, "private").await;
    let bobs: CommitmentView = net
        .call(bob, "commit_as_custodian", commitment("http://127.0.0.1:12"))
        .await;
    net.sync().await;

    // Private content is held by its author only.
    net.must_fail(
        bob,
        "record_replica",
        status(&diary, &m, &bobs.version),
        "content reach private forbids this custodian",
    )
    .await;
    let alices: CommitmentView = net
        .call(alice, "commit_as_custodian", commitment("http://127.0.0.1:13"))
        .await;
    let _: ReplicaView = net
        .call(alice, "record_replica", status(&diary, &m, &alices.version))
        .await;
}

/// A rendition is added by an update: a custodian cites the version it read, which lists
/// it, and a refresh may move on to a later version, never to other content.
#[tokio::test(flavor = "multi_thread")]
async fn replicas_cite_the_content_version_that_lists_their_blob() {
    let (net, [alice, bob]) = setup::<2>().await;
    let (first, _) = published_video(&net, alice, "commons").await;
    let rendition: ManifestView = net
        .call(alice, "register_blob_manifest", manifest(4, 200_000))
        .await;
    let bobs: CommitmentView = net
        .call(bob, "commit_as_custodian", commitment("http://127.0.0.1:10"))
        .await;
    let mut fields = first.content.clone();
    fields.blobs.push(rendition.id.clone());
    let update = |from: &ContentView, content| UpdateContentInput {
        id: from.id.clone(),
        previous_version: from.version.clone(),
        content,
    };
    let second: ContentView = net.call(alice, "update_content", update(&first, fields)).await;
    net.sync().await;

    // The first version does not list the rendition.
    net.must_fail(
        bob,
        "record_replica",
        status(&first, &rendition, &bobs.version),
        "manifest is not one of the content's blobs",
    )
    .await;
    // The version that lists it is the one to cite.
    let held: ReplicaView = net
        .call(bob, "record_replica", status(&second, &rendition, &bobs.version))
        .await;

    // A refresh moves on to a later version of the same content …
    let mut retitled = second.content.clone();
    retitled.title = "video, cut".into();
    let third: ContentView = net.call(alice, "update_content", update(&second, retitled)).await;
    net.sync().await;
    let mut later = status(&third, &rendition, &bobs.version);
    later.state = "verified".into();
    later.last_verified = Some(Timestamp::now());
    let refreshed: ReplicaView = net
        .call(
            bob,
            "refresh_replica",
            RefreshReplicaInput {
                id: held.id.clone(),
                status: later.clone(),
            },
        )
        .await;
    assert_eq!(refreshed.status.content, third.version);
    // … but not to other content that happens to list the same blob.
    let mut other = content("other", "commons");
    other.blobs = vec![rendition.id.clone()];
    let other: ContentView = net.call(alice, "create_content", other).await;
    net.sync().await;
    net.must_fail(
        bob,
        "refresh_replica",
        RefreshReplicaInput {
            id: held.id.clone(),
            status: ReplicaStatus {
                content: other.version.clone(),
                ..later
            },
        },
        "cite a later version of it",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn links_must_join_the_right_types() {
    let (net, [alice]) = setup::<1>().await;
    let (video, m) = published_video(&net, alice, "commons").await;
    let c: CommitmentView = net
        .call(alice, "commit_as_custodian", commitment("http://127.0.0.1:14"))
        .await;
    let replica: ReplicaView = net
        .call(alice, "record_replica", status(&video, &m, &c.version))
        .await;

    // Target of the wrong type: a ContentNode where a ReplicaStatus belongs.
    let wrong_target = LinkReplicaInput {
        manifest: m.id.clone(),
        replica: video.id.clone(),
    };
    net.must_fail(
        alice,
        "link_replica",
        wrong_target,
        "target must be a ReplicaStatus",
    )
    .await;
    // Base of the wrong type: the content instead of the manifest the status reports on.
    let wrong_base = LinkReplicaInput {
        manifest: video.id.clone(),
        replica: replica.id.clone(),
    };
    net.must_fail(
        alice,
        "link_replica",
        wrong_base,
        "base must be the manifest the status reports on",
    )
    .await;
}

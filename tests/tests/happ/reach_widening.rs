//! A blob's reach cannot be widened by someone else. Mallory knows the hash and chunk list
//! of Alice's invited recording (Carol, invited, leaked them; the DHT does not hold
//! them) and the action hash of its manifest (actions are public). She can neither list
//! Alice's manifest in commons content of her own (validation rejects it) nor open the
//! bytes by registering a manifest of her own with the same hash and listing that: Alice's
//! node and Carol's, which keeps a replica for Alice, still refuse anonymous readers.

use crate::common::*;
use media_api::{ContentView, ManifestView};
use media_store::blobs::Keeper;
use sidecar::replicate::Source;

#[tokio::test(flavor = "multi_thread")]
async fn commons_content_cannot_list_anothers_private_manifest_nor_a_copy_of_it() {
    let (net, [alice, carol, mallory]) = setup::<3>().await;
    let alice_node = NodeSidecar::start(&net, alice).await;
    let carol_node = NodeSidecar::start(&net, carol).await;

    // Alice shares a recording with Carol; Carol's node keeps a replica of it for Alice.
    let call = b"the recording of alice's call with carol".repeat(4000);
    let invite = Some(net.key(carol).to_string());
    let hash = upload(&alice_node, &call, "call", "invited", invite).await;
    let manifests = until_shared(&net, carol, &hash).await;
    net.sync().await;
    let alices = manifests[0].clone();
    let t = token(&net, carol, &hash, net.key(alice).to_string(), 600).await;
    let from_alice = [Source::Peer {
        base: alice_node.url.clone(),
        token: Some(t),
    }];
    let for_alice = Keeper::ReplicaOf(alices.author.to_string());
    sidecar::replicate::pull(
        &carol_node.state,
        &alices.manifest,
        &sidecar::replicate::Sources::in_order(from_alice.to_vec()),
        &for_alice,
    )
    .await
    .unwrap();

    // Route one: Mallory lists Alice's manifest in commons content. Rejected.
    let mut theft = content("free recording", "commons");
    theft.blobs = vec![alices.id.clone()];
    net.must_fail(
        mallory,
        "create_content",
        theft,
        "is a manifest registered by another agent",
    )
    .await;
    // Not by an update of her own commons content either.
    let own: ContentView = net
        .call(mallory, "create_content", content("mine", "commons"))
        .await;
    let mut update = own.content.clone();
    update.blobs = vec![alices.id.clone()];
    net.must_fail(
        mallory,
        "update_content",
        media_api::UpdateContentInput {
            id: own.id.clone(),
            previous_version: own.version.clone(),
            content: update,
        },
        "is a manifest registered by another agent",
    )
    .await;

    // Route two: Mallory registers a manifest of her own with the same hash and chunk
    // list, and lists it in commons content. Validation cannot tell copied facts from her
    // own upload, so this is accepted; it must not open Alice's bytes.
    // (She claims a bitrate of her own: an entry identical to Alice's private one would
    // make sweettest's consistency check count Alice's unpublished op as public.)
    let mut copied = alices.manifest.clone();
    copied.0.bitrate_kbps = Some(128);
    let copy: ManifestView = net.call(mallory, "register_blob_manifest", copied).await;
    let mut decoy = content("free recording", "commons");
    decoy.blobs = vec![copy.id.clone()];
    let _: ContentView = net.call(mallory, "create_content", decoy).await;
    net.sync().await;
    let access: Vec<media_api::BlobAccess> = net.call(alice, "get_blob_access", hash.clone()).await;
    assert!(
        access.iter().any(|a| a.reach == "commons"),
        "the DHT does list Mallory's commons use of the hash"
    );

    for node in [&alice_node, &carol_node] {
        let (status, _) = get(&node.url, &hash, None).await;
        assert_eq!(status, 401, "an anonymous reader at {}", node.url);
        let t = token(&net, mallory, &hash, node.link.agent().to_string(), 600).await;
        let (status, _) = get(&node.url, &hash, Some(&t)).await;
        assert_eq!(status, 403, "Mallory herself at {}", node.url);
    }
    // What a node holds, and the job that made a blob's renditions, follow the blob's rule.
    let client = reqwest::Client::new();
    let ladder = client
        .get(format!("{}/api/ladder/{hash}", alice_node.url))
        .send()
        .await
        .unwrap();
    assert_eq!(
        ladder.status(),
        401,
        "an anonymous reader learns nothing of the job"
    );
    let chunk = alices.manifest.chunks[0].clone();
    for body in [
        serde_json::json!({ "hashes": [chunk] }),
        serde_json::json!({ "hashes": [chunk], "blob": hash }),
    ] {
        let have = client
            .post(format!("{}/api/chunks/have", carol_node.url))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(have.status(), 401, "{body}");
    }

    // Carol, whom Alice invited, still reads it from both.
    for node in [&alice_node, &carol_node] {
        let t = token(&net, carol, &hash, node.link.agent().to_string(), 600).await;
        let (status, body) = get(&node.url, &hash, Some(&t)).await;
        assert_eq!((status, body == call), (200, true), "Carol at {}", node.url);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_blob_used_by_commons_and_private_content_of_one_author_is_not_open() {
    let (net, [alice]) = setup::<1>().await;
    let node = NodeSidecar::start(&net, alice).await;
    let talk = b"a talk that alice also keeps in a private collection".repeat(4000);
    let hash = upload(&node, &talk, "talk", "commons", None).await;
    let (status, _) = get(&node.url, &hash, None).await;
    assert_eq!(status, 200, "commons content is open");

    // Alice lists the same manifest in private content too: the narrowest use wins.
    let manifests: Vec<ManifestView> = net.call(alice, "find_blob_manifests", hash.clone()).await;
    let mut private = content("my collection", "private");
    private.blobs = vec![manifests[0].id.clone()];
    let _: ContentView = net.call(alice, "create_content", private).await;
    node.state.forget_access(&hash.parse().unwrap()).await;
    let (status, _) = get(&node.url, &hash, None).await;
    assert_eq!(status, 401, "no longer open to anonymous readers");
    let t = token(&net, alice, &hash, net.key(alice).to_string(), 600).await;
    let (status, body) = get(&node.url, &hash, Some(&t)).await;
    assert_eq!((status, body == talk), (200, true), "Alice still reads it");
}

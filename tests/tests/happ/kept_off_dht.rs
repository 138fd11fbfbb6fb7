//! Private stays private in the DHT too. Private content and its manifests live on the
//! author's chain only; invited content is handed to each invitee by a remote call. A
//! stranger who knows every public fact (the content's and the manifest's action hashes,
//! which the author's chain activity shows) finds neither the title nor the blob hash by
//! any zome call, while the invitee finds both, and loses them when dropped. An invitee
//! whose node is away gets the copies when it is back.

use crate::common::*;
use media_api::{ContentView, ManifestView, UpdateContentInput};
use media_integrity::{Share, SharedManifest};

#[tokio::test(flavor = "multi_thread")]
async fn a_stranger_finds_neither_title_nor_blob_hash_of_private_or_invited_content() {
    let (net, [alice, bob, carol]) = setup::<3>().await;
    let mut published = Vec::new();
    for (seed, title, reach) in [(7, "alice's diary", "private"), (8, "call with bob", "invited")] {
        let m: ManifestView = net
            .call(alice, "register_private_manifest", manifest(seed, 200_000))
            .await;
        let mut c = content(title, reach);
        c.blobs = vec![m.id.clone()];
        if reach == "invited" {
            c.invitees = vec![net.key(bob)];
        }
        let view: ContentView = net.call(alice, "create_content", c).await;
        published.push((view, m));
    }
    assert_eq!(
        deliver_shares(&net, alice).await,
        1,
        "Bob takes his copy of the call"
    );
    // Delivered copies are not handed over twice.
    assert_eq!(deliver_shares(&net, alice).await, 0);
    net.sync().await;

    // Everything Carol's zome calls answer, with every hash she could know.
    let everything = |who: Agent| {
        let net = &net;
        let published = &published;
        async move {
            let mut seen = Vec::new();
            let listed: Vec<ContentView> = net.call(who, "list_visible_content", ()).await;
            seen.push(format!("{listed:?}"));
            for (view, m) in published {
                let got: Option<ContentView> = net.call(who, "get_latest_content", view.id.clone()).await;
                seen.push(format!("{got:?}"));
                let got: Option<ManifestView> = net.call(who, "get_blob_manifest", m.id.clone()).await;
                seen.push(format!("{got:?}"));
                let got: Vec<media_api::ReplicaView> = net.call(who, "list_replicas", m.id.clone()).await;
                seen.push(format!("{got:?}"));
                let got: Vec<ManifestView> = net
                    .call(who, "find_blob_manifests", m.manifest.hash.clone())
                    .await;
                seen.push(format!("{got:?}"));
                let got: Vec<media_api::BlobAccess> =
                    net.call(who, "get_blob_access", m.manifest.hash.clone()).await;
                seen.push(format!("{got:?}"));
            }
            seen.join("\n")
        }
    };
    let carol_sees = everything(carol).await;
    for (view, m) in &published {
        assert!(!carol_sees.contains(&view.content.title), "{carol_sees}");
        assert!(!carol_sees.contains(&m.manifest.hash), "{carol_sees}");
    }

    // Bob, invited, finds the call, its manifest and who may read it; not the diary.
    let (call, call_manifest) = &published[1];
    let (diary, diary_manifest) = &published[0];
    let bob_sees = everything(bob).await;
    assert!(bob_sees.contains("call with bob"), "{bob_sees}");
    assert!(!bob_sees.contains(&diary.content.title), "{bob_sees}");
    assert!(!bob_sees.contains(&diary_manifest.manifest.hash), "{bob_sees}");
    let found: Vec<ManifestView> = net
        .call(bob, "find_blob_manifests", call_manifest.manifest.hash.clone())
        .await;
    assert_eq!(found.len(), 1);
    assert_eq!(
        (&found[0].id, &found[0].author),
        (&call_manifest.id, &net.key(alice))
    );
    let access: Vec<media_api::BlobAccess> = net
        .call(bob, "get_blob_access", call_manifest.manifest.hash.clone())
        .await;
    assert_eq!(access.len(), 1);
    assert_eq!(
        (access[0].reach.as_str(), &access[0].author),
        ("invited", &net.key(alice))
    );

    // Alice finds both through her own chain.
    let alice_sees = everything(alice).await;
    assert!(alice_sees.contains("alice's diary") && alice_sees.contains("call with bob"));

    // Alice retitles the call and drops Bob: his copy follows, and he no longer sees it.
    let mut dropped = call.content.clone();
    dropped.title = "call, moved".into();
    dropped.invitees = vec![net.key(carol)];
    let input = UpdateContentInput {
        id: call.id.clone(),
        previous_version: call.version.clone(),
        content: dropped,
    };
    let _: ContentView = net.call(alice, "update_content", input).await;
    net.sync().await;
    assert_eq!(
        deliver_shares(&net, alice).await,
        2,
        "Bob learns he is dropped; Carol takes hers"
    );
    let got: Option<ContentView> = net.call(bob, "get_latest_content", call.id.clone()).await;
    assert_eq!(got, None);
    let bob_sees = everything(bob).await;
    assert!(!bob_sees.contains("call, moved"), "{bob_sees}");
    let got: Option<ContentView> = net.call(carol, "get_latest_content", call.id.clone()).await;
    let moved = got.expect("Carol sees the call");
    assert_eq!(moved.content.title, "call, moved");
    // Bob is told once: a later version goes to Carol alone.
    let mut again = moved.content.clone();
    again.title = "call, moved again".into();
    let input = UpdateContentInput {
        id: call.id.clone(),
        previous_version: moved.version.clone(),
        content: again,
    };
    let _: ContentView = net.call(alice, "update_content", input).await;
    assert_eq!(deliver_shares(&net, alice).await, 1);

    // Kept content cannot widen its reach by an update.
    let alices_chain_only: ContentView = net
        .call(alice, "create_content", content("another diary", "private"))
        .await;
    let mut widened = alices_chain_only.content.clone();
    widened.reach = "commons".into();
    net.must_fail(
        alice,
        "update_content",
        UpdateContentInput {
            id: alices_chain_only.id.clone(),
            previous_version: alices_chain_only.version.clone(),
            content: widened,
        },
        "reach cannot change after creation",
    )
    .await;

    // Its author deletes it; validators accept the delete from the action alone.
    let _: holochain::prelude::ActionHash = net
        .call(alice, "delete_content", alices_chain_only.id.clone())
        .await;
    net.sync().await;
    assert!(!net
        .visible_titles(alice)
        .await
        .contains(&"another diary".to_string()));
}

/// A copy is taken only from the content's author, and only as the author wrote it: the
/// version, its time, its entry and its manifests are checked against public actions.
#[tokio::test(flavor = "multi_thread")]
async fn a_forged_copy_of_invited_content_is_refused() {
    let (net, [alice, bob, mallory]) = setup::<3>().await;
    let m: ManifestView = net
        .call(alice, "register_private_manifest", manifest(9, 200_000))
        .await;
    let mut c = content("call with bob", "invited");
    c.blobs = vec![m.id.clone()];
    // Alice lists herself too, so that her own `receive_share` goes through every check
    // (a copy must invite its receiver); she is never handed a copy of her own.
    c.invitees = vec![net.key(bob), net.key(alice)];
    let call: ContentView = net.call(alice, "create_content", c).await;
    net.sync().await;
    let genuine = Share {
        author: net.key(alice),
        id: call.id.clone(),
        version: call.version.clone(),
        updated_at: call.updated_at,
        content: Some(call.content.clone()),
        manifests: vec![SharedManifest {
            id: m.id.clone(),
            manifest: m.manifest.clone(),
        }],
        nonce: vec![],
    };

    // (A remote call runs `receive_share` with its caller as provenance, as these do.)
    // Mallory cannot hand over Alice's content as Alice …
    net.must_fail(
        mallory,
        "receive_share",
        genuine.clone(),
        "must come from the content's author",
    )
    .await;
    // … nor as her own, inviting herself: the version is Alice's.
    let mut as_hers = Share {
        author: net.key(mallory),
        ..genuine.clone()
    };
    as_hers.content.as_mut().unwrap().invitees.push(net.key(mallory));
    net.must_fail(
        mallory,
        "receive_share",
        as_hers,
        "version must be the sender's invited content",
    )
    .await;
    // Alice's own copy, changed, is refused too: its title, its time or a manifest.
    let mut retitled = genuine.clone();
    retitled.content.as_mut().unwrap().title = "something else".into();
    net.must_fail(
        alice,
        "receive_share",
        retitled,
        "content is not the version's entry",
    )
    .await;
    let later = Share {
        updated_at: holochain::prelude::Timestamp::from_micros(call.updated_at.as_micros() + 1),
        ..genuine.clone()
    };
    net.must_fail(alice, "receive_share", later, "written at updated_at")
        .await;
    let mut other_manifest = genuine.clone();
    other_manifest.manifests[0].manifest = manifest(10, 200_000);
    net.must_fail(
        alice,
        "receive_share",
        other_manifest,
        "the sender's private manifest, as registered",
    )
    .await;
    // The genuine copy is what Bob takes.
    assert_eq!(deliver_shares(&net, alice).await, 1);
    let got: Option<ContentView> = net.call(bob, "get_latest_content", call.id.clone()).await;
    assert_eq!(got.map(|v| v.content.title), Some("call with bob".to_string()));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invitee_whose_node_is_away_gets_each_copy_once_it_is_back() {
    let (mut net, [alice, bob]) = setup::<2>().await;
    // Bob's conductor goes away; Alice shares two recordings with him meanwhile.
    net.conductors[bob.0].shutdown().await;
    let mut calls = Vec::new();
    for (seed, title) in [(21, "monday's call"), (22, "tuesday's call")] {
        let m: ManifestView = net
            .call(alice, "register_private_manifest", manifest(seed, 100_000))
            .await;
        let mut c = content(title, "invited");
        c.blobs = vec![m.id.clone()];
        c.invitees = vec![net.key(bob)];
        let view: ContentView = net.call(alice, "create_content", c).await;
        calls.push(view);
    }
    // Handing them over answers, and keeps both copies for later.
    let away: media_api::ShareDelivery = net.call(alice, "deliver_shares", ()).await;
    assert_eq!((away.delivered, away.pending), (0, 2), "{away:?}");

    // Bob is back: he takes both, once. (His node has a new address; Alice's conductor
    // may try the old one first.)
    net.conductors[bob.0].startup().await;
    net.conductors.exchange_peer_info().await;
    let started = std::time::Instant::now();
    let mut taken = 0;
    while taken < 2 {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(180),
            "Bob's node took {taken} of 2 copies"
        );
        let report: media_api::ShareDelivery = net.call(alice, "deliver_shares", ()).await;
        taken += report.delivered;
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
    assert_eq!(taken, 2);
    assert_eq!(
        deliver_shares(&net, alice).await,
        0,
        "nothing is handed over twice"
    );
    for call in &calls {
        let got: Option<ContentView> = net.call(bob, "get_latest_content", call.id.clone()).await;
        assert_eq!(got.map(|v| v.content.title), Some(call.content.title.clone()));
    }
}

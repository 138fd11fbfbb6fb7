//! Private stays private in the DHT too. Private content and its manifests live on the
//! author's chain only; invited content is handed to each invitee by a remote call. A
//! stranger who knows every public fact (the content's and the manifest's action hashes,
//! which the author's chain activity shows) finds neither the title nor the blob hash by
//! any zome call, while the invitee finds both, and loses them when dropped.

use crate::common::*;
use media_api::{ContentView, ManifestView, UpdateContentInput};

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
    let got: Option<ContentView> = net.call(carol, "get_latest_content", call.id.clone()).await;
    assert_eq!(got.map(|v| v.content.title), Some("call, moved".to_string()));

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
}

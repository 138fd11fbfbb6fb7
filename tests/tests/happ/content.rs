//! Content reaches every agent after consistency, and each agent sees what its reach allows.

use crate::common::*;
use media_api::{ContentView, SetLifecycleInput, UpdateContentInput};

#[tokio::test(flavor = "multi_thread")]
async fn each_agent_sees_what_reach_allows() {
    let (net, [alice, bob, carol]) = setup::<3>().await;

    // Alice and Bob live in the same neighborhood (Alice founded it and vouches for Bob);
    // Carol lives across town.
    let _: holochain::prelude::ActionHash = net
        .call(alice, "set_my_place", place("victoria", "fernwood", "alice-home"))
        .await;
    let _: Vec<media_api::VouchView> = net
        .call(alice, "found_place", place("victoria", "fernwood", "alice-home"))
        .await;
    let _: holochain::prelude::ActionHash = net
        .call(bob, "set_my_place", place("victoria", "fernwood", "bob-home"))
        .await;
    let _: media_api::VouchView = net
        .call(
            alice,
            "vouch_for_place",
            media_api::VouchInput {
                member: net.key(bob),
                place: place("victoria", "fernwood", "bob-home"),
                level: "neighborhood".into(),
            },
        )
        .await;
    let _: holochain::prelude::ActionHash = net
        .call(
            carol,
            "set_my_place",
            place("victoria", "james-bay", "carol-home"),
        )
        .await;

    // Alice publishes five pieces of content with different reach.
    let private = content("diary", "private");
    let mut invited = content("call with bob", "invited");
    invited.invitees = vec![net.key(bob)];
    let commons = content("open lecture", "commons");
    let mut local = content("family album", "local");
    local.place = Some(place("victoria", "fernwood", "alice-home"));
    let mut neighborhood = content("street party", "neighborhood");
    neighborhood.place = Some(place("victoria", "fernwood", "alice-home"));
    for node in [private, invited, commons, local, neighborhood] {
        let _: ContentView = net.call(alice, "create_content", node).await;
    }
    assert_eq!(deliver_shares(&net, alice).await, 1, "Bob takes his copy");
    net.sync().await;

    // Alice sees all of her own; Bob the invited, commons and neighborhood content; Carol only commons.
    assert_eq!(
        net.visible_titles(alice).await,
        [
            "call with bob",
            "diary",
            "family album",
            "open lecture",
            "street party"
        ]
    );
    assert_eq!(
        net.visible_titles(bob).await,
        ["call with bob", "open lecture", "street party"]
    );
    assert_eq!(net.visible_titles(carol).await, ["open lecture"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn private_and_invited_content_stay_hidden_from_direct_gets() {
    let (net, [alice, bob, carol]) = setup::<3>().await;
    let diary: ContentView = net
        .call(alice, "create_content", content("diary", "private"))
        .await;
    let mut invited = content("call with bob", "invited");
    invited.invitees = vec![net.key(bob)];
    let call: ContentView = net.call(alice, "create_content", invited).await;
    deliver_shares(&net, alice).await;
    net.sync().await;

    // Even knowing the hashes, Bob cannot read the diary and Carol cannot read the call.
    let seen: Option<ContentView> = net.call(bob, "get_latest_content", diary.id.clone()).await;
    assert_eq!(seen, None);
    let seen: Option<ContentView> = net.call(carol, "get_latest_content", call.id.clone()).await;
    assert_eq!(seen, None);
    let seen: Option<ContentView> = net.call(bob, "get_latest_content", call.id.clone()).await;
    assert_eq!(seen.map(|v| v.content.title), Some("call with bob".to_string()));
}

#[tokio::test(flavor = "multi_thread")]
async fn lifecycle_moves_follow_the_state_machine() {
    let (net, [alice, bob]) = setup::<2>().await;
    let mut draft = content("lecture", "commons");
    draft.lifecycle = "draft".into();
    let created: ContentView = net.call(alice, "create_content", draft).await;
    net.sync().await;

    // A draft is Alice's alone.
    assert!(net.visible_titles(bob).await.is_empty());

    // Draft → published → stale → published → deprecated → archived → forgotten are all allowed.
    for state in ["published", "stale", "published", "deprecated", "archived"] {
        let view: ContentView = net
            .call(
                alice,
                "set_lifecycle",
                SetLifecycleInput {
                    id: created.id.clone(),
                    lifecycle: state.into(),
                },
            )
            .await;
        assert_eq!(view.content.lifecycle, state);
        assert_eq!(view.id, created.id);
    }
    // Archived content cannot come back to life.
    let back = SetLifecycleInput {
        id: created.id.clone(),
        lifecycle: "published".into(),
    };
    net.must_fail(
        alice,
        "set_lifecycle",
        back,
        "lifecycle cannot move from archived to published",
    )
    .await;
    let end = SetLifecycleInput {
        id: created.id.clone(),
        lifecycle: "forgotten".into(),
    };
    let view: ContentView = net.call(alice, "set_lifecycle", end).await;
    assert_eq!(view.content.lifecycle, "forgotten");
    // Nothing leaves forgotten.
    let again = SetLifecycleInput {
        id: created.id.clone(),
        lifecycle: "archived".into(),
    };
    net.must_fail(
        alice,
        "set_lifecycle",
        again,
        "from forgotten it may move to: nothing",
    )
    .await;

    // New content starts as draft or published, never further along.
    let mut stale = content("born stale", "commons");
    stale.lifecycle = "stale".into();
    net.must_fail(
        alice,
        "create_content",
        stale,
        "lifecycle of new content must be draft or published",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn updates_keep_identity_and_reach() {
    let (net, [alice, bob]) = setup::<2>().await;
    let created: ContentView = net
        .call(alice, "create_content", content("talk", "commons"))
        .await;
    let mut edited = created.content.clone();
    edited.title = "talk (edited)".into();
    // After everything the create wrote (its index links among them), before the edit.
    let before_edit = holochain::prelude::Timestamp::now();
    let updated: ContentView = net
        .call(
            alice,
            "update_content",
            UpdateContentInput {
                id: created.id.clone(),
                previous_version: created.version.clone(),
                content: edited,
            },
        )
        .await;
    assert_eq!(updated.id, created.id);
    assert_ne!(updated.version, created.version);
    net.sync().await;
    let seen: Option<ContentView> = net.call(bob, "get_latest_content", created.id.clone()).await;
    assert_eq!(seen.unwrap().content.title, "talk (edited)");
    // A reader topping up what it knows (a custodian's catalog) sees the edit too, not only
    // new content: each version is indexed again.
    let fresh: Vec<ContentView> = net.call(bob, "list_visible_content_since", before_edit).await;
    assert_eq!(
        fresh
            .iter()
            .map(|v| (&v.id, v.content.title.as_str()))
            .collect::<Vec<_>>(),
        [(&created.id, "talk (edited)")],
        "one item, the newest version"
    );
    let everything: Vec<ContentView> = net.call(bob, "list_visible_content", ()).await;
    assert_eq!(everything.len(), 1, "listed once though indexed twice");

    // Reach is fixed at creation: custodians were chosen by it.
    let mut narrowed = updated.content.clone();
    narrowed.reach = "private".into();
    let input = UpdateContentInput {
        id: created.id.clone(),
        previous_version: updated.version.clone(),
        content: narrowed,
    };
    net.must_fail(
        alice,
        "update_content",
        input,
        "reach cannot change after creation",
    )
    .await;
}

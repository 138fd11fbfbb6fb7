//! Place membership is earned, not claimed: declaring a place admits to nothing; the first
//! agent in a place founds it, members vouch others in, and a voucher's revocation takes
//! the membership away again. Real conductors, the zome's own reach checks.

use crate::common::*;
use media_api::{ContentView, VouchInput, VouchView};

#[tokio::test(flavor = "multi_thread")]
async fn a_household_admits_only_whom_its_members_vouch_for() {
    let (net, [alice, bob, mallory]) = setup::<3>().await;
    let home = place("victoria", "fernwood", "alice-home");

    // Alice founds her household and publishes a family album to it.
    let _: holochain::prelude::ActionHash = net.call(alice, "set_my_place", home.clone()).await;
    let founded: Vec<VouchView> = net.call(alice, "found_place", home.clone()).await;
    assert_eq!(founded.len(), 5, "one founding per level, region to household");
    let mut album = content("family album", "local");
    album.place = Some(home.clone());
    let album: ContentView = net.call(alice, "create_content", album).await;

    // Bob and Mallory both say they live there.
    for who in [bob, mallory] {
        let _: holochain::prelude::ActionHash = net.call(who, "set_my_place", home.clone()).await;
    }
    // Mallory founds the same household herself, later, and vouches for herself: nothing.
    let _: Vec<VouchView> = net.call(mallory, "found_place", home.clone()).await;
    // Alice invites Bob into the household.
    let bobs: VouchView = net
        .call(
            alice,
            "vouch_for_place",
            VouchInput {
                member: net.key(bob),
                place: home.clone(),
                level: "household".into(),
            },
        )
        .await;
    net.sync().await;

    // Bob, vouched for, reads the album; Mallory, who only claimed the place, does not.
    let got: Option<ContentView> = net.call(bob, "get_latest_content", album.id.clone()).await;
    assert_eq!(got.map(|v| v.content.title), Some("family album".to_string()));
    let got: Option<ContentView> = net.call(mallory, "get_latest_content", album.id.clone()).await;
    assert_eq!(got, None, "a claimed place admits nobody");
    assert!(!net
        .visible_titles(mallory)
        .await
        .contains(&"family album".to_string()));
    // What nodes see of their places: Bob's is proven to his household; Mallory's to nothing.
    let bob_place: Option<media_integrity::media_rules::Place> =
        net.call(alice, "get_agent_place", net.key(bob)).await;
    assert_eq!(bob_place, Some(home.clone()));
    let mallory_place: Option<media_integrity::media_rules::Place> =
        net.call(alice, "get_agent_place", net.key(mallory)).await;
    assert_eq!(mallory_place, None);

    // Only its author revokes a vouch; once Alice does, Bob is out again.
    net.must_fail(mallory, "revoke_place_vouch", bobs.id.clone(), "only the author")
        .await;
    let _: holochain::prelude::ActionHash = net.call(alice, "revoke_place_vouch", bobs.id.clone()).await;
    net.sync().await;
    let got: Option<ContentView> = net.call(bob, "get_latest_content", album.id.clone()).await;
    assert_eq!(got, None, "a revoked member reads no more");
}

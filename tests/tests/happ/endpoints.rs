//! Each agent publishes where its sidecar is reached; only that agent can, and only an
//! http(s) URL.

use crate::common::*;
use holochain::prelude::*;

#[tokio::test(flavor = "multi_thread")]
async fn an_agent_publishes_its_own_endpoint_and_no_one_elses() {
    let (net, [alice, bob]) = setup::<2>().await;
    let none: Option<String> = net.call(bob, "get_agent_endpoint", net.key(alice)).await;
    assert_eq!(none, None);
    let _: ActionHash = net
        .call(alice, "set_my_endpoint", "http://203.0.113.7:8788".to_string())
        .await;
    let _: ActionHash = net
        .call(alice, "set_my_endpoint", "https://alice.example:8788".to_string())
        .await;
    net.sync().await;
    let seen: Option<String> = net.call(bob, "get_agent_endpoint", net.key(alice)).await;
    assert_eq!(
        seen.as_deref(),
        Some("https://alice.example:8788"),
        "the newest version"
    );

    for bad in [
        "ftp://alice.example",
        "http://",
        "javascript:alert(1)",
        "http://a b",
    ] {
        net.must_fail(alice, "set_my_endpoint", bad.to_string(), "NodeEndpoint: url")
            .await;
    }
    // Bob's own endpoint does not become Alice's.
    let _: ActionHash = net
        .call(bob, "set_my_endpoint", "http://198.51.100.2:8788".to_string())
        .await;
    net.sync().await;
    let seen: Option<String> = net.call(bob, "get_agent_endpoint", net.key(alice)).await;
    assert_eq!(seen.as_deref(), Some("https://alice.example:8788"));
}

//! A custodian that commits and then never reports loses its slots within the replica TTL:
//! once its commitment goes unrenewed that long, the others pass it over in placement and
//! keep its blobs themselves (`media_rules::replica::is_silent`).

use crate::common::*;
use holochain::prelude::*;
use media_integrity::media_rules::placement::{rank, Blob, Custodian};
use media_integrity::media_rules::reach::Audience;
use media_integrity::media_rules::role::MediaRole;
use media_integrity::media_rules::{BandwidthClass, Reach};
use sidecar::custodian::{spawn, CustodianConfig};
use std::time::Duration;

/// Replica TTL of the running custodians: a commitment unrenewed this long is silent.
const TTL: Duration = Duration::from_secs(6);

#[tokio::test(flavor = "multi_thread")]
async fn a_custodian_that_never_reports_loses_its_slots_within_the_replica_ttl() {
    let (net, [alice, bob, carol, erin]) = setup::<4>().await;
    // Carol claims the most room placement weighs and never runs a worker.
    let mut claim = commitment("http://192.0.2.1:8788");
    claim.media_role = MediaRole::Storage {
        max_storage_gb: 1_000,
        chunk_redundancy: 1,
    };
    let _: media_api::CommitmentView = net.call(carol, "commit_as_custodian", claim.clone()).await;
    let author = NodeSidecar::start(&net, alice).await;
    let _: ActionHash = net.call(alice, "set_my_endpoint", author.url.clone()).await;
    let mut nodes = Vec::new();
    let mut workers = Vec::new();
    for who in [bob, erin] {
        let node = NodeSidecar::start(&net, who).await;
        let mut config = CustodianConfig::from_flags("storage:1", "high", None, node.url.clone()).unwrap();
        config.interval = Duration::from_secs(1);
        config.replica_ttl = TTL;
        workers.push(spawn(node.state.clone(), config).await.unwrap());
        nodes.push(node);
    }

    // Invited content wants two replicas; Bob, Carol and Erin are invited, so each may keep it.
    let invitees = [bob, carol, erin].map(|who| net.key(who).to_string()).join(",");
    let data: Vec<u8> = (0..400_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
        .collect();
    let headers = [
        ("x-upload-title", "minutes"),
        ("x-upload-reach", "invited"),
        ("x-upload-invite", invitees.as_str()),
    ];
    let receipt = post_blob(&author, data, "application/octet-stream", &headers).await;
    let manifest = ActionHashB64::from_b64_str(receipt["published"]["manifest"].as_str().unwrap()).unwrap();
    let manifest: ActionHash = manifest.into();

    // Were Carol counted, she would hold one of the two places: she is in the top two.
    let hash =
        media_integrity::media_rules::hash::parse_sha256_hex(receipt["hash"].as_str().unwrap()).unwrap();
    let roles = [
        MediaRole::Storage {
            max_storage_gb: 1,
            chunk_redundancy: 1,
        },
        claim.media_role.clone(),
    ];
    let keys: Vec<(AgentPubKey, Vec<u8>, &MediaRole)> =
        [(bob, &roles[0]), (carol, &roles[1]), (erin, &roles[0])]
            .into_iter()
            .map(|(who, role)| (net.key(who), net.key(who).get_raw_39().to_vec(), role))
            .collect();
    let custodians: Vec<Custodian<'_, AgentPubKey>> = keys
        .iter()
        .map(|(agent, id, role)| Custodian {
            agent,
            id,
            role,
            bandwidth: BandwidthClass::High,
            place: None,
            used_bytes: 0,
        })
        .collect();
    let invited: Vec<AgentPubKey> = [bob, carol, erin].map(|who| net.key(who)).to_vec();
    let alice_key = net.key(alice);
    let blob = Blob {
        hash: &hash,
        size: 400_000,
        reach: Reach::Invited,
        audience: Audience {
            author: &alice_key,
            invitees: &invited,
            place: None,
        },
    };
    let top_two: Vec<&AgentPubKey> = rank(&blob, &custodians)
        .into_iter()
        .take(2)
        .map(|c| c.agent)
        .collect();
    assert!(top_two.contains(&&net.key(carol)), "Carol ranks in the top two");

    // Within the TTL and a few rounds, Bob and Erin both keep it: Carol is passed over.
    let deadline = std::time::Instant::now() + TTL * 15;
    loop {
        // (No `net.sync()`: the running workers keep writing, so consistency is never
        // reached; gossip brings their statuses to Alice's conductor.)
        let replicas: Vec<media_api::ReplicaView> = net.call(alice, "list_replicas", manifest.clone()).await;
        let verified = |who: Agent| {
            replicas
                .iter()
                .any(|r| r.custodian == net.key(who) && r.status.state == "verified")
        };
        if verified(bob) && verified(erin) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "Bob and Erin did not both take the blob over: {replicas:?}"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    for worker in workers {
        worker.abort();
    }
}

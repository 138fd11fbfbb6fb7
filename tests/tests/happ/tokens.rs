//! Access tokens are signed by the calling agent's own key over the shared token format.

use crate::common::*;
use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use media_api::{IssueTokenInput, IssuedToken};
use media_integrity::media_rules::token::{AccessToken, Subject};

#[tokio::test(flavor = "multi_thread")]
async fn a_token_is_signed_by_the_caller_for_one_blob_and_audience() {
    let (net, [alice]) = setup::<1>().await;
    let blob = "ab".repeat(32);
    let input = IssueTokenInput {
        blob: blob.clone(),
        audience: net.key(alice).to_string(),
        ttl_seconds: 600,
    };
    let issued: IssuedToken = net.call(alice, "issue_access_token", input).await;
    assert_eq!(issued.agent, net.key(alice));

    let token = AccessToken::parse(&issued.token).expect("token parses");
    assert_eq!(token.claims.subject, Subject::Blob(blob.clone()));
    assert_eq!(token.claims.agent, net.key(alice).get_raw_39().to_vec());
    assert_eq!(token.claims.expires_at_micros, issued.expires_at.as_micros());
    let key = VerifyingKey::from_bytes(&token.claims.ed25519_key().unwrap()).unwrap();
    let sig = Signature::from_bytes(&token.signature);
    assert!(
        key.verify(&token.claims.signing_bytes(), &sig).is_ok(),
        "Alice's key verifies the signature"
    );

    // Changing any claim breaks the signature.
    let mut forged = token.claims.clone();
    forged.audience = "uhCAkq4vZzp0bk2l5xQa3V2zF9wJ0m6eK1YyRjTtUuGgHhIiLlMmN".into();
    assert!(key.verify(&forged.signing_bytes(), &sig).is_err());

    // Tokens live at most a day and name a well-formed blob.
    let long = IssueTokenInput {
        blob: blob.clone(),
        audience: net.key(alice).to_string(),
        ttl_seconds: 86_401,
    };
    net.must_fail(
        alice,
        "issue_access_token",
        long,
        "ttl_seconds must be 1 to 86400",
    )
    .await;
    let bad = IssueTokenInput {
        blob: "zz".into(),
        audience: "x".into(),
        ttl_seconds: 60,
    };
    net.must_fail(alice, "issue_access_token", bad, "blob must be a SHA-256")
        .await;
    // A URL names no one node: several can share it, so it is no audience.
    let by_url = IssueTokenInput {
        blob,
        audience: "http://127.0.0.1:8788".into(),
        ttl_seconds: 60,
    };
    net.must_fail(
        alice,
        "issue_access_token",
        by_url,
        "audience must be the serving node's agent key",
    )
    .await;
}

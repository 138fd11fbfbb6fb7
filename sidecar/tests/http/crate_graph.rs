//! The crate graph shows the architecture: only the node crate (`media_node`) links
//! Holochain's conductor, client, networking and keystore. The sidecar library, and the
//! `elohim-media` command built without its `node` feature (a standalone sidecar), build
//! without them; they know the DHT's data types only (`hdi`, `holo_hash`). The store crate
//! (`media_store`) knows neither those nor HTTP.

use std::process::Command;

/// Crates of a Holochain node that a standalone sidecar must not link.
const NODE_ONLY: [&str; 10] = [
    "holochain",
    "holochain_types",
    "holochain_client",
    "holochain_conductor_api",
    "holochain_p2p",
    "holochain_keystore",
    "kitsune2",
    "lair_keystore_api",
    "wasmer",
    "hdk",
];

/// The packages `cargo tree` lists for `args` (normal dependencies, no dev ones).
fn packages(args: &[&str]) -> Vec<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "tree",
            "--offline",
            "--locked",
            "-e",
            "normal",
            "--prefix",
            "none",
        ])
        .args(args)
        .current_dir(sidecar::testkit::repo_root())
        .output()
        .expect("cargo tree runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut names: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(String::from))
        .collect();
    names.sort();
    names.dedup();
    names
}

fn node_only(names: &[String]) -> Vec<&String> {
    names.iter().filter(|n| NODE_ONLY.contains(&n.as_str())).collect()
}

#[test]
fn only_the_node_crate_links_a_holochain_conductor() {
    let standalone = packages(&["-p", "sidecar"]);
    assert!(
        standalone.iter().any(|n| n == "warp"),
        "the tree was read: {standalone:?}"
    );
    assert_eq!(
        node_only(&standalone),
        Vec::<&String>::new(),
        "the sidecar library"
    );
    let command = packages(&["-p", "elohim-media", "--no-default-features"]);
    assert_eq!(
        node_only(&command),
        Vec::<&String>::new(),
        "elohim-media without `node`"
    );
    let node = packages(&["-p", "elohim-media"]);
    assert!(
        node_only(&node).len() >= 8,
        "the node links the conductor: {:?}",
        node_only(&node)
    );
    // The store knows neither HTTP nor Holochain: neither a web server nor the DHT's types.
    let store = packages(&["-p", "media_store"]);
    assert!(store.iter().any(|n| n == "moka"), "the tree was read: {store:?}");
    let web_or_dht = ["warp", "hyper", "reqwest", "hdi", "holo_hash", "media_api"];
    let found: Vec<&String> = store
        .iter()
        .filter(|n| web_or_dht.contains(&n.as_str()))
        .collect();
    assert_eq!(found, Vec::<&String>::new(), "the store crate");
    // Among the workspace's crates, only the node crate depends on the conductor.
    let dependents = packages(&["--workspace", "-i", "holochain", "--depth", "1"]);
    assert_eq!(dependents, ["holochain", "media_node"]);
}

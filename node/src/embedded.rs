//! A conductor embedded in this process: persistent data directory, lair keystore
//! in-process, one admin websocket on loopback for the conductor link, and the network
//! the node's settings name (a bootstrap server and relay, or none when offline).

use holochain::conductor::{Conductor, ConductorHandle};
use holochain_conductor_api::config::conductor::paths::DataRootPath;
use holochain_conductor_api::config::conductor::{ConductorConfig, KeystoreConfig};
use holochain_conductor_api::config::{AdminInterfaceConfig, InterfaceDriver};
use sidecar::config::NetworkSettings;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// A running embedded conductor.
pub struct Embedded {
    /// The conductor.
    pub handle: ConductorHandle,
    /// The loopback port of its admin websocket.
    pub admin_port: u16,
}

/// Starts a conductor whose databases and keystore live in `dir`, unlocked with
/// `passphrase`, on the network `network` describes.
pub async fn start(dir: &Path, passphrase: &str, network: &NetworkSettings) -> anyhow::Result<Embedded> {
    std::fs::create_dir_all(dir)?;
    let config = config(dir, network)?;
    super::rendezvous::install_crypto_provider();
    keep_openssl_until_exit();
    let secret: lair_keystore_api::types::SharedLockedArray = Arc::new(Mutex::new(
        sodoken::LockedArray::from(passphrase.as_bytes().to_vec()),
    ));
    let handle = Conductor::builder()
        .config(config)
        .passphrase(Some(secret))
        .build()
        .await?;
    let admin_port = handle
        .get_arbitrary_admin_websocket_port()
        .ok_or_else(|| anyhow::anyhow!("the conductor opened no admin websocket"))?;
    Ok(Embedded { handle, admin_port })
}

/// How long the conductor waits for a peer's answer to a request (a `get` among them)
/// before it answers from the others. Holochain's default is 60 s, as long as the node's
/// link waits for a whole zome call: one peer that died and is still in the peer table then
/// failed every call that asked it (a viewer's listing hung for minutes after its author's
/// node was killed). Kept well under [`super::link::CALL_TIMEOUT`]. Holochain derives the
/// transport's connect timeout from it: 3/8, 7 s (through a relay too).
pub const PEER_REQUEST_TIMEOUT_SECS: u64 = 20;

/// The conductor's configuration: databases and keystore in `dir`, one admin websocket on
/// loopback, and the network `network` describes.
pub fn config(dir: &Path, network: &NetworkSettings) -> anyhow::Result<ConductorConfig> {
    let mut config = ConductorConfig {
        data_root_path: Some(DataRootPath::from(dir.to_path_buf())),
        keystore: KeystoreConfig::LairServerInProc { lair_root: None },
        admin_interfaces: Some(vec![AdminInterfaceConfig {
            driver: InterfaceDriver::Websocket {
                port: 0,
                danger_bind_addr: None,
                allowed_origins: super::link::node_origins(),
            },
        }]),
        ..Default::default()
    };
    config.network.request_timeout_s = PEER_REQUEST_TIMEOUT_SECS;
    if network.offline {
        // Nowhere: the conductor keeps to itself.
        config.network.bootstrap_url = url2::Url2::parse("http://127.0.0.1:1");
        config.network.relay_url = url2::Url2::parse("http://127.0.0.1:1");
    } else {
        config.network.bootstrap_url = url2::Url2::try_parse(&network.bootstrap_url)?;
        config.network.relay_url = url2::Url2::try_parse(&network.relay_url)?;
        // A relay of one's own (`elohim-media rendezvous`) speaks plain HTTP; kitsune2 takes
        // it only when told to. The bootstrap server is asked again after a second when it
        // does not answer.
        let plain = network.relay_url.starts_with("http://");
        config.network.advanced = Some(serde_json::json!({
            "irohTransport": { "relayAllowPlainText": plain },
            "coreBootstrap": { "backoffMinMs": 1000 },
        }));
    }
    Ok(config)
}

/// Initialises OpenSSL, which lair's keystore database (sqlcipher) links, without its
/// clean-up at process exit: conductor threads still running as the process exits could
/// otherwise use state that clean-up frees (the likely cause, not confirmed, of a test
/// binary that aborted at exit with `free(): invalid size` after every test passed). The
/// first initialisation decides, so this runs before any conductor starts; later calls do
/// nothing.
pub fn keep_openssl_until_exit() {
    openssl_sys::init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_peer_request_gives_up_well_within_the_zome_call_waiting_on_it() {
        let network = NetworkSettings {
            offline: false,
            bootstrap_url: "http://127.0.0.1:9".into(),
            relay_url: "http://127.0.0.1:9".into(),
            ..NetworkSettings::default()
        };
        let config = config(Path::new("node"), &network).unwrap();
        let per_peer = std::time::Duration::from_secs(config.network.request_timeout_s);
        // A call may wait on two such peers in a row and still answer.
        assert!(per_peer * 2 < crate::link::CALL_TIMEOUT, "{per_peer:?}");
        // What kitsune2 is given: the connect timeout follows, our relay settings stay.
        let k2 = config.network.to_k2_config().unwrap();
        assert_eq!(k2["irohTransport"]["connectTimeoutS"], 7, "{k2}");
        assert_eq!(k2["irohTransport"]["relayAllowPlainText"], true, "{k2}");
    }
}

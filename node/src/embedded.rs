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
    super::rendezvous::install_crypto_provider();
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

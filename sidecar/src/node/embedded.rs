//! A conductor embedded in this process: persistent data directory, lair keystore
//! in-process, one admin websocket on loopback for the conductor link.

use holochain::conductor::{Conductor, ConductorHandle};
use holochain_conductor_api::config::conductor::paths::DataRootPath;
use holochain_conductor_api::config::conductor::{ConductorConfig, KeystoreConfig};
use holochain_conductor_api::config::{AdminInterfaceConfig, InterfaceDriver};
use holochain_types::websocket::AllowedOrigins;
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
/// `passphrase`. No bootstrap or relay server is needed for a single node.
pub async fn start(dir: &Path, passphrase: &str) -> anyhow::Result<Embedded> {
    std::fs::create_dir_all(dir)?;
    let mut config = ConductorConfig {
        data_root_path: Some(DataRootPath::from(dir.to_path_buf())),
        keystore: KeystoreConfig::LairServerInProc { lair_root: None },
        admin_interfaces: Some(vec![AdminInterfaceConfig {
            driver: InterfaceDriver::Websocket {
                port: 0,
                danger_bind_addr: None,
                allowed_origins: AllowedOrigins::Any,
            },
        }]),
        ..Default::default()
    };
    config.network.bootstrap_url = url2::Url2::parse("http://127.0.0.1:1");
    config.network.relay_url = url2::Url2::parse("http://127.0.0.1:1");
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

//! The conductor link: the sidecar talks to its conductor as any UI would, through the
//! admin websocket (install, app interface, auth token, signing credentials) and signed
//! zome calls on an app websocket; it reconnects with backoff when the conductor restarts.

use holochain_client::{
    AdminWebsocket, AppWebsocket, AuthorizeSigningCredentialsPayload, ClientAgentSigner, ZomeCallTarget,
};
use holochain_conductor_api::{CellInfo, IssueAppAuthenticationTokenPayload};
use holochain_types::prelude::{AgentPubKey, AppBundleSource, CellId, ExternIO, InstallAppPayload};
use holochain_types::websocket::AllowedOrigins;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::RwLock;

/// The installed app id the node uses.
pub const APP_ID: &str = "elohim_media";
/// The DNA role and zome the sidecar calls.
pub const ROLE: &str = "media";
/// The origin the node's own connections to its conductor send; the embedded conductor's
/// interfaces admit this origin only, so no web page can drive them.
pub const NODE_ORIGIN: &str = "elohim-media-node";

/// Only the node's own origin.
pub fn node_origins() -> AllowedOrigins {
    AllowedOrigins::Origins([NODE_ORIGIN.to_string()].into_iter().collect())
}

/// Times a call is run again when another write of this agent's moved the chain head.
const HEAD_MOVED_ATTEMPTS: u32 = 5;

/// Whether a call failed only because another call of the same agent committed first.
fn head_moved(e: &holochain_client::ConductorApiError) -> bool {
    let text = format!("{e:?}");
    text.contains("head has moved") || text.contains("HeadMoved")
}

/// Attempts to reconnect before a call gives up.
const RECONNECT_ATTEMPTS: u32 = 6;

/// Why a zome call failed.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// The conductor could not be reached, even after reconnecting.
    #[error("conductor unreachable: {0}")]
    Unreachable(String),
    /// The zome call ran and failed (validation, a refusal, bad input).
    #[error("zome call {function} failed: {message}")]
    Call {
        /// The zome function.
        function: String,
        /// What the conductor said.
        message: String,
    },
    /// The payload could not be (de)serialized.
    #[error("payload encoding: {0}")]
    Encoding(String),
}

struct Connected {
    app: AppWebsocket,
    admin: AdminWebsocket,
}

/// A live link to the conductor running the media hApp.
pub struct ConductorLink {
    admin_addr: String,
    happ: PathBuf,
    agent: AgentPubKey,
    cell: CellId,
    app_port: u16,
    conn: RwLock<Connected>,
    network: Option<crate::config::NetworkSettings>,
}

impl ConductorLink {
    /// Connects to the admin websocket at `admin_addr` (`host:port`), installs and enables
    /// the hApp at `happ` unless it is there already, and opens a signed app connection.
    pub async fn connect(admin_addr: &str, happ: &Path) -> anyhow::Result<Self> {
        Self::connect_with(admin_addr, happ, None).await
    }

    /// [`connect`](Self::connect), installing the hApp on the network of `network_seed`
    /// (`None`: the default network). An app already installed on another network is an
    /// error that says so: its cell cannot move.
    pub async fn connect_to_network(
        admin_addr: &str,
        happ: &Path,
        network_seed: Option<&str>,
    ) -> anyhow::Result<Self> {
        Self::connect_with(admin_addr, happ, Some(network_seed)).await
    }

    /// Connects; `expected_seed`, when given, is the network seed the app must have.
    async fn connect_with(
        admin_addr: &str,
        happ: &Path,
        expected_seed: Option<Option<&str>>,
    ) -> anyhow::Result<Self> {
        let network_seed = expected_seed.flatten();
        let admin = AdminWebsocket::connect(admin_addr, Some(NODE_ORIGIN.into())).await?;
        let apps = admin.list_apps(None).await?;
        let info = match apps.into_iter().find(|a| a.installed_app_id == APP_ID) {
            Some(info) => {
                let installed = installed_seed(&info);
                if expected_seed.is_some() && installed != network_seed.unwrap_or_default() {
                    anyhow::bail!(
                        "the hApp here was installed on network seed '{installed}', not '{}': \
                         start with the same --network-seed, or use another --data-dir",
                        network_seed.unwrap_or_default()
                    );
                }
                info
            }
            None => {
                tracing::info!(happ = %happ.display(), "installing the media hApp");
                let info = admin
                    .install_app(InstallAppPayload {
                        source: AppBundleSource::Path(happ.to_path_buf()),
                        agent_key: None,
                        installed_app_id: Some(APP_ID.into()),
                        network_seed: network_seed.map(String::from),
                        roles_settings: None,
                        ignore_genesis_failure: false,
                        restore_from_dht: false,
                    })
                    .await?;
                admin.enable_app(APP_ID.into()).await?;
                info
            }
        };
        admin.enable_app(APP_ID.into()).await?;
        let cell = info
            .cell_info
            .get(ROLE)
            .and_then(|cells| {
                cells.iter().find_map(|c| match c {
                    CellInfo::Provisioned(p) => Some(p.cell_id.clone()),
                    _ => None,
                })
            })
            .ok_or_else(|| anyhow::anyhow!("the installed app has no '{ROLE}' cell"))?;
        let app_port = match admin
            .list_app_interfaces()
            .await?
            .into_iter()
            .find(|i| i.installed_app_id.is_none() && i.allowed_origins == node_origins())
        {
            Some(i) => i.port,
            None => admin.attach_app_interface(0, None, node_origins(), None).await?,
        };
        let conn = open_app(&admin, &cell, app_port).await?;
        Ok(ConductorLink {
            admin_addr: admin_addr.to_string(),
            happ: happ.to_path_buf(),
            agent: info.agent_pub_key,
            cell,
            app_port,
            conn: RwLock::new(Connected { app: conn, admin }),
            network: None,
        })
    }

    /// Records the network settings of the conductor this node embeds (an attached
    /// conductor has its own, which the node does not know).
    pub fn on_network(mut self, settings: crate::config::NetworkSettings) -> Self {
        self.network = Some(settings);
        self
    }

    /// The embedded conductor's network settings.
    pub fn network(&self) -> Option<&crate::config::NetworkSettings> {
        self.network.as_ref()
    }

    /// The node's agent key.
    pub fn agent(&self) -> &AgentPubKey {
        &self.agent
    }

    /// The port of the app websocket UIs can use.
    pub fn app_port(&self) -> u16 {
        self.app_port
    }

    /// The hApp bundle this link installs.
    pub fn happ(&self) -> &Path {
        &self.happ
    }

    /// Calls `function` of the media zome.
    pub async fn call<I, O>(&self, function: &str, input: I) -> Result<O, LinkError>
    where
        I: Serialize + std::fmt::Debug,
        O: DeserializeOwned + std::fmt::Debug,
    {
        let payload = ExternIO::encode(input).map_err(|e| LinkError::Encoding(e.to_string()))?;
        let mut attempt = 0;
        loop {
            let result = {
                let conn = self.conn.read().await;
                conn.app
                    .call_zome(
                        ZomeCallTarget::RoleName(ROLE.into()),
                        ROLE.into(),
                        function.into(),
                        payload.clone(),
                    )
                    .await
            };
            match result {
                Ok(out) => return out.decode().map_err(|e| LinkError::Encoding(e.to_string())),
                Err(holochain_client::ConductorApiError::WebsocketError(e))
                    if attempt < RECONNECT_ATTEMPTS =>
                {
                    attempt += 1;
                    let wait = Duration::from_millis(200 << attempt);
                    tracing::warn!(error = %e, ?wait, "conductor link lost; reconnecting");
                    tokio::time::sleep(wait).await;
                    if let Err(e) = self.reconnect().await {
                        tracing::warn!(error = %e, "reconnect failed");
                    }
                }
                Err(holochain_client::ConductorApiError::WebsocketError(e)) => {
                    return Err(LinkError::Unreachable(e.to_string()))
                }
                Err(e) if head_moved(&e) && attempt < HEAD_MOVED_ATTEMPTS => {
                    // Another call of this agent's (a custodian round, an upload) wrote
                    // first; this one wrote nothing and is run again on the new head.
                    attempt += 1;
                    tracing::debug!(function, attempt, "source chain head moved; calling again");
                    tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
                }
                Err(e) => {
                    return Err(LinkError::Call {
                        function: function.into(),
                        message: format!("{e:?}"),
                    })
                }
            }
        }
    }

    /// The signed agent infos of every peer the conductor knows (kitsune2's JSON, one
    /// string each), this node's own among them.
    pub async fn agent_infos(&self) -> Result<Vec<String>, LinkError> {
        let conn = self.conn.read().await;
        conn.admin
            .agent_info(None)
            .await
            .map_err(|e| LinkError::Unreachable(format!("{e:?}")))
    }

    async fn reconnect(&self) -> anyhow::Result<()> {
        let admin = AdminWebsocket::connect(self.admin_addr.as_str(), Some(NODE_ORIGIN.into())).await?;
        let app = open_app(&admin, &self.cell, self.app_port).await?;
        *self.conn.write().await = Connected { app, admin };
        Ok(())
    }
}

/// The network seed the app's media cell was installed with (`""` for none).
fn installed_seed(info: &holochain_conductor_api::AppInfo) -> &str {
    info.cell_info
        .get(ROLE)
        .and_then(|cells| {
            cells.iter().find_map(|c| match c {
                CellInfo::Provisioned(p) => Some(p.dna_modifiers.network_seed.as_str()),
                _ => None,
            })
        })
        .unwrap_or_default()
}

async fn open_app(admin: &AdminWebsocket, cell: &CellId, port: u16) -> anyhow::Result<AppWebsocket> {
    let token = admin
        .issue_app_auth_token(IssueAppAuthenticationTokenPayload::for_installed_app_id(
            APP_ID.into(),
        ))
        .await?;
    let credentials = admin
        .authorize_signing_credentials(AuthorizeSigningCredentialsPayload {
            cell_id: cell.clone(),
            functions: None,
        })
        .await?;
    let signer = ClientAgentSigner::default();
    signer.add_credentials(cell.clone(), credentials);
    Ok(AppWebsocket::connect(
        ("127.0.0.1", port),
        token.token,
        signer.into(),
        Some(NODE_ORIGIN.into()),
    )
    .await?)
}

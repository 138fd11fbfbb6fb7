//! The conductor link: the sidecar talks to its conductor as any UI would, through the
//! admin websocket (install, app interface, auth token, signing credentials) and signed
//! zome calls on an app websocket; it reconnects with backoff when the conductor restarts.

use holochain_client::{
    AdminWebsocket, AppWebsocket, AuthorizeSigningCredentialsPayload, ClientAgentSigner, ZomeCallTarget,
};
use holochain_conductor_api::{CellInfo, IssueAppAuthenticationTokenPayload};
use holochain_types::prelude::{
    AgentPubKey, AppBundleSource, CapSecret, CellId, ExternIO, GrantConstraint, GrantZomeCallCapabilityGrant,
    GrantZomeCallCapabilityPayload, GrantedFunctions, InstallAppPayload, ZomeCallGrant,
};
use holochain_types::websocket::AllowedOrigins;
use serde::de::DeserializeOwned;
use serde::Serialize;
use sidecar::dht::{DhtError, UiSession};
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
    only(NODE_ORIGIN)
}

/// Only `origin`.
fn only(origin: &str) -> AllowedOrigins {
    AllowedOrigins::Origins([origin.to_string()].into_iter().collect())
}

/// How the node finds its app on a conductor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkOptions {
    /// The installed app id to use.
    pub app_id: String,
    /// The origin sent to the conductor's websockets; an app host's conductor admits its
    /// own origin only.
    pub origin: String,
    /// Whether the hApp may be installed when no app has `app_id`; an app host installs
    /// the hApp itself, and a second copy would be a second agent.
    pub install: bool,
}

impl Default for LinkOptions {
    fn default() -> Self {
        LinkOptions {
            app_id: APP_ID.into(),
            origin: NODE_ORIGIN.into(),
            install: true,
        }
    }
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
    network: Option<sidecar::config::NetworkSettings>,
    options: LinkOptions,
    /// Zome calls made so far (what a custodian round costs is measured by it).
    calls: std::sync::atomic::AtomicU64,
}

impl ConductorLink {
    /// Connects to the admin websocket at `admin_addr` (`host:port`), installs and enables
    /// the hApp at `happ` unless it is there already, and opens a signed app connection.
    pub async fn connect(admin_addr: &str, happ: &Path) -> anyhow::Result<Self> {
        Self::connect_with(admin_addr, happ, None, LinkOptions::default()).await
    }

    /// Attaches to a conductor that already runs (an app host's) with `options`: its app
    /// id and admin origin, and whether the hApp may be installed.
    pub async fn attach(admin_addr: &str, happ: &Path, options: LinkOptions) -> anyhow::Result<Self> {
        Self::connect_with(admin_addr, happ, None, options).await
    }

    /// [`connect`](Self::connect), installing the hApp on the network of `network_seed`
    /// (`None`: the default network). An app already installed on another network is an
    /// error that says so: its cell cannot move.
    pub async fn connect_to_network(
        admin_addr: &str,
        happ: &Path,
        network_seed: Option<&str>,
    ) -> anyhow::Result<Self> {
        Self::connect_with(admin_addr, happ, Some(network_seed), LinkOptions::default()).await
    }

    /// Connects; `expected_seed`, when given, is the network seed the app must have.
    async fn connect_with(
        admin_addr: &str,
        happ: &Path,
        expected_seed: Option<Option<&str>>,
        options: LinkOptions,
    ) -> anyhow::Result<Self> {
        let network_seed = expected_seed.flatten();
        let app_id = options.app_id.as_str();
        let admin = connect_admin(admin_addr, &options.origin).await?;
        let apps = admin.list_apps(None).await?;
        let info = match apps.into_iter().find(|a| a.installed_app_id == app_id) {
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
            None if !options.install => anyhow::bail!(
                "the conductor has no app '{app_id}'; install the hApp with the host first, \
                 or pass the --app-id the host installed it under"
            ),
            None => {
                tracing::info!(happ = %happ.display(), "installing the media hApp");
                let info = admin
                    .install_app(InstallAppPayload {
                        source: AppBundleSource::Path(happ.to_path_buf()),
                        agent_key: None,
                        installed_app_id: Some(app_id.into()),
                        network_seed: network_seed.map(String::from),
                        roles_settings: None,
                        ignore_genesis_failure: false,
                        restore_from_dht: false,
                    })
                    .await?;
                admin.enable_app(app_id.into()).await?;
                info
            }
        };
        admin.enable_app(app_id.into()).await?;
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
        let app_port = app_interface(&admin, &options.origin, None).await?;
        let conn = open_app(&admin, &cell, app_port, &options).await?;
        Ok(ConductorLink {
            admin_addr: admin_addr.to_string(),
            happ: happ.to_path_buf(),
            agent: info.agent_pub_key,
            cell,
            app_port,
            conn: RwLock::new(Connected { app: conn, admin }),
            network: None,
            options,
            calls: Default::default(),
        })
    }

    /// How many zome calls this link has made.
    pub fn calls_made(&self) -> u64 {
        self.calls.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Records the network settings of the conductor this node embeds (an attached
    /// conductor has its own, which the node does not know).
    pub fn on_network(mut self, settings: sidecar::config::NetworkSettings) -> Self {
        self.network = Some(settings);
        self
    }

    /// The embedded conductor's network settings.
    pub fn network(&self) -> Option<&sidecar::config::NetworkSettings> {
        self.network.as_ref()
    }

    /// The node's agent key.
    pub fn agent(&self) -> &AgentPubKey {
        &self.agent
    }

    /// The port of the app websocket the node itself uses.
    pub fn app_port(&self) -> u16 {
        self.app_port
    }

    /// The installed app id the node uses.
    pub fn app_id(&self) -> &str {
        &self.options.app_id
    }

    /// Lets a web UI on `origin` make zome calls as the node's agent: an app websocket
    /// that admits `origin` (made once per origin), a single-use token for it, and, when
    /// `grant` names the UI's own signing key and secret (the UI keeps the private key),
    /// a zome-call capability assigned to that key.
    pub(super) async fn open_ui_session(
        &self,
        origin: &str,
        grant: Option<(AgentPubKey, CapSecret)>,
    ) -> Result<UiSession, DhtError> {
        let unreachable = |e: holochain_client::ConductorApiError| DhtError::Unreachable(format!("{e:?}"));
        let conn = self.conn.read().await;
        let admin = &conn.admin;
        let app_id = self.options.app_id.clone();
        let app_port = app_interface(admin, origin, Some(&app_id))
            .await
            .map_err(unreachable)?;
        if let Some((signing_key, cap_secret)) = grant {
            admin
                .grant_zome_call_capability(GrantZomeCallCapabilityPayload {
                    cell_id: self.cell.clone(),
                    cap_grant: GrantZomeCallCapabilityGrant {
                        tag: "elohim-media-ui".into(),
                        constraint: GrantConstraint::Assigned {
                            secret: cap_secret,
                            assignees: [signing_key].into_iter().collect(),
                        },
                        grant: ZomeCallGrant {
                            functions: GrantedFunctions::All,
                        },
                    },
                })
                .await
                .map_err(unreachable)?;
        }
        let issued = admin
            .issue_app_auth_token(IssueAppAuthenticationTokenPayload::for_installed_app_id(
                app_id.clone(),
            ))
            .await
            .map_err(unreachable)?;
        Ok(UiSession {
            app_port,
            token: issued.token,
            app_id,
            role: ROLE.into(),
            dna: self.cell.dna_hash().clone(),
        })
    }

    /// The hApp bundle this link installs.
    pub fn happ(&self) -> &Path {
        &self.happ
    }

    /// Calls `function` of the media zome.
    pub(crate) async fn call<I, O>(&self, function: &'static str, input: I) -> Result<O, DhtError>
    where
        I: Serialize + std::fmt::Debug,
        O: DeserializeOwned + std::fmt::Debug,
    {
        let payload = ExternIO::encode(input).map_err(|e| DhtError::Encoding(e.to_string()))?;
        self.calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
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
                Ok(out) => return out.decode().map_err(|e| DhtError::Encoding(e.to_string())),
                // A slow call is not a lost link: reconnecting would cut the other calls
                // in flight, and calling again would wait as long.
                Err(holochain_client::ConductorApiError::WebsocketError(
                    holochain_websocket::WebsocketError::Timeout(_),
                )) => return Err(DhtError::NoAnswer(function)),
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
                    return Err(DhtError::Unreachable(e.to_string()))
                }
                Err(e) if head_moved(&e) && attempt < HEAD_MOVED_ATTEMPTS => {
                    // Another call of this agent's (a custodian round, an upload) wrote
                    // first; this one wrote nothing and is run again on the new head.
                    attempt += 1;
                    tracing::debug!(function, attempt, "source chain head moved; calling again");
                    tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
                }
                Err(e) => {
                    return Err(DhtError::Refused {
                        function,
                        message: format!("{e:?}"),
                    })
                }
            }
        }
    }

    /// The signed agent infos of every peer the conductor knows (kitsune2's JSON, one
    /// string each), this node's own among them.
    pub(super) async fn signed_agent_infos(&self) -> Result<Vec<String>, DhtError> {
        let conn = self.conn.read().await;
        conn.admin
            .agent_info(None)
            .await
            .map_err(|e| DhtError::Unreachable(format!("{e:?}")))
    }

    async fn reconnect(&self) -> anyhow::Result<()> {
        let admin = connect_admin(self.admin_addr.as_str(), &self.options.origin).await?;
        let app = open_app(&admin, &self.cell, self.app_port, &self.options).await?;
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

/// The port of an app websocket that admits only `origin`, for `app_id` alone or (`None`)
/// for any app: one already attached, else a new one.
async fn app_interface(
    admin: &AdminWebsocket,
    origin: &str,
    app_id: Option<&str>,
) -> holochain_client::ConductorApiResult<u16> {
    let allowed = only(origin);
    let existing = admin
        .list_app_interfaces()
        .await?
        .into_iter()
        .find(|i| i.installed_app_id.as_deref() == app_id && i.allowed_origins == allowed);
    match existing {
        Some(i) => Ok(i.port),
        None => {
            admin
                .attach_app_interface(0, None, allowed, app_id.map(String::from))
                .await
        }
    }
}

/// Connects to the conductor's admin interface from `origin`, waiting up to 5 minutes per
/// request: installing the hApp compiles its zomes, which takes longer than the client's
/// default minute on a busy 2-core machine.
async fn connect_admin(addr: &str, origin: &str) -> anyhow::Result<AdminWebsocket> {
    let config = std::sync::Arc::new(holochain_client::WebsocketConfig {
        default_request_timeout: Duration::from_secs(300),
        ..holochain_client::WebsocketConfig::CLIENT_DEFAULT
    });
    Ok(AdminWebsocket::connect_with_config(addr, config, Some(origin.to_string())).await?)
}

/// How long the node waits for a zome call's answer before it fails with
/// [`DhtError::NoAnswer`].
pub const CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// How long the token for the node's own app connection is good for.
const APP_TOKEN_SECS: u64 = 300;

async fn open_app(
    admin: &AdminWebsocket,
    cell: &CellId,
    port: u16,
    options: &LinkOptions,
) -> anyhow::Result<AppWebsocket> {
    let credentials = admin
        .authorize_signing_credentials(AuthorizeSigningCredentialsPayload {
            cell_id: cell.clone(),
            functions: None,
        })
        .await?;
    // Issued last, just before it is used, and good for longer than the conductor's default:
    // a conductor still compiling the zomes at its first start answers the calls above
    // slowly, and a token that expired on the way made the node fail to start.
    let token = admin
        .issue_app_auth_token(
            IssueAppAuthenticationTokenPayload::for_installed_app_id(options.app_id.clone())
                .expiry_seconds(APP_TOKEN_SECS),
        )
        .await?;
    let signer = ClientAgentSigner::default();
    signer.add_credentials(cell.clone(), credentials);
    let config = std::sync::Arc::new(holochain_client::WebsocketConfig {
        default_request_timeout: CALL_TIMEOUT,
        ..holochain_client::WebsocketConfig::CLIENT_DEFAULT
    });
    Ok(AppWebsocket::connect_with_config(
        ("127.0.0.1", port),
        config,
        token.token,
        signer.into(),
        Some(options.origin.clone()),
    )
    .await?)
}

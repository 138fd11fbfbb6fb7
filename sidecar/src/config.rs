//! Configuration: flags, then environment variables, then an optional TOML file, then
//! defaults — the first that names a setting wins.

use media_rules::BandwidthClass;
use media_store::tiers::CacheBudgets;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::PathBuf;

/// The sidecar's resolved settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Config {
    /// Address the HTTP server listens on.
    pub listen: SocketAddr,
    /// Where chunks, blob records and uploads are kept.
    pub data_dir: PathBuf,
    /// Chunk size for new blobs.
    pub chunk_size: u32,
    /// Largest upload accepted, in bytes.
    pub max_upload_bytes: u64,
    /// Byte budgets of the cache tiers.
    pub cache: CacheBudgets,
    /// What this node's link can carry: caps the renditions its playlists list, and
    /// refuses private content when low (seed Gap 4).
    pub bandwidth: BandwidthClass,
    /// Seconds between attempts to register renditions a node could not register when
    /// its ladder made them.
    pub register_retry_secs: u64,
    /// Whether replication may fetch from loopback, link-local and private addresses
    /// (a private network of nodes, tests); off, such peers and fallback URLs are refused.
    pub allow_private_peers: bool,
    /// How a node's embedded conductor reaches the network.
    pub network: NetworkSettings,
    /// The web UI a node serves, and the other origins its owner lets in.
    pub ui: UiSettings,
    /// How much the server gives any one client.
    pub limits: crate::limits::ServerLimits,
    /// Whether chunk bytes on disk go to sockets by `sendfile(2)` rather than `writev` from
    /// their mapping. Off by default: over loopback it measured slower (BENCHMARKS.md);
    /// on a NIC that gathers from pages it saves the one copy left.
    pub sendfile: bool,
    /// Whether a node takes uploads without the owner's credential, and the quotas they
    /// count against; `None` (the default): a node refuses them.
    pub anonymous_uploads: Option<media_rules::quota::Quotas>,
    /// The SFU for live calls (WHIP and WHEP); `None`: calls are off.
    pub rtc: Option<crate::rtc::RtcSettings>,
}

/// The node's web UI.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UiSettings {
    /// The built UI (`ui/dist`) served at `/`; none: `/` says how to build it.
    pub dir: Option<PathBuf>,
    /// Origins other than the node's own whose pages may use the owner's routes with the
    /// owner's credential (an app host's UI, e.g. Kangaroo's), each `scheme://host[:port]`.
    pub origins: Vec<String>,
}

impl Config {
    /// Where live calls' recordings are kept: `recordings/` under the data directory.
    pub fn recordings_dir(&self) -> std::path::PathBuf {
        self.data_dir.join("recordings")
    }

    /// Settings for tests and tools: listening on a free loopback port, keeping data in
    /// `data_dir`, 64 KiB chunks, a 1 GiB upload limit, a high bandwidth class, peers on
    /// private addresses allowed, no anonymous uploads and no live calls; the rest default.
    pub fn on_loopback(data_dir: PathBuf) -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir,
            chunk_size: 64 * 1024,
            max_upload_bytes: 1 << 30,
            cache: Default::default(),
            bandwidth: media_rules::BandwidthClass::High,
            register_retry_secs: DEFAULT_REGISTER_RETRY_SECS,
            allow_private_peers: true,
            ui: Default::default(),
            limits: Default::default(),
            network: Default::default(),
            anonymous_uploads: None,
            sendfile: false,
            rtc: None,
        }
    }
}

/// Where a node's embedded conductor finds peers and relays through, and which network it
/// joins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkSettings {
    /// The kitsune2 bootstrap server (default: Holochain's public one).
    pub bootstrap_url: String,
    /// The iroh relay (default: Holochain's public one).
    pub relay_url: String,
    /// A network of its own: nodes find only nodes installed with the same seed. Applied
    /// when the hApp is installed.
    pub network_seed: Option<String>,
    /// No network at all: the node keeps to itself.
    pub offline: bool,
}

/// Holochain's public bootstrap server (holochain_conductor_api's default).
pub const PUBLIC_BOOTSTRAP_URL: &str = "https://dev-test-bootstrap2.holochain.org";
/// Holochain's public iroh relay (holochain_conductor_api's default).
pub const PUBLIC_RELAY_URL: &str = "https://use1-1.relay.n0.iroh-canary.iroh.link./";

impl Default for NetworkSettings {
    fn default() -> Self {
        NetworkSettings {
            bootstrap_url: PUBLIC_BOOTSTRAP_URL.into(),
            relay_url: PUBLIC_RELAY_URL.into(),
            network_seed: None,
            offline: false,
        }
    }
}

/// Default for [`Config::register_retry_secs`].
pub const DEFAULT_REGISTER_RETRY_SECS: u64 = 60;

/// Default listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8788";
/// Default upload limit: 16 GiB (videos up to 10 GB with room to spare).
pub const DEFAULT_MAX_UPLOAD: u64 = 16 << 30;

/// The settings as flags and environment variables.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ConfigArgs {
    /// TOML file with any of the settings below.
    #[arg(long, env = "ELOHIM_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long, env = "ELOHIM_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Data directory.
    #[arg(long, env = "ELOHIM_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Chunk size in bytes for new blobs (64 KiB – 16 MiB).
    #[arg(long, env = "ELOHIM_CHUNK_SIZE")]
    pub chunk_size: Option<u32>,
    /// Largest upload accepted, in bytes.
    #[arg(long, env = "ELOHIM_MAX_UPLOAD_BYTES")]
    pub max_upload_bytes: Option<u64>,
    /// Metadata cache budget in MiB (default 32).
    #[arg(long, env = "ELOHIM_CACHE_META_MIB")]
    pub cache_meta_mib: Option<u64>,
    /// Budget in MiB for small blobs cached whole, split by audience (default 256).
    #[arg(long, env = "ELOHIM_CACHE_COMPLETE_MIB")]
    pub cache_complete_mib: Option<u64>,
    /// Budget in MiB for hot chunks, split by audience (default 1024; 0 turns it off).
    #[arg(long, env = "ELOHIM_CACHE_CHUNK_MIB")]
    pub cache_chunk_mib: Option<u64>,
    /// This node's bandwidth class: low, medium, high (default) or ultra.
    #[arg(long, env = "ELOHIM_BANDWIDTH")]
    pub bandwidth: Option<String>,
    /// Seconds between attempts to register renditions the conductor could not take
    /// (default 60).
    #[arg(long, env = "ELOHIM_REGISTER_RETRY_SECS")]
    pub register_retry_secs: Option<u64>,
    /// Fetch from peers and fallback URLs on loopback, link-local and private addresses
    /// (a private network of nodes); by default only public addresses are fetched from.
    #[arg(long, env = "ELOHIM_ALLOW_PRIVATE_PEERS")]
    pub allow_private_peers: bool,
    /// Send chunk bytes on disk with sendfile(2) instead of writev from their mapping.
    #[arg(long, env = "ELOHIM_SENDFILE")]
    pub sendfile: bool,
    /// Node: the kitsune2 bootstrap server to find peers at (default: Holochain's public one).
    #[arg(long, env = "ELOHIM_BOOTSTRAP_URL")]
    pub bootstrap_url: Option<String>,
    /// Node: the iroh relay to reach peers through (default: Holochain's public one).
    #[arg(long, env = "ELOHIM_RELAY_URL")]
    pub relay_url: Option<String>,
    /// Node: join a network of its own; only nodes installed with the same seed meet.
    #[arg(long, env = "ELOHIM_NETWORK_SEED")]
    pub network_seed: Option<String>,
    /// Node: no network at all (a node on its own).
    #[arg(long, env = "ELOHIM_OFFLINE")]
    pub offline: bool,
    /// The built web UI to serve at `/` (default: `ui/dist` when it exists).
    #[arg(long, env = "ELOHIM_UI_DIR")]
    pub ui_dir: Option<PathBuf>,
    /// Another origin whose pages may act as the owner, with the owner's credential: an app
    /// host's UI (repeatable; the environment variable takes a comma-separated list).
    #[arg(long = "ui-origin", env = "ELOHIM_UI_ORIGINS", value_delimiter = ',')]
    pub ui_origins: Vec<String>,
    /// Connections served at once; more wait (default 1024).
    #[arg(long, env = "ELOHIM_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// Uploads taking bytes at once; more are answered 503 (default 16).
    #[arg(long, env = "ELOHIM_MAX_UPLOADS")]
    pub max_uploads: Option<usize>,
    /// Node: take uploads without the owner's credential. They are kept unpublished, for
    /// the owner to read, start no ladder, and count against the quotas below.
    #[arg(long, env = "ELOHIM_ANONYMOUS_UPLOADS")]
    pub anonymous_uploads: bool,
    /// Bytes one anonymous client may leave on the node (default 4 GiB).
    #[arg(long, env = "ELOHIM_ANONYMOUS_CLIENT_BYTES")]
    pub anonymous_client_bytes: Option<u64>,
    /// Bytes all anonymous clients together may leave on the node (default 64 GiB).
    #[arg(long, env = "ELOHIM_ANONYMOUS_TOTAL_BYTES")]
    pub anonymous_total_bytes: Option<u64>,
    /// UDP address the SFU takes live media on, or `off` (default: the listen address's
    /// IP, any free port).
    #[arg(long, env = "ELOHIM_RTC_UDP")]
    pub rtc_udp: Option<String>,
    /// Address the SFU gives clients as its ICE candidate, when it is not the UDP address
    /// (a public address, a port forward).
    #[arg(long, env = "ELOHIM_RTC_CANDIDATE")]
    pub rtc_candidate: Option<SocketAddr>,
    /// Tracks the SFU forwards to viewers at once; more joins get 503 (default 100).
    #[arg(long, env = "ELOHIM_RTC_MAX_STREAMS")]
    pub rtc_max_streams: Option<u32>,
    /// Mbit/s the SFU sends to viewers at most; over it, new viewers get 503 (default:
    /// uncapped; a Relay custodian's `bandwidth_mbps`).
    #[arg(long, env = "ELOHIM_RTC_MAX_MBPS")]
    pub rtc_max_mbps: Option<u32>,
    /// Whether live calls' publishers are recorded into blobs (default true).
    #[arg(long, env = "ELOHIM_RTC_RECORD")]
    pub rtc_record: Option<bool>,
}

/// The settings a TOML file may hold.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
    chunk_size: Option<u32>,
    max_upload_bytes: Option<u64>,
    cache_meta_mib: Option<u64>,
    cache_complete_mib: Option<u64>,
    cache_chunk_mib: Option<u64>,
    bandwidth: Option<String>,
    register_retry_secs: Option<u64>,
    allow_private_peers: Option<bool>,
    sendfile: Option<bool>,
    bootstrap_url: Option<String>,
    relay_url: Option<String>,
    network_seed: Option<String>,
    offline: Option<bool>,
    ui_dir: Option<PathBuf>,
    ui_origins: Option<Vec<String>>,
    max_connections: Option<usize>,
    max_uploads: Option<usize>,
    anonymous_uploads: Option<bool>,
    anonymous_client_bytes: Option<u64>,
    anonymous_total_bytes: Option<u64>,
    rtc_udp: Option<String>,
    rtc_candidate: Option<SocketAddr>,
    rtc_max_streams: Option<u32>,
    rtc_max_mbps: Option<u32>,
    rtc_record: Option<bool>,
}

/// `ui/dist` under the working directory, when the UI is built there.
fn built_ui() -> Option<PathBuf> {
    Some(PathBuf::from("ui/dist")).filter(|d| d.join("index.html").is_file())
}

/// Why the configuration could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The TOML file could not be read.
    #[error("cannot read {0}: {1}")]
    Read(PathBuf, std::io::Error),
    /// The TOML file is malformed.
    #[error("invalid config file {0}: {1}")]
    Parse(PathBuf, toml::de::Error),
    /// A setting is out of range.
    #[error("invalid setting: {0}")]
    Invalid(String),
}

impl ConfigArgs {
    /// Merges flags, environment, file and defaults into a checked [`Config`].
    pub fn resolve(&self) -> Result<Config, ConfigError> {
        let file = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read(path.clone(), e))?;
                toml::from_str(&text).map_err(|e| ConfigError::Parse(path.clone(), e))?
            }
            None => FileConfig::default(),
        };
        let defaults = crate::limits::ServerLimits::default();
        let listen = self
            .listen
            .or(file.listen)
            .unwrap_or_else(|| DEFAULT_LISTEN.parse().expect("valid default"));
        let rtc = match self.rtc_udp.clone().or(file.rtc_udp).as_deref() {
            Some("off") => None,
            udp => Some(crate::rtc::RtcSettings {
                udp: match udp {
                    Some(addr) => addr.parse().map_err(|_| {
                        ConfigError::Invalid(format!("rtc_udp: '{addr}' is not ADDR:PORT or off"))
                    })?,
                    None => SocketAddr::new(listen.ip(), 0),
                },
                candidate: self.rtc_candidate.or(file.rtc_candidate),
                max_streams: self
                    .rtc_max_streams
                    .or(file.rtc_max_streams)
                    .unwrap_or(media_rules::relay::DEFAULT_MAX_STREAMS),
                max_mbps: self.rtc_max_mbps.or(file.rtc_max_mbps),
                record: self.rtc_record.or(file.rtc_record).unwrap_or(true),
            }),
        };
        if let Some(rtc) = &rtc {
            media_rules::limits::check_range(
                "rtc_max_streams",
                rtc.max_streams,
                media_rules::limits::CONCURRENT_STREAMS,
            )
            .map_err(ConfigError::Invalid)?;
            if let Some(mbps) = rtc.max_mbps {
                media_rules::limits::check_range("rtc_max_mbps", mbps, media_rules::limits::BANDWIDTH_MBPS)
                    .map_err(ConfigError::Invalid)?;
            }
        }
        let config = Config {
            listen,
            data_dir: self
                .data_dir
                .clone()
                .or(file.data_dir)
                .unwrap_or_else(|| PathBuf::from("elohim-data")),
            chunk_size: self
                .chunk_size
                .or(file.chunk_size)
                .unwrap_or(media_rules::limits::DEFAULT_CHUNK_SIZE),
            max_upload_bytes: self
                .max_upload_bytes
                .or(file.max_upload_bytes)
                .unwrap_or(DEFAULT_MAX_UPLOAD),
            cache: {
                let d = CacheBudgets::default();
                CacheBudgets {
                    meta_mib: self.cache_meta_mib.or(file.cache_meta_mib).unwrap_or(d.meta_mib),
                    complete_mib: self
                        .cache_complete_mib
                        .or(file.cache_complete_mib)
                        .unwrap_or(d.complete_mib),
                    chunk_mib: self
                        .cache_chunk_mib
                        .or(file.cache_chunk_mib)
                        .unwrap_or(d.chunk_mib),
                }
            },
            bandwidth: match self.bandwidth.as_ref().or(file.bandwidth.as_ref()) {
                Some(name) => BandwidthClass::parse(name)
                    .map_err(|e| ConfigError::Invalid(format!("bandwidth: {e}")))?,
                None => BandwidthClass::High,
            },
            register_retry_secs: self
                .register_retry_secs
                .or(file.register_retry_secs)
                .unwrap_or(DEFAULT_REGISTER_RETRY_SECS),
            allow_private_peers: self.allow_private_peers || file.allow_private_peers.unwrap_or(false),
            sendfile: self.sendfile || file.sendfile.unwrap_or(false),
            network: NetworkSettings {
                bootstrap_url: self
                    .bootstrap_url
                    .clone()
                    .or(file.bootstrap_url)
                    .unwrap_or_else(|| PUBLIC_BOOTSTRAP_URL.into()),
                relay_url: self
                    .relay_url
                    .clone()
                    .or(file.relay_url)
                    .unwrap_or_else(|| PUBLIC_RELAY_URL.into()),
                network_seed: self.network_seed.clone().or(file.network_seed),
                offline: self.offline || file.offline.unwrap_or(false),
            },
            ui: UiSettings {
                dir: self.ui_dir.clone().or(file.ui_dir).or_else(built_ui),
                origins: match self.ui_origins.is_empty() {
                    true => file.ui_origins.unwrap_or_default(),
                    false => self.ui_origins.clone(),
                },
            },
            limits: crate::limits::ServerLimits {
                max_connections: self
                    .max_connections
                    .or(file.max_connections)
                    .unwrap_or(defaults.max_connections),
                max_uploads: self
                    .max_uploads
                    .or(file.max_uploads)
                    .unwrap_or(defaults.max_uploads),
                ..defaults
            },
            anonymous_uploads: (self.anonymous_uploads || file.anonymous_uploads.unwrap_or(false)).then(
                || {
                    let mut quotas = media_rules::quota::Quotas::default();
                    if let Some(bytes) = self.anonymous_client_bytes.or(file.anonymous_client_bytes) {
                        quotas.client.bytes = bytes;
                    }
                    if let Some(bytes) = self.anonymous_total_bytes.or(file.anonymous_total_bytes) {
                        quotas.total.bytes = bytes;
                    }
                    quotas
                },
            ),
            rtc,
        };
        media_rules::limits::check_range("max_connections", config.limits.max_connections, 1..=1_000_000)
            .map_err(ConfigError::Invalid)?;
        media_rules::limits::check_range("max_uploads", config.limits.max_uploads, 1..=10_000)
            .map_err(ConfigError::Invalid)?;
        for origin in &config.ui.origins {
            media_rules::endpoint::check_origin(origin).map_err(ConfigError::Invalid)?;
        }
        for (field, url) in [
            ("bootstrap_url", &config.network.bootstrap_url),
            ("relay_url", &config.network.relay_url),
        ] {
            media_rules::limits::check_url(field, url).map_err(ConfigError::Invalid)?;
        }
        use media_rules::limits::{MAX_CHUNK_SIZE, MIN_CHUNK_SIZE};
        media_rules::limits::check_range("chunk_size", config.chunk_size, MIN_CHUNK_SIZE..=MAX_CHUNK_SIZE)
            .map_err(ConfigError::Invalid)?;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_beat_the_file_which_beats_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "chunk_size = 131072\nlisten = \"127.0.0.1:9000\"\n").unwrap();
        let args = ConfigArgs {
            config: Some(path),
            listen: Some("127.0.0.1:9001".parse().unwrap()),
            ..Default::default()
        };
        let c = args.resolve().unwrap();
        assert_eq!(c.listen.port(), 9001);
        assert_eq!(c.chunk_size, 131072);
        assert_eq!(c.max_upload_bytes, DEFAULT_MAX_UPLOAD);
        assert_eq!(c.cache, CacheBudgets::default());
    }

    #[test]
    fn bad_settings_are_refused() {
        let args = ConfigArgs {
            chunk_size: Some(10),
            ..Default::default()
        };
        assert!(args.resolve().unwrap_err().to_string().contains("chunk_size"));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "colour = 3\n").unwrap();
        let args = ConfigArgs {
            config: Some(path),
            ..Default::default()
        };
        assert!(matches!(args.resolve(), Err(ConfigError::Parse(..))));
    }
}

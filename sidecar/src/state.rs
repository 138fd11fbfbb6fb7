//! Everything a running sidecar holds, shared by its request handlers and workers.

use crate::access::cache::AccessCache;
use crate::config::Config;
use crate::dht::{Dht, Standalone};
use crate::ladder::jobs::Ladders;
use crate::owner::OwnerKey;
use crate::tus::TusUploads;
use media_store::blobs::BlobIndex;
use media_store::chunks::{ChunkStore, FsStore};
use media_store::metrics::Metrics;
use media_store::reader::ChunkReader;
use media_store::tiers::Tiers;
use std::sync::{Arc, OnceLock};

/// A sidecar's state.
pub struct Sidecar {
    /// Its settings.
    pub config: Config,
    /// Verified access to the chunk store.
    pub reader: Arc<ChunkReader>,
    /// The blobs held whole.
    pub blobs: BlobIndex,
    /// Unfinished resumable uploads.
    pub uploads: TusUploads,
    /// Counters for `/metrics`.
    pub metrics: Arc<Metrics>,
    /// The cache tiers.
    pub tiers: Arc<Tiers>,
    /// What the conductor said about blobs' audiences, briefly cached.
    pub(crate) access: AccessCache,
    /// Adaptive-bitrate ladder jobs.
    pub ladders: Ladders,
    /// The DHT as the node's conductor answers it, once attached ([`Sidecar::dht`]).
    dht: OnceLock<Arc<dyn Dht>>,
    /// The owner's credential, for the routes that act as the node's agent.
    pub owner: OwnerKey,
    /// What the custodian worker last did, when the node serves as custodian.
    pub custodian: std::sync::Mutex<Option<crate::custodian::snapshot::Snapshot>>,
    /// One permit per upload taking bytes at once (`config.limits.max_uploads`).
    pub upload_slots: Arc<tokio::sync::Semaphore>,
    /// Where blobs this node does not hold can be fetched from, briefly cached.
    pub(crate) remote: crate::fetch_through::remote::RemoteBlobs,
    /// Blobs being pulled here, whose chunks peers may already take.
    pub pulling: crate::replicate::pulling::Pulling,
    /// What anonymous uploaders hold, when a node takes their uploads.
    pub anonymous: Option<Arc<crate::anonymous::AnonymousUploads>>,
    /// The SFU for live calls, when they are on.
    pub rtc: Option<Arc<crate::rtc::Sfu>>,
    /// The background workers and their statuses.
    pub workers: Arc<crate::worker::Workers>,
    /// Hands invited content to its invitees.
    pub shares: crate::shares::Shares,
}

impl Sidecar {
    /// Opens the data directory with the filesystem store.
    pub fn open(config: Config) -> std::io::Result<Arc<Self>> {
        std::fs::create_dir_all(&config.data_dir)?;
        // Chunks, uploads in progress, ladder files and the owner's credential are the
        // node user's alone: no other user may even look inside.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&config.data_dir, std::fs::Permissions::from_mode(0o700))?;
        let store: Arc<dyn ChunkStore> = Arc::new(FsStore::open(&config.data_dir)?);
        Self::with_store(config, store)
    }

    /// Opens the data directory's indexes over the given chunk store.
    pub fn with_store(config: Config, store: Arc<dyn ChunkStore>) -> std::io::Result<Arc<Self>> {
        let metrics = Arc::new(Metrics::new());
        let tiers = Arc::new(Tiers::new(config.cache, &metrics));
        let owner = OwnerKey::open(&config.data_dir)?;
        let upload_slots = Arc::new(tokio::sync::Semaphore::new(config.limits.max_uploads.max(1)));
        let blobs = BlobIndex::open(&config.data_dir, tiers.clone())?;
        let anonymous = match config.anonymous_uploads {
            Some(quotas) => Some(Arc::new(crate::anonymous::AnonymousUploads::open(
                quotas, &blobs,
            )?)),
            None => None,
        };
        let rtc = match &config.rtc {
            Some(settings) => Some(Arc::new(crate::rtc::Sfu::start(
                settings,
                &config.recordings_dir(),
                config.bandwidth.cap(),
            )?)),
            None => None,
        };
        let workers = Arc::new(crate::worker::Workers::open(&config.data_dir));
        Ok(Arc::new(Sidecar {
            rtc,
            reader: Arc::new(ChunkReader::new(store, tiers.clone(), metrics.clone())),
            blobs,
            tiers,
            uploads: TusUploads::open(&config.data_dir)?,
            metrics,
            config,
            access: AccessCache::default(),
            dht: OnceLock::new(),
            ladders: Ladders::default(),
            owner,
            custodian: Default::default(),
            upload_slots,
            remote: Default::default(),
            pulling: Default::default(),
            anonymous,
            workers,
            shares: Default::default(),
        }))
    }

    /// A slot for one upload's bytes, held until the returned permit drops; `Busy` (503,
    /// `Retry-After`) when every slot is taken, so uploads cannot tie up the node.
    pub fn upload_slot(&self) -> Result<tokio::sync::OwnedSemaphorePermit, crate::error::ApiError> {
        self.upload_slots
            .clone()
            .try_acquire_owned()
            .map_err(|_| crate::error::ApiError::Busy {
                what: "every upload slot is taken",
                retry_after: 5,
            })
    }

    /// Forgets what the DHT said about `blob`'s audience, so that the next read asks again
    /// (it is otherwise reused for a few seconds).
    pub async fn forget_access(&self, blob: &media_store::hash::Hash32) {
        self.access.invalidate(blob).await;
    }

    /// Wires the sidecar to its conductor's DHT (once).
    pub fn attach(&self, dht: Arc<dyn Dht>) {
        let _ = self.dht.set(dht);
    }

    /// The DHT this sidecar asks: its node's conductor, or [`Standalone`] until one is
    /// attached (no agent; commons semantics; writes refused).
    pub fn dht(&self) -> &dyn Dht {
        match self.dht.get() {
            Some(dht) => dht.as_ref(),
            None => &Standalone,
        }
    }

    /// The conductor's DHT, when one is attached, for work that outlives a request.
    pub fn attached(&self) -> Option<Arc<dyn Dht>> {
        self.dht.get().cloned()
    }

    /// Hands this node's invited content to its invitees soon.
    pub fn deliver_shares(&self) {
        self.shares.nudge(&self.workers, self.attached());
    }

    /// [`Sidecar::dht`] as its node's agent sees it; `None` for a standalone sidecar.
    pub fn node(&self) -> Option<crate::dht::Node<'_>> {
        crate::dht::Node::of(self.dht())
    }

    /// Whether this sidecar serves a node's agent (and so checks who reads, and takes
    /// writes from the owner only), rather than running standalone with commons semantics.
    pub fn is_node(&self) -> bool {
        self.node().is_some()
    }
}

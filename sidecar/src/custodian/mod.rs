//! The custodian worker: a node that committed as a Storage or Cache custodian keeps the
//! blobs placement gives it. Each round it reads the DHT's facts (live commitments, the
//! content its agent may hold, each blob's replicas), places every blob with the shared
//! rendezvous rule, pulls what it should hold and lacks (from replicas, then the author's
//! sidecar, then fallback URLs), re-verifies what it holds, records its ReplicaStatus, and
//! drops blobs it no longer should keep (content past retention, or placed elsewhere).
//!
//! Repair needs no coordinator: a replica whose status was not refreshed within the TTL
//! counts as lost, so every node's ranking skips that custodian and the next one in
//! rendezvous order takes the blob over.
//!
//! A round does not grow with the whole library: the content is read whole only every few
//! rounds ([`catalog`]), manifests are read once found (they never change), and a blob's
//! replicas are read only when this custodian keeps it or stands within [`LOST_MARGIN`]
//! places of the wanted count in the ranking by commitments alone.

pub mod catalog;
pub(crate) mod plan;
pub(crate) mod snapshot;

pub use plan::LOST_MARGIN;
pub use snapshot::{HeldReplica, Snapshot};

use crate::dht::{Dht, Node};
use crate::error::ApiError;
use crate::replicate::pull;
use crate::sources::{self, Holders};
use crate::state::Sidecar;
use futures_util::StreamExt;
use hdi::prelude::{ActionHash, AgentPubKey, Timestamp};
use media_api::{CommitmentView, ContentView, ManifestView, RefreshReplicaInput, ReplicaView};
use media_integrity::{CustodianCommitment, ReplicaStatus};
use media_rules::placement::{Blob, Custodian, Ranking};
use media_rules::reach::Audience;
use media_rules::replica;
use media_rules::role::MediaRole;
use media_rules::{BandwidthClass, Reach, ReplicaState};
use media_store::blobs::Keeper;
use media_store::hash::Hash32;
use plan::{ContentStep, Duty, Standing};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

/// How a node serves as custodian.
#[derive(Debug, Clone)]
pub struct CustodianConfig {
    /// Storage or Cache, with its capacity.
    pub role: MediaRole,
    /// What its link can carry.
    pub bandwidth: BandwidthClass,
    /// Where it is, for place-bound content.
    pub place: Option<media_rules::Place>,
    /// The base URL other nodes reach its sidecar at.
    pub endpoint: String,
    /// Time between rounds.
    pub interval: Duration,
    /// A replica not refreshed for this long counts as lost.
    pub replica_ttl: Duration,
    /// How often every held chunk is read back and re-hashed.
    pub scrub_interval: Duration,
    /// How long each commitment lasts before it is renewed.
    pub commitment_ttl: Duration,
}

impl CustodianConfig {
    /// A configuration from the node's flags: `role` is `storage:GB` or `cache:GB` (a
    /// cache serves commons content), `bandwidth` a class name, `place` a place path.
    pub fn from_flags(
        role: &str,
        bandwidth: &str,
        place: Option<&str>,
        endpoint: String,
    ) -> Result<Self, String> {
        let (kind, amount) = role.split_once(':').ok_or_else(|| {
            format!("--custodian wants storage:GB, cache:GB or relay:STREAMS:MBPS, got '{role}'")
        })?;
        let number = |text: &str, what: &str| {
            text.parse::<u32>()
                .map_err(|_| format!("--custodian: '{text}' is not a number of {what}"))
        };
        let role = match kind {
            "storage" => MediaRole::Storage {
                max_storage_gb: number(amount, "GB")?,
                chunk_redundancy: 1,
            },
            "cache" => MediaRole::Cache {
                max_cache_gb: number(amount, "GB")?,
                serve_to_reach: vec![Reach::Commons.as_str().into()],
            },
            "relay" => {
                let (streams, mbps) = amount
                    .split_once(':')
                    .ok_or_else(|| format!("--custodian relay wants relay:STREAMS:MBPS, got '{role}'"))?;
                MediaRole::Relay {
                    max_concurrent_streams: number(streams, "streams")?,
                    bandwidth_mbps: number(mbps, "Mbit/s")?,
                }
            }
            other => {
                return Err(format!(
                    "--custodian: unknown role '{other}'; expected storage, cache or relay"
                ))
            }
        };
        role.check()?;
        Ok(CustodianConfig {
            role,
            bandwidth: BandwidthClass::parse(bandwidth).map_err(|e| format!("--bandwidth: {e}"))?,
            place: place.map(media_rules::Place::parse_path).transpose()?,
            endpoint,
            interval: Duration::from_secs(30),
            replica_ttl: Duration::from_secs(3600),
            scrub_interval: Duration::from_secs(24 * 3600),
            commitment_ttl: Duration::from_secs(7 * 86_400),
        })
    }
}

/// What one round did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RoundReport {
    /// Blobs placed here.
    pub assigned: usize,
    /// Blobs pulled (fully or in part) this round.
    pub pulled: usize,
    /// Replica statuses written (new or refreshed).
    pub recorded: usize,
    /// Blobs dropped.
    pub evicted: usize,
    /// Blobs placed far from this custodian: their replicas were not read.
    pub skipped: usize,
}

/// A replica this custodian keeps.
struct Held {
    /// Our newest status for it.
    replica: ReplicaView,
    /// The blob.
    blob: Hash32,
    /// The author of the content it is a replica of.
    author: AgentPubKey,
}

/// A running custodian: the commitment it acts under and the replicas it wrote.
pub struct Worker {
    state: Arc<Sidecar>,
    config: CustodianConfig,
    commitment: CommitmentView,
    /// Our replica status per manifest, with the blob it is for.
    mine: HashMap<ActionHash, Held>,
    /// When each of our replicas was first found unwanted without a clear reason (its
    /// content missing from a listing): dropped only after a replica TTL, so that a DHT
    /// read that misses some links does not make custodians throw copies away.
    unwanted_since: HashMap<ActionHash, std::time::Instant>,
    /// When each held blob was last scrubbed.
    scrubbed: HashMap<Hash32, std::time::Instant>,
    /// The content it knows of.
    catalog: catalog::Catalog,
    /// What placement needs of each manifest read.
    facts: HashMap<ActionHash, (Hash32, u64)>,
    /// Whole manifests of the blobs it keeps or stands near.
    manifests: HashMap<ActionHash, Arc<ManifestView>>,
    /// Whether the next round reads the replicas of every blob (the first one does, so a
    /// restarted custodian finds the replicas it wrote before).
    scan_all: bool,
    /// Statuses written citing the current commitment version.
    statuses_since_renewal: u32,
}

/// Blobs a custodian pulls at once in a round.
pub const PARALLEL_PULLS: usize = 3;

/// Where an assigned blob stands before a round pulls.
enum Hold {
    /// Here and intact.
    Held,
    /// Not here, and no room for it.
    NoRoom,
    /// To pull, from these sources.
    Pull(PullJob),
}

/// A pull a round runs, with the others, once it knows them all.
struct PullJob {
    sources: crate::replicate::Sources,
    keeper: Keeper,
}

/// The DHT of the node this custodian serves.
fn link(state: &Sidecar) -> Result<Arc<dyn Dht>, ApiError> {
    state.attached().ok_or(ApiError::NeedsNode("a custodian"))
}

/// `dht` as its node's agent sees it.
fn node(dht: &Arc<dyn Dht>) -> Result<Node<'_>, ApiError> {
    Node::of(dht.as_ref()).ok_or(ApiError::NeedsNode("a custodian"))
}

/// Commits as custodian and runs the rounds, all in the background: a node whose network
/// does not answer yet (its peers are unreachable, or went away while it was down) keeps
/// running and commits once it can, trying again after a wait that grows
/// ([`crate::worker`]).
pub fn spawn_when_committed(state: Arc<Sidecar>, config: CustodianConfig) -> tokio::task::JoinHandle<()> {
    let workers = state.workers.clone();
    workers.spawn(Custodianship::Committing {
        state,
        config: Box::new(config),
    })
}

/// Commits as custodian, then runs the rounds in the background.
pub async fn spawn(
    state: Arc<Sidecar>,
    config: CustodianConfig,
) -> Result<tokio::task::JoinHandle<()>, ApiError> {
    let worker = Worker::start(state, config).await?;
    let workers = worker.state.workers.clone();
    Ok(workers.spawn(Custodianship::Rounds(Box::new(worker))))
}

/// A custodian as background work: committing until that succeeds, then a round every
/// interval.
enum Custodianship {
    /// Not committed yet.
    Committing {
        /// The sidecar.
        state: Arc<Sidecar>,
        /// What to commit to.
        config: Box<CustodianConfig>,
    },
    /// Committed: its rounds.
    Rounds(Box<Worker>),
}

#[async_trait::async_trait]
impl crate::worker::Work for Custodianship {
    fn name(&self) -> &'static str {
        "custodian"
    }

    async fn step(&mut self) -> Result<crate::worker::Step, String> {
        match self {
            Custodianship::Committing { state, config } => {
                let worker = Worker::start(state.clone(), (**config).clone())
                    .await
                    .map_err(|e| format!("committing as custodian: {e}"))?;
                *self = Custodianship::Rounds(Box::new(worker));
                Ok(crate::worker::Step::Busy)
            }
            Custodianship::Rounds(worker) => {
                let report = worker
                    .round()
                    .await
                    .map_err(|e| format!("custodian round: {e}"))?;
                if report.pulled + report.recorded + report.evicted > 0 {
                    tracing::info!(?report, "custodian round");
                }
                Ok(crate::worker::Step::Idle(worker.config.interval))
            }
        }
    }

    fn retry_after(&self, failures: u32) -> Duration {
        match self {
            // A round that failed is the next round's to mend.
            Custodianship::Rounds(worker) => worker.config.interval,
            Custodianship::Committing { .. } => crate::worker::backoff(failures, crate::worker::FIRST_WAIT),
        }
    }
}

fn now() -> Timestamp {
    crate::clock::now()
}

fn later(d: Duration) -> Timestamp {
    Timestamp::from_micros(now().as_micros() + d.as_micros() as i64)
}

/// The replica statuses as the health rules read them.
fn reports(replicas: &[ReplicaView]) -> Vec<replica::Report<'_, AgentPubKey>> {
    replicas
        .iter()
        .map(|r| replica::Report {
            custodian: &r.custodian,
            state: ReplicaState::parse(&r.status.state).ok(),
            written_at: r.updated_at.as_micros(),
            age_secs: age(r.updated_at).as_secs(),
        })
        .collect()
}

fn age(t: Timestamp) -> Duration {
    Duration::from_micros((now().as_micros() - t.as_micros()).max(0) as u64)
}

impl Worker {
    /// Commits this node's agent as a custodian (renewing a commitment it already has).
    pub async fn start(state: Arc<Sidecar>, config: CustodianConfig) -> Result<Self, ApiError> {
        let dht = link(&state)?;
        let link = node(&dht)?;
        let commitment = CustodianCommitment {
            media_role: config.role.clone(),
            bandwidth_class: config.bandwidth.as_str().into(),
            cache_priority: 50,
            place: config.place.clone(),
            endpoint: config.endpoint.clone(),
            expires_at: later(config.commitment_ttl),
        };
        let live = link.live_commitments().await?;
        let commitment = match live.into_iter().find(|c| &c.author == link.agent()) {
            Some(existing) => {
                link.update_commitment(media_api::UpdateCommitmentInput {
                    id: existing.id,
                    commitment,
                })
                .await?
            }
            None => link.commit_as_custodian(commitment).await?,
        };
        Ok(Worker {
            state,
            config,
            commitment,
            mine: HashMap::new(),
            unwanted_since: HashMap::new(),
            scrubbed: HashMap::new(),
            catalog: catalog::Catalog::default(),
            facts: HashMap::new(),
            manifests: HashMap::new(),
            scan_all: true,
            statuses_since_renewal: 0,
        })
    }

    /// Runs a round every interval, for as long as the node runs.
    pub async fn run(self) {
        let workers = self.state.workers.clone();
        workers.run(Custodianship::Rounds(Box::new(self))).await
    }

    /// One round: place, pull, verify, record, evict.
    pub async fn round(&mut self) -> Result<RoundReport, ApiError> {
        let dht = link(&self.state)?;
        let link = node(&dht)?;
        let me = link.agent().clone();
        self.renew_if_due(link).await?;
        let commitments = link.live_commitments().await?;
        let contents = self.catalog.refresh(link).await?;
        tracing::debug!(
            contents = contents.len(),
            live = commitments.len(),
            "custodian: a round starts"
        );
        let mut report = RoundReport::default();
        let mut keep: HashSet<Hash32> = HashSet::new();
        // Our replicas that clearly should go now: retired content, or extra copies of a
        // blob whose placed custodians are all verified.
        let mut settled: HashSet<ActionHash> = HashSet::new();
        let mut repair_queue = Vec::new();
        let mut pulls = Vec::new();
        // The blobs held and recorded this round, whose statuses stay fresh during pulls.
        let mut kept = Vec::new();
        for content in &contents {
            let step = plan::content_step(
                &content.content.lifecycle,
                &content.content.reach,
                content.content.retention_days,
                age(content.updated_at).as_secs(),
                content.author == me,
            );
            let reach = match step {
                ContentStep::Retired => {
                    settled.extend(content.content.blobs.iter().cloned());
                    continue;
                }
                ContentStep::Own | ContentStep::Unknown => continue,
                ContentStep::Place(reach) => reach,
            };
            for manifest_id in &content.content.blobs {
                // A manifest not found yet, or a read that failed, is tried again next
                // round; the other blobs go on.
                let (blob, size) = match self.facts_of(link, manifest_id).await {
                    Ok(Some(facts)) => facts,
                    Ok(None) => {
                        tracing::debug!(%manifest_id, "custodian: a manifest not found yet");
                        continue;
                    }
                    Err(e) => {
                        tracing::warn!(%manifest_id, error = %e, "custodian: reading a manifest failed");
                        continue;
                    }
                };
                // Where this custodian stands by the commitments alone (silent ones are
                // out): placed whatever the replicas say, near enough to read them, or far.
                let ranking = self.ranked(content, reach, (&blob, size), &commitments);
                let standing = plan::standing(
                    ranking.position(&me),
                    ranking.wanted(),
                    self.mine.contains_key(manifest_id),
                );
                if standing == Standing::Far && !self.scan_all {
                    // Only its facts stay in memory.
                    self.manifests.remove(manifest_id);
                    report.skipped += 1;
                    continue;
                }
                let Some(view) = self.manifest(link, manifest_id).await? else {
                    continue;
                };
                if standing == Standing::Far {
                    self.manifests.remove(manifest_id);
                }
                let replicas: Vec<ReplicaView> = match standing {
                    Standing::Sure => Vec::new(),
                    Standing::Near | Standing::Far => link.replicas(manifest_id).await?,
                };
                let own = replicas.iter().find(|r| {
                    r.custodian == me
                        && ReplicaState::parse(&r.status.state).is_ok_and(ReplicaState::holds_bytes)
                });
                if let Some(own) = own {
                    // Replicas written before a restart are ours to refresh or evict.
                    self.mine.entry(manifest_id.clone()).or_insert_with(|| Held {
                        replica: own.clone(),
                        blob,
                        author: content.author.clone(),
                    });
                }
                let ttl = self.config.replica_ttl.as_secs();
                let reports = reports(&replicas);
                let lost: Vec<AgentPubKey> = replica::lost(&reports, ttl).into_iter().cloned().collect();
                let holders = ranking.holders(&lost);
                let keeps = self.mine.contains_key(manifest_id);
                let duty = plan::duty(&me, &holders, keeps, replica::covered(&holders, &reports, ttl));
                tracing::debug!(
                    %blob,
                    position = ?ranking.position(&me),
                    wanted = ranking.wanted(),
                    ?lost,
                    ?holders,
                    reports = ?reports.iter().map(|r| (r.custodian.to_string(), r.state, r.age_secs)).collect::<Vec<_>>(),
                    ?duty,
                    "custodian: a blob's placement"
                );
                match duty {
                    Duty::Hold => report.assigned += 1,
                    Duty::Interim => {}
                    Duty::Release => {
                        settled.insert(manifest_id.clone());
                        continue;
                    }
                    Duty::Nothing => continue,
                }
                keep.insert(blob);
                // One blob that cannot be fetched or recorded does not hold up the others.
                let held = self
                    .hold(link, content, reach, &view, (&commitments, &holders), &replicas)
                    .await;
                let recorded = match held {
                    Ok(Hold::Held) => {
                        let recorded = self.record(link, content, manifest_id, &view, &mut report).await;
                        if recorded.is_ok() {
                            kept.push((content.clone(), manifest_id.clone(), view.clone()));
                        }
                        recorded
                    }
                    Ok(Hold::NoRoom) => {
                        repair_queue.push(blob.to_hex());
                        Ok(())
                    }
                    Ok(Hold::Pull(job)) => {
                        pulls.push((content.clone(), manifest_id.clone(), view, job));
                        Ok(())
                    }
                    Err(e) => Err(e),
                };
                if let Err(e) = recorded {
                    tracing::warn!(%blob, error = %e, "custodian: this blob is not kept yet");
                    repair_queue.push(blob.to_hex());
                }
            }
        }
        // Several blobs are pulled at once, at most PARALLEL_PULLS, then recorded.
        let state = self.state.clone();
        let mut pulling =
            futures_util::stream::iter(pulls.into_iter().map(|(content, manifest_id, view, job)| {
                let state = state.clone();
                let manifest = view.clone();
                // A task of its own, so a pull goes on while the heartbeat below writes (and
                // stops with the round).
                let pulling = tokio_util::task::AbortOnDropHandle::new(tokio::spawn(async move {
                    pull(&state, &manifest.manifest, &job.sources, &job.keeper).await
                }));
                async move {
                    let result = pulling
                        .await
                        .unwrap_or_else(|e| Err(ApiError::Internal(format!("a pull failed: {e}"))));
                    (content, manifest_id, view, result)
                }
            }))
            .buffer_unordered(PARALLEL_PULLS);
        // Pulls can outlast a TTL (gigabytes over a slow link): the heartbeat goes on
        // meanwhile, and so do the refreshes of what is kept already, or the others would
        // take this custodian for silent, or its replicas for lost, and place elsewhere.
        let mut heartbeat = tokio::time::interval(replica::refresh_period(self.config.replica_ttl) / 2);
        heartbeat.tick().await;
        let mut pulled = Vec::new();
        loop {
            tokio::select! {
                next = pulling.next() => match next {
                    Some(done) => pulled.push(done),
                    None => break,
                },
                _ = heartbeat.tick() => {
                    if let Err(e) = self.renew_if_due(link).await {
                        tracing::warn!(error = %e, "custodian: renewing the commitment during pulls failed");
                    }
                    for (content, manifest_id, view) in &kept {
                        if let Err(e) = self.record(link, content, manifest_id, view, &mut report).await {
                            tracing::warn!(%manifest_id, error = %e, "custodian: refreshing a status during pulls failed");
                        }
                    }
                }
            }
        }
        for (content, manifest_id, view, result) in pulled {
            let blob = view.manifest.hash.clone();
            let recorded = match result {
                Ok(_) => {
                    report.pulled += 1;
                    self.record(link, &content, &manifest_id, &view, &mut report)
                        .await
                }
                Err(e) => Err(e),
            };
            if let Err(e) = recorded {
                tracing::warn!(%blob, error = %e, "custodian: this blob is not kept yet");
                repair_queue.push(blob);
            }
        }
        report.evicted = self.evict_unwanted(link, &keep, &settled).await?;
        self.scan_all = false;
        self.publish_snapshot(repair_queue);
        Ok(report)
    }

    /// Renews the commitment when it is half-way to expiry or a refresh period old.
    /// Renewing is also the heartbeat: others take a custodian whose commitment was last
    /// renewed more than a replica TTL ago for silent (`media_rules::replica`).
    async fn renew_if_due(&mut self, link: Node<'_>) -> Result<(), ApiError> {
        let left = self.commitment.commitment.expires_at.as_micros() - now().as_micros();
        if left < (self.config.commitment_ttl / 2).as_micros() as i64
            || age(self.commitment.updated_at) >= replica::refresh_period(self.config.replica_ttl)
        {
            self.renew(link).await?;
        }
        Ok(())
    }

    /// Shows what this custodian holds and still has to fetch in the node's status.
    fn publish_snapshot(&self, repair_queue: Vec<String>) {
        let c = &self.commitment;
        let snapshot = Snapshot {
            role: self.config.role.name().into(),
            capacity_bytes: self.config.role.capacity_bytes(),
            commitment: c.id.to_string(),
            expires_at: c.commitment.expires_at.as_micros(),
            replicas: self
                .mine
                .iter()
                .map(|(manifest, held)| HeldReplica {
                    blob: held.blob.to_hex(),
                    manifest: manifest.to_string(),
                    author: held.author.to_string(),
                    state: held.replica.status.state.clone(),
                    chunks_held: held.replica.status.chunks_held,
                })
                .collect(),
            repair_queue,
            last_round_at: now().as_micros(),
        };
        *self.state.custodian.lock().unwrap_or_else(|e| e.into_inner()) = Some(snapshot);
    }

    /// The custodians in the order placement gives a blob: rendezvous order over the live
    /// commitments, skipping those whose commitment went silent. The first as many as its
    /// reach wants that are not lost hold it.
    fn ranked(
        &self,
        content: &ContentView,
        reach: Reach,
        (hash, size): (&Hash32, u64),
        commitments: &[CommitmentView],
    ) -> Ranking<AgentPubKey> {
        let keys: Vec<Vec<u8>> = commitments
            .iter()
            .map(|c| c.author.get_raw_39().to_vec())
            .collect();
        let bandwidths: Vec<BandwidthClass> = commitments
            .iter()
            .map(|c| BandwidthClass::parse(&c.commitment.bandwidth_class).unwrap_or(BandwidthClass::Low))
            .collect();
        let ttl = self.config.replica_ttl.as_secs();
        let candidates: Vec<Custodian<'_, AgentPubKey>> = commitments
            .iter()
            .enumerate()
            .filter(|(_, c)| !replica::is_silent(age(c.updated_at).as_secs(), ttl))
            .map(|(i, c)| Custodian {
                agent: &c.author,
                id: &keys[i],
                role: &c.commitment.media_role,
                bandwidth: bandwidths[i],
                place: c.commitment.place.as_ref(),
                used_bytes: 0,
            })
            .collect();
        let blob = Blob {
            hash: &hash.0,
            size,
            reach,
            audience: Audience {
                author: &content.author,
                invitees: &content.content.invitees,
                place: content.content.place.as_ref(),
            },
        };
        Ranking::of(&blob, &candidates)
    }

    /// What placement needs of a manifest (its blob's hash and size), read once it is
    /// found. One not found yet (its content arrived before it over the DHT) is asked for
    /// again next round: validation lets content cite nothing but manifests.
    async fn facts_of(&mut self, link: Node<'_>, id: &ActionHash) -> Result<Option<(Hash32, u64)>, ApiError> {
        if let Some(facts) = self.facts.get(id) {
            return Ok(Some(*facts));
        }
        let Some(view) = self.manifest(link, id).await? else {
            return Ok(None);
        };
        let facts = (view.manifest.hash.parse()?, view.manifest.size);
        self.facts.insert(id.clone(), facts);
        Ok(Some(facts))
    }

    /// A whole manifest, read once while this custodian keeps or stands near its blob.
    async fn manifest(
        &mut self,
        link: Node<'_>,
        id: &ActionHash,
    ) -> Result<Option<Arc<ManifestView>>, ApiError> {
        if let Some(view) = self.manifests.get(id) {
            return Ok(Some(view.clone()));
        }
        let view = link.manifest(id).await?;
        let view = view.map(Arc::new);
        if let Some(view) = &view {
            self.manifests.insert(id.clone(), view.clone());
        }
        Ok(view)
    }

    /// Whether the blob is here and intact, or what pulling it takes.
    async fn hold(
        &mut self,
        link: Node<'_>,
        content: &ContentView,
        reach: Reach,
        view: &ManifestView,
        (commitments, placed): (&[CommitmentView], &[AgentPubKey]),
        replicas: &[ReplicaView],
    ) -> Result<Hold, ApiError> {
        let blob: Hash32 = view.manifest.hash.parse()?;
        let keeper = Keeper::ReplicaOf(content.author.to_string());
        if self.held_intact(&blob).await? {
            self.state.blobs.keep(view.manifest.0.clone(), &keeper)?;
            return Ok(Hold::Held);
        }
        let free = self
            .config
            .role
            .capacity_bytes()
            .saturating_sub(self.state.reader.store().bytes_used()?);
        if free < view.manifest.size {
            tracing::warn!(blob = %blob, "no room left for an assigned blob");
            return Ok(Hold::NoRoom);
        }
        // The author's node: where its commitment says, or the endpoint it published.
        let author_endpoint = match commitments.iter().find(|c| c.author == content.author) {
            Some(c) => Some(c.commitment.endpoint.clone()),
            None => link.endpoint_of(&content.author).await?,
        };
        let holders = Holders {
            replicas,
            live: self.config.replica_ttl,
            author: (&content.author, author_endpoint),
            // The others placed on it pull it now too: the swarm shares their chunks.
            assigned: placed
                .iter()
                .filter_map(|agent| commitments.iter().find(|c| &c.author == agent))
                .filter(|c| !c.commitment.endpoint.is_empty())
                .map(|c| (c.author.clone(), c.commitment.endpoint.clone()))
                .collect(),
            circle: sources::circle_of(reach, &content.author, &content.content.invitees),
        };
        let sources = sources::for_blob(link, &blob, &view.manifest, holders, reach.is_public()).await?;
        Ok(Hold::Pull(PullJob { sources, keeper }))
    }

    /// Whether every chunk of a held blob is here; once per scrub interval, also whether
    /// each hashes right. A corrupt chunk is quarantined, so the next pull fetches it again.
    async fn held_intact(&mut self, blob: &Hash32) -> Result<bool, ApiError> {
        let Some(record) = self.state.blobs.get(blob)? else {
            return Ok(false);
        };
        let due = self
            .scrubbed
            .get(blob)
            .is_none_or(|at| at.elapsed() >= self.config.scrub_interval);
        for hash in record.chunk_hashes()? {
            let intact = if due {
                self.state.reader.scrub(hash).await.is_ok()
            } else {
                self.state.reader.store().has(&hash)?
            };
            if !intact {
                self.scrubbed.remove(blob);
                return Ok(false);
            }
        }
        if due {
            self.scrubbed.insert(*blob, std::time::Instant::now());
        }
        Ok(true)
    }

    /// Writes or refreshes our ReplicaStatus for a held blob: `stored` when the bytes first
    /// arrive, `verified` from the next scrub on, refreshed every [`replica::refresh_period`]
    /// so others never see it stale while we run.
    async fn record(
        &mut self,
        link: Node<'_>,
        content: &ContentView,
        manifest: &ActionHash,
        view: &ManifestView,
        report: &mut RoundReport,
    ) -> Result<(), ApiError> {
        let blob: Hash32 = view.manifest.hash.parse()?;
        let mut status = ReplicaStatus {
            // The version read: the one that lists this blob (a rendition is added by an
            // update) and names this custodian's audience (an invitee too).
            content: content.version.clone(),
            manifest: manifest.clone(),
            // Replaced by the version cited when a status is written (`cite_commitment`).
            commitment: self.commitment.version.clone(),
            state: ReplicaState::Stored.as_str().into(),
            chunks_held: view.manifest.chunks.len() as u32,
            last_verified: None,
        };
        let replica: ReplicaView = match self.mine.get(manifest).map(|held| &held.replica) {
            Some(existing)
                if existing.status.state == ReplicaState::Verified.as_str()
                    && age(existing.updated_at) < replica::refresh_period(self.config.replica_ttl) =>
            {
                return Ok(());
            }
            Some(existing) => {
                let id = existing.id.clone();
                status.state = ReplicaState::Verified.as_str().into();
                status.last_verified = Some(now());
                status.commitment = self.cite_commitment(link).await?;
                link.refresh_replica(RefreshReplicaInput { id, status }).await?
            }
            None => {
                status.commitment = self.cite_commitment(link).await?;
                link.record_replica(status).await?
            }
        };
        report.recorded += 1;
        self.mine.insert(
            manifest.clone(),
            Held {
                replica,
                blob,
                author: content.author.clone(),
            },
        );
        Ok(())
    }

    /// Gives up the replicas we keep that no longer should be here and marks them evicted.
    /// The blob record goes only when the node keeps the blob for nobody else (its own
    /// upload, another author's replica); the chunks are left to the sweep, which deletes
    /// only what no record lists.
    async fn evict_unwanted(
        &mut self,
        link: Node<'_>,
        keep: &HashSet<Hash32>,
        settled: &HashSet<ActionHash>,
    ) -> Result<usize, ApiError> {
        let gone = plan::evictions(
            self.mine.iter().map(|(m, held)| (m, &held.blob)),
            keep,
            settled,
            &mut self.unwanted_since,
            std::time::Instant::now(),
            self.config.replica_ttl,
        );
        for manifest in &gone {
            self.unwanted_since.remove(manifest);
            // Cited first: a renewal that fails leaves the replica kept, to go next round.
            let commitment = self.cite_commitment(link).await?;
            let Some(Held {
                replica,
                blob,
                author,
            }) = self.mine.remove(manifest)
            else {
                continue;
            };
            self.state.blobs.release(&blob, &author.to_string())?;
            let mut status = replica.status.clone();
            status.commitment = commitment;
            status.state = ReplicaState::Evicted.as_str().into();
            status.chunks_held = 0;
            link.refresh_replica(RefreshReplicaInput {
                id: replica.id.clone(),
                status,
            })
            .await?;
            tracing::info!(blob = %blob, "evicted");
        }
        Ok(gone.len())
    }

    /// The commitment version the next status cites, renewed first once
    /// [`replica::STATUSES_PER_RENEWAL`] statuses cite the current one: validating a status
    /// reads the chain written since that version.
    async fn cite_commitment(&mut self, link: Node<'_>) -> Result<ActionHash, ApiError> {
        if replica::renews_before_status(self.statuses_since_renewal) {
            self.renew(link).await?;
        }
        self.statuses_since_renewal += 1;
        Ok(self.commitment.version.clone())
    }

    async fn renew(&mut self, link: Node<'_>) -> Result<(), ApiError> {
        let mut commitment = self.commitment.commitment.clone();
        commitment.expires_at = later(self.config.commitment_ttl);
        self.commitment = link
            .update_commitment(media_api::UpdateCommitmentInput {
                id: self.commitment.id.clone(),
                commitment,
            })
            .await?;
        self.statuses_since_renewal = 0;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(role: &str) -> Result<CustodianConfig, String> {
        CustodianConfig::from_flags(role, "high", None, "http://127.0.0.1:1".into())
    }

    #[test]
    fn roles_are_read_from_the_flag_and_checked() {
        assert_eq!(
            flags("relay:40:100").unwrap().role,
            MediaRole::Relay {
                max_concurrent_streams: 40,
                bandwidth_mbps: 100
            }
        );
        assert_eq!(flags("storage:5").unwrap().role.capacity_bytes(), 5_000_000_000);
        assert!(flags("relay:40").unwrap_err().contains("relay:STREAMS:MBPS"));
        assert!(flags("relay:0:100")
            .unwrap_err()
            .contains("max_concurrent_streams"));
        assert!(flags("relay:x:100").unwrap_err().contains("'x'"));
        assert!(flags("mirror:5").unwrap_err().contains("unknown role"));
    }

    /// A node with the fake DHT attached, as its agent (seed 1) sees it.
    struct Node {
        _dir: tempfile::TempDir,
        state: Arc<Sidecar>,
        dht: Arc<crate::dht::fake::FakeDht>,
    }

    fn node() -> Node {
        let dir = tempfile::tempdir().unwrap();
        let state = Sidecar::open(crate::config::Config::on_loopback(dir.path().to_path_buf())).unwrap();
        let dht = Arc::new(crate::dht::fake::FakeDht::new(crate::dht::fake::FakeAgent::new(
            1,
        )));
        state.attach(dht.clone());
        Node {
            _dir: dir,
            state,
            dht,
        }
    }

    /// A one-chunk blob of `data`.
    fn manifest_of(data: &[u8]) -> media_rules::manifest::BlobManifest {
        let hash = Hash32::of(data).to_hex();
        media_rules::manifest::BlobManifest {
            hash: hash.clone(),
            size: data.len() as u64,
            mime_type: "video/mp4".into(),
            codec: None,
            chunk_size: media_rules::limits::DEFAULT_CHUNK_SIZE,
            chunks: vec![hash],
            bitrate_kbps: None,
            duration_ms: None,
            variants: Vec::new(),
            segments: None,
            fallback_urls: Vec::new(),
        }
    }

    /// `author`'s commons content `title` of one blob of `data`, whose bytes this node
    /// keeps already (so placing it is recording it): the blob's manifest.
    fn kept_commons(
        state: &Sidecar,
        dht: &crate::dht::fake::FakeDht,
        author: &AgentPubKey,
        title: &str,
        data: &[u8],
    ) -> ManifestView {
        let manifest = manifest_of(data);
        state.reader.store().put(&Hash32::of(data), &[data]).unwrap();
        state
            .blobs
            .keep(manifest.clone(), &Keeper::ReplicaOf(author.to_string()))
            .unwrap();
        let view = dht.put_manifest(author, media_integrity::BlobManifest(manifest));
        dht.put_content(
            author,
            crate::dht::fake::content_node(title, "commons", vec![view.id.clone()]),
        );
        view
    }

    fn storage() -> CustodianCommitment {
        CustodianCommitment {
            media_role: MediaRole::Storage {
                max_storage_gb: 100,
                chunk_redundancy: 1,
            },
            bandwidth_class: "high".into(),
            cache_priority: 50,
            place: None,
            endpoint: String::new(),
            expires_at: later(Duration::from_secs(86_400)),
        }
    }

    fn verified(content: &ContentView, manifest: &ActionHash, commitment: &ActionHash) -> ReplicaStatus {
        ReplicaStatus {
            content: content.version.clone(),
            manifest: manifest.clone(),
            commitment: commitment.clone(),
            state: ReplicaState::Verified.as_str().into(),
            chunks_held: 1,
            last_verified: Some(now()),
        }
    }

    #[tokio::test]
    async fn a_custodian_placed_elsewhere_gives_up_its_replica_and_the_nodes_own_upload_stays() {
        let Node { _dir, state, dht } = node();
        let me = dht.me().pub_key.clone();
        let author = crate::dht::fake::FakeAgent::new(2).pub_key;
        let (b, c) = (
            crate::dht::fake::FakeAgent::new(3).pub_key,
            crate::dht::fake::FakeAgent::new(4).pub_key,
        );
        // The node keeps the blob twice over: its own upload, and a replica of the author's.
        let data = b"a talk this node uploaded, and keeps for its author too";
        let manifest = manifest_of(data);
        let hash = Hash32::of(data);
        state.reader.store().put(&hash, &[data]).unwrap();
        state.blobs.keep(manifest.clone(), &Keeper::Own).unwrap();
        state
            .blobs
            .keep(manifest.clone(), &Keeper::ReplicaOf(author.to_string()))
            .unwrap();
        let view = dht.put_manifest(&author, media_integrity::BlobManifest(manifest));
        let mut node = crate::dht::fake::content_node("a talk", "invited", vec![view.id.clone()]);
        node.invitees = vec![me.clone(), b.clone(), c.clone()];
        let content = dht.put_content(&author, node);
        // Two storage custodians among the invitees hold it, verified just now.
        for custodian in [&b, &c] {
            let commitment = dht.put_commitment(custodian, storage(), now());
            dht.put_replica(
                custodian,
                verified(&content, &view.id, &commitment.version),
                now(),
            );
        }
        // This node's replica, written before a restart.
        dht.put_replica(&me, verified(&content, &view.id, &view.id), now());

        // As a cache for commons only, this node may not keep invited content.
        let config =
            CustodianConfig::from_flags("cache:10", "high", None, "http://127.0.0.1:1".into()).unwrap();
        let mut worker = Worker::start(state.clone(), config).await.unwrap();
        let report = worker.round().await.unwrap();
        assert_eq!((report.assigned, report.evicted), (0, 1), "{report:?}");
        let replicas = dht.replicas(&view.id).await.unwrap();
        let mine = replicas.iter().find(|r| r.custodian == me).unwrap();
        assert_eq!(mine.status.state, "evicted");
        assert_eq!(mine.status.chunks_held, 0);
        let record = state
            .blobs
            .get(&hash)
            .unwrap()
            .expect("the node's own upload stays");
        assert!(record.own && record.replica_of.is_empty(), "{record:?}");
        assert!(
            state.reader.store().has(&hash).unwrap(),
            "chunks are the sweep's to delete"
        );
        // The next round has nothing to give up.
        assert_eq!(worker.round().await.unwrap().evicted, 0);
    }

    #[tokio::test]
    async fn a_custodian_renews_its_commitment_before_every_fiftieth_status() {
        let Node { _dir, state, dht } = node();
        let author = crate::dht::fake::FakeAgent::new(2).pub_key;
        let kept = replica::STATUSES_PER_RENEWAL as usize + 10;
        // Blobs of the author's commons content this node stores already.
        for i in 0..kept {
            let data = format!("talk {i}, kept here for its author").into_bytes();
            kept_commons(&state, &dht, &author, &format!("talk {i}"), &data);
        }
        let config =
            CustodianConfig::from_flags("storage:10", "high", None, "http://127.0.0.1:1".into()).unwrap();
        let mut worker = Worker::start(state.clone(), config).await.unwrap();
        let first = dht.live_commitments().await.unwrap()[0].version.clone();
        // The fake refuses a status that does not cite the newest version, as validation does.
        let report = worker.round().await.unwrap();
        assert_eq!((report.assigned, report.recorded), (kept, kept), "{report:?}");
        let renewed = dht.live_commitments().await.unwrap()[0].version.clone();
        assert_ne!(renewed, first, "renewed once the first fifty statuses cite it");
        let mut cited: HashMap<ActionHash, usize> = HashMap::new();
        for view in dht.visible_content(None).await.unwrap() {
            for replica in dht.replicas(&view.content.blobs[0]).await.unwrap() {
                *cited.entry(replica.status.commitment).or_default() += 1;
            }
        }
        assert_eq!(
            cited,
            HashMap::from([(first, replica::STATUSES_PER_RENEWAL as usize), (renewed, 10)])
        );
    }

    #[tokio::test]
    async fn a_blob_whose_manifest_arrives_after_its_content_is_placed_once_it_arrives() {
        let Node { _dir, state, dht } = node();
        let author = crate::dht::fake::FakeAgent::new(2).pub_key;
        let data = b"a commons talk whose manifest travels the DHT slower than its content";
        let view = kept_commons(&state, &dht, &author, "a talk", data);
        let in_transit = dht.withhold_manifest(&view.id);
        let config =
            CustodianConfig::from_flags("storage:10", "high", None, "http://127.0.0.1:1".into()).unwrap();
        let mut worker = Worker::start(state.clone(), config).await.unwrap();
        let report = worker.round().await.unwrap();
        assert_eq!(
            report.assigned, 0,
            "nothing to place before the manifest: {report:?}"
        );

        dht.deliver_manifest(in_transit);
        let report = worker.round().await.unwrap();
        assert_eq!((report.assigned, report.recorded), (1, 1), "{report:?}");
        let replicas = dht.replicas(&view.id).await.unwrap();
        assert_eq!(replicas.len(), 1, "the custodian claims its replica");
    }

    /// A source on loopback that holds every request `delay` before answering 404.
    async fn slow_source(delay: Duration) -> (String, tokio::task::JoinHandle<()>) {
        use tokio::io::AsyncWriteExt;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    let answer = b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
                    let _ = socket.write_all(answer).await;
                });
            }
        });
        (url, task)
    }

    #[tokio::test]
    async fn statuses_of_kept_blobs_stay_fresh_while_a_slow_pull_runs() {
        let Node { _dir, state, dht } = node();
        let me = dht.me().pub_key.clone();
        let author = crate::dht::fake::FakeAgent::new(2).pub_key;
        let kept = kept_commons(&state, &dht, &author, "kept", b"a talk this node keeps already");
        // Another talk, whose only source takes longer than a refresh period to answer.
        let (url, source) = slow_source(Duration::from_millis(2_500)).await;
        let mut commitment = storage();
        commitment.endpoint = url;
        dht.put_commitment(&author, commitment, now());
        let data = b"a talk served by a slow node";
        let slow = dht.put_manifest(&author, media_integrity::BlobManifest(manifest_of(data)));
        dht.put_content(
            &author,
            crate::dht::fake::content_node("slow", "commons", vec![slow.id.clone()]),
        );
        let mut config =
            CustodianConfig::from_flags("storage:10", "high", None, "http://127.0.0.1:1".into()).unwrap();
        config.replica_ttl = Duration::from_secs(3);
        let period = replica::refresh_period(config.replica_ttl);
        let mut worker = Worker::start(state.clone(), config).await.unwrap();
        let start = now();
        let report = worker.round().await.unwrap();
        source.abort();
        assert_eq!(report.pulled, 0, "the slow source had nothing: {report:?}");
        let replicas = dht.replicas(&kept.id).await.unwrap();
        let mine = replicas.iter().find(|r| r.custodian == me).unwrap();
        // Written when the round began, then refreshed while the pull went on.
        assert_eq!(mine.status.state, "verified");
        assert!(
            mine.updated_at.as_micros() - start.as_micros() >= period.as_micros() as i64,
            "refreshed {} µs into the round",
            mine.updated_at.as_micros() - start.as_micros()
        );
    }

    #[tokio::test]
    async fn an_assigned_blob_that_nobody_serves_waits_in_the_repair_queue() {
        let Node { _dir, state, dht } = node();
        let me = dht.me().pub_key.clone();
        let author = crate::dht::fake::FakeAgent::new(2).pub_key;
        let data = b"a commons talk whose author went offline";
        let view = dht.put_manifest(&author, media_integrity::BlobManifest(manifest_of(data)));
        dht.put_content(
            &author,
            crate::dht::fake::content_node("a talk", "commons", vec![view.id.clone()]),
        );
        let config =
            CustodianConfig::from_flags("storage:10", "high", None, "http://127.0.0.1:1".into()).unwrap();
        let mut worker = Worker::start(state.clone(), config).await.unwrap();
        let live = dht.live_commitments().await.unwrap();
        assert!(live.iter().any(|c| c.author == me), "committed as custodian");
        let report = worker.round().await.unwrap();
        assert_eq!(
            (report.assigned, report.pulled, report.recorded),
            (1, 0, 0),
            "{report:?}"
        );
        let snapshot = state.custodian.lock().unwrap().clone().unwrap();
        assert_eq!(snapshot.repair_queue, [Hash32::of(data).to_hex()]);
        assert!(snapshot.replicas.is_empty());
        assert!(
            dht.replicas(&view.id).await.unwrap().is_empty(),
            "nothing is claimed"
        );
        assert!(state.blobs.get(&Hash32::of(data)).unwrap().is_none());
    }
}

//! `elohim-media`: the sidecar server, the node, and a CLI for both.

use anyhow::Context;
use clap::{Parser, Subcommand};
use sidecar::config::ConfigArgs;
use sidecar::state::Sidecar;
use std::path::PathBuf;

#[cfg(feature = "node")]
mod node;
mod shutdown;

use shutdown::shutdown_signal;

#[derive(Parser)]
#[command(
    name = "elohim-media",
    version,
    about = "Large media for the Elohim Protocol, peer to peer"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once; without the `node` feature the flattened settings make `Serve` the large one.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Runs the sidecar HTTP server.
    Serve {
        /// Run without a conductor: every blob is public (commons semantics), for
        /// development, edge caches and tests.
        #[arg(long)]
        standalone: bool,
        #[command(flatten)]
        config: ConfigArgs,
    },
    #[cfg(feature = "node")]
    /// Runs a node: a conductor with the media hApp (embedded unless --admin-url names a
    /// running one) and the sidecar wired to it.
    Node {
        /// Attach to a conductor that already runs (the launcher case), e.g. ws://127.0.0.1:4444.
        #[arg(long, env = "ELOHIM_ADMIN_URL")]
        admin_url: Option<String>,
        /// The hApp bundle to install when it is not installed yet.
        #[arg(long, env = "ELOHIM_HAPP", default_value = "workdir/elohim_media.happ")]
        happ: PathBuf,
        /// Serve as custodian: storage:GB or cache:GB keep the blobs placement assigns;
        /// relay:STREAMS:MBPS forwards live calls, at most STREAMS tracks to viewers at once.
        #[arg(long, env = "ELOHIM_CUSTODIAN")]
        custodian: Option<String>,
        /// The custodian's place, region/bioregion/municipality/neighborhood/household.
        #[arg(long, env = "ELOHIM_CUSTODIAN_PLACE")]
        custodian_place: Option<String>,
        /// The URL other nodes reach this sidecar at (default: http://LISTEN).
        #[arg(long, env = "ELOHIM_ENDPOINT")]
        endpoint: Option<String>,
        /// Seconds between custodian rounds.
        #[arg(long, env = "ELOHIM_CUSTODIAN_INTERVAL_SECS", default_value_t = 30)]
        custodian_interval_secs: u64,
        /// Seconds a custodian's replica may go unrefreshed, or its commitment unrenewed,
        /// before custodians count it as lost and place its blobs elsewhere. The custodians
        /// of one network should agree on it.
        #[arg(long, env = "ELOHIM_REPLICA_TTL_SECS", default_value_t = 3600,
              value_parser = clap::value_parser!(u64).range(10..))]
        replica_ttl_secs: u64,
        /// With --admin-url: the id an app host installed the hApp under. Given, the node
        /// never installs the hApp itself (a second copy would be a second agent).
        #[arg(long, env = "ELOHIM_APP_ID", requires = "admin_url")]
        app_id: Option<String>,
        /// With --admin-url: the origin the host's conductor admits on its admin websocket.
        #[arg(long, env = "ELOHIM_ADMIN_ORIGIN", requires = "admin_url")]
        admin_origin: Option<String>,
        #[command(flatten)]
        config: ConfigArgs,
    },
    #[cfg(feature = "node")]
    /// Runs a rendezvous for a network of nodes: a kitsune2 bootstrap server with its iroh
    /// relay. Nodes join with `--bootstrap-url URL --relay-url URL`, URL as printed.
    Rendezvous {
        /// Address to listen on (port 0 picks one).
        #[arg(long, env = "ELOHIM_RENDEZVOUS_LISTEN", default_value = "127.0.0.1:0")]
        listen: std::net::SocketAddr,
    },
    /// Uploads a file to a node (resumes an interrupted upload of the same file).
    Upload {
        /// The file.
        file: PathBuf,
        /// Publish it as content with this title.
        #[arg(long)]
        title: Option<String>,
        /// Description of the content.
        #[arg(long)]
        description: Option<String>,
        /// Reach: private, invited, local, neighborhood, municipal, bioregional, regional, commons.
        #[arg(long)]
        reach: Option<String>,
        /// An agent to invite (repeatable; invited reach).
        #[arg(long)]
        invite: Vec<String>,
        /// Place, region/bioregion/municipality/neighborhood/household (local…regional reach).
        #[arg(long)]
        place: Option<String>,
        /// Do not make adaptive-streaming renditions of a video or audio file.
        #[arg(long)]
        no_ladder: bool,
        /// Return once the bytes are stored, without following the renditions.
        #[arg(long)]
        no_wait: bool,
        #[command(flatten)]
        node: NodeUrl,
    },
    /// Downloads a blob, verifying every chunk (resumes a partial download).
    Get {
        /// The blob's SHA-256.
        hash: String,
        /// Where to write it.
        #[arg(short, long)]
        output: PathBuf,
        /// An access token (non-commons content). Without one, the owner's credential
        /// from the data directory reads what the node's agent may read.
        #[arg(long, env = "ELOHIM_TOKEN")]
        token: Option<String>,
        #[command(flatten)]
        node: NodeUrl,
    },
    /// Lists the content this node's agent may see.
    Ls {
        #[command(flatten)]
        node: NodeUrl,
    },
    /// Prints a signed URL for a blob.
    Token {
        /// The blob's SHA-256.
        hash: String,
        /// Lifetime in seconds.
        #[arg(long, default_value_t = 3600)]
        ttl: u32,
        #[command(flatten)]
        node: NodeUrl,
    },
    /// Has the node fetch a blob from peer sidecars or plain URLs, verifying every chunk.
    Pull {
        /// The blob's SHA-256.
        hash: String,
        /// A peer sidecar to fetch from (repeatable, tried in order).
        #[arg(long)]
        from: Vec<String>,
        /// A peer pulling or holding the blob too (repeatable): chunks are spread over
        /// these before `--from` is asked, each chunk asking them in its own rotation.
        #[arg(long)]
        swarm: Vec<String>,
        /// A plain URL of the whole blob, range-requested when no peer has a chunk (repeatable).
        #[arg(long)]
        fallback: Vec<String>,
        #[command(flatten)]
        node: NodeUrl,
    },
    /// Shows the node's agent, storage and custodians.
    Status {
        #[command(flatten)]
        node: NodeUrl,
    },
    /// Starts a live call or stream on a node, or joins one.
    Call {
        #[command(subcommand)]
        action: CallCommand,
    },
    /// Declares, founds and vouches for places, which place-bound reaches admit by.
    Place {
        #[command(subcommand)]
        action: PlaceCommand,
    },
    #[cfg(feature = "node")]
    /// Packs workdir/media.dna and workdir/elohim_media.happ from the manifests.
    Pack {
        /// The repository root.
        #[arg(long, default_value = ".")]
        root: PathBuf,
    },
}

/// What `elohim-media place` does (as the node's agent).
#[derive(Subcommand)]
enum PlaceCommand {
    /// Shows the agent's place as far as it is proven, and the vouches in its region.
    Show {
        /// Another agent (default: this node's).
        #[arg(long)]
        agent: Option<String>,
        #[command(flatten)]
        node: NodeUrl,
    },
    /// Declares where this node's agent lives (admits to nothing until proven).
    Set {
        /// region/bioregion/municipality/neighborhood/household
        place: String,
        #[command(flatten)]
        node: NodeUrl,
    },
    /// Declares the place and founds it at every level nobody founded before.
    Found {
        /// region/bioregion/municipality/neighborhood/household
        place: String,
        #[command(flatten)]
        node: NodeUrl,
    },
    /// Vouches that an agent belongs to a place, down to a level.
    Vouch {
        /// The member's agent key.
        member: String,
        /// Their place, region/bioregion/municipality/neighborhood/household.
        place: String,
        /// How far down: region, bioregion, municipality, neighborhood or household.
        #[arg(long, default_value = "household")]
        level: String,
        #[command(flatten)]
        node: NodeUrl,
    },
    /// Revokes one of this agent's vouches (its id as `show` lists it).
    Revoke {
        /// The vouch's id.
        id: String,
        #[command(flatten)]
        node: NodeUrl,
    },
}

/// What `elohim-media call` does.
#[derive(Subcommand)]
enum CallCommand {
    /// Starts a call hosted by the node (its ContentNode, with no blobs yet) and prints
    /// the join page and the WHIP, WHEP and presence URLs.
    Start {
        /// The call's title.
        #[arg(long)]
        title: String,
        /// Description.
        #[arg(long, default_value = "")]
        description: String,
        /// Reach: private, invited, local, neighborhood, municipal, bioregional, regional, commons.
        #[arg(long, default_value = "invited")]
        reach: String,
        /// An agent to invite (repeatable; invited reach).
        #[arg(long)]
        invite: Vec<String>,
        /// Place, region/bioregion/municipality/neighborhood/household (local…regional reach).
        #[arg(long)]
        place: Option<String>,
        /// A live stream (only the author and invitees publish) instead of a call.
        #[arg(long)]
        live: bool,
        #[command(flatten)]
        node: NodeUrl,
    },
    /// Signs a call token with this node's agent and prints where to join: by default at
    /// the call author's node, as its published endpoint says.
    Join {
        /// The call's id (its ContentNode).
        id: String,
        /// The hosting node's URL, when it is not the author's published endpoint.
        #[arg(long)]
        host: Option<String>,
        /// The hosting node's agent key, when it is not the author's node.
        #[arg(long, requires = "host")]
        host_agent: Option<String>,
        /// Token lifetime in seconds (at most a day).
        #[arg(long, default_value_t = 14_400)]
        ttl: u32,
        #[command(flatten)]
        node: NodeUrl,
    },
}

/// Which node a CLI command talks to.
#[derive(clap::Args)]
struct NodeUrl {
    /// The node's sidecar URL.
    #[arg(long = "node", env = "ELOHIM_NODE", default_value = "http://127.0.0.1:8788")]
    url: String,
    /// The node's data directory, where its owner credential (`node-token`) is.
    #[arg(long = "data-dir", env = "ELOHIM_DATA_DIR", default_value = ".elohim-node")]
    data_dir: PathBuf,
    /// The owner credential file, if not the one in the data directory.
    #[arg(long = "node-token", env = "ELOHIM_NODE_TOKEN")]
    node_token: Option<PathBuf>,
}

impl NodeUrl {
    /// The owner's credential, when this user can read it: the routes that act as the
    /// node's agent need it.
    fn owner(&self) -> Option<String> {
        let path = self
            .node_token
            .clone()
            .unwrap_or_else(|| sidecar::owner::path(&self.data_dir));
        match sidecar::owner::OwnerKey::read(&path) {
            Ok(key) => Some(key.secret().to_string()),
            Err(e) => {
                tracing::debug!(path = %path.display(), error = %e, "no owner credential");
                None
            }
        }
    }

    /// A client that acts as the node's owner.
    fn client(&self) -> anyhow::Result<reqwest::Client> {
        sidecar::cli::client(self.owner().as_deref())
    }
}

/// Blocking-pool threads: chunk reads and writes run there; a bounded pool keeps memory
/// flat however many clients stream at once.
const MAX_BLOCKING_THREADS: usize = 64;

fn main() -> anyhow::Result<()> {
    // Every file the node writes (chunks, uploads, ladder files, its credential) is its
    // user's alone.
    // SAFETY: umask only sets this process's file mode mask.
    unsafe { libc::umask(0o077) };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(MAX_BLOCKING_THREADS)
        .build()?;
    let result = runtime.block_on(run());
    runtime.shutdown_timeout(TASKS_STOP);
    result
}

async fn run() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,holochain=warn,kitsune2=warn,holochain::core::workflow::publish_dht_ops_workflow=error")),
        )
        .init();
    match Cli::parse().command {
        Command::Serve { standalone, config } => {
            anyhow::ensure!(
                standalone,
                "only --standalone is available here; use `elohim-media node` for a node"
            );
            let config = config.resolve()?;
            let state = Sidecar::open(config.clone())
                .with_context(|| format!("opening {}", config.data_dir.display()))?;
            let rtc = state.rtc.clone();
            let (addr, server) = sidecar::server::bind(state, config.listen, shutdown_signal())?;
            tracing::info!(%addr, data_dir = %config.data_dir.display(), "standalone sidecar listening");
            println!("elohim-media sidecar listening on http://{addr}");
            if let Some(sfu) = &rtc {
                println!(
                    "live calls: POST /api/rtc/{{call}}/whip or /whep, media on udp {}",
                    sfu.candidate()
                );
            }
            server.await;
            Ok(())
        }
        #[cfg(feature = "node")]
        Command::Node {
            admin_url,
            happ,
            custodian,
            custodian_place,
            endpoint,
            custodian_interval_secs,
            replica_ttl_secs,
            app_id,
            admin_origin,
            config,
        } => {
            let config = config.resolve()?;
            let endpoint_given = endpoint.clone();
            let custodian = match custodian {
                Some(role) => Some(
                    sidecar::custodian::CustodianConfig::from_flags(
                        &role,
                        config.bandwidth.as_str(),
                        custodian_place.as_deref(),
                        endpoint.unwrap_or_else(|| format!("http://{}", config.listen)),
                    )
                    .map_err(anyhow::Error::msg)
                    .map(|c| sidecar::custodian::CustodianConfig {
                        interval: std::time::Duration::from_secs(custodian_interval_secs.max(1)),
                        replica_ttl: std::time::Duration::from_secs(replica_ttl_secs),
                        ..c
                    })?,
                ),
                None => None,
            };
            // A relay's commitment is the SFU's budget.
            let mut config = config;
            if let Some(media_rules::role::MediaRole::Relay {
                max_concurrent_streams,
                bandwidth_mbps,
            }) = custodian.as_ref().map(|c| &c.role)
            {
                let rtc = config
                    .rtc
                    .as_mut()
                    .context("--custodian relay forwards live calls; they are off (--rtc-udp off)")?;
                rtc.max_streams = *max_concurrent_streams;
                rtc.max_mbps = Some(*bandwidth_mbps);
            }
            let defaults = media_node::link::LinkOptions::default();
            let options = media_node::link::LinkOptions {
                install: app_id.is_none(),
                app_id: app_id.unwrap_or(defaults.app_id),
                origin: admin_origin.unwrap_or(defaults.origin),
            };
            node::run(admin_url, happ, config, custodian, endpoint_given, options).await
        }
        #[cfg(feature = "node")]
        Command::Rendezvous { listen } => {
            let rendezvous = media_node::rendezvous::Rendezvous::start(listen)
                .await
                .with_context(|| format!("starting a rendezvous on {listen}"))?;
            println!("rendezvous: {}", rendezvous.url());
            use std::io::Write;
            std::io::stdout().flush()?;
            shutdown_signal().await;
            rendezvous.stop().await?;
            Ok(())
        }
        Command::Upload {
            file,
            title,
            description,
            reach,
            invite,
            place,
            no_ladder,
            no_wait,
            node,
        } => {
            let opts = sidecar::cli::UploadOptions {
                title,
                description,
                reach,
                invite,
                place,
                no_ladder,
                owner: node.owner(),
            };
            let receipt = sidecar::cli::upload(&node.url, &file, &opts).await?;
            let hash = &receipt.hash;
            if let Some(published) = &receipt.published {
                println!("content: {}", published.content);
            }
            println!("blob:    {hash}");
            println!("file:    {}/api/blob/{hash}", node.url);
            if let (Some(ladder), false) = (receipt.ladder.as_deref(), no_wait) {
                let progress = sidecar::cli::wait_for_ladder_as(&node.client()?, &node.url, ladder).await?;
                if let Some(error) = progress.error {
                    anyhow::bail!("the renditions failed: {error}");
                }
                let labels: Vec<&str> = progress.variants.iter().map(|v| v.label.as_str()).collect();
                println!("renditions: {}", labels.join(", "));
                println!("hls:     {}/api/manifest/{hash}/hls.m3u8", node.url);
                println!("dash:    {}/api/manifest/{hash}/dash.mpd", node.url);
                println!("watch:   {}/player?src={hash}", node.url);
            }
            Ok(())
        }
        Command::Get {
            hash,
            output,
            token,
            node,
        } => {
            // Without a token, the owner's credential reads what the node's agent may read.
            let credential = token.or_else(|| node.owner());
            sidecar::cli::get(&node.url, &hash, &output, credential.as_deref()).await?;
            println!("{} verified, saved to {}", hash, output.display());
            Ok(())
        }
        Command::Ls { node } => {
            let list: Vec<serde_json::Value> =
                fetch(node.client()?.get(format!("{}/api/content", node.url))).await?;
            for v in list {
                let c = &v["content"];
                println!(
                    "{}  {:<12} {:<10} {}",
                    v["id"].as_str().unwrap_or("?"),
                    c["reach"].as_str().unwrap_or("?"),
                    c["lifecycle"].as_str().unwrap_or("?"),
                    c["title"].as_str().unwrap_or("?")
                );
            }
            Ok(())
        }
        Command::Token { hash, ttl, node } => {
            let body = serde_json::json!({ "blob": hash, "ttl_seconds": ttl });
            let t: serde_json::Value =
                fetch(node.client()?.post(format!("{}/api/token", node.url)).json(&body)).await?;
            println!("{}", t["url"].as_str().unwrap_or_default());
            Ok(())
        }
        Command::Pull {
            hash,
            from,
            swarm,
            fallback,
            node,
        } => {
            let peer = |base: &String| serde_json::json!({ "kind": "peer", "base": base });
            let swarm: Vec<serde_json::Value> = swarm.iter().map(peer).collect();
            let sources: Vec<serde_json::Value> = from
                .iter()
                .map(peer)
                .chain(
                    fallback
                        .iter()
                        .map(|url| serde_json::json!({ "kind": "fallback", "url": url })),
                )
                .collect();
            let body = serde_json::json!({ "hash": hash, "swarm": swarm, "from": sources });
            let report: serde_json::Value =
                fetch(node.client()?.post(format!("{}/api/pull", node.url)).json(&body)).await?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(())
        }
        Command::Status { node } => {
            let s: serde_json::Value = fetch(node.client()?.get(format!("{}/api/node", node.url))).await?;
            println!("{}", serde_json::to_string_pretty(&s)?);
            Ok(())
        }
        Command::Place { action } => {
            let request = match action {
                PlaceCommand::Show { agent, node } => {
                    let query = agent.map(|a| format!("?agent={a}")).unwrap_or_default();
                    node.client()?.get(format!("{}/api/place{query}", node.url))
                }
                PlaceCommand::Set { place, node } => node
                    .client()?
                    .put(format!("{}/api/place", node.url))
                    .json(&serde_json::json!({ "place": place })),
                PlaceCommand::Found { place, node } => node
                    .client()?
                    .post(format!("{}/api/place/found", node.url))
                    .json(&serde_json::json!({ "place": place })),
                PlaceCommand::Vouch {
                    member,
                    place,
                    level,
                    node,
                } => node
                    .client()?
                    .post(format!("{}/api/place/vouch", node.url))
                    .json(&serde_json::json!({ "member": member, "place": place, "level": level })),
                PlaceCommand::Revoke { id, node } => {
                    let resp = node
                        .client()?
                        .delete(format!("{}/api/place/vouch/{id}", node.url))
                        .send()
                        .await
                        .context("reaching the node")?;
                    anyhow::ensure!(
                        resp.status().is_success(),
                        "{} {}",
                        resp.status(),
                        resp.text().await?
                    );
                    println!("revoked {id}");
                    return Ok(());
                }
            };
            let answer: serde_json::Value = fetch(request).await?;
            println!("{}", serde_json::to_string_pretty(&answer)?);
            Ok(())
        }
        Command::Call { action } => {
            let (node, request) = match action {
                CallCommand::Start {
                    title,
                    description,
                    reach,
                    invite,
                    place,
                    live,
                    node,
                } => {
                    let body = serde_json::json!({
                        "title": title, "description": description, "reach": reach,
                        "invitees": invite, "place": place, "live_stream": live,
                    });
                    let request = node.client()?.post(format!("{}/api/calls", node.url)).json(&body);
                    (node, request)
                }
                CallCommand::Join {
                    id,
                    host,
                    host_agent,
                    ttl,
                    node,
                } => {
                    let body =
                        serde_json::json!({ "host": host, "host_agent": host_agent, "ttl_seconds": ttl });
                    let request = node
                        .client()?
                        .post(format!("{}/api/calls/{id}/join", node.url))
                        .json(&body);
                    (node, request)
                }
            };
            let joining: sidecar::http::calls::Joining = fetch(request).await?;
            print!("{}", sidecar::cli::joining_text(&node.url, &joining));
            Ok(())
        }
        #[cfg(feature = "node")]
        Command::Pack { root } => {
            let packed = media_node::bundle::pack_all(&root).await?;
            println!("packed {} and {}", packed.dna.display(), packed.happ.display());
            match packed.webhapp {
                Some(webhapp) => println!("packed {}", webhapp.display()),
                None => println!("no .webhapp: the UI is not built (npm run build --prefix ui)"),
            }
            Ok(())
        }
    }
}

/// How long, once the node has stopped, its leftover tasks (a fetch, a recording being
/// stored) get before the process exits without them.
const TASKS_STOP: std::time::Duration = std::time::Duration::from_secs(3);

async fn fetch<T: serde::de::DeserializeOwned>(req: reqwest::RequestBuilder) -> anyhow::Result<T> {
    let resp = req.send().await.context("reaching the node")?;
    if !resp.status().is_success() {
        anyhow::bail!("{} {}", resp.status(), resp.text().await.unwrap_or_default());
    }
    Ok(resp.json().await?)
}

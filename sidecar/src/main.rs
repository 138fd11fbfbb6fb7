//! `elohim-media`: the sidecar server, the node, and a CLI for both.

use anyhow::Context;
use clap::{Parser, Subcommand};
use sidecar::config::ConfigArgs;
use sidecar::state::Sidecar;
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "elohim-media", version, about = "Large media for the Elohim Protocol, peer to peer")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

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
    /// Runs a node: a conductor with the media hApp (embedded unless --admin-url names a
    /// running one) and the sidecar wired to it.
    Node {
        /// Attach to a conductor that already runs (the launcher case), e.g. ws://127.0.0.1:4444.
        #[arg(long, env = "ELOHIM_ADMIN_URL")]
        admin_url: Option<String>,
        /// The hApp bundle to install when it is not installed yet.
        #[arg(long, env = "ELOHIM_HAPP", default_value = "workdir/elohim_media.happ")]
        happ: PathBuf,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Packs workdir/media.dna and workdir/elohim_media.happ from the manifests.
    Pack {
        /// The repository root.
        #[arg(long, default_value = ".")]
        root: PathBuf,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,holochain=warn,kitsune2=warn,holochain::core::workflow::publish_dht_ops_workflow=error")),
        )
        .init();
    match Cli::parse().command {
        Command::Serve { standalone, config } => {
            anyhow::ensure!(standalone, "only --standalone is available here; use `elohim-media node` for a node");
            let config = config.resolve()?;
            let state = Sidecar::open(config.clone()).with_context(|| format!("opening {}", config.data_dir.display()))?;
            let (addr, server) = sidecar::server::bind(state, config.listen, shutdown_signal())?;
            tracing::info!(%addr, data_dir = %config.data_dir.display(), "standalone sidecar listening");
            println!("elohim-media sidecar listening on http://{addr}");
            server.await;
            Ok(())
        }
        Command::Node { admin_url, happ, config } => run_node(admin_url, happ, config.resolve()?).await,
        Command::Pack { root } => {
            let packed = sidecar::bundle::pack_all(&root).await?;
            println!("packed {} and {}", packed.dna.display(), packed.happ.display());
            Ok(())
        }
    }
}

async fn run_node(admin_url: Option<String>, happ: PathBuf, config: sidecar::config::Config) -> anyhow::Result<()> {
    let (embedded, admin_addr) = match admin_url {
        Some(url) => (None, url.trim_start_matches("ws://").trim_end_matches('/').to_string()),
        None => {
            let passphrase = passphrase()?;
            let conductor_dir = config.data_dir.join("conductor");
            let embedded = sidecar::node::embedded::start(&conductor_dir, &passphrase).await?;
            let addr = format!("127.0.0.1:{}", embedded.admin_port);
            (Some(embedded), addr)
        }
    };
    let link = sidecar::node::ConductorLink::connect(&admin_addr, &happ)
        .await
        .with_context(|| format!("linking to the conductor at {admin_addr}"))?;
    let app_port = link.app_port();
    let agent = link.agent().clone();
    let state = Sidecar::open(config.clone()).with_context(|| format!("opening {}", config.data_dir.display()))?;
    state.attach(std::sync::Arc::new(link));
    let (addr, server) = sidecar::server::bind(state, config.listen, shutdown_signal())?;
    println!("elohim-media node is running");
    println!("  agent:         {agent}");
    println!("  sidecar HTTP:  http://{addr}");
    println!("  app websocket: ws://127.0.0.1:{app_port}  (hApp '{}', role 'media')", sidecar::node::link::APP_ID);
    println!("  admin:         ws://{admin_addr}");
    println!("Press Ctrl-C to stop.");
    server.await;
    if let Some(embedded) = embedded {
        embedded.handle.shutdown().await.map_err(|e| anyhow::anyhow!("{e:?}"))??;
    }
    Ok(())
}

/// The keystore passphrase: `ELOHIM_PASSPHRASE`, or asked for on the terminal.
fn passphrase() -> anyhow::Result<String> {
    if let Ok(p) = std::env::var("ELOHIM_PASSPHRASE") {
        return Ok(p);
    }
    Ok(rpassword::prompt_password("Keystore passphrase: ")?)
}

async fn shutdown_signal() {
    let _ = tokio::signal::ctrl_c().await;
    tracing::info!("shutting down");
}

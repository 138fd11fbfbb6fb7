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
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,holochain=warn,kitsune2=warn")),
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
        Command::Pack { root } => {
            let packed = sidecar::bundle::pack_all(&root).await?;
            println!("packed {} and {}", packed.dna.display(), packed.happ.display());
            Ok(())
        }
    }
}

async fn shutdown_signal() {
    let _ = tokio::signal::ctrl_c().await;
    tracing::info!("shutting down");
}

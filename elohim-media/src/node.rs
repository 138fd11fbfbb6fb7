//! `elohim-media node`: the embedded (or an app host's) conductor, linked to the sidecar.

use crate::shutdown::shutdown_signal;
use anyhow::Context;
use sidecar::state::Sidecar;
use std::path::PathBuf;

/// Runs the node until Ctrl-C or SIGTERM.
pub(crate) async fn run(
    admin_url: Option<String>,
    happ: PathBuf,
    config: sidecar::config::Config,
    custodian: Option<sidecar::custodian::CustodianConfig>,
    endpoint: Option<String>,
    options: media_node::link::LinkOptions,
) -> anyhow::Result<()> {
    let (embedded, admin_addr) = match admin_url {
        Some(url) => (
            None,
            url.trim_start_matches("ws://").trim_end_matches('/').to_string(),
        ),
        None => {
            let passphrase = passphrase()?;
            let conductor_dir = config.data_dir.join("conductor");
            let embedded = media_node::embedded::start(&conductor_dir, &passphrase, &config.network).await?;
            let addr = format!("127.0.0.1:{}", embedded.admin_port);
            (Some(embedded), addr)
        }
    };
    let seed = config.network.network_seed.as_deref();
    let link = match &embedded {
        Some(_) => media_node::ConductorLink::connect_to_network(&admin_addr, &happ, seed)
            .await
            .map(|link| link.on_network(config.network.clone())),
        None => media_node::ConductorLink::attach(&admin_addr, &happ, options).await,
    }
    .with_context(|| format!("linking to the conductor at {admin_addr}"))?;
    let app_port = link.app_port();
    let agent = link.agent().clone();
    let state =
        Sidecar::open(config.clone()).with_context(|| format!("opening {}", config.data_dir.display()))?;
    let link = std::sync::Arc::new(link);
    let app_id = link.app_id().to_string();
    state.attach(link);
    // Copies of invited content that an invitee's node did not take before a restart.
    state.deliver_shares();
    if let Some(url) = endpoint {
        // Custodians fetch this node's uploads there, custodian or not.
        sidecar::publish::spawn_endpoint(&state, url);
    }
    let (addr, server) = sidecar::server::bind(state.clone(), config.listen, shutdown_signal())?;
    let rtc = state.rtc.as_ref().map(|sfu| sfu.candidate());
    if let Some(custodian) = custodian {
        let role = custodian.role.name();
        sidecar::custodian::spawn_when_committed(state, custodian);
        println!("  custodian:     {role} (its commitment and holdings: `elohim-media status`)");
    }
    println!("elohim-media node is running");
    println!("  agent:         {agent}");
    println!("  sidecar HTTP:  http://{addr}");
    println!(
        "  web UI:        http://{}/  (sign in with the owner key below)",
        browsable(addr)
    );
    println!("  app websocket: ws://127.0.0.1:{app_port}  (hApp '{app_id}', role 'media')");
    println!("  admin:         ws://{admin_addr}");
    match rtc {
        Some(udp) => println!(
            "  live calls:    POST /api/rtc/{{call}}/whip or /whep (`elohim-media call start` for a call and its tokens), media on udp {udp}"
        ),
        None => println!("  live calls:    off"),
    }
    println!(
        "  owner key:     {}  (the CLI reads it with --data-dir)",
        sidecar::owner::path(&config.data_dir).display()
    );
    if embedded.is_some() {
        let network = &config.network;
        match network.offline {
            true => println!("  network:       offline"),
            false => println!(
                "  network:       bootstrap {}, relay {}{}",
                network.bootstrap_url,
                network.relay_url,
                network
                    .network_seed
                    .as_deref()
                    .map(|s| format!(", seed '{s}'"))
                    .unwrap_or_default()
            ),
        }
    }
    println!("Press Ctrl-C to stop.");
    use std::io::Write;
    std::io::stdout().flush()?;
    server.await;
    tracing::info!("the HTTP server has stopped");
    if let Some(embedded) = embedded {
        // A conductor task that never ends must not keep a stopped node running: its
        // databases survive being left mid-write (the same as a crash).
        match tokio::time::timeout(CONDUCTOR_STOP, embedded.handle.shutdown()).await {
            Ok(stopped) => stopped.map_err(|e| anyhow::anyhow!("{e:?}"))??,
            Err(_) => {
                tracing::warn!(wait = ?CONDUCTOR_STOP, "the conductor did not stop in time; leaving it")
            }
        }
        tracing::info!("the conductor has stopped");
    }
    Ok(())
}

/// How long a stopping node waits for its embedded conductor to shut down.
const CONDUCTOR_STOP: std::time::Duration = std::time::Duration::from_secs(10);

/// The keystore passphrase: `ELOHIM_PASSPHRASE`, or asked for on the terminal.
fn passphrase() -> anyhow::Result<String> {
    if let Ok(p) = std::env::var("ELOHIM_PASSPHRASE") {
        return Ok(p);
    }
    use std::io::IsTerminal;
    anyhow::ensure!(
        std::io::stdin().is_terminal(),
        "the keystore needs a passphrase and there is no terminal to ask on: set ELOHIM_PASSPHRASE"
    );
    Ok(rpassword::prompt_password("Keystore passphrase: ")?)
}

/// The address a browser on this machine opens for a server listening on `addr`.
fn browsable(addr: std::net::SocketAddr) -> std::net::SocketAddr {
    match addr.ip().is_unspecified() {
        true => std::net::SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), addr.port()),
        false => addr,
    }
}

//! A rendezvous for a network of nodes: the kitsune2 bootstrap server, where conductors
//! find each other, with its iroh relay, through which they connect — the server
//! Holochain's own tests run (`kitsune2_bootstrap_srv`). One address serves both, so nodes
//! take `--bootstrap-url http://ADDR --relay-url http://ADDR`.

use kitsune2_bootstrap_srv::{BootstrapSrv, Config};
use std::net::SocketAddr;

/// A running rendezvous server.
pub struct Rendezvous {
    server: Option<BootstrapSrv>,
    addr: SocketAddr,
}

impl Rendezvous {
    /// Starts a bootstrap server with its relay on `listen` (port 0 picks one).
    pub async fn start(listen: SocketAddr) -> std::io::Result<Self> {
        install_crypto_provider();
        let server = tokio::task::spawn_blocking(move || {
            let mut config = Config::testing();
            config.listen_address_list = vec![listen];
            config.quic_bind_addr = Some(SocketAddr::new(listen.ip(), 0));
            BootstrapSrv::new(config)
        })
        .await
        .map_err(std::io::Error::other)??;
        let addr = *server
            .listen_addrs()
            .first()
            .ok_or_else(|| std::io::Error::other("the rendezvous server bound no address"))?;
        Ok(Rendezvous {
            server: Some(server),
            addr,
        })
    }

    /// The URL nodes use as both bootstrap and relay URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops the server and waits for its threads.
    pub async fn stop(mut self) -> std::io::Result<()> {
        let Some(mut server) = self.server.take() else {
            return Ok(());
        };
        tokio::task::spawn_blocking(move || server.shutdown())
            .await
            .map_err(std::io::Error::other)?
    }
}

/// Installs rustls' ring provider as the process's crypto provider, once: the relay and
/// iroh need one, and with two compiled in rustls cannot pick by itself.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

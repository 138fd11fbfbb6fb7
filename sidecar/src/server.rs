//! Binding the HTTP server.

use crate::http::routes;
use crate::state::Sidecar;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

/// Binds the sidecar's routes to `addr` (port 0 picks one) and returns the bound address
/// and the server future, which ends when `shutdown` resolves. The hourly sweep of unowned
/// chunks and expired uploads ([`crate::gc`]) starts with it, and ladder jobs a restart cut
/// short are run again ([`crate::ladder::resume`]).
pub fn bind(
    state: Arc<Sidecar>,
    addr: SocketAddr,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(SocketAddr, impl Future<Output = ()>), warp::Error> {
    let bound = warp::serve(routes(state.clone())).try_bind_with_graceful_shutdown(addr, shutdown)?;
    crate::ladder::resume(&state);
    crate::gc::spawn(state);
    Ok(bound)
}

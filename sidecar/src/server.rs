//! Binding the HTTP server, with the limits that keep hostile clients cheap: a cap on the
//! connections served at once (more wait in the kernel's backlog), a deadline for each
//! request's head (slow heads), an idle timeout (a connection with no request in flight
//! that moves no byte), and TCP keepalive for peers that vanished.

use crate::http::peer::ClientAddr;
use crate::http::routes;
use crate::state::Sidecar;
use futures_util::{Stream, StreamExt};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use media_store::zero_copy::{self, Next};
use std::future::Future;
use std::io::IoSlice;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The most of a response queued per connection before the body is polled again (also
/// the largest request head taken). Chunk bytes are queued as references to a mapped file
/// or to the chunk tier, so this bounds copies made for a connection, not chunk bytes.
pub const WRITE_QUEUE: usize = 64 * 1024;

/// After the shutdown signal, how long requests still being answered (a stream, a call's
/// presence feed) may go on before the server stops without them.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Binds the sidecar's routes to `addr` (port 0 picks one) and returns the bound address
/// and the server future, which ends when `shutdown` resolves and the requests in flight
/// are answered, or [`SHUTDOWN_GRACE`] after it at the latest. The hourly sweep of unowned
/// chunks and expired uploads ([`crate::gc`]) starts with it, ladder jobs a restart cut
/// short are run again ([`crate::ladder::resume`]), and call recordings are stored
/// ([`crate::recordings`]).
pub fn bind(
    state: Arc<Sidecar>,
    addr: SocketAddr,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<(SocketAddr, impl Future<Output = ()>)> {
    let listener = std::net::TcpListener::bind(addr)?;
    listener.set_nonblocking(true)?;
    let local = listener.local_addr()?;
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let limits = state.config.limits;
    let service = warp::service(routes(state.clone()));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        // hyper queues up to ~400 KiB of a response per connection by default before it
        // stops polling the body; a slow reader would hold that much.
        .max_buf_size(WRITE_QUEUE)
        // Head and body slices go out together, none copied into a buffer first.
        .writev(true);
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let connections = capped(listener, permits, limits.idle_timeout, state.config.sendfile);
    crate::ladder::resume(&state);
    crate::recordings::spawn(&state);
    crate::gc::spawn(state);
    Ok((local, async move {
        let graceful = GracefulShutdown::new();
        let mut connections = Box::pin(connections);
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            let conn = tokio::select! {
                conn = connections.next() => conn,
                () = &mut shutdown => break,
            };
            let Some(Ok(conn)) = conn else { break };
            let in_flight = conn.in_flight.clone();
            let client = ClientAddr(conn.peer);
            let service = service.clone();
            let answer = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
                request.extensions_mut().insert(client);
                // A request being answered keeps its connection out of the idle count.
                let guard = InFlight::enter(&in_flight);
                let answer = tower_service::Service::call(&mut service.clone(), request);
                async move {
                    let response = answer.await;
                    drop(guard);
                    response
                }
            });
            let served = graceful.watch(http.serve_connection(TokioIo::new(conn), answer));
            tokio::spawn(async move {
                if let Err(e) = served.await {
                    tracing::debug!(error = %e, "a connection ended with an error");
                }
            });
        }
        // No more connections are taken; those open finish the requests they are answering.
        drop(connections);
        tokio::select! {
            () = graceful.shutdown() => {}
            () = tokio::time::sleep(SHUTDOWN_GRACE) => tracing::warn!(
                grace = ?SHUTDOWN_GRACE,
                "stopping with requests still open"
            ),
        }
    }))
}

/// Accepted connections, each holding one of `permits` until it closes: when none is
/// left, no more are accepted. An accept error (out of file descriptors) is logged and
/// waited out rather than ending the server.
fn capped(
    listener: tokio::net::TcpListener,
    permits: Arc<Semaphore>,
    idle: Duration,
    sendfile: bool,
) -> impl Stream<Item = std::io::Result<Capped>> {
    async_stream::stream! {
        loop {
            let Ok(permit) = permits.clone().acquire_owned().await else { break };
            let (stream, peer) = loop {
                match listener.accept().await {
                    Ok((stream, peer)) => break (stream, peer.ip()),
                    Err(e) => {
                        tracing::warn!(error = %e, "accepting a connection failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            };
            let _ = stream.set_nodelay(true);
            let socket = socket2::SockRef::from(&stream);
            let keepalive = socket2::TcpKeepalive::new().with_time(Duration::from_secs(60));
            let _ = socket.set_tcp_keepalive(&keepalive);
            yield Ok(Capped {
                stream,
                peer,
                _permit: permit,
                in_flight: Arc::new(AtomicUsize::new(0)),
                idle,
                deadline: Box::pin(tokio::time::sleep(idle)),
                sendfile,
            });
        }
    }
}

/// Requests of one connection being answered.
struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    fn enter(count: &Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Ordering::Relaxed);
        InFlight(count.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A connection, its place under the cap, and its idle deadline: pushed back by every
/// byte read or written and while a request is answered; when it passes, the connection
/// fails with `TimedOut` and hyper closes it.
pub struct Capped {
    stream: TcpStream,
    peer: std::net::IpAddr,
    _permit: OwnedSemaphorePermit,
    in_flight: Arc<AtomicUsize>,
    idle: Duration,
    deadline: Pin<Box<tokio::time::Sleep>>,
    /// Whether mapped chunk bytes go out by `sendfile`.
    sendfile: bool,
}

impl Capped {
    /// Pushes the deadline back: bytes moved, or a request is being answered.
    fn active(&mut self) {
        self.deadline
            .as_mut()
            .reset(tokio::time::Instant::now() + self.idle);
    }

    /// After an I/O call returned `Pending`: whether the connection has been idle too long.
    fn timed_out(&mut self, cx: &mut Context<'_>) -> bool {
        if self.in_flight.load(Ordering::Relaxed) > 0 {
            // Still wake at the deadline, to look again once the answer is out.
            self.active();
            let _ = self.deadline.as_mut().poll(cx);
            return false;
        }
        self.deadline.as_mut().poll(cx).is_ready()
    }

    /// A write's outcome, as the idle deadline sees it: done pushes it back; pending past
    /// it fails the connection.
    fn after_write(
        &mut self,
        cx: &mut Context<'_>,
        written: Poll<std::io::Result<usize>>,
    ) -> Poll<std::io::Result<usize>> {
        match written {
            Poll::Pending if self.timed_out(cx) => Poll::Ready(Err(Self::idle_error())),
            Poll::Pending => Poll::Pending,
            ready => {
                self.active();
                ready
            }
        }
    }

    fn idle_error() -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::TimedOut, "connection idle too long")
    }
}

impl AsyncRead for Capped {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.stream).poll_read(cx, buf) {
            Poll::Pending if self.timed_out(cx) => Poll::Ready(Err(Self::idle_error())),
            Poll::Pending => Poll::Pending,
            ready => {
                if buf.filled().len() > before {
                    self.active();
                }
                ready
            }
        }
    }
}

impl Capped {
    /// Writes what hyper queued: with `sendfile` on, slices of mapped chunk files go out by
    /// `sendfile(2)` and the rest by `writev` ([`media_store::zero_copy`]); off, all by `writev`.
    fn poll_send(&mut self, cx: &mut Context<'_>, bufs: &[IoSlice<'_>]) -> Poll<std::io::Result<usize>> {
        let out = self.stream.as_raw_fd();
        match self.sendfile.then(|| zero_copy::next(bufs)) {
            Some(Next::SendFile { fd, offset, len }) => {
                self.poll_io(cx, || zero_copy::send_file(out, fd, offset, len))
            }
            Some(Next::Write { count }) => Pin::new(&mut self.stream).poll_write_vectored(cx, &bufs[..count]),
            None => Pin::new(&mut self.stream).poll_write_vectored(cx, bufs),
        }
    }

    /// Runs a non-blocking write on the socket once it is writable.
    fn poll_io(
        &self,
        cx: &mut Context<'_>,
        mut write: impl FnMut() -> std::io::Result<usize>,
    ) -> Poll<std::io::Result<usize>> {
        // Bounded: each turn either returns or consumes a readiness event, and after
        // `WouldBlock` the next `poll_write_ready` is `Pending` until the socket drains.
        loop {
            std::task::ready!(self.stream.poll_write_ready(cx))?;
            match self.stream.try_io(Interest::WRITABLE, &mut write) {
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                done => return Poll::Ready(done),
            }
        }
    }
}

impl AsyncWrite for Capped {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let written = self.poll_send(cx, &[IoSlice::new(buf)]);
        self.after_write(cx, written)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let written = self.poll_send(cx, bufs);
        self.after_write(cx, written)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

//! Who is at the other end of a request's connection.

/// The address a request's connection came from, in the request's extensions: the TCP
/// peer itself (a reverse proxy's `X-Forwarded-For` is not believed), which anonymous
/// uploads are counted against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ClientAddr(pub std::net::IpAddr);

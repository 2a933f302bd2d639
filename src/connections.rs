//! What connections the gRPC server accepts: from where, how many, and for
//! how long.
//!
//! Open mode (no bearer tokens) lets anyone who reaches the port act as any
//! user, so, like Redis's protected mode, it listens on loopback only unless
//! the operator explicitly allows remote callers.
//!
//! Without them, anyone who can reach the port can hold a descriptor and
//! some memory per connection forever: opening connections and saying
//! nothing (no HTTP/2 preface), or opening them and leaving them idle. So
//! every accepted connection is counted against a cap (a connection over
//! it is closed at once), must say something within the handshake timeout,
//! and is closed after the idle timeout passes without a byte either way.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::{Stream, StreamExt as _};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};
use tonic::transport::server::{Connected, TcpConnectInfo};

/// The address to listen on: `requested`, except in open mode (`open`)
/// without `allow_open_remote`, where a non-loopback address is narrowed to
/// loopback on the same port (and the log says so).
pub fn protected_address(
    requested: std::net::SocketAddr,
    open: bool,
    allow_open_remote: bool,
) -> std::net::SocketAddr {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
    if !open || allow_open_remote || requested.ip().is_loopback() {
        return requested;
    }
    let loopback = match requested.ip() {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
    };
    let narrowed = std::net::SocketAddr::new(loopback, requested.port());
    tracing::warn!(
        requested = %requested,
        listening = %narrowed,
        "open mode (no auth tokens): listening on loopback only; set ATELIER_AUTH_TOKENS, \
         or --allow-open-remote to accept unauthenticated remote callers"
    );
    narrowed
}

/// How many connections the server holds, and for how long.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Connections held at once; one more is closed as soon as it arrives.
    pub max_connections: usize,
    /// Connections held at once from one client address, so a single host
    /// cannot take every place.
    pub max_connections_per_ip: usize,
    /// Time a new connection has to send its HTTP/2 preface (24 bytes):
    /// trickling a byte now and then does not hold a place.
    pub handshake_timeout: Duration,
    /// Time without a byte read or written after which a connection is
    /// closed (a client's own keepalive pings count as traffic).
    pub idle_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            max_connections: 1024,
            max_connections_per_ip: 256,
            handshake_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(300),
        }
    }
}

/// The accepted connections of `incoming`, each holding a place under the
/// cap and watched for silence; connections over the cap are closed and
/// dropped from the stream.
pub fn limit<S>(
    incoming: S,
    limits: ConnectionLimits,
) -> impl Stream<Item = Result<LimitedConnection, io::Error>>
where
    S: Stream<Item = Result<TcpStream, io::Error>>,
{
    let places = Arc::new(Semaphore::new(limits.max_connections));
    let per_ip = Arc::new(PerIp::default());
    incoming.filter_map(move |accepted| {
        let (places, per_ip) = (places.clone(), per_ip.clone());
        async move {
            let stream = match accepted {
                Err(error) => return Some(Err(error)),
                Ok(stream) => stream,
            };
            let peer = stream.peer_addr().ok().map(|peer| peer.ip());
            let Ok(place) = places.try_acquire_owned() else {
                tracing::warn!(
                    peer = ?peer,
                    max_connections = limits.max_connections,
                    "connection refused: the server holds as many as it may"
                );
                return None;
            };
            let Some(ip_place) = peer.and_then(|ip| per_ip.take(ip, limits.max_connections_per_ip))
            else {
                tracing::warn!(
                    peer = ?peer,
                    max_connections_per_ip = limits.max_connections_per_ip,
                    "connection refused: this address holds as many as it may"
                );
                return None;
            };
            Some(Ok(LimitedConnection::new(
                stream,
                (place, ip_place),
                limits,
            )))
        }
    })
}

/// Connections held per client address.
#[derive(Debug, Default)]
struct PerIp(std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, usize>>);

impl PerIp {
    /// A place for one more connection from `ip`, if it holds fewer than
    /// `max`.
    fn take(self: &Arc<Self>, ip: std::net::IpAddr, max: usize) -> Option<IpPlace> {
        let mut held = self.0.lock().ok()?;
        let count = held.entry(ip).or_default();
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(IpPlace {
            per_ip: self.clone(),
            ip,
        })
    }
}

/// One connection's place under its address's cap, given back on drop.
#[derive(Debug)]
struct IpPlace {
    per_ip: Arc<PerIp>,
    ip: std::net::IpAddr,
}

impl Drop for IpPlace {
    fn drop(&mut self) {
        if let Ok(mut held) = self.per_ip.0.lock()
            && let Some(count) = held.get_mut(&self.ip)
        {
            *count -= 1;
            if *count == 0 {
                held.remove(&self.ip);
            }
        }
    }
}

/// An accepted connection under the limits: it gives its place back when
/// dropped, and fails with `TimedOut` once silent for too long.
pub struct LimitedConnection {
    stream: TcpStream,
    /// When silence would end the connection. Moved on lazily: traffic
    /// only records `last_traffic`, and the timer, when it fires, checks it.
    deadline: Pin<Box<Sleep>>,
    /// When a byte was last read or written once the client's HTTP/2
    /// preface was in (`None` until then, so the handshake timeout applies).
    last_traffic: Option<Instant>,
    /// Bytes of the preface read so far (stops counting at its length).
    preface_read: usize,
    idle_timeout: Duration,
    _places: (OwnedSemaphorePermit, IpPlace),
}

impl LimitedConnection {
    fn new(
        stream: TcpStream,
        places: (OwnedSemaphorePermit, IpPlace),
        limits: ConnectionLimits,
    ) -> Self {
        Self {
            stream,
            deadline: Box::pin(tokio::time::sleep(limits.handshake_timeout)),
            last_traffic: None,
            preface_read: 0,
            idle_timeout: limits.idle_timeout,
            _places: places,
        }
    }
}

/// Length of the HTTP/2 client connection preface
/// (`PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n`): a connection that has not sent this
/// much within the handshake timeout is not a client that means to talk.
const PREFACE_LEN: usize = 24;

impl LimitedConnection {
    /// Bytes moved: the silence starts again — once the handshake is over
    /// (the server's own first frames do not end it).
    fn moved_on(&mut self) {
        if self.preface_read >= PREFACE_LEN {
            self.last_traffic = Some(Instant::now());
        }
    }

    /// Whether the connection has been silent too long, registering the
    /// waker for the next deadline when it has not.
    fn silent_too_long(&mut self, cx: &mut Context<'_>) -> bool {
        loop {
            if self.deadline.as_mut().poll(cx).is_pending() {
                return false;
            }
            match self.last_traffic {
                Some(last) if last + self.idle_timeout > Instant::now() => {
                    self.deadline.as_mut().reset(last + self.idle_timeout);
                }
                _ => return true,
            }
        }
    }
}

impl std::fmt::Debug for LimitedConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LimitedConnection")
            .field("peer", &self.stream.peer_addr().ok())
            .finish_non_exhaustive()
    }
}

impl Connected for LimitedConnection {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.stream.connect_info()
    }
}

impl AsyncRead for LimitedConnection {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.stream).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let read = buf.filled().len() - before;
                if read > 0 {
                    this.preface_read = (this.preface_read + read).min(PREFACE_LEN);
                    this.moved_on();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
            Poll::Pending if this.silent_too_long(cx) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "connection closed after a silence",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncWrite for LimitedConnection {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = Pin::new(&mut this.stream).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = written
            && n > 0
        {
            this.moved_on();
        }
        written
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = Pin::new(&mut this.stream).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = written
            && n > 0
        {
            this.moved_on();
        }
        written
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_mode_narrows_a_remote_address_to_loopback_unless_allowed() {
        let any: std::net::SocketAddr = "0.0.0.0:50051".parse().expect("addr");
        let any6: std::net::SocketAddr = "[::]:7000".parse().expect("addr");
        assert_eq!(
            protected_address(any, true, false).to_string(),
            "127.0.0.1:50051"
        );
        assert_eq!(
            protected_address(any6, true, false).to_string(),
            "[::1]:7000"
        );
        assert_eq!(protected_address(any, true, true), any);
        assert_eq!(protected_address(any, false, false), any);
        let local: std::net::SocketAddr = "127.0.0.1:1".parse().expect("addr");
        assert_eq!(protected_address(local, true, false), local);
    }
}

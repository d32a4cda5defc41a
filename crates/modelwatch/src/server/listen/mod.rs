//! The listener of `serve` (and `demo`): HTTP/1.1 connections served by hyper, with the limits
//! that keep idle, slow or too many sockets from starving the service.
//!
//! - **Header timeout**: a request's head must arrive whole within it, counted from the
//!   connection's accept for its first request and from the first byte of each later one.
//! - **Idle timeout**: a kept-alive connection waiting for its next request is closed after
//!   it, and so is one whose client takes no byte of a response for that long.
//! - **Connection limit**: at most `max_connections` are open. One more is accepted only to
//!   make room: the connection that is not handling a request and has waited longest (one
//!   that never sent a request first, then the longest idle) is closed for it. When every
//!   connection is handling a request, new ones wait in the kernel's backlog. So an operator's
//!   probe gets through however many idle or half-sent sockets hold the limit.
//! - **Shutdown deadline**: once `shutdown` resolves, nothing more is accepted, idle
//!   connections close, requests under way get `shutdown_timeout` to finish, and whatever is
//!   still open then is closed.
//!
//! The body of a request has its own deadline, enforced by the router (`server/limits.rs`) so
//! that it is answered with a 408. Nothing here knows the routes.
//!
//! `connections.rs` keeps where each connection stands and picks the one to close; `io.rs`
//! runs the deadlines on a connection's byte stream.

mod connections;
mod io;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{Request, Response};
use http_body::{Frame, SizeHint};
use hyper::body::Incoming as IncomingBody;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use connections::{ConnectionState, OpenConnections, Phase};
use io::WatchedIo;

/// How long a request's head may take to arrive (10 s).
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a kept-alive connection may wait for its next request (60 s).
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// The most connections open at once (512).
pub const DEFAULT_MAX_CONNECTIONS: usize = 512;
/// How long requests under way may take to finish once shutdown begins (10 s).
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);

/// How long the accept loop waits after an error such as too many open files.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// The limits of the listener's connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// How long a request's head may take to arrive.
    pub header_timeout: Duration,
    /// How long a kept-alive connection may wait for its next request, or a response for its
    /// client to take a byte.
    pub idle_timeout: Duration,
    /// The most connections open at once (at least 1).
    pub max_connections: usize,
    /// How long requests under way may take to finish once shutdown begins.
    pub shutdown_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> ConnectionLimits {
        ConnectionLimits {
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
        }
    }
}

/// Where connections come from: a TCP listener, or in tests anything that hands out byte
/// streams.
pub trait Incoming: Send + 'static {
    /// One connection's byte stream.
    type Io: AsyncRead + AsyncWrite + Unpin + Send + 'static;

    /// The next connection. Must be cancel-safe: the listener drops it to stop.
    fn accept(&mut self) -> impl Future<Output = std::io::Result<Self::Io>> + Send;
}

impl Incoming for TcpListener {
    type Io = TcpStream;

    async fn accept(&mut self) -> std::io::Result<TcpStream> {
        let (stream, _) = TcpListener::accept(self).await?;
        // Answers are written whole; no need to wait for more to fill a packet.
        let _ = stream.set_nodelay(true);
        Ok(stream)
    }
}

/// Serves `router` on the connections of `incoming` until `shutdown` resolves, then stops
/// accepting (dropping `incoming`), lets requests under way finish for at most
/// `limits.shutdown_timeout`, and closes every connection still open. Returns once they are
/// all closed (and so every clone of `router` they held is dropped).
pub async fn listen<I: Incoming>(
    mut incoming: I,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let open = Arc::new(OpenConnections::default());
    let (stop, stopping) = watch::channel(false);
    let mut tasks = JoinSet::new();
    let mut next_id: u64 = 0;
    tokio::pin!(shutdown);
    'accepting: loop {
        while tasks.try_join_next().is_some() {}
        let io = tokio::select! {
            () = &mut shutdown => break 'accepting,
            accepted = incoming.accept() => match accepted {
                Ok(io) => io,
                Err(error) if is_connection_error(&error) => continue,
                Err(error) => {
                    tracing::warn!(error = %error, "Cannot accept a connection; retrying shortly.");
                    if tokio::time::timeout(ACCEPT_BACKOFF, &mut shutdown).await.is_ok() {
                        break 'accepting;
                    }
                    continue;
                }
            },
        };
        let permit = match permits.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                // Make room by closing the connection that waited longest without a
                // request; with none, the new one waits for one to end or to finish its
                // request (and then closes it).
                tracing::debug!(
                    max_connections = limits.max_connections,
                    "The connection limit is reached."
                );
                open.reclaim_one();
                loop {
                    tokio::select! {
                        () = &mut shutdown => break 'accepting,
                        permit = permits.clone().acquire_owned() => match permit {
                            Ok(permit) => break permit,
                            Err(_) => break 'accepting,
                        },
                        () = open.request_done.notified() => {
                            open.reclaim_one();
                        }
                    }
                }
            }
        };
        next_id = next_id.wrapping_add(1);
        let state = Arc::new(ConnectionState::new(next_id, open.request_done.clone()));
        let registered = open.register(state.clone());
        let router = router.clone();
        let stopping = stopping.clone();
        tasks.spawn(async move {
            serve_connection(io, router, state, limits, stopping).await;
            drop(registered);
            drop(permit);
        });
    }
    // No new connections: the listening socket closes, so clients are refused, not queued.
    drop(incoming);
    let _ = stop.send(true);
    let drained = tokio::time::timeout(limits.shutdown_timeout, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            open = tasks.len(),
            deadline_secs = limits.shutdown_timeout.as_secs(),
            "The shutdown deadline passed; closing the connections still open."
        );
        tasks.shutdown().await;
    }
}

/// Errors of one connection that failed before it was accepted; the next accept goes on.
fn is_connection_error(error: &std::io::Error) -> bool {
    use std::io::ErrorKind;
    matches!(
        error.kind(),
        ErrorKind::ConnectionRefused
            | ErrorKind::ConnectionAborted
            | ErrorKind::ConnectionReset
            | ErrorKind::Interrupted
            | ErrorKind::WouldBlock
    )
}

/// One connection, from accept to close.
async fn serve_connection<Io>(
    io: Io,
    router: Router,
    state: Arc<ConnectionState>,
    limits: ConnectionLimits,
    mut stopping: watch::Receiver<bool>,
) where
    Io: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let io = WatchedIo::new(io, state.clone(), limits);
    let service = ConnectionService {
        router,
        state: state.clone(),
    };
    let mut builder = hyper::server::conn::http1::Builder::new();
    // The header timeout is `WatchedIo`'s, which tells idle from slow.
    builder.header_read_timeout(None);
    let connection = builder.serve_connection(TokioIo::new(io), service);
    tokio::pin!(connection);
    let mut closing = false;
    let mut reclaimed = false;
    loop {
        tokio::select! {
            served = connection.as_mut() => {
                if let Err(error) = served {
                    tracing::debug!(connection = state.id, error = %error, "A connection ended.");
                }
                return;
            }
            () = state.reclaim.notified(), if !reclaimed => {
                reclaimed = true;
                tracing::debug!(connection = state.id, "Closing a connection to make room.");
            }
            _ = stopping.wait_for(|stop| *stop), if !closing => {
                closing = true;
            }
        }
        // A half-sent head is owed nothing: it goes at once. Otherwise hyper closes an idle
        // connection once its last answer is written, and a busy one after its answer.
        if state.phase() == Phase::Head {
            return;
        }
        connection.as_mut().graceful_shutdown();
    }
}

/// The service hyper calls for each request of one connection: the router, marking the
/// connection busy from the request's head to its response's end.
#[derive(Clone)]
struct ConnectionService {
    router: Router,
    state: Arc<ConnectionState>,
}

type ResponseFuture =
    Pin<Box<dyn Future<Output = Result<Response<ResponseBody>, std::convert::Infallible>> + Send>>;

impl hyper::service::Service<Request<IncomingBody>> for ConnectionService {
    type Response = Response<ResponseBody>;
    type Error = std::convert::Infallible;
    type Future = ResponseFuture;

    fn call(&self, request: Request<IncomingBody>) -> ResponseFuture {
        self.state.set_phase(Phase::Busy);
        let mut router = self.router.clone();
        let state = self.state.clone();
        Box::pin(async move {
            let done = ResponseDone(state);
            let response =
                tower_service::Service::call(&mut router, request.map(Body::new)).await?;
            Ok(response.map(|body| ResponseBody { body, _done: done }))
        })
    }
}

/// Marks the end of a response when dropped (hyper drops the body once it is written, or the
/// connection once it fails).
struct ResponseDone(Arc<ConnectionState>);

impl Drop for ResponseDone {
    fn drop(&mut self) {
        self.0.response_done();
    }
}

/// A response's body, marking the connection waiting again once hyper is done with it.
struct ResponseBody {
    body: Body,
    _done: ResponseDone,
}

impl http_body::Body for ResponseBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

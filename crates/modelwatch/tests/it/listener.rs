//! The listener's limits, in process on a paused clock: connections are in-memory byte
//! streams (`tokio::io::duplex`), so no real I/O lets the clock jump while a byte is on its way
//! (tokio #4522); the clock only moves when every task waits, which is exactly when a timeout
//! is what comes next. Each test awaits its outcome (an answer, the server closing a stream,
//! the listener returning) and then checks how much (virtual) time it took. The last test
//! serves the service's router: a 401 reaches a client still sending its body.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::to_bytes;
use axum::extract::Request;
use axum::routing::{get, post};
use modelwatch::server::auth::{Auth, Scope, Token};
use modelwatch::server::listen::{ConnectionLimits, Incoming, listen};
use modelwatch::{Service, ServiceOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::sync::{Notify, mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

const LIMITS: ConnectionLimits = ConnectionLimits {
    header_timeout: Duration::from_secs(10),
    idle_timeout: Duration::from_secs(60),
    max_connections: 4,
    shutdown_timeout: Duration::from_secs(30),
};

/// Connections handed to the listener by the test.
struct Streams(mpsc::Receiver<DuplexStream>);

impl Incoming for Streams {
    type Io = DuplexStream;

    async fn accept(&mut self) -> std::io::Result<DuplexStream> {
        match self.0.recv().await {
            Some(stream) => Ok(stream),
            None => std::future::pending().await,
        }
    }
}

/// A running listener: connect to it, see its handlers start, release `/wait`, stop it.
struct Server {
    connect: mpsc::Sender<DuplexStream>,
    /// The path of each handler that starts.
    started: mpsc::Receiver<&'static str>,
    release: Arc<Notify>,
    stop: Option<oneshot::Sender<()>>,
    listening: JoinHandle<()>,
}

impl Server {
    fn start(limits: ConnectionLimits) -> Server {
        let release = Arc::new(Notify::new());
        let waiting = release.clone();
        let (starts, started) = mpsc::channel(16);
        let body_starts = starts.clone();
        let router = Router::new()
            .route("/healthz", get(|| async { "ok" }))
            .route(
                "/wait",
                get(move || async move {
                    starts.send("/wait").await.unwrap();
                    waiting.notified().await;
                    "done"
                }),
            )
            .route(
                "/body",
                post(move |request: Request| async move {
                    body_starts.send("/body").await.unwrap();
                    let body = to_bytes(request.into_body(), usize::MAX).await;
                    body.map_or(0, |body| body.len()).to_string()
                }),
            )
            .route("/big", get(|| async { vec![b'x'; 1 << 20] }));
        Server::serving(router, limits, started, release)
    }

    /// Serves `router` (whose handlers report to `started` and wait for `release`).
    fn serving(
        router: Router,
        limits: ConnectionLimits,
        started: mpsc::Receiver<&'static str>,
        release: Arc<Notify>,
    ) -> Server {
        let (connect, streams) = mpsc::channel(16);
        let (stop, stopped) = oneshot::channel::<()>();
        let listening = tokio::spawn(listen(Streams(streams), router, limits, async move {
            let _ = stopped.await;
        }));
        Server {
            connect,
            started,
            release,
            stop: Some(stop),
            listening,
        }
    }

    async fn connect(&self) -> DuplexStream {
        let (client, server) = tokio::io::duplex(64 * 1024);
        self.connect.send(server).await.unwrap();
        client
    }

    fn stop(&mut self) {
        let _ = self.stop.take().unwrap().send(());
    }
}

async fn send(stream: &mut DuplexStream, text: &str) {
    stream.write_all(text.as_bytes()).await.unwrap();
}

fn get_request(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nhost: test\r\n\r\n")
}

/// Reads one answer: its status and body (by its Content-Length).
async fn answer(stream: &mut DuplexStream) -> (u16, String) {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        let read = stream.read(&mut byte).await.unwrap();
        assert_eq!(read, 1, "the stream ended inside a head: {head:?}");
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    let status = head[9..12].parse().unwrap();
    let length: usize = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().unwrap())
        })
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).await.unwrap();
    (status, String::from_utf8(body).unwrap())
}

/// Waits until the server closes the stream; what it sent before.
async fn closed(stream: &mut DuplexStream) -> Vec<u8> {
    let mut rest = Vec::new();
    stream.read_to_end(&mut rest).await.unwrap();
    rest
}

#[tokio::test(start_paused = true)]
async fn a_half_sent_head_is_closed_at_the_header_timeout() {
    let server = Server::start(LIMITS);
    let started = Instant::now();
    let mut slow = server.connect().await;
    send(&mut slow, "GET /healthz HTTP/1.1\r\nhost: te").await;
    assert_eq!(closed(&mut slow).await, b"");
    assert_eq!(started.elapsed().as_secs(), LIMITS.header_timeout.as_secs());

    // A connection that never sends a byte is held no longer.
    let started = Instant::now();
    let mut silent = server.connect().await;
    assert_eq!(closed(&mut silent).await, b"");
    assert_eq!(started.elapsed().as_secs(), LIMITS.header_timeout.as_secs());
}

#[tokio::test(start_paused = true)]
async fn a_kept_alive_connection_closes_at_the_idle_timeout_and_its_next_head_has_the_header_timeout()
 {
    let server = Server::start(LIMITS);
    let mut client = server.connect().await;
    send(&mut client, &get_request("/healthz")).await;
    assert_eq!(answer(&mut client).await, (200, "ok".to_string()));
    // Idle for less than the idle timeout (but longer than the header timeout): still open.
    tokio::time::advance(LIMITS.header_timeout * 3).await;
    send(&mut client, &get_request("/healthz")).await;
    assert_eq!(answer(&mut client).await, (200, "ok".to_string()));
    // The first bytes of a request start its header timeout.
    tokio::time::advance(LIMITS.header_timeout * 3).await;
    let started = Instant::now();
    send(&mut client, "GET /heal").await;
    assert_eq!(closed(&mut client).await, b"");
    assert_eq!(started.elapsed().as_secs(), LIMITS.header_timeout.as_secs());

    // Left alone after an answer, a connection goes at the idle timeout.
    let mut idle = server.connect().await;
    send(&mut idle, &get_request("/healthz")).await;
    assert_eq!(answer(&mut idle).await.0, 200);
    let started = Instant::now();
    assert_eq!(closed(&mut idle).await, b"");
    assert_eq!(started.elapsed().as_secs(), LIMITS.idle_timeout.as_secs());
}

#[tokio::test(start_paused = true)]
async fn probes_get_through_on_new_and_kept_alive_connections_when_idle_sockets_hold_the_limit() {
    let server = Server::start(LIMITS);
    let started = Instant::now();
    // A probe's kept-alive connection, then idle and half-sent sockets up to the limit.
    let mut probe = server.connect().await;
    send(&mut probe, &get_request("/healthz")).await;
    assert_eq!(answer(&mut probe).await.0, 200);
    let mut idle = Vec::new();
    for index in 0..LIMITS.max_connections - 1 {
        let mut socket = server.connect().await;
        if index % 2 == 1 {
            send(&mut socket, "GET / HTTP/1.1\r\n").await;
        }
        idle.push(socket);
    }
    // Each new connection closes the socket that waited longest without a request.
    for round in 0..idle.len() {
        let mut new = server.connect().await;
        send(&mut new, &get_request("/healthz")).await;
        assert_eq!(answer(&mut new).await, (200, "ok".to_string()));
        assert_eq!(closed(&mut idle[round]).await, b"", "socket {round}");
        // The kept-alive probe still answers.
        send(&mut probe, &get_request("/healthz")).await;
        assert_eq!(answer(&mut probe).await, (200, "ok".to_string()));
        idle.push(new);
    }
    // No timeout did it: no time passed.
    assert_eq!(started.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn when_every_connection_is_busy_a_new_one_waits_for_a_request_to_end() {
    let limits = ConnectionLimits {
        max_connections: 1,
        ..LIMITS
    };
    let mut server = Server::start(limits);
    let mut busy = server.connect().await;
    send(&mut busy, &get_request("/wait")).await;
    assert_eq!(server.started.recv().await, Some("/wait"));
    let mut waiting = server.connect().await;
    send(&mut waiting, &get_request("/healthz")).await;
    // Nothing answers it while the one connection handles its request.
    let early = tokio::time::timeout(Duration::from_secs(5), answer(&mut waiting)).await;
    assert!(early.is_err(), "answered over the limit");
    server.release.notify_one();
    assert_eq!(answer(&mut busy).await, (200, "done".to_string()));
    // Its request over, the busy connection makes room and the waiting one is answered.
    assert_eq!(closed(&mut busy).await, b"");
    assert_eq!(answer(&mut waiting).await, (200, "ok".to_string()));
}

#[tokio::test(start_paused = true)]
async fn shutdown_closes_idle_connections_at_once_and_cuts_half_sent_bodies_at_the_deadline() {
    let mut server = Server::start(LIMITS);
    let mut idle = server.connect().await;
    send(&mut idle, &get_request("/healthz")).await;
    assert_eq!(answer(&mut idle).await.0, 200);
    let mut finishing = server.connect().await;
    send(&mut finishing, &get_request("/wait")).await;
    let mut half_sent = server.connect().await;
    send(
        &mut half_sent,
        "POST /body HTTP/1.1\r\nhost: test\r\ncontent-length: 100\r\n\r\n0123456789",
    )
    .await;
    // Both requests reach their handlers before the stop.
    let mut handlers = [
        server.started.recv().await.unwrap(),
        server.started.recv().await.unwrap(),
    ];
    handlers.sort_unstable();
    assert_eq!(handlers, ["/body", "/wait"]);

    let started = Instant::now();
    server.stop();
    // The idle connection goes at once; a request under way is still answered.
    assert_eq!(closed(&mut idle).await, b"");
    assert_eq!(started.elapsed(), Duration::ZERO);
    server.release.notify_one();
    assert_eq!(answer(&mut finishing).await, (200, "done".to_string()));
    assert_eq!(closed(&mut finishing).await, b"");
    // No new connection is taken.
    assert!(server.connect.send(tokio::io::duplex(64).1).await.is_err());
    // The half-sent body holds the shutdown for the deadline, not longer.
    assert_eq!(closed(&mut half_sent).await, b"");
    server.listening.await.unwrap();
    assert_eq!(started.elapsed(), LIMITS.shutdown_timeout);
}

#[tokio::test(start_paused = true)]
async fn an_answer_the_client_does_not_take_is_abandoned_at_the_idle_timeout() {
    let server = Server::start(LIMITS);
    let mut client = server.connect().await;
    send(&mut client, &get_request("/big")).await;
    // The client reads nothing for longer than the idle timeout: on the paused clock, this
    // lets the server fill the stream's buffer and wait, then jumps to its deadline.
    tokio::time::sleep_until(Instant::now() + LIMITS.idle_timeout + Duration::from_secs(1)).await;
    let received = closed(&mut client).await;
    assert!(
        !received.is_empty() && received.len() < 1 << 20,
        "received {} bytes",
        received.len()
    );
}

#[tokio::test]
async fn a_refused_request_reads_a_small_body_first_so_its_client_gets_the_401() {
    let dir = tempfile::tempdir().unwrap();
    let config = modelwatch::engine::parse_config("").unwrap().config;
    let auth = Auth::new(vec![Token::new("env T", "the-token", &[Scope::Ingest])]).unwrap();
    let service = Service::start(
        Arc::new(config),
        dir.path(),
        Arc::new(modelwatch::SystemClock),
        ServiceOptions {
            auth,
            ..ServiceOptions::default()
        },
    )
    .unwrap();
    let (_, idle) = mpsc::channel(1);
    let server = Server::serving(service.router(), LIMITS, idle, Arc::new(Notify::new()));
    // A small pipe: the client is still writing the body when the server answers. Without
    // reading the rest, the server closed the connection under it (a reset on TCP).
    let (mut client, stream) = tokio::io::duplex(1024);
    server.connect.send(stream).await.unwrap();
    let body = " ".repeat(32 * 1024);
    for _ in 0..2 {
        let request = format!(
            "POST /v1/events HTTP/1.1\r\nhost: t\r\ncontent-type: application/json\r\n\
             content-length: {}\r\n\r\n{body}",
            body.len()
        );
        send(&mut client, &request).await;
        let (status, answer) = answer(&mut client).await;
        assert_eq!(status, 401, "{answer}");
        assert!(answer.contains("missing bearer token"), "{answer}");
    }
    drop(server);
    tokio::task::spawn_blocking(move || service.join())
        .await
        .unwrap()
        .unwrap();
}

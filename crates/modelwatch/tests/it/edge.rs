//! serve's connection and body limits end to end, against `modelwatch serve` as a child
//! process on raw sockets: a declared length over the body limit is a 413 before the body is
//! sent, `/healthz` answers when idle and half-sent sockets hold `--max-connections`, and
//! SIGTERM does not wait for a half-sent body past `--shutdown-timeout`. The timeouts
//! themselves are checked in process on a paused clock (`listener`, `routes::bodies`).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::Value;

use crate::serve_child::{ServeChild, http_agent};

/// How long a raw socket waits for an answer before the test fails instead of hanging.
const STUCK: Duration = Duration::from_secs(60);

fn connect(base: &str) -> TcpStream {
    let stream = TcpStream::connect(base.trim_start_matches("http://")).unwrap();
    stream.set_read_timeout(Some(STUCK)).unwrap();
    stream
}

/// Reads an answer up to the end of its head and a body of its Content-Length: the head
/// (lower case) and the body.
fn read_answer(stream: &mut TcpStream) -> (String, String) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(
            stream.read(&mut byte).unwrap(),
            1,
            "closed in a head: {head:?}"
        );
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap().to_ascii_lowercase();
    let length = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .map_or(0, |value| value.trim().parse().unwrap());
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).unwrap();
    (head, String::from_utf8(body).unwrap())
}

#[test]
fn a_declared_length_over_the_body_limit_is_a_413_before_the_body_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let process = ServeChild::start(&dir.path().join("data"), |command| {
        command.args(["--body-limit", "1000"]);
    });
    let mut stream = connect(&process.base);
    // The head only: serve must answer without waiting for a byte of the body.
    write!(
        stream,
        "POST /v1/events HTTP/1.1\r\nhost: t\r\ncontent-type: application/json\r\n\
         content-length: 20000000\r\n\r\n"
    )
    .unwrap();
    let (head, body) = read_answer(&mut stream);
    assert!(head.starts_with("http/1.1 413"), "{head}");
    assert!(head.contains("connection: close"), "{head}");
    let body: Value = serde_json::from_str(&body).unwrap();
    let error = body["error"].as_str().unwrap();
    assert!(error.contains("limit of 1000 bytes"), "{error}");
    // Nothing else comes on that connection.
    let mut rest = Vec::new();
    stream.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty());
    let metrics = http_agent()
        .get(format!("{}/metrics", process.base))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    assert!(
        metrics.contains("modelwatch_ingest_rejected_total{reason=\"too_large\"} 1"),
        "{metrics}"
    );
    process.stop();
}

#[test]
fn healthz_answers_while_idle_and_half_sent_sockets_hold_the_connection_limit() {
    let dir = tempfile::tempdir().unwrap();
    let process = ServeChild::start(&dir.path().join("data"), |command| {
        command.args(["--max-connections", "4", "--header-timeout", "1h"]);
    });
    let mut held = Vec::new();
    for index in 0..4 {
        let mut socket = connect(&process.base);
        if index % 2 == 1 {
            socket.write_all(b"GET /healthz HTTP/1.1\r\nhost:").unwrap();
        }
        held.push(socket);
    }
    // Each probe gets a connection: the socket that waited longest without a request is
    // closed for it (no timeout could do it: the header timeout is an hour). Connections are
    // accepted in the order they were made; the probes stay open, answered, so that they
    // hold the limit too.
    let mut probes = Vec::new();
    for (round, socket) in held.iter_mut().enumerate() {
        let mut probe = connect(&process.base);
        probe
            .write_all(b"GET /healthz HTTP/1.1\r\nhost: t\r\n\r\n")
            .unwrap();
        let (head, _) = read_answer(&mut probe);
        assert!(head.starts_with("http/1.1 200"), "{head}");
        probes.push(probe);
        let mut rest = Vec::new();
        socket.read_to_end(&mut rest).unwrap();
        assert!(rest.is_empty(), "socket {round}: {rest:?}");
    }
    process.stop();
}

#[test]
fn sigterm_does_not_wait_past_the_shutdown_deadline_for_a_half_sent_body() {
    let dir = tempfile::tempdir().unwrap();
    let process = ServeChild::start(&dir.path().join("data"), |command| {
        command.args(["--shutdown-timeout", "1s", "--body-timeout", "1h"]);
    });
    let mut half_sent = connect(&process.base);
    write!(
        half_sent,
        "POST /v1/events HTTP/1.1\r\nhost: t\r\ncontent-type: application/json\r\n\
         content-length: 100\r\n\r\n[{{\"model\""
    )
    .unwrap();
    // Connections are accepted in order: once another one is answered, the half-sent one is
    // open in serve (its head read, or on the way).
    let answer = http_agent()
        .get(format!("{}/healthz", process.base))
        .call()
        .unwrap();
    assert_eq!(answer.status().as_u16(), 200);
    // serve exits cleanly, with the half-sent body still open (without the deadline it
    // waited for it as long as the client kept the socket).
    let rest = process.stop();
    assert!(rest.contains("stopped"), "{rest}");
    let mut closed = Vec::new();
    half_sent.read_to_end(&mut closed).unwrap();
    drop(half_sent);
}

#[test]
fn serve_and_demo_help_list_every_limit_with_its_default() {
    for command in ["serve", "demo"] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_modelwatch"))
            .args([command, "--help"])
            .output()
            .unwrap();
        assert!(output.status.success());
        let help = String::from_utf8(output.stdout).unwrap().replace('\n', " ");
        for (flag, default) in [
            ("--header-timeout", "10s"),
            ("--body-timeout", "30s"),
            ("--idle-timeout", "60s"),
            ("--max-connections", "512"),
            ("--shutdown-timeout", "10s"),
            ("--max-bodies-in-flight", "67108864"),
        ] {
            let after = help
                .split_once(&format!("{flag} <"))
                .unwrap_or_else(|| panic!("{command}: no {flag}: {help}"))
                .1;
            let shown = after.split("[default: ").nth(1).unwrap_or("");
            assert!(
                shown.starts_with(&format!("{default}]")),
                "{command} {flag}: {after}"
            );
        }
    }
}

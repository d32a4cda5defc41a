//! The testkit's servers start, answer and stop: PostgreSQL with a database per test, NATS
//! with JetStream, each restartable.

#![allow(clippy::unwrap_used)]

use modelwatch_testkit::{NatsServer, PostgresServer};

fn query_one(url: &str) -> i32 {
    let url = url.to_string();
    std::thread::spawn(move || {
        let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        client.query_one("SELECT 41 + 1", &[]).unwrap().get(0)
    })
    .join()
    .unwrap()
}

#[test]
fn postgres_databases_are_separate_and_answer() {
    let Some(server) = PostgresServer::shared() else {
        return;
    };
    let first = server.database();
    let second = server.database();
    assert_ne!(first.url(), second.url());
    assert_eq!(query_one(first.url()), 42);
    assert_eq!(query_one(second.url()), 42);
}

#[test]
fn postgres_restarts_on_the_same_port_and_files() {
    let Some(mut server) = PostgresServer::start() else {
        return;
    };
    let database = server.database();
    assert_eq!(query_one(database.url()), 42);
    let port = server.port();
    server.restart();
    assert_eq!(server.port(), port);
    assert_eq!(query_one(database.url()), 42);
}

#[test]
fn nats_starts_and_restarts() {
    let Some(mut server) = NatsServer::start() else {
        return;
    };
    let address = server.url().trim_start_matches("nats://").to_string();
    assert!(std::net::TcpStream::connect(&address).is_ok());
    server.restart();
    assert!(std::net::TcpStream::connect(&address).is_ok());
}

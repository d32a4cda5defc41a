//! One `serve` on PostgreSQL (`--store postgres://...`, no ingest log): the example events in
//! two halves with a SIGKILL between them, the second run restoring from PostgreSQL; the
//! stored alerts and decisions are those `modelwatch replay` gives for all the events, and
//! `/readyz`, `/metrics` and the listings answer as on SQLite. Skipped without PostgreSQL,
//! failed under `MODELWATCH_REQUIRE_SERVERS=1`.

use modelwatch_testkit::PostgresServer;

use crate::serve_child::{Client, ServeChild, example_events, ids, ndjson, replay};

#[test]
fn serve_on_postgres_survives_a_kill_and_agrees_with_replay() {
    let Some(server) = PostgresServer::shared() else {
        return;
    };
    let database = server.database();
    let events = example_events();
    let (first, second) = events.split_at(events.len() / 2);

    let serve = ServeChild::start_on(database.url(), |_| {});
    assert!(
        serve.banner.contains("storing in 127.0.0.1:"),
        "{}",
        serve.banner
    );
    assert!(!serve.banner.contains("postgres://"), "{}", serve.banner);
    let client = Client::of(&serve);
    let (status, body) = client.post("/v1/events", "application/x-ndjson", &ndjson(first));
    assert_eq!(status, 202, "{body}");
    serve.kill();

    let serve = ServeChild::start_on(database.url(), |_| {});
    assert_eq!(
        serve.replayed + serve.restored.unwrap_or(0),
        first.len() as u64
    );
    let client = Client::of(&serve);
    let (status, body) = client.post("/v1/events", "application/x-ndjson", &ndjson(second));
    assert_eq!(status, 202, "{body}");
    let (ready, text) = client.get("/readyz");
    assert_eq!((ready, text.as_str()), (200, "ready\n"));
    let (metrics, text) = client.get("/metrics");
    assert_eq!(metrics, 200);
    assert!(text.contains("modelwatch_store_bytes"), "{text}");

    let dir = tempfile::tempdir().unwrap();
    let (alerts, decisions) = replay(dir.path(), &events);
    assert!(!alerts.is_empty() && !decisions.is_empty());
    assert_eq!(ids(&client.all("alerts")), ids(&alerts));
    assert_eq!(ids(&client.all("decisions")), ids(&decisions));
    serve.stop();
}

//! `modelwatch serve` when its store refuses a commit for a cause that is not transient (a
//! constraint, not a full disk): the request is answered with an opaque 500 that names only
//! the request's id, the log has the cause under that id, nothing of it is stored, serve stops
//! by itself with exit code 1, and a restart recovers everything that was acknowledged. A
//! transient cause (a full disk) stops nothing: see `routes::full_disk`.
//!
//! The failure is made from outside: a trigger added to serve's database by another connection
//! refuses every new input (SQLite's `SQLITE_CONSTRAINT_TRIGGER`, which trying again would not
//! change). No timing is involved.

use modelwatch_store::{DB_FILE, Store};

use crate::serve_child::{Client, ServeChild, example_events, ndjson};

#[test]
fn a_commit_refused_for_good_stores_nothing_of_its_request_and_stops_serve_with_exit_code_1() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let events = example_events();
    let log = dir.path().join("stderr.log");
    let stderr = std::fs::File::create(&log).unwrap();
    let process = ServeChild::start(&data, |command| {
        command.stderr(stderr);
    });
    let (status, body) =
        Client::of(&process).post("/v1/events", "application/x-ndjson", &ndjson(&events[..20]));
    assert_eq!(status, 202, "{body}");

    let sick = rusqlite::Connection::open(data.join(DB_FILE)).unwrap();
    sick.execute_batch(
        "CREATE TRIGGER sick_disk BEFORE INSERT ON inputs
         BEGIN SELECT RAISE(ABORT, 'disk I/O error (simulated)'); END;",
    )
    .unwrap();
    let (status, body) = Client::of(&process).post(
        "/v1/events",
        "application/x-ndjson",
        &ndjson(&events[20..30]),
    );
    assert_eq!(status, 500, "{body}");
    // The client learns nothing of the store: only that it failed, and under which id.
    let request_id = body["request_id"].as_str().unwrap().to_string();
    assert_eq!(
        body,
        serde_json::json!({"error": "internal error", "request_id": request_id})
    );

    // serve stops by itself: trying again would fail again, so it must not go on.
    let (exit, _) = process.wait();
    assert_eq!(exit.code(), Some(1), "{exit}");
    // The log has the cause, at error level, under the request's id.
    let log = std::fs::read_to_string(&log).unwrap();
    let line = log
        .lines()
        .find(|line| line.contains(&request_id))
        .unwrap_or_else(|| panic!("no line names {request_id}:\n{log}"));
    assert!(line.contains("ERROR"), "{line}");
    for detail in [
        "the store failed to commit",
        "disk I/O error (simulated)",
        "/v1/events",
    ] {
        assert!(line.contains(detail), "{detail}: {line}");
    }

    // The disk heals; a restart has exactly the acknowledged inputs and takes new ones.
    sick.execute_batch("DROP TRIGGER sick_disk").unwrap();
    drop(sick);
    assert_eq!(Store::open(&data).unwrap().last_seq().unwrap(), 20);
    let process = ServeChild::start(&data, |_| {});
    assert_eq!(process.replayed, 20);
    let (status, body) = Client::of(&process).post(
        "/v1/events",
        "application/x-ndjson",
        &ndjson(&events[20..30]),
    );
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["accepted"], 10);
    process.stop();
    assert_eq!(Store::open(&data).unwrap().last_seq().unwrap(), 30);
}

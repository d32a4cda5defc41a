//! A store that cannot write (the store's fault injection: every commit failing as on a full
//! disk, or SQLite's own "database or disk is full" once the file may not grow) does not take
//! the service down: ingest answers 503 with the reason and `Retry-After`, reads, `/metrics`
//! and `/healthz` go on, `/readyz` answers 503 saying why, and once the store can write the
//! writer takes events again by itself. Every acknowledged event is stored exactly once, and
//! nothing of a refused request is.
//!
//! On tokio's paused clock: the writer's backoff runs on it, so waiting for the writer to
//! recover takes no real time.

use modelwatch::runtime::Status;
use modelwatch_store::{FaultInjector, MAX_REPLAY_PAGE, Store};
use serde_json::Value;

use super::{Routes, accuracy, keep_everything};

const CONFIG: &str = r#"
[[rules]]
name = "acc-low"
metric = "accuracy"
detector = { kind = "threshold", below = 0.9 }
"#;

/// Events of models `m{from}` to `m{to - 1}`, one each, every other one below the threshold.
fn events(from: usize, to: usize) -> Vec<Value> {
    (from..to)
        .map(|i| {
            let value = if i % 2 == 0 { 0.5 } else { 0.95 };
            accuracy(&format!("m{i}"), "1", "2026-11-23T11:00:00Z", value)
        })
        .collect()
}

fn ndjson(events: &[Value]) -> String {
    events.iter().map(|event| format!("{event}\n")).collect()
}

/// The model names of the stored inputs, in sequence order.
fn stored_models(data: &std::path::Path) -> Vec<String> {
    let store = Store::open(data).unwrap();
    let inputs = store.inputs_after(0, MAX_REPLAY_PAGE).unwrap();
    inputs
        .iter()
        .map(|stored| {
            let wire = serde_json::to_value(&stored.input).unwrap();
            wire["model"]["name"].as_str().unwrap().to_string()
        })
        .collect()
}

fn names(from: usize, to: usize) -> Vec<String> {
    (from..to).map(|i| format!("m{i}")).collect()
}

/// What the service must do while its store cannot write: refuse events with `reason` in the
/// answer, and keep answering everything else.
async fn assert_refuses_events_and_serves_reads(routes: &Routes, refused: &[Value], reason: &str) {
    let answer = routes
        .send(
            "POST",
            "/v1/events",
            "application/x-ndjson",
            &ndjson(refused),
        )
        .await;
    assert_eq!(answer.status, 503, "{}", answer.text);
    assert!(answer.retry_after.is_some(), "{answer:?}");
    let error = answer.body["error"].as_str().unwrap();
    assert!(error.contains(reason), "{error}");
    assert!(
        error.contains("nothing of this request is stored"),
        "{error}"
    );

    let ready = routes.get("/readyz").await;
    assert_eq!(ready.status, 503, "{}", ready.text);
    assert!(
        ready.text.starts_with("the last commit failed: "),
        "{}",
        ready.text
    );
    assert!(ready.text.contains(reason), "{}", ready.text);
    assert!(
        ready.text.trim_end().ends_with("; retrying"),
        "{}",
        ready.text
    );
    assert_eq!(routes.get("/healthz").await.status, 200);
    let metrics = routes.get("/metrics").await;
    assert_eq!(metrics.status, 200, "{}", metrics.text);
    assert!(
        metrics
            .text
            .contains("modelwatch_ingest_rejected_total{reason=\"unavailable\"}"),
        "{}",
        metrics.text
    );
    let failures: f64 = (metrics.text.lines())
        .find_map(|line| line.strip_prefix("modelwatch_write_failures_total "))
        .unwrap_or_else(|| panic!("no write failures in {}", metrics.text))
        .parse()
        .unwrap();
    assert!(failures >= 1.0, "{}", metrics.text);
    let models = routes.get("/v1/models").await;
    assert_eq!(models.status, 200, "{}", models.text);
    // Points not yet written wait in the writer's memory: the read answers what is stored.
    let series = routes.get("/v1/series?model=m0&metric=accuracy").await;
    assert_eq!(series.status, 200, "{}", series.text);
    let alerts = routes.get("/v1/alerts").await;
    assert_eq!(alerts.status, 200, "{}", alerts.text);
}

/// Waits (on the paused clock) until the writer takes events again.
async fn recovered(routes: &Routes) {
    let status = routes
        .status()
        .wait_for(|status| !matches!(status, Status::Retrying { .. }))
        .await
        .unwrap()
        .clone();
    assert!(matches!(status, Status::Ready { .. }), "{status:?}");
}

#[tokio::test(start_paused = true)]
async fn failing_commits_refuse_events_with_the_reason_and_the_writer_resumes_by_itself() {
    let dir = tempfile::tempdir().unwrap();
    let routes = Routes::start(dir.path(), CONFIG, keep_everything()).await;
    routes.ingest(&events(0, 20)).await;

    let disk = FaultInjector::for_dir(dir.path());
    disk.fail_writes();
    // The commit of this request fails: 503, and the engine goes back to the store's state.
    let answer = routes
        .send(
            "POST",
            "/v1/events",
            "application/x-ndjson",
            &ndjson(&events(20, 30)),
        )
        .await;
    assert_eq!(answer.status, 503, "{}", answer.text);
    assert!(answer.retry_after.is_some(), "{answer:?}");
    let error = answer.body["error"].as_str().unwrap();
    assert!(error.contains("database or disk is full"), "{error}");
    assert_refuses_events_and_serves_reads(&routes, &events(30, 40), "database or disk is full")
        .await;
    // The writer tries again after its backoff (the paused clock runs on to it): each try
    // fails while the disk stays full, and says so again.
    let mut status = routes.status();
    for _ in 0..3 {
        let failed_before = disk.injected();
        status.borrow_and_update();
        status.changed().await.unwrap();
        assert!(matches!(*status.borrow(), Status::Retrying { .. }));
        assert!(
            disk.injected() > failed_before,
            "the writer did not try a write"
        );
    }
    assert_refuses_events_and_serves_reads(&routes, &events(30, 40), "database or disk is full")
        .await;

    disk.heal();
    recovered(&routes).await;
    assert_eq!(routes.get("/readyz").await.status, 200);
    // The refused events are sent again, and new ones follow.
    routes.ingest(&events(20, 30)).await;
    routes.ingest(&events(30, 40)).await;
    let alerts = routes.get("/v1/alerts?limit=1000").await;
    assert_eq!(
        alerts.body["items"].as_array().unwrap().len(),
        20,
        "{}",
        alerts.text
    );
    for model in ["m0", "m25", "m39"] {
        let series = routes
            .get(&format!("/v1/series?model={model}&metric=accuracy"))
            .await;
        assert_eq!(
            series.body["points"].as_array().unwrap().len(),
            1,
            "{}",
            series.text
        );
    }
    let data = routes.stop().await;
    assert_eq!(stored_models(&data), names(0, 40));
}

#[tokio::test(start_paused = true)]
async fn a_database_that_may_not_grow_refuses_events_until_it_may() {
    let dir = tempfile::tempdir().unwrap();
    let routes = Routes::start(dir.path(), CONFIG, keep_everything()).await;
    routes.ingest(&events(0, 20)).await;

    let disk = FaultInjector::for_dir(dir.path());
    disk.fill_disk();
    // A batch that needs new pages: SQLite itself answers SQLITE_FULL.
    let answer = routes
        .send(
            "POST",
            "/v1/events",
            "application/x-ndjson",
            &ndjson(&events(20, 2_020)),
        )
        .await;
    assert_eq!(answer.status, 503, "{}", answer.text);
    let error = answer.body["error"].as_str().unwrap();
    assert!(error.contains("database or disk is full"), "{error}");
    assert_eq!(
        disk.injected(),
        0,
        "SQLite, not the injector, refused the commit"
    );
    // A write that fits in the free pages may succeed meanwhile, and the writer then takes
    // events again: whether `/readyz` says 503 now depends on how the retries ran.
    assert_eq!(routes.get("/healthz").await.status, 200);
    assert_eq!(routes.get("/v1/models").await.status, 200);

    disk.heal();
    recovered(&routes).await;
    routes.ingest(&events(20, 2_020)).await;
    let data = routes.stop().await;
    assert_eq!(stored_models(&data), names(0, 2_020));
}

//! `modelwatch serve` run as a child process: ingest over HTTP, the stored alerts against
//! `replay`, refused input, and a restart that continues exactly where the stream stopped.
//!
//! No sleeping: each start reads the child's stdout up to its `ready:` line, which serve
//! prints once recovery has finished.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::serve_child::{Client, ServeChild, example_events, ids, ndjson, replay};

struct Server {
    process: ServeChild,
    client: Client,
}

impl Server {
    /// Starts serve on a free port and returns once it says it is ready, with the number of
    /// stored inputs it replayed and the input of the snapshot it restored.
    fn start(data: &Path) -> (Server, (u64, Option<u64>)) {
        let process = ServeChild::start(data, |_| {});
        let replayed = (process.replayed, process.restored);
        let client = Client::of(&process);
        (Server { process, client }, replayed)
    }

    /// POST events in `content_type`.
    fn post(&self, content_type: &str, body: &str) -> (u16, Value) {
        self.client.post("/v1/events", content_type, body)
    }

    fn get(&self, path: &str) -> (u16, String) {
        self.client.get(path)
    }

    /// Every stored output of a listing (alerts or decisions), oldest first.
    fn all(&self, listing: &str) -> Vec<Value> {
        self.client.all(listing)
    }

    /// SIGTERM, then the exit code and the rest of stdout.
    fn stop(self) -> String {
        self.process.stop()
    }
}

#[test]
fn serve_stores_what_replay_computes_and_refuses_bad_input_without_a_trace() {
    let dir = tempfile::tempdir().unwrap();
    let events = example_events();
    let (alerts, decisions) = replay(dir.path(), &events);
    assert!(alerts.len() > 5 && !decisions.is_empty());
    let (server, replayed) = Server::start(&dir.path().join("data"));
    assert_eq!(replayed, (0, None));
    assert_eq!(server.get("/healthz").0, 200);
    assert_eq!(server.get("/readyz").0, 200);

    // A batch with one bad event is refused whole: 422 naming the index and field.
    let bad = format!(
        "[{}, {{\"model\": {{\"name\": \"m\", \"version\": \"1\"}}, \"metrics\": {{\"accuracy\": 2}}}}]",
        events[0]
    );
    let (status, body) = server.post("application/json", &bad);
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["errors"][0]["index"], 1);
    assert_eq!(body["errors"][0]["field"], "metrics.accuracy");
    let (status, body) = server.post("application/json", "[{\"model\": ");
    assert_eq!(status, 400, "{body}");
    assert_eq!(server.post("text/plain", &events[0]).0, 415);
    // The service's own inputs are not events: the ingest endpoint refuses them.
    for (input, field) in [
        (r#"{"retrain_request": {"model": "m"}}"#, "retrain_request"),
        (
            r#"{"job_finished": {"model": "m", "status": "failed"}}"#,
            "job_finished",
        ),
    ] {
        let (status, body) = server.post("application/json", input);
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["errors"][0]["field"], field, "{body}");
    }
    assert_eq!(server.post("application/x-ndjson", "").0, 400);

    for chunk in events.chunks(50) {
        let (status, body) = server.post("application/x-ndjson", &ndjson(chunk));
        assert_eq!(status, 202, "{body}");
        assert_eq!(body["accepted"], chunk.len());
    }
    // Byte for byte what replay computes: the refused batches left no input behind (every id
    // depends on its input's sequence number).
    assert_eq!(server.all("alerts"), alerts);
    assert_eq!(server.all("decisions"), decisions);
    let (status, text) = server.get("/v1/alerts?state=resolved&model=fraud-detector");
    assert_eq!(status, 200);
    let resolved: Value = serde_json::from_str(&text).unwrap();
    let expected: Vec<&Value> = alerts
        .iter()
        .filter(|alert| alert["state"] == "resolved")
        .collect();
    assert_eq!(resolved["items"].as_array().unwrap().len(), expected.len());
    assert_eq!(server.get("/v1/alerts?state=sideways").0, 400);
    let rest = server.stop();
    assert!(rest.contains("stopped"), "{rest}");
}

#[test]
fn a_restart_continues_the_stream_exactly_as_if_serve_had_never_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let events = example_events();
    let (alerts, decisions) = replay(dir.path(), &events);
    // An alert that fires before input `cut` and resolves after it.
    let resolved = alerts
        .iter()
        .find(|alert| alert["state"] == "resolved")
        .unwrap();
    let alert_id = resolved["alert_id"].as_str().unwrap();
    let resolved_seq = resolved["seq"].as_u64().unwrap() as usize;
    let cut = resolved_seq - 2;
    let fired = alerts
        .iter()
        .find(|alert| alert["alert_id"] == alert_id && alert["state"] == "firing")
        .unwrap();
    assert!(fired["seq"].as_u64().unwrap() as usize <= cut);

    let (server, _) = Server::start(&data);
    for chunk in events[..cut].chunks(40) {
        assert_eq!(server.post("application/x-ndjson", &ndjson(chunk)).0, 202);
    }
    server.stop();

    // The clean stop saved a snapshot at the last input: nothing is left to replay.
    let (server, replayed) = Server::start(&data);
    assert_eq!(replayed, (0, Some(cut as u64)));
    let firing = server.all("alerts");
    let last_transition = firing
        .iter()
        .rev()
        .find(|alert| alert["alert_id"] == alert_id)
        .unwrap();
    assert_eq!(last_transition["state"], "firing");
    // The next points, one request each: the alert resolves at the same input, with the same id.
    for event in &events[cut..resolved_seq] {
        assert_eq!(server.post("application/json", event).0, 202);
    }
    let after = server.all("alerts");
    assert_eq!(after.last().unwrap()["id"], resolved["id"]);
    for chunk in events[resolved_seq..].chunks(40) {
        assert_eq!(server.post("application/x-ndjson", &ndjson(chunk)).0, 202);
    }
    assert_eq!(ids(&server.all("alerts")), ids(&alerts));
    assert_eq!(server.all("alerts"), alerts);
    assert_eq!(server.all("decisions"), decisions);
    server.stop();
}

/// The rules `modelwatch replay` (table form) reports as not ok at the end: (state, model as
/// `name@version/instance`, metric, rule, latest value).
fn replay_end_state(dir: &Path, events: &[String]) -> Vec<(String, String, String, String, f64)> {
    let file = dir.join("events-table.jsonl");
    std::fs::write(&file, events.join("\n")).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_modelwatch"))
        .arg("replay")
        .arg(&file)
        .output()
        .unwrap();
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    let end = text.find("At the end").unwrap();
    text[end..]
        .lines()
        .skip(2)
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let columns: Vec<&str> = line
                .split("  ")
                .map(str::trim)
                .filter(|column| !column.is_empty())
                .collect();
            let latest = columns[4]
                .rsplit("latest value ")
                .next()
                .and_then(|value| value.parse().ok())
                .unwrap_or(f64::NAN);
            (
                columns[0].to_string(),
                columns[1].to_string(),
                columns[2].to_string(),
                columns[3].to_string(),
                latest,
            )
        })
        .collect()
}

fn get_json(server: &Server, path: &str) -> (u16, Value) {
    let (status, text) = server.get(path);
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[test]
fn serve_reports_models_and_series_as_replay_ends_and_refuses_bad_queries() {
    let dir = tempfile::tempdir().unwrap();
    let events = example_events();
    let end_state = replay_end_state(dir.path(), &events);
    let firing: Vec<_> = end_state.iter().filter(|row| row.0 == "firing").collect();
    assert!(!firing.is_empty());
    let (server, _) = Server::start(&dir.path().join("data"));
    for chunk in events.chunks(50) {
        assert_eq!(server.post("application/x-ndjson", &ndjson(chunk)).0, 202);
    }

    // Every model, in pages of one, and each one alone agrees with the listing.
    let mut models = Vec::new();
    let mut path = "/v1/models?limit=1".to_string();
    loop {
        let (status, body) = get_json(&server, &path);
        assert_eq!(status, 200, "{body}");
        models.extend(body["items"].as_array().unwrap().iter().cloned());
        match body["next"].as_str() {
            Some(next) => path = format!("/v1/models?limit=1&after={next}"),
            None => break,
        }
    }
    let fraud = models
        .iter()
        .find(|model| model["name"] == "fraud-detector")
        .unwrap()
        .clone();
    let (status, alone) = get_json(&server, "/v1/models/fraud-detector");
    assert_eq!(status, 200, "{alone}");
    assert_eq!(alone, fraud);
    assert_eq!(fraud["versions"], serde_json::json!(["1.4.0", "1.5.0"]));

    // Open alerts: exactly the rules replay ends with as firing, pending or warning.
    let open: Vec<(String, String, String, String)> = models
        .iter()
        .flat_map(|model| model["alerts"].as_array().unwrap().iter())
        .map(|alert| {
            let model = &alert["model"];
            (
                alert["state"].as_str().unwrap().to_string(),
                format!(
                    "{}@{}/{}",
                    model["name"].as_str().unwrap(),
                    model["version"].as_str().unwrap(),
                    model["instance"].as_str().unwrap()
                ),
                alert["metric"].as_str().unwrap().to_string(),
                alert["rule"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let mut expected_open: Vec<_> = end_state
        .iter()
        .filter(|row| ["firing", "pending", "warning"].contains(&row.0.as_str()))
        .map(|row| (row.0.clone(), row.1.clone(), row.2.clone(), row.3.clone()))
        .collect();
    let mut open_sorted = open.clone();
    open_sorted.sort();
    expected_open.sort();
    assert_eq!(open_sorted, expected_open);

    // Latest values: what replay reports for every rule it lists.
    let latest = |model: &str, metric: &str| -> Value {
        let (name, rest) = model.split_once('@').unwrap();
        let (version, instance) = rest.split_once('/').unwrap();
        models.iter().find(|m| m["name"] == name).unwrap()["latest"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["version"] == version && l["instance"] == instance && l["metric"] == metric)
            .unwrap()
            .clone()
    };
    for row in end_state.iter().filter(|row| !row.4.is_nan()) {
        let value = latest(&row.1, &row.2)["value"].as_f64().unwrap();
        assert!(
            (value - row.4).abs() <= 1e-5 * row.4.abs().max(1.0),
            "{row:?}: {value}"
        );
    }

    // One series, in pages of 7: every point exactly once, in order, as the events sent it.
    let expected_seqs: Vec<u64> = events
        .iter()
        .enumerate()
        .filter(|(_, line)| {
            let event: Value = serde_json::from_str(line).unwrap();
            event["model"]["name"] == "fraud-detector"
                && event["model"]["version"] == "1.5.0"
                && event["model"]["instance"] == "canary-0"
                && event["metrics"]["accuracy"].is_number()
        })
        .map(|(index, _)| index as u64 + 1)
        .collect();
    assert!(expected_seqs.len() > 14);
    let base =
        "/v1/series?model=fraud-detector&version=1.5.0&instance=canary-0&metric=accuracy&limit=7";
    let mut points = Vec::new();
    let mut path = base.to_string();
    loop {
        let (status, body) = get_json(&server, &path);
        assert_eq!(status, 200, "{body}");
        let page = body["points"].as_array().unwrap();
        assert!(page.len() <= 7);
        points.extend(page.iter().cloned());
        match body["next"].as_str() {
            Some(next) => path = format!("{base}&after={next}"),
            None => break,
        }
    }
    let seqs: Vec<u64> = points.iter().map(|p| p["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, expected_seqs);
    let times: Vec<&str> = points.iter().map(|p| p["at"].as_str().unwrap()).collect();
    assert!(times.windows(2).all(|pair| pair[0] <= pair[1]));
    let last = latest("fraud-detector@1.5.0/canary-0", "accuracy");
    assert_eq!(points.last().unwrap()["value"], last["value"]);
    assert_eq!(points.last().unwrap()["at"], last["at"]);
    // [from, to) in RFC 3339.
    let (from, to) = (times[2], times[5]);
    let (status, body) = get_json(&server, &format!("{base}&from={from}&to={to}"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["points"].as_array().unwrap().len(), 3);

    // Refusals: 400 naming the parameter, 404 for an unknown model, both JSON.
    let (status, body) = get_json(&server, &format!("{base}&from=yesterday"));
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"].as_str().unwrap().starts_with("from:"),
        "{body}"
    );
    // (version and instance are optional filters: http_api.rs tests them)
    let (status, body) = get_json(&server, "/v1/series?model=fraud-detector");
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"].as_str().unwrap().starts_with("metric:"),
        "{body}"
    );
    assert_eq!(get_json(&server, &format!("{base}&limit=many")).0, 400);
    assert_eq!(get_json(&server, &format!("{base}&after=nonsense")).0, 400);
    assert_eq!(get_json(&server, "/v1/series?colour=red").0, 400);
    let (status, body) = get_json(&server, "/v1/models/no-such-model");
    assert_eq!(status, 404);
    assert!(
        body["error"].as_str().unwrap().contains("no-such-model"),
        "{body}"
    );
    server.stop();
}

//! Requests about a partition asked of a node that does not run it: two nodes with tokens, a
//! model with drift settings and a model whose retrain runs on an `http` trainer. The node
//! that does not run a model's partition answers its drift and reference with the owner's
//! answer (the caller's token passed on), completes a job that the owner's runner started, and
//! answers as a single node does for a job that is over or unknown; a retrain asked for by
//! hand through either node is the engine's decision (single flight across nodes). A request already marked
//! `Modelwatch-Forwarded-By` is never forwarded again: only the owner answers it. An owner that
//! cannot be reached at the address it advertises is named in a 503 with `Retry-After`.

use std::time::Duration;

use serde_json::{Value, json};

use super::node::{Node, Servers, ask, await_commits, await_leases, count, job_owner, live_leases};
use super::workload::PARTITIONS;
use crate::receiver::Receiver;

pub(super) const TOKEN: &str = "forwarding-test-token-0123456789";

/// Fraud's drift is compared on windows of 10 after a reference of its first 20
/// predictions; churn's accuracy below 0.9 asks a retrain of an http trainer, which runs
/// until its job is completed through the API.
pub(super) fn config(receiver: &str) -> String {
    format!(
        r#"
[[models]]
name = "fraud"
task = "binary"
positive = "fraud"
reference = {{ first = 20 }}
drift_window = 10

[[rules]]
name = "acc-low"
metric = "accuracy"
detector = {{ kind = "threshold", below = 0.9 }}
actions = ["retrain"]

[[trainers]]
kind = "http"
url = "{receiver}/train"
body = '{{{{"job": "{{job_id}}"}}}}'
"#
    )
}

pub(super) fn prediction(n: u32) -> String {
    let output = if n.is_multiple_of(2) { "fraud" } else { "ok" };
    let country = ["DE", "FR"][(n % 2) as usize];
    json!({
        "model": {"name": "fraud", "version": "1"},
        "timestamp": format!("2026-11-23T10:00:{n:02}Z"),
        "prediction": {"id": format!("p{n}"), "output": output,
                       "features": {"age": 20 + n % 40, "country": country}}
    })
    .to_string()
}

pub(super) fn accuracy(step: u32, value: f64) -> String {
    json!({
        "model": {"name": "churn", "version": "1", "instance": "i"},
        "timestamp": format!("2026-11-23T10:01:{step:02}Z"),
        "metric": "accuracy",
        "value": value,
    })
    .to_string()
}

#[test]
fn a_node_answers_for_the_partitions_another_node_runs() {
    let Some(servers) = Servers::start() else {
        return;
    };
    let url = servers.url.clone();
    let receiver = Receiver::start(Vec::new());
    let dir = tempfile::tempdir().unwrap();
    let config_path = dir.path().join("forwarding.toml");
    std::fs::write(&config_path, config(&receiver.url)).unwrap();
    let (a, b) = super::reads::two_nodes(&url, &servers.nats.url(), &config_path);
    let bearer = format!("Bearer {TOKEN}");
    let auth = [("authorization", bearer.as_str())];
    let marked = [
        ("authorization", bearer.as_str()),
        ("modelwatch-forwarded-by", "a-test"),
    ];
    let ingest = |node: &Node, lines: Vec<String>| {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let mut answer = agent
            .post(&format!("{}/v1/events", node.base))
            .header("content-type", "application/x-ndjson")
            .header("authorization", &bearer)
            .send(lines.join("\n"))
            .unwrap();
        let status = answer.status().as_u16();
        assert_eq!(
            status,
            202,
            "{}",
            answer.body_mut().read_to_string().unwrap()
        );
    };
    ingest(&a, (0..30).map(prediction).collect());
    ingest(&b, vec![accuracy(0, 0.95), accuracy(1, 0.5)]);
    await_commits(&url, Duration::from_secs(60), "every input", |db| {
        count(db, "SELECT count(*) FROM inputs") >= 32
    });

    // Marked as forwarded already, a request is answered by the partition's owner only.
    let mut owners = Vec::new();
    let mut others = Vec::new();
    for node in [&a, &b] {
        let (status, body) = ask(&node.base, "/v1/models/fraud/drift", None, &marked);
        match status {
            200 => owners.push(node),
            503 => {
                assert!(
                    body.contains("partition") && body.contains("a-test"),
                    "{body}"
                );
                others.push(node);
            }
            other => panic!("fraud's drift on {}: {other} {body}", node.id),
        }
    }
    assert_eq!(
        (owners.len(), others.len()),
        (1, 1),
        "one node runs fraud's partition"
    );
    let (owner, other) = (owners[0], others[0]);
    // Unmarked, the other node answers with the owner's answer, the caller's token passed on.
    for path in ["/v1/models/fraud/drift", "/v1/models/fraud/reference"] {
        let (status, here) = ask(&owner.base, path, None, &auth);
        assert_eq!(status, 200, "{path} on the owner: {here}");
        let (status, forwarded) = ask(&other.base, path, None, &auth);
        assert_eq!(status, 200, "{path} through the other node: {forwarded}");
        assert_eq!(forwarded, here, "{path}: the owner's answer, as it gave it");
    }
    let drift: Value =
        serde_json::from_str(&ask(&other.base, "/v1/models/fraud/drift", None, &auth).1).unwrap();
    assert_eq!(drift["windows"].as_array().unwrap().len(), 1, "{drift}");
    // Without a token, nothing is forwarded: the node refuses it itself.
    let (status, _) = ask(&other.base, "/v1/models/fraud/drift", None, &[]);
    assert_eq!(status, 401);

    // Churn's retrain runs on the trainer, started by the runner of churn's partition.
    let request = receiver.next(60);
    assert_eq!(request.path, "/train");
    let started: Value = serde_json::from_str(&request.body).unwrap();
    let id = started["job"].as_str().unwrap().to_string();
    let owner_id = job_owner(&url, &id);
    let elsewhere = if owner_id == a.id { &b } else { &a };
    let complete = format!("/v1/jobs/{id}/complete");
    let report = r#"{"status": "succeeded", "version": "2", "result": {"f1": 0.9}}"#;
    // Marked as forwarded already, the node that does not run it names the partition.
    let (status, refused) = ask(&elsewhere.base, &complete, Some(report), &marked);
    assert_eq!(status, 503, "{refused}");
    assert!(refused.contains("partition"), "{refused}");
    let (status, running) = ask(&elsewhere.base, &format!("/v1/jobs/{id}"), None, &auth);
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&running).unwrap()["state"],
        "running"
    );
    // A retrain asked for by hand, through either node, is decided by the engine of churn's
    // partition: suppressed while its job is outstanding (single flight, across nodes).
    let by_hand = Some(r#"{"reason": "by hand"}"#);
    for node in [&a, &b] {
        let (status, suppressed) = ask(&node.base, "/v1/models/churn/retrain", by_hand, &auth);
        assert_eq!(status, 409, "retrain through {}: {suppressed}", node.id);
        assert!(suppressed.contains("outstanding"), "{suppressed}");
    }
    let (status, refused) = ask(
        &elsewhere.base,
        "/v1/models/churn/retrain",
        by_hand,
        &marked,
    );
    assert_eq!(status, 503, "{refused}");
    // Unmarked, it completes the job through the owner's runner.
    let (status, done) = ask(&elsewhere.base, &complete, Some(report), &auth);
    assert_eq!(status, 200, "{done}");
    let done: Value = serde_json::from_str(&done).unwrap();
    assert_eq!(done["state"], "succeeded");
    assert_eq!(done["result_version"], "2");
    assert_eq!(done["result"]["f1"], 0.9);
    let (status, stored) = ask(&a.base, &format!("/v1/jobs/{id}"), None, &auth);
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&stored).unwrap()["state"],
        "succeeded"
    );
    // Now a retrain by hand through the node that does not run churn is granted: a new job,
    // outstanding for the owner in turn.
    let (status, granted) = ask(&elsewhere.base, "/v1/models/churn/retrain", by_hand, &auth);
    assert_eq!(status, 202, "{granted}");
    let granted: Value = serde_json::from_str(&granted).unwrap();
    assert_eq!(granted["decision"], "granted", "{granted}");
    let second = granted["job_id"].as_str().unwrap().to_string();
    assert_ne!(second, id);
    let owner_node = if owner_id == a.id { &a } else { &b };
    let (status, suppressed) = ask(&owner_node.base, "/v1/models/churn/retrain", by_hand, &auth);
    assert_eq!(status, 409, "{suppressed}");
    assert!(suppressed.contains(&second[..8]), "{suppressed}");
    // As on a single node: a job that is over is a conflict, an unknown one is not found,
    // whichever node is asked.
    for node in [&a, &b] {
        let (status, late) = ask(
            &node.base,
            &complete,
            Some(r#"{"status": "failed"}"#),
            &auth,
        );
        assert_eq!(status, 409, "{late}");
        let (status, late) = ask(
            &node.base,
            &format!("/v1/jobs/{id}/cancel"),
            Some(""),
            &auth,
        );
        assert_eq!(status, 409, "{late}");
        let (status, unknown) = ask(&node.base, "/v1/jobs/nope/cancel", Some(""), &auth);
        assert_eq!(status, 404, "{unknown}");
        let (status, unknown) = ask(&node.base, "/v1/jobs/nope/complete", Some(report), &auth);
        assert_eq!(status, 404, "{unknown}");
    }
    drop((a, b));
}

/// A node that cannot be reached at the address it advertises: a request about its
/// partitions, asked of another node, is a 503 with `Retry-After` naming it.
#[test]
fn an_owner_that_cannot_be_reached_is_named_in_a_503_with_retry_after() {
    let Some(servers) = Servers::start() else {
        return;
    };
    let url = servers.url.clone();
    let dir = tempfile::tempdir().unwrap();
    let config_path = dir.path().join("unreachable.toml");
    std::fs::write(&config_path, "").unwrap();
    // A port nobody listens on: connections to it are refused.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let nowhere = format!("http://127.0.0.1:{closed}");
    let log = servers.nats.url();
    let a = Node::start("a", &url, &log, &config_path, PARTITIONS);
    let b = Node::start_with(
        "b",
        &url,
        &log,
        &config_path,
        PARTITIONS,
        &["--advertise", &nowhere],
        &[],
    );
    await_leases(&url, Duration::from_secs(60), "partitions on b", |db| {
        live_leases(db, "b") == 2
    });
    // A model of one of b's partitions: b answers for it itself (404: no drift settings),
    // a does not run it.
    let marked = [("modelwatch-forwarded-by", "a-test")];
    let path = (0..100)
        .map(|n| format!("/v1/models/m{n}/drift"))
        .find(|path| ask(&b.base, path, None, &marked).0 == 404)
        .expect("a model of b's partitions");
    assert_eq!(ask(&a.base, &path, None, &marked).0, 503);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut answer = agent.get(&format!("{}{path}", a.base)).call().unwrap();
    assert_eq!(answer.status().as_u16(), 503);
    assert_eq!(
        answer
            .headers()
            .get("retry-after")
            .map(|value| value.to_str().unwrap().to_string()),
        Some("1".to_string())
    );
    let body = answer.body_mut().read_to_string().unwrap();
    assert!(
        body.contains("node b") && body.contains("partition"),
        "{body}"
    );
    assert!(
        a.log().contains("could not be forwarded"),
        "a logs the failed forward"
    );
    drop((a, b));
}

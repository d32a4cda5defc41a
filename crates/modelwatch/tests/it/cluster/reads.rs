//! A cluster node answers as a single node does where the answer depends on a partition that
//! may run elsewhere (the config and events of `forwarding.rs`, two nodes):
//!
//! - a reference uploaded through either node is answered with the reference in force, the
//!   one `GET` on the partition's owner shows afterwards;
//! - a job long-polled (`?wait=`) through the node that does not run it returns when the job
//!   ends, and an ended job answers at once on any node;
//! - while NATS is stopped, a model's drift and reference are answered (200, the owner's
//!   answer) by either node, and ingest is refused with 503 and `Retry-After`.

use std::time::Duration;

use serde_json::Value;

use super::forwarding::{TOKEN, accuracy, config, prediction};
use super::node::{Node, Servers, ask, await_commits, await_leases, count, job_owner, live_leases};
use super::workload::PARTITIONS;
use crate::receiver::Receiver;

/// Two nodes with the admin token `TOKEN`, each running half of the partitions.
pub(super) fn two_nodes(url: &str, log: &str, config_path: &std::path::Path) -> (Node, Node) {
    let start = |id: &str| {
        Node::start_with(
            id,
            url,
            log,
            config_path,
            PARTITIONS,
            &["--token-env", "MW_TOKEN:admin"],
            &[("MW_TOKEN", TOKEN)],
        )
    };
    let (a, b) = (start("a"), start("b"));
    let half = PARTITIONS / 2;
    await_leases(
        url,
        Duration::from_secs(60),
        "half on each node",
        move |db| {
            live_leases(db, "a") == i64::from(half) && live_leases(db, "b") == i64::from(half)
        },
    );
    (a, b)
}

/// The node that runs `path`'s partition and the other one: a request marked as forwarded
/// already is answered by the owner only (not 503).
fn owner_and_other<'n>(nodes: [&'n Node; 2], path: &str) -> (&'n Node, &'n Node) {
    let bearer = format!("Bearer {TOKEN}");
    let marked = [
        ("authorization", bearer.as_str()),
        ("modelwatch-forwarded-by", "a-test"),
    ];
    let answers: Vec<u16> = (nodes.iter())
        .map(|node| ask(&node.base, path, None, &marked).0)
        .collect();
    match answers[..] {
        [503, 503] => panic!("neither node runs the partition of {path}"),
        [503, _] => (nodes[1], nodes[0]),
        [_, 503] => (nodes[0], nodes[1]),
        _ => panic!("both nodes answer {path} as its owner: {answers:?}"),
    }
}

/// A client that waits up to `seconds` for an answer and takes any status.
fn agent(seconds: u64) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(seconds)))
        .build()
        .into()
}

/// `PUT path` with a CSV body and the token; the status and the body.
fn put_csv(base: &str, path: &str, csv: &str) -> (u16, String) {
    let mut answer = agent(30)
        .put(&format!("{base}{path}"))
        .header("content-type", "text/csv")
        .header("authorization", &format!("Bearer {TOKEN}"))
        .send(csv)
        .unwrap();
    let status = answer.status().as_u16();
    (status, answer.body_mut().read_to_string().unwrap())
}

/// `POST /v1/events` of `lines` as JSON Lines with the token; the answer.
fn ingest(base: &str, lines: &[String]) -> ureq::http::Response<ureq::Body> {
    agent(30)
        .post(&format!("{base}/v1/events"))
        .header("content-type", "application/x-ndjson")
        .header("authorization", &format!("Bearer {TOKEN}"))
        .send(lines.join("\n"))
        .unwrap()
}

#[test]
fn a_reference_uploaded_through_any_node_answers_with_the_reference_in_force() {
    let Some(servers) = Servers::start() else {
        return;
    };
    let url = servers.url.clone();
    let dir = tempfile::tempdir().unwrap();
    let config_path = dir.path().join("reads.toml");
    std::fs::write(&config_path, config("http://127.0.0.1:9")).unwrap();
    let (a, b) = two_nodes(&url, &servers.nats.url(), &config_path);
    let path = "/v1/models/fraud/reference";
    let (owner, other) = owner_and_other([&a, &b], path);
    let bearer = format!("Bearer {TOKEN}");
    let auth = [("authorization", bearer.as_str())];
    let (status, before) = ask(&owner.base, path, None, &auth);
    assert_eq!(status, 200, "{before}");
    assert_eq!(
        serde_json::from_str::<Value>(&before).unwrap()["source"]["kind"],
        "first"
    );

    // Through the node that does not run fraud's partition: the upload in force, as the owner
    // shows it afterwards.
    let (status, uploaded) = put_csv(
        &other.base,
        path,
        "age,country,prediction\n31,DE,fraud\n45,FR,ok\n",
    );
    assert_eq!(status, 200, "the upload through {}: {uploaded}", other.id);
    let in_force: Value = serde_json::from_str(&uploaded).unwrap();
    assert_eq!(in_force["source"]["kind"], "upload", "{in_force}");
    assert_eq!(in_force["rows"], 2, "{in_force}");
    let (status, on_owner) = ask(&owner.base, path, None, &auth);
    assert_eq!(status, 200);
    assert_eq!(uploaded, on_owner, "the answer is what the owner shows");

    // Through the owner: the next upload, as the other node shows it (forwarded).
    let (status, uploaded) = put_csv(
        &owner.base,
        path,
        "age,country,prediction\n31,DE,fraud\n45,FR,ok\n52,DE,ok\n",
    );
    assert_eq!(status, 200, "the upload through {}: {uploaded}", owner.id);
    let replaced: Value = serde_json::from_str(&uploaded).unwrap();
    assert_eq!(replaced["rows"], 3, "{replaced}");
    assert!(
        replaced["source"]["seq"].as_u64() > in_force["source"]["seq"].as_u64(),
        "{replaced} follows {in_force}"
    );
    let (status, on_other) = ask(&other.base, path, None, &auth);
    assert_eq!(status, 200);
    assert_eq!(uploaded, on_other);
    drop((a, b));
}

#[test]
fn a_job_long_polled_through_any_node_returns_when_it_ends() {
    let Some(servers) = Servers::start() else {
        return;
    };
    let url = servers.url.clone();
    let receiver = Receiver::start(Vec::new());
    let dir = tempfile::tempdir().unwrap();
    let config_path = dir.path().join("reads.toml");
    std::fs::write(&config_path, config(&receiver.url)).unwrap();
    let (a, b) = two_nodes(&url, &servers.nats.url(), &config_path);
    let accepted = ingest(&a.base, &[accuracy(0, 0.95), accuracy(1, 0.5)]);
    assert_eq!(accepted.status(), 202);
    // Churn's retrain runs on the trainer until it is completed through the API.
    let request = receiver.next(60);
    let started: Value = serde_json::from_str(&request.body).unwrap();
    let id = started["job"].as_str().unwrap().to_string();
    let owner_id = job_owner(&url, &id);
    let (owner, elsewhere) = if owner_id == a.id { (&a, &b) } else { (&b, &a) };
    let bearer = format!("Bearer {TOKEN}");
    let auth = [("authorization", bearer.as_str())];

    // A long poll through the node that does not run the job's partition.
    let poll = format!("{}/v1/jobs/{id}?wait=60", elsewhere.base);
    let (answered, long_poll) = std::sync::mpsc::channel();
    let poller = {
        let bearer = bearer.clone();
        std::thread::spawn(move || {
            let mut answer = agent(120)
                .get(&poll)
                .header("authorization", &bearer)
                .call()
                .unwrap();
            let status = answer.status().as_u16();
            let _ = answered.send((status, answer.body_mut().read_to_string().unwrap()));
        })
    };
    let (status, running) = ask(&elsewhere.base, &format!("/v1/jobs/{id}"), None, &auth);
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&running).unwrap()["state"],
        "running"
    );
    assert!(
        long_poll.try_recv().is_err(),
        "the long poll answered before the job ended"
    );
    let report = r#"{"status": "succeeded", "version": "2"}"#;
    let (status, done) = ask(
        &owner.base,
        &format!("/v1/jobs/{id}/complete"),
        Some(report),
        &auth,
    );
    assert_eq!(status, 200, "{done}");
    let (status, polled) = long_poll.recv().unwrap();
    poller.join().unwrap();
    assert_eq!(status, 200, "{polled}");
    let polled: Value = serde_json::from_str(&polled).unwrap();
    assert_eq!(polled["state"], "succeeded", "{polled}");
    assert_eq!(polled["result_version"], "2", "{polled}");

    // An ended job answers at once on any node (within `ask`'s 30 s, under the 60 s asked).
    for node in [&a, &b] {
        let (status, over) = ask(&node.base, &format!("/v1/jobs/{id}?wait=60"), None, &auth);
        assert_eq!(status, 200, "{over}");
        assert_eq!(
            serde_json::from_str::<Value>(&over).unwrap()["state"],
            "succeeded"
        );
    }
    drop((a, b));
}

#[test]
fn drift_and_references_are_answered_while_nats_is_stopped() {
    let Some(mut servers) = Servers::start() else {
        return;
    };
    let url = servers.url.clone();
    let dir = tempfile::tempdir().unwrap();
    let config_path = dir.path().join("reads.toml");
    std::fs::write(&config_path, config("http://127.0.0.1:9")).unwrap();
    let (a, b) = two_nodes(&url, &servers.nats.url(), &config_path);
    let predictions: Vec<String> = (0..30).map(prediction).collect();
    assert_eq!(ingest(&a.base, &predictions).status(), 202);
    await_commits(&url, Duration::from_secs(60), "every prediction", |db| {
        count(db, "SELECT count(*) FROM inputs") >= 30
    });
    let (owner, other) = owner_and_other([&a, &b], "/v1/models/fraud/drift");
    let bearer = format!("Bearer {TOKEN}");
    let auth = [("authorization", bearer.as_str())];
    let paths = ["/v1/models/fraud/drift", "/v1/models/fraud/reference"];
    let before: Vec<String> = (paths.iter())
        .map(|path| {
            let (status, body) = ask(&owner.base, path, None, &auth);
            assert_eq!(status, 200, "{path}: {body}");
            body
        })
        .collect();

    servers.nats.stop();
    // Each node notices (its /readyz says so), bounded.
    for node in [&a, &b] {
        let mut tries = 0;
        while ask(&node.base, "/readyz", None, &[]).0 != 503 {
            tries += 1;
            assert!(tries < 100_000, "node {} never noticed NATS away", node.id);
        }
    }
    // Ingest is refused meanwhile.
    let refused = ingest(&other.base, &[prediction(31)]);
    assert_eq!(refused.status(), 503, "ingest while NATS is away");
    assert!(refused.headers().get("retry-after").is_some());
    // Reads of the partition's engine need no NATS: the owner's answer, on either node.
    for node in [owner, other] {
        for (path, before) in paths.iter().zip(&before) {
            let (status, body) = ask(&node.base, path, None, &auth);
            assert_eq!(
                status, 200,
                "{path} on {} while NATS is away: {body}",
                node.id
            );
            assert_eq!(&body, before, "{path} on {}", node.id);
        }
    }
    let drift: Value = serde_json::from_str(&before[0]).unwrap();
    assert_eq!(drift["windows"].as_array().unwrap().len(), 1, "{drift}");
    drop((a, b));
}

//! The inputs serve stores must read back: a manual retrain whose reason the store's reader
//! would refuse (over 1,024 bytes, a line break) was once answered 202, after which every start
//! that replayed it failed with `stored input N ... is unreadable`. Against `modelwatch serve`
//! as a child process, killed with SIGKILL so that the restart replays the stored inputs.

use serde_json::{Value, json};

use crate::serve_child::{Client, ServeChild};

#[test]
fn a_retrain_reason_the_store_could_not_read_back_is_a_422_and_serve_restarts_after_a_kill() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let serve = ServeChild::start(&data, |_| {});
    let client = Client::of(&serve);
    client.ingest(&[json!({
        "model": {"name": "fraud", "version": "1"},
        "timestamp": "2026-11-23T08:00:00Z",
        "metric": "accuracy",
        "value": 0.95,
    })
    .to_string()]);
    let long = "x".repeat(1_025);
    for reason in [long.as_str(), "first line\nsecond line", ""] {
        let body = json!({ "reason": reason }).to_string();
        let (status, answer) = client.post("/v1/models/fraud/retrain", "application/json", &body);
        assert_eq!(status, 422, "{reason:?}: {answer}");
        let errors = answer["errors"].as_array().unwrap();
        assert_eq!(errors.len(), 1, "{answer}");
        assert_eq!(errors[0]["field"], "reason", "{answer}");
        assert!(
            answer["error"]
                .as_str()
                .unwrap()
                .contains("nothing was stored"),
            "{answer}"
        );
    }
    assert!(client.all("decisions").is_empty(), "nothing was decided");
    // A reason at the limit, with a tab, is taken.
    let reason = format!("{}\tend", "y".repeat(1_020));
    let body = json!({ "reason": reason }).to_string();
    // The built-in config has no trainer: the retrain is recorded as recommended (200).
    let (status, decided) = client.post("/v1/models/fraud/retrain", "application/json", &body);
    assert_eq!(status, 200, "{decided}");
    assert_eq!(decided["decision"], "recommended", "{decided}");
    serve.kill();

    // The restart replays every stored input: each reads back.
    let serve = ServeChild::start(&data, |_| {});
    assert_eq!(serve.replayed, 2, "{}", serve.banner);
    let decisions: Vec<Value> = Client::of(&serve).all("decisions");
    assert_eq!(decisions.len(), 1);
    assert_eq!(decisions[0]["decision"], "recommended");
    serve.stop();
}

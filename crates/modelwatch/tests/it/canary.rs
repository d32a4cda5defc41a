//! `GET /v1/canary/{model}` against a serve child: the verdict on demand agrees with the one
//! the engine reached over the same events (`replay`), and answers for Argo Rollouts (the
//! verdict field) and Flagger (POST, the status code of `gate`).

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use crate::serve_child::{Client, ServeChild};

const CONFIG: &str = r#"
[[rules]]
name = "fraud-canary"
model = "fraud"
metric = "latency_ms"
canary = { candidate = { instance = "canary-*" }, baseline = { instance = "stable-*" }, window = 40, min_samples = 20, tolerance = 0.02, every = 5 }
"#;

/// A latency event of `fraud` at minute `minute`.
fn latency(version: &str, instance: &str, minute: u32, value: f64) -> String {
    json!({
        "model": {"name": "fraud", "version": version, "instance": instance},
        "timestamp": format!("2026-11-23T{:02}:{:02}:00Z", minute / 60, minute % 60),
        "metric": "latency_ms",
        "value": value,
    })
    .to_string()
}

/// Two baseline instances of 1.0 around 100 ms, one point each step; a first candidate 1.9 on
/// canary-0, then 2.0 on canary-0 and canary-1, as fast as the baseline for 50 steps and then
/// about 12% slower.
fn events() -> Vec<String> {
    let mut events = Vec::new();
    for step in 0..160u32 {
        let noise = f64::from((step * 7919) % 13) - 6.0;
        events.push(latency(
            "1.0",
            &format!("stable-{}", step % 2),
            step,
            100.0 + noise,
        ));
        let (version, level) = match step {
            0..10 => ("1.9", 100.0),
            10..60 => ("2.0", 100.0),
            _ => ("2.0", 112.0),
        };
        let noise = f64::from((step * 104_729) % 11) - 5.0;
        events.push(latency(
            version,
            &format!("canary-{}", step % 2),
            step,
            level + noise,
        ));
    }
    events
}

/// The canary verdicts `replay --format json` prints for `events` under `config`.
fn replayed_verdicts(dir: &Path, config: &Path, events: &[String]) -> Vec<Value> {
    let file = dir.join("events.jsonl");
    std::fs::write(&file, events.join("\n")).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_modelwatch"))
        .args(["replay", "--format", "json", "--config"])
        .arg(config)
        .arg(&file)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .filter(|output| output["type"] == "canary")
        .collect()
}

fn canary(client: &Client, query: &str) -> (u16, Value) {
    let (status, text) = client.get(&format!("/v1/canary/fraud?{query}"));
    (status, serde_json::from_str(&text).unwrap())
}

#[test]
fn the_verdict_on_demand_is_the_engines_and_serves_argo_and_flagger() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let events = events();
    let verdicts = replayed_verdicts(dir.path(), &config, &events);
    let fail = verdicts
        .iter()
        .find(|verdict| verdict["verdict"] == "fail")
        .unwrap_or_else(|| panic!("the engine never failed the candidate: {verdicts:#?}"));
    assert_eq!(fail["model"]["version"], "2.0");
    // The engine passed 2.0 before it slowed down, and judged it until it failed.
    assert!(
        verdicts
            .iter()
            .any(|verdict| verdict["verdict"] == "pass" && verdict["model"]["version"] == "2.0"),
        "{verdicts:#?}"
    );

    // serve takes the events up to the one the engine failed the candidate on.
    let seq = usize::try_from(fail["seq"].as_u64().unwrap()).unwrap();
    let serve = ServeChild::start(&dir.path().join("data"), |command| {
        command.arg("--config").arg(&config);
    });
    let client = Client::of(&serve);
    client.ingest(&events[..seq]);

    // Argo Rollouts: GET, `{$.verdict}`; the judgement is the engine's, number for number.
    let (status, body) = canary(&client, "rule=fraud-canary");
    assert_eq!(status, 200, "{body:#}");
    assert_eq!(body["verdict"], "fail", "{body:#}");
    assert_eq!(body["judgement"], fail["judgement"]);
    assert_eq!(body["rule"], "fraud-canary");
    assert_eq!(body["metric"], "latency_ms");
    assert_eq!(body["candidate"]["version"], "2.0");
    assert_eq!(
        body["candidate"]["series"],
        json!([{"version": "2.0", "instance": "canary-0"}, {"version": "2.0", "instance": "canary-1"}])
    );
    assert_eq!(body["baseline"]["selector"], "instance stable-*");
    assert_eq!(body["baseline"]["version"], Value::Null);
    assert_eq!(body["baseline"]["series"].as_array().unwrap().len(), 2);
    assert_eq!(
        body["settings"],
        json!({"window": 40, "min_samples": 20, "confidence": 0.98, "tolerance": 0.02,
               "direction": "lower_is_better"})
    );
    let message = body["message"].as_str().unwrap();
    assert!(
        message
            .starts_with("latency_ms of fraud 2.0 fails against the baseline (instance stable-*)"),
        "{message}"
    );

    // Flagger: POST (with its payload), the verdict in the status code.
    let payload = r#"{"name":"fraud","namespace":"prod","phase":"Progressing","metadata":{}}"#;
    let (status, body) = client.post(
        "/v1/canary/fraud?rule=fraud-canary&gate=fail",
        "application/json",
        payload,
    );
    assert_eq!((status, &body["verdict"]), (200, &json!("fail")));
    let (status, body) = client.post(
        "/v1/canary/fraud?rule=fraud-canary&gate=pass",
        "application/json",
        payload,
    );
    assert_eq!((status, &body["verdict"]), (412, &json!("fail")));

    // Parameters override the rule: the first candidate, 1.9, was as fast as the baseline.
    let (status, body) = canary(
        &client,
        "rule=fraud-canary&candidate=version%3D1.9,instance%3Dcanary-*&min_samples=10&gate=pass",
    );
    assert_eq!(status, 200, "{body:#}");
    assert_eq!(body["verdict"], "pass");
    assert_eq!(body["candidate"]["version"], "1.9");
    assert_eq!(body["judgement"]["candidate_count"], 10);
    // A window longer than the candidate's points: 1.9 has 10, fewer than min_samples.
    let (_, body) = canary(
        &client,
        "metric=latency_ms&candidate=version%3D1.9&baseline=instance%3Dstable-*&min_samples=11",
    );
    assert_eq!(body["verdict"], "not_enough_data", "{body:#}");
    assert_eq!(body["rule"], Value::Null);
    assert_eq!(body["settings"]["window"], 200);
    // No candidate at all.
    let (status, body) = canary(
        &client,
        "metric=latency_ms&candidate=instance%3Dshadow-*&baseline=instance%3Dstable-*",
    );
    assert_eq!(status, 200);
    assert_eq!(body["verdict"], "not_enough_data");
    assert_eq!(body["candidate"]["version"], Value::Null);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("no series of fraud"),
        "{body:#}"
    );

    // Bad queries name the parameter.
    for (query, parameter, says) in [
        ("rule=nope", "rule", "the config has fraud-canary"),
        ("candidate=instance%3Dcanary-*", "metric", "required"),
        (
            "rule=fraud-canary&confidence=1.5",
            "confidence",
            "strictly between 0 and 1",
        ),
        (
            "rule=fraud-canary&candidate=canary-*",
            "candidate",
            "not a selector",
        ),
        (
            "rule=fraud-canary&baseline=instance%3Dcanary-*",
            "baseline",
            "must differ",
        ),
        (
            "rule=fraud-canary&window=20&min_samples=30",
            "min_samples",
            "more than the window",
        ),
        ("rule=fraud-canary&gate=maybe", "gate", "use pass or fail"),
    ] {
        let (status, body) = canary(&client, query);
        assert_eq!(status, 400, "{query}: {body:#}");
        assert_eq!(body["parameter"], parameter, "{query}: {body:#}");
        assert!(
            body["error"].as_str().unwrap().contains(says),
            "{query}: {body:#}"
        );
    }
    serve.stop();
}

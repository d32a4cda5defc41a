//! Drift references end to end, against `modelwatch serve` as a child process: a reference
//! uploaded with `PUT /v1/models/{name}/reference` and one named in the config
//! (`reference = { file }`, relative to the config's directory) are what the predictions'
//! drift windows are compared with; after a SIGKILL and a restart the upload is still in
//! force, and `modelwatch replay` of the stored inputs with the same config gives the same
//! drift points. `check-config` names a missing or bad reference file.

use std::path::Path;
use std::process::Command;

use modelwatch_store::Store;
use serde_json::{Value, json};

use crate::serve_child::{Client, ServeChild};

const CONFIG: &str = r#"
[[models]]
name = "fraud"
task = "binary"
positive = "fraud"
reference = { first = 20 }
drift_window = 10

[[models]]
name = "price"
task = "regression"
reference = { file = "refs/price.csv" }
drift_window = 10
"#;

fn prediction(model: &str, n: u32, age: f64) -> String {
    let output = if model == "price" {
        json!(f64::from(n % 7))
    } else {
        json!(if n.is_multiple_of(2) { "fraud" } else { "ok" })
    };
    let country = ["DE", "FR"][(n % 2) as usize];
    json!({
        "model": {"name": model, "version": "1"},
        "timestamp": format!("2026-11-23T10:{:02}:{:02}Z", n / 60, n % 60),
        "prediction": {"id": format!("{model}-{n}"), "output": output,
                       "features": {"age": age, "country": country}}
    })
    .to_string()
}

/// Ages 20..60 and two countries.
fn reference_csv(rows: u32, with_prediction: bool) -> String {
    let mut text = String::from(if with_prediction {
        "age,country,prediction\n"
    } else {
        "age,country\n"
    });
    for n in 0..rows {
        let country = ["DE", "FR"][(n % 2) as usize];
        if with_prediction {
            let output = if n.is_multiple_of(2) { "fraud" } else { "ok" };
            text.push_str(&format!("{},{country},{output}\n", 20 + n % 40));
        } else {
            text.push_str(&format!("{},{country}\n", 20 + n % 40));
        }
    }
    text
}

/// The `(at, value)` of each point of `metric` of `model`, oldest first.
fn points(client: &Client, model: &str, metric: &str) -> Vec<(String, f64)> {
    let (status, text) = client.get(&format!(
        "/v1/series?model={model}&metric={metric}&limit=1000"
    ));
    assert_eq!(status, 200, "{text}");
    let body: Value = serde_json::from_str(&text).unwrap();
    (body["points"].as_array().unwrap().iter())
        .map(|point| {
            (
                point["at"].as_str().unwrap().to_string(),
                point["value"].as_f64().unwrap(),
            )
        })
        .collect()
}

fn get_reference(client: &Client, model: &str) -> Value {
    let (status, text) = client.get(&format!("/v1/models/{model}/reference"));
    assert_eq!(status, 200, "{text}");
    serde_json::from_str(&text).unwrap()
}

#[test]
fn uploaded_and_file_references_survive_a_kill_and_replay_to_the_same_points() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, CONFIG).unwrap();
    std::fs::create_dir(dir.path().join("refs")).unwrap();
    std::fs::write(dir.path().join("refs/price.csv"), reference_csv(40, false)).unwrap();
    let data = dir.path().join("data");
    let start = || {
        ServeChild::start(&data, |command| {
            command.arg("--config").arg(&config);
        })
    };
    let serve = start();
    let client = Client::of(&serve);
    let file = get_reference(&client, "price");
    assert_eq!(file["source"]["kind"], "file");
    assert_eq!(file["source"]["path"], "refs/price.csv");
    assert_eq!(file["rows"], 40);
    let (status, uploaded) = client.put(
        "/v1/models/fraud/reference",
        "text/csv",
        &reference_csv(40, true),
    );
    assert_eq!(status, 200, "{uploaded}");
    assert_eq!(uploaded["source"]["kind"], "upload");
    // Ages far above both references': age drifts in every window of 10.
    let mut events: Vec<String> = (0..30)
        .map(|n| prediction("fraud", n, 500.0 + f64::from(n)))
        .collect();
    events.extend((0..20).map(|n| prediction("price", n, 500.0 + f64::from(n))));
    client.ingest(&events);
    let fraud = points(&client, "fraud", "drift.age");
    let price = points(&client, "price", "drift.age");
    assert_eq!(fraud.len(), 3, "{fraud:?}");
    assert_eq!(price.len(), 2, "{price:?}");
    assert!(
        fraud.iter().chain(&price).all(|(_, p)| *p < 0.05),
        "{fraud:?} {price:?}"
    );
    serve.kill();

    let serve = start();
    let client = Client::of(&serve);
    assert_eq!(get_reference(&client, "fraud"), uploaded);
    assert_eq!(points(&client, "fraud", "drift.age"), fraud);
    serve.stop();

    // Replay of the stored inputs, with the same config, gives the same drift points.
    let store = Store::open(&data).unwrap();
    let stored: Vec<String> = store
        .inputs_after(0, 1000)
        .unwrap()
        .into_iter()
        .map(|stored| serde_json::to_string(&stored.input).unwrap())
        .collect();
    drop(store);
    assert!(
        stored[0].starts_with(r#"{"reference":{"model":"fraud""#),
        "{}",
        stored[0]
    );
    let inputs = dir.path().join("inputs.jsonl");
    std::fs::write(&inputs, stored.join("\n")).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_modelwatch"))
        .args(["replay", "--format", "json", "--config"])
        .arg(&config)
        .arg(&inputs)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let replayed = |model: &str| -> Vec<(String, f64)> {
        String::from_utf8(output.stdout.clone())
            .unwrap()
            .lines()
            .map(|line| serde_json::from_str::<Value>(line).unwrap())
            .filter(|output| output["source"] == "drift" && output["model"]["name"] == model)
            .map(|output| {
                (
                    output["at"].as_str().unwrap().to_string(),
                    output["metrics"]["drift.age"].as_f64().unwrap(),
                )
            })
            .collect()
    };
    assert_eq!(replayed("fraud"), fraud);
    assert_eq!(replayed("price"), price);
}

#[test]
fn check_config_names_a_missing_or_bad_reference_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let check = |config: &Path| {
        let output = Command::new(env!("CARGO_BIN_EXE_modelwatch"))
            .arg("check-config")
            .arg(config)
            .output()
            .unwrap();
        (
            output.status.code(),
            String::from_utf8(output.stderr).unwrap(),
        )
    };
    let (code, stderr) = check(&config);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("reference file \"refs/price.csv\""),
        "{stderr}"
    );
    assert!(stderr.contains("cannot read"), "{stderr}");
    std::fs::create_dir(dir.path().join("refs")).unwrap();
    std::fs::write(dir.path().join("refs/price.csv"), "age,country\n1,DE\n2\n").unwrap();
    let (code, stderr) = check(&config);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("price.csv: line 3: 1 field where the header has 2"),
        "{stderr}"
    );
    std::fs::write(dir.path().join("refs/price.csv"), reference_csv(5, false)).unwrap();
    let (code, stderr) = check(&config);
    assert_eq!(code, Some(0), "{stderr}");
}

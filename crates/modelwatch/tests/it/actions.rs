//! What serve does about its alerts, with real processes: a webhook receiver that fails and
//! goes down still gets every notification once and in order; a real Alertmanager (Debian's
//! `prometheus-alertmanager`) shows our alert and then resolves it; command and http trainers
//! retrain, register the new version, retry, are cancelled and completed through the API.
//! Retries, backoff, time limits and deadlines are tested in process on a paused clock
//! (`src/effects/tests/`), the time limit of a command with its process group too.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::receiver::{Answer, Receiver};
use crate::serve_child::{Client, ServeChild, server_available};

/// Starts serve on `config` (a TOML text) with `env` set.
fn serve_with(dir: &Path, config: &str, env: &[(&str, &str)]) -> ServeChild {
    let file = dir.join("config.toml");
    std::fs::write(&file, config).unwrap();
    let data = dir.join("data");
    ServeChild::start(&data, |command| {
        command.arg("--config").arg(&file);
        for (name, value) in env {
            command.env(name, value);
        }
    })
}

/// An accuracy event of model `fraud` at second `second` of a fixed day.
fn accuracy(version: &str, second: u32, value: f64) -> String {
    json!({
        "model": {"name": "fraud", "version": version, "instance": "canary-0"},
        "timestamp": format!("2026-11-23T08:00:{second:02}Z"),
        "metric": "accuracy",
        "value": value,
    })
    .to_string()
}

/// A webhook notifier `hook` posting to `receiver`/hook (quick retries; `extra` adds lines),
/// told of every transition of an accuracy threshold.
fn webhook_config(receiver: &str, extra: &str) -> String {
    format!(
        r#"
[[notifiers]]
name = "hook"
kind = "webhook"
url = "{receiver}/hook"
retry_initial_ms = 10
retry_max_secs = 1
{extra}
[[rules]]
name = "acc-low"
metric = "accuracy"
detector = {{ kind = "threshold", below = 0.9 }}
notify = ["hook"]
"#
    )
}

fn get_json(client: &Client, path: &str) -> Value {
    let (status, body) = client.get(path);
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap()
}

#[test]
fn a_webhook_gets_every_notification_once_in_order_through_errors_and_an_outage() {
    // Three error answers, then three requests cut off (the target is down), then 200s.
    let receiver = Receiver::start(vec![
        Answer::Status(500),
        Answer::Status(503),
        Answer::Status(429),
        Answer::Drop,
        Answer::Drop,
        Answer::Drop,
    ]);
    let dir = tempfile::tempdir().unwrap();
    let config = webhook_config(
        &receiver.url,
        "secret_env = \"MODELWATCH_TEST_HOOK_SECRET\"\n",
    );
    let serve = serve_with(
        dir.path(),
        &config,
        &[("MODELWATCH_TEST_HOOK_SECRET", "s3cret")],
    );
    let client = Client::of(&serve);
    // Four transitions: firing, resolved, firing, resolved.
    client.ingest(&[
        accuracy("1", 0, 0.95),
        accuracy("1", 1, 0.5),
        accuracy("1", 2, 0.95),
        accuracy("1", 3, 0.4),
        accuracy("1", 4, 0.97),
    ]);
    let (accepted, all) = receiver.until_accepted(4, 60);
    assert_eq!(all.len(), 10, "six failed attempts and four deliveries");
    // The failed attempts were all of the first notification (in order per target).
    let first_key = &accepted[0].headers["idempotency-key"];
    for attempt in &all[..6] {
        assert_eq!(&attempt.headers["idempotency-key"], first_key);
    }
    // A fifth notification goes out only once the fourth's delivery is committed.
    client.ingest(&[accuracy("1", 5, 0.3)]);
    let (fifth, _) = receiver.until_accepted(1, 60);

    let mut keys: Vec<&str> = accepted
        .iter()
        .map(|request| request.headers["idempotency-key"].as_str())
        .collect();
    keys.push(&fifth[0].headers["idempotency-key"]);
    let mut unique = keys.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), 5, "no notification accepted twice: {keys:?}");

    let mut states = Vec::new();
    for request in accepted.iter().chain(&fifth) {
        assert_eq!(request.method, "POST");
        assert_eq!(request.path, "/hook");
        // The signature is the HMAC-SHA256 of "<timestamp>.<body>" with the shared secret.
        let timestamp = &request.headers["x-modelwatch-timestamp"];
        let mut mac = Hmac::<Sha256>::new_from_slice(b"s3cret").unwrap();
        mac.update(format!("{timestamp}.{}", request.body).as_bytes());
        let expected: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        assert_eq!(
            request.headers["x-modelwatch-signature"],
            format!("sha256={expected}")
        );
        let body: Value = serde_json::from_str(&request.body).unwrap();
        assert_eq!(body["id"], request.headers["idempotency-key"].as_str());
        assert_eq!(body["notifier"], "hook");
        assert_eq!(body["output"]["type"], "alert");
        assert_eq!(body["output"]["model"]["name"], "fraud");
        assert_eq!(body["output"]["explanation"]["detector"], "threshold");
        // The link answers with the alert's transitions, newest first.
        let alert_id = body["output"]["alert_id"].as_str().unwrap();
        let path = format!("/v1/alerts/{alert_id}");
        assert_eq!(body["link"], format!("{}{path}", serve.base));
        let (status, alert) = client.get(&path);
        assert_eq!(status, 200, "{alert}");
        let alert: Value = serde_json::from_str(&alert).unwrap();
        assert_eq!(alert["items"][0]["alert_id"], alert_id, "{alert}");
        states.push(body["output"]["state"].as_str().unwrap().to_string());
    }
    assert_eq!(
        states,
        ["firing", "resolved", "firing", "resolved", "firing"]
    );

    // The outbox says the same: the first four delivered, the first after seven attempts.
    let deliveries = client.all("deliveries");
    let ids: Vec<&str> = deliveries
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, keys);
    let summary: Vec<(&str, u64)> = deliveries[..4]
        .iter()
        .map(|d| {
            (
                d["state"].as_str().unwrap(),
                d["attempts"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("delivered", 7),
            ("delivered", 1),
            ("delivered", 1),
            ("delivered", 1)
        ]
    );
    // /metrics counts the attempts: each is counted once committed, before the next is sent
    // (the fifth's own may not be counted yet).
    let sample = |outcome: &str| {
        client.metric(&format!(
            "modelwatch_notification_attempts_total{{notifier=\"hook\",outcome=\"{outcome}\"}}"
        ))
    };
    assert_eq!(sample("failed"), 6.0);
    let delivered = sample("delivered");
    assert!((4.0..=5.0).contains(&delivered), "{delivered}");
    serve.stop();
}

/// A real Alertmanager on a free loopback port, sending its notifications to `webhook`.
struct Alertmanager {
    child: Child,
    url: String,
}

impl Alertmanager {
    fn start(dir: &Path, webhook: &str) -> Alertmanager {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = dir.join("alertmanager.yml");
        std::fs::write(
            &config,
            format!(
                "route:\n  receiver: hook\n  group_by: ['alertname']\n  group_wait: 0s\n  \
                 group_interval: 1s\n  repeat_interval: 1h\nreceivers:\n  - name: hook\n    \
                 webhook_configs:\n      - url: {webhook}/am\n        send_resolved: true\n"
            ),
        )
        .unwrap();
        let mut child = Command::new("prometheus-alertmanager")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.path={}", dir.join("am-data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address=")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Ready once it logs that it listens (its log goes to stderr).
        let mut log = BufReader::new(child.stderr.take().unwrap());
        let mut seen = String::new();
        loop {
            let mut line = String::new();
            assert!(
                log.read_line(&mut line).unwrap() > 0,
                "alertmanager exited early:\n{seen}"
            );
            seen.push_str(&line);
            if line.contains("Listening on") {
                break;
            }
        }
        // Keep draining its log so that it never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut line = String::new();
            while log.read_line(&mut line).is_ok_and(|read| read > 0) {
                line.clear();
            }
        });
        Alertmanager {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }

    fn alerts(&self) -> Vec<Value> {
        let mut response = crate::serve_child::http_agent()
            .get(format!("{}/api/v2/alerts", self.url))
            .call()
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap()
    }
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The next Alertmanager notification with this status.
fn next_notification(receiver: &Receiver, status: &str) -> Value {
    loop {
        let request = receiver.next(60);
        let body: Value = serde_json::from_str(&request.body).unwrap();
        if body["status"] == status {
            return body;
        }
    }
}

#[test]
fn a_real_alertmanager_shows_our_alert_and_then_resolves_it() {
    if !server_available("prometheus-alertmanager", "prometheus-alertmanager") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start(Vec::new());
    let alertmanager = Alertmanager::start(dir.path(), &receiver.url);
    let config = format!(
        r#"
[[notifiers]]
name = "am"
kind = "alertmanager"
url = "{}"
resend_secs = 1

[[rules]]
name = "acc-low"
metric = "accuracy"
detector = {{ kind = "threshold", below = 0.9 }}
severity = "critical"
notify = ["am"]
"#,
        alertmanager.url
    );
    let serve = serve_with(dir.path(), &config, &[]);
    let client = Client::of(&serve);
    client.ingest(&[accuracy("1", 0, 0.95), accuracy("1", 1, 0.5)]);

    let firing = next_notification(&receiver, "firing");
    let alert = &firing["alerts"][0];
    assert_eq!(alert["labels"]["alertname"], "acc-low");
    assert_eq!(alert["labels"]["model"], "fraud");
    assert_eq!(alert["labels"]["version"], "1");
    assert_eq!(alert["labels"]["instance"], "canary-0");
    assert_eq!(alert["labels"]["severity"], "critical");
    assert_eq!(alert["startsAt"], "2026-11-23T08:00:01Z");
    let alert_id = alert["annotations"]["alert_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        alert["generatorURL"],
        format!("{}/v1/alerts/{alert_id}", serve.base)
    );
    // Its API shows the alert, active, with our annotations.
    let listed = alertmanager.alerts();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["labels"]["alertname"], "acc-low");
    assert_eq!(listed[0]["status"]["state"], "active");
    assert_eq!(listed[0]["annotations"]["alert_id"], alert_id.as_str());

    client.ingest(&[accuracy("1", 2, 0.97)]);
    let resolved = next_notification(&receiver, "resolved");
    assert_eq!(resolved["alerts"][0]["labels"]["alertname"], "acc-low");
    assert_eq!(resolved["alerts"][0]["endsAt"], "2026-11-23T08:00:02Z");
    assert!(
        alertmanager.alerts().is_empty(),
        "a resolved alert is no longer listed"
    );
    let deliveries = client.all("deliveries");
    let states: Vec<&str> = deliveries
        .iter()
        .map(|d| d["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["delivered", "delivered"]);
    serve.stop();
}

/// A trainer script: fails its first `fail` attempts, then prints the version as JSON.
fn trainer_script(dir: &Path, fail: u32) -> String {
    let script = dir.join("train.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n\
             echo \"training $MODELWATCH_MODEL ($MODELWATCH_VERSION) for job $MODELWATCH_JOB_ID\" >&2\n\
             if [ \"$1\" -le {fail} ]; then echo \"attempt $1 fails\" >&2; exit 3; fi\n\
             echo 'progress 100%'\n\
             echo \"{{\\\"version\\\": \\\"$MODELWATCH_VERSION.r$1\\\", \\\"accuracy\\\": 0.97}}\"\n"
        ),
    )
    .unwrap();
    script.display().to_string()
}

fn retrain_config(trainer: &str) -> String {
    format!(
        r#"
[retrain]
cooldown_secs = 3600

[[rules]]
name = "acc-low"
metric = "accuracy"
detector = {{ kind = "threshold", below = 0.9 }}
actions = ["retrain"]

{trainer}
"#
    )
}

/// The only job of the store, waited for until it is over.
fn only_job(client: &Client) -> Value {
    let jobs = client.all("jobs");
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    let id = jobs[0]["id"].as_str().unwrap();
    get_json(client, &format!("/v1/jobs/{id}?wait=60"))
}

#[test]
fn a_command_trainer_retrains_with_a_retry_and_registers_the_version() {
    let dir = tempfile::tempdir().unwrap();
    let script = trainer_script(dir.path(), 1);
    let config = retrain_config(&format!(
        "[[trainers]]\nkind = \"command\"\ncommand = [\"sh\", \"{script}\", \"{{attempt}}\"]\n\
         max_attempts = 2\nretry_delay_secs = 0\n"
    ));
    let serve = serve_with(dir.path(), &config, &[]);
    let client = Client::of(&serve);
    client.ingest(&[accuracy("1.4", 0, 0.95), accuracy("1.4", 1, 0.5)]);
    let job = only_job(&client);
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(job["kind"], "retrain");
    assert_eq!(job["reason"], "alert_firing");
    assert_eq!(job["version"], "1.4");
    assert_eq!(job["instance"], "canary-0");
    assert_eq!(job["backend"], "command");
    assert_eq!(job["attempts"], 2);
    assert_eq!(job["result_version"], "1.4.r2");
    assert_eq!(job["result"]["accuracy"], 0.97);
    let outcomes: Vec<&str> = job["attempt_log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|attempt| attempt["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["failed", "succeeded"]);
    // Counted once committed: both starts and the failure came before the success.
    assert_eq!(
        client.metric("modelwatch_job_attempts_started_total{backend=\"command\"}"),
        2.0
    );
    assert_eq!(
        client.metric("modelwatch_job_attempts_ended_total{outcome=\"failed\"}"),
        1.0
    );
    assert!(
        job["attempt_log"][0]["error"]
            .as_str()
            .unwrap()
            .contains("attempt 1 fails"),
        "{job}"
    );
    let versions = get_json(&client, "/v1/models/fraud/versions");
    let summary: Vec<(&str, &str, &str)> = versions["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["version"].as_str().unwrap(),
                v["status"].as_str().unwrap(),
                v["source"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("1.4", "production", "metrics"),
            ("1.4.r2", "candidate", "job")
        ]
    );

    // Single flight is lifted: a manual retrain is granted at once (the cooldown does not
    // hold it back), and a second one while it is outstanding is refused.
    let (status, decision) = client.post("/v1/models/fraud/retrain", "application/json", "{}");
    assert_eq!(status, 202, "{decision}");
    assert_eq!(decision["decision"], "granted");
    assert_eq!(decision["reason"], "manual");
    let (status, refused) = client.post("/v1/models/fraud/retrain", "application/json", "");
    assert_eq!(status, 409, "{refused}");
    assert!(refused["error"].as_str().unwrap().contains("outstanding"));

    // Promote the new version; the old one is archived; all of it is in the audit log.
    let (status, promoted) = client.post(
        "/v1/models/fraud/versions/1.4.r2/promote",
        "application/json",
        "",
    );
    assert_eq!(status, 200, "{promoted}");
    assert_eq!(promoted["status"], "production");
    let (status, again) = client.post(
        "/v1/models/fraud/versions/1.4.r2/promote",
        "application/json",
        "",
    );
    assert_eq!(status, 409, "{again}");
    let audit = client.all("audit?model=fraud");
    let actions: Vec<&str> = audit
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    // (The manual job may end in between: only the promotion's two rows are adjacent.)
    assert!(
        actions
            .windows(2)
            .any(|pair| pair == ["version_archived", "version_promoted"]),
        "{actions:?}"
    );
    assert!(actions.contains(&"job_queued") && actions.contains(&"job_ended"));
    serve.stop();
}

#[test]
fn an_http_trainer_is_completed_through_the_api_and_a_job_can_be_cancelled() {
    let receiver = Receiver::start(Vec::new());
    let dir = tempfile::tempdir().unwrap();
    let config = retrain_config(&format!(
        "[[trainers]]\nmodel = \"fraud\"\nkind = \"http\"\nurl = \"{}/api/v1/dags/retrain/dagRuns\"\n\
         body = '{{{{\"dag_run_id\": \"{{job_id}}\", \"conf\": {{{{\"model\": \"{{model}}\"}}}}}}}}'\n\n\
         [[trainers]]\nkind = \"command\"\ncommand = [\"sleep\", \"600\"]\n",
        receiver.url
    ));
    let serve = serve_with(dir.path(), &config, &[]);
    let client = Client::of(&serve);
    client.ingest(&[accuracy("1", 0, 0.95), accuracy("1", 1, 0.5)]);
    // Airflow's side: a dagRuns request whose run id is the job's id.
    let request = receiver.next(60);
    assert_eq!(request.path, "/api/v1/dags/retrain/dagRuns");
    let body: Value = serde_json::from_str(&request.body).unwrap();
    let id = body["dag_run_id"].as_str().unwrap().to_string();
    assert_eq!(body["conf"]["model"], "fraud");
    assert_eq!(request.headers["idempotency-key"], id);
    let running = get_json(&client, &format!("/v1/jobs/{id}"));
    assert_eq!(running["state"], "running");
    assert_eq!(running["backend"], "http");

    // A bad report is refused; a good one ends the job.
    let (status, refused) = client.post(
        &format!("/v1/jobs/{id}/complete"),
        "application/json",
        r#"{"status": "succeeded"}"#,
    );
    assert_eq!(status, 422, "{refused}");
    let (status, done) = client.post(
        &format!("/v1/jobs/{id}/complete"),
        "application/json",
        r#"{"status": "succeeded", "version": "2", "result": {"f1": 0.9}}"#,
    );
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["state"], "succeeded");
    assert_eq!(done["result_version"], "2");
    assert_eq!(done["result"]["f1"], 0.9);
    let (status, late) = client.post(
        &format!("/v1/jobs/{id}/complete"),
        "application/json",
        r#"{"status": "failed"}"#,
    );
    assert_eq!(status, 409, "{late}");

    // Another model trains with a command that would run for ten minutes: cancel kills it.
    let other =
        json!({"model": {"name": "churn", "version": "7"}, "timestamp": "2026-11-23T08:01:00Z",
                       "metric": "accuracy", "value": 0.2})
        .to_string();
    client.ingest(&[other]);
    let jobs = client.all("jobs?model=churn");
    let churn = jobs[0]["id"].as_str().unwrap().to_string();
    let (status, cancelled) =
        client.post(&format!("/v1/jobs/{churn}/cancel"), "application/json", "");
    assert_eq!(status, 200, "{cancelled}");
    assert_eq!(cancelled["state"], "cancelled");
    let (status, _) = client.post(&format!("/v1/jobs/{churn}/cancel"), "application/json", "");
    assert_eq!(status, 409);
    let (status, _) = client.post("/v1/jobs/nope/cancel", "application/json", "");
    assert_eq!(status, 404);
    serve.stop();
}

mod kill;
mod rollback;

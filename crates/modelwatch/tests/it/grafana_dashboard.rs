//! The Grafana dashboard `deploy/grafana/modelwatch.json` against a real scrape: every panel's
//! query and every template variable's query, its variables replaced by real values, is valid
//! PromQL to `promtool query instant` against a real Prometheus scraping serve, and every metric
//! it names is one serve exports (so renaming a metric fails here).
//!
//! serve runs as a child process with the fraud-traffic example posted, under its config plus a
//! webhook that fails once and a trainer that fails, so that every labelled counter the
//! dashboard reads has samples. The test awaits the outcomes (the webhook's requests, the job's
//! end, Prometheus's scrapes through a relay); it never sleeps. Without `prometheus` or
//! `promtool` on PATH it skips, or fails when MODELWATCH_REQUIRE_SERVERS=1.

use std::collections::BTreeSet;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::prometheus::{ScrapeRelay, start_prometheus};
use crate::receiver::{Answer, Receiver};
use crate::serve_child::{Client, ServeChild, server_available};

/// The dashboard, parsed.
fn dashboard() -> Value {
    let path = crate::repo_root().join("deploy/grafana/modelwatch.json");
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// The panels, those inside collapsed rows included.
fn panels(dashboard: &Value) -> Vec<&Value> {
    let mut all = Vec::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        all.push(panel);
        if let Some(inner) = panel["panels"].as_array() {
            all.extend(inner);
        }
    }
    all
}

/// Every query of the dashboard, named by where it is: panels' targets, and the template
/// variables' `label_values(SELECTOR, LABEL)` as the PromQL `count by (LABEL) (SELECTOR)`.
fn queries(dashboard: &Value) -> Vec<(String, String)> {
    let mut queries = Vec::new();
    for panel in panels(dashboard) {
        for target in panel["targets"].as_array().into_iter().flatten() {
            let expr = target["expr"]
                .as_str()
                .unwrap_or_else(|| panic!("panel {:?} has a target without expr", panel["title"]));
            let name = format!("panel {:?} ({})", panel["title"], target["refId"]);
            queries.push((name, expr.to_string()));
        }
    }
    for variable in dashboard["templating"]["list"].as_array().unwrap() {
        let query = variable["query"]["query"].as_str().unwrap();
        assert_eq!(variable["definition"], query, "{variable}");
        let inner = query
            .strip_prefix("label_values(")
            .and_then(|rest| rest.strip_suffix(')'))
            .unwrap_or_else(|| panic!("variable query {query} is not label_values(...)"));
        let (selector, label) = inner.rsplit_once(',').unwrap();
        let name = format!("variable {}", variable["name"]);
        queries.push((
            name,
            format!("count by ({}) ({})", label.trim(), selector.trim()),
        ));
    }
    queries
}

/// Replaces Grafana's variables (`$name` and `${name}`) in `expr` by `values`.
fn substitute(expr: &str, values: &[(&str, String)]) -> String {
    let mut values = values.to_vec();
    // Longest first, so that `$metric` is never read as `$m` followed by `etric`.
    values.sort_by_key(|(name, _)| std::cmp::Reverse(name.len()));
    let mut expr = expr.to_string();
    for (name, value) in &values {
        expr = expr
            .replace(&format!("${{{name}}}", name = name), value)
            .replace(&format!("${name}"), value);
    }
    assert!(!expr.contains('$'), "a variable is left in {expr}");
    expr
}

/// Words of PromQL that are not metric names when they stand alone: keywords, and the
/// aggregations (which `by (...)` or `without (...)` may follow before their parenthesis).
const KEYWORDS: [&str; 25] = [
    "sum",
    "min",
    "max",
    "avg",
    "group",
    "stddev",
    "stdvar",
    "count",
    "count_values",
    "bottomk",
    "topk",
    "quantile",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "and",
    "or",
    "unless",
    "offset",
    "inf",
    "nan",
];

/// The metric names a PromQL expression selects: the identifiers outside strings, label
/// matchers (`{...}`) and range brackets that are neither keywords, functions or aggregations
/// (followed by `(`), nor the labels of a grouping (`by (...)`, `on (...)`, ...).
fn metric_names(expr: &str) -> BTreeSet<String> {
    let chars: Vec<char> = expr.chars().collect();
    let mut names = BTreeSet::new();
    let mut i = 0;
    let mut grouping = false;
    // Label matchers and ranges are skipped whole, strings in them included.
    let mut closing: Option<char> = None;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '"' | '\'' | '`' => {
                i += 1;
                while i < chars.len() && chars[i] != c {
                    i += if chars[i] == '\\' { 2 } else { 1 };
                }
                i += 1;
            }
            c if Some(c) == closing => {
                closing = None;
                i += 1;
            }
            _ if closing.is_some() => i += 1,
            '{' => {
                closing = Some('}');
                i += 1;
            }
            '[' => {
                closing = Some(']');
                i += 1;
            }
            '(' if grouping => {
                while i < chars.len() && chars[i] != ')' {
                    i += 1;
                }
                i += 1;
                grouping = false;
            }
            c if c.is_ascii_alphabetic() || c == '_' || c == ':' => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == ':')
                {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                let next = chars[i..].iter().find(|c| !c.is_whitespace());
                if matches!(
                    word.as_str(),
                    "by" | "without" | "on" | "ignoring" | "group_left" | "group_right"
                ) {
                    grouping = true;
                } else if !KEYWORDS.contains(&word.to_ascii_lowercase().as_str())
                    && next != Some(&'(')
                {
                    names.insert(word);
                }
            }
            c if c.is_ascii_digit() || c == '.' => {
                // A number (or a duration such as 5m): its letters are not a name.
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                    i += 1;
                }
            }
            _ => i += 1,
        }
    }
    names
}

/// The names of the samples of a text exposition.
fn exported_names(body: &str) -> BTreeSet<String> {
    body.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| {
            line.split(['{', ' '])
                .next()
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

#[test]
fn the_dashboard_is_importable_and_names_its_datasource_by_an_input() {
    let dashboard = dashboard();
    assert!(dashboard["schemaVersion"].as_u64().unwrap() >= 39);
    assert_eq!(dashboard["uid"], "modelwatch");
    assert_eq!(
        dashboard["id"],
        Value::Null,
        "an exported dashboard has no id"
    );
    let inputs = dashboard["__inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), 1, "{inputs:?}");
    assert_eq!(inputs[0]["name"], "DS_PROMETHEUS");
    assert_eq!(inputs[0]["pluginId"], "prometheus");
    let datasource = serde_json::json!({"type": "prometheus", "uid": "${DS_PROMETHEUS}"});
    let mut ids = BTreeSet::new();
    let mut targets = 0;
    for panel in panels(&dashboard) {
        assert!(
            ids.insert(panel["id"].as_u64().unwrap()),
            "panel id {} twice",
            panel["id"]
        );
        for key in ["x", "y", "w", "h"] {
            assert!(panel["gridPos"][key].is_u64(), "{panel}");
        }
        if panel["type"] == "row" {
            continue;
        }
        assert_eq!(panel["datasource"], datasource, "{}", panel["title"]);
        for target in panel["targets"].as_array().unwrap() {
            assert_eq!(target["datasource"], datasource, "{}", panel["title"]);
            assert!(target["refId"].is_string(), "{}", panel["title"]);
            targets += 1;
        }
    }
    assert!(targets > 20, "{targets} targets");
    let variables: Vec<&str> = dashboard["templating"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .inspect(|variable| assert_eq!(variable["datasource"], datasource))
        .map(|variable| variable["name"].as_str().unwrap())
        .collect();
    assert_eq!(variables, ["job", "model", "metric"]);
}

#[test]
fn metric_names_are_read_off_promql_as_prometheus_would() {
    let expr = r#"histogram_quantile(0.99, sum by (le) (rate(a_bucket{job=~"$job",x="y{z}"}[5m]))) / on (job) group_left b_total or vector(0) > bool 1e3"#;
    let names: Vec<String> = metric_names(expr).into_iter().collect();
    assert_eq!(names, ["a_bucket", "b_total"]);
    assert_eq!(
        substitute(
            "x{m=~\"$model\",n=\"${metric}\"}[$__rate_interval]",
            &[
                ("model", "fraud".into()),
                ("metric", "accuracy".into()),
                ("__rate_interval", "1m".into())
            ]
        ),
        "x{m=~\"fraud\",n=\"accuracy\"}[1m]"
    );
}

/// serve's config for the test: the fraud-traffic example's, plus a webhook told of the
/// estimate's alert and a trainer that fails, so that notifications and jobs are counted.
fn config(webhook: &str) -> String {
    let example =
        std::fs::read_to_string(crate::repo_root().join("examples/fraud-traffic.toml")).unwrap();
    format!(
        r#"{example}
[[notifiers]]
name = "hook"
kind = "webhook"
url = "{webhook}/hook"
retry_initial_ms = 10
retry_max_secs = 1

[[rules]]
name = "estimate-paged"
model = "fraud-detector"
metric = "estimated_accuracy"
detector = {{ kind = "threshold", below = 0.9 }}
notify = ["hook"]

[[trainers]]
model = "fraud-*"
kind = "command"
command = ["sh", "-c", "echo no data >&2; exit 3"]
max_attempts = 1
"#
    )
}

/// The values of `label` on the series of `selector`, as Prometheus answers.
fn label_values(agent: &ureq::Agent, port: u16, selector: &str, label: &str) -> Vec<String> {
    let mut response = agent
        .get(format!("http://127.0.0.1:{port}/api/v1/query"))
        .query("query", format!("count by ({label}) ({selector})"))
        .call()
        .unwrap();
    let body: Value = serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(body["status"], "success", "{body}");
    body["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|series| series["metric"][label].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn every_query_of_the_dashboard_is_valid_promql_over_metrics_serve_exports() {
    if !server_available("prometheus", "prometheus") || !server_available("promtool", "prometheus")
    {
        return;
    }
    let dashboard = dashboard();
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start(vec![Answer::Status(500)]);
    let file = dir.path().join("config.toml");
    std::fs::write(&file, config(&receiver.url)).unwrap();
    let serve = ServeChild::start(&dir.path().join("data"), |command| {
        command.arg("--config").arg(&file);
    });
    let client = Client::of(&serve);
    let events =
        std::fs::read_to_string(crate::repo_root().join("examples/fraud-traffic.jsonl")).unwrap();
    let lines: Vec<&str> = events.lines().filter(|line| !line.is_empty()).collect();
    for chunk in lines.chunks(500) {
        let (status, body) = client.post(
            "/v1/events",
            "application/x-ndjson",
            &(chunk.join("\n") + "\n"),
        );
        assert_eq!(status, 202, "{body}");
    }
    // A failed attempt is counted when committed, before the next attempt is sent: once the
    // webhook accepted one, a failure is on /metrics.
    let (_, all) = receiver.until_accepted(1, 60);
    assert_eq!(all[0].answered, 500);
    // The retrains' jobs fail at their only attempt.
    let listed = client.all("jobs");
    assert!(!listed.is_empty(), "no retrain job");
    let jobs = listed.len();
    for job in listed {
        let path = format!("/v1/jobs/{}?wait=60", job["id"].as_str().unwrap());
        let (status, job) = client.get(&path);
        assert_eq!(status, 200, "{job}");
        let job: Value = serde_json::from_str(&job).unwrap();
        assert_eq!(job["state"], "failed", "{job}");
    }

    let relay = ScrapeRelay::start(format!("{}/metrics", serve.base));
    let (_prometheus, port) = start_prometheus(dir.path(), &relay.address);
    // Scrapes of a target run one after another: after the third is answered, the first two
    // are in Prometheus's head, so rates have two samples.
    for _ in 0..3 {
        relay.await_scrape();
    }
    let (status, body) = client.get("/metrics");
    assert_eq!(status, 200);
    let exported = exported_names(&body);
    let failed = body
        .lines()
        .find_map(|line| line.strip_prefix("modelwatch_jobs{state=\"failed\"} "));
    assert_eq!(failed, Some(jobs.to_string().as_str()), "{body}");

    // The variables' values, as Grafana would offer them.
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    let job = label_values(&agent, port, "modelwatch_events_ingested_total", "job");
    assert_eq!(job, ["modelwatch"]);
    let models = label_values(&agent, port, "modelwatch_series_value", "model");
    assert_eq!(models, ["fraud-detector"]);
    let metrics = label_values(&agent, port, "modelwatch_series_value", "metric");
    assert!(
        metrics.iter().any(|metric| metric == "accuracy"),
        "{metrics:?}"
    );
    let values = [
        ("job", job[0].clone()),
        ("model", models[0].clone()),
        ("metric", "accuracy".to_string()),
        ("__rate_interval", "1m".to_string()),
        ("__interval", "15s".to_string()),
        ("__range", "5m".to_string()),
    ];

    let queries = queries(&dashboard);
    assert!(queries.len() > 20, "{} queries", queries.len());
    let server = format!("http://127.0.0.1:{port}");
    let mut problems = Vec::new();
    for (place, expr) in &queries {
        let expr = substitute(expr, &values);
        let names = metric_names(&expr);
        if names.is_empty() {
            problems.push(format!("{place}: names no metric: {expr}"));
        }
        for name in names.difference(&exported) {
            problems.push(format!("{place}: serve exports no metric {name}: {expr}"));
        }
        let output = Command::new("promtool")
            .args(["query", "instant", &server, &expr])
            .output()
            .unwrap();
        if !output.status.success() {
            problems.push(format!(
                "{place}: promtool query instant {expr}: {}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    serve.stop();
}

//! The web console in a real headless Chromium (Debian's `chromium` and `chromium-driver`),
//! driven over WebDriver against `modelwatch serve` as a child process: every page renders
//! without a console error (and says so when there is no data yet or the server is gone), the
//! model page shades the firing period of the alert `replay` reports at its times, a promote
//! through the console changes the registry while a read-only token sees no promote button, and
//! the quality page draws the traffic example's realized and estimated quality and drift; the
//! console made one self-contained file draws the same bands from disk with no server.
//!
//! Without `chromedriver` or `chromium` on PATH these tests skip, or fail when
//! MODELWATCH_REQUIRE_SERVERS=1 (as `.ci/run` sets). No sleeping: every wait is the browser
//! awaiting a condition on the page, bounded by the session's script timeout.

use serde_json::{Value, json};

use crate::console_webdriver::Browser;
use crate::serve_child::{Client, ServeChild, example_events, http_agent, ndjson, replay};

const READ_TOKEN: &str = "console-read-4b1d";
const ADMIN_TOKEN: &str = "console-admin-9e27";

pub fn browser_available() -> bool {
    crate::serve_child::server_available("chromedriver", "chromium-driver")
        && crate::serve_child::server_available("chromium", "chromium")
}

/// The console's pages, each as its hash, for the example model.
pub const PAGES: [&str; 13] = [
    "#/",
    "#/model/fraud-detector",
    "#/alerts",
    "#/alerts?state=firing",
    "#/decisions",
    "#/jobs",
    "#/deliveries",
    "#/audit",
    "#/audit?model=fraud-detector",
    "#/registry",
    "#/registry/fraud-detector",
    "#/quality",
    "#/quality/fraud-detector",
];

#[test]
fn every_page_renders_without_a_console_error_and_says_when_there_is_nothing_or_no_server() {
    if !browser_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let serve = ServeChild::start(&dir.path().join("data"), |_| {});
    let browser = Browser::start();

    // Before any event: the empty state says how data comes.
    assert_eq!(browser.page(&serve.base, "#/"), "ready");
    browser.wait_for("document.querySelector('[data-notice=empty]')");
    assert!(browser.severe_errors().is_empty());

    Client::of(&serve).ingest(&example_events());
    for page in PAGES {
        assert_eq!(browser.page(&serve.base, page), "ready", "{page}");
        let errors = browser.severe_errors();
        assert!(errors.is_empty(), "{page}: {errors:?}");
    }
    // The overview lists the model with its firing alerts and filters it by the search.
    assert_eq!(browser.page(&serve.base, "#/"), "ready");
    let firing = browser.wait_for(
        "document.querySelector('article[data-model=\"fraud-detector\"]')?.dataset.firing",
    );
    assert_ne!(firing, json!("0"));
    browser.type_into("input[type=search]", "no-such-model");
    browser.wait_for("document.querySelector('[data-notice=empty]') && !document.querySelector('article[data-model]')");

    // serve gone: the page says it is not updated, and keeps what it showed.
    serve.kill();
    browser.wait_for("document.getElementById('updated').classList.contains('stale')");
    assert!(
        browser
            .run("return document.getElementById('updated').textContent", &[])
            .as_str()
            .unwrap()
            .starts_with("not updated")
    );
}

#[test]
fn the_model_page_shades_the_firing_periods_of_the_alerts_replay_reports_at_their_times() {
    if !browser_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let events = example_events();
    let (alerts, _) = replay(dir.path(), &events);
    let expected = firing_periods(&alerts);
    let model = alerts[0]["model"]["name"].as_str().unwrap();
    let serve = ServeChild::start(&dir.path().join("data"), |_| {});
    Client::of(&serve).ingest(&events);

    let browser = Browser::start();
    assert_eq!(
        browser.page(&serve.base, &format!("#/model/{model}")),
        "ready"
    );
    assert_firing_bands(&browser, &expected);
    assert_rule_thresholds(&browser, &serve.base, model);
    let errors = browser.severe_errors();
    assert!(errors.is_empty(), "{errors:?}");
}

/// A rule that never fires still has its threshold line: the page reads the rules, not only
/// the alerts.
#[test]
fn the_model_page_draws_the_threshold_of_a_rule_that_never_fired() {
    if !browser_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("modelwatch.toml");
    std::fs::write(
        &config,
        "[[rules]]\nname = \"latency-ceiling\"\nmetric = \"latency_ms\"\n\
         detector = { kind = \"threshold\", above = 250.0 }\n\n\
         [[rules]]\nname = \"latency-ema\"\nmetric = \"latency_ms\"\n\
         detector = { kind = \"ema\", alpha = 0.5, above = 400.0 }\n",
    )
    .unwrap();
    let serve = ServeChild::start(&dir.path().join("data"), |command| {
        command.arg("--config").arg(&config);
    });
    let events: Vec<String> = (0..5)
        .map(|minute| {
            json!({"model": {"name": "quiet", "version": "1"},
                   "timestamp": format!("2026-11-22T08:0{minute}:00Z"),
                   "metrics": {"latency_ms": 40.0 + f64::from(minute)}})
            .to_string()
        })
        .collect();
    Client::of(&serve).ingest(&events);
    let alerts = get(&serve.base, "/v1/alerts", "");
    let moved = (alerts["items"].as_array().unwrap().iter())
        .filter(|alert| alert["state"] == "firing" || alert["state"] == "pending")
        .count();
    assert_eq!(moved, 0, "no rule fires: {alerts}");

    let browser = Browser::start();
    assert_eq!(browser.page(&serve.base, "#/model/quiet"), "ready");
    assert_rule_thresholds(&browser, &serve.base, "quiet");
    let lines = browser.run(
        "return document.querySelectorAll('.chart[data-metric=\"latency_ms\"] .threshold').length",
        &[],
    );
    assert_eq!(lines, json!(2));
    let errors = browser.severe_errors();
    assert!(errors.is_empty(), "{errors:?}");
}

/// Every rule on a charted metric whose bound is in the metric's unit has its threshold line on
/// that chart, whether it fired or not (`GET /v1/models/{name}/rules`).
fn assert_rule_thresholds(browser: &Browser, base: &str, model: &str) {
    let drawn = browser.run(
        "return Array.from(document.querySelectorAll('.chart')).map((chart) => ({
           metric: chart.dataset.metric,
           values: Array.from(chart.querySelectorAll('.threshold')).map((t) => Number(t.dataset.value))}))",
        &[],
    );
    let drawn = drawn.as_array().unwrap();
    let rules = get(base, &format!("/v1/models/{model}/rules"), "");
    let mut checked = 0;
    for rule in rules["rules"].as_array().unwrap() {
        let (Some(bound), Some(chart)) = (
            rule["condition"]["bound"].as_f64(),
            drawn.iter().find(|chart| chart["metric"] == rule["metric"]),
        ) else {
            continue;
        };
        let values = chart["values"].as_array().unwrap();
        assert!(
            values.iter().any(|value| value.as_f64() == Some(bound)),
            "no threshold line at {bound} for rule {}: {chart}",
            rule["name"]
        );
        checked += 1;
    }
    assert!(
        checked > 0,
        "no rule with a bound on a charted metric: {rules} {drawn:?}"
    );
}

/// A firing period of an alert: its id, when it fired, when it went on (empty while it still
/// fires) and its message.
pub type FiringPeriod = (String, String, String, String);

/// Each firing transition of `alerts` (as `replay --format json` prints them), and where its
/// alert went next (the band's end; none while it still fires).
pub fn firing_periods(alerts: &[Value]) -> Vec<FiringPeriod> {
    let expected: Vec<FiringPeriod> = alerts
        .iter()
        .enumerate()
        .filter(|(_, alert)| alert["state"] == "firing")
        .map(|(index, alert)| {
            let end = alerts[index + 1..]
                .iter()
                .find(|later| later["alert_id"] == alert["alert_id"])
                .map_or(String::new(), |next| {
                    next["at"].as_str().unwrap().to_string()
                });
            let text = |value: &Value| value.as_str().unwrap().to_string();
            (
                text(&alert["alert_id"]),
                text(&alert["at"]),
                end,
                text(&alert["message"]),
            )
        })
        .collect();
    assert!(
        expected.iter().any(|(_, _, end, _)| !end.is_empty()),
        "the example has an alert that fires and resolves: {expected:?}"
    );
    expected
}

/// The model page open in `browser` shades exactly the `expected` firing periods, each at its
/// times, shown, wide enough to see and with the alert's explanation as its tooltip.
pub fn assert_firing_bands(browser: &Browser, expected: &[FiringPeriod]) {
    let bands = browser.run(
        "return Array.from(document.querySelectorAll('.chart .band-firing')).map((band) => ({
           alert: band.dataset.alertId, start: band.dataset.start, end: band.dataset.end,
           width: band.getBoundingClientRect().width, shown: band.style.display !== 'none',
           title: band.title}))",
        &[],
    );
    let bands = bands.as_array().unwrap();
    for (alert_id, start, end, message) in expected {
        let band = bands
            .iter()
            .find(|band| band["alert"] == alert_id.as_str() && band["start"] == start.as_str())
            .unwrap_or_else(|| panic!("no firing band of {alert_id} from {start}: {bands:?}"));
        assert_eq!(band["end"], json!(end), "{band}");
        assert_eq!(band["shown"], json!(true), "{band}");
        assert!(band["width"].as_f64().unwrap() > 1.0, "{band}");
        // The tooltip explains the alert.
        assert!(band["title"].as_str().unwrap().contains(message), "{band}");
    }
    assert_eq!(bands.len(), expected.len(), "{bands:?}");
}

/// A page refreshes itself in place: events posted after the model page loaded show on its
/// charts without a reload of the document (drawn again when alerts moved, else added to the
/// same charts), and a zoomed range stays zoomed.
#[test]
fn the_model_page_takes_new_points_in_place_and_keeps_its_zoom() {
    if !browser_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let events = example_events();
    let (first, rest) = events.split_at(60);
    let serve = ServeChild::start(&dir.path().join("data"), |_| {});
    let client = Client::of(&serve);
    client.ingest(first);
    let browser = Browser::start();
    assert_eq!(browser.page(&serve.base, "#/model/fraud-detector"), "ready");
    let chart = "document.querySelector('.chart[data-metric=\"latency_ms\"]')";
    let before = browser.run(
        &format!(
            "window.sameDocument = true;
             const plot = {chart}.plot;
             const xs = plot.data[0];
             const zoom = {{min: xs[10], max: xs[20]}};
             plot.setScale('x', zoom);
             return [xs.length, zoom.min, zoom.max];"
        ),
        &[],
    );
    client.ingest(rest);
    let after = browser.wait_for(&format!(
        "(() => {{
           const plot = {chart}.plot;
           return plot.data[0].length > {length} &&
             [plot.data[0].length, plot.scales.x.min, plot.scales.x.max, window.sameDocument === true];
         }})()",
        length = before[0]
    ));
    assert_eq!(after[1], before[1], "the zoom moved: {after} {before}");
    assert_eq!(after[2], before[2], "the zoom moved: {after} {before}");
    assert_eq!(after[3], json!(true), "the page was reloaded");
    // Every latency point of the example is on the chart, once.
    let (status, text) = client.get("/v1/series?model=fraud-detector&metric=latency_ms&limit=1000");
    assert_eq!(status, 200);
    let points: Value = serde_json::from_str(&text).unwrap();
    let times: std::collections::BTreeSet<&str> = points["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|point| point["at"].as_str().unwrap())
        .collect();
    assert_eq!(after[0], json!(times.len()));

    // Points that change no alert: the same chart takes them (no chart drawn again).
    browser.run(&format!("{chart}.dataset.kept = 'yes';"), &[]);
    let healthy: Vec<String> = ["11:02", "11:04", "11:06"]
        .iter()
        .map(|at| {
            format!(
                r#"{{"model":{{"name":"fraud-detector","version":"1.4.0"}},"timestamp":"2026-11-22T{at}:00Z","metrics":{{"latency_ms":41.0}}}}"#
            )
        })
        .collect();
    client.ingest(&healthy);
    let grown = browser.wait_for(&format!(
        "(() => {{
           const chart = {chart};
           return chart.plot.data[0].length === {length} + 3 &&
             [chart.dataset.kept, chart.plot.scales.x.min, chart.plot.scales.x.max];
         }})()",
        length = after[0]
    ));
    assert_eq!(grown, json!(["yes", before[1], before[2]]), "{grown}");
    let errors = browser.severe_errors();
    assert!(errors.is_empty(), "{errors:?}");
}

/// GET `path` with `token`: the JSON answer.
fn get(base: &str, path: &str, token: &str) -> Value {
    let mut response = http_agent()
        .get(format!("{base}{path}"))
        .header("authorization", format!("Bearer {token}"))
        .call()
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap()
}

/// Types `token` into the console's token form and awaits the scopes it names.
fn use_token(browser: &Browser, token: &str, scopes: &str) {
    browser.type_into("#token input[name=token]", token);
    browser.click("#token button[type=submit]");
    browser.wait_for(&format!(
        "document.querySelector('#token .who[data-scopes=\"{scopes}\"]')"
    ));
}

#[test]
fn a_promote_through_the_console_changes_the_registry_and_a_read_only_token_sees_no_button() {
    if !browser_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let serve = ServeChild::start(&dir.path().join("data"), |command| {
        command
            .args(["--token-env", "MW_CONSOLE_READ:read"])
            .args(["--token-env", "MW_CONSOLE_ADMIN:admin"])
            .env("MW_CONSOLE_READ", READ_TOKEN)
            .env("MW_CONSOLE_ADMIN", ADMIN_TOKEN);
    });
    for chunk in example_events().chunks(50) {
        let response = http_agent()
            .post(format!("{}/v1/events", serve.base))
            .header("authorization", format!("Bearer {ADMIN_TOKEN}"))
            .header("content-type", "application/x-ndjson")
            .send(ndjson(chunk))
            .unwrap();
        assert_eq!(response.status().as_u16(), 202);
    }
    let versions = |base: &str| {
        get(base, "/v1/models/fraud-detector/versions", READ_TOKEN)["versions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                (
                    v["version"].as_str().unwrap().to_string(),
                    v["status"].as_str().unwrap().to_string(),
                )
            })
            .collect::<Vec<_>>()
    };
    assert!(versions(&serve.base).contains(&("1.5.0".to_string(), "candidate".to_string())));

    let browser = Browser::start();
    // No token yet: the shell loads, and the page asks for one naming the scope.
    assert_eq!(browser.page(&serve.base, "#/"), "error");
    browser.wait_for("document.querySelector('[data-notice=auth]')");

    use_token(&browser, ADMIN_TOKEN, "ingest,read,admin");
    assert_eq!(
        browser.page(&serve.base, "#/registry/fraud-detector"),
        "ready"
    );
    browser.click("button[data-change=promote][data-version=\"1.5.0\"]");
    browser.wait_for("document.querySelector('dialog[open][data-confirm]')");
    browser.click("dialog[open] button[data-answer=yes]");
    browser.wait_for("document.querySelector('[data-done=promote]')");
    let now = versions(&serve.base);
    assert!(
        now.contains(&("1.5.0".to_string(), "production".to_string())),
        "{now:?}"
    );
    assert!(
        now.contains(&("1.4.0".to_string(), "archived".to_string())),
        "{now:?}"
    );
    let audit = get(&serve.base, "/v1/audit?model=fraud-detector", READ_TOKEN);
    assert_eq!(audit["items"][0]["action"], "version_promoted");
    assert_eq!(audit["items"][0]["actor"], "env MW_CONSOLE_ADMIN");
    // The token lives in the tab's session storage only: not in the address, not a cookie.
    let kept = browser.run(
        "return [location.href, document.cookie, sessionStorage.getItem('modelwatch.token')]",
        &[],
    );
    assert!(!kept[0].as_str().unwrap().contains(ADMIN_TOKEN), "{kept}");
    assert_eq!(kept[1], "");
    assert_eq!(kept[2], ADMIN_TOKEN);

    // A read-only token: the registry shows, without a change button.
    browser.click("#token button[type=button]");
    browser.wait_for("!sessionStorage.getItem('modelwatch.token')");
    use_token(&browser, READ_TOKEN, "read");
    assert_eq!(
        browser.page(&serve.base, "#/registry/fraud-detector"),
        "ready"
    );
    let shown = browser.run(
        "return [document.querySelectorAll('button[data-change]').length, \
                 Boolean(document.querySelector('[data-readonly]')), \
                 document.querySelectorAll('table.versions tbody tr').length]",
        &[],
    );
    assert_eq!(shown, json!([0, true, 2]));
    let errors = browser.severe_errors();
    // The page's first read without a token was a 401 the browser logs: nothing else.
    assert!(
        errors.iter().all(|error| error.contains("401")),
        "{errors:?}"
    );
}

/// The traffic example through serve: the quality page draws realized accuracy beside its CBPE
/// estimate, label coverage, the drift scores and the per-feature histograms.
#[test]
fn the_quality_page_draws_realized_and_estimated_quality_coverage_and_drift_of_the_traffic_example()
{
    if !browser_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let serve = ServeChild::start(&dir.path().join("data"), |command| {
        command.args(["--config", "examples/fraud-traffic.toml"]);
    });
    let traffic =
        std::fs::read_to_string(crate::repo_root().join("examples/fraud-traffic.jsonl")).unwrap();
    let (status, body) = Client::of(&serve).post("/v1/events", "application/x-ndjson", &traffic);
    assert_eq!(status, 202, "{body}");

    let browser = Browser::start();
    assert_eq!(
        browser.page(&serve.base, "#/quality/fraud-detector"),
        "ready"
    );
    let charts = browser.run(
        "return Array.from(document.querySelectorAll('.chart')).map((chart) => [
           chart.dataset.metric,
           Array.from(chart.querySelectorAll('.u-legend .u-label')).map((label) => label.textContent)])",
        &[],
    );
    let legend = |title: &str| -> Vec<String> {
        charts
            .as_array()
            .unwrap()
            .iter()
            .find(|chart| chart[0] == title)
            .unwrap_or_else(|| panic!("no chart {title}: {charts}"))[1]
            .as_array()
            .unwrap()
            .iter()
            .map(|label| label.as_str().unwrap().to_string())
            .collect()
    };
    let accuracy = legend("accuracy: realized and estimated (CBPE)");
    assert!(
        accuracy.iter().any(|label| label.starts_with("accuracy "))
            && accuracy
                .iter()
                .any(|label| label.starts_with("estimated_accuracy ")),
        "{accuracy:?}"
    );
    assert!(!legend("label_coverage").is_empty());
    assert!(
        legend("each column's drift score")
            .iter()
            .any(|label| label.starts_with("drift.amount ")),
        "{charts}"
    );
    // Per feature, the reference against the latest window (tests/it/console_drift.rs).
    assert!(
        browser
            .run(
                "return document.querySelectorAll('svg.histogram').length",
                &[]
            )
            .as_u64()
            .unwrap()
            > 0
    );
    let errors = browser.severe_errors();
    assert!(errors.is_empty(), "{errors:?}");
}

/// The console as one file (`modelwatch::console::standalone_page`, what a report is made of):
/// with the answers of the model page's API paths inlined, opened from disk once serve is gone
/// and with the network off, it draws the same firing bands, read-only, with no console error.
#[test]
fn the_standalone_page_draws_the_model_page_from_its_inlined_answers_with_no_server() {
    if !browser_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let serve = ServeChild::start(&dir.path().join("data"), |_| {});
    let client = Client::of(&serve);
    client.ingest(&example_events());
    let model = "fraud-detector";
    let (status, text) = client.get(&format!("/v1/models/{model}"));
    assert_eq!(status, 200);
    let body: Value = serde_json::from_str(&text).unwrap();
    let mut paths = vec![
        format!("/v1/alerts?model={model}"),
        format!("/v1/decisions?model={model}"),
        format!("/v1/jobs?model={model}"),
        format!("/v1/audit?model={model}"),
    ];
    let mut metrics: Vec<&str> = body["latest"]
        .as_array()
        .unwrap()
        .iter()
        .map(|point| point["metric"].as_str().unwrap())
        .collect();
    metrics.sort_unstable();
    metrics.dedup();
    for metric in &metrics {
        paths.push(format!("/v1/series?metric={metric}&model={model}"));
    }
    let mut answers = serde_json::Map::new();
    answers.insert(format!("/v1/models/{model}"), body.clone());
    for path in paths {
        let (status, text) = client.get(&format!("{path}&limit=1000"));
        assert_eq!(status, 200, "{path}: {text}");
        let answer: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(answer["next"], Value::Null, "{path}");
        answers.insert(path, answer);
    }
    let firing = answers[&format!("/v1/alerts?model={model}")]["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|alert| alert["state"] == "firing")
        .count();
    let page = dir.path().join("report.html");
    std::fs::write(
        &page,
        modelwatch::console::standalone_page(&answers).unwrap(),
    )
    .unwrap();
    serve.kill();

    let browser = Browser::start();
    browser.go_offline();
    let url = format!("file://{}#/model/{model}", page.display());
    assert_eq!(browser.page_at(&url), "ready");
    let shown = browser.run(
        "return [document.querySelectorAll('.chart .band-firing').length,
                 document.querySelectorAll('.chart').length,
                 document.getElementById('token').textContent, navigator.onLine]",
        &[],
    );
    assert_eq!(shown[0], json!(firing), "{shown}");
    assert_eq!(shown[1], json!(metrics.len()), "{shown}");
    assert!(shown[2].as_str().unwrap().contains("read-only"), "{shown}");
    assert_eq!(shown[3], json!(false), "the browser was online: {shown}");
    let errors = browser.severe_errors();
    assert!(errors.is_empty(), "{errors:?}");
}

//! The console's per-feature drift histograms in a real headless Chromium against `modelwatch
//! serve` as a child process, with the fraud-traffic example (examples/fraud-traffic.*): before
//! any window is complete the quality page says so and shows the open window's progress; once
//! windows are, it draws each feature's reference against current histogram with as many bins
//! (or categories) as `GET /v1/models/{name}/drift` answers, their heights in the route's
//! shares, and each column's score and decision; a model whose `[[models]]` entry has no drift
//! settings gets the notice saying how to configure them; the page made self-contained (as a
//! report) draws them from its inlined answer, or says the answer is not in it. No console
//! error; no sleeping: every wait awaits a condition on the page (see `console_webdriver`).

use serde_json::{Value, json};

use crate::console_webdriver::Browser;
use crate::serve_child::{Client, ServeChild};

fn browser_available() -> bool {
    crate::serve_child::server_available("chromedriver", "chromium-driver")
        && crate::serve_child::server_available("chromium", "chromium")
}

/// The example's traffic, one event a line.
fn traffic() -> Vec<String> {
    std::fs::read_to_string(crate::repo_root().join("examples/fraud-traffic.jsonl"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// POSTs `events` as one NDJSON body, answered 202.
fn post(client: &Client, events: &[String]) {
    let body: String = events.iter().map(|event| format!("{event}\n")).collect();
    let (status, answer) = client.post("/v1/events", "application/x-ndjson", &body);
    assert_eq!(status, 202, "{answer}");
}

/// The quality page of the example's model, rendered.
fn quality_page(browser: &Browser, serve: &ServeChild) {
    assert_eq!(
        browser.page(&serve.base, "#/quality/fraud-detector"),
        "ready"
    );
}

#[test]
fn the_quality_page_draws_each_features_histograms_as_the_drift_route_answers_them() {
    if !browser_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let serve = ServeChild::start(&dir.path().join("data"), |command| {
        command.args(["--config", "examples/fraud-traffic.toml"]);
    });
    let client = Client::of(&serve);
    let events = traffic();
    // Up to the 450th prediction: the reference (the first 400) is complete, the open window
    // holds 50 of its 200.
    let split = events
        .iter()
        .enumerate()
        .filter(|(_, event)| event.contains("\"prediction\""))
        .nth(450)
        .unwrap()
        .0;
    post(&client, &events[..split]);
    let browser = Browser::start();
    quality_page(&browser, &serve);
    let waiting = browser.wait_for(
        "(() => {
           const open = document.querySelector('[data-open=\"2.1.0/web-0\"]');
           return document.querySelector('[data-drift=waiting][data-notice=empty]') && open &&
             [open.dataset.rows, open.dataset.needs, open.textContent];
         })()",
    );
    assert_eq!(waiting[0], "50", "{waiting}");
    assert_eq!(waiting[1], "200", "{waiting}");
    assert!(
        waiting[2].as_str().unwrap().contains("50 of 200 rows"),
        "{waiting}"
    );
    assert_eq!(
        browser.run(
            "return document.querySelectorAll('svg.histogram').length",
            &[]
        ),
        json!(0)
    );
    let errors = browser.severe_errors();
    assert!(errors.is_empty(), "{errors:?}");

    post(&client, &events[split..]);
    let (status, text) = client.get("/v1/models/fraud-detector/drift");
    assert_eq!(status, 200, "{text}");
    let drift: Value = serde_json::from_str(&text).unwrap();
    let windows = drift["windows"].as_array().unwrap();
    assert!(!windows.is_empty(), "{text}");
    quality_page(&browser, &serve);
    // Per histogram: its window, column, bins, each bar's height, and the card's score text
    // and decision.
    let shown = browser.run(
        "return Array.from(document.querySelectorAll('.drift-window')).map((window) => [
           window.dataset.window,
           Array.from(window.querySelectorAll('.feature')).map((card) => {
             const svg = card.querySelector('svg.histogram');
             const heights = (css) => svg ? Array.from(svg.querySelectorAll(css))
               .map((bar) => Number(bar.getAttribute('height'))) : null;
             return {name: card.dataset.feature, drifted: card.dataset.drifted || null,
               score: card.querySelector('.score')?.textContent || null,
               bins: svg ? svg.querySelectorAll('g.bin').length : null,
               reference: heights('rect.bar-reference'), current: heights('rect.bar-current')};
           })])",
        &[],
    );
    let shown = shown.as_array().unwrap();
    assert_eq!(shown.len(), windows.len(), "{shown:?}");
    let mut drawn = 0;
    for (window, on_page) in windows.iter().zip(shown) {
        let key = format!(
            "{}/{}",
            window["version"].as_str().unwrap(),
            window["instance"].as_str().unwrap()
        );
        assert_eq!(on_page[0], json!(key));
        let cards = on_page[1].as_array().unwrap();
        let columns = window["columns"].as_array().unwrap();
        assert_eq!(cards.len(), columns.len(), "{key}");
        for (column, card) in columns.iter().zip(cards) {
            let name = column["name"].as_str().unwrap();
            assert_eq!(card["name"], column["name"], "{key}");
            if column["outcome"] == "scored" {
                assert_eq!(
                    card["drifted"],
                    json!(column["drifted"].to_string()),
                    "{name}"
                );
                let score = card["score"].as_str().unwrap();
                assert!(
                    score.starts_with(column["method"].as_str().unwrap()),
                    "{name}: {score}"
                );
            }
            let histogram = &column["histogram"];
            if histogram.is_null() {
                assert_eq!(card["bins"], Value::Null, "{name}");
                continue;
            }
            let bins = match histogram["edges"].as_array() {
                Some(edges) => edges.len() - 1,
                None => histogram["categories"].as_array().unwrap().len(),
            };
            assert_eq!(card["bins"], json!(bins), "{name}: {card}");
            // Each bar's height is its share, on one scale for both sides.
            let shares: Vec<f64> = ["reference", "current"]
                .iter()
                .flat_map(|side| histogram[side].as_array().unwrap().iter())
                .map(|share| share.as_f64().unwrap())
                .collect();
            let heights: Vec<f64> = ["reference", "current"]
                .iter()
                .flat_map(|side| card[side].as_array().unwrap().iter())
                .map(|height| height.as_f64().unwrap())
                .collect();
            assert_eq!(heights.len(), 2 * bins, "{name}: {card}");
            let top_share = shares.iter().copied().fold(0.0, f64::max);
            let top_height = heights.iter().copied().fold(0.0, f64::max);
            for (share, height) in shares.iter().zip(&heights) {
                assert!(
                    (share / top_share - height / top_height).abs() < 1e-6,
                    "{name}: shares {shares:?}, heights {heights:?}"
                );
            }
            drawn += 1;
        }
    }
    assert!(drawn >= 20, "{drawn} histograms drawn: {shown:?}");
    // Both kinds of column are drawn: a numerical one by its edges, a categorical one by its
    // categories.
    let kinds = browser.run(
        "return [document.querySelectorAll('svg.histogram[data-kind=edges]').length,
                 document.querySelectorAll('svg.histogram[data-kind=categories]').length,
                 document.querySelectorAll('.feature svg.sparkline').length]",
        &[],
    );
    assert!(
        kinds[0].as_u64().unwrap() > 0 && kinds[1].as_u64().unwrap() > 0,
        "{kinds}"
    );
    // Each scored feature has its score over time beside its histogram.
    assert!(kinds[2].as_u64().unwrap() > 0, "{kinds}");
    let errors = browser.severe_errors();
    assert!(errors.is_empty(), "{errors:?}");
}

#[test]
fn a_model_without_drift_settings_gets_the_notice_saying_how_to_configure_them() {
    if !browser_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("no-drift.toml");
    std::fs::write(
        &config,
        "[[models]]\nname = \"fraud-detector\"\ntask = \"binary\"\npositive = \"fraud\"\nwindow = 200\n",
    )
    .unwrap();
    let serve = ServeChild::start(&dir.path().join("data"), |command| {
        command.arg("--config").arg(&config);
    });
    let client = Client::of(&serve);
    post(&client, &traffic()[..300]);
    let (status, _) = client.get("/v1/models/fraud-detector/drift");
    assert_eq!(status, 404);

    let browser = Browser::start();
    quality_page(&browser, &serve);
    let notice = browser.wait_for(
        "document.querySelector('[data-drift=unconfigured][data-notice=empty]')?.textContent",
    );
    let notice = notice.as_str().unwrap();
    assert!(
        notice.contains("[[models]]") && notice.contains("docs/config.md"),
        "{notice}"
    );
    // The page knows from the model's `traffic.drift` not to ask: no console error at all.
    let errors = browser.severe_errors();
    assert!(errors.is_empty(), "{errors:?}");
}

/// The quality page from a self-contained page (what a report is made of), opened from disk
/// with serve gone and the network off: with the drift route's answer inlined it draws the same
/// histograms; without it, that section says "Not in this report" and the rest still shows.
#[test]
fn the_standalone_page_draws_the_histograms_from_the_inlined_drift_answer() {
    if !browser_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let serve = ServeChild::start(&dir.path().join("data"), |command| {
        command.args(["--config", "examples/fraud-traffic.toml"]);
    });
    let client = Client::of(&serve);
    post(&client, &traffic());
    let answer = |path: &str| -> Value {
        let (status, text) = client.get(path);
        assert_eq!(status, 200, "{path}: {text}");
        serde_json::from_str(&text).unwrap()
    };
    let model = answer("/v1/models/fraud-detector");
    let mut metrics: Vec<&str> = model["latest"]
        .as_array()
        .unwrap()
        .iter()
        .map(|point| point["metric"].as_str().unwrap())
        .collect();
    metrics.sort_unstable();
    metrics.dedup();
    let mut answers = serde_json::Map::new();
    for metric in &metrics {
        let path = format!("/v1/series?metric={metric}&model=fraud-detector");
        let series = answer(&format!("{path}&limit=1000"));
        assert_eq!(series["next"], Value::Null, "{path}");
        answers.insert(path, series);
    }
    let alerts = answer("/v1/alerts?model=fraud-detector&limit=1000");
    assert_eq!(alerts["next"], Value::Null);
    answers.insert("/v1/alerts?model=fraud-detector".into(), alerts);
    answers.insert("/v1/models/fraud-detector".into(), model.clone());
    let drift = answer("/v1/models/fraud-detector/drift");
    let histograms: usize = drift["windows"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|window| window["columns"].as_array().unwrap())
        .filter(|column| !column["histogram"].is_null())
        .count();
    serve.kill();

    let without = dir.path().join("without-drift.html");
    std::fs::write(
        &without,
        modelwatch::console::standalone_page(&answers).unwrap(),
    )
    .unwrap();
    answers.insert("/v1/models/fraud-detector/drift".into(), drift);
    let with = dir.path().join("with-drift.html");
    std::fs::write(
        &with,
        modelwatch::console::standalone_page(&answers).unwrap(),
    )
    .unwrap();

    let browser = Browser::start();
    browser.go_offline();
    let open = |page: &std::path::Path| {
        let url = format!("file://{}#/quality/fraud-detector", page.display());
        assert_eq!(browser.page_at(&url), "ready");
        browser.run(
            "return [document.querySelectorAll('svg.histogram').length,
                     document.querySelectorAll('.chart').length,
                     document.querySelector('[data-drift-of] [data-notice]')?.textContent || null]",
            &[],
        )
    };
    let shown = open(&with);
    assert_eq!(shown[0], json!(histograms), "{shown}");
    assert!(shown[1].as_u64().unwrap() > 0, "{shown}");
    assert_eq!(shown[2], Value::Null, "{shown}");
    let shown = open(&without);
    assert_eq!(shown[0], json!(0), "{shown}");
    assert!(shown[1].as_u64().unwrap() > 0, "{shown}");
    assert!(
        shown[2].as_str().unwrap().starts_with("Not in this report"),
        "{shown}"
    );
    let errors = browser.severe_errors();
    assert!(errors.is_empty(), "{errors:?}");
}

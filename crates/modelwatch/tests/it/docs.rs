//! Every example in the docs is real: TOML blocks parse as configs without errors or
//! warnings, JSON blocks parse as inputs.

use modelwatch::engine::config::parse_config;
use modelwatch::engine::{Format, MetricCatalog, WireParser};

/// The fenced blocks of `lang` in a Markdown file.
fn blocks(file: &str, lang: &str) -> Vec<String> {
    let text = std::fs::read_to_string(crate::repo_root().join(file)).unwrap();
    let fence = format!("```{lang}");
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        match &mut current {
            None if line.trim_start() == fence => current = Some(String::new()),
            Some(block) if line.trim_start() == "```" => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
            None => {}
        }
    }
    blocks
}

#[test]
fn every_toml_example_is_a_valid_config() {
    let mut count = 0;
    for file in ["docs/config.md", "README.md"] {
        for block in blocks(file, "toml") {
            let parsed =
                parse_config(&block).unwrap_or_else(|errors| panic!("{file}:\n{block}\n{errors}"));
            let warnings: Vec<String> = parsed
                .warnings
                .iter()
                .map(ToString::to_string)
                .filter(|w| !w.contains("no [[rules]]"))
                .collect();
            assert!(warnings.is_empty(), "{file}:\n{block}\n{warnings:?}");
            count += 1;
        }
    }
    assert!(count >= 2, "found {count} TOML examples");
}

#[test]
fn every_json_example_is_a_valid_input() {
    let mut catalog = MetricCatalog::new();
    catalog.declare(
        "my_kpi",
        modelwatch::engine::metric::MetricInfo::new(
            modelwatch::engine::metric::Goal::Unknown,
            None,
            None,
        ),
    );
    // Predictions and labels are also held to the `[[models]]` example of docs/config.md.
    let models = blocks("docs/config.md", "toml")
        .into_iter()
        .find(|block| block.contains("[[models]]"))
        .map(|block| parse_config(&block).unwrap().config.models)
        .unwrap();
    let parser = WireParser::new(&catalog)
        .accepting_jobs()
        .with_models(&models);
    let mut count = 0;
    for file in ["docs/events.md", "README.md"] {
        for block in blocks(file, "json") {
            parser
                .parse_batch(&block, Format::Auto)
                .unwrap_or_else(|error| panic!("{file}:\n{block}\n{error}"));
            count += 1;
        }
    }
    assert!(count >= 3, "found {count} JSON examples");
}

#[test]
fn the_json_examples_of_the_actions_page_are_json() {
    let examples = blocks("docs/actions.md", "json");
    assert!(!examples.is_empty());
    for block in examples {
        let value: serde_json::Value =
            serde_json::from_str(&block).unwrap_or_else(|error| panic!("{block}\n{error}"));
        // A canary verdict on demand, or a webhook body: the delivery's id, the notifier, a
        // link and the output.
        let keys: &[&str] = if value.get("verdict").is_some() {
            &[
                "model",
                "rule",
                "metric",
                "verdict",
                "message",
                "judgement",
                "candidate",
                "baseline",
                "settings",
            ]
        } else {
            &["id", "notifier", "link", "output"]
        };
        for key in keys {
            assert!(value.get(key).is_some(), "{key} missing from\n{block}");
        }
    }
}

//! Tests of the outbound URLs of a config: each refusal located and naming its key.

use crate::config::effects::Backend;
use crate::config::parse_config;

fn errors(text: &str) -> Vec<String> {
    match parse_config(text) {
        Ok(parsed) => panic!("expected errors, got {:?}", parsed.config),
        Err(errors) => errors.errors.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn every_outbound_url_is_checked_where_it_is_written() {
    let text = r#"[[notifiers]]
name = "hook"
kind = "webhook"
url = "http://[zz/"

[[notifiers]]
name = "am"
kind = "alertmanager"
url = "http://example.com:99999/"

[[notifiers]]
name = "linked"
kind = "webhook"
url = "https://hooks.example.com/"
link_base = "http://:8780"

[[trainers]]
kind = "http"
url = "http://{model}.trainers.example/run"

[[trainers]]
kind = "http"
url = "https://airflow.example.com:0/dags/{model}"

[[rollbacks]]
kind = "http"
url = "https:///rollback"
"#;
    assert_eq!(
        errors(text),
        [
            "line 4, column 7: notifiers[0].url: \"http://[zz/\" has an invalid IPv6 address; write one in brackets, such as http://[::1]:8080/",
            "line 9, column 7: notifiers[1].url: \"http://example.com:99999/\" has port 99999; a port is a number from 1 to 65535",
            "line 15, column 13: notifiers[2].link_base: \"http://:8780\" names no host",
            "line 19, column 7: trainers[0].url: \"http://{model}.trainers.example/run\" has a placeholder or brace before its path; write the scheme, host and port out in full, placeholders may stand only in the path, query or fragment",
            "line 23, column 7: trainers[1].url: \"https://airflow.example.com:0/dags/{model}\" has port 0; a port is a number from 1 to 65535",
            "line 27, column 7: rollbacks[0].url: \"https:///rollback\" names no host",
        ]
    );
}

#[test]
fn good_outbound_urls_are_kept_as_written() {
    let text = r#"[[notifiers]]
name = "v6"
kind = "webhook"
url = "http://[::1]:8080/hook?team=ml"

[[notifiers]]
name = "am"
kind = "alertmanager"
url = "http://10.0.0.5:9093"
link_base = "https://modelwatch.example.com:8443/ui"

[[trainers]]
kind = "http"
url = "https://airflow.example.com:8443/api/v1/dags/retrain_{model}/dagRuns?note={reason}#{attempt}"
"#;
    let config = parse_config(text).unwrap().config;
    let urls: Vec<&str> = config
        .effects
        .notifiers
        .iter()
        .map(|notifier| notifier.url.as_str())
        .collect();
    assert_eq!(
        urls,
        ["http://[::1]:8080/hook?team=ml", "http://10.0.0.5:9093"]
    );
    match &config.effects.trainers[0].backend {
        Backend::Http { url, .. } => assert_eq!(
            url,
            "https://airflow.example.com:8443/api/v1/dags/retrain_{model}/dagRuns?note={reason}#{attempt}"
        ),
        other => panic!("{other:?}"),
    }
}

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

#[test]
fn without_an_allowlist_any_host_is_allowed() {
    for text in [
        "",
        "[outbound]\n",
        "[[notifiers]]\nname = \"n\"\nkind = \"webhook\"\nurl = \"https://anywhere.example/\"\n",
    ] {
        let config = parse_config(text).unwrap().config;
        assert_eq!(config.effects.outbound, None, "{text}");
    }
}

#[test]
fn with_an_allowlist_every_outbound_host_must_be_in_it() {
    let text = r#"[outbound]
allow_hosts = ["hooks.example.com", "*.corp.example", "10.0.0.5", "[::1]"]

[[notifiers]]
name = "ok"
kind = "webhook"
url = "https://hooks.example.com/modelwatch"
link_base = "https://anywhere.example/"

[[notifiers]]
name = "am"
kind = "alertmanager"
url = "http://[::1]:9093"

[[trainers]]
model = "fraud-*"
kind = "http"
url = "https://airflow.ml.corp.example/api/v1/dags/retrain_{model}/dagRuns"

[[rollbacks]]
kind = "http"
url = "http://10.0.0.5:8080/rollback/{model}"
"#;
    let config = parse_config(text).unwrap().config;
    let allowlist = config.effects.outbound.unwrap();
    assert_eq!(
        allowlist.to_string(),
        "hooks.example.com, *.corp.example, 10.0.0.5, [::1]"
    );
    assert!(allowlist.allows("x.corp.example") && !allowlist.allows("corp.example"));

    let text = r#"[[notifiers]]
name = "elsewhere"
kind = "webhook"
url = "https://hooks.example.net/modelwatch"

[[notifiers]]
name = "am"
kind = "alertmanager"
url = "http://[::2]:9093"

[outbound]
allow_hosts = ["hooks.example.com", "*.corp.example", "10.0.0.5", "[::1]"]

[[trainers]]
kind = "http"
url = "https://corp.example/retrain/{model}"

[[rollbacks]]
kind = "http"
url = "http://10.0.0.6/rollback"
"#;
    let list = "(hooks.example.com, *.corp.example, 10.0.0.5, [::1])";
    assert_eq!(
        errors(text),
        [
            format!(
                "line 4, column 7: notifiers[0].url: \"https://hooks.example.net/modelwatch\": host \"hooks.example.net\" is not in [outbound] allow_hosts {list}"
            ),
            format!(
                "line 9, column 7: notifiers[1].url: \"http://[::2]:9093\": host \"[::2]\" is not in [outbound] allow_hosts {list}"
            ),
            format!(
                "line 16, column 7: trainers[0].url: \"https://corp.example/retrain/{{model}}\": host \"corp.example\" is not in [outbound] allow_hosts {list}"
            ),
            format!(
                "line 20, column 7: rollbacks[0].url: \"http://10.0.0.6/rollback\": host \"10.0.0.6\" is not in [outbound] allow_hosts {list}"
            ),
        ]
    );
}

#[test]
fn an_empty_allowlist_allows_no_host_and_bad_entries_are_located() {
    assert_eq!(
        errors(
            "[outbound]\nallow_hosts = []\n\n[[notifiers]]\nname = \"n\"\nkind = \"webhook\"\nurl = \"https://hooks.example.com/\"\n"
        ),
        [
            "line 7, column 7: notifiers[0].url: \"https://hooks.example.com/\": host \"hooks.example.com\" is not allowed; [outbound] allow_hosts is empty, which allows no host"
        ]
    );
    assert_eq!(
        errors(
            "[outbound]\nallow_hosts = [\"ok.example\", \"https://x.example\", 3, \"*\", \"a.*.example\"]\nallow = true\n"
        ),
        [
            "line 2, column 30: outbound.allow_hosts[1]: \"https://x.example\" must be a host alone, without scheme, user, port or path",
            "line 2, column 51: outbound.allow_hosts[2]: must be a string, got integer",
            "line 2, column 54: outbound.allow_hosts[3]: \"*\" would allow every host; leave out allow_hosts to allow them all",
            "line 2, column 59: outbound.allow_hosts[4]: \"a.*.example\": a wildcard stands only at the start, as in *.corp.example",
            "line 3, column 1: outbound.allow: unknown key \"allow\"; expected one of: allow_hosts",
        ]
    );
    assert_eq!(
        errors("[outbound]\nallow_hosts = \"hooks.example.com\"\n"),
        [
            "line 2, column 15: outbound.allow_hosts: must be an array of hosts such as [\"hooks.example.com\", \"*.corp.example\", \"10.0.0.5\"], got string"
        ]
    );
}

#[test]
fn a_misspelled_outbound_section_is_checked_but_applies_to_nothing() {
    assert_eq!(
        errors(
            "[outbund]\nallow_hosts = [\"ok.example\", \"x:1\"]\n\n[[notifiers]]\nname = \"n\"\nkind = \"webhook\"\nurl = \"https://elsewhere.example/\"\n"
        ),
        [
            "line 1, column 2: outbund: unknown key \"outbund\"; did you mean outbound? its contents are checked as outbound",
            "line 2, column 30: outbund.allow_hosts[1]: \"x:1\" must be a host alone, without scheme, user, port or path",
        ]
    );
}

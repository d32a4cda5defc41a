//! Tests of parsing notifiers, trainers, rollbacks, job limits and rules' notify lists.

use std::path::PathBuf;

use crate::config::effects::{
    Backend, DEFAULT_HTTP_BODY, DEFAULT_JOB_ATTEMPTS, DEFAULT_JOB_RETRY_DELAY_SECS,
    DEFAULT_JOB_TIMEOUT_SECS, DEFAULT_MAX_CONCURRENT_JOBS, DEFAULT_RESEND_SECS,
    DEFAULT_RETRY_FOR_SECS, DEFAULT_RETRY_INITIAL_MS, DEFAULT_RETRY_MAX_SECS, DEFAULT_TIMEOUT_SECS,
    NotifierKind, SecretSource,
};
use crate::config::parse_config;

fn errors(text: &str) -> String {
    match parse_config(text) {
        Ok(parsed) => panic!("expected errors, got {:?}", parsed.config),
        Err(errors) => errors
            .errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

fn assert_contains(joined: &str, expected: &[&str]) {
    for expected in expected {
        assert!(
            joined.contains(expected),
            "missing {expected:?} in\n{joined}"
        );
    }
}

const RULE: &str = r#"
[[rules]]
name = "low"
metric = "accuracy"
detector = { kind = "threshold", below = 0.9 }
"#;

#[test]
fn notifiers_with_every_field_and_with_defaults() {
    let text = format!(
        r#"
[[notifiers]]
name = "oncall"
kind = "webhook"
url = "https://hooks.example.com/modelwatch"
secret_env = "ONCALL_HMAC_KEY"
headers = {{ X-Team = "ml", Accept = "application/json" }}
timeout_secs = 5
retry_for_secs = 3600
retry_initial_ms = 250
retry_max_secs = 60
link_base = "https://modelwatch.example.com"

[[notifiers]]
name = "am"
kind = "alertmanager"
url = "http://localhost:9093"
secret_file = "/run/secrets/am-token"
resend_secs = 30
{RULE}notify = ["oncall", "am"]
"#
    );
    let config = parse_config(&text).unwrap().config;
    let notifiers = &config.effects.notifiers;
    assert_eq!(notifiers.len(), 2);
    let oncall = &notifiers[0];
    assert_eq!(
        (&*oncall.name, oncall.kind, oncall.url.as_str()),
        (
            "oncall",
            NotifierKind::Webhook,
            "https://hooks.example.com/modelwatch"
        )
    );
    assert_eq!(
        oncall.secret,
        Some(SecretSource::Env("ONCALL_HMAC_KEY".into()))
    );
    assert_eq!(
        oncall.headers,
        [
            ("X-Team".to_string(), "ml".to_string()),
            ("Accept".to_string(), "application/json".to_string())
        ],
        "headers keep their config order"
    );
    assert_eq!(
        (
            oncall.timeout_secs,
            oncall.retry_for_secs,
            oncall.retry_initial_ms,
            oncall.retry_max_secs
        ),
        (5, 3600, 250, 60)
    );
    assert_eq!(
        oncall.link_base.as_deref(),
        Some("https://modelwatch.example.com")
    );
    let am = config.effects.notifier("am").unwrap();
    assert_eq!(am.kind, NotifierKind::Alertmanager);
    assert_eq!(
        am.secret,
        Some(SecretSource::File(PathBuf::from("/run/secrets/am-token")))
    );
    assert_eq!(am.resend_secs, 30);
    assert_eq!(
        (
            am.timeout_secs,
            am.retry_for_secs,
            am.retry_initial_ms,
            am.retry_max_secs,
            am.link_base.as_deref()
        ),
        (
            DEFAULT_TIMEOUT_SECS,
            DEFAULT_RETRY_FOR_SECS,
            DEFAULT_RETRY_INITIAL_MS,
            DEFAULT_RETRY_MAX_SECS,
            None
        )
    );
    assert_eq!(oncall.resend_secs, DEFAULT_RESEND_SECS);
    let notify: Vec<&str> = config.rules[0].notify.iter().map(|n| &**n).collect();
    assert_eq!(notify, ["oncall", "am"]);
    assert_eq!(
        config.effects.jobs.max_concurrent,
        DEFAULT_MAX_CONCURRENT_JOBS
    );
}

#[test]
fn notifier_errors_are_located() {
    let text = r#"[[notifiers]]
name = "oncall"
kind = "pager"
url = "ftp://hooks"
secret_env = "KEY"
secret_file = "/key"
headers = { "bad header" = "x", X-Ok = "a\nb" }
timeout_secs = 0
resend_secs = 5

[[notifiers]]
name = "oncall"
kind = "webhook"
url = "https://"
link_base = "example.com"
retry_initial_ms = 10000
retry_max_secs = 5
resend_secs = 5
colour = "red"

[[notifiers]]
name = "no url!"
kind = "alertmanager"
secret_env = "1KEY"
"#;
    let joined = errors(text);
    assert_contains(
        &joined,
        &[
            "line 3, column 8: notifiers[0].kind: unknown notifier kind \"pager\"; expected one of: webhook, alertmanager",
            "line 4, column 7: notifiers[0].url: \"ftp://hooks\" must start with http:// or https://",
            "line 6, column 15: notifiers[0].secret_file: give secret_env or secret_file, not both",
            "line 7, column 13: notifiers[0].headers.bad header: header name \"bad header\" must be",
            "notifiers[0].headers.X-Ok: a header value must not contain control characters",
            "line 8, column 16: notifiers[0].timeout_secs: must be a whole number from 1 to 3600",
            "line 12, column 8: notifiers[1].name: notifier name \"oncall\" is used twice",
            "line 14, column 7: notifiers[1].url: \"https://\" names no host",
            "line 15, column 13: notifiers[1].link_base: \"example.com\" must start with http:// or https://",
            "line 16, column 20: notifiers[1].retry_initial_ms: the first retry waits 10000 ms, longer than retry_max_secs (5 s) allows",
            "line 18, column 15: notifiers[1].resend_secs: resend_secs applies to alertmanager notifiers only",
            "line 19, column 1: notifiers[1].colour: unknown key \"colour\"",
            "line 21, column 1: notifiers[2]: missing required key url",
            "line 22, column 8: notifiers[2].name: notifier name \"no url!\" must be 1 to 64 letters",
            "line 24, column 14: notifiers[2].secret_env: environment variable name \"1KEY\" must be",
        ],
    );
    // resend_secs on an alertmanager notifier is fine: none for notifiers[0], which has an
    // unknown kind.
    assert!(!joined.contains("notifiers[0].resend_secs"), "{joined}");
    assert_contains(
        &errors("notifiers = 3\n"),
        &["line 1, column 13: notifiers: must be an array of tables ([[notifiers]]), got integer"],
    );
}

#[test]
fn notify_lists_name_declared_notifiers_once() {
    let text = r#"[[notifiers]]
name = "oncall"
kind = "webhook"
url = "https://hooks.example.com"

[[rules]]
name = "low"
metric = "accuracy"
detector = { kind = "threshold", below = 0.9 }
notify = ["oncall", "pager", "oncall", 3]

[[rules]]
name = "high"
metric = "latency_ms"
detector = { kind = "threshold", above = 100 }
notify = "oncall"
"#;
    let joined = errors(text);
    assert_contains(
        &joined,
        &[
            "line 10, column 21: rules[0].notify[1]: no notifier is named \"pager\"; declared: oncall",
            "line 10, column 30: rules[0].notify[2]: notifier \"oncall\" is listed twice",
            "line 10, column 40: rules[0].notify[3]: must be a string, got integer",
            "line 16, column 10: rules[1].notify: must be an array of notifier names",
        ],
    );
    assert_contains(
        &errors(&format!("{RULE}notify = [\"x\"]\n")),
        &["rules[0].notify[0]: no notifier is named \"x\"; declare it in [[notifiers]]"],
    );
    // A notifier with errors of its own does not make the rules naming it wrong too.
    let joined = errors(&format!(
        "[[notifiers]]\nname = \"n\"\nkind = \"webhook\"\nurl = \"nope\"\n{RULE}notify = [\"n\"]\n"
    ));
    assert!(!joined.contains("notify"), "{joined}");
}

#[test]
fn trainers_and_rollbacks_of_every_kind() {
    let text = r#"
[[trainers]]
model = "fraud-*"
kind = "command"
command = ["python", "train.py", "--model={model}", "--job={job_id}", "{{literal}}"]
env = { DATASET = "s3://data/{model}", ATTEMPT = "{attempt}" }
dir = "/srv/training"
timeout_secs = 7200
max_attempts = 3
retry_delay_secs = 30

[[trainers]]
kind = "http"
url = "https://airflow.example.com/api/v1/dags/retrain_{model}/dagRuns"
body = '{{"dag_run_id": "{job_id}", "conf": {{"model": "{model}", "reason": "{reason}"}}}}'
headers = { X-Requested-By = "modelwatch {version}" }
secret_env = "AIRFLOW_TOKEN"

[[trainers]]
model = "churn"
kind = "external"

[[rollbacks]]
kind = "http"
url = "http://router.internal/rollback/{model}/{version}"

[jobs]
max_concurrent = 4
"#;
    let parsed = parse_config(text).unwrap();
    let effects = &parsed.config.effects;
    assert_eq!(effects.jobs.max_concurrent, 4);
    assert_eq!(effects.trainers.len(), 3);
    let command = effects.trainer_for("fraud-detector").unwrap();
    assert_eq!(
        command.backend,
        Backend::Command {
            argv: vec![
                "python".into(),
                "train.py".into(),
                "--model={model}".into(),
                "--job={job_id}".into(),
                "{{literal}}".into()
            ],
            env: vec![
                ("DATASET".into(), "s3://data/{model}".into()),
                ("ATTEMPT".into(), "{attempt}".into())
            ],
            dir: Some(PathBuf::from("/srv/training")),
        }
    );
    assert_eq!(
        (
            command.timeout_secs,
            command.max_attempts,
            command.retry_delay_secs
        ),
        (7200, 3, 30)
    );
    let http = effects.trainer_for("shop").unwrap();
    let Backend::Http {
        url,
        body,
        headers,
        secret,
    } = &http.backend
    else {
        panic!("{http:?}");
    };
    assert!(url.ends_with("retrain_{model}/dagRuns"));
    assert!(body.starts_with("{{\"dag_run_id\""));
    assert_eq!(
        headers,
        &[(
            "X-Requested-By".to_string(),
            "modelwatch {version}".to_string()
        )]
    );
    assert_eq!(secret, &Some(SecretSource::Env("AIRFLOW_TOKEN".into())));
    assert_eq!(
        (http.timeout_secs, http.max_attempts, http.retry_delay_secs),
        (
            DEFAULT_JOB_TIMEOUT_SECS,
            DEFAULT_JOB_ATTEMPTS,
            DEFAULT_JOB_RETRY_DELAY_SECS
        )
    );
    // The first match wins: "churn" matches the http trainer before the external one.
    assert_eq!(effects.trainer_for("churn").unwrap().backend.kind(), "http");
    assert_eq!(effects.trainers[2].backend, Backend::External);
    let rollback = effects.rollback_for("fraud").unwrap();
    let Backend::Http { body, .. } = &rollback.backend else {
        panic!("{rollback:?}");
    };
    assert_eq!(body, DEFAULT_HTTP_BODY, "an http backend without body");
}

#[test]
fn trainer_errors_are_located() {
    let text = r#"[[trainers]]
kind = "command"
command = []
url = "https://x"

[[trainers]]
kind = "command"
command = ["train.sh", "{model} {modle}", "{"]
env = { "2X" = "a", MODELWATCH_MODEL = "b", OK = "c}" }
dir = ""
max_attempts = 0

[[trainers]]
kind = "http"
url = "{model}.example.com"
body = '{"model": "{model}"}'
secret_env = "A"
secret_file = "b"
command = ["x"]

[[rollbacks]]
kind = "http"
url = "https://x"
body = '{{"attempt": {attempt}, "reason": {reason}}}'

[[rollbacks]]
kind = "lambda"
model = "[z-a"
timeout_secs = -1

[[rollbacks]]
kind = "command"
"#;
    let joined = errors(text);
    assert_contains(
        &joined,
        &[
            "line 3, column 11: trainers[0].command: must name the program to run; it is empty",
            "line 4, column 1: trainers[0].url: url applies to http backends, not to command",
            "line 8, column 24: trainers[1].command[1]: unknown placeholder {modle}; templates may use {model}, {version}, {instance}, {job_id}, {reason}, {attempt}",
            "line 8, column 43: trainers[1].command[2]: unclosed { (write {{ for a literal brace), at byte 0",
            "line 9, column 9: trainers[1].env.2X: environment variable name \"2X\" must be",
            "line 9, column 21: trainers[1].env.MODELWATCH_MODEL: MODELWATCH_MODEL: the MODELWATCH_* variables are the job's fields",
            "line 9, column 50: trainers[1].env.OK: a } without its { (write }} for a literal brace), at byte 1",
            "line 10, column 7: trainers[1].dir: must not be empty",
            "line 11, column 16: trainers[1].max_attempts: must be a whole number from 1 to 100",
            "line 15, column 7: trainers[2].url: \"{model}.example.com\" must start with http:// or https://",
            "line 16, column 8: trainers[2].body: unclosed { (write {{ for a literal brace), at byte 0",
            "line 18, column 15: trainers[2].secret_file: give secret_env or secret_file, not both",
            "line 19, column 1: trainers[2].command: command applies to command backends, not to http",
            "line 24, column 8: rollbacks[0].body: is not valid JSON once its placeholders are filled in",
            "line 27, column 8: rollbacks[1].kind: unknown backend kind \"lambda\"; expected one of: command, http, external",
            "line 28, column 9: rollbacks[1].model: bad glob",
            "line 29, column 16: rollbacks[1].timeout_secs: must be a whole number from 1 to 604800",
            "line 31, column 1: rollbacks[2]: missing required key command",
        ],
    );
}

#[test]
fn job_limits_are_checked() {
    let joined = errors("[jobs]\nmax_concurrent = 0\nmax = 3\n");
    assert_contains(
        &joined,
        &[
            "line 2, column 18: jobs.max_concurrent: must be a whole number from 1 to 1024",
            "line 3, column 1: jobs.max: unknown key \"max\"; expected one of: max_concurrent",
        ],
    );
    assert_contains(
        &errors("jobs = 2\n"),
        &["line 1, column 8: jobs: must be a table, got integer"],
    );
}

#[test]
fn canary_actions_are_refused_on_detector_rules() {
    let joined = errors(&format!("{RULE}actions = [\"rollback\", \"page\"]\n"));
    assert_contains(
        &joined,
        &[
            "rules[0].actions[0]: rollback is an action of canary rules only (rules with a canary table)",
            "rules[0].actions[1]: unknown action \"page\"; this version supports: retrain, retrain_on_warning",
        ],
    );
}

//! The validated config of what acts on the engine's outputs: notifiers, trainers, rollback
//! backends and the job limits (DESIGN.md section 5).
//!
//! The engine never runs any of this (it does no I/O); it only names notifiers in its outputs.
//! The service (`modelwatch serve`) runs them from its outbox. Secrets are named here (an
//! environment variable or a file), never held: the service reads them when it starts.

use std::path::PathBuf;
use std::sync::Arc;

use crate::config::Glob;
use crate::config::outbound::HostAllowlist;

/// Where a notifier or backend finds its secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SecretSource {
    /// The value of an environment variable.
    Env(String),
    /// The contents of a file, without a trailing newline.
    File(PathBuf),
}

/// What kind of system a notifier talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NotifierKind {
    /// POSTs each alert transition as signed JSON.
    Webhook,
    /// Pushes alerts to Alertmanager's `POST /api/v2/alerts`, re-sent while firing.
    Alertmanager,
}

impl NotifierKind {
    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            NotifierKind::Webhook => "webhook",
            NotifierKind::Alertmanager => "alertmanager",
        }
    }
}

/// The default time a notification is retried before it is given up: one day.
pub const DEFAULT_RETRY_FOR_SECS: u64 = 86_400;
/// The default time limit of one HTTP request of a notifier or backend.
pub const DEFAULT_TIMEOUT_SECS: u64 = 10;
/// The default wait before the first retry of a notification, in milliseconds.
pub const DEFAULT_RETRY_INITIAL_MS: u64 = 1000;
/// The default longest wait between two attempts of a notification, in seconds.
pub const DEFAULT_RETRY_MAX_SECS: u64 = 300;
/// The default interval at which a firing alert is re-sent to Alertmanager.
pub const DEFAULT_RESEND_SECS: u64 = 60;

/// A named target of notifications, referred to by rules' `notify` lists.
#[derive(Clone, Debug, PartialEq)]
pub struct Notifier {
    /// Unique name.
    pub name: Arc<str>,
    /// Webhook or Alertmanager.
    pub kind: NotifierKind,
    /// For a webhook the URL it POSTs to; for Alertmanager its base URL (the notifier adds
    /// `/api/v2/alerts`).
    pub url: String,
    /// A webhook's HMAC-SHA256 key; for Alertmanager, a bearer token. `None`: unsigned.
    pub secret: Option<SecretSource>,
    /// Extra request headers, in config order.
    pub headers: Vec<(String, String)>,
    /// Time limit of one request, in seconds.
    pub timeout_secs: u64,
    /// How long a failing notification is retried (with backoff) before it is given up.
    pub retry_for_secs: u64,
    /// The wait before the first retry, in milliseconds; doubled at each further retry (with
    /// jitter), up to `retry_max_secs`.
    pub retry_initial_ms: u64,
    /// The longest wait between two attempts, in seconds.
    pub retry_max_secs: u64,
    /// Alertmanager only: how often a firing alert is re-sent.
    pub resend_secs: u64,
    /// The base URL that links in notifications point to (`generatorURL`, `link`); `None`:
    /// the service's own listen address.
    pub link_base: Option<String>,
}

/// How a trainer or rollback is run.
#[derive(Clone, Debug, PartialEq)]
pub enum Backend {
    /// Runs a program. Arguments and environment values are templates (see
    /// [`TEMPLATE_FIELDS`]); the job's fields are also in `MODELWATCH_*` environment variables.
    Command {
        /// The program, then its arguments, templated.
        argv: Vec<String>,
        /// Extra environment variables, templated.
        env: Vec<(String, String)>,
        /// The working directory; `None`: the service's.
        dir: Option<PathBuf>,
    },
    /// POSTs a templated JSON body. A trainer's result comes back on
    /// `POST /v1/jobs/{id}/complete`.
    Http {
        /// The URL, templated.
        url: String,
        /// The JSON body, templated (values are JSON-escaped where they are substituted).
        body: String,
        /// Extra request headers, templated.
        headers: Vec<(String, String)>,
        /// Sent as `Authorization: Bearer ...` when set.
        secret: Option<SecretSource>,
    },
    /// Runs nothing: an outside worker lists queued jobs (`GET /v1/jobs?state=queued`) and
    /// reports on `POST /v1/jobs/{id}/complete`.
    External,
}

impl Backend {
    /// The config spelling of the kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Backend::Command { .. } => "command",
            Backend::Http { .. } => "http",
            Backend::External => "external",
        }
    }
}

/// The placeholders a backend's templates may use: `{model}`, `{version}`, `{instance}`,
/// `{job_id}` (for a rollback, the verdict's id), `{reason}`, `{attempt}`.
pub const TEMPLATE_FIELDS: [&str; 6] = [
    "model", "version", "instance", "job_id", "reason", "attempt",
];

/// The body an `http` backend POSTs when its config gives none: every field, as JSON strings.
pub const DEFAULT_HTTP_BODY: &str = r#"{{"job_id": "{job_id}", "model": "{model}", "version": "{version}", "instance": "{instance}", "reason": "{reason}", "attempt": "{attempt}"}}"#;

/// The values substituted for the placeholders of a template (see [`TEMPLATE_FIELDS`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TemplateFields<'a> {
    /// `{model}`: the model's name.
    pub model: &'a str,
    /// `{version}`: the version concerned (for a rollback, the candidate's).
    pub version: &'a str,
    /// `{instance}`: the instance concerned, if any (empty otherwise).
    pub instance: &'a str,
    /// `{job_id}`: the job's id (for a rollback, the verdict's id).
    pub job_id: &'a str,
    /// `{reason}`: why the job runs, in words.
    pub reason: &'a str,
    /// `{attempt}`: 1 for the first run, 2 for the first retry, ...
    pub attempt: u32,
}

impl TemplateFields<'_> {
    /// The value of the placeholder `name`, if it is one of [`TEMPLATE_FIELDS`].
    pub fn get(&self, name: &str) -> Option<std::borrow::Cow<'_, str>> {
        use std::borrow::Cow;
        match name {
            "model" => Some(Cow::Borrowed(self.model)),
            "version" => Some(Cow::Borrowed(self.version)),
            "instance" => Some(Cow::Borrowed(self.instance)),
            "job_id" => Some(Cow::Borrowed(self.job_id)),
            "reason" => Some(Cow::Borrowed(self.reason)),
            "attempt" => Some(Cow::Owned(self.attempt.to_string())),
            _ => None,
        }
    }
}

/// One piece of a template.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Piece<'t> {
    /// Text copied as it is (`{{` and `}}` already made single).
    Literal(&'t str),
    /// `{name}`.
    Placeholder(&'t str),
}

/// Splits a template into pieces; the error says what is wrong at which byte offset.
fn pieces(template: &str) -> Result<Vec<Piece<'_>>, (usize, String)> {
    let mut pieces = Vec::new();
    let bytes = template.as_bytes();
    let (mut at, mut start) = (0, 0);
    while at < bytes.len() {
        match bytes[at] {
            b'{' if bytes.get(at + 1) == Some(&b'{') => {
                pieces.push(Piece::Literal(&template[start..=at]));
                at += 2;
                start = at;
            }
            b'}' if bytes.get(at + 1) == Some(&b'}') => {
                pieces.push(Piece::Literal(&template[start..=at]));
                at += 2;
                start = at;
            }
            b'{' => {
                let Some(length) = template[at + 1..].find('}') else {
                    return Err((at, "unclosed { (write {{ for a literal brace)".to_string()));
                };
                let name = &template[at + 1..at + 1 + length];
                if name.contains('{') {
                    return Err((at, "unclosed { (write {{ for a literal brace)".to_string()));
                }
                pieces.push(Piece::Literal(&template[start..at]));
                pieces.push(Piece::Placeholder(name));
                at += length + 2;
                start = at;
            }
            b'}' => {
                return Err((
                    at,
                    "a } without its { (write }} for a literal brace)".to_string(),
                ));
            }
            _ => at += 1,
        }
    }
    pieces.push(Piece::Literal(&template[start..]));
    Ok(pieces)
}

/// Checks a template: every `{name}` is one of [`TEMPLATE_FIELDS`], and every other brace is
/// doubled (`{{`, `}}`), as in Rust's `format!` and Python's `str.format`.
///
/// # Errors
///
/// The first problem, as a sentence naming the unknown placeholder or the stray brace.
pub fn check_template(template: &str) -> Result<(), String> {
    let pieces = pieces(template).map_err(|(at, message)| format!("{message}, at byte {at}"))?;
    for piece in pieces {
        if let Piece::Placeholder(name) = piece
            && !TEMPLATE_FIELDS.contains(&name)
        {
            let known: Vec<String> = TEMPLATE_FIELDS
                .iter()
                .map(|field| format!("{{{field}}}"))
                .collect();
            return Err(format!(
                "unknown placeholder {{{name}}}; templates may use {} (write {{{{ and }}}} for literal braces)",
                known.join(", ")
            ));
        }
    }
    Ok(())
}

/// Fills in a template: each `{name}` becomes the field's value, `{{` and `}}` become single
/// braces. With `json_escape` the values are escaped for the inside of a JSON string (quotes,
/// backslashes and control characters), as an `http` backend's body needs; the template's own
/// text is never changed. Pure and total: on a template that [`check_template`] refuses (the
/// config parser refuses those), an unknown placeholder or a stray brace is kept as written.
pub fn expand_template(template: &str, fields: &TemplateFields<'_>, json_escape: bool) -> String {
    let Ok(pieces) = pieces(template) else {
        return expand_leniently(template, fields, json_escape);
    };
    let mut out = String::with_capacity(template.len() + 32);
    for piece in pieces {
        match piece {
            Piece::Literal(text) => out.push_str(text),
            Piece::Placeholder(name) => match fields.get(name) {
                Some(value) => push_value(&mut out, &value, json_escape),
                None => {
                    out.push('{');
                    out.push_str(name);
                    out.push('}');
                }
            },
        }
    }
    out
}

/// [`expand_template`] of a template with a stray brace: placeholders are filled in where
/// they parse, everything else is copied.
fn expand_leniently(template: &str, fields: &TemplateFields<'_>, json_escape: bool) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(open) = rest.find(['{', '}']) {
        out.push_str(&rest[..open]);
        rest = &rest[open..];
        if rest.starts_with("{{") || rest.starts_with("}}") {
            out.push_str(&rest[..1]);
            rest = &rest[2..];
            continue;
        }
        if rest.starts_with('{')
            && let Some(close) = rest.find('}')
            && let Some(value) = fields.get(&rest[1..close])
        {
            push_value(&mut out, &value, json_escape);
            rest = &rest[close + 1..];
            continue;
        }
        out.push_str(&rest[..1]);
        rest = &rest[1..];
    }
    out.push_str(rest);
    out
}

fn push_value(out: &mut String, value: &str, json_escape: bool) {
    if !json_escape {
        out.push_str(value);
        return;
    }
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 || c == '\u{7f}' || c == '\u{2028}' || c == '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
}

/// The default time limit of a retrain job: one hour.
pub const DEFAULT_JOB_TIMEOUT_SECS: u64 = 3600;
/// The default number of attempts of a retrain job (the first run and retries).
pub const DEFAULT_JOB_ATTEMPTS: u32 = 2;
/// The default wait before a failed job's next attempt; doubled at each further attempt.
pub const DEFAULT_JOB_RETRY_DELAY_SECS: u64 = 60;
/// The default limit of jobs running at once, over all models.
pub const DEFAULT_MAX_CONCURRENT_JOBS: usize = 2;

/// How the models whose names match a glob are retrained (or rolled back).
#[derive(Clone, Debug, PartialEq)]
pub struct Trainer {
    /// Which models; the first matching entry wins.
    pub model: Glob,
    /// How.
    pub backend: Backend,
    /// A job running longer is killed (command) or given up (http) as `timed_out`.
    pub timeout_secs: u64,
    /// Attempts in all, the first run included; a failed, timed-out or interrupted attempt
    /// is retried while attempts remain.
    pub max_attempts: u32,
    /// The wait before the second attempt; doubled for each further one.
    pub retry_delay_secs: u64,
}

/// Limits over all jobs.
#[derive(Clone, Debug, PartialEq)]
pub struct JobSettings {
    /// Jobs running at once, over all models (queued jobs wait their turn).
    pub max_concurrent: usize,
}

impl Default for JobSettings {
    fn default() -> JobSettings {
        JobSettings {
            max_concurrent: DEFAULT_MAX_CONCURRENT_JOBS,
        }
    }
}

/// Everything the service's effects need from the config.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EffectsConfig {
    /// Named notification targets.
    pub notifiers: Vec<Notifier>,
    /// Retrain backends by model; a model matching none has no trainer: its retrains are
    /// only recommended (see [`crate::Decision::Recommended`]).
    pub trainers: Vec<Trainer>,
    /// Rollback backends by model, for canary rules with the `rollback` action.
    pub rollbacks: Vec<Trainer>,
    /// Job limits.
    pub jobs: JobSettings,
    /// The hosts that notifiers, trainers and rollbacks may connect to (`[outbound]
    /// allow_hosts`); `None`: any host. The config already refuses a URL whose host it does
    /// not allow; the service checks each request again.
    pub outbound: Option<HostAllowlist>,
}

impl EffectsConfig {
    /// The notifier with this name.
    pub fn notifier(&self, name: &str) -> Option<&Notifier> {
        self.notifiers
            .iter()
            .find(|notifier| &*notifier.name == name)
    }

    /// The trainer of a model, if one matches.
    pub fn trainer_for(&self, model: &str) -> Option<&Trainer> {
        self.trainers
            .iter()
            .find(|trainer| trainer.model.matches(model))
    }

    /// The rollback backend of a model, if one matches.
    pub fn rollback_for(&self, model: &str) -> Option<&Trainer> {
        self.rollbacks
            .iter()
            .find(|trainer| trainer.model.matches(model))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> TemplateFields<'static> {
        TemplateFields {
            model: "fraud",
            version: "1.4.0",
            instance: "canary-0",
            job_id: "3eb5a2ba",
            reason: "rule \"low\" is firing\non accuracy",
            attempt: 2,
        }
    }

    #[test]
    fn placeholders_are_filled_in_and_doubled_braces_are_single() {
        let template = "train {model}@{version}/{instance} job={job_id} try {attempt} {{model}}";
        assert_eq!(check_template(template), Ok(()));
        assert_eq!(
            expand_template(template, &fields(), false),
            "train fraud@1.4.0/canary-0 job=3eb5a2ba try 2 {model}"
        );
        assert_eq!(expand_template("", &fields(), false), "");
        assert_eq!(expand_template("{{}}", &fields(), true), "{}");
    }

    #[test]
    fn json_escaping_applies_to_the_values_only() {
        let body = r#"{{"conf": {{"reason": "{reason}", "model": "{model}"}}}}"#;
        assert_eq!(check_template(body), Ok(()));
        let json = expand_template(body, &fields(), true);
        assert_eq!(
            json,
            r#"{"conf": {"reason": "rule \"low\" is firing\non accuracy", "model": "fraud"}}"#
        );
        let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(parsed["conf"]["reason"], fields().reason);
        let odd = TemplateFields {
            reason: "tab\t nul\u{0} back\\slash \u{2028} é",
            ..fields()
        };
        let json = expand_template(r#""{reason}""#, &odd, true);
        let parsed: String = serde_json::from_str(&json).unwrap();
        assert_eq!(parsed, odd.reason);
        // Without escaping the value goes in as it is.
        assert_eq!(
            expand_template("{reason}", &fields(), false),
            fields().reason
        );
    }

    #[test]
    fn the_default_body_is_a_valid_template_of_valid_json() {
        assert_eq!(check_template(DEFAULT_HTTP_BODY), Ok(()));
        let json = expand_template(DEFAULT_HTTP_BODY, &fields(), true);
        let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(parsed["attempt"], "2");
        assert_eq!(parsed["job_id"], "3eb5a2ba");
    }

    #[test]
    fn unknown_placeholders_and_stray_braces_are_refused_by_the_check() {
        let error = check_template("run {modle}").unwrap_err();
        assert!(
            error.starts_with("unknown placeholder {modle}; templates may use {model}, {version}"),
            "{error}"
        );
        assert!(
            check_template("{\"a\": 1}")
                .unwrap_err()
                .contains("unknown placeholder {\"a\": 1}")
        );
        assert_eq!(
            check_template("{\"a\": \"{model}\"}").unwrap_err(),
            "unclosed { (write {{ for a literal brace), at byte 0"
        );
        assert_eq!(
            check_template("x { y").unwrap_err(),
            "unclosed { (write {{ for a literal brace), at byte 2"
        );
        assert_eq!(
            check_template("x } y").unwrap_err(),
            "a } without its { (write }} for a literal brace), at byte 2"
        );
    }

    #[test]
    fn expansion_of_a_refused_template_keeps_what_it_cannot_fill_in() {
        assert_eq!(
            expand_template("{modle} {model}", &fields(), false),
            "{modle} fraud"
        );
        assert_eq!(
            expand_template("} {model} {", &fields(), false),
            "} fraud {"
        );
        assert_eq!(expand_template("}} {{ {x", &fields(), false), "} { {x");
    }
}

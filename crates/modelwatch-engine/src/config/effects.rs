//! The validated config of what acts on the engine's outputs: notifiers, trainers, rollback
//! backends and the job limits (DESIGN.md section 5).
//!
//! The engine never runs any of this (it does no I/O); it only names notifiers in its outputs.
//! The service (`modelwatch serve`) runs them from its outbox. Secrets are named here (an
//! environment variable or a file), never held: the service reads them when it starts.

use std::path::PathBuf;
use std::sync::Arc;

use crate::config::Glob;

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
    /// reports on `POST /v1/jobs/{id}/complete`. What a model without a trainer gets.
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
    /// Retrain backends by model; a model matching none gets [`Backend::External`].
    pub trainers: Vec<Trainer>,
    /// Rollback backends by model, for canary rules with the `rollback` action.
    pub rollbacks: Vec<Trainer>,
    /// Job limits.
    pub jobs: JobSettings,
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

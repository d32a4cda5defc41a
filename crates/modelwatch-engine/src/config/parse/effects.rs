//! Reads what the service runs on the engine's outputs: `[[notifiers]]`, `[[trainers]]`,
//! `[[rollbacks]]` and `[jobs]`, in the style of `parse.rs` (every error located, all of them
//! collected). Nothing here is run: a secret is named, never read.

use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

use toml::de::{DeTable, DeValue};

use super::outbound::UrlUse;
use super::{Reader, Value, check_name, join};
use crate::config::Glob;
use crate::config::effects::{
    Backend, DEFAULT_HTTP_BODY, DEFAULT_JOB_ATTEMPTS, DEFAULT_JOB_RETRY_DELAY_SECS,
    DEFAULT_JOB_TIMEOUT_SECS, DEFAULT_MAX_CONCURRENT_JOBS, DEFAULT_RESEND_SECS,
    DEFAULT_RETRY_FOR_SECS, DEFAULT_RETRY_INITIAL_MS, DEFAULT_RETRY_MAX_SECS, DEFAULT_TIMEOUT_SECS,
    JobSettings, Notifier, NotifierKind, SecretSource, TemplateFields, Trainer, check_template,
    expand_template,
};
use crate::metric::quoted;

const DAY_SECS: i64 = 24 * 3600;

impl Reader<'_> {
    /// A whole number of `table[key]` in `range`, or `default` when the key is absent.
    /// `None` when it is wrong (reported).
    pub(super) fn count(
        &mut self,
        table: &DeTable<'_>,
        path: &str,
        key: &str,
        default: u64,
        range: Range<i64>,
    ) -> Option<u64> {
        match table.get(key) {
            None => Some(default),
            Some(value) => self
                .integer(value, &join(path, key), range)
                .map(i64::unsigned_abs),
        }
    }

    /// `[[notifiers]]` at `section`.
    pub(super) fn notifiers(&mut self, value: &Value<'_>, section: &str) -> Vec<Notifier> {
        let mut notifiers: Vec<Notifier> = Vec::new();
        let mut names: Vec<&str> = Vec::new();
        for (path, item) in self.entries(value, section) {
            if let Some(notifier) = self.notifier(item, &path) {
                notifiers.push(notifier);
            }
            self.unique_name(item, &path, "notifier", &mut names);
        }
        notifiers
    }

    fn notifier(&mut self, item: &Value<'_>, path: &str) -> Option<Notifier> {
        let fields = self.table(item, path)?;
        self.only_keys(
            fields,
            &[
                "name",
                "kind",
                "url",
                "secret_env",
                "secret_file",
                "headers",
                "timeout_secs",
                "retry_for_secs",
                "retry_initial_ms",
                "retry_max_secs",
                "resend_secs",
                "link_base",
            ],
            path,
        );
        let errors_before = self.errors.len();
        let name = self.required(fields, item, path, "name").and_then(|value| {
            let name = self.string(value, &join(path, "name"))?;
            if let Err(message) = check_name("notifier", name) {
                self.error(value.span(), &join(path, "name"), message);
                return None;
            }
            Some(Arc::<str>::from(name))
        });
        let kind = self.required(fields, item, path, "kind").and_then(|value| {
            let text = self.string(value, &join(path, "kind"))?;
            match text {
                "webhook" => Some(NotifierKind::Webhook),
                "alertmanager" => Some(NotifierKind::Alertmanager),
                other => {
                    let message = format!(
                        "unknown notifier kind {}; expected one of: webhook, alertmanager",
                        quoted(other)
                    );
                    self.error(value.span(), &join(path, "kind"), message);
                    None
                }
            }
        });
        let url = self
            .required(fields, item, path, "url")
            .and_then(|value| self.url(value, &join(path, "url"), UrlUse::Notifier));
        let secret = self.secret(fields, path);
        let headers = match fields.get("headers") {
            None => Some(Vec::new()),
            Some(value) => self.headers(value, &join(path, "headers"), false),
        };
        let timeout_secs = self.count(fields, path, "timeout_secs", DEFAULT_TIMEOUT_SECS, 1..3601);
        let retry_for_secs = self.count(
            fields,
            path,
            "retry_for_secs",
            DEFAULT_RETRY_FOR_SECS,
            0..30 * DAY_SECS + 1,
        );
        let retry_initial_ms = self.count(
            fields,
            path,
            "retry_initial_ms",
            DEFAULT_RETRY_INITIAL_MS,
            1..3_600_001,
        );
        let retry_max_secs = self.count(
            fields,
            path,
            "retry_max_secs",
            DEFAULT_RETRY_MAX_SECS,
            1..DAY_SECS + 1,
        );
        if let (Some(initial_ms), Some(max_secs), Some(value)) = (
            retry_initial_ms,
            retry_max_secs,
            fields.get("retry_initial_ms"),
        ) && initial_ms > max_secs.saturating_mul(1000)
        {
            let message = format!(
                "the first retry waits {initial_ms} ms, longer than retry_max_secs ({max_secs} s) allows"
            );
            self.error(value.span(), &join(path, "retry_initial_ms"), message);
        }
        let resend_secs = self.count(
            fields,
            path,
            "resend_secs",
            DEFAULT_RESEND_SECS,
            1..DAY_SECS + 1,
        );
        if let (Some(NotifierKind::Webhook), Some(value)) = (kind, fields.get("resend_secs")) {
            self.error(
                value.span(),
                &join(path, "resend_secs"),
                "resend_secs applies to alertmanager notifiers only; a webhook is sent each transition once"
                    .to_string(),
            );
        }
        let link_base = match fields.get("link_base") {
            None => Some(None),
            Some(value) => self
                .url(value, &join(path, "link_base"), UrlUse::Link)
                .map(Some),
        };
        if self.errors.len() > errors_before {
            return None;
        }
        Some(Notifier {
            name: name?,
            kind: kind?,
            url: url?,
            secret: secret?,
            headers: headers?,
            timeout_secs: timeout_secs?,
            retry_for_secs: retry_for_secs?,
            retry_initial_ms: retry_initial_ms?,
            retry_max_secs: retry_max_secs?,
            resend_secs: resend_secs?,
            link_base: link_base?,
        })
    }

    /// `[[trainers]]` or `[[rollbacks]]` at `section`.
    pub(super) fn trainers(&mut self, value: &Value<'_>, section: &str) -> Vec<Trainer> {
        let mut trainers = Vec::new();
        for (path, item) in self.entries(value, section) {
            if let Some(trainer) = self.trainer(item, &path) {
                trainers.push(trainer);
            }
        }
        trainers
    }

    fn trainer(&mut self, item: &Value<'_>, path: &str) -> Option<Trainer> {
        const COMMAND_KEYS: [&str; 3] = ["command", "env", "dir"];
        const HTTP_KEYS: [&str; 5] = ["url", "body", "headers", "secret_env", "secret_file"];
        let fields = self.table(item, path)?;
        let mut allowed = vec![
            "model",
            "kind",
            "timeout_secs",
            "max_attempts",
            "retry_delay_secs",
        ];
        allowed.extend(COMMAND_KEYS);
        allowed.extend(HTTP_KEYS);
        self.only_keys(fields, &allowed, path);
        let errors_before = self.errors.len();
        let model = match fields.get("model") {
            None => Some(Glob::Any),
            Some(value) => self.glob(value, &join(path, "model")),
        };
        let kind = self.required(fields, item, path, "kind").and_then(|value| {
            let text = self.string(value, &join(path, "kind"))?;
            if ["command", "http", "external"].contains(&text) {
                return Some(text);
            }
            let message = format!(
                "unknown backend kind {}; expected one of: command, http, external",
                quoted(text)
            );
            self.error(value.span(), &join(path, "kind"), message);
            None
        });
        // Keys of another kind are refused, so that a typo in `kind` does not go unnoticed.
        if let Some(kind) = kind {
            let own: &[&str] = match kind {
                "command" => &COMMAND_KEYS,
                "http" => &HTTP_KEYS,
                _ => &[],
            };
            for (key, _) in fields.iter() {
                let name: &str = key.get_ref();
                let other = if COMMAND_KEYS.contains(&name) {
                    "command"
                } else if HTTP_KEYS.contains(&name) {
                    "http"
                } else {
                    continue;
                };
                if !own.contains(&name) {
                    let message = format!("{name} applies to {other} backends, not to {kind}");
                    self.error(key.span(), &join(path, name), message);
                }
            }
        }
        let backend = match kind {
            Some("command") => self.command_backend(fields, item, path),
            Some("http") => self.http_backend(fields, item, path),
            Some(_) => Some(Backend::External),
            None => None,
        };
        let timeout_secs = self.count(
            fields,
            path,
            "timeout_secs",
            DEFAULT_JOB_TIMEOUT_SECS,
            1..7 * DAY_SECS + 1,
        );
        let max_attempts = self.count(
            fields,
            path,
            "max_attempts",
            u64::from(DEFAULT_JOB_ATTEMPTS),
            1..101,
        );
        let retry_delay_secs = self.count(
            fields,
            path,
            "retry_delay_secs",
            DEFAULT_JOB_RETRY_DELAY_SECS,
            0..DAY_SECS + 1,
        );
        if self.errors.len() > errors_before {
            return None;
        }
        Some(Trainer {
            model: model?,
            backend: backend?,
            timeout_secs: timeout_secs?,
            max_attempts: u32::try_from(max_attempts?).ok()?,
            retry_delay_secs: retry_delay_secs?,
        })
    }

    fn command_backend(
        &mut self,
        fields: &DeTable<'_>,
        item: &Value<'_>,
        path: &str,
    ) -> Option<Backend> {
        let argv = self
            .required(fields, item, path, "command")
            .and_then(|value| {
                let command_path = join(path, "command");
                let DeValue::Array(array) = value.get_ref() else {
                    let message = format!(
                        "must be an array such as [\"train.sh\", \"{{model}}\"], got {}",
                        value.get_ref().type_str()
                    );
                    self.error(value.span(), &command_path, message);
                    return None;
                };
                if array.is_empty() {
                    self.error(
                        value.span(),
                        &command_path,
                        "must name the program to run; it is empty".to_string(),
                    );
                    return None;
                }
                let mut argv = Vec::with_capacity(array.len());
                for (index, arg) in array.iter().enumerate() {
                    let arg_path = format!("{command_path}[{index}]");
                    argv.push(self.template(arg, &arg_path));
                }
                if let Some(Some(program)) = argv.first()
                    && program.is_empty()
                {
                    self.error(
                        value.span(),
                        &command_path,
                        "the program (the first element) is empty".to_string(),
                    );
                    return None;
                }
                argv.into_iter().collect::<Option<Vec<String>>>()
            });
        let env = match fields.get("env") {
            None => Some(Vec::new()),
            Some(value) => self.env(value, &join(path, "env")),
        };
        let dir = match fields.get("dir") {
            None => Some(None),
            Some(value) => {
                let dir_path = join(path, "dir");
                self.string(value, &dir_path).and_then(|text| {
                    if text.is_empty() {
                        self.error(value.span(), &dir_path, "must not be empty".to_string());
                        return None;
                    }
                    Some(Some(PathBuf::from(text)))
                })
            }
        };
        Some(Backend::Command {
            argv: argv?,
            env: env?,
            dir: dir?,
        })
    }

    fn http_backend(
        &mut self,
        fields: &DeTable<'_>,
        item: &Value<'_>,
        path: &str,
    ) -> Option<Backend> {
        let url = self
            .required(fields, item, path, "url")
            .and_then(|value| self.url(value, &join(path, "url"), UrlUse::Backend));
        let body = match fields.get("body") {
            None => Some(DEFAULT_HTTP_BODY.to_string()),
            Some(value) => {
                let body_path = join(path, "body");
                self.template(value, &body_path).and_then(|body| {
                    // Every placeholder filled in with a plain string: the JSON must hold
                    // whatever the values are, so placeholders belong inside JSON strings.
                    let sample = TemplateFields {
                        model: "x",
                        version: "x",
                        instance: "x",
                        job_id: "x",
                        reason: "x",
                        attempt: 1,
                    };
                    let filled = expand_template(&body, &sample, true);
                    match serde_json::from_str::<serde::de::IgnoredAny>(&filled) {
                        Ok(_) => Some(body),
                        Err(error) => {
                            let message = format!(
                                "is not valid JSON once its placeholders are filled in ({error}); \
                                 put placeholders inside JSON strings (\"{{model}}\") and double \
                                 the JSON's own braces ({{{{ and }}}})"
                            );
                            self.error(value.span(), &body_path, message);
                            None
                        }
                    }
                })
            }
        };
        let headers = match fields.get("headers") {
            None => Some(Vec::new()),
            Some(value) => self.headers(value, &join(path, "headers"), true),
        };
        let secret = self.secret(fields, path);
        Some(Backend::Http {
            url: url?,
            body: body?,
            headers: headers?,
            secret: secret?,
        })
    }

    /// `[jobs]` at `section`.
    pub(super) fn jobs(&mut self, value: &Value<'_>, section: &str) -> JobSettings {
        let mut settings = JobSettings::default();
        for (path, table) in self.section_tables(value, section) {
            self.only_keys(table, &["max_concurrent"], &path);
            if let Some(max) = self.count(
                table,
                &path,
                "max_concurrent",
                DEFAULT_MAX_CONCURRENT_JOBS as u64,
                1..1025,
            ) {
                settings.max_concurrent =
                    usize::try_from(max).unwrap_or(DEFAULT_MAX_CONCURRENT_JOBS);
            }
        }
        settings
    }

    /// A template string whose placeholders are all known.
    pub(super) fn template(&mut self, value: &Value<'_>, path: &str) -> Option<String> {
        let text = self.string(value, path)?;
        if let Err(message) = check_template(text) {
            self.error(value.span(), path, message);
            return None;
        }
        Some(text.to_string())
    }

    /// `secret_env` or `secret_file`, at most one: `Some(None)` for neither.
    fn secret(&mut self, fields: &DeTable<'_>, path: &str) -> Option<Option<SecretSource>> {
        match (fields.get("secret_env"), fields.get("secret_file")) {
            (None, None) => Some(None),
            (Some(_), Some(file)) => {
                self.error(
                    file.span(),
                    &join(path, "secret_file"),
                    "give secret_env or secret_file, not both".to_string(),
                );
                None
            }
            (Some(value), None) => {
                let key_path = join(path, "secret_env");
                let name = self.string(value, &key_path)?;
                if let Err(message) = check_env_name(name) {
                    self.error(value.span(), &key_path, message);
                    return None;
                }
                Some(Some(SecretSource::Env(name.to_string())))
            }
            (None, Some(value)) => {
                let key_path = join(path, "secret_file");
                let file = self.string(value, &key_path)?;
                if file.is_empty() {
                    self.error(value.span(), &key_path, "must not be empty".to_string());
                    return None;
                }
                Some(Some(SecretSource::File(PathBuf::from(file))))
            }
        }
    }

    /// A table of header names to values (templates when `templated`), in config order.
    fn headers(
        &mut self,
        value: &Value<'_>,
        path: &str,
        templated: bool,
    ) -> Option<Vec<(String, String)>> {
        let table = self.table(value, path)?;
        let mut entries: Vec<_> = table.iter().collect();
        entries.sort_by_key(|(key, _)| key.span().start);
        let mut headers = Vec::with_capacity(entries.len());
        let mut ok = true;
        for (key, value) in entries {
            let name: &str = key.get_ref();
            let header_path = join(path, name);
            let valid_name = !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c));
            if !valid_name {
                let message = format!(
                    "header name {} must be letters, digits and !#$%&'*+-.^_`|~",
                    quoted(name)
                );
                self.error(key.span(), &header_path, message);
                ok = false;
                continue;
            }
            let text = if templated {
                self.template(value, &header_path)
            } else {
                self.string(value, &header_path).map(str::to_string)
            };
            let Some(text) = text else {
                ok = false;
                continue;
            };
            if text.chars().any(|c| c.is_control() && c != '\t') {
                self.error(
                    value.span(),
                    &header_path,
                    "a header value must not contain control characters (such as a line break)"
                        .to_string(),
                );
                ok = false;
                continue;
            }
            headers.push((name.to_string(), text));
        }
        ok.then_some(headers)
    }

    /// A command backend's extra environment: names to templates, in config order.
    fn env(&mut self, value: &Value<'_>, path: &str) -> Option<Vec<(String, String)>> {
        let table = self.table(value, path)?;
        let mut entries: Vec<_> = table.iter().collect();
        entries.sort_by_key(|(key, _)| key.span().start);
        let mut env = Vec::with_capacity(entries.len());
        let mut ok = true;
        for (key, value) in entries {
            let name: &str = key.get_ref();
            let var_path = join(path, name);
            let problem = match check_env_name(name) {
                Err(message) => Some(message),
                Ok(()) if name.starts_with("MODELWATCH_") => Some(format!(
                    "{name}: the MODELWATCH_* variables are the job's fields, set by modelwatch"
                )),
                Ok(()) => None,
            };
            if let Some(message) = problem {
                self.error(key.span(), &var_path, message);
                ok = false;
                continue;
            }
            match self.template(value, &var_path) {
                Some(text) => env.push((name.to_string(), text)),
                None => ok = false,
            }
        }
        ok.then_some(env)
    }
}

/// Checks an environment variable name: `[A-Za-z_][A-Za-z0-9_]*`.
fn check_env_name(name: &str) -> Result<(), String> {
    let valid = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "environment variable name {} must be letters, digits and '_', not starting with a digit",
            quoted(name)
        ))
    }
}

#[cfg(test)]
mod tests;

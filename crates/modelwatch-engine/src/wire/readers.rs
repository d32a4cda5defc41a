//! Readers: one per kind of input (metric events, job-finished notices, retrain requests),
//! each turning a located JSON object into a validated [`Input`] or its problems.

use std::borrow::Cow;

use serde_json::value::RawValue;

use super::WireParser;
use super::fields::{Problems, read_identifier, read_job_id, read_reason, read_timestamp};
use super::rules::{check_sent_metric_name, finish_metrics, metric_entry};
use crate::event::{
    DEFAULT_INSTANCE, Event, Input, JobFinished, JobStatus, ModelId, RetrainRequest, Timestamp,
};
use crate::metric::quoted;

impl WireParser<'_> {
    /// Whether a job notice or retrain request (`field`) may be read here: refused (`None`)
    /// where the parser takes no such inputs; every other field present beside it is a
    /// problem (`alone` says why), and the input is still read for its own problems.
    fn admit_special(
        &self,
        field: &str,
        refusal: &str,
        beside: &[(&str, bool)],
        alone: &str,
        problems: &mut Problems,
    ) -> Option<()> {
        if !self.accept_jobs {
            problems.at(Some(field), refusal.to_string());
            return None;
        }
        for (name, present) in beside {
            if *present {
                problems.at(Some(name), alone.to_string());
            }
        }
        Some(())
    }

    pub(super) fn read_input(&self, raw: &RawValue, problems: &mut Problems) -> Option<Input> {
        let fields = problems.object(raw, None)?;
        let mut model = None;
        let mut timestamp = None;
        let mut metrics = None;
        let mut metric = None;
        let mut value = None;
        let mut job = None;
        let mut retrain = None;
        let mut prediction = None;
        let mut label = None;
        let mut reference = None;
        for (key, raw) in fields {
            let slot = match key.as_ref() {
                "model" => &mut model,
                "timestamp" => &mut timestamp,
                "metrics" => &mut metrics,
                "metric" => &mut metric,
                "value" => &mut value,
                "job_finished" => &mut job,
                "retrain_request" => &mut retrain,
                "prediction" => &mut prediction,
                "label" => &mut label,
                "reference" => &mut reference,
                other => {
                    problems.at(
                        Some(other),
                        "unknown field; an input has model, timestamp, and metrics (or metric and value), prediction or label"
                            .to_string(),
                    );
                    continue;
                }
            };
            if slot.replace(raw).is_some() {
                problems.at(Some(&key), "field appears more than once".to_string());
            }
        }
        let timestamp = timestamp
            .and_then(|raw| read_timestamp(raw, "timestamp", problems))
            .flatten();
        if let (Some(bounds), Some(timestamp)) = (self.time_bounds, timestamp) {
            problems.check("timestamp", bounds.check(timestamp));
        }
        let event_fields = [
            ("model", model.is_some()),
            ("metrics", metrics.is_some()),
            ("metric", metric.is_some()),
            ("value", value.is_some()),
        ];
        if let Some(body) = reference {
            let beside = [
                event_fields.as_slice(),
                &[
                    ("job_finished", job.is_some()),
                    ("retrain_request", retrain.is_some()),
                    ("prediction", prediction.is_some()),
                    ("label", label.is_some()),
                ],
            ]
            .concat();
            self.admit_special(
                "reference",
                "reference inputs are not accepted here; upload a reference with PUT /v1/models/{name}/reference",
                &beside,
                "a reference input carries nothing but reference and timestamp",
                problems,
            )?;
            return super::reference::read_reference(body, timestamp, problems)
                .map(Input::Reference);
        }
        if prediction.is_some() || label.is_some() {
            let traffic = super::traffic::TrafficFields {
                model,
                prediction,
                label,
                others: [
                    ("metrics", metrics.is_some()),
                    ("metric", metric.is_some()),
                    ("value", value.is_some()),
                    ("job_finished", job.is_some()),
                    ("retrain_request", retrain.is_some()),
                ],
            };
            return self.read_traffic(traffic, timestamp, problems);
        }
        if let Some(request) = retrain {
            let beside = [event_fields.as_slice(), &[("job_finished", job.is_some())]].concat();
            self.admit_special(
                "retrain_request",
                "retrain_request inputs are not accepted here; ask for a retrain on POST /v1/models/{name}/retrain",
                &beside,
                "a retrain_request input carries nothing but retrain_request and timestamp",
                problems,
            )?;
            return read_retrain_request(request, timestamp, problems).map(Input::RetrainRequest);
        }
        if let Some(job) = job {
            self.admit_special(
                "job_finished",
                "job_finished inputs are not accepted here; report job results to the jobs API",
                &event_fields,
                "a job_finished input carries no metric fields",
                problems,
            )?;
            return read_job(job, timestamp, problems).map(Input::JobFinished);
        }
        let model = match model {
            Some(raw) => read_model(raw, problems),
            None => {
                problems.at(
                    Some("model"),
                    "missing; every event names its model".to_string(),
                );
                None
            }
        };
        let metrics = match (metrics, metric, value) {
            (Some(raw), None, None) => self.read_metrics(raw, problems),
            (None, Some(name), Some(value)) => self.read_single_metric(name, value, problems),
            (None, None, None) => {
                problems.at(
                    Some("metrics"),
                    "missing; an event needs \"metrics\" (an object) or \"metric\" and \"value\""
                        .to_string(),
                );
                None
            }
            (None, Some(_), None) => {
                problems.at(
                    Some("value"),
                    "missing; \"metric\" needs a \"value\"".to_string(),
                );
                None
            }
            (None, None, Some(_)) => {
                problems.at(
                    Some("metric"),
                    "missing; \"value\" needs a \"metric\" name".to_string(),
                );
                None
            }
            (Some(_), _, _) => {
                problems.at(
                    Some("metric"),
                    "give either \"metrics\" or \"metric\" and \"value\", not both".to_string(),
                );
                None
            }
        };
        Some(Input::Event(Event {
            model: model?,
            timestamp,
            metrics: metrics?,
        }))
    }

    fn read_metrics(&self, raw: &RawValue, problems: &mut Problems) -> Option<Vec<(String, f64)>> {
        let fields = problems.object(raw, Some("metrics"))?;
        if fields.is_empty() {
            problems.at(
                Some("metrics"),
                "is empty; give at least one metric".to_string(),
            );
            return None;
        }
        if fields.len() > self.limits.max_metrics {
            problems.at(
                Some("metrics"),
                format!(
                    "has {} metrics; the limit is {}",
                    fields.len(),
                    self.limits.max_metrics
                ),
            );
            return None;
        }
        let mut metrics = Vec::with_capacity(fields.len() + 1);
        let mut ok = true;
        for (name, raw) in fields {
            match self.read_metric_value(&name, raw, &format!("metrics.{name}"), problems) {
                Some(entry) => metrics.push(entry),
                None => ok = false,
            }
        }
        if !ok {
            return None;
        }
        finish_metrics(metrics, problems)
    }

    fn read_single_metric(
        &self,
        name: &RawValue,
        value: &RawValue,
        problems: &mut Problems,
    ) -> Option<Vec<(String, f64)>> {
        let name = problems.string(name, "metric")?;
        let entry = self.read_metric_value(&name, value, "value", problems)?;
        finish_metrics(vec![entry], problems)
    }

    fn read_metric_value(
        &self,
        name: &str,
        raw: &RawValue,
        field: &str,
        problems: &mut Problems,
    ) -> Option<(String, f64)> {
        if !problems.check(field, check_sent_metric_name(name)) {
            return None;
        }
        let value = problems.number(raw, field)?;
        metric_entry(self.catalog, name, value, field, problems)
    }
}

pub(super) fn read_model(raw: &RawValue, problems: &mut Problems) -> Option<ModelId> {
    let fields = problems.object(raw, Some("model"))?;
    let (mut name, mut version, mut instance) = (None, None, None);
    let mut ok = true;
    let (mut has_name, mut has_version) = (false, false);
    for (key, raw) in fields {
        has_name |= key == "name";
        has_version |= key == "version";
        let (slot, field) = match key.as_ref() {
            "name" => (&mut name, "model.name"),
            "version" => (&mut version, "model.version"),
            "instance" => (&mut instance, "model.instance"),
            other => {
                problems.at(
                    Some(&format!("model.{other}")),
                    "unknown field; a model has name, version and instance".to_string(),
                );
                ok = false;
                continue;
            }
        };
        let text = read_identifier(raw, field, problems);
        ok &= problems.fill(slot, text, field);
    }
    if !has_name {
        problems.at(
            Some("model.name"),
            "missing; the model needs a name".to_string(),
        );
        ok = false;
    }
    if !has_version {
        problems.at(
            Some("model.version"),
            "missing; the model needs a version".to_string(),
        );
        ok = false;
    }
    if !ok {
        return None;
    }
    Some(ModelId {
        name: name?,
        version: version?,
        instance: instance.unwrap_or_else(|| DEFAULT_INSTANCE.to_string()),
    })
}

fn read_job(
    raw: &RawValue,
    timestamp: Option<Timestamp>,
    problems: &mut Problems,
) -> Option<JobFinished> {
    let fields = problems.object(raw, Some("job_finished"))?;
    let (mut model, mut job_id, mut status, mut version) = (None, None, None, None);
    let mut ok = true;
    // A field given but unreadable is reported as such, not as missing as well.
    let (mut model_given, mut status_given) = (false, false);
    for (key, raw) in fields {
        let field = format!("job_finished.{key}");
        model_given |= key == "model";
        status_given |= key == "status";
        let slot = match key.as_ref() {
            "model" => &mut model,
            "job_id" => &mut job_id,
            "status" => &mut status,
            "version" => &mut version,
            _ => {
                problems.at(
                    Some(&field),
                    "unknown field; job_finished has model, job_id, status and version".to_string(),
                );
                ok = false;
                continue;
            }
        };
        let text = match key.as_ref() {
            "job_id" => read_job_id(raw, &field, problems),
            "status" => problems.string(raw, &field).map(Cow::into_owned),
            _ => read_identifier(raw, &field, problems),
        };
        ok &= problems.fill(slot, text, &field);
    }
    if !model_given {
        problems.at(
            Some("job_finished.model"),
            "missing; name the model whose job ended".to_string(),
        );
        ok = false;
    }
    let status = match status.as_deref() {
        None if status_given => None,
        None => {
            problems.at(
                Some("job_finished.status"),
                "missing; one of succeeded, failed, timed_out, cancelled".to_string(),
            );
            None
        }
        Some(text) => {
            let status = JobStatus::from_name(text);
            if status.is_none() {
                problems.at(
                    Some("job_finished.status"),
                    format!(
                        "{} is not one of succeeded, failed, timed_out, cancelled",
                        quoted(text)
                    ),
                );
            }
            status
        }
    };
    if !ok {
        return None;
    }
    Some(JobFinished {
        model: model?,
        job_id,
        status: status?,
        version,
        timestamp,
    })
}

fn read_retrain_request(
    raw: &RawValue,
    timestamp: Option<Timestamp>,
    problems: &mut Problems,
) -> Option<RetrainRequest> {
    let fields = problems.object(raw, Some("retrain_request"))?;
    let (mut model, mut reason) = (None, None);
    let (mut ok, mut model_given) = (true, false);
    for (key, raw) in fields {
        let field = format!("retrain_request.{key}");
        model_given |= key == "model";
        let (slot, text) = match key.as_ref() {
            "model" => (&mut model, read_identifier(raw, &field, problems)),
            "reason" => (&mut reason, read_reason(raw, &field, problems)),
            _ => {
                problems.at(
                    Some(&field),
                    "unknown field; retrain_request has model and reason".to_string(),
                );
                ok = false;
                continue;
            }
        };
        ok &= problems.fill(slot, text, &field);
    }
    if !model_given {
        problems.at(
            Some("retrain_request.model"),
            "missing; name the model to retrain".to_string(),
        );
        ok = false;
    }
    if !ok {
        return None;
    }
    Some(RetrainRequest {
        model: model?,
        reason,
        timestamp,
    })
}

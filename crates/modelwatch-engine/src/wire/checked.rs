//! Checked constructors: inputs built in code, held to exactly the rules the readers apply
//! (`rules.rs`), so that every input stored reads back as itself.
//!
//! The store keeps an input in its wire form and reads it back with the reader
//! ([`WireParser::accepting_jobs`]); an input the reader refuses makes the store unreadable.
//! So every code path that builds an input uses these: [`Event::new`], [`JobFinished::new`],
//! [`RetrainRequest::new`], or [`Input::check`] on an input built otherwise. Their errors are
//! the ones the reader gives for the input's one-line wire form: input 0, line 1, the field
//! named as in that form (`retrain_request.reason`, `job_finished.version`, `model.name`).
//!
//! [`WireParser::accepting_jobs`]: super::WireParser::accepting_jobs

use std::sync::Arc;

use super::InputError;
use super::fields::Problems;
use super::rules::{
    check_identifier, check_job_id, check_reason, check_sent_metric_name, finish_metrics,
    metric_entry,
};
use super::traffic::{
    check_feature_name, check_feature_text, check_probability, finish_features, finish_scores,
};
use crate::event::{Event, Input, JobFinished, JobStatus, ModelId, RetrainRequest, Timestamp};
use crate::metric::{MACRO_SCORE, MetricCatalog};
use crate::reference::{ReferenceTable, ReferenceUpload};
use crate::traffic::{Feature, Label, Outcome, Prediction, check_class, check_prediction_id};

impl Event {
    /// An event as the reader builds one: `metrics` in any order, aliases (`f1_score`) under
    /// their canonical names, sorted, with the derived `macro_score` when the four parts are
    /// there. Values are checked against `catalog`.
    ///
    /// Every code path that builds an event uses this (or [`Input::check`]).
    ///
    /// # Errors
    ///
    /// Every rule the reader would find broken, each naming its field (`model.name`,
    /// `metrics.accuracy`, `timestamp`).
    pub fn new(
        model: ModelId,
        timestamp: Option<Timestamp>,
        metrics: Vec<(String, f64)>,
        catalog: &MetricCatalog,
    ) -> Result<Event, Vec<InputError>> {
        let mut problems = Problems::of_built_input();
        check_timestamp(timestamp, &mut problems);
        problems.check("model.name", check_identifier(&model.name));
        problems.check("model.version", check_identifier(&model.version));
        problems.check("model.instance", check_identifier(&model.instance));
        if metrics.is_empty() {
            problems.at(
                Some("metrics"),
                "is empty; give at least one metric".to_string(),
            );
        }
        let mut entries = Vec::with_capacity(metrics.len() + 1);
        for (name, value) in &metrics {
            let field = format!("metrics.{name}");
            if problems.check(&field, check_sent_metric_name(name))
                && let Some(entry) = metric_entry(catalog, name, *value, &field, &mut problems)
            {
                entries.push(entry);
            }
        }
        // As the reader: the set of metrics is checked once each of them is valid.
        let metrics = if !entries.is_empty() && entries.len() == metrics.len() {
            finish_metrics(entries, &mut problems)
        } else {
            None
        };
        match metrics {
            Some(metrics) if problems.is_empty() => Ok(Event {
                model,
                timestamp,
                metrics,
            }),
            _ => Err(problems.into_errors()),
        }
    }
}

impl JobFinished {
    /// A job-finished notice, checked as the reader checks one: `model` and `version` are
    /// identifiers ([`check_identifier`](super::check_identifier)), `job_id` is 1 to
    /// [`MAX_ID_LEN`](super::MAX_ID_LEN) bytes, the timestamp is in the supported range.
    ///
    /// Every code path that builds a notice uses this (or [`Input::check`]); the jobs API's
    /// `POST /v1/jobs/{id}/complete` and the job runner included.
    ///
    /// # Errors
    ///
    /// Every rule broken, each naming its field (`job_finished.version`, ...).
    pub fn new(
        model: impl Into<String>,
        job_id: Option<String>,
        status: JobStatus,
        version: Option<String>,
        timestamp: Option<Timestamp>,
    ) -> Result<JobFinished, Vec<InputError>> {
        let job = JobFinished {
            model: model.into(),
            job_id,
            status,
            version,
            timestamp,
        };
        let mut problems = Problems::of_built_input();
        check_job(&job, &mut problems);
        finish(problems).map(|()| job)
    }
}

impl RetrainRequest {
    /// A retrain request, checked as the reader checks one: `model` is an identifier
    /// ([`check_identifier`](super::check_identifier)), `reason` 1 to
    /// [`MAX_REASON_LEN`](super::MAX_REASON_LEN) bytes without control characters but tabs
    /// ([`check_reason`](super::check_reason)), the timestamp in the supported range.
    ///
    /// Every code path that builds a request uses this (or [`Input::check`]);
    /// `POST /v1/models/{name}/retrain` included.
    ///
    /// # Errors
    ///
    /// Every rule broken, each naming its field (`retrain_request.model`,
    /// `retrain_request.reason`).
    pub fn new(
        model: impl Into<String>,
        reason: Option<String>,
        timestamp: Option<Timestamp>,
    ) -> Result<RetrainRequest, Vec<InputError>> {
        let request = RetrainRequest {
            model: model.into(),
            reason,
            timestamp,
        };
        let mut problems = Problems::of_built_input();
        check_retrain_request(&request, &mut problems);
        finish(problems).map(|()| request)
    }
}

impl ReferenceUpload {
    /// A reference upload, checked as the reader checks one: `model` is an identifier, the
    /// timestamp in the supported range (the table is checked by [`ReferenceTable::new`]).
    ///
    /// `PUT /v1/models/{name}/reference` builds its input with this.
    ///
    /// # Errors
    ///
    /// Every rule broken, each naming its field (`reference.model`, `timestamp`).
    pub fn new(
        model: impl Into<String>,
        table: Arc<ReferenceTable>,
        timestamp: Option<Timestamp>,
    ) -> Result<ReferenceUpload, Vec<InputError>> {
        let upload = ReferenceUpload {
            model: model.into(),
            table,
            timestamp,
        };
        let mut problems = Problems::of_built_input();
        check_timestamp(upload.timestamp, &mut problems);
        problems.check("reference.model", check_identifier(&upload.model));
        finish(problems).map(|()| upload)
    }
}

impl Prediction {
    /// A prediction as the reader builds one: scores and features in any order (sorted here),
    /// every value checked by the reader's rules (without a config: the rules of the model's
    /// task are checked at ingest, `WireParser::with_models`).
    ///
    /// # Errors
    ///
    /// Every rule broken, each naming its field (`prediction.id`, `prediction.scores`, ...).
    pub fn new(
        model: ModelId,
        timestamp: Option<Timestamp>,
        id: String,
        output: Outcome,
        score: Option<f64>,
        scores: Option<Vec<(String, f64)>>,
        features: Option<Vec<(String, Feature)>>,
    ) -> Result<Prediction, Vec<InputError>> {
        let mut problems = Problems::of_built_input();
        check_timestamp(timestamp, &mut problems);
        problems.check("model.name", check_identifier(&model.name));
        problems.check("model.version", check_identifier(&model.version));
        problems.check("model.instance", check_identifier(&model.instance));
        problems.check("prediction.id", check_prediction_id(&id));
        check_outcome(&output, "prediction.output", &mut problems);
        if let Some(score) = score {
            problems.check("prediction.score", check_probability(score));
        }
        if score.is_some() && scores.is_some() {
            problems.at(
                Some("prediction.scores"),
                "give either score or scores, not both".to_string(),
            );
        }
        let scores = match scores {
            None => None,
            Some(scores) => {
                let mut ok = true;
                for (class, value) in &scores {
                    let field = format!("prediction.scores.{class}");
                    ok &= problems.check(&field, check_class(class))
                        && problems.check(&field, check_probability(*value));
                }
                if ok {
                    finish_scores(scores, &mut problems)
                } else {
                    None
                }
            }
        };
        let features = match features {
            None => None,
            Some(features) => {
                let mut ok = true;
                for (name, value) in &features {
                    let field = format!("prediction.features.{name}");
                    ok &= problems.check(&field, check_feature_name(name));
                    match value {
                        Feature::Number(number) if !number.is_finite() => {
                            problems.at(Some(&field), "must be a finite number".to_string());
                            ok = false;
                        }
                        Feature::Text(text) => {
                            ok &= problems.check(&field, check_feature_text(text))
                        }
                        _ => {}
                    }
                }
                if ok {
                    finish_features(features, &mut problems)
                } else {
                    None
                }
            }
        };
        if !problems.is_empty() {
            return Err(problems.into_errors());
        }
        Ok(Prediction {
            model,
            timestamp,
            id,
            output,
            score,
            scores,
            features,
        })
    }
}

impl Label {
    /// A label, checked as the reader checks one.
    ///
    /// # Errors
    ///
    /// Every rule broken, each naming its field (`model.name`, `label.id`, `label.value`).
    pub fn new(
        model: impl Into<String>,
        timestamp: Option<Timestamp>,
        id: String,
        value: Outcome,
    ) -> Result<Label, Vec<InputError>> {
        let label = Label {
            model: model.into(),
            timestamp,
            id,
            value,
        };
        let mut problems = Problems::of_built_input();
        check_timestamp(label.timestamp, &mut problems);
        problems.check("model.name", check_identifier(&label.model));
        problems.check("label.id", check_prediction_id(&label.id));
        check_outcome(&label.value, "label.value", &mut problems);
        finish(problems).map(|()| label)
    }
}

/// An outcome the reader would give back: a class of 1 to 256 bytes, or a finite number.
fn check_outcome(outcome: &Outcome, field: &str, problems: &mut Problems) {
    match outcome {
        Outcome::Text(text) => {
            problems.check(field, check_class(text));
        }
        Outcome::Number(number) if !number.is_finite() => {
            problems.at(Some(field), "must be a finite number".to_string());
        }
        _ => {}
    }
}

impl Input {
    /// Checks an input built in code by the rules the reader applies: exactly the inputs that
    /// pass are those whose wire form reads back as the same input. An event must also be in
    /// the form [`Event::new`] gives (canonical names, sorted, `macro_score` derived); metric
    /// values are checked against `catalog`.
    ///
    /// # Errors
    ///
    /// Every rule broken, each naming its field as in the input's wire form.
    pub fn check(&self, catalog: &MetricCatalog) -> Result<(), Vec<InputError>> {
        let mut problems = Problems::of_built_input();
        match self {
            Input::Event(event) => {
                let sent = event
                    .metrics
                    .iter()
                    .filter(|(name, _)| name != MACRO_SCORE)
                    .cloned()
                    .collect();
                let rebuilt = Event::new(event.model.clone(), event.timestamp, sent, catalog)?;
                if rebuilt != *event {
                    problems.at(
                        Some("metrics"),
                        "not in the form the reader gives: canonical names (f1, not f1_score), \
                         sorted by name, each once, with macro_score derived; build events \
                         with Event::new"
                            .to_string(),
                    );
                }
            }
            Input::JobFinished(job) => check_job(job, &mut problems),
            Input::RetrainRequest(request) => check_retrain_request(request, &mut problems),
            Input::Prediction(prediction) => {
                let rebuilt = Prediction::new(
                    prediction.model.clone(),
                    prediction.timestamp,
                    prediction.id.clone(),
                    prediction.output.clone(),
                    prediction.score,
                    prediction.scores.clone(),
                    prediction.features.clone(),
                )?;
                if rebuilt != *prediction {
                    problems.at(
                        Some("prediction"),
                        "not in the form the reader gives: scores and features sorted by name; build predictions with Prediction::new"
                            .to_string(),
                    );
                }
            }
            Input::Reference(upload) => {
                check_timestamp(upload.timestamp, &mut problems);
                problems.check("reference.model", check_identifier(&upload.model));
                let columns = upload
                    .table
                    .columns()
                    .map(|(name, cells)| (name.to_string(), cells.to_vec()))
                    .collect();
                match ReferenceTable::new(columns) {
                    Ok(rebuilt) if rebuilt == *upload.table => {}
                    _ => problems.at(
                        Some("reference.columns"),
                        "not in the form the reader gives; build tables with ReferenceTable::new"
                            .to_string(),
                    ),
                }
            }
            Input::Label(label) => {
                Label::new(
                    label.model.clone(),
                    label.timestamp,
                    label.id.clone(),
                    label.value.clone(),
                )?;
            }
        }
        finish(problems)
    }
}

/// The rules of a notice, in the order the reader finds them in its wire form.
fn check_job(job: &JobFinished, problems: &mut Problems) {
    check_timestamp(job.timestamp, problems);
    problems.check("job_finished.model", check_identifier(&job.model));
    if let Some(job_id) = &job.job_id {
        problems.check("job_finished.job_id", check_job_id(job_id));
    }
    if let Some(version) = &job.version {
        problems.check("job_finished.version", check_identifier(version));
    }
}

/// The rules of a request, in the order the reader finds them in its wire form.
fn check_retrain_request(request: &RetrainRequest, problems: &mut Problems) {
    check_timestamp(request.timestamp, problems);
    problems.check("retrain_request.model", check_identifier(&request.model));
    if let Some(reason) = &request.reason {
        problems.check("retrain_request.reason", check_reason(reason));
    }
}

fn check_timestamp(timestamp: Option<Timestamp>, problems: &mut Problems) {
    if let Some(timestamp) = timestamp {
        problems.check("timestamp", timestamp.check_supported());
    }
}

fn finish(problems: Problems) -> Result<(), Vec<InputError>> {
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.into_errors())
    }
}

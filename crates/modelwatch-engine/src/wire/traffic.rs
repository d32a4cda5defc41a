//! Readers of the traffic inputs, predictions and labels, and their rules: the ones that hold
//! whatever the config (ids, scores in [0, 1] summing to 1, scalar features) and, when the
//! parser has the `[[models]]` section, the ones of the model's task.

use std::borrow::Cow;

use serde_json::value::RawValue;

use super::WireParser;
use super::fields::Problems;
use super::readers::read_model;
use crate::config::{ModelsConfig, Task};
use crate::event::{Input, Timestamp};
use crate::metric::quoted;
use crate::traffic::{
    Feature, Label, MAX_FEATURE_NAME_LEN, MAX_FEATURE_TEXT_LEN, MAX_FEATURES, MAX_SCORES, Outcome,
    Prediction, SCORES_SUM_TOLERANCE, check_class, check_prediction_id,
};

/// The top-level fields of an input that has `prediction` or `label`.
pub(super) struct TrafficFields<'r> {
    pub(super) model: Option<&'r RawValue>,
    pub(super) prediction: Option<&'r RawValue>,
    pub(super) label: Option<&'r RawValue>,
    /// The other kinds' fields, and whether each is present: none may be.
    pub(super) others: [(&'static str, bool); 5],
}

impl WireParser<'_> {
    pub(super) fn read_traffic(
        &self,
        fields: TrafficFields<'_>,
        timestamp: Option<Timestamp>,
        problems: &mut Problems,
    ) -> Option<Input> {
        let kind = if fields.prediction.is_some() {
            "prediction"
        } else {
            "label"
        };
        for (name, present) in fields.others {
            if present {
                problems.at(
                    Some(name),
                    format!("a {kind} input carries nothing but model, timestamp and {kind}"),
                );
            }
        }
        let Some(model) = fields.model else {
            problems.at(
                Some("model"),
                format!("missing; every {kind} names its model"),
            );
            return None;
        };
        match (fields.prediction, fields.label) {
            (Some(_), Some(_)) => {
                problems.at(
                    Some("label"),
                    "give either prediction or label, not both: a label is its own input"
                        .to_string(),
                );
                None
            }
            (Some(body), None) => {
                // Both read, so that every problem of the input is listed.
                let model = read_model(model, problems);
                let prediction = read_prediction(model, timestamp, body, problems)?;
                if let Some(models) = self.models {
                    check_prediction_task(models, &prediction, problems);
                }
                problems.is_empty().then_some(Input::Prediction(prediction))
            }
            (None, Some(body)) => {
                let name = read_label_model(model, problems);
                let label = read_label(name, timestamp, body, problems)?;
                if let Some(models) = self.models {
                    check_label_task(models, &label, problems);
                }
                problems.is_empty().then_some(Input::Label(label))
            }
            (None, None) => None,
        }
    }
}

/// A label's `model`: `{"name": ...}` only.
fn read_label_model(raw: &RawValue, problems: &mut Problems) -> Option<String> {
    let fields = problems.object(raw, Some("model"))?;
    let mut name = None;
    let mut ok = true;
    for (key, raw) in fields {
        match key.as_ref() {
            "name" => {
                let text = super::fields::read_identifier(raw, "model.name", problems);
                ok &= problems.fill(&mut name, text, "model.name");
            }
            "version" | "instance" => {
                problems.at(
                    Some(&format!("model.{key}")),
                    "a label names only its model: the prediction's version and instance apply"
                        .to_string(),
                );
                ok = false;
            }
            other => {
                problems.at(
                    Some(&format!("model.{other}")),
                    "unknown field; a label's model has only a name".to_string(),
                );
                ok = false;
            }
        }
    }
    if name.is_none() && ok {
        problems.at(
            Some("model.name"),
            "missing; the model needs a name".to_string(),
        );
    }
    if ok { name } else { None }
}

fn read_prediction(
    model: Option<crate::event::ModelId>,
    timestamp: Option<Timestamp>,
    raw: &RawValue,
    problems: &mut Problems,
) -> Option<Prediction> {
    let fields = problems.object(raw, Some("prediction"))?;
    let (mut id, mut output, mut score, mut scores, mut features) = (None, None, None, None, None);
    let mut ok = true;
    for (key, raw) in fields {
        let slot = match key.as_ref() {
            "id" => &mut id,
            "output" => &mut output,
            "score" => &mut score,
            "scores" => &mut scores,
            "features" => &mut features,
            other => {
                problems.at(
                    Some(&format!("prediction.{other}")),
                    "unknown field; a prediction has id, output, score or scores, and features"
                        .to_string(),
                );
                ok = false;
                continue;
            }
        };
        if slot.replace(raw).is_some() {
            problems.at(
                Some(&format!("prediction.{key}")),
                "field appears more than once".to_string(),
            );
            ok = false;
        }
    }
    let id = match id {
        Some(raw) => read_id(raw, "prediction.id", problems),
        None => {
            problems.at(
                Some("prediction.id"),
                "missing; a prediction has an id, which its label names".to_string(),
            );
            None
        }
    };
    let output = match output {
        Some(raw) => read_outcome(raw, "prediction.output", problems),
        None => {
            problems.at(
                Some("prediction.output"),
                "missing; the predicted class or value".to_string(),
            );
            None
        }
    };
    if score.is_some() && scores.is_some() {
        problems.at(
            Some("prediction.scores"),
            "give either score (the positive class's probability) or scores (one per class), not both"
                .to_string(),
        );
        ok = false;
    }
    let score = match score {
        Some(raw) => read_probability(raw, "prediction.score", problems).map(Some),
        None => Some(None),
    };
    let scores = match scores {
        Some(raw) => read_scores(raw, problems).map(Some),
        None => Some(None),
    };
    let features = match features {
        Some(raw) => read_features(raw, problems).map(Some),
        None => Some(None),
    };
    if !ok {
        return None;
    }
    Some(Prediction {
        model: model?,
        timestamp,
        id: id?,
        output: output?,
        score: score?,
        scores: scores?,
        features: features?,
    })
}

fn read_label(
    model: Option<String>,
    timestamp: Option<Timestamp>,
    raw: &RawValue,
    problems: &mut Problems,
) -> Option<Label> {
    let fields = problems.object(raw, Some("label"))?;
    let (mut id, mut value) = (None, None);
    let mut ok = true;
    for (key, raw) in fields {
        let slot = match key.as_ref() {
            "id" => &mut id,
            "value" => &mut value,
            other => {
                problems.at(
                    Some(&format!("label.{other}")),
                    "unknown field; a label has id and value".to_string(),
                );
                ok = false;
                continue;
            }
        };
        if slot.replace(raw).is_some() {
            problems.at(
                Some(&format!("label.{key}")),
                "field appears more than once".to_string(),
            );
            ok = false;
        }
    }
    let id = match id {
        Some(raw) => read_id(raw, "label.id", problems),
        None => {
            problems.at(
                Some("label.id"),
                "missing; the id of the prediction this label is for".to_string(),
            );
            None
        }
    };
    let value = match value {
        Some(raw) => read_outcome(raw, "label.value", problems),
        None => {
            problems.at(
                Some("label.value"),
                "missing; the true class or value".to_string(),
            );
            None
        }
    };
    if !ok {
        return None;
    }
    Some(Label {
        model: model?,
        timestamp,
        id: id?,
        value: value?,
    })
}

fn read_id(raw: &RawValue, field: &str, problems: &mut Problems) -> Option<String> {
    let text = problems.string(raw, field)?;
    problems
        .check(field, check_prediction_id(&text))
        .then(|| text.into_owned())
}

/// An output or label value: a string, a boolean or a number (an integer when JSON writes it
/// without fraction or exponent).
fn read_outcome(raw: &RawValue, field: &str, problems: &mut Problems) -> Option<Outcome> {
    let text = raw.get();
    match text.as_bytes().first() {
        Some(b'"') => {
            let class = problems.string(raw, field)?;
            problems
                .check(field, check_class(&class))
                .then(|| Outcome::Text(class.into_owned()))
        }
        Some(b't') if text == "true" => Some(Outcome::Bool(true)),
        Some(b'f') if text == "false" => Some(Outcome::Bool(false)),
        Some(b'-' | b'0'..=b'9') => {
            if !text.contains(['.', 'e', 'E'])
                && let Ok(integer) = text.parse::<i64>()
            {
                return Some(Outcome::Integer(integer));
            }
            problems.number(raw, field).map(Outcome::Number)
        }
        _ => {
            problems.at(
                Some(field),
                "must be a class (a string, an integer or a boolean) or a number".to_string(),
            );
            None
        }
    }
}

fn read_probability(raw: &RawValue, field: &str, problems: &mut Problems) -> Option<f64> {
    let value = problems.number(raw, field)?;
    problems
        .check(field, check_probability(value))
        .then_some(value)
}

/// A probability: in [0, 1].
pub(super) fn check_probability(value: f64) -> Result<(), String> {
    if (0.0..=1.0).contains(&value) {
        Ok(())
    } else {
        Err(format!(
            "{value} is not a probability; it must be in [0, 1]"
        ))
    }
}

fn read_scores(raw: &RawValue, problems: &mut Problems) -> Option<Vec<(String, f64)>> {
    let fields = problems.object(raw, Some("prediction.scores"))?;
    let mut scores = Vec::with_capacity(fields.len());
    let mut ok = true;
    for (class, raw) in fields {
        let field = format!("prediction.scores.{class}");
        if !problems.check(&field, check_class(&class)) {
            ok = false;
            continue;
        }
        match read_probability(raw, &field, problems) {
            Some(value) => scores.push((class.into_owned(), value)),
            None => ok = false,
        }
    }
    if !ok {
        return None;
    }
    finish_scores(scores, problems)
}

/// Sorts scores by class and checks the set: 1 to [`MAX_SCORES`] classes, each once, summing
/// to 1 within [`SCORES_SUM_TOLERANCE`].
pub(super) fn finish_scores(
    mut scores: Vec<(String, f64)>,
    problems: &mut Problems,
) -> Option<Vec<(String, f64)>> {
    let field = "prediction.scores";
    if scores.is_empty() || scores.len() > MAX_SCORES {
        problems.at(
            Some(field),
            format!("must give 1 to {MAX_SCORES} classes, got {}", scores.len()),
        );
        return None;
    }
    scores.sort_by(|a, b| a.0.cmp(&b.0));
    if let Some(pair) = scores.windows(2).find(|pair| pair[0].0 == pair[1].0) {
        problems.at(
            Some(&format!("{field}.{}", pair[0].0)),
            "field appears more than once".to_string(),
        );
        return None;
    }
    let sum: f64 = scores.iter().map(|(_, value)| value).sum();
    if (sum - 1.0).abs() > SCORES_SUM_TOLERANCE {
        problems.at(
            Some(field),
            format!("the scores sum to {sum}; they must sum to 1 within {SCORES_SUM_TOLERANCE}"),
        );
        return None;
    }
    Some(scores)
}

fn read_features(raw: &RawValue, problems: &mut Problems) -> Option<Vec<(String, Feature)>> {
    let fields = problems.object(raw, Some("prediction.features"))?;
    let mut features = Vec::with_capacity(fields.len());
    let mut ok = true;
    for (name, raw) in fields {
        let field = format!("prediction.features.{name}");
        if !problems.check(&field, check_feature_name(&name)) {
            ok = false;
            continue;
        }
        match read_feature(raw, &field, problems) {
            Some(value) => features.push((name.into_owned(), value)),
            None => ok = false,
        }
    }
    if !ok {
        return None;
    }
    finish_features(features, problems)
}

fn read_feature(raw: &RawValue, field: &str, problems: &mut Problems) -> Option<Feature> {
    let text = raw.get();
    match text.as_bytes().first() {
        Some(b'n') if text == "null" => Some(Feature::Null),
        Some(b't') if text == "true" => Some(Feature::Bool(true)),
        Some(b'f') if text == "false" => Some(Feature::Bool(false)),
        Some(b'"') => {
            let value: Cow<'_, str> = problems.string(raw, field)?;
            problems
                .check(field, check_feature_text(&value))
                .then(|| Feature::Text(value.into_owned()))
        }
        Some(b'-' | b'0'..=b'9') => problems.number(raw, field).map(Feature::Number),
        _ => {
            problems.at(
                Some(field),
                "a feature is a number, a string, a boolean or null".to_string(),
            );
            None
        }
    }
}

/// Checks a feature's name: 1 to [`MAX_FEATURE_NAME_LEN`] bytes, no control characters.
pub(crate) fn check_feature_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > MAX_FEATURE_NAME_LEN {
        return Err(format!(
            "a feature name must be 1 to {MAX_FEATURE_NAME_LEN} bytes long"
        ));
    }
    if name.chars().any(char::is_control) {
        return Err("a feature name must not contain control characters".to_string());
    }
    Ok(())
}

/// Checks a feature's text value: at most [`MAX_FEATURE_TEXT_LEN`] bytes.
pub(crate) fn check_feature_text(text: &str) -> Result<(), String> {
    if text.len() > MAX_FEATURE_TEXT_LEN {
        return Err(format!(
            "is {} bytes long; a feature's text is at most {MAX_FEATURE_TEXT_LEN} bytes",
            text.len()
        ));
    }
    Ok(())
}

/// Sorts features by name and checks the set: at most [`MAX_FEATURES`], each once.
pub(super) fn finish_features(
    mut features: Vec<(String, Feature)>,
    problems: &mut Problems,
) -> Option<Vec<(String, Feature)>> {
    if features.len() > MAX_FEATURES {
        problems.at(
            Some("prediction.features"),
            format!(
                "has {} features; the limit is {MAX_FEATURES}",
                features.len()
            ),
        );
        return None;
    }
    features.sort_by(|a, b| a.0.cmp(&b.0));
    if let Some(pair) = features.windows(2).find(|pair| pair[0].0 == pair[1].0) {
        problems.at(
            Some(&format!("prediction.features.{}", pair[0].0)),
            "field appears more than once".to_string(),
        );
        return None;
    }
    Some(features)
}

/// The rules of the model's task for a prediction.
fn check_prediction_task(models: &ModelsConfig, prediction: &Prediction, problems: &mut Problems) {
    let Some((_, settings)) = models.settings_for(&prediction.model.name) else {
        problems.at(Some("model.name"), no_models_entry(&prediction.model.name));
        return;
    };
    let task = settings.task;
    match task {
        Task::Binary | Task::Multiclass => {
            if prediction.output.class().is_none() {
                problems.at(
                    Some("prediction.output"),
                    format!(
                        "a {} model predicts a class (a string, an integer or a boolean), not a number with a fraction",
                        task.as_str()
                    ),
                );
            }
        }
        Task::Regression => {
            if prediction.output.number().is_none() {
                problems.at(
                    Some("prediction.output"),
                    "a regression model predicts a number".to_string(),
                );
            }
            for (field, present) in [
                ("prediction.score", prediction.score.is_some()),
                ("prediction.scores", prediction.scores.is_some()),
            ] {
                if present {
                    problems.at(
                        Some(field),
                        "a regression model's predictions have no scores".to_string(),
                    );
                }
            }
        }
    }
    if task == Task::Multiclass && prediction.score.is_some() {
        problems.at(
            Some("prediction.score"),
            "a multiclass model gives scores, one per class, not one score".to_string(),
        );
    }
    if task == Task::Binary
        && let (Some(_), Some(positive)) = (&prediction.scores, &settings.positive)
        && prediction.score_of(positive).is_none()
    {
        problems.at(
            Some("prediction.scores"),
            format!(
                "gives no score for the positive class {}; a binary model's scores name it",
                quoted(positive)
            ),
        );
    }
}

/// The rules of the model's task for a label.
fn check_label_task(models: &ModelsConfig, label: &Label, problems: &mut Problems) {
    let Some((_, settings)) = models.settings_for(&label.model) else {
        problems.at(Some("model.name"), no_models_entry(&label.model));
        return;
    };
    match settings.task {
        Task::Regression if label.value.number().is_none() => problems.at(
            Some("label.value"),
            "a regression model's label is a number".to_string(),
        ),
        Task::Binary | Task::Multiclass if label.value.class().is_none() => problems.at(
            Some("label.value"),
            format!(
                "a {} model's label is a class (a string, an integer or a boolean), not a number with a fraction",
                settings.task.as_str()
            ),
        ),
        _ => {}
    }
}

fn no_models_entry(name: &str) -> String {
    format!(
        "no [[models]] entry of the config matches {}: predictions and labels need one, with the model's task",
        quoted(name)
    )
}

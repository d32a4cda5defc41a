//! The engine's traffic inputs: a model's predictions (with their scores and features) and the
//! labels that arrive later and join them by id.
//!
//! Validated values, like [`crate::Event`]: the wire parser is the way in from text, and code
//! that builds one uses [`Prediction::new`] or [`Label::new`] (`wire/checked.rs`), which apply
//! the reader's rules.

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use crate::event::{ModelId, Timestamp};

/// The longest prediction id, in bytes.
pub const MAX_PREDICTION_ID_LEN: usize = 256;

/// The longest class name (a key of `scores`, a class output or label), in bytes.
pub const MAX_CLASS_LEN: usize = 256;

/// The most classes one prediction's `scores` may give.
pub const MAX_SCORES: usize = 1_000;

/// The most features one prediction may carry.
pub const MAX_FEATURES: usize = 1_000;

/// The longest feature name, in bytes.
pub const MAX_FEATURE_NAME_LEN: usize = 256;

/// The longest text value of a feature, in bytes.
pub const MAX_FEATURE_TEXT_LEN: usize = 4_096;

/// How far from 1 a prediction's `scores` may sum.
pub const SCORES_SUM_TOLERANCE: f64 = 1e-6;

/// What a model predicted, or what a label says: a class (a string, an integer or a boolean)
/// or, for regression, a number.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// A class written as a string: `"fraud"`.
    Text(String),
    /// A whole number as JSON writes one (no fraction, no exponent): a class such as `1`, or a
    /// regression value.
    Integer(i64),
    /// A class written as a boolean.
    Bool(bool),
    /// Any other number: a regression value.
    Number(f64),
}

impl Outcome {
    /// The class this outcome names, as the config and `scores` keys write it: the string
    /// itself, an integer's digits, `true` or `false`. `None` for a number with a fraction or
    /// an exponent, which names no class.
    pub fn class(&self) -> Option<std::borrow::Cow<'_, str>> {
        match self {
            Outcome::Text(text) => Some(std::borrow::Cow::Borrowed(text)),
            Outcome::Integer(number) => Some(std::borrow::Cow::Owned(number.to_string())),
            Outcome::Bool(flag) => Some(std::borrow::Cow::Borrowed(if *flag {
                "true"
            } else {
                "false"
            })),
            Outcome::Number(_) => None,
        }
    }

    /// The number this outcome is, for regression: an integer or a number.
    pub fn number(&self) -> Option<f64> {
        match self {
            Outcome::Integer(number) => Some(*number as f64),
            Outcome::Number(number) => Some(*number),
            Outcome::Text(_) | Outcome::Bool(_) => None,
        }
    }
}

impl Serialize for Outcome {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Outcome::Text(text) => serializer.serialize_str(text),
            Outcome::Integer(number) => serializer.serialize_i64(*number),
            Outcome::Bool(flag) => serializer.serialize_bool(*flag),
            Outcome::Number(number) => serializer.serialize_f64(*number),
        }
    }
}

/// One feature value of a prediction.
#[derive(Clone, Debug, PartialEq)]
pub enum Feature {
    /// Missing (`null`).
    Null,
    /// A boolean.
    Bool(bool),
    /// A number (integers included).
    Number(f64),
    /// A string.
    Text(String),
}

impl Serialize for Feature {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Feature::Null => serializer.serialize_unit(),
            Feature::Bool(flag) => serializer.serialize_bool(*flag),
            Feature::Number(number) => serializer.serialize_f64(*number),
            Feature::Text(text) => serializer.serialize_str(text),
        }
    }
}

/// One prediction a model served: `{"model": ..., "timestamp": ..., "prediction": {"id": ...,
/// "output": ..., "score" | "scores": ..., "features": ...}}`.
#[derive(Clone, Debug, PartialEq)]
pub struct Prediction {
    /// The model instance that predicted.
    pub model: ModelId,
    /// When; `None` as for metric events.
    pub timestamp: Option<Timestamp>,
    /// The id its label will name: 1 to [`MAX_PREDICTION_ID_LEN`] bytes.
    pub id: String,
    /// The predicted class or value.
    pub output: Outcome,
    /// The probability of the positive class (binary models).
    pub score: Option<f64>,
    /// The probability of each class, sorted by class; they sum to 1.
    pub scores: Option<Vec<(String, f64)>>,
    /// The features the model saw, sorted by name.
    pub features: Option<Vec<(String, Feature)>>,
}

impl Prediction {
    /// The score `scores` gives `class`, if it gives one.
    pub fn score_of(&self, class: &str) -> Option<f64> {
        let scores = self.scores.as_ref()?;
        scores
            .binary_search_by(|(name, _)| name.as_str().cmp(class))
            .ok()
            .map(|index| scores[index].1)
    }
}

/// The true value of an earlier prediction, joined to it by model name and id:
/// `{"model": {"name": ...}, "timestamp": ..., "label": {"id": ..., "value": ...}}`.
#[derive(Clone, Debug, PartialEq)]
pub struct Label {
    /// The model, by name: the prediction's version and instance apply.
    pub model: String,
    /// When the label became known; `None` as for metric events.
    pub timestamp: Option<Timestamp>,
    /// The prediction's id.
    pub id: String,
    /// The true class or value.
    pub value: Outcome,
}

/// Serializes pairs as a JSON object, in their order.
pub(crate) fn serialize_pairs<S: Serializer, V: Serialize>(
    pairs: &[(String, V)],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let mut map = serializer.serialize_map(Some(pairs.len()))?;
    for (name, value) in pairs {
        map.serialize_entry(name, value)?;
    }
    map.end()
}

/// Checks a class name: 1 to [`MAX_CLASS_LEN`] bytes, no control characters.
///
/// # Errors
///
/// A sentence saying what is wrong.
pub fn check_class(text: &str) -> Result<(), String> {
    if text.is_empty() || text.len() > MAX_CLASS_LEN {
        return Err(format!("a class must be 1 to {MAX_CLASS_LEN} bytes long"));
    }
    if text.chars().any(char::is_control) {
        return Err("a class must not contain control characters".to_string());
    }
    Ok(())
}

/// Checks a prediction id: 1 to [`MAX_PREDICTION_ID_LEN`] bytes.
///
/// # Errors
///
/// A sentence saying what is wrong.
pub fn check_prediction_id(text: &str) -> Result<(), String> {
    if text.is_empty() || text.len() > MAX_PREDICTION_ID_LEN {
        return Err(format!(
            "is {} bytes long; an id is 1 to {MAX_PREDICTION_ID_LEN} bytes",
            text.len()
        ));
    }
    Ok(())
}

impl Serialize for Prediction {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        struct Pairs<'a, V>(&'a [(String, V)]);
        impl<V: Serialize> Serialize for Pairs<'_, V> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serialize_pairs(self.0, serializer)
            }
        }
        #[derive(Serialize)]
        struct Body<'a> {
            id: &'a str,
            output: &'a Outcome,
            #[serde(skip_serializing_if = "Option::is_none")]
            score: Option<f64>,
            #[serde(skip_serializing_if = "Option::is_none")]
            scores: Option<Pairs<'a, f64>>,
            #[serde(skip_serializing_if = "Option::is_none")]
            features: Option<Pairs<'a, Feature>>,
        }
        let body = Body {
            id: &self.id,
            output: &self.output,
            score: self.score,
            scores: self.scores.as_deref().map(Pairs),
            features: self.features.as_deref().map(Pairs),
        };
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("model", &self.model)?;
        if let Some(timestamp) = self.timestamp {
            map.serialize_entry("timestamp", &timestamp)?;
        }
        map.serialize_entry("prediction", &body)?;
        map.end()
    }
}

impl Serialize for Label {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Model<'a> {
            name: &'a str,
        }
        #[derive(Serialize)]
        struct Body<'a> {
            id: &'a str,
            value: &'a Outcome,
        }
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("model", &Model { name: &self.model })?;
        if let Some(timestamp) = self.timestamp {
            map.serialize_entry("timestamp", &timestamp)?;
        }
        let body = Body {
            id: &self.id,
            value: &self.value,
        };
        map.serialize_entry("label", &body)?;
        map.end()
    }
}

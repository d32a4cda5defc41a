//! A window's values to metrics: the labeled predictions of one model instance as the pure
//! metric functions take them (`metrics`), and the sentence that says what was computed.

use crate::config::Task;
use crate::metric::{MACRO_SCORE, MACRO_SCORE_PARTS};
use crate::output::short_number;

use super::metrics;

/// No score: the bits of a NaN that no valid score has.
pub const NO_SCORE: u64 = u64::MAX;

/// One labeled prediction in a realized window: true value and output as the tracker encodes
/// them (binary: 1 for the positive class, else 0; multiclass: the model's class index;
/// regression: the value's bits), and the score's bits ([`NO_SCORE`] for none).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Joined {
    /// The label's value.
    pub truth: u64,
    /// The prediction's output.
    pub output: u64,
    /// The positive class's probability (binary).
    pub score: u64,
    /// The probability of each class (multiclass with scores): the model's class index and
    /// the probability, sorted by class index.
    pub row: Option<Vec<(u32, f64)>>,
}

/// The metrics of a realized window, sorted by name, with `macro_score` when accuracy,
/// precision, recall and f1 are all there. `classes` names the model's class indices
/// (multiclass), for sorting them as scikit-learn sorts labels.
pub fn realized(task: Task, window: &[Joined], classes: &[String]) -> Vec<(String, f64)> {
    let computed = match task {
        Task::Binary => {
            let y_true: Vec<bool> = window.iter().map(|row| row.truth == 1).collect();
            let y_pred: Vec<bool> = window.iter().map(|row| row.output == 1).collect();
            let scores: Option<Vec<f64>> = window
                .iter()
                .map(|row| (row.score != NO_SCORE).then(|| f64::from_bits(row.score)))
                .collect();
            metrics::binary(&y_true, &y_pred, scores.as_deref())
        }
        Task::Regression => {
            let y_true: Vec<f64> = window.iter().map(|row| f64::from_bits(row.truth)).collect();
            let y_pred: Vec<f64> = window
                .iter()
                .map(|row| f64::from_bits(row.output))
                .collect();
            metrics::regression(&y_true, &y_pred)
        }
        Task::Multiclass => multiclass(window, classes),
    };
    finish(computed)
}

fn multiclass(window: &[Joined], classes: &[String]) -> Vec<metrics::Metric> {
    let mut present: Vec<u32> = window
        .iter()
        .flat_map(|row| [row.truth as u32, row.output as u32])
        .collect();
    // The scores' classes, when every row gives the same set and it covers every class seen.
    let columns: Option<Vec<u32>> = window.first().and_then(|first| {
        let set: Vec<u32> = first
            .row
            .as_ref()?
            .iter()
            .map(|(class, _)| *class)
            .collect();
        let same = window.iter().all(|row| {
            row.row
                .as_ref()
                .is_some_and(|r| r.iter().map(|(class, _)| *class).eq(set.iter().copied()))
        });
        (same && present.iter().all(|class| set.contains(class))).then_some(set)
    });
    if let Some(columns) = &columns {
        present.extend(columns);
    }
    present.sort_unstable();
    present.dedup();
    sort_like_scikit_learn(&mut present, classes);
    let position = |class: u32| present.iter().position(|c| *c == class).unwrap_or(0) as u32;
    let y_true: Vec<u32> = window
        .iter()
        .map(|row| position(row.truth as u32))
        .collect();
    let y_pred: Vec<u32> = window
        .iter()
        .map(|row| position(row.output as u32))
        .collect();
    let proba = columns.map(|_| {
        let mut matrix = vec![0.0; window.len() * present.len()];
        for (at, row) in window.iter().enumerate() {
            for (class, probability) in row.row.iter().flatten() {
                matrix[at * present.len() + position(*class) as usize] = *probability;
            }
        }
        matrix
    });
    metrics::multiclass(&y_true, &y_pred, present.len(), proba.as_deref())
}

/// Sorts class indices as scikit-learn sorts the labels they name: numerically when every
/// one is an integer, as text otherwise.
fn sort_like_scikit_learn(indices: &mut [u32], classes: &[String]) {
    let name = |index: &u32| classes.get(*index as usize).map_or("", String::as_str);
    let numbers: Option<Vec<i64>> = indices.iter().map(|i| name(i).parse().ok()).collect();
    match numbers {
        Some(_) => indices.sort_by_key(|i| name(i).parse::<i64>().unwrap_or(0)),
        None => indices.sort_by(|a, b| name(a).cmp(name(b))),
    }
}

/// Owned names, sorted, with `macro_score` derived as for pushed events.
pub fn finish(computed: Vec<metrics::Metric>) -> Vec<(String, f64)> {
    let mut values: Vec<(String, f64)> = computed
        .into_iter()
        .filter(|(_, value)| value.is_finite())
        .map(|(name, value)| (name.to_string(), value))
        .collect();
    values.sort_by(|a, b| a.0.cmp(&b.0));
    let lookup = |metric: &str| {
        values
            .binary_search_by(|(name, _)| name.as_str().cmp(metric))
            .ok()
            .map(|index| values[index].1)
    };
    if let [Some(accuracy), Some(precision), Some(recall), Some(f1)] = MACRO_SCORE_PARTS.map(lookup)
    {
        let macro_score = (accuracy + precision + recall + f1) / 4.0;
        let at = values.partition_point(|(name, _)| name.as_str() < MACRO_SCORE);
        values.insert(at, (MACRO_SCORE.to_string(), macro_score));
    }
    values
}

/// `accuracy 0.93, f1 0.81, ...`: the values for a message.
pub fn describe(values: &[(String, f64)]) -> String {
    if values.is_empty() {
        return "no metric is defined on this window".to_string();
    }
    values
        .iter()
        .map(|(name, value)| format!("{name} {}", short_number(*value)))
        .collect::<Vec<_>>()
        .join(", ")
}

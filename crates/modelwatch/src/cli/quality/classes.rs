//! The classes of `modelwatch quality`'s classification tasks: class values compared as text,
//! binary's positive class, and multiclass's order (scikit-learn's: numerically when every
//! class is a number, else as strings).

use std::cmp::Ordering;
use std::collections::HashMap;

use anyhow::{Result, bail};

/// One column of class values, each stored as the index of its text in first-seen order.
#[derive(Debug, Default)]
pub(super) struct ClassColumn {
    names: Vec<String>,
    first_lines: Vec<u64>,
    ids: HashMap<String, u32>,
    values: Vec<u32>,
}

impl ClassColumn {
    /// Appends one row's class, read at `line`. An empty value is refused.
    pub fn push(&mut self, line: u64, text: &str) -> Result<(), String> {
        if text.is_empty() {
            return Err("the value is empty; a class is needed".to_string());
        }
        let id = match self.ids.get(text) {
            Some(&id) => id,
            None => {
                let id = u32::try_from(self.names.len())
                    .map_err(|_| "too many distinct classes".to_string())?;
                self.names.push(text.to_string());
                self.first_lines.push(line);
                self.ids.insert(text.to_string(), id);
                id
            }
        };
        self.values.push(id);
        Ok(())
    }

    /// Per row, whether its class is the positive one.
    pub fn flags(&self, positive: &Positive) -> Vec<bool> {
        let positive_ids: Vec<bool> = self.names.iter().map(|name| positive.is(name)).collect();
        self.values
            .iter()
            .map(|&id| positive_ids[id as usize])
            .collect()
    }

    /// Per row, the index of its class in `order`, which holds every class of this column.
    pub fn indices(&self, order: &[String]) -> Vec<u32> {
        let position: HashMap<&str, u32> = order
            .iter()
            .zip(0u32..)
            .map(|(name, index)| (name.as_str(), index))
            .collect();
        let by_id: Vec<u32> = self
            .names
            .iter()
            .map(|name| position.get(name.as_str()).copied().unwrap_or(u32::MAX))
            .collect();
        self.values.iter().map(|&id| by_id[id as usize]).collect()
    }

    fn first_line(&self, name: &str) -> Option<u64> {
        let id = *self.ids.get(name)?;
        self.first_lines.get(id as usize).copied()
    }
}

/// The classes of both columns, each once, in first-seen order.
fn union<'a>(targets: &'a ClassColumn, predictions: &'a ClassColumn) -> Vec<&'a str> {
    let mut names: Vec<&str> = targets.names.iter().map(String::as_str).collect();
    for name in &predictions.names {
        if !names.contains(&name.as_str()) {
            names.push(name);
        }
    }
    names
}

fn quoted_list(names: &[&str]) -> String {
    let quoted: Vec<String> = names
        .iter()
        .take(10)
        .map(|name| format!("{name:?}"))
        .collect();
    let more = if names.len() > 10 { ", ..." } else { "" };
    format!("{}{more}", quoted.join(", "))
}

/// Binary's positive class: the text of `--positive`; without it, `1`, `true` or `True` when
/// the classes are among `0` and `1`, `false` and `true`, or `False` and `True` (Python's).
#[derive(Debug)]
pub(super) struct Positive {
    name: String,
}

impl Positive {
    /// The positive class of a binary task whose columns hold these classes.
    ///
    /// # Errors
    ///
    /// More than two classes; `--positive` naming neither of two classes; no `--positive`
    /// when the classes are not among {0, 1}, {false, true} or {False, True}.
    pub fn choose(
        explicit: Option<&str>,
        targets: &ClassColumn,
        predictions: &ClassColumn,
    ) -> Result<Self> {
        let classes = union(targets, predictions);
        if classes.len() > 2 {
            bail!(
                "binary, but the target and prediction columns hold {} classes: {} (use --task multiclass)",
                classes.len(),
                quoted_list(&classes)
            );
        }
        if let Some(positive) = explicit {
            if classes.len() == 2 && !classes.contains(&positive) {
                bail!(
                    "--positive {positive:?} is neither of the classes {}",
                    quoted_list(&classes)
                );
            }
            return Ok(Self {
                name: positive.to_string(),
            });
        }
        for (negative, positive) in [("0", "1"), ("false", "true"), ("False", "True")] {
            if classes
                .iter()
                .all(|class| *class == negative || *class == positive)
            {
                return Ok(Self {
                    name: positive.to_string(),
                });
            }
        }
        bail!(
            "binary needs --positive: the classes are {} (without it, the classes must be 0 and 1, false and true, or False and True, and 1, true or True is positive)",
            quoted_list(&classes)
        )
    }

    /// Whether `class` is the positive class.
    pub fn is(&self, class: &str) -> bool {
        class == self.name
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

/// The multiclass classes in scikit-learn's order: those of `--scores` when given (which must
/// include every class of the data), else those of the data.
///
/// # Errors
///
/// A class of the data has no column in `score_columns`.
pub(super) fn sorted(
    targets: &ClassColumn,
    predictions: &ClassColumn,
    score_columns: &[String],
) -> Result<Vec<String>> {
    let data_classes = union(targets, predictions);
    let mut classes: Vec<String> = if score_columns.is_empty() {
        data_classes
            .iter()
            .map(|class| (*class).to_string())
            .collect()
    } else {
        for class in &data_classes {
            if !score_columns.iter().any(|column| column == class) {
                let (column, line) = match targets.first_line(class) {
                    Some(line) => ("target", line),
                    None => ("prediction", predictions.first_line(class).unwrap_or(0)),
                };
                bail!(
                    "line {line}: the {column} class {class:?} has no column in --scores ({})",
                    score_columns.join(", ")
                );
            }
        }
        score_columns.to_vec()
    };
    let numbers: Option<Vec<f64>> = classes
        .iter()
        .map(|class| class.trim().parse::<f64>().ok())
        .collect();
    if numbers.is_some() {
        classes.sort_by(|left, right| {
            let value = |text: &String| text.trim().parse::<f64>().unwrap_or(f64::NAN);
            value(left)
                .partial_cmp(&value(right))
                .unwrap_or(Ordering::Equal)
                .then_with(|| left.cmp(right))
        });
    } else {
        classes.sort();
    }
    Ok(classes)
}

/// The row-major probabilities read in `score_columns`' order, with their columns put in
/// `order` (a permutation of `score_columns`).
pub(super) fn reorder(scores: &[f64], score_columns: &[String], order: &[String]) -> Vec<f64> {
    let width = score_columns.len();
    let source: Vec<usize> = order
        .iter()
        .map(|class| {
            score_columns
                .iter()
                .position(|column| column == class)
                .unwrap_or(0)
        })
        .collect();
    scores
        .chunks_exact(width)
        .flat_map(|row| source.iter().map(move |&column| row[column]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(values: &[&str]) -> ClassColumn {
        let mut column = ClassColumn::default();
        for (line, value) in (2..).zip(values) {
            column.push(line, value).unwrap();
        }
        column
    }

    #[test]
    fn classes_sort_as_numbers_when_all_are_numbers_else_as_text() {
        let numbers = sorted(&column(&["10", "2", "100"]), &column(&["-1.5", "2"]), &[]).unwrap();
        assert_eq!(numbers, ["-1.5", "2", "10", "100"]);
        let texts = sorted(&column(&["10", "2", "b"]), &column(&["B", "a"]), &[]).unwrap();
        assert_eq!(texts, ["10", "2", "B", "a", "b"]);
        let scores = ["c".to_string(), "a".to_string(), "b".to_string()];
        let with_scores = sorted(&column(&["a", "b"]), &column(&["a"]), &scores).unwrap();
        assert_eq!(with_scores, ["a", "b", "c"]);
        assert_eq!(
            reorder(&[0.5, 0.2, 0.3], &scores, &with_scores),
            [0.2, 0.3, 0.5]
        );
        let error = sorted(&column(&["a", "d"]), &column(&["a"]), &scores).unwrap_err();
        assert!(
            error.to_string().contains("line 3: the target class \"d\""),
            "{error}"
        );
    }

    #[test]
    fn the_positive_class_is_named_or_is_one_or_true() {
        let choose = |explicit: Option<&str>, targets: &[&str], predictions: &[&str]| {
            Positive::choose(explicit, &column(targets), &column(predictions))
        };
        assert_eq!(choose(None, &["0", "1"], &["1"]).unwrap().name(), "1");
        assert_eq!(choose(None, &["0"], &["0"]).unwrap().name(), "1");
        let python = choose(None, &["True", "False"], &["False"]).unwrap();
        assert!(python.is("True") && !python.is("true"));
        assert_eq!(choose(None, &["false"], &["true"]).unwrap().name(), "true");
        assert!(choose(None, &["True", "false"], &["false"]).is_err());
        assert!(choose(None, &["yes", "no"], &["no"]).is_err());
        assert!(choose(None, &["1", "true"], &["1"]).is_err());
        assert!(
            choose(Some("yes"), &["yes", "no"], &["no"])
                .unwrap()
                .is("yes")
        );
        assert!(choose(Some("maybe"), &["yes", "no"], &["no"]).is_err());
        assert!(choose(Some("yes"), &["no"], &["no"]).is_ok());
        assert!(choose(Some("a"), &["a", "b"], &["c"]).is_err());
        let mut blank = ClassColumn::default();
        assert!(blank.push(2, "").is_err());
    }
}

//! `modelwatch quality`: realized quality metrics of a file of predictions and labels,
//! computed offline by the engine's `quality::metrics` (scikit-learn's values), printed as
//! one JSON object or as a table.

mod classes;
mod input;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use modelwatch_engine::quality::metrics::{self, Metric};
use serde::Serialize;

use classes::{ClassColumn, Positive};
use input::{FieldError, read_rows};

#[derive(Debug, Args)]
pub struct QualityArgs {
    /// The kind of model: binary or multiclass classification, or regression.
    #[arg(long, value_enum)]
    task: Task,
    /// The data: a CSV file with a header, or JSON Lines (one object per line) when the name
    /// ends in `.jsonl`.
    #[arg(long, value_name = "FILE")]
    data: PathBuf,
    /// The column holding the label (the true class, or the true value for regression).
    #[arg(long, value_name = "COL")]
    target: String,
    /// The column holding the prediction (the predicted class, or value for regression).
    #[arg(long, value_name = "COL")]
    prediction: String,
    /// Binary: the column holding the probability of the positive class.
    #[arg(long, value_name = "COL", conflicts_with = "scores")]
    score: Option<String>,
    /// The columns holding each class's probability, each named like its class (multiclass:
    /// one per class; binary: the positive class's column is used).
    #[arg(long, value_name = "COL,COL...", value_delimiter = ',')]
    scores: Vec<String>,
    /// Binary: the positive class, as written in the target and prediction columns. Optional
    /// when the classes are among 0 and 1, false and true, or False and True (then 1, true or
    /// True is positive).
    #[arg(long, value_name = "LABEL")]
    positive: Option<String>,
    /// How to print the metrics.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
enum Task {
    Binary,
    Multiclass,
    Regression,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Json,
    Table,
}

/// What `--format json` prints, in this key order.
#[derive(Debug, Serialize)]
struct Report {
    task: Task,
    rows: u64,
    metrics: BTreeMap<&'static str, f64>,
}

/// Reads the file, computes the task's metrics and prints them to `out`.
///
/// # Errors
///
/// Flags that do not fit the task, and a bad file (named with its line and column).
pub fn run(args: &QualityArgs, out: &mut dyn Write) -> Result<()> {
    check_flags(args)?;
    let (rows, computed) = match args.task {
        Task::Regression => regression(args)?,
        Task::Binary | Task::Multiclass => classification(args)?,
    };
    let report = Report {
        task: args.task,
        rows,
        metrics: computed.into_iter().collect(),
    };
    match args.format {
        Format::Json => {
            serde_json::to_writer(&mut *out, &report)?;
            writeln!(out)?;
        }
        Format::Table => write_table(&report, out)?,
    }
    Ok(())
}

fn check_flags(args: &QualityArgs) -> Result<()> {
    match args.task {
        Task::Regression => {
            if args.score.is_some() || !args.scores.is_empty() || args.positive.is_some() {
                bail!("--score, --scores and --positive apply to binary and multiclass tasks only");
            }
        }
        Task::Multiclass => {
            if args.score.is_some() || args.positive.is_some() {
                bail!(
                    "multiclass takes --scores (one column per class), not --score or --positive"
                );
            }
        }
        Task::Binary => {}
    }
    let mut seen = std::collections::HashSet::new();
    for column in &args.scores {
        if !seen.insert(column) {
            bail!("--scores names column {column:?} twice");
        }
    }
    Ok(())
}

fn regression(args: &QualityArgs) -> Result<(u64, Vec<Metric>)> {
    let columns = [args.target.clone(), args.prediction.clone()];
    let (mut y_true, mut y_pred) = (Vec::new(), Vec::new());
    let rows = read_rows(&args.data, &columns, |_, values| {
        y_true.push(number(values, 0)?);
        y_pred.push(number(values, 1)?);
        Ok(())
    })?;
    Ok((rows, metrics::regression(&y_true, &y_pred)))
}

/// The finite number in `values[column]`.
fn number(values: &[&str], column: usize) -> Result<f64, FieldError> {
    let text = values[column];
    match text.trim().parse::<f64>() {
        Ok(value) if value.is_finite() => Ok(value),
        _ => Err(FieldError::new(
            column,
            format!("{:?} is not a finite number", cut(text)),
        )),
    }
}

/// The probability in `values[column]`: a number within [0, 1].
fn probability(values: &[&str], column: usize) -> Result<f64, FieldError> {
    let value = number(values, column)?;
    if !(0.0..=1.0).contains(&value) {
        return Err(FieldError::new(
            column,
            format!("{value} is not a probability (within [0, 1])"),
        ));
    }
    Ok(value)
}

fn classification(args: &QualityArgs) -> Result<(u64, Vec<Metric>)> {
    let mut columns = vec![args.target.clone(), args.prediction.clone()];
    columns.extend(args.score.iter().cloned());
    columns.extend(args.scores.iter().cloned());
    let (mut targets, mut predictions) = (ClassColumn::default(), ClassColumn::default());
    let mut scores: Vec<f64> = Vec::new();
    let rows = read_rows(&args.data, &columns, |line, values| {
        targets
            .push(line, values[0])
            .map_err(|e| FieldError::new(0, e))?;
        predictions
            .push(line, values[1])
            .map_err(|e| FieldError::new(1, e))?;
        for column in 2..values.len() {
            scores.push(probability(values, column)?);
        }
        Ok(())
    })?;
    let score_columns = columns.len() - 2;
    let computed = match args.task {
        Task::Binary => {
            let positive = Positive::choose(args.positive.as_deref(), &targets, &predictions)
                .with_context(|| args.data.display().to_string())?;
            let score = match (&args.score, args.scores.is_empty()) {
                (Some(_), _) => Some(scores),
                (None, true) => None,
                (None, false) => {
                    let Some(index) = args.scores.iter().position(|c| positive.is(c)) else {
                        bail!(
                            "--scores has no column named like the positive class {:?} (columns: {})",
                            positive.name(),
                            args.scores.join(", ")
                        );
                    };
                    Some(
                        scores
                            .iter()
                            .skip(index)
                            .step_by(score_columns)
                            .copied()
                            .collect(),
                    )
                }
            };
            metrics::binary(
                &targets.flags(&positive),
                &predictions.flags(&positive),
                score.as_deref(),
            )
        }
        Task::Multiclass | Task::Regression => {
            let order = classes::sorted(&targets, &predictions, &args.scores)
                .with_context(|| args.data.display().to_string())?;
            let proba =
                (!args.scores.is_empty()).then(|| classes::reorder(&scores, &args.scores, &order));
            metrics::multiclass(
                &targets.indices(&order),
                &predictions.indices(&order),
                order.len(),
                proba.as_deref(),
            )
        }
    };
    Ok((rows, computed))
}

fn write_table(report: &Report, out: &mut dyn Write) -> Result<()> {
    let task = match report.task {
        Task::Binary => "binary",
        Task::Multiclass => "multiclass",
        Task::Regression => "regression",
    };
    let width = report
        .metrics
        .keys()
        .map(|name| name.len())
        .max()
        .unwrap_or(0)
        .max("task".len());
    writeln!(out, "{:width$}  {task}", "task")?;
    writeln!(out, "{:width$}  {}", "rows", report.rows)?;
    for (name, value) in &report.metrics {
        writeln!(out, "{name:width$}  {value}")?;
    }
    Ok(())
}

/// The first 40 characters of a value, for error messages.
fn cut(text: &str) -> String {
    text.chars().take(40).collect()
}

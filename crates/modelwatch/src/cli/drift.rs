//! `modelwatch drift`: the data drift of a current file against a reference file, column by
//! column and for the dataset, as Evidently 0.7.23's data-drift report computes it, with the
//! engine's `drift` tests; printed as one JSON object or as a table (`docs/drift.md`).

mod assess;
mod typing;

use std::collections::HashSet;
use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, ValueEnum};
use modelwatch_engine::drift::Method;
use serde::Serialize;

use assess::{ColumnDrift, Options};
use modelwatch::tabular::raw::{self, RawTable, read_table};

#[derive(Debug, Args)]
pub struct DriftArgs {
    /// The reference data: a CSV file with a header, or JSON Lines (one object per line) when
    /// the name ends in `.jsonl`. An empty cell (or a JSON null) is a missing value.
    #[arg(long, value_name = "FILE")]
    reference: PathBuf,
    /// The current data, in the same form; it must have every column of the reference (others
    /// are ignored).
    #[arg(long, value_name = "FILE")]
    current: PathBuf,
    /// The method for every column (ks, wasserstein, psi, kl_div, jensenshannon, hellinger,
    /// chisquare, z, g_test, fisher_exact, TVD, mannw, t_test, ed, cramer_von_mises, anderson,
    /// es). Default: Evidently's automatic choice per column.
    #[arg(long, value_name = "METHOD", value_parser = parse_method)]
    method: Option<Method>,
    /// The threshold for every column. Default: each method's own (0.05 or 0.1).
    #[arg(long, value_name = "X", value_parser = parse_finite)]
    threshold: Option<f64>,
    /// Columns to compare as categories, whatever their values.
    #[arg(long, value_name = "COL,COL...", value_delimiter = ',')]
    categorical: Vec<String>,
    /// Columns to compare as numbers (every value present must be a number).
    #[arg(long, value_name = "COL,COL...", value_delimiter = ',')]
    numerical: Vec<String>,
    /// The dataset drifts when the share of drifted columns reaches this.
    #[arg(long, value_name = "S", default_value_t = 0.5, value_parser = parse_share)]
    drift_share: f64,
    /// How to print the result.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Json,
    Table,
}

fn parse_method(name: &str) -> Result<Method, String> {
    Method::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = Method::ALL.iter().map(|method| method.name()).collect();
        format!("unknown method (methods: {})", names.join(", "))
    })
}

fn parse_finite(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(value) if value.is_finite() => Ok(value),
        _ => Err("not a finite number".to_string()),
    }
}

fn parse_share(text: &str) -> Result<f64, String> {
    match parse_finite(text)? {
        value if (0.0..=1.0).contains(&value) => Ok(value),
        _ => Err("not a share (within [0, 1])".to_string()),
    }
}

/// What `--format json` prints, in this key order.
#[derive(Debug, Serialize)]
struct Report {
    columns: Vec<ColumnDrift>,
    drifted_columns: usize,
    columns_total: usize,
    share: f64,
    dataset_drift: bool,
}

/// Reads both files, scores every column of the reference and prints the report to `out`.
///
/// # Errors
///
/// Bad flags, a bad file (named with its line and column), a method that does not apply to a
/// column's type, or a column that cannot be scored.
pub fn run(args: &DriftArgs, out: &mut dyn Write) -> Result<()> {
    let (reference, current) = std::thread::scope(|scope| {
        let current = scope.spawn(|| read_table(&args.current));
        let reference = read_table(&args.reference);
        let current = current
            .join()
            .unwrap_or_else(|_| Err(anyhow!("reading {} panicked", args.current.display())));
        (reference, current)
    });
    let reference = reference?;
    let options = options(args, &reference)?;
    let current = align(current?, &reference)?;
    let columns = assess::assess_all(&reference, &current, &options)?;
    let stderr = std::io::stderr();
    for warning in columns.iter().filter_map(|column| column.warning.as_ref()) {
        let _ = writeln!(stderr.lock(), "warning: {warning}");
    }
    let columns_total = columns.len();
    let drifted_columns = columns.iter().filter(|column| column.drifted).count();
    let share = drifted_columns as f64 / columns_total as f64;
    let report = Report {
        columns,
        drifted_columns,
        columns_total,
        share,
        dataset_drift: share >= args.drift_share,
    };
    match args.format {
        Format::Json => {
            serde_json::to_writer(&mut *out, &report)?;
            writeln!(out)?;
        }
        Format::Table => write_table(&report, args.drift_share, out)?,
    }
    Ok(())
}

/// The flags' options, checked against the reference's columns.
fn options(args: &DriftArgs, reference: &RawTable) -> Result<Options> {
    reference.check_unique_names()?;
    let mut lists: [HashSet<String>; 2] = Default::default();
    for ((flag, columns), set) in [
        ("--categorical", &args.categorical),
        ("--numerical", &args.numerical),
    ]
    .into_iter()
    .zip(&mut lists)
    {
        for column in columns {
            if !reference.names.contains(column) {
                bail!(
                    "{flag} names column {column:?}, which {} does not have (columns: {})",
                    reference.path.display(),
                    reference.names.join(", ")
                );
            }
            if !set.insert(column.clone()) {
                bail!("{flag} names column {column:?} twice");
            }
        }
    }
    let [categorical, numerical] = lists;
    if let Some(column) = categorical.intersection(&numerical).next() {
        bail!("column {column:?} is named by both --categorical and --numerical");
    }
    Ok(Options {
        method: args.method,
        threshold: args.threshold,
        categorical,
        numerical,
    })
}

/// The current file's columns in the reference's order, others left out.
fn align(mut current: RawTable, reference: &RawTable) -> Result<RawTable> {
    let mut columns = Vec::with_capacity(reference.names.len());
    let mut slots: Vec<Option<raw::RawColumn>> = std::mem::take(&mut current.columns)
        .into_iter()
        .map(Some)
        .collect();
    for name in &reference.names {
        let taken = (current.names.iter().position(|other| other == name))
            .and_then(|position| slots[position].take());
        let Some(column) = taken else {
            bail!(
                "{}: line {}: no column {name:?}, which the reference has (columns: {})",
                current.path.display(),
                current.header_line,
                current.names.join(", ")
            );
        };
        columns.push(column);
    }
    current.columns = columns;
    current.names.clone_from(&reference.names);
    Ok(current)
}

fn write_table(report: &Report, drift_share: f64, out: &mut dyn Write) -> Result<()> {
    let rows: Vec<[String; 6]> = report
        .columns
        .iter()
        .map(|column| {
            [
                column.column.clone(),
                column.column_type.to_string(),
                column.method.to_string(),
                format!("{:.6}", column.score),
                column.threshold.to_string(),
                if column.drifted { "yes" } else { "no" }.to_string(),
            ]
        })
        .collect();
    let header = ["COLUMN", "TYPE", "METHOD", "SCORE", "THRESHOLD", "DRIFTED"].map(String::from);
    let mut widths = header.clone().map(|title| title.len());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    for row in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        for (index, (cell, width)) in row.iter().zip(widths).enumerate() {
            if index + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:width$}  "));
            }
        }
        writeln!(out, "{line}").context("cannot write the table")?;
    }
    writeln!(
        out,
        "drifted columns: {} of {} (share {}); dataset drift: {} (share >= {drift_share})",
        report.drifted_columns,
        report.columns_total,
        report.share,
        if report.dataset_drift { "yes" } else { "no" }
    )?;
    Ok(())
}

//! `modelwatch replay`: the engine over event files, offline. Validates every file first (a
//! bad line stops the replay before it prints anything), then prints the timeline of alerts
//! retrain decisions, job notices, canary verdicts and quality computed from predictions and
//! labels: an aligned table, or one JSON object a line. With `--report FILE.html` it also writes
//! the console as one self-contained HTML file of the same events (`report.rs`).

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Result, bail};
use clap::{Args, ValueEnum};
use modelwatch_engine::wire::documents;
use modelwatch_engine::{
    Decision, Engine, Format, Output, RuleState, RuleStatus, WireParser, short_id, short_number,
};

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The config (TOML); without it, the built-in rules of the five original modules.
    #[arg(long)]
    config: Option<PathBuf>,
    /// How to print the timeline.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    format: OutputFormat,
    /// Also write FILE.html: one self-contained page (the console's charts and tables, with
    /// the data of the models in the events inlined) that opens from disk with no server and
    /// no network, to share a backtest or attach to an incident. The events go through the
    /// writer `serve` runs, on a temporary store; nothing is sent and no job runs. The same
    /// events give the same file, byte for byte. The timeline printed is unchanged; a line on
    /// standard error says where the report is.
    #[arg(long, value_name = "FILE.html")]
    report: Option<PathBuf>,
    /// Event files: NDJSON (one JSON object a line), a JSON array, or one object; `-` reads
    /// standard input. Events without a timestamp take the latest time seen so far.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum OutputFormat {
    /// An aligned table for people, then where every alerting rule stands at the end.
    Table,
    /// One JSON object a line, for programs.
    Json,
}

/// How many input errors are listed before the rest are only counted.
const MAX_LISTED_ERRORS: usize = 100;

pub fn run(args: &ReplayArgs, out: &mut dyn Write, note: &mut dyn Write) -> Result<()> {
    let config = Arc::new(super::load_config(args.config.as_deref())?);
    // Before anything is printed: a report that cannot be written stops the command.
    let report = args
        .report
        .as_deref()
        .map(super::report::ReportFile::create)
        .transpose()?;
    let files = args
        .files
        .iter()
        .map(super::read_input)
        .collect::<Result<Vec<_>>>()?;
    let parser = WireParser::new(&config.catalog)
        .accepting_jobs()
        .with_models(&config.models);
    validate(&parser, &files)?;

    let mut engine = Engine::new(config.clone());
    let mut outputs = Vec::new();
    let mut timeline = Table::new(&["SEQ", "TIME", "MODEL", "METRIC", "RULE", "EVENT", "DETAIL"]);
    for (_, text) in &files {
        for document in documents(text, Format::Auto) {
            let Ok(document) = document else { continue };
            let Ok(input) = parser.parse_document(&document) else {
                continue;
            };
            engine.process(&input, &mut outputs);
            for output in outputs.drain(..) {
                match args.format {
                    OutputFormat::Json => {
                        serde_json::to_writer(&mut *out, &output)?;
                        out.write_all(b"\n")?;
                    }
                    OutputFormat::Table => timeline.push_output(&output),
                }
            }
        }
    }
    if args.format == OutputFormat::Table {
        if timeline.rows.is_empty() {
            writeln!(out, "No alerts and no retrain decisions.")?;
        } else {
            timeline.write(out)?;
        }
        write_end_state(out, &engine.status(), engine.next_seq() - 1)?;
    }
    if let Some(report) = report {
        out.flush()?;
        report.write(config.clone(), &parser, &files, note)?;
    }
    Ok(())
}

/// Checks every input of every file, listing the problems with file, input index and line.
fn validate(parser: &WireParser<'_>, files: &[(String, String)]) -> Result<()> {
    let mut problems = Vec::new();
    let mut total_problems = 0usize;
    for (name, text) in files {
        let mut count = 0usize;
        for document in documents(text, Format::Auto) {
            count += 1;
            let errors = match document {
                Err(error) => vec![error],
                Ok(document) => parser.parse_document(&document).err().unwrap_or_default(),
            };
            for error in errors {
                total_problems += 1;
                if problems.len() < MAX_LISTED_ERRORS {
                    problems.push(format!("{name}: {error}"));
                }
            }
        }
        if count == 0 {
            total_problems += 1;
            problems.push(format!("{name}: no inputs: the file is empty"));
        }
    }
    if total_problems == 0 {
        return Ok(());
    }
    let mut message = format!(
        "{total_problems} problem{} in the input:",
        if total_problems == 1 { "" } else { "s" }
    );
    for problem in &problems {
        message.push_str("\n  ");
        message.push_str(problem);
    }
    if total_problems > problems.len() {
        message.push_str(&format!(
            "\n  ... and {} more",
            total_problems - problems.len()
        ));
    }
    bail!(message)
}

/// Rows buffered so that their columns line up.
struct Table {
    header: &'static [&'static str],
    rows: Vec<Vec<String>>,
}

impl Table {
    fn new(header: &'static [&'static str]) -> Table {
        Table {
            header,
            rows: Vec::new(),
        }
    }

    fn push_output(&mut self, output: &Output) {
        let row = match output {
            Output::Alert(alert) => vec![
                alert.seq.to_string(),
                alert.at.to_string(),
                alert.model.to_string(),
                alert.metric.clone(),
                alert.rule.to_string(),
                alert.state.as_str().to_string(),
                alert.message.clone(),
            ],
            Output::Retrain(decision) => vec![
                decision.seq.to_string(),
                decision.at.to_string(),
                decision.model.clone(),
                "-".to_string(),
                decision.rule.as_deref().unwrap_or("-").to_string(),
                format!("retrain {}", decision.decision.as_str()),
                match &decision.job_id {
                    Some(job) if decision.decision == Decision::Granted => {
                        format!("job {}: {}", short_id(job), decision.message)
                    }
                    _ => decision.message.clone(),
                },
            ],
            Output::JobFinished(notice) => vec![
                notice.seq.to_string(),
                notice.at.to_string(),
                notice.model.clone(),
                "-".to_string(),
                "-".to_string(),
                format!("job {}", notice.status.as_str()),
                notice.message.clone(),
            ],
            Output::Canary(verdict) => vec![
                verdict.seq.to_string(),
                verdict.at.to_string(),
                verdict.model.to_string(),
                verdict.metric.clone(),
                verdict.rule.to_string(),
                format!("canary {}", verdict.verdict.as_str()),
                verdict.message.clone(),
            ],
            Output::Quality(point) => vec![
                point.seq.to_string(),
                point.at.to_string(),
                point.model.to_string(),
                "-".to_string(),
                "-".to_string(),
                format!("quality {}", point.source.as_str()),
                point.message.clone(),
            ],
        };
        self.rows.push(row);
    }

    fn write(&self, out: &mut dyn Write) -> Result<()> {
        let mut widths: Vec<usize> = self.header.iter().map(|cell| cell.len()).collect();
        for row in &self.rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let header: Vec<String> = self.header.iter().map(|cell| cell.to_string()).collect();
        for row in std::iter::once(&header).chain(&self.rows) {
            let mut line = String::new();
            for (column, cell) in row.iter().enumerate() {
                if column + 1 == row.len() {
                    line.push_str(cell);
                } else {
                    line.push_str(&format!("{cell:<width$}  ", width = widths[column]));
                }
            }
            writeln!(out, "{}", line.trim_end())?;
        }
        Ok(())
    }
}

/// Where the rules stand after the last input: counts, then every rule that is not plainly ok.
fn write_end_state(out: &mut dyn Write, statuses: &[RuleStatus], inputs: u64) -> Result<()> {
    let count = |state: RuleState| {
        statuses
            .iter()
            .filter(|status| status.state == state)
            .count()
    };
    writeln!(out)?;
    writeln!(
        out,
        "At the end, after {inputs} inputs: {} rules on series; {} firing, {} pending, {} warning, {} ok, {} not enough data.",
        statuses.len(),
        count(RuleState::Firing),
        count(RuleState::Pending),
        count(RuleState::Warning),
        count(RuleState::Ok),
        count(RuleState::NotEnoughData),
    )?;
    let mut table = Table::new(&["STATE", "MODEL", "METRIC", "RULE", "DETAIL"]);
    for status in statuses
        .iter()
        .filter(|status| status.state != RuleState::Ok)
    {
        let detail = match status.state {
            RuleState::NotEnoughData => {
                format!(
                    "has {} of the {} points it needs",
                    status.detector_points, status.needed
                )
            }
            _ => match status.statistic {
                Some(statistic) if statistic != status.last_value => format!(
                    "statistic {}, latest value {}",
                    short_number(statistic),
                    short_number(status.last_value)
                ),
                _ => format!("latest value {}", short_number(status.last_value)),
            },
        };
        table.rows.push(vec![
            status.state.as_str().to_string(),
            status.model.to_string(),
            status.metric.clone(),
            status.rule.to_string(),
            detail,
        ]);
    }
    if !table.rows.is_empty() {
        table.write(out)?;
    }
    Ok(())
}

//! The subcommands of the `modelwatch` binary. Only here (and in `main.rs`) may code print
//! or use `anyhow`; the libraries return typed errors.

mod check_config;
mod demo;
mod detect;
mod drift;
mod limits;
mod logging;
mod quality;
mod replay;
mod report;
mod serve;
mod serve_cluster;

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use modelwatch_engine::Config;
use modelwatch_engine::config::{DEFAULT_CONFIG_TOML, ParsedConfig, parse_config};

/// Watches machine-learning models in production and acts when they degrade.
#[derive(Debug, Parser)]
#[command(name = "modelwatch", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs events through the engine offline and prints the timeline of alerts and retrain
    /// decisions (uses the built-in rules unless --config is given); --report FILE.html also
    /// writes a self-contained HTML report of them that opens with no server.
    Replay(replay::ReplayArgs),
    /// Runs one detector over numbers on stdin (one a line) and prints the 0-based indices
    /// where it signalled, as JSON.
    Detect(detect::DetectArgs),
    /// Computes realized quality metrics (accuracy, F1, ROC AUC, MAE, ...) of a CSV or JSON
    /// Lines file of predictions and labels, as scikit-learn computes them.
    Quality(quality::QualityArgs),
    /// Compares a current CSV or JSON Lines file with a reference one, column by column, and
    /// says which columns drifted and whether the dataset did, as Evidently's data-drift
    /// report computes it.
    Drift(drift::DriftArgs),
    /// Validates a config file and reports every error with its line and column.
    CheckConfig(check_config::CheckConfigArgs),
    /// Runs the HTTP service: takes events on POST /v1/events, stores them with every alert
    /// and retrain decision in DIR/modelwatch.db, and answers queries.
    Serve(Box<serve::ServeArgs>),
    /// Shows the whole loop in a few seconds, on a temporary store: a synthetic model
    /// degrades, an alert fires, a webhook is delivered, a retrain job runs a bundled trainer,
    /// the new version is registered, and a canary promotes it (or, with --bad-candidate,
    /// rolls it back).
    Demo(demo::DemoArgs),
    /// The demo's bundled example trainer (run by `demo` as a command backend).
    #[command(hide = true)]
    DemoTrainer(demo::TrainerArgs),
    /// The demo's bundled rollback (run by `demo` as a command backend).
    #[command(hide = true)]
    DemoRollback(demo::RollbackArgs),
}

/// Runs the chosen subcommand.
///
/// # Errors
///
/// Whatever the subcommand reports; `main` prints it and exits 1.
pub fn run(cli: Cli) -> Result<()> {
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    match cli.command {
        Command::Replay(args) => replay::run(&args, &mut out, &mut io::stderr().lock())?,
        Command::Detect(args) => detect::run(
            &args,
            io::stdin().lock(),
            &mut out,
            &mut io::stderr().lock(),
        )?,
        Command::Quality(args) => quality::run(&args, &mut out)?,
        Command::Drift(args) => drift::run(&args, &mut out)?,
        Command::CheckConfig(args) => check_config::run(&args, &mut out)?,
        Command::Serve(args) => serve::run(&args, &mut out)?,
        Command::Demo(args) => demo::run(&args, &mut out)?,
        Command::DemoTrainer(args) => {
            demo::run_trainer(&args, &mut out, &mut io::stderr().lock())?;
        }
        Command::DemoRollback(args) => demo::run_rollback(&args, &mut io::stderr().lock())?,
    }
    out.flush().context("cannot write to standard output")?;
    Ok(())
}

/// Whether the error is a closed standard output (`modelwatch replay ... | head`), which is
/// not a failure.
pub fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|io_error| io_error.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// Reads and validates the config at `path`, or the built-in one. Warnings go to stderr.
fn load_config(path: Option<&Path>) -> Result<Config> {
    let (name, parsed) = match path {
        None => (
            "built-in config".to_string(),
            parse_config(DEFAULT_CONFIG_TOML),
        ),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read config {}", path.display()))?;
            (path.display().to_string(), parse_config(&text))
        }
    };
    let ParsedConfig {
        mut config,
        warnings,
    } = parsed.map_err(|errors| anyhow::anyhow!("{name}: {errors}"))?;
    print_warnings(&name, &warnings);
    if let Some(path) = path {
        load_reference_files(&mut config, path)?;
    }
    Ok(config)
}

/// Reads every `reference = { file = ... }` of the config at `config_path` (paths relative to
/// its directory) and hands the rows to the config: the engine does no I/O.
fn load_reference_files(config: &mut Config, config_path: &Path) -> Result<()> {
    let directory = config_path.parent().unwrap_or(Path::new(""));
    for (name, file, slot) in config.models.reference_files_mut() {
        let path = directory.join(file);
        let table = modelwatch::tabular::reference::reference_file(&path).with_context(|| {
            format!(
                "{}: [[models]] {name:?}: reference file {file:?}",
                config_path.display()
            )
        })?;
        *slot = Some(std::sync::Arc::new(table));
    }
    Ok(())
}

fn print_warnings(name: &str, warnings: &[modelwatch_engine::config::ConfigError]) {
    let stderr = io::stderr();
    let mut err = stderr.lock();
    for warning in warnings {
        let _ = writeln!(err, "warning: {name}: {warning}");
    }
}

/// Input files: a path, or `-` for standard input.
fn read_input(path: &PathBuf) -> Result<(String, String)> {
    if path.as_os_str() == "-" {
        let mut text = String::new();
        io::Read::read_to_string(&mut io::stdin().lock(), &mut text)
            .context("cannot read standard input")?;
        return Ok(("<stdin>".to_string(), text));
    }
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok((path.display().to_string(), text))
}

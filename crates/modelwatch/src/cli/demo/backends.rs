//! The demo's bundled example backends, hidden subcommands of the binary that the demo's
//! config runs as `command` backends (see docs/actions.md, "Retrain jobs"):
//!
//! - `demo-trainer`: fits a small logistic regression to synthetic transactions (fixed seed,
//!   no sleeping: the work is real and takes milliseconds), writes its progress to stderr
//!   (and to `--log`), and prints as its last stdout line the JSON the command backend
//!   expects: the new version and its holdout metrics.
//! - `demo-rollback`: says which traffic it would shift back, and exits 0.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use serde_json::json;

use super::stream::Xorshift;

#[derive(Debug, Args)]
pub struct TrainerArgs {
    /// The version being replaced; the new one is its next minor version.
    #[arg(long, value_name = "VERSION")]
    from_version: String,
    /// The job's id (for the log).
    #[arg(long, value_name = "ID")]
    job: String,
    /// A file to append the progress lines to, besides stderr.
    #[arg(long, value_name = "FILE")]
    log: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The model whose canary failed.
    #[arg(long)]
    model: String,
    /// The candidate version taken out of service.
    #[arg(long, value_name = "VERSION")]
    candidate: String,
    /// The candidate's instance.
    #[arg(long)]
    instance: String,
    /// A file to append the progress lines to, besides stderr.
    #[arg(long, value_name = "FILE")]
    log: Option<PathBuf>,
}

/// Synthetic transactions the trainer fits: training and holdout.
const TRAINING_SAMPLES: usize = 1_600;
const HOLDOUT_SAMPLES: usize = 400;
const EPOCHS: usize = 4;
/// The synthetic ground truth: fraud when `WEIGHTS . x + BIAS + noise > 0`.
const WEIGHTS: [f64; 4] = [2.0, -1.5, 1.0, 0.5];
const BIAS: f64 = -0.3;

/// `modelwatch demo-trainer`.
///
/// # Errors
///
/// When the log or standard output cannot be written.
pub fn run_trainer(args: &TrainerArgs, out: &mut dyn Write, err: &mut dyn Write) -> Result<()> {
    let mut log = Log::open(args.log.as_deref(), err)?;
    let version = next_version(&args.from_version);
    log.line(&format!(
        "job {}: training {version} to replace {}",
        short(&args.job),
        args.from_version
    ))?;
    let mut noise = Xorshift::new(0x7472_6169_6e21);
    let samples: Vec<([f64; 4], bool)> = (0..TRAINING_SAMPLES + HOLDOUT_SAMPLES)
        .map(|_| {
            let x = [
                noise.next_signed(),
                noise.next_signed(),
                noise.next_signed(),
                noise.next_signed(),
            ];
            let score = dot(&WEIGHTS, &x) + BIAS + 0.4 * noise.next_signed();
            (x, score > 0.0)
        })
        .collect();
    let (training, holdout) = samples.split_at(TRAINING_SAMPLES);
    log.line(&format!(
        "loaded {} synthetic transactions ({} held out)",
        samples.len(),
        holdout.len()
    ))?;
    let mut weights = [0.0; 4];
    let mut bias = 0.0;
    for epoch in 1..=EPOCHS {
        let rate = 0.5 / epoch as f64;
        let mut loss = 0.0;
        for (x, label) in training {
            let p = sigmoid(dot(&weights, x) + bias);
            let target = if *label { 1.0 } else { 0.0 };
            loss -= if *label { p.ln() } else { (1.0 - p).ln() };
            let gradient = p - target;
            for (weight, feature) in weights.iter_mut().zip(x) {
                *weight -= rate * gradient * feature;
            }
            bias -= rate * gradient;
        }
        log.line(&format!(
            "epoch {epoch}/{EPOCHS}: log loss {:.3}",
            loss / training.len() as f64
        ))?;
    }
    let correct = holdout
        .iter()
        .filter(|(x, label)| (sigmoid(dot(&weights, x) + bias) > 0.5) == *label)
        .count();
    let accuracy = round4(correct as f64 / holdout.len() as f64);
    log.line(&format!(
        "holdout accuracy {accuracy}; version {version} is ready"
    ))?;
    let result = json!({
        "version": version,
        "accuracy": accuracy,
        "samples": samples.len(),
        "epochs": EPOCHS,
    });
    writeln!(out, "{result}").context("cannot write to standard output")?;
    Ok(())
}

/// `modelwatch demo-rollback`.
///
/// # Errors
///
/// When the log cannot be written.
pub fn run_rollback(args: &RollbackArgs, err: &mut dyn Write) -> Result<()> {
    let mut log = Log::open(args.log.as_deref(), err)?;
    log.line(&format!(
        "shifting {}'s traffic off {} on {} back to the stable instances",
        args.model, args.candidate, args.instance
    ))?;
    log.line("traffic shifted")?;
    Ok(())
}

/// The version after `version`: its next minor version when it is MAJOR.MINOR[.PATCH...],
/// else `version` with `-retrained`.
pub(super) fn next_version(version: &str) -> String {
    let parts: Vec<&str> = version.split('.').collect();
    if let [major, minor, rest @ ..] = parts.as_slice()
        && let Ok(minor) = minor.parse::<u64>()
    {
        let mut next = vec![major.to_string(), (minor + 1).to_string()];
        next.extend(rest.iter().map(|_| "0".to_string()));
        return next.join(".");
    }
    format!("{version}-retrained")
}

/// Progress lines to stderr and, when given, appended to a file.
struct Log<'e> {
    err: &'e mut dyn Write,
    file: Option<std::fs::File>,
}

impl<'e> Log<'e> {
    fn open(path: Option<&Path>, err: &'e mut dyn Write) -> Result<Log<'e>> {
        let file = path
            .map(|path| {
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .with_context(|| format!("cannot open the log {}", path.display()))
            })
            .transpose()?;
        Ok(Log { err, file })
    }

    fn line(&mut self, text: &str) -> Result<()> {
        writeln!(self.err, "{text}").context("cannot write to standard error")?;
        if let Some(file) = &mut self.file {
            writeln!(file, "{text}").context("cannot write the log")?;
        }
        Ok(())
    }
}

fn dot(a: &[f64; 4], b: &[f64; 4]) -> f64 {
    a.iter().zip(b).map(|(a, b)| a * b).sum()
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

fn round4(value: f64) -> f64 {
    (value * 10_000.0).round() / 10_000.0
}

/// The first eight characters of an id, as people read it.
pub(super) fn short(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_version_bumps_the_minor_one() {
        assert_eq!(next_version("1.0.0"), "1.1.0");
        assert_eq!(next_version("2.9"), "2.10");
        assert_eq!(next_version("1.4.2.7"), "1.5.0.0");
        assert_eq!(next_version("v1"), "v1-retrained");
        assert_eq!(next_version("1.x"), "1.x-retrained");
    }

    #[test]
    fn the_trainer_prints_the_version_json_last_and_learns_something() {
        let args = TrainerArgs {
            from_version: "1.0.0".to_string(),
            job: "0123456789abcdef".to_string(),
            log: None,
        };
        let mut out = Vec::new();
        let mut err = Vec::new();
        run_trainer(&args, &mut out, &mut err).unwrap();
        let out = String::from_utf8(out).unwrap();
        let last = out.lines().last().unwrap();
        let result: serde_json::Value = serde_json::from_str(last).unwrap();
        assert_eq!(result["version"], "1.1.0");
        assert!(result["accuracy"].as_f64().unwrap() > 0.85, "{result}");
        let err = String::from_utf8(err).unwrap();
        assert!(err.contains("job 01234567: training 1.1.0"), "{err}");
        assert!(err.contains(&format!("epoch {EPOCHS}/{EPOCHS}")), "{err}");
    }
}

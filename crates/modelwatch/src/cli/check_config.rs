//! `modelwatch check-config FILE`: the validation `serve` and `replay` run, with every error
//! located by line and column.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use modelwatch_engine::config::parse_config;

#[derive(Debug, Args)]
pub struct CheckConfigArgs {
    /// The config file (TOML).
    file: PathBuf,
}

pub fn run(args: &CheckConfigArgs, out: &mut dyn Write) -> Result<()> {
    let name = args.file.display().to_string();
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read config {name}"))?;
    let mut parsed = parse_config(&text).map_err(|errors| anyhow::anyhow!("{name}: {errors}"))?;
    super::print_warnings(&name, &parsed.warnings);
    super::load_reference_files(&mut parsed.config, &args.file)?;
    let config = &parsed.config;
    let retraining = config.rules.iter().filter(|rule| rule.retrains()).count();
    let effects = &config.effects;
    let outbound = match &effects.outbound {
        Some(allowlist) => format!(
            ", {}",
            counted(allowlist.hosts().len(), "allowed outbound host")
        ),
        None => String::new(),
    };
    let drift_rules = match config.drift_rules.len() {
        0 => String::new(),
        count => format!(", {}", counted(count, "data_drift rule")),
    };
    writeln!(
        out,
        "ok: {name}: {} ({retraining} with retrain), {}{drift_rules}, {}, {}, {}{outbound}, retrain cooldown {} s, {}",
        counted(config.rules.len(), "rule"),
        counted(config.canaries.len(), "canary rule"),
        counted(effects.notifiers.len(), "notifier"),
        counted(effects.trainers.len(), "trainer"),
        counted(effects.rollbacks.len(), "rollback"),
        config.retrain.cooldown_secs,
        counted(parsed.warnings.len(), "warning")
    )?;
    Ok(())
}

/// `count` and the noun, plural unless the count is 1: "1 rule", "2 rules", "0 rules".
fn counted(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

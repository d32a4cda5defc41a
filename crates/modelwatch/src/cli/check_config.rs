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
    let parsed = parse_config(&text).map_err(|errors| anyhow::anyhow!("{name}: {errors}"))?;
    super::print_warnings(&name, &parsed.warnings);
    let config = &parsed.config;
    let retraining = config.rules.iter().filter(|rule| rule.retrains()).count();
    let effects = &config.effects;
    writeln!(
        out,
        "ok: {name}: {} rules ({retraining} with retrain), {} canary rules, {} notifiers, {} trainers, {} rollbacks, retrain cooldown {} s, {} warnings",
        config.rules.len(),
        config.canaries.len(),
        effects.notifiers.len(),
        effects.trainers.len(),
        effects.rollbacks.len(),
        config.retrain.cooldown_secs,
        parsed.warnings.len()
    )?;
    Ok(())
}

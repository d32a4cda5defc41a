//! `modelwatch detect`: one detector over numbers on standard input, one a line. Prints
//! `{"drifts": [...], "warnings": [...]}` with 0-based indices (plus `"breaches"` for the
//! threshold-like detectors: the indices where the statistic is beyond the bound).

use std::io::{BufRead, Write};

use anyhow::{Context, Result, bail};
use clap::Args;
use modelwatch_detectors::{Detector, DetectorKind, DetectorSpec, ParamValue, Signal};

#[derive(Debug, Args)]
pub struct DetectArgs {
    /// The detector: threshold, ema, window_mean, cusum (values), page_hinkley, adwin, kswin
    /// (River's real-valued detectors), ddm, eddm, hddm_a, hddm_w, fhddm (River's binary
    /// detectors: one 0/1 outcome per line, 1 = wrong prediction).
    #[arg(long)]
    detector: String,
    /// A parameter, with River's names for River's detectors (for example delta=0.002);
    /// repeat for several.
    #[arg(long = "param", value_name = "NAME=VALUE")]
    params: Vec<String>,
}

/// Runs the detector over `input`; the result goes to `out`, notes (such as the seed a `kswin`
/// without `seed` drew) to `err`.
pub fn run(
    args: &DetectArgs,
    input: impl BufRead,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<()> {
    let mut params = Vec::new();
    for param in &args.params {
        let Some((name, value)) = param.split_once('=') else {
            bail!("--param {param:?} must look like NAME=VALUE");
        };
        params.push((name.trim().to_string(), param_value(value.trim())));
    }
    if DetectorKind::from_name(&args.detector).is_none() {
        let kinds: Vec<&str> = DetectorKind::ALL.iter().map(|kind| kind.as_str()).collect();
        bail!(
            "unknown detector {:?}; expected one of: {}",
            args.detector,
            kinds.join(", ")
        );
    }
    let spec = DetectorSpec::parse(&args.detector, &params).map_err(|errors| {
        let lines: Vec<String> = errors
            .iter()
            .map(|error| match &error.param {
                Some(param) => format!("  --param {param}: {}", error.message),
                None => format!("  {}", error.message),
            })
            .collect();
        anyhow::anyhow!(
            "bad parameters for {}:\n{}",
            args.detector,
            lines.join("\n")
        )
    })?;
    let condition = spec.condition().copied();
    let binary = spec.kind().takes_binary_input();
    let mut detector = spec.build();
    if let (true, Detector::Kswin(kswin)) = (spec.uses_random_seed(), &detector) {
        writeln!(
            err,
            "note: kswin has no seed, so it drew seed {}; pass --param seed={} to repeat this run",
            kswin.seed(),
            kswin.seed()
        )?;
    }
    let (mut drifts, mut warnings, mut breaches) = (Vec::new(), Vec::new(), Vec::new());
    let mut index = 0usize;
    for (line_number, line) in input.lines().enumerate() {
        let line = line
            .with_context(|| format!("cannot read standard input at line {}", line_number + 1))?;
        let text = line.trim();
        if text.is_empty() {
            continue;
        }
        let value: f64 = match text.parse() {
            Ok(value) if f64::is_finite(value) => value,
            _ => bail!(
                "line {}: {:?} is not a finite number",
                line_number + 1,
                cut(text)
            ),
        };
        if binary && value != 0.0 && value != 1.0 {
            bail!(
                "line {}: {:?} is not 0 or 1; {} takes one outcome per prediction (1 = wrong, 0 = right)",
                line_number + 1,
                cut(text),
                args.detector
            );
        }
        match detector.update(value) {
            Signal::Drift => drifts.push(index),
            Signal::Statistic(statistic) if condition.is_some_and(|c| c.breached(statistic)) => {
                breaches.push(index)
            }
            Signal::Warning | Signal::Statistic(_) | Signal::Stable | Signal::NotReady => {}
        }
        // River's warning flag, which EDDM and two-sided HDDM can leave set on a drift step.
        if detector.warning_detected() {
            warnings.push(index);
        }
        index += 1;
    }
    let result = Detections {
        drifts,
        warnings,
        breaches: condition.map(|_| breaches),
    };
    serde_json::to_writer(&mut *out, &result)?;
    writeln!(out)?;
    Ok(())
}

/// What `detect` prints, in this key order.
#[derive(serde::Serialize)]
struct Detections {
    drifts: Vec<usize>,
    warnings: Vec<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    breaches: Option<Vec<usize>>,
}

/// Reads a command-line parameter value: a boolean, a whole number, a number, or text.
fn param_value(text: &str) -> ParamValue {
    match text {
        "true" => ParamValue::Bool(true),
        "false" => ParamValue::Bool(false),
        _ => match (text.parse::<i64>(), text.parse::<f64>()) {
            (Ok(integer), _) => ParamValue::Integer(integer),
            (_, Ok(float)) => ParamValue::Float(float),
            _ => ParamValue::String(text.to_string()),
        },
    }
}

fn cut(text: &str) -> &str {
    let mut end = text.len().min(40);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

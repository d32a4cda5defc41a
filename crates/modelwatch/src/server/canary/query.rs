//! The parameters of `/v1/canary/{model}`: a canary rule to take the settings from, settings
//! that override it, and the sides' selectors.

use modelwatch_engine::Verdict;
use modelwatch_engine::config::{Glob, MAX_CANARY_WINDOW, SeriesSelector};
use utoipa::IntoParams;

use crate::server::error::ApiError;
use crate::server::openapi;
use crate::server::params::{FromParams, Params};

/// The query of `/v1/canary/{model}`: a canary rule to take the settings from, and settings
/// that override it (or stand alone without one).
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub(in crate::server) struct CanaryQuery {
    /// A canary rule of the config (watching this model) whose settings to use; the other
    /// parameters override them.
    pub(super) rule: Option<String>,
    /// The metric compared; required without `rule`.
    pub(super) metric: Option<String>,
    /// The candidate's series: `instance=GLOB`, `version=GLOB` or both joined by a comma
    /// (`version=2.0,instance=canary-*`); required without `rule`.
    #[param(value_type = Option<String>, example = "instance=canary-*")]
    pub(super) candidate: Option<SeriesSelector>,
    /// The baseline's series, as `candidate`; they must differ. Required without `rule`.
    #[param(value_type = Option<String>, example = "instance=stable-*")]
    pub(super) baseline: Option<SeriesSelector>,
    /// The most recent points of each side compared (default 200).
    #[param(minimum = 1, maximum = 10000)]
    pub(super) window: Option<u32>,
    /// Fewer points on either side: `not_enough_data` (default 30, or the window if smaller).
    #[param(minimum = 0)]
    pub(super) min_samples: Option<u32>,
    /// The test's confidence, strictly between 0 and 1 (default 0.98).
    #[param(exclusive_minimum = 0, exclusive_maximum = 1)]
    pub(super) confidence: Option<f64>,
    /// A significant bad shift fails only when larger than this fraction of the baseline's
    /// median (default 0).
    #[param(minimum = 0)]
    pub(super) tolerance: Option<f64>,
    /// `pass` or `fail`: answer 200 only for that verdict, 412 for any other.
    #[param(value_type = Option<openapi::Verdict>)]
    pub(super) gate: Option<Verdict>,
}

impl FromParams for CanaryQuery {
    const NAMES: &'static [&'static str] = &[
        "rule",
        "metric",
        "candidate",
        "baseline",
        "window",
        "min_samples",
        "confidence",
        "tolerance",
        "gate",
    ];

    fn from_params(params: &mut Params) -> Result<CanaryQuery, ApiError> {
        let selector = |params: &mut Params, name: &'static str| {
            params
                .text(name)
                .map(|text| {
                    parse_selector(&text).map_err(|message| ApiError::bad_query(name, message))
                })
                .transpose()
        };
        let window = params.parse::<u32>("window", "is not a positive whole number")?;
        if let Some(window) = window
            && !(1..=MAX_CANARY_WINDOW).contains(&window)
        {
            return Err(ApiError::bad_query(
                "window",
                format!("{window} is not between 1 and {MAX_CANARY_WINDOW}"),
            ));
        }
        let confidence = params.parse::<f64>("confidence", "is not a number")?;
        if let Some(confidence) = confidence
            && !(confidence > 0.0 && confidence < 1.0)
        {
            return Err(ApiError::bad_query(
                "confidence",
                format!("{confidence} is not strictly between 0 and 1 (such as 0.98)"),
            ));
        }
        let tolerance = params.parse::<f64>("tolerance", "is not a number")?;
        if let Some(tolerance) = tolerance
            && !(tolerance.is_finite() && tolerance >= 0.0)
        {
            return Err(ApiError::bad_query(
                "tolerance",
                format!("{tolerance} is not a number of 0 or more (such as 0.05)"),
            ));
        }
        let gate = match params.text("gate").as_deref() {
            None => None,
            Some("pass") => Some(Verdict::Pass),
            Some("fail") => Some(Verdict::Fail),
            Some(other) => {
                return Err(ApiError::bad_query(
                    "gate",
                    format!("{other:?} is not a gate; use pass or fail"),
                ));
            }
        };
        Ok(CanaryQuery {
            rule: params.text("rule"),
            metric: params.text("metric"),
            candidate: selector(params, "candidate")?,
            baseline: selector(params, "baseline")?,
            window,
            min_samples: params.parse::<u32>("min_samples", "is not a whole number")?,
            confidence,
            tolerance,
            gate,
        })
    }
}

/// A side's selector in a query: `instance=canary-*`, `version=2.*`, or both joined by a comma
/// (`version=2.0,instance=canary-*`), globs as in a canary rule's `candidate` and `baseline`.
fn parse_selector(text: &str) -> Result<SeriesSelector, String> {
    let mut version = None;
    let mut instance = None;
    for part in text.split(',') {
        let (key, glob) = part.split_once('=').ok_or_else(|| {
            format!(
                "{text:?} is not a selector; use instance=GLOB, version=GLOB or both \
                 (version=2.0,instance=canary-*)"
            )
        })?;
        let slot = match key.trim() {
            "version" => &mut version,
            "instance" => &mut instance,
            other => {
                return Err(format!(
                    "{other:?} in {text:?} is not a selector key; use version or instance"
                ));
            }
        };
        if slot.is_some() {
            return Err(format!("{text:?} names {} twice", key.trim()));
        }
        let glob = glob.trim();
        if glob.is_empty() {
            return Err(format!("{text:?} gives {} an empty glob", key.trim()));
        }
        *slot = Some(Glob::new(glob).map_err(|error| format!("{glob:?}: {error}"))?);
    }
    Ok(SeriesSelector {
        version: version.unwrap_or(Glob::Any),
        instance: instance.unwrap_or(Glob::Any),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_parse_like_a_rules() {
        let both = parse_selector("version=2.*,instance=canary-*").unwrap();
        assert!(both.matches("2.0", "canary-0"));
        assert!(!both.matches("1.0", "canary-0"));
        assert_eq!(both.to_string(), "version 2.*, instance canary-*");
        let instance = parse_selector("instance=stable-*").unwrap();
        assert_eq!(instance.version, Glob::Any);
        assert!(instance.matches("anything", "stable-1"));
        for (bad, says) in [
            ("canary-*", "is not a selector"),
            ("host=a", "not a selector key"),
            ("version=1,version=2", "twice"),
            ("instance=", "empty glob"),
            ("version=[", "bad glob"),
        ] {
            let error = parse_selector(bad).unwrap_err();
            assert!(error.contains(says), "{bad}: {error}");
        }
    }
}

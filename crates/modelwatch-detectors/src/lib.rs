//! Online detectors for model metrics: threshold-like state detectors and exact ports of River's
//! change-point detectors. Pure computation: no I/O, no clock, no async, no required
//! dependencies.
//!
//! # Layout
//!
//! - [`Signal`], [`Condition`], [`Explanation`] (`signal.rs`): what a detector says after a point.
//! - [`DetectorKind`] (`kind.rs`) and [`DetectorSpec`] (`spec.rs`): the closed set of detector
//!   kinds and their validated parameters; [`DetectorSpec::parse`] collects every problem.
//! - [`ParamValue`], [`ParamError`] (`param.rs`): untyped parameter input and its errors.
//! - [`Detector`] (`detector.rs`): the runtime enum the engine holds per series.
//! - One file per detector: `threshold.rs`, `ema.rs`, `window_mean.rs` (state detectors) and
//!   `page_hinkley.rs`, `adwin.rs`, `kswin.rs` (change detectors that reproduce River 0.26.1
//!   bit for bit),
//!   `cusum.rs` (our own change detector, checked against an independent Python reference),
//!   and River's binary drift detectors over a 0/1 error stream, also bit for bit: `ddm.rs`,
//!   `eddm.rs`, `hddm_a.rs`, `hddm_w.rs`, `fhddm.rs` (see [`DetectorKind::takes_binary_input`]).
//! - [`mann_whitney`] (`mann_whitney.rs`): the two-sample Mann-Whitney U test with the
//!   confidence interval of the shift, as R's `wilcox.test` computes it: the statistics of canary
//!   judgement (a candidate's values against a baseline's), not a streaming detector.
//!
//! # Feature `serde`
//!
//! Off by default. Derives `Serialize` and `Deserialize` for [`Detector`], every detector and
//! every parameter type, so that a detector's whole state can be stored and continued later
//! (the engine's snapshots). See [`Detector`] for what is stored and what is checked.
//!
//! # Two families
//!
//! State detectors return [`Signal::Statistic`] once they have enough samples; the caller compares
//! the statistic with the spec's [`Condition`] and owns the pending/firing/resolved state.
//! Change detectors return [`Signal::Stable`] or [`Signal::Drift`] (DDM, EDDM and the HDDMs
//! also [`Signal::Warning`]; see [`Detector::warning_detected`]) and, like River, reset
//! themselves completely on the update that follows a drift.

#![warn(missing_docs)]

mod adwin;
mod cusum;
mod ddm;
mod detector;
mod eddm;
mod ema;
mod fhddm;
mod hddm_a;
mod hddm_w;
mod kind;
mod kswin;
mod mann_whitney;
mod page_hinkley;
mod param;
mod signal;
mod spec;
#[cfg(test)]
mod test_support;
mod threshold;
mod window_mean;

pub use adwin::{Adwin, AdwinParams};
pub use cusum::{Cusum, CusumMode, CusumParams};
pub use ddm::{Ddm, DdmParams};
pub use detector::Detector;
pub use eddm::{Eddm, EddmParams};
pub use ema::{Ema, EmaParams};
pub use fhddm::{Fhddm, FhddmParams, MAX_SLIDING_WINDOW_SIZE};
pub use hddm_a::{HddmA, HddmAParams};
pub use hddm_w::{HddmW, HddmWParams};
pub use kind::DetectorKind;
pub use kswin::{Kswin, KswinParams};
pub use mann_whitney::{MannWhitney, MannWhitneyError, mann_whitney, normal_cdf, normal_quantile};
pub use page_hinkley::{PageHinkley, PageHinkleyMode, PageHinkleyParams};
pub use param::{ParamError, ParamValue};
pub use signal::{Condition, Direction, Explanation, Signal};
pub use spec::DetectorSpec;
pub use threshold::{Threshold, ThresholdParams};
pub use window_mean::{WindowMean, WindowMeanParams};

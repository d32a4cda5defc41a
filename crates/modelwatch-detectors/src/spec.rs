//! [`DetectorSpec`]: a detector kind with validated parameters, parsed from untyped input.
//!
//! Must report every problem at once, never just the first.

use crate::param::{Field, ParamReader};
use crate::{
    Adwin, AdwinParams, Condition, Detector, DetectorKind, Direction, Ema, EmaParams, PageHinkley,
    PageHinkleyParams, ParamError, ParamValue, Threshold, ThresholdParams, WindowMean,
    WindowMeanParams,
};
use crate::{Cusum, CusumParams};
use crate::{
    Ddm, DdmParams, Eddm, EddmParams, Fhddm, FhddmParams, HddmA, HddmAParams, HddmW, HddmWParams,
};
use crate::{Kswin, KswinParams};

/// A detector kind with validated parameters: the data-only config that [`DetectorSpec::build`]
/// turns into a runtime [`Detector`].
#[derive(Clone, Debug, PartialEq)]
pub enum DetectorSpec {
    /// See [`Threshold`].
    Threshold(ThresholdParams),
    /// See [`Ema`].
    Ema(EmaParams),
    /// See [`WindowMean`].
    WindowMean(WindowMeanParams),
    /// See [`PageHinkley`].
    PageHinkley(PageHinkleyParams),
    /// See [`Adwin`].
    Adwin(AdwinParams),
    /// See [`Kswin`].
    Kswin(KswinParams),
    /// See [`Cusum`].
    Cusum(CusumParams),
    /// See [`Ddm`].
    Ddm(DdmParams),
    /// See [`Eddm`].
    Eddm(EddmParams),
    /// See [`HddmA`].
    HddmA(HddmAParams),
    /// See [`HddmW`].
    HddmW(HddmWParams),
    /// See [`Fhddm`].
    Fhddm(FhddmParams),
}

impl DetectorSpec {
    /// Validates `params` for the detector kind named `kind`.
    ///
    /// # Errors
    ///
    /// Every problem found, not just the first: an unknown kind; unknown parameter names (the
    /// message lists the valid ones); repeated names; wrong types; non-finite floats; floats
    /// given for integers that are not whole numbers; values out of range; a missing required
    /// parameter; both or neither of `below` and `above`; `resolve` on the wrong side of the
    /// bound; EDDM's `alpha` below its `beta`; FHDDM's `short_window_size` above its
    /// `sliding_window_size`.
    pub fn parse(
        kind: &str,
        params: &[(String, ParamValue)],
    ) -> Result<DetectorSpec, Vec<ParamError>> {
        let Some(kind) = DetectorKind::from_name(kind) else {
            let valid: Vec<&str> = DetectorKind::ALL.iter().map(|kind| kind.as_str()).collect();
            return Err(vec![ParamError::general(format!(
                "unknown detector kind `{kind}`; valid kinds: {}",
                valid.join(", ")
            ))]);
        };
        let mut reader = ParamReader::new(kind, params);
        let spec = match kind {
            DetectorKind::Threshold => {
                ThresholdParams::read(&mut reader).map(DetectorSpec::Threshold)
            }
            DetectorKind::Ema => EmaParams::read(&mut reader).map(DetectorSpec::Ema),
            DetectorKind::WindowMean => {
                WindowMeanParams::read(&mut reader).map(DetectorSpec::WindowMean)
            }
            DetectorKind::PageHinkley => {
                PageHinkleyParams::read(&mut reader).map(DetectorSpec::PageHinkley)
            }
            DetectorKind::Adwin => AdwinParams::read(&mut reader).map(DetectorSpec::Adwin),
            DetectorKind::Kswin => KswinParams::read(&mut reader).map(DetectorSpec::Kswin),
            DetectorKind::Cusum => CusumParams::read(&mut reader).map(DetectorSpec::Cusum),
            DetectorKind::Ddm => DdmParams::read(&mut reader).map(DetectorSpec::Ddm),
            DetectorKind::Eddm => EddmParams::read(&mut reader).map(DetectorSpec::Eddm),
            DetectorKind::HddmA => HddmAParams::read(&mut reader).map(DetectorSpec::HddmA),
            DetectorKind::HddmW => HddmWParams::read(&mut reader).map(DetectorSpec::HddmW),
            DetectorKind::Fhddm => FhddmParams::read(&mut reader).map(DetectorSpec::Fhddm),
        };
        reader.finish(spec)
    }

    /// The kind of detector this spec builds.
    pub fn kind(&self) -> DetectorKind {
        match self {
            DetectorSpec::Threshold(_) => DetectorKind::Threshold,
            DetectorSpec::Ema(_) => DetectorKind::Ema,
            DetectorSpec::WindowMean(_) => DetectorKind::WindowMean,
            DetectorSpec::PageHinkley(_) => DetectorKind::PageHinkley,
            DetectorSpec::Adwin(_) => DetectorKind::Adwin,
            DetectorSpec::Kswin(_) => DetectorKind::Kswin,
            DetectorSpec::Cusum(_) => DetectorKind::Cusum,
            DetectorSpec::Ddm(_) => DetectorKind::Ddm,
            DetectorSpec::Eddm(_) => DetectorKind::Eddm,
            DetectorSpec::HddmA(_) => DetectorKind::HddmA,
            DetectorSpec::HddmW(_) => DetectorKind::HddmW,
            DetectorSpec::Fhddm(_) => DetectorKind::Fhddm,
        }
    }

    /// The condition a state detector's statistic is compared with; `None` for change
    /// detectors.
    pub fn condition(&self) -> Option<&Condition> {
        match self {
            DetectorSpec::Threshold(params) => Some(&params.condition),
            DetectorSpec::Ema(params) => Some(&params.condition),
            DetectorSpec::WindowMean(params) => Some(&params.condition),
            DetectorSpec::PageHinkley(_) | DetectorSpec::Adwin(_) => None,
            DetectorSpec::Cusum(_) => None,
            DetectorSpec::Ddm(_)
            | DetectorSpec::Eddm(_)
            | DetectorSpec::HddmA(_)
            | DetectorSpec::HddmW(_)
            | DetectorSpec::Fhddm(_) => None,
            DetectorSpec::Kswin(_) => None,
        }
    }

    /// A fresh detector with these parameters.
    pub fn build(&self) -> Detector {
        match self {
            DetectorSpec::Threshold(params) => Detector::Threshold(Threshold::new(*params)),
            DetectorSpec::Ema(params) => Detector::Ema(Ema::new(*params)),
            DetectorSpec::WindowMean(params) => Detector::WindowMean(WindowMean::new(*params)),
            DetectorSpec::PageHinkley(params) => Detector::PageHinkley(PageHinkley::new(*params)),
            DetectorSpec::Adwin(params) => Detector::Adwin(Adwin::new(*params)),
            DetectorSpec::Kswin(params) => Detector::Kswin(Box::new(Kswin::new(*params))),
            DetectorSpec::Cusum(params) => Detector::Cusum(Cusum::new(*params)),
            DetectorSpec::Ddm(params) => Detector::Ddm(Ddm::new(*params)),
            DetectorSpec::Eddm(params) => Detector::Eddm(Eddm::new(*params)),
            DetectorSpec::HddmA(params) => Detector::HddmA(HddmA::new(*params)),
            DetectorSpec::HddmW(params) => Detector::HddmW(HddmW::new(*params)),
            DetectorSpec::Fhddm(params) => Detector::Fhddm(Fhddm::new(*params)),
        }
    }

    /// True when [`DetectorSpec::build`] would draw a fresh random seed: a `kswin` without a
    /// `seed` parameter. Callers that must be reproducible use
    /// [`DetectorSpec::build_with_seed`] instead.
    pub fn uses_random_seed(&self) -> bool {
        match self {
            DetectorSpec::Kswin(params) => params.seed.is_none(),
            DetectorSpec::Threshold(_)
            | DetectorSpec::Ema(_)
            | DetectorSpec::WindowMean(_)
            | DetectorSpec::PageHinkley(_)
            | DetectorSpec::Adwin(_)
            | DetectorSpec::Cusum(_)
            | DetectorSpec::Ddm(_)
            | DetectorSpec::Eddm(_)
            | DetectorSpec::HddmA(_)
            | DetectorSpec::HddmW(_)
            | DetectorSpec::Fhddm(_) => false,
        }
    }

    /// The spec that [`DetectorSpec::build_with_seed`] builds: a detector that would draw a
    /// fresh random seed takes `seed` instead; a `seed` parameter in the spec still wins, and
    /// every other spec is returned as it is.
    pub fn with_seed(&self, seed: u64) -> DetectorSpec {
        match self {
            DetectorSpec::Kswin(params) => DetectorSpec::Kswin(KswinParams {
                seed: Some(params.seed.unwrap_or(seed)),
                ..*params
            }),
            DetectorSpec::Threshold(_)
            | DetectorSpec::Ema(_)
            | DetectorSpec::WindowMean(_)
            | DetectorSpec::PageHinkley(_)
            | DetectorSpec::Adwin(_)
            | DetectorSpec::Cusum(_)
            | DetectorSpec::Ddm(_)
            | DetectorSpec::Eddm(_)
            | DetectorSpec::HddmA(_)
            | DetectorSpec::HddmW(_)
            | DetectorSpec::Fhddm(_) => self.clone(),
        }
    }

    /// Like [`DetectorSpec::build`], but a detector that would draw a fresh random seed uses
    /// `seed` instead; a `seed` parameter in the spec still wins.
    pub fn build_with_seed(&self, seed: u64) -> Detector {
        self.with_seed(seed).build()
    }
}

/// Reads `below`/`above`/`resolve` into a [`Condition`], recording every problem.
pub(crate) fn read_condition(reader: &mut ParamReader<'_>) -> Option<Condition> {
    let below = reader.float("below");
    let above = reader.float("above");
    let resolve = reader.float("resolve");
    let (direction, bound) = match (below, above) {
        (Field::Valid(bound), Field::Absent) => (Direction::Below, bound),
        (Field::Absent, Field::Valid(bound)) => (Direction::Above, bound),
        (Field::Absent, Field::Absent) => {
            reader.general_error("one of `below` or `above` is required");
            return None;
        }
        (below, above) if below.is_present() && above.is_present() => {
            reader.general_error("`below` and `above` are mutually exclusive; give only one");
            return None;
        }
        // One of them is invalid; that is already recorded.
        _ => return None,
    };
    let resolve = match resolve {
        Field::Absent => None,
        Field::Invalid => return None,
        Field::Valid(resolve) => {
            let wrong_side = match direction {
                Direction::Below => resolve < bound,
                Direction::Above => resolve > bound,
            };
            if wrong_side {
                let relation = match direction {
                    Direction::Below => ">=",
                    Direction::Above => "<=",
                };
                reader.error(
                    "resolve",
                    format!(
                        "must be {relation} the `{}` bound ({bound}) so the alert clears on the good side, got {resolve}",
                        direction.as_str()
                    ),
                );
                return None;
            }
            Some(resolve)
        }
    };
    Some(Condition {
        direction,
        bound,
        resolve,
    })
}

#[cfg(test)]
mod tests;

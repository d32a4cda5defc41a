//! [`Detector`]: the runtime enum the engine keeps per series, dispatching to one detector.
//!
//! Must not allocate per update (only ADWIN, when its window first needs a new bucket row).

use crate::Cusum;
use crate::{Adwin, DetectorKind, Ema, Explanation, PageHinkley, Signal, Threshold, WindowMean};
use crate::{Ddm, Eddm, Fhddm, HddmA, HddmW};
use crate::{DetectorSpec, Kswin, KswinParams};

/// A running detector of any kind, built by [`crate::DetectorSpec::build`].
///
/// With the `serde` feature every detector's whole state serializes and deserializes: a
/// deserialized detector continues exactly where the serialized one was, bit for bit. Fields
/// that its parameters determine (tables, scratch, KSWIN's sorted view of its window) are not
/// stored but rebuilt, and the stored state is checked against its parameters (sizes,
/// positions, counts), so that no index can go out of bounds. Serialize floats with a format
/// that keeps every bit (NaN and infinities included), such as a binary one; JSON does not.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Detector {
    /// See [`Threshold`].
    Threshold(Threshold),
    /// See [`Ema`].
    Ema(Ema),
    /// See [`WindowMean`].
    WindowMean(WindowMean),
    /// See [`PageHinkley`].
    PageHinkley(PageHinkley),
    /// See [`Adwin`].
    Adwin(Adwin),
    /// See [`Kswin`]. Boxed: it is the largest detector, and the engine keeps a `Detector` per
    /// (series, rule), so every other kind would pay for its size.
    Kswin(Box<Kswin>),
    /// See [`Cusum`].
    Cusum(Cusum),
    /// See [`Ddm`].
    Ddm(Ddm),
    /// See [`Eddm`].
    Eddm(Eddm),
    /// See [`HddmA`].
    HddmA(HddmA),
    /// See [`HddmW`].
    HddmW(HddmW),
    /// See [`Fhddm`].
    Fhddm(Fhddm),
}

impl Detector {
    /// Takes the next point of the series.
    ///
    /// State detectors return [`Signal::NotReady`] below their minimum sample count, else
    /// [`Signal::Statistic`]. Change detectors return [`Signal::NotReady`] while they cannot
    /// signal yet, else [`Signal::Stable`] or [`Signal::Drift`]; DDM, EDDM and HDDM also return
    /// [`Signal::Warning`] while in their warning zone (and not drifting).
    #[inline]
    pub fn update(&mut self, x: f64) -> Signal {
        match self {
            Detector::Threshold(detector) => detector.update(x),
            Detector::Ema(detector) => detector.update(x),
            Detector::WindowMean(detector) => detector.update(x),
            Detector::PageHinkley(detector) => detector.update_signal(x),
            Detector::Adwin(detector) => detector.update_signal(x),
            Detector::Kswin(detector) => detector.update_signal(x),
            Detector::Cusum(detector) => detector.update_signal(x),
            Detector::Ddm(detector) => detector.update_signal(x),
            Detector::Eddm(detector) => detector.update_signal(x),
            Detector::HddmA(detector) => detector.update_signal(x),
            Detector::HddmW(detector) => detector.update_signal(x),
            Detector::Fhddm(detector) => detector.update_signal(x),
        }
    }

    /// River's `warning_detected` after the most recent update: true while a warning-capable
    /// change detector is in its warning zone. It can be true on a drift step too (EDDM and
    /// two-sided HDDM leave it set), which [`Signal`] cannot say; always false for detectors
    /// without a warning zone.
    pub fn warning_detected(&self) -> bool {
        match self {
            Detector::Threshold(_)
            | Detector::Ema(_)
            | Detector::WindowMean(_)
            | Detector::PageHinkley(_)
            | Detector::Adwin(_) => false,
            Detector::Cusum(detector) => detector.warning_detected(),
            Detector::Ddm(detector) => detector.warning_detected(),
            Detector::Eddm(detector) => detector.warning_detected(),
            Detector::HddmA(detector) => detector.warning_detected(),
            Detector::HddmW(detector) => detector.warning_detected(),
            Detector::Fhddm(detector) => detector.warning_detected(),
            Detector::Kswin(detector) => detector.warning_detected(),
        }
    }

    /// Forgets every point: afterwards the detector behaves exactly like a freshly built one.
    pub fn reset(&mut self) {
        match self {
            Detector::Threshold(detector) => detector.reset(),
            Detector::Ema(detector) => detector.reset(),
            Detector::WindowMean(detector) => detector.reset(),
            Detector::PageHinkley(detector) => detector.reset(),
            Detector::Adwin(detector) => detector.reset(),
            Detector::Kswin(detector) => detector.reset(),
            Detector::Cusum(detector) => detector.reset(),
            Detector::Ddm(detector) => detector.reset(),
            Detector::Eddm(detector) => detector.reset(),
            Detector::HddmA(detector) => detector.reset(),
            Detector::HddmW(detector) => detector.reset(),
            Detector::Fhddm(detector) => detector.reset(),
        }
    }

    /// Describes the state right after the most recent update.
    pub fn explain(&self) -> Explanation {
        match self {
            Detector::Threshold(detector) => detector.explain(),
            Detector::Ema(detector) => detector.explain(),
            Detector::WindowMean(detector) => detector.explain(),
            Detector::PageHinkley(detector) => detector.explain(),
            Detector::Adwin(detector) => detector.explain(),
            Detector::Kswin(detector) => detector.explain(),
            Detector::Cusum(detector) => detector.explain(),
            Detector::Ddm(detector) => detector.explain(),
            Detector::Eddm(detector) => detector.explain(),
            Detector::HddmA(detector) => detector.explain(),
            Detector::HddmW(detector) => detector.explain(),
            Detector::Fhddm(detector) => detector.explain(),
        }
    }

    /// The parameters it runs with: [`DetectorSpec::build`] of this spec makes a fresh
    /// detector like this one. A KSWIN's spec names the seed in use, also when it was built
    /// without one.
    pub fn spec(&self) -> DetectorSpec {
        match self {
            Detector::Threshold(detector) => DetectorSpec::Threshold(*detector.params()),
            Detector::Ema(detector) => DetectorSpec::Ema(*detector.params()),
            Detector::WindowMean(detector) => DetectorSpec::WindowMean(*detector.params()),
            Detector::PageHinkley(detector) => DetectorSpec::PageHinkley(*detector.params()),
            Detector::Adwin(detector) => DetectorSpec::Adwin(*detector.params()),
            Detector::Kswin(detector) => DetectorSpec::Kswin(KswinParams {
                seed: Some(detector.seed()),
                ..*detector.params()
            }),
            Detector::Cusum(detector) => DetectorSpec::Cusum(*detector.params()),
            Detector::Ddm(detector) => DetectorSpec::Ddm(*detector.params()),
            Detector::Eddm(detector) => DetectorSpec::Eddm(*detector.params()),
            Detector::HddmA(detector) => DetectorSpec::HddmA(*detector.params()),
            Detector::HddmW(detector) => DetectorSpec::HddmW(*detector.params()),
            Detector::Fhddm(detector) => DetectorSpec::Fhddm(*detector.params()),
        }
    }

    /// The kind of this detector.
    pub fn kind(&self) -> DetectorKind {
        match self {
            Detector::Threshold(_) => DetectorKind::Threshold,
            Detector::Ema(_) => DetectorKind::Ema,
            Detector::WindowMean(_) => DetectorKind::WindowMean,
            Detector::PageHinkley(_) => DetectorKind::PageHinkley,
            Detector::Adwin(_) => DetectorKind::Adwin,
            Detector::Kswin(_) => DetectorKind::Kswin,
            Detector::Cusum(_) => DetectorKind::Cusum,
            Detector::Ddm(_) => DetectorKind::Ddm,
            Detector::Eddm(_) => DetectorKind::Eddm,
            Detector::HddmA(_) => DetectorKind::HddmA,
            Detector::HddmW(_) => DetectorKind::HddmW,
            Detector::Fhddm(_) => DetectorKind::Fhddm,
        }
    }
}

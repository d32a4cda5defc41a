//! [`Detector`]: the runtime enum the engine keeps per series, dispatching to one detector.
//!
//! Must not allocate per update (only ADWIN, when its window first needs a new bucket row).

use crate::{Adwin, DetectorKind, Ema, Explanation, PageHinkley, Signal, Threshold, WindowMean};

/// A running detector of any kind, built by [`crate::DetectorSpec::build`].
#[derive(Clone, Debug)]
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
}

impl Detector {
    /// Takes the next point of the series.
    ///
    /// State detectors return [`Signal::NotReady`] below their minimum sample count, else
    /// [`Signal::Statistic`]. Change detectors return [`Signal::NotReady`] while they cannot
    /// signal yet, else [`Signal::Stable`] or [`Signal::Drift`].
    #[inline]
    pub fn update(&mut self, x: f64) -> Signal {
        match self {
            Detector::Threshold(detector) => detector.update(x),
            Detector::Ema(detector) => detector.update(x),
            Detector::WindowMean(detector) => detector.update(x),
            Detector::PageHinkley(detector) => detector.update_signal(x),
            Detector::Adwin(detector) => detector.update_signal(x),
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
        }
    }
}

//! The closed set of detector kinds and their parameter names.

/// A detector kind, named in configs by [`DetectorKind::as_str`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DetectorKind {
    /// The raw value against a bound.
    Threshold,
    /// An exponentially weighted moving average against a bound.
    Ema,
    /// The mean of the last N values against a bound.
    WindowMean,
    /// Page-Hinkley change detection, River's `drift.PageHinkley`.
    PageHinkley,
    /// Adaptive windowing change detection, River's `drift.ADWIN`.
    Adwin,
}

impl DetectorKind {
    /// Every kind, in documentation order.
    pub const ALL: &'static [DetectorKind] = &[
        DetectorKind::Threshold,
        DetectorKind::Ema,
        DetectorKind::WindowMean,
        DetectorKind::PageHinkley,
        DetectorKind::Adwin,
    ];

    /// The config name: `"threshold"`, `"ema"`, `"window_mean"`, `"page_hinkley"` or `"adwin"`.
    pub fn as_str(self) -> &'static str {
        match self {
            DetectorKind::Threshold => "threshold",
            DetectorKind::Ema => "ema",
            DetectorKind::WindowMean => "window_mean",
            DetectorKind::PageHinkley => "page_hinkley",
            DetectorKind::Adwin => "adwin",
        }
    }

    /// The kind with config name `name` (exact, case-sensitive).
    pub fn from_name(name: &str) -> Option<DetectorKind> {
        DetectorKind::ALL
            .iter()
            .copied()
            .find(|kind| kind.as_str() == name)
    }

    /// True for change-point detectors (Page-Hinkley, ADWIN), which report
    /// [`crate::Signal::Drift`] instead of a statistic.
    pub fn is_change_detector(self) -> bool {
        matches!(self, DetectorKind::PageHinkley | DetectorKind::Adwin)
    }

    /// The parameter names this kind accepts, in documentation order.
    pub fn param_names(self) -> &'static [&'static str] {
        match self {
            DetectorKind::Threshold => &["below", "above", "resolve"],
            DetectorKind::Ema => &["alpha", "min_samples", "below", "above", "resolve"],
            DetectorKind::WindowMean => &["window", "min_samples", "below", "above", "resolve"],
            DetectorKind::PageHinkley => &["min_instances", "delta", "threshold", "alpha", "mode"],
            DetectorKind::Adwin => &[
                "delta",
                "clock",
                "max_buckets",
                "min_window_length",
                "grace_period",
            ],
        }
    }
}

impl std::fmt::Display for DetectorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

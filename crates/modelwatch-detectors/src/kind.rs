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
    /// Kolmogorov-Smirnov windowing change detection, River's `drift.KSWIN`.
    Kswin,
    /// Tabular CUSUM change detection (our own; no River counterpart).
    Cusum,
    /// Drift Detection Method on a 0/1 error stream, River's `drift.binary.DDM`.
    Ddm,
    /// Early Drift Detection Method on a 0/1 error stream, River's `drift.binary.EDDM`.
    Eddm,
    /// Hoeffding-bound drift detection (average test) on a 0/1 error stream, River's
    /// `drift.binary.HDDMA`.
    HddmA,
    /// McDiarmid-bound drift detection (weighted average test) on a 0/1 error stream, River's
    /// `drift.binary.HDDMW`.
    HddmW,
    /// Fast Hoeffding Drift Detection Method on a 0/1 stream, River's `drift.binary.FHDDM`.
    Fhddm,
}

impl DetectorKind {
    /// Every kind, in documentation order.
    pub const ALL: &'static [DetectorKind] = &[
        DetectorKind::Threshold,
        DetectorKind::Ema,
        DetectorKind::WindowMean,
        DetectorKind::PageHinkley,
        DetectorKind::Adwin,
        DetectorKind::Kswin,
        DetectorKind::Cusum,
        DetectorKind::Ddm,
        DetectorKind::Eddm,
        DetectorKind::HddmA,
        DetectorKind::HddmW,
        DetectorKind::Fhddm,
    ];

    /// The config name, e.g. `"threshold"`, `"page_hinkley"` or `"cusum"` (one per kind in
    /// [`DetectorKind::ALL`]).
    pub fn as_str(self) -> &'static str {
        match self {
            DetectorKind::Threshold => "threshold",
            DetectorKind::Ema => "ema",
            DetectorKind::WindowMean => "window_mean",
            DetectorKind::PageHinkley => "page_hinkley",
            DetectorKind::Adwin => "adwin",
            DetectorKind::Kswin => "kswin",
            DetectorKind::Cusum => "cusum",
            DetectorKind::Ddm => "ddm",
            DetectorKind::Eddm => "eddm",
            DetectorKind::HddmA => "hddm_a",
            DetectorKind::HddmW => "hddm_w",
            DetectorKind::Fhddm => "fhddm",
        }
    }

    /// The kind with config name `name` (exact, case-sensitive).
    pub fn from_name(name: &str) -> Option<DetectorKind> {
        DetectorKind::ALL
            .iter()
            .copied()
            .find(|kind| kind.as_str() == name)
    }

    /// True for change-point detectors (every kind but `threshold`, `ema` and `window_mean`),
    /// which report [`crate::Signal::Drift`] instead of a statistic.
    pub fn is_change_detector(self) -> bool {
        match self {
            DetectorKind::Threshold | DetectorKind::Ema | DetectorKind::WindowMean => false,
            DetectorKind::PageHinkley
            | DetectorKind::Adwin
            | DetectorKind::Kswin
            | DetectorKind::Cusum
            | DetectorKind::Ddm
            | DetectorKind::Eddm
            | DetectorKind::HddmA
            | DetectorKind::HddmW
            | DetectorKind::Fhddm => true,
        }
    }

    /// True for River's binary drift detectors (`ddm`, `eddm`, `hddm_a`, `hddm_w`, `fhddm`),
    /// which expect one 0/1 value per prediction: 1 when the prediction was wrong, 0 when it
    /// was right. The detectors themselves accept any `f64`, as River does (each documents what
    /// other values do); callers should reject anything but 0 and 1 for these kinds.
    pub fn takes_binary_input(self) -> bool {
        match self {
            DetectorKind::Ddm
            | DetectorKind::Eddm
            | DetectorKind::HddmA
            | DetectorKind::HddmW
            | DetectorKind::Fhddm => true,
            DetectorKind::Threshold
            | DetectorKind::Ema
            | DetectorKind::WindowMean
            | DetectorKind::PageHinkley
            | DetectorKind::Adwin
            | DetectorKind::Kswin
            | DetectorKind::Cusum => false,
        }
    }

    /// True for the detectors with a warning zone before a drift (`ddm`, `eddm`, `hddm_a`,
    /// `hddm_w`): they can return [`crate::Signal::Warning`] and set
    /// [`crate::Detector::warning_detected`].
    pub fn has_warning_zone(self) -> bool {
        match self {
            DetectorKind::Ddm | DetectorKind::Eddm | DetectorKind::HddmA | DetectorKind::HddmW => {
                true
            }
            DetectorKind::Threshold
            | DetectorKind::Ema
            | DetectorKind::WindowMean
            | DetectorKind::PageHinkley
            | DetectorKind::Adwin
            | DetectorKind::Kswin
            | DetectorKind::Cusum
            | DetectorKind::Fhddm => false,
        }
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
            DetectorKind::Kswin => &["alpha", "window_size", "stat_size", "seed"],
            DetectorKind::Cusum => &["target", "k", "h", "warm_up", "mode"],
            DetectorKind::Ddm => &[
                "warm_start",
                "warning_threshold",
                "drift_threshold",
                "ignore_zero_variance_minimum",
            ],
            DetectorKind::Eddm => &["warm_start", "alpha", "beta"],
            DetectorKind::HddmA => &["drift_confidence", "warning_confidence", "two_sided_test"],
            DetectorKind::HddmW => &[
                "drift_confidence",
                "warning_confidence",
                "lambda_val",
                "two_sided_test",
            ],
            DetectorKind::Fhddm => &[
                "sliding_window_size",
                "confidence_level",
                "short_window_size",
                "detect_error_increase",
            ],
        }
    }
}

impl std::fmt::Display for DetectorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

//! Isotonic calibration of scores, as scikit-learn's `IsotonicRegression(out_of_bounds="clip")`.

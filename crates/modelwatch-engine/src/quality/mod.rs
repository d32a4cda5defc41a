//! Quality computed from raw model traffic: realized metrics over windows of labeled
//! predictions (`metrics`, as scikit-learn computes them) and estimated metrics before labels
//! arrive (`cbpe` with `isotonic` calibration, as NannyML's CBPE computes them).

pub mod cbpe;
pub mod isotonic;
pub mod metrics;

//! Quality computed from raw model traffic: realized metrics over windows of labeled
//! predictions (`metrics`, as scikit-learn computes them) and estimated metrics before labels
//! arrive (`cbpe` with `isotonic` calibration, as NannyML's CBPE computes them).

pub mod cbpe;
pub(crate) mod drift;
mod drift_memory;
mod drift_status;
mod in_force;
pub mod isotonic;
pub mod join;
pub mod metrics;
mod prepared;
mod state;
mod tracker;
mod verdict;
pub mod window;

pub use drift::Cell;
pub use drift_status::{DriftStatus, InstanceDrift, WindowDrift};
pub use in_force::{ReferenceInForce, ReferenceOrigin, VersionReference};
pub(crate) use state::QualityState;
pub use tracker::{QualityTracker, TrafficCounts};
pub use verdict::{ColumnOutcome, ColumnScore, ColumnVerdict, DriftOptions, DriftReport};

//! The integration tests of modelwatch-detectors, in one binary: River's own test cases and
//! golden fixtures generated from River (both through one `check`), River's regression checks,
//! property tests, and the benchmark streams' recipe.

// Test helpers outside `#[test]` functions panic on broken fixtures, which is what a test should do.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod bench_streams;
mod cases;
mod properties;
mod regression;
#[cfg(feature = "serde")]
mod serde_state;

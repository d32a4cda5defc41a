//! The engine's integration tests: one binary (see STYLE.md section 7).

mod properties;
mod streams;

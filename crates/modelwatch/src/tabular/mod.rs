//! Tabular data as text: CSV with a header or JSON Lines, read into columns of cells with
//! errors naming the line and the column. `modelwatch drift` and `quality` read their files
//! with it; a drift reference (a config's `reference = { file }`, an upload) too
//! (`reference.rs`).

pub mod cells;
pub mod decimals;
pub mod plain_csv;
pub mod raw;
pub mod records;
pub mod reference;

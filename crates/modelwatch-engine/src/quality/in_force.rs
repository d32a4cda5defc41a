//! The drift reference in force for each model: one uploaded ([`Input::Reference`]) replaces
//! the config's (`first = N` or `file`) for every version and instance of the model, from its
//! sequence number on; and what `GET /v1/models/{name}/reference` shows of it.
//!
//! [`Input::Reference`]: crate::Input::Reference

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::drift::{Cell, Table};
use super::tracker::{ModelTraffic, QualityTracker};
use crate::config::ReferenceSource;
use crate::drift::ColumnType;
use crate::event::Timestamp;
use crate::reference::{ReferenceTable, ReferenceUpload};

/// A model's uploaded reference, with the input that brought it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct UploadedReference {
    pub(crate) seq: u64,
    /// Its event time, in nanoseconds since the epoch.
    pub(crate) at: i64,
    pub(crate) table: Arc<ReferenceTable>,
}

/// Where the reference in force comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum ReferenceOrigin {
    /// Uploaded by the input `seq`, at `at`.
    Upload {
        /// The input's sequence number.
        seq: u64,
        /// Its time.
        at: Timestamp,
    },
    /// The config's `reference = { file = path }`.
    File {
        /// The path as written in the config.
        path: String,
    },
    /// The config's `reference = { first = N }`: each version's first N predictions.
    First {
        /// N.
        n: u32,
    },
}

/// One version's reference under `first = N`: how far it is filled, and its columns.
#[derive(Clone, Debug, PartialEq)]
pub struct VersionReference {
    /// The version.
    pub version: String,
    /// Rows it holds so far (at most N).
    pub rows: u32,
    /// Its columns and their types, in name order.
    pub columns: Vec<(String, ColumnType)>,
}

/// The reference a model's drift windows are compared with.
#[derive(Clone, Debug, PartialEq)]
pub struct ReferenceInForce {
    /// Where it comes from.
    pub origin: ReferenceOrigin,
    /// The table, for an upload or a file (`None` for a file the engine was not given).
    pub table: Option<Arc<ReferenceTable>>,
    /// Each version's, under `first = N`, in the order versions came.
    pub versions: Vec<VersionReference>,
    /// The column types the config declares (`drift_categorical`, `drift_numerical`), sorted
    /// by column: they override the reference's own.
    pub declared: Vec<(String, ColumnType)>,
}

impl QualityTracker {
    /// Takes a reference upload: for a model with drift settings, it replaces the reference
    /// in force from now on (the next drift window of every instance is compared with it).
    /// Ignored for a model without.
    pub fn on_reference(&mut self, seq: u64, at: Timestamp, upload: &ReferenceUpload) {
        let has_drift = self
            .config
            .models
            .settings_for(&upload.model)
            .is_some_and(|(_, settings)| settings.drift.is_some());
        if !has_drift {
            return;
        }
        let traffic = self
            .models
            .entry(upload.model.clone())
            .or_insert_with(ModelTraffic::new);
        traffic.uploaded = Some(UploadedReference {
            seq,
            at: at.as_nanos(),
            table: upload.table.clone(),
        });
    }

    /// The reference in force for model `name`; `None` when it has no drift settings.
    pub fn reference_in_force(&self, name: &str) -> Option<ReferenceInForce> {
        let (_, settings) = self.config.models.settings_for(name)?;
        let drift = settings.drift.as_ref()?;
        let traffic = self.models.get(name);
        if let Some(uploaded) = traffic.and_then(|traffic| traffic.uploaded.as_ref()) {
            return Some(ReferenceInForce {
                origin: ReferenceOrigin::Upload {
                    seq: uploaded.seq,
                    at: Timestamp::from_nanos(uploaded.at),
                },
                table: Some(uploaded.table.clone()),
                versions: Vec::new(),
                declared: drift.types.clone(),
            });
        }
        Some(match &drift.reference {
            ReferenceSource::File { path, table } => ReferenceInForce {
                origin: ReferenceOrigin::File { path: path.clone() },
                table: table.clone(),
                versions: Vec::new(),
                declared: drift.types.clone(),
            },
            ReferenceSource::First(n) => ReferenceInForce {
                origin: ReferenceOrigin::First { n: *n },
                table: None,
                versions: traffic
                    .map(|traffic| traffic.drift_references.as_slice())
                    .unwrap_or_default()
                    .iter()
                    .map(|(version, table)| VersionReference {
                        version: version.clone(),
                        rows: table.rows,
                        columns: column_types(table),
                    })
                    .collect(),
                declared: drift.types.clone(),
            },
        })
    }
}

/// Each column's type, as Evidently types a reference column: numerical when every value
/// present is a number.
fn column_types(table: &Table) -> Vec<(String, ColumnType)> {
    table
        .columns
        .iter()
        .map(|(name, cells)| {
            let numerical = cells
                .iter()
                .all(|cell| matches!(cell, Cell::Missing | Cell::Number(_)));
            let kind = if numerical {
                ColumnType::Numerical
            } else {
                ColumnType::Categorical
            };
            (name.clone(), kind)
        })
        .collect()
}

//! The drift reference in force for each model: one uploaded ([`Input::Reference`]) replaces
//! the config's (`first = N` or `file`) for every version and instance of the model, from its
//! sequence number on; and what `GET /v1/models/{name}/reference` shows of it.
//!
//! [`Input::Reference`]: crate::Input::Reference

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::drift::{Cell, Table};
use super::tracker::{ModelTraffic, QualityTracker};
use crate::config::{DriftSettings, ReferenceSource};
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
    /// The table's columns and the types they are compared as (the declared one, else the
    /// reference's own), in name order; `None` without a table.
    pub columns: Option<Vec<(String, ColumnType)>>,
    /// Each version's, under `first = N`, in the order versions came.
    pub versions: Vec<VersionReference>,
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
        // The windows compared with the reference before were compared with another.
        for instance in &mut traffic.instances {
            instance.last_drift = None;
        }
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
                columns: Some(table_types(&uploaded.table, drift)),
                table: Some(uploaded.table.clone()),
                versions: Vec::new(),
            });
        }
        Some(match &drift.reference {
            ReferenceSource::File { path, table } => ReferenceInForce {
                origin: ReferenceOrigin::File { path: path.clone() },
                columns: table.as_ref().map(|table| table_types(table, drift)),
                table: table.clone(),
                versions: Vec::new(),
            },
            ReferenceSource::First(n) => ReferenceInForce {
                origin: ReferenceOrigin::First { n: *n },
                table: None,
                columns: None,
                versions: traffic
                    .map(|traffic| traffic.drift_references.as_slice())
                    .unwrap_or_default()
                    .iter()
                    .map(|(version, table)| VersionReference {
                        version: version.clone(),
                        rows: table.rows,
                        columns: column_types(table, drift),
                    })
                    .collect(),
            },
        })
    }
}

/// Each column of a version's reference and the type it is compared as: the declared one,
/// else the reference's own (numerical when every value present is a number).
fn column_types(table: &Table, drift: &DriftSettings) -> Vec<(String, ColumnType)> {
    table
        .columns
        .iter()
        .map(|(name, cells)| {
            let inferred = if Cell::all_numbers(cells) {
                ColumnType::Numerical
            } else {
                ColumnType::Categorical
            };
            (name.clone(), drift.type_for(name).unwrap_or(inferred))
        })
        .collect()
}

/// Each column of a given reference and the type it is compared as.
fn table_types(table: &ReferenceTable, drift: &DriftSettings) -> Vec<(String, ColumnType)> {
    table
        .column_types()
        .map(|(name, inferred)| (name.to_string(), drift.type_for(name).unwrap_or(inferred)))
        .collect()
}

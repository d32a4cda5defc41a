//! The quality tracker's state as the engine snapshot stores it, and its checked restore:
//! models sorted by name, the pending join in slab order, score rows sorted by key.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::cbpe::Reference;
use super::drift::Table;
use super::in_force::UploadedReference;
use super::join::{IdKey, Pending, PendingJoin};
use super::tracker::{InstanceQuality, ModelTraffic, QualityTracker, TrafficCounts};
use crate::config::Config;

/// Every model's traffic state.
#[derive(Serialize, Deserialize)]
pub(crate) struct QualityState {
    models: Vec<ModelState>,
}

#[derive(Serialize, Deserialize)]
struct ModelState {
    name: String,
    clock: i64,
    next_sweep: i64,
    instances: Vec<InstanceQuality>,
    classes: Vec<String>,
    pending: Vec<Pending>,
    rows: Vec<(IdKey, Vec<(u32, f64)>)>,
    versions: Vec<(String, Option<Reference>)>,
    drift_references: Vec<(String, Table)>,
    uploaded: Option<UploadedReference>,
    counts: TrafficCounts,
}

impl QualityState {
    /// The state of `tracker`.
    pub(crate) fn of(tracker: &QualityTracker) -> QualityState {
        let models = tracker
            .models
            .iter()
            .map(|(name, traffic)| {
                let mut rows: Vec<(IdKey, Vec<(u32, f64)>)> = traffic
                    .rows
                    .iter()
                    .map(|(key, row)| (*key, row.clone()))
                    .collect();
                rows.sort_unstable_by_key(|(key, _)| *key);
                ModelState {
                    name: name.clone(),
                    clock: traffic.clock,
                    next_sweep: traffic.next_sweep,
                    instances: traffic.instances.clone(),
                    classes: traffic.classes.clone(),
                    pending: traffic.join.entries().to_vec(),
                    rows,
                    versions: traffic.versions.clone(),
                    drift_references: traffic.drift_references.clone(),
                    uploaded: traffic.uploaded.clone(),
                    counts: traffic.counts,
                }
            })
            .collect();
        QualityState { models }
    }

    /// A tracker in this state, for `config`.
    ///
    /// # Errors
    ///
    /// A sentence naming the model whose state is inconsistent (an index out of range, a
    /// key twice, a name twice): a snapshot that decodes must never make the tracker panic.
    pub(crate) fn restore(self, config: Arc<Config>) -> Result<QualityTracker, String> {
        let mut models = BTreeMap::new();
        for state in self.models {
            let name = state.name.clone();
            let traffic = restore_model(state).map_err(|problem| {
                format!("the traffic state of model {name:?} is inconsistent: {problem}")
            })?;
            if models.insert(name.clone(), traffic).is_some() {
                return Err(format!("model {name:?} has two traffic states"));
            }
        }
        Ok(QualityTracker { config, models })
    }
}

fn restore_model(state: ModelState) -> Result<ModelTraffic, &'static str> {
    let instances = state.instances.len();
    let classes = state.classes.len();
    let class_ok = |class: u32| (class as usize) < classes;
    if state
        .pending
        .iter()
        .any(|p| p.instance as usize >= instances)
    {
        return Err("a pending prediction names an instance that does not exist");
    }
    let rows_ok = |row: &[(u32, f64)]| row.iter().all(|(class, _)| class_ok(*class));
    if state.rows.iter().any(|(_, row)| !rows_ok(row))
        || state
            .instances
            .iter()
            .flat_map(|instance| &instance.realized)
            .any(|joined| joined.row.as_deref().is_some_and(|row| !rows_ok(row)))
    {
        return Err("a score row names a class that does not exist");
    }
    if !state
        .drift_references
        .iter()
        .map(|(_, table)| table)
        .chain(state.instances.iter().map(|instance| &instance.drift))
        .chain(
            state
                .instances
                .iter()
                .filter_map(|instance| instance.last_drift.as_ref()),
        )
        .all(Table::is_consistent)
    {
        return Err("a drift table's columns do not have one value per row");
    }
    if (state.uploaded.as_ref()).is_some_and(|uploaded| !uploaded.table.is_consistent()) {
        return Err("the uploaded reference's columns do not have one value per row");
    }
    let join = PendingJoin::from_entries(state.pending)
        .ok_or("two pending predictions have the same key")?;
    let mut instance_index = HashMap::with_capacity(instances);
    for (index, instance) in state.instances.iter().enumerate() {
        if instance_index
            .insert(instance.model.clone(), index as u32)
            .is_some()
        {
            return Err("an instance appears twice");
        }
    }
    let mut class_index = HashMap::with_capacity(classes);
    for (index, class) in state.classes.iter().enumerate() {
        if class_index.insert(class.clone(), index as u32).is_some() {
            return Err("a class appears twice");
        }
    }
    Ok(ModelTraffic {
        clock: state.clock,
        next_sweep: state.next_sweep,
        instances: state.instances,
        instance_index,
        classes: state.classes,
        class_index,
        join,
        rows: state.rows.into_iter().collect(),
        versions: state.versions,
        drift_references: state.drift_references,
        uploaded: state.uploaded,
        drift_prepared: Default::default(),
        counts: state.counts,
    })
}

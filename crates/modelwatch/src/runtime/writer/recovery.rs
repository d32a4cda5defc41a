//! Recovery: rebuilds the writer's engine from the store (the latest usable snapshot, then the
//! stored inputs after it) before the writer takes requests, and again after a failed commit
//! (`commit.rs`), whose inputs the engine had already consumed.

use std::sync::Arc;

use modelwatch_engine::{Config, Engine, Timestamp};
use modelwatch_store::{MAX_REPLAY_PAGE, Store};

use super::WriterError;
use crate::runtime::metrics::Metrics;

/// The engine as recovery rebuilt it.
pub(super) struct Recovered {
    pub(super) engine: Engine,
    pub(super) replayed: u64,
    pub(super) restored: Option<u64>,
    pub(super) note: Option<String>,
}

/// Writes the points a crash left unwritten, restores the latest snapshot taken under this
/// config, if there is one, and replays the stored inputs after it (their outputs are already
/// stored). Without a usable snapshot it replays every stored input; when retention has
/// deleted some, the state is rebuilt from the inputs left and the note says so.
pub(super) fn recover(
    config: Arc<Config>,
    store: &mut Store,
    metrics: &Metrics,
) -> Result<Recovered, WriterError> {
    store.flush_points()?;
    rebuild(config, store, metrics)
}

/// The engine of what `store` holds: the latest snapshot taken under this config, if there is
/// one, and the stored inputs after it. Reads only, so it works on a full disk.
pub(super) fn rebuild(
    config: Arc<Config>,
    store: &Store,
    metrics: &Metrics,
) -> Result<Recovered, WriterError> {
    let totals = store.retention_totals()?;
    metrics.set_deleted(totals.inputs_deleted, totals.points_deleted);
    let mut unusable = None;
    let mut restored = None;
    if let Some(snapshot) = store.latest_snapshot()? {
        metrics.record_snapshot(snapshot.seq);
        let seq = snapshot.seq;
        if snapshot.config_digest != config.source_digest {
            unusable = Some(format!(
                "the config differs from the one of the snapshot at input {seq}"
            ));
        } else {
            match Engine::restore(config.clone(), &snapshot.state) {
                Ok(engine) if engine.last_seq() == seq => restored = Some(engine),
                Ok(engine) => {
                    unusable = Some(format!(
                        "the snapshot at input {seq} holds the state after input {}",
                        engine.last_seq()
                    ));
                }
                Err(error) => {
                    unusable = Some(format!(
                        "the snapshot at input {seq} cannot be restored: {error}"
                    ));
                }
            }
        }
    }
    let deleted_through = totals.inputs_deleted_through;
    let restored_seq = restored.as_ref().map(Engine::last_seq);
    let (mut engine, note) = match (restored, unusable) {
        (Some(engine), _) => (engine, None),
        (None, reason) if deleted_through == 0 => (
            Engine::new(config.clone()),
            reason.map(|reason| format!("{reason}; every stored input is replayed")),
        ),
        (None, reason) => (
            Engine::starting_after(config.clone(), deleted_through, Timestamp::EPOCH),
            Some(format!(
                "{}; retention deleted inputs 1 to {deleted_through}, so the detector state is \
                 rebuilt from the inputs after them",
                reason.unwrap_or_else(|| "there is no snapshot".to_string())
            )),
        ),
    };
    let mut outputs = Vec::new();
    let mut after = engine.last_seq();
    let mut replayed = 0;
    loop {
        let page = store.inputs_after(after, MAX_REPLAY_PAGE)?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for stored in &page {
            let seq = engine.process(&stored.input, &mut outputs);
            outputs.clear();
            if seq != stored.seq {
                return Err(WriterError::Sequence {
                    stored: stored.seq,
                    engine: seq,
                });
            }
            replayed += 1;
        }
    }
    Ok(Recovered {
        engine,
        replayed,
        restored: restored_seq,
        note,
    })
}

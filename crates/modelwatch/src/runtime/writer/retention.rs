//! The writer's retention pass: old inputs, then old points, then notifications that are over,
//! deleted in small transactions between group commits (see `runtime/retention.rs` for who
//! asks for a pass).

use modelwatch_store::SeriesCursor;
use tokio::sync::oneshot;

use super::{
    INPUTS_PER_STEP, RetentionReport, RetentionRequest, SERIES_PER_STEP, Writer, WriterError,
};

/// A retention pass under way.
pub(super) struct RetentionPass {
    report: RetentionReport,
    inputs_done: bool,
    points_done: bool,
    points: SeriesCursor,
    replies: Vec<oneshot::Sender<Result<RetentionReport, String>>>,
}

impl Writer<'_> {
    /// Starts a pass (writing the pending points and saving a snapshot first, so inputs up to
    /// the last one may go) or lets the request join the pass under way.
    ///
    /// # Errors
    ///
    /// The store's, when the points cannot be written for a cause that is not transient:
    /// that stops the writer like a failed commit. While the store cannot write, the request
    /// is answered with the reason.
    pub(super) fn start_retention(&mut self, request: RetentionRequest) -> Result<(), WriterError> {
        self.wall = self.wall.max(request.now);
        if let Some(pass) = &mut self.pass {
            pass.replies.extend(request.reply);
            return Ok(());
        }
        if let Some(trouble) = &self.trouble {
            if let Some(reply) = request.reply {
                let _ = reply.send(Err(trouble.refusal().to_string()));
            }
            return Ok(());
        }
        if let Err(error) = self.flush_points() {
            if let Some(reply) = request.reply {
                let _ = reply.send(Err(error.to_string()));
            }
            return self.write_failed(error, false);
        }
        let fresh = self.engine.last_seq() == self.snapshot_seq && self.snapshot_seq > 0;
        if !fresh && self.engine.last_seq() > 0 {
            self.snapshot();
        }
        self.pass = Some(RetentionPass {
            report: RetentionReport {
                cutoff: request.cutoff,
                snapshot_seq: self.snapshot_seq,
                inputs_deleted: 0,
                points_deleted: 0,
                deliveries_deleted: 0,
            },
            inputs_done: false,
            points_done: false,
            points: SeriesCursor::start(),
            replies: request.reply.into_iter().collect(),
        });
        Ok(())
    }

    /// One small transaction of the pass under way: old inputs first, then old points, then
    /// old notifications. Ends the pass (answering who asked) when all are done or a step
    /// fails.
    pub(super) fn retention_step(&mut self) {
        let Some(pass) = &mut self.pass else { return };
        let cutoff = pass.report.cutoff;
        let step = if !pass.inputs_done {
            self.store
                .delete_old_inputs(cutoff, pass.report.snapshot_seq, INPUTS_PER_STEP)
                .map(|step| {
                    pass.report.inputs_deleted += step.deleted;
                    self.metrics.record_deleted(step.deleted, 0);
                    pass.inputs_done = step.done;
                    false
                })
        } else if !pass.points_done {
            self.store
                .delete_old_points(cutoff, &mut pass.points, SERIES_PER_STEP)
                .map(|step| {
                    pass.report.points_deleted += step.deleted;
                    self.metrics.record_deleted(0, step.deleted);
                    pass.points_done = step.done;
                    false
                })
        } else {
            self.store
                .delete_old_deliveries(cutoff, INPUTS_PER_STEP)
                .map(|step| {
                    pass.report.deliveries_deleted += step.deleted;
                    step.done
                })
        };
        let outcome = match step {
            Ok(false) => return,
            Ok(true) => Ok(pass.report.clone()),
            Err(error) => {
                self.metrics.record_retention_failure();
                Err(error.to_string())
            }
        };
        if let Some(pass) = self.pass.take() {
            for reply in pass.replies {
                let _ = reply.send(outcome.clone());
            }
        }
    }
}

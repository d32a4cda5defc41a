//! What the API asks of the runner: cancel a job (killing a running command's process group
//! first) and take a trainer's report of an attempt that an external or http backend runs.

use modelwatch_engine::{JobFinished, JobStatus};
use modelwatch_store::{AttemptOutcome, JobKind, JobState};

use super::super::{CancelError, CompleteError, Control, Ended, JobReport, log_job_ended};
use super::Runner;
use crate::effects::Stopped;

impl Runner {
    pub(super) async fn control(&mut self, request: Control) -> Result<(), Stopped> {
        match request {
            Control::Cancel { id, actor, reply } => {
                if let Some(running) = self.running.get_mut(&id)
                    && let Some(kill) = running.kill.take()
                {
                    // The command's task kills the group and reports the end; the answer
                    // waits for that end to be committed.
                    let _ = kill.send(AttemptOutcome::Cancelled);
                    running.cancelled = Some(reply);
                    running.ended_by = Some(actor);
                    return Ok(());
                }
                let answer = self.cancel(&id, actor).await;
                let _ = reply.send(answer);
            }
            Control::Complete {
                id,
                report,
                actor,
                reply,
            } => {
                let answer = self.complete(&id, report, actor).await;
                let _ = reply.send(answer);
            }
        }
        Ok(())
    }

    async fn cancel(&mut self, id: &str, actor: String) -> Result<(), CancelError> {
        if let Some(running) = self.running.get_mut(id) {
            running.ended_by = Some(actor);
            let ended = Ended {
                id: id.to_string(),
                attempt: running.attempt,
                outcome: AttemptOutcome::Cancelled,
                version: None,
                result: None,
                error: Some("cancelled through the API".to_string()),
            };
            return self
                .attempt_ended(ended)
                .await
                .map_err(|_| CancelError::Stopping);
        }
        let lookup = id.to_string();
        let job = self
            .context
            .read(move |store| store.job(&lookup))
            .await
            .map_err(|_| CancelError::Stopping)?
            .ok_or_else(|| CancelError::Unknown(id.to_string()))?;
        if job.state.is_final() {
            return Err(CancelError::Over {
                id: id.to_string(),
                state: job.state.as_str(),
            });
        }
        self.finish(&job, None, JobState::Cancelled, None, Some(actor))
            .await
            .map_err(|_| CancelError::Stopping)?;
        log_job_ended(&job, JobState::Cancelled);
        Ok(())
    }

    async fn complete(
        &mut self,
        id: &str,
        report: JobReport,
        actor: String,
    ) -> Result<(), CompleteError> {
        let Some(running) = self.running.get_mut(id) else {
            let lookup = id.to_string();
            let job = self
                .context
                .read(move |store| store.job(&lookup))
                .await
                .map_err(|_| CompleteError::Stopping)?
                .ok_or_else(|| CompleteError::Unknown(id.to_string()))?;
            return Err(CompleteError::NotWaiting {
                id: id.to_string(),
                state: job.state.as_str().to_string(),
            });
        };
        if running.backend == "command" {
            return Err(CompleteError::NotWaiting {
                id: id.to_string(),
                state: format!("running on the {} backend", running.backend),
            });
        }
        let outcome = match report.status {
            JobStatus::Succeeded => {
                if running.job.kind == JobKind::Retrain && report.version.is_none() {
                    return Err(CompleteError::Invalid(
                        "a succeeded retrain must name the version it produced".to_string(),
                    ));
                }
                AttemptOutcome::Succeeded
            }
            JobStatus::Failed => AttemptOutcome::Failed,
            JobStatus::TimedOut => AttemptOutcome::TimedOut,
            JobStatus::Cancelled => AttemptOutcome::Cancelled,
        };
        // What `finish` will make of it must read back from the store.
        JobFinished::new(
            running.job.model.as_str(),
            Some(id.to_string()),
            report.status,
            report.version.clone(),
            None,
        )
        .map_err(|errors| {
            let problems: Vec<String> = errors.iter().map(ToString::to_string).collect();
            CompleteError::Invalid(problems.join("; "))
        })?;
        running.ended_by = Some(actor);
        let ended = Ended {
            id: id.to_string(),
            attempt: running.attempt,
            outcome,
            version: report.version,
            result: report.result,
            error: report.error,
        };
        self.attempt_ended(ended)
            .await
            .map_err(|_| CompleteError::Stopping)
    }
}

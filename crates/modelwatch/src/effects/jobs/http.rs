//! The `http` backend: POSTs a job's templated body to the trainer's (or rollback's) URL; the
//! job then waits for `POST /v1/jobs/{id}/complete` or its deadline.

use std::sync::Arc;
use std::time::Duration;

use modelwatch_engine::config::HostAllowlist;
use modelwatch_store::AttemptOutcome;
use tokio::sync::mpsc;

use super::Ended;
use crate::effects::http::{self, Answer};
use crate::effects::transport::{self, Post, Transport};

/// The time limit of the POST that starts a job (not of the job).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// One attempt's request, templated. No `Debug`: it holds the secret.
pub(super) struct HttpRequest {
    pub(super) url: String,
    pub(super) body: String,
    pub(super) headers: Vec<(String, String)>,
    /// Sent as a bearer token.
    pub(super) secret: Option<Vec<u8>>,
    pub(super) job_id: String,
    pub(super) attempt: u32,
    /// `trainer` or `rollback`, for the error.
    pub(super) role: &'static str,
    /// The config's `[outbound] allow_hosts`, checked once more before sending.
    pub(super) outbound: Option<HostAllowlist>,
}

/// Sends the request; reports the attempt's end only when the trainer did not accept it.
pub(super) async fn send(
    transport: Arc<dyn Transport>,
    request: HttpRequest,
    ended: mpsc::Sender<Ended>,
) {
    let mut headers = vec![(http::IDEMPOTENCY_HEADER.to_string(), request.job_id.clone())];
    headers.extend(request.headers);
    if let Some(secret) = &request.secret {
        headers.push((
            "authorization".to_string(),
            format!("Bearer {}", String::from_utf8_lossy(secret)),
        ));
    }
    let post = Post {
        url: request.url,
        headers,
        body: request.body,
    };
    let result = match transport::check_host(&post.url, request.outbound.as_ref()) {
        Ok(()) => transport::post(&*transport, post, REQUEST_TIMEOUT).await,
        Err(error) => Err(error),
    };
    // 409: the backend already has a run with this job's id (sent again after a crash).
    let conflict = matches!(&result, Ok(reply) if reply.status == 409);
    match http::answer(result) {
        // Accepted: the job waits for its completion or its deadline.
        Answer::Accepted => tracing::debug!(
            job = %request.job_id,
            attempt = request.attempt,
            "The backend accepted the job; it runs until completed or its deadline."
        ),
        _ if conflict => tracing::debug!(
            job = %request.job_id,
            attempt = request.attempt,
            "The backend already runs this job (409); it runs until completed or its deadline."
        ),
        Answer::Retry { error, .. } | Answer::Refused { error } => {
            let _ = ended
                .send(Ended {
                    id: request.job_id,
                    attempt: request.attempt,
                    outcome: AttemptOutcome::Failed,
                    version: None,
                    result: None,
                    error: Some(format!("POST to the {}'s URL: {error}", request.role)),
                })
                .await;
        }
    }
}

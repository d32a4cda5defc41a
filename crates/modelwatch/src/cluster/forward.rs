//! [`Forwarder`]: a cluster node's [`PartitionRouting`]. The job runners of the partitions it
//! runs come from its [`LocalPartitions`]; a request about any other partition is sent to the
//! node holding the partition's live lease, at the address that node's heartbeat recorded
//! (`--advertise`), with the caller's `Authorization` and the mark
//! [`FORWARDED_BY_HEADER`](crate::server::forward::FORWARDED_BY_HEADER) naming this node. How
//! far a partition committed is read on the same connection (`partitions.log_seq`), for a
//! write that waits for its message to be in force.

use std::error::Error as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::header;
use futures_util::future::BoxFuture;
use modelwatch_store::pg::{Leases, PartitionOwner};
use tokio::time::Instant;

use super::node::LocalPartitions;
use crate::effects::JobControl;
use crate::runtime::WriterQueue;
use crate::runtime::writer::LogPosition;
use crate::server::forward::{
    FORWARDED_BY_HEADER, ForwardError, ForwardRequest, ForwardedAnswer, NotCommitted,
    PartitionRouting,
};

/// How long a forwarded request may take, answer included (beyond the wait of a long poll).
pub const FORWARD_TIMEOUT: Duration = Duration::from_secs(10);

/// How soon a wait for a partition's commit looks again at first, and at most.
const FIRST_LOOK: Duration = Duration::from_millis(2);
const LAST_LOOK: Duration = Duration::from_millis(100);

/// The routing of a cluster node's routes.
#[derive(Clone, Debug)]
pub struct Forwarder {
    node_id: String,
    local: LocalPartitions,
    /// A connection of its own to read partitions' owners.
    owners: Arc<Mutex<Leases>>,
    client: reqwest::Client,
}

impl Forwarder {
    /// The routing of node `node_id`, running `local`, looking owners up on `owners`.
    ///
    /// # Errors
    ///
    /// When the HTTP client cannot be built (its TLS setup).
    pub fn new(
        node_id: String,
        local: LocalPartitions,
        owners: Leases,
    ) -> Result<Forwarder, reqwest::Error> {
        Ok(Forwarder {
            node_id,
            local,
            owners: Arc::new(Mutex::new(owners)),
            client: crate::effects::http::client()?,
        })
    }

    /// The live owner of `partition`, read off the async threads.
    async fn owner(&self, partition: u32) -> Result<PartitionOwner, ForwardError> {
        let owners = self.owners.clone();
        let lookup = |error: String| ForwardError::Lookup { partition, error };
        let found = tokio::task::spawn_blocking(move || {
            let mut owners = owners
                .lock()
                .map_err(|_| "the owners' connection is poisoned".to_string())?;
            owners.owner(partition).map_err(|error| error.to_string())
        })
        .await
        .map_err(|error| lookup(format!("the lookup failed: {error}")))?
        .map_err(lookup)?;
        found.ok_or(ForwardError::NoOwner { partition })
    }

    /// How far `partition` committed, read off the async threads.
    async fn committed(&self, partition: u32) -> Result<u64, NotCommitted> {
        let owners = self.owners.clone();
        let unreadable = |error: String| NotCommitted::Unreadable { partition, error };
        tokio::task::spawn_blocking(move || {
            let mut owners = owners
                .lock()
                .map_err(|_| "the owners' connection is poisoned".to_string())?;
            (owners.committed_log_seq(partition)).map_err(|error| error.to_string())
        })
        .await
        .map_err(|error| unreadable(format!("the read failed: {error}")))?
        .map_err(unreadable)
    }

    /// Reads how far the position's partition committed until it is past the position,
    /// looking again after [`FIRST_LOOK`], then twice as long each time up to [`LAST_LOOK`],
    /// for at most `limit`.
    async fn await_position(
        &self,
        position: LogPosition,
        limit: Duration,
    ) -> Result<(), NotCommitted> {
        let partition = position.partition;
        let deadline = Instant::now() + limit;
        let mut look = FIRST_LOOK;
        loop {
            if self.committed(partition).await? >= position.seq {
                return Ok(());
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(NotCommitted::TimedOut {
                    partition,
                    waited: limit,
                });
            }
            tokio::time::sleep_until((now + look).min(deadline)).await;
            look = (look * 2).min(LAST_LOOK);
        }
    }

    async fn send(
        &self,
        partition: u32,
        request: ForwardRequest,
    ) -> Result<ForwardedAnswer, ForwardError> {
        let owner = self.owner(partition).await?;
        if owner.node == self.node_id {
            return Err(ForwardError::Moving { partition });
        }
        let failed = |error: String| ForwardError::Failed {
            partition,
            owner: owner.node.clone(),
            error,
        };
        let Some(address) = owner.address.as_deref() else {
            return Err(failed(
                "it records no address (--advertise; a node of an older version)".to_string(),
            ));
        };
        let url = format!(
            "{}{}",
            address.trim_end_matches('/'),
            request.path_and_query
        );
        let mut outgoing = self
            .client
            .request(request.method, &url)
            .timeout(FORWARD_TIMEOUT + request.holds)
            .header(FORWARDED_BY_HEADER, &self.node_id)
            .body(request.body);
        if let Some(authorization) = request.authorization {
            outgoing = outgoing.header(header::AUTHORIZATION, authorization);
        }
        if let Some(content_type) = request.content_type {
            outgoing = outgoing.header(header::CONTENT_TYPE, content_type);
        }
        let answer = outgoing
            .send()
            .await
            .map_err(|error| failed(in_words(&error)))?;
        let status = answer.status();
        let content_type = answer.headers().get(header::CONTENT_TYPE).cloned();
        let retry_after = answer.headers().get(header::RETRY_AFTER).cloned();
        let body = answer
            .bytes()
            .await
            .map_err(|error| failed(in_words(&error)))?;
        tracing::debug!(
            partition,
            owner = %owner.node,
            status = status.as_u16(),
            "A request was answered by the node running its partition."
        );
        Ok(ForwardedAnswer {
            status,
            content_type,
            retry_after,
            body,
        })
    }
}

impl PartitionRouting for Forwarder {
    fn jobs(&self, partition: u32) -> Option<JobControl> {
        self.local.jobs(partition)
    }

    fn writer_of(&self, model: &str) -> Result<WriterQueue, u32> {
        let partition = super::log::partition_of(model, self.local.partitions);
        self.local.queue(partition).ok_or(partition)
    }

    fn await_commit(
        &self,
        position: LogPosition,
        limit: Duration,
    ) -> BoxFuture<'static, Result<(), NotCommitted>> {
        let forwarder = self.clone();
        Box::pin(async move { forwarder.await_position(position, limit).await })
    }

    fn forward(
        &self,
        partition: u32,
        request: ForwardRequest,
    ) -> BoxFuture<'static, Result<ForwardedAnswer, ForwardError>> {
        let forwarder = self.clone();
        Box::pin(async move {
            // The path only: a query string could carry anything, and the token never shows.
            let path = request
                .path_and_query
                .split('?')
                .next()
                .unwrap_or_default()
                .to_string();
            let sent = forwarder.send(partition, request).await;
            if let Err(error) = &sent {
                tracing::warn!(
                    partition,
                    path = %path,
                    error = %error,
                    "A request about a partition another node runs could not be forwarded."
                );
            }
            sent
        })
    }
}

/// A reqwest error with its causes (`error sending request: ... connection refused`), which
/// name the URL at most, never a header.
fn in_words(error: &reqwest::Error) -> String {
    let mut words = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        words.push_str(": ");
        words.push_str(&inner.to_string());
        cause = inner.source();
    }
    words
}

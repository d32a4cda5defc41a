//! [`Forwarder`]: a cluster node's [`PartitionRouting`]. The job runners of the partitions it
//! runs come from its [`LocalPartitions`]; a request about any other partition is sent to the
//! node holding the partition's live lease, at the address that node's heartbeat recorded
//! (`--advertise`), with the caller's `Authorization` and the mark
//! [`FORWARDED_BY_HEADER`](crate::server::forward::FORWARDED_BY_HEADER) naming this node. A
//! write that answers with its outcome commits through the writer of its model's partition
//! here ([`PartitionRouting::writer_of`]), or is forwarded.

use std::time::Duration;

use axum::http::header;
use futures_util::future::BoxFuture;
use modelwatch_store::pg::{Leases, PartitionOwner};

use super::connection::SharedConnection;
use super::node::LocalPartitions;
use crate::effects::JobControl;
use crate::effects::transport::describe;
use crate::runtime::WriterQueue;
use crate::server::forward::{
    FORWARDED_BY_HEADER, ForwardError, ForwardRequest, ForwardedAnswer, PartitionRouting,
};

/// How long a forwarded request may take, answer included (beyond the wait of a long poll).
pub const FORWARD_TIMEOUT: Duration = Duration::from_secs(10);

/// The routing of a cluster node's routes.
#[derive(Clone, Debug)]
pub struct Forwarder {
    node_id: String,
    local: LocalPartitions,
    /// A connection of its own to read partitions' owners.
    owners: SharedConnection<Leases>,
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
            owners: SharedConnection::new(owners, "owners"),
            client: crate::effects::http::client()?,
        })
    }

    /// The live owner of `partition`, read off the async threads.
    async fn owner(&self, partition: u32) -> Result<PartitionOwner, ForwardError> {
        let found = (self.owners)
            .call(move |owners| owners.owner(partition))
            .await
            .map_err(|error| ForwardError::Lookup { partition, error })?;
        found.ok_or(ForwardError::NoOwner { partition })
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
            .map_err(|error| failed(describe(&error)))?;
        let status = answer.status();
        let content_type = answer.headers().get(header::CONTENT_TYPE).cloned();
        let retry_after = answer.headers().get(header::RETRY_AFTER).cloned();
        let body = answer
            .bytes()
            .await
            .map_err(|error| failed(describe(&error)))?;
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

//! `modelwatch serve --store postgres://... --log nats://... --node-id ID`: one node of a
//! cluster (docs/cluster.md). Prints where it stores, logs and listens, then `ready: ...`
//! once its first round of leases is done; SIGINT or SIGTERM stop it gracefully: no new
//! connections, its partitions commit what they have and their leases are given up, so the
//! other nodes take them over at once.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use modelwatch::cluster::{ClusterOptions, ClusterService, LogOptions, NodeOptions};
use modelwatch::runtime::retention;
use modelwatch::server::auth::Auth;
use modelwatch::{Config, SystemClock};
use tokio::signal::unix::{SignalKind, signal};

use super::serve::{ServeArgs, bind, print_listening, service_options};

/// The flags of a cluster node.
#[derive(Debug, Args)]
pub struct ClusterArgs {
    /// The ingest log: a NATS server with JetStream (`nats://host:port`). With it, this
    /// node is one of a cluster sharing --store postgres://...
    #[arg(long, value_name = "URL")]
    pub(super) log: Option<String>,
    /// This node's id, unique in the cluster (its leases carry it). Needed with --log.
    #[arg(long, value_name = "ID")]
    node_id: Option<String>,
    /// Partitions of the ingest log: fixed when the stream is first made (every node must
    /// give the same count; the recorded one is checked).
    #[arg(long, default_value_t = 16, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1024))]
    partitions: u32,
    /// The JetStream stream's name.
    #[arg(long, default_value = "MODELWATCH", value_name = "NAME")]
    log_stream: String,
    /// The stream's replicas when this node makes it: 1, or 3 or 5 on a NATS cluster.
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u8).range(1..=5))]
    log_replicas: u8,
    /// How long a partition's lease lasts without renewal: a dead node's partitions resume
    /// on another node within about this long.
    #[arg(long, default_value = "5s", value_name = "PERIOD", value_parser = retention::parse_duration)]
    lease_ttl: Duration,
    /// The base URL the other nodes reach this node's HTTP at (`http://host:port`): requests
    /// about the partitions this node runs are forwarded there. Default: http:// and the
    /// listening address, with loopback for an unspecified IP (0.0.0.0, ::), which only
    /// serves nodes on the same machine: nodes on several machines need --advertise.
    #[arg(long, value_name = "URL")]
    pub(super) advertise: Option<String>,
}

/// The address this node advertises: `--advertise` checked, or the one it listens at, with
/// loopback of the same family in place of an unspecified IP.
fn advertised(advertise: Option<&str>, local: SocketAddr) -> Result<String> {
    let Some(url) = advertise else {
        let mut reachable = local;
        if reachable.ip().is_unspecified() {
            reachable.set_ip(match reachable.ip() {
                IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
            });
        }
        return Ok(format!("http://{reachable}"));
    };
    // Named only once known to hold no password.
    let parsed = reqwest::Url::parse(url)
        .map_err(|error| anyhow::anyhow!("--advertise: not a URL ({error})"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        bail!("--advertise {url:?}: give http://host:port or https://host:port");
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        bail!("--advertise: give the URL without a user or password (it is stored and shown)");
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        bail!("--advertise {url:?}: give a base URL, without a query or fragment");
    }
    Ok(url.trim_end_matches('/').to_string())
}

pub(super) async fn serve(
    args: &ServeArgs,
    store_url: &str,
    log_url: &str,
    config: Arc<Config>,
    auth: Auth,
    out: &mut dyn Write,
) -> Result<()> {
    let cluster = &args.cluster;
    let Some(node_id) = cluster.node_id.clone() else {
        bail!("--log needs --node-id ID, unique in the cluster");
    };
    if node_id.is_empty() || node_id.len() > 200 || node_id.chars().any(char::is_whitespace) {
        bail!("--node-id {node_id:?}: give 1 to 200 characters without spaces");
    }
    // Shown without any password it holds, as the store's URL is.
    let log_shown = modelwatch_store::pg::redact(log_url);
    if !log_url.starts_with("nats://") {
        bail!("--log {log_shown:?}: give a NATS URL, nats://host:port");
    }
    let (listener, local) = bind(args.listen).await?;
    let address = advertised(cluster.advertise.as_deref(), local)?;
    let authenticated = auth.enabled();
    let options = service_options(args, auth, local);
    let service = ClusterService::start(
        config,
        ClusterOptions {
            store_url: store_url.to_string(),
            log: LogOptions {
                url: log_url.to_string(),
                stream: cluster.log_stream.clone(),
                partitions: cluster.partitions,
                replicas: usize::from(cluster.log_replicas),
            },
            node: NodeOptions {
                node_id: node_id.clone(),
                lease_ttl: cluster.lease_ttl,
                address: Some(address.clone()),
            },
        },
        Arc::new(SystemClock),
        options,
    )
    .await
    .with_context(|| {
        format!(
            "cannot start node {node_id} on {} and {log_shown}",
            modelwatch_store::pg::redact(store_url)
        )
    })?;
    let mut terminate = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    writeln!(out, "storing in {}", service.store_description())?;
    writeln!(
        out,
        "ingest log {log_shown} stream {} with {} partitions",
        cluster.log_stream, cluster.partitions
    )?;
    writeln!(out, "node {node_id}, advertised at {address}")?;
    print_listening(out, local, authenticated)?;
    let shutdown = async move {
        tokio::select! {
            result = tokio::signal::ctrl_c() => {
                if result.is_err() {
                    std::future::pending::<()>().await;
                }
            }
            _ = terminate.recv() => {}
        }
    };
    let mut server = tokio::spawn(service.listen(listener, shutdown));
    let mut ownership = service.ownership();
    let served = tokio::select! {
        seen = ownership.wait_for(|ownership| ownership.nodes > 0) => {
            if let Ok(ownership) = seen {
                writeln!(
                    out,
                    "ready: node {node_id} of {} live nodes, {} partitions taken here",
                    ownership.nodes,
                    ownership.ready.len() + ownership.recovering.len()
                )?;
                out.flush()?;
            }
            server.await
        }
        served = &mut server => served,
    };
    service.stop().await;
    served.context("the HTTP server task failed")?;
    writeln!(out, "stopped")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::advertised;

    #[test]
    fn the_default_address_is_the_listening_one_with_loopback_for_an_unspecified_ip() {
        let at = |listen: &str| advertised(None, listen.parse().unwrap()).unwrap();
        assert_eq!(at("0.0.0.0:8780"), "http://127.0.0.1:8780");
        assert_eq!(at("[::]:8780"), "http://[::1]:8780");
        assert_eq!(at("10.0.0.7:8780"), "http://10.0.0.7:8780");
    }

    #[test]
    fn an_advertised_url_is_a_base_url_without_credentials() {
        let local = "127.0.0.1:8780".parse().unwrap();
        let given = |url: &str| advertised(Some(url), local);
        assert_eq!(given("http://node-a:8780/").unwrap(), "http://node-a:8780");
        assert_eq!(given("https://node-a/mw").unwrap(), "https://node-a/mw");
        for refused in [
            "node-a:8780",
            "ftp://node-a",
            "http://user:secret@node-a",
            "http://node-a/?x=1",
        ] {
            let error = given(refused).unwrap_err().to_string();
            assert!(!error.contains("secret"), "{error}");
        }
    }
}

//! [`Node`]: this node's share of the partitions. A loop announces the node, renews the
//! leases it holds, and takes or gives up partitions so that each live node runs its share
//! (an even split, see `share_of`): a node that joins gets its share
//! as the others give theirs up; a node that dies stops renewing, and once its leases
//! expire the others take them over. A partition is stopped here before its lease is given
//! up, and every write of it checks the lease's epoch (see `modelwatch_store::pg::Leases`),
//! so it never runs on two nodes at once.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use modelwatch_store::StoreError;
use modelwatch_store::pg::{Lease, Leases};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::connection::SharedConnection;
use super::partition::{PartitionRun, PartitionSetup};
use crate::effects::JobControl;
use crate::runtime::{Status, WriterQueue};

/// What the node is and how it holds leases.
#[derive(Clone, Debug)]
pub struct NodeOptions {
    /// This node's id, unique in the cluster.
    pub node_id: String,
    /// How long a lease lasts without renewal.
    pub lease_ttl: Duration,
    /// The base URL other nodes reach this node's HTTP at (`--advertise`), recorded with its
    /// heartbeat: where requests about its partitions are forwarded.
    pub address: Option<String>,
}

/// The partitions this node runs, as `/readyz` shows them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ownership {
    /// Partitions taken here, with their writers ready.
    pub ready: Vec<u32>,
    /// Partitions taken here, still recovering.
    pub recovering: Vec<u32>,
    /// The live nodes, as the last heartbeat saw them.
    pub nodes: usize,
}

/// The partitions this node runs, by partition, and the partition count: their writers'
/// queues (what the node's front asks for state kept in a partition's engine) and their job
/// runners (what the job routes cancel and complete through).
#[derive(Clone, Debug)]
pub struct LocalPartitions {
    running: Arc<Mutex<BTreeMap<u32, RunningHere>>>,
    /// The ingest log's partition count.
    pub partitions: u32,
}

/// How a partition running here is reached.
#[derive(Clone, Debug)]
struct RunningHere {
    queue: WriterQueue,
    jobs: JobControl,
}

impl LocalPartitions {
    /// None yet, of `partitions`.
    pub fn new(partitions: u32) -> LocalPartitions {
        LocalPartitions {
            running: Arc::new(Mutex::new(BTreeMap::new())),
            partitions,
        }
    }

    /// The queue of `partition`, if it runs here.
    pub fn queue(&self, partition: u32) -> Option<WriterQueue> {
        Some(self.running.lock().ok()?.get(&partition)?.queue.clone())
    }

    /// The job runner of `partition`, if it runs here.
    pub fn jobs(&self, partition: u32) -> Option<JobControl> {
        Some(self.running.lock().ok()?.get(&partition)?.jobs.clone())
    }

    /// Every queue here, by partition.
    pub fn queues(&self) -> Vec<WriterQueue> {
        self.running
            .lock()
            .map(|running| running.values().map(|here| here.queue.clone()).collect())
            .unwrap_or_default()
    }

    fn set(&self, running: &BTreeMap<u32, PartitionRun>) {
        if let Ok(mut here) = self.running.lock() {
            *here = running
                .iter()
                .map(|(partition, run)| {
                    let reached = RunningHere {
                        queue: run.queue(),
                        jobs: run.jobs(),
                    };
                    (*partition, reached)
                })
                .collect();
        }
    }
}

/// The running lease loop.
#[derive(Debug)]
pub struct Node {
    ownership: watch::Receiver<Ownership>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Node {
    /// Starts the loop: connects for leases, then runs until [`Node::stop`].
    ///
    /// # Errors
    ///
    /// When the lease connection cannot be opened.
    pub async fn start(
        setup: PartitionSetup,
        options: NodeOptions,
        local: LocalPartitions,
    ) -> Result<Node, StoreError> {
        let url = setup.store_url.clone();
        let leases = tokio::task::spawn_blocking(move || Leases::open(&url))
            .await
            .map_err(|_| StoreError::Unsupported {
                backend: "PostgreSQL",
                what: "open a lease connection (the task failed)",
            })??;
        let (ownership_sender, ownership) = watch::channel(Ownership::default());
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(run(
            setup,
            options,
            local,
            SharedConnection::new(leases, "lease"),
            ownership_sender,
            stopped,
        ));
        Ok(Node {
            ownership,
            stop,
            task,
        })
    }

    /// What this node runs now.
    pub fn ownership(&self) -> watch::Receiver<Ownership> {
        self.ownership.clone()
    }

    /// Stops every partition here, gives their leases up and leaves the cluster.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

async fn run(
    setup: PartitionSetup,
    options: NodeOptions,
    local: LocalPartitions,
    leases: SharedConnection<Leases>,
    ownership: watch::Sender<Ownership>,
    mut stopped: watch::Receiver<bool>,
) {
    let partitions = local.partitions;
    let node = options.node_id.clone();
    let ttl_ms = i64::try_from(options.lease_ttl.as_millis()).unwrap_or(i64::MAX);
    let tick = (options.lease_ttl / 5).max(Duration::from_millis(100));
    let mut running: BTreeMap<u32, PartitionRun> = BTreeMap::new();
    // Where this node starts looking for free partitions: spreads the nodes' first picks.
    let offset = super::log::partition_of(&node, partitions.max(1));
    let mut live_nodes = 1;
    // This node's place among the live nodes, sorted by id.
    let mut rank = 0;
    let mut stopping: Vec<JoinHandle<()>> = Vec::new();
    loop {
        stopping.retain(|task| !task.is_finished());
        let beat = {
            let (node, address) = (node.clone(), options.address.clone());
            leases
                .call(move |leases| leases.heartbeat(&node, address.as_deref(), ttl_ms))
                .await
        };
        match beat {
            Ok(live) => {
                live_nodes = live.len().max(1);
                rank = live.iter().position(|id| *id == node).unwrap_or(0);
            }
            Err(message) => {
                tracing::warn!(node = %node, error = %message, "Cannot announce the node.")
            }
        }
        // Renew what we hold; a lease we lost is another node's now: stop at once (its writes
        // would be refused anyway).
        let held: Vec<Lease> = running.values().map(PartitionRun::lease).collect();
        for lease in held {
            let renewed = {
                let node = node.clone();
                leases
                    .call(move |leases| leases.renew(lease, &node, ttl_ms))
                    .await
            };
            let failed = running
                .get(&lease.partition)
                .is_some_and(|run| matches!(&*run.status().borrow(), Status::Failed { .. }));
            match renewed {
                Ok(true) if !failed => {}
                Ok(true) => {
                    tracing::warn!(
                        partition = lease.partition,
                        "Partition failed here: giving it up."
                    );
                    stopping.extend(give_up(&leases, &node, &mut running, lease));
                }
                Ok(false) => {
                    tracing::warn!(
                        partition = lease.partition,
                        epoch = lease.epoch,
                        "Partition lease lost: stopping it."
                    );
                    if let Some(run) = running.remove(&lease.partition) {
                        stopping.push(tokio::spawn(run.stop()));
                    }
                }
                Err(message) => {
                    tracing::warn!(partition = lease.partition, error = %message, "Cannot renew a lease.");
                }
            }
        }
        let share = share_of(partitions, live_nodes, rank);
        // Take free partitions up to our share.
        let mut candidate = 0;
        while running.len() < share && candidate < partitions {
            let partition = (offset + candidate) % partitions;
            candidate += 1;
            if running.contains_key(&partition) {
                continue;
            }
            let taken = {
                let node = node.clone();
                leases
                    .call(move |leases| leases.acquire(partition, &node, ttl_ms))
                    .await
            };
            match taken {
                Ok(Some(lease)) => match PartitionRun::start(&setup, lease) {
                    Ok(run) => {
                        running.insert(partition, run);
                    }
                    Err(error) => {
                        tracing::warn!(partition, error = %error, "Cannot run a partition taken: giving it up.");
                        let node = node.clone();
                        let _ = leases
                            .call(move |leases| leases.release(lease, &node))
                            .await;
                    }
                },
                Ok(None) => {}
                Err(message) => {
                    tracing::warn!(partition, error = %message, "Cannot take a partition's lease.");
                    break;
                }
            }
        }
        // Give up what is beyond our share, so that a node that joined gets its own.
        while running.len() > share {
            let Some(lease) = running.values().last().map(PartitionRun::lease) else {
                break;
            };
            tracing::info!(
                partition = lease.partition,
                share,
                "Giving a partition up for a node that joined."
            );
            stopping.extend(give_up(&leases, &node, &mut running, lease));
        }
        local.set(&running);
        publish(&ownership, &running, live_nodes);
        tokio::select! {
            _ = stopped.changed() => break,
            () = tokio::time::sleep_until(tokio::time::Instant::now() + tick) => {}
        }
    }
    let held: Vec<Lease> = running.values().map(PartitionRun::lease).collect();
    for lease in held {
        stopping.extend(give_up(&leases, &node, &mut running, lease));
    }
    // The front lets go of the partitions' queues: a writer stops once nothing holds one.
    local.set(&running);
    for task in stopping {
        let _ = task.await;
    }
    let node_for_leave = node.clone();
    let _ = leases
        .call(move |leases| leases.leave(&node_for_leave))
        .await;
    publish(&ownership, &running, 0);
    tracing::info!(node = %node, "Left the cluster.");
}

/// How many partitions the node at `rank` among `nodes` live ones runs: an even split, the
/// first `partitions % nodes` nodes (by id) one more, so that the shares add up to the
/// partitions exactly and a node that joins gets its part as the others give theirs up.
fn share_of(partitions: u32, nodes: usize, rank: usize) -> usize {
    let partitions = usize::try_from(partitions).unwrap_or(usize::MAX);
    let nodes = nodes.max(1);
    partitions / nodes + usize::from(rank < partitions % nodes)
}

/// Stops the partition here, then releases its lease for another node to take at once: in a
/// task of its own (a stop lets the effects finish their attempts), so that the loop goes on
/// renewing the other leases meanwhile. The lease stays ours until released, so nobody takes
/// the partition while it stops.
fn give_up(
    leases: &SharedConnection<Leases>,
    node: &str,
    running: &mut BTreeMap<u32, PartitionRun>,
    lease: Lease,
) -> Option<JoinHandle<()>> {
    let run = running.remove(&lease.partition)?;
    let leases = leases.clone();
    let node = node.to_string();
    Some(tokio::spawn(async move {
        run.stop().await;
        if let Err(message) = leases
            .call(move |leases| leases.release(lease, &node))
            .await
        {
            tracing::warn!(partition = lease.partition, error = %message, "Cannot release a lease; it expires by itself.");
        }
    }))
}

fn publish(
    ownership: &watch::Sender<Ownership>,
    running: &BTreeMap<u32, PartitionRun>,
    nodes: usize,
) {
    let mut now = Ownership {
        nodes,
        ..Ownership::default()
    };
    for (partition, run) in running {
        match &*run.status().borrow() {
            Status::Ready { .. } => now.ready.push(*partition),
            _ => now.recovering.push(*partition),
        }
    }
    ownership.send_if_modified(|current| {
        let changed = *current != now;
        *current = now;
        changed
    });
}

#[cfg(test)]
mod tests {
    use super::share_of;

    #[test]
    fn shares_add_up_to_the_partitions() {
        for partitions in [1, 4, 7, 16, 1024] {
            for nodes in 1..=9 {
                let total: usize = (0..nodes)
                    .map(|rank| share_of(partitions, nodes, rank))
                    .sum();
                assert_eq!(total, partitions as usize, "{partitions} over {nodes}");
            }
        }
        assert_eq!(
            (0..3).map(|rank| share_of(4, 3, rank)).collect::<Vec<_>>(),
            [2, 1, 1]
        );
    }
}

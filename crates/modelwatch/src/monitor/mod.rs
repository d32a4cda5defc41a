//! The [`Monitor`]: the engine run across tokio tasks, with back-pressure and ordered output.
//!
//! ```text
//! ingest ──> router ──(points, by series key)──> shard 0..N ──(alerts)──┐
//!              │                                                          v
//!              └───────────(plan: input order, which shards)──────> merger ──> observers, subscribers
//! ```
//!
//! - The router numbers inputs (the sequence number), stamps those without a timestamp with
//!   the clock, and sends each metric value to the shard that owns its series (a fixed hash of
//!   model, version, instance and metric), so one series is always evaluated by one shard, in
//!   order.
//! - The merger receives, for every batch, the plan (the inputs in order) and one result from
//!   each shard involved, puts the alerts back in input order, and runs the retrain policy
//!   over them, then the canary rules over the events' values (it sees every input, in order),
//!   exactly as [`modelwatch_engine::Engine`] does. So the output is the same, byte for byte,
//!   whatever the number of shards.
//! - Every queue is bounded. [`Monitor::ingest`] waits while the router's queue is full;
//!   nothing is ever dropped. [`Monitor::try_ingest_batch`] is for callers that would rather
//!   refuse (an HTTP server answering 503).
//! - Must not: spawn per event, drop an output, hold a lock across an await.

mod merge;
mod router;
mod shard;

use std::fmt;
use std::num::NonZeroUsize;
use std::sync::Arc;

use modelwatch_engine::{Config, Input, Output, RuleStatus};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::clock::{Clock, SystemClock};

/// Receives every output, in order, on the merger task. Keep it quick: the pipeline waits
/// for it (use [`Monitor::subscribe`] for slow or async consumers).
pub trait Observer: Send + 'static {
    /// Called once per output, in output order.
    fn observe(&mut self, output: &Output);
}

impl<F: FnMut(&Output) + Send + 'static> Observer for F {
    fn observe(&mut self, output: &Output) {
        self(output);
    }
}

/// How a [`Monitor`] runs.
pub struct MonitorOptions {
    /// Worker tasks that evaluate series; default: the number of CPUs.
    pub shards: NonZeroUsize,
    /// Batches each queue holds before senders wait; default 256.
    pub queue_capacity: NonZeroUsize,
    /// Outputs a subscription buffers before the pipeline waits for its reader; default 1024.
    pub subscription_capacity: NonZeroUsize,
    /// Stamps inputs that carry no timestamp; default: the system clock.
    pub clock: Arc<dyn Clock>,
    /// Called with every output, in order.
    pub observers: Vec<Box<dyn Observer>>,
}

impl fmt::Debug for MonitorOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MonitorOptions")
            .field("shards", &self.shards)
            .field("queue_capacity", &self.queue_capacity)
            .field("subscription_capacity", &self.subscription_capacity)
            .field("clock", &self.clock)
            .field("observers", &self.observers.len())
            .finish()
    }
}

impl Default for MonitorOptions {
    fn default() -> MonitorOptions {
        MonitorOptions {
            shards: std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN),
            queue_capacity: NonZeroUsize::new(256).unwrap_or(NonZeroUsize::MIN),
            subscription_capacity: NonZeroUsize::new(1024).unwrap_or(NonZeroUsize::MIN),
            clock: Arc::new(SystemClock),
            observers: Vec::new(),
        }
    }
}

impl MonitorOptions {
    /// Sets the number of shards (at least 1).
    pub fn shards(mut self, shards: usize) -> MonitorOptions {
        self.shards = NonZeroUsize::new(shards).unwrap_or(NonZeroUsize::MIN);
        self
    }

    /// Sets the queue capacity in batches (at least 1).
    pub fn queue_capacity(mut self, capacity: usize) -> MonitorOptions {
        self.queue_capacity = NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN);
        self
    }

    /// Sets how many outputs a subscription buffers (at least 1).
    pub fn subscription_capacity(mut self, capacity: usize) -> MonitorOptions {
        self.subscription_capacity = NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN);
        self
    }

    /// Sets the clock that stamps inputs without a timestamp.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> MonitorOptions {
        self.clock = clock;
        self
    }

    /// Adds an observer.
    pub fn observer(mut self, observer: impl Observer) -> MonitorOptions {
        self.observers.push(Box::new(observer));
        self
    }
}

/// Why the monitor could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    /// The monitor has shut down.
    #[error("the monitor has shut down")]
    Closed,
    /// `Monitor::start` was called outside a tokio runtime.
    #[error("no tokio runtime: start the monitor from inside one")]
    NoRuntime,
    /// A task of the monitor panicked: a bug.
    #[error("a monitor task failed: {0}")]
    TaskFailed(String),
}

/// Why [`Monitor::try_ingest_batch`] refused; the inputs come back untouched.
#[derive(Debug, thiserror::Error)]
pub enum TryIngestError {
    /// The queue is full: try again later (an HTTP server answers 503 with Retry-After).
    #[error("the ingest queue is full")]
    Full(Vec<Input>),
    /// The monitor has shut down.
    #[error("the monitor has shut down")]
    Closed(Vec<Input>),
}

/// The ordered stream of outputs, from the moment of [`Monitor::subscribe`].
#[derive(Debug)]
pub struct Subscription {
    outputs: mpsc::Receiver<Arc<Output>>,
}

impl Subscription {
    /// The next output; `None` once the monitor has shut down and every output was delivered.
    pub async fn recv(&mut self) -> Option<Arc<Output>> {
        self.outputs.recv().await
    }
}

enum Command {
    Ingest(Vec<Input>),
    Subscribe(mpsc::Sender<Arc<Output>>),
    Flush(oneshot::Sender<()>),
    Status(oneshot::Sender<Vec<oneshot::Receiver<Vec<RuleStatus>>>>),
}

/// The engine on tokio tasks: ingest inputs, subscribe to outputs.
#[derive(Debug)]
pub struct Monitor {
    commands: mpsc::Sender<Command>,
    subscription_capacity: usize,
    tasks: Vec<JoinHandle<()>>,
}

impl Monitor {
    /// Starts the monitor's tasks on the current tokio runtime.
    ///
    /// # Errors
    ///
    /// [`MonitorError::NoRuntime`] outside a tokio runtime.
    pub fn start(config: Arc<Config>, options: MonitorOptions) -> Result<Monitor, MonitorError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| MonitorError::NoRuntime)?;
        let capacity = options.queue_capacity.get();
        let (commands, command_rx) = mpsc::channel(capacity);
        let (plan_tx, plan_rx) = mpsc::channel(capacity);
        let mut tasks = Vec::new();
        let mut shard_inputs = Vec::new();
        let mut shard_outputs = Vec::new();
        for _ in 0..options.shards.get() {
            let (work_tx, work_rx) = mpsc::channel(capacity);
            let (result_tx, result_rx) = mpsc::channel(capacity);
            tasks.push(runtime.spawn(shard::run(config.clone(), work_rx, result_tx)));
            shard_inputs.push(work_tx);
            shard_outputs.push(result_rx);
        }
        tasks.push(runtime.spawn(router::run(
            config.clone(),
            command_rx,
            shard_inputs,
            plan_tx,
            options.clock,
        )));
        let merger = merge::Merger::new(config.clone(), options.observers);
        tasks.push(runtime.spawn(merger.run(plan_rx, shard_outputs)));
        Ok(Monitor {
            commands,
            subscription_capacity: options.subscription_capacity.get(),
            tasks,
        })
    }

    /// Queues one input; returns once it is accepted, waiting while the queue is full.
    ///
    /// # Errors
    ///
    /// [`MonitorError::Closed`] once the monitor has shut down.
    pub async fn ingest(&self, input: Input) -> Result<(), MonitorError> {
        self.ingest_batch(vec![input]).await
    }

    /// Queues inputs, in order; returns once they are accepted, waiting while the queue is full.
    /// A batch travels the pipeline as one unit, which is much cheaper than one input at a time.
    ///
    /// # Errors
    ///
    /// [`MonitorError::Closed`] once the monitor has shut down.
    pub async fn ingest_batch(&self, inputs: Vec<Input>) -> Result<(), MonitorError> {
        if inputs.is_empty() {
            return Ok(());
        }
        self.commands
            .send(Command::Ingest(inputs))
            .await
            .map_err(|_| MonitorError::Closed)
    }

    /// Queues inputs if there is room now, or gives them back.
    ///
    /// # Errors
    ///
    /// [`TryIngestError::Full`] when the queue is full, [`TryIngestError::Closed`] after shutdown.
    pub fn try_ingest_batch(&self, inputs: Vec<Input>) -> Result<(), TryIngestError> {
        if inputs.is_empty() {
            return Ok(());
        }
        self.commands
            .try_send(Command::Ingest(inputs))
            .map_err(|error| match error {
                mpsc::error::TrySendError::Full(Command::Ingest(inputs)) => {
                    TryIngestError::Full(inputs)
                }
                mpsc::error::TrySendError::Closed(Command::Ingest(inputs)) => {
                    TryIngestError::Closed(inputs)
                }
                _ => TryIngestError::Closed(Vec::new()),
            })
    }

    /// A subscription to every output of the inputs ingested after this call returns.
    ///
    /// # Errors
    ///
    /// [`MonitorError::Closed`] once the monitor has shut down.
    pub async fn subscribe(&self) -> Result<Subscription, MonitorError> {
        let (sender, outputs) = mpsc::channel(self.subscription_capacity);
        self.commands
            .send(Command::Subscribe(sender))
            .await
            .map_err(|_| MonitorError::Closed)?;
        Ok(Subscription { outputs })
    }

    /// Waits until every input ingested before this call is evaluated and its outputs are
    /// handed to observers and subscribers.
    ///
    /// # Errors
    ///
    /// [`MonitorError::Closed`] once the monitor has shut down.
    pub async fn flush(&self) -> Result<(), MonitorError> {
        let (done, wait) = oneshot::channel();
        self.commands
            .send(Command::Flush(done))
            .await
            .map_err(|_| MonitorError::Closed)?;
        wait.await.map_err(|_| MonitorError::Closed)
    }

    /// Where every rule stands on every series, after the inputs ingested before this call.
    ///
    /// # Errors
    ///
    /// [`MonitorError::Closed`] once the monitor has shut down.
    pub async fn status(&self) -> Result<Vec<RuleStatus>, MonitorError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Command::Status(reply))
            .await
            .map_err(|_| MonitorError::Closed)?;
        let mut statuses = Vec::new();
        for shard in answer.await.map_err(|_| MonitorError::Closed)? {
            statuses.extend(shard.await.map_err(|_| MonitorError::Closed)?);
        }
        statuses.sort_by(|a, b| {
            (&a.model, &a.metric, a.rule_index).cmp(&(&b.model, &b.metric, b.rule_index))
        });
        Ok(statuses)
    }

    /// Stops accepting inputs, finishes everything queued, delivers every output, and ends
    /// the tasks. Subscriptions end after their last output.
    ///
    /// # Errors
    ///
    /// [`MonitorError::TaskFailed`] if a task panicked.
    pub async fn shutdown(self) -> Result<(), MonitorError> {
        drop(self.commands);
        let mut failure = None;
        for task in self.tasks {
            if let Err(error) = task.await {
                failure.get_or_insert_with(|| error.to_string());
            }
        }
        match failure {
            Some(error) => Err(MonitorError::TaskFailed(error)),
            None => Ok(()),
        }
    }
}

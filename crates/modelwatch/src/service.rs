//! [`Service`]: the whole of `modelwatch serve` in one value, put together from its three
//! parts: the runtime (`runtime/`: the writer thread with the engine and the store, the
//! counters, retention), the effects (`effects/`: notifiers and the job runner, working from
//! the outbox) and the HTTP routes (`server/`).
//!
//! This is the only module that knows all three; they know the runtime, and nothing of each
//! other but the job runner's handle that the routes use.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use std::future::Future;

use axum::Router;
use modelwatch_engine::Config;
use modelwatch_store::{Store, StoreError, StoreLocation};
use tokio::sync::watch;

use crate::clock::Clock;
use crate::effects::{Effects, EffectsError, EffectsSetup};
use crate::runtime::{Retention, Runtime, RuntimeError, RuntimeOptions, Status};
use crate::server::listen::{self, ConnectionLimits, Incoming};
use crate::server::{self, RouterParts, auth};

/// Knobs of the service.
#[derive(Clone, Debug)]
pub struct ServiceOptions {
    /// The largest request body, in bytes.
    pub body_limit: usize,
    /// How long a request's body may take to arrive whole (else 408).
    pub body_timeout: Duration,
    /// The most bytes of request bodies held at once (past it, 503 with `Retry-After`).
    pub max_bodies_in_flight: usize,
    /// The listener's timeouts, connection limit and shutdown deadline.
    pub connections: ConnectionLimits,
    /// How many requests may wait for the writer.
    pub queue_capacity: usize,
    /// Most series `/metrics` exports.
    pub max_exported_series: usize,
    /// The bearer tokens of the `/v1/...` routes; none: no authentication.
    pub auth: auth::Auth,
    /// Inputs between two engine snapshots.
    pub snapshot_every: u64,
    /// How long raw events are kept; `POST /v1/events` refuses events older than that.
    pub retention: Retention,
    /// How far ahead of the clock `POST /v1/events` takes event times; none: any time.
    pub max_future: Option<Duration>,
    /// Series (a metric of a model instance) the service holds at most: an ingest request
    /// whose events would create one beyond it is refused whole (422). None: no cap.
    pub max_series: Option<usize>,
    /// The service's own base URL, for links in notifications.
    pub public_url: String,
}

impl Default for ServiceOptions {
    fn default() -> ServiceOptions {
        let runtime = RuntimeOptions::default();
        ServiceOptions {
            body_limit: server::DEFAULT_BODY_LIMIT,
            body_timeout: server::DEFAULT_BODY_TIMEOUT,
            max_bodies_in_flight: server::DEFAULT_MAX_BODIES_IN_FLIGHT,
            connections: ConnectionLimits::default(),
            queue_capacity: runtime.queue_capacity,
            max_exported_series: server::DEFAULT_MAX_EXPORTED_SERIES,
            auth: auth::Auth::default(),
            snapshot_every: runtime.snapshot_every,
            retention: runtime.retention,
            max_future: Some(server::DEFAULT_MAX_FUTURE),
            max_series: runtime.max_series,
            public_url: format!("http://{}", server::DEFAULT_LISTEN),
        }
    }
}

/// Why the service could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The store could not be opened.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The runtime could not start, or the writer stopped with an error.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    /// The notifiers or the job runner cannot start (a secret cannot be read).
    #[error(transparent)]
    Effects(#[from] EffectsError),
}

/// A started service: the writer is running (recovering first), the effects wait for it, and
/// [`Service::router`] serves HTTP.
#[derive(Debug)]
pub struct Service {
    router: Router,
    connections: ConnectionLimits,
    runtime: Runtime,
    effects: Effects,
}

impl Service {
    /// Opens the store in `data_dir`, reads every secret the config names, then starts the
    /// writer (which first replays the stored inputs; watch [`Service::status`] for the end of
    /// recovery), the effects and the routes.
    ///
    /// # Errors
    ///
    /// [`ServiceError`]: the store cannot be opened, a secret cannot be read, a thread cannot
    /// be started, or there is no Tokio runtime.
    pub fn start(
        config: Arc<Config>,
        data_dir: &Path,
        clock: Arc<dyn Clock>,
        options: ServiceOptions,
    ) -> Result<Service, ServiceError> {
        let location = StoreLocation::Directory(data_dir.to_path_buf());
        Service::start_at(config, &location, clock, options)
    }

    /// [`Service::start`] on the store at `location`: a data directory or PostgreSQL.
    ///
    /// # Errors
    ///
    /// As [`Service::start`].
    pub fn start_at(
        config: Arc<Config>,
        location: &StoreLocation,
        clock: Arc<dyn Clock>,
        options: ServiceOptions,
    ) -> Result<Service, ServiceError> {
        // Before the writer starts: a secret that cannot be read stops the start.
        let prepared = Effects::prepare(&config)?;
        let runtime = Runtime::start_at(
            config.clone(),
            location,
            clock.clone(),
            &RuntimeOptions {
                queue_capacity: options.queue_capacity,
                snapshot_every: options.snapshot_every,
                retention: options.retention,
                max_series: options.max_series,
                metrics: None,
            },
        )?;
        let queue = runtime.queue();
        let effects = Effects::start(
            prepared,
            EffectsSetup {
                config: config.clone(),
                reader: Store::open_at(location)?,
                queue: queue.downgrade(),
                outbox: runtime.outbox(),
                clock: clock.clone(),
                link_base: options.public_url.clone(),
                metrics: runtime.metrics().clone(),
                mark_sends: false,
            },
            queue.status(),
        );
        let router = server::router(RouterParts {
            config,
            clock,
            queue: queue.clone(),
            reader: Store::open_at(location)?,
            metrics: runtime.metrics().clone(),
            jobs: effects.jobs.clone(),
            auth: options.auth,
            body_limit: options.body_limit,
            body_timeout: options.body_timeout,
            max_bodies_in_flight: options.max_bodies_in_flight,
            max_exported_series: options.max_exported_series,
            retention: options.retention,
            max_future: options.max_future,
            ready_detail: None,
            routing: None,
        });
        Ok(Service {
            router,
            connections: options.connections,
            runtime,
            effects,
        })
    }

    /// The routes. Every clone holds the writer's queue open: the writer stops once all of
    /// them (and so every in-flight request) are gone.
    pub fn router(&self) -> Router {
        self.router.clone()
    }

    /// Serves the routes on the connections of `incoming` (a `TcpListener`) with the
    /// configured connection limits, until `shutdown` resolves and the connections still open
    /// are answered or, past the shutdown deadline, closed.
    pub fn listen<I: Incoming>(
        &self,
        incoming: I,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> impl Future<Output = ()> + Send + 'static {
        listen::listen(incoming, self.router(), self.connections, shutdown)
    }

    /// Where the writer stands (recovering, ready, failed).
    pub fn status(&self) -> watch::Receiver<Status> {
        self.runtime.queue().status()
    }

    /// Where the store is: the SQLite file, or PostgreSQL's `host:port/name`.
    pub fn store_description(&self) -> &str {
        self.runtime.store_description()
    }

    /// Drops the routes (closing the queue once no request holds it) and waits for the
    /// writer to commit what it has and stop. Blocks: call it off the async runtime.
    ///
    /// # Errors
    ///
    /// What stopped the writer, if it failed.
    pub fn join(self) -> Result<(), ServiceError> {
        drop(self.router);
        let written = self.runtime.join().map_err(ServiceError::from);
        // The effects end by themselves once the writer is gone; a request under way (a
        // webhook, a running command) is cut short and tried again at the next start.
        self.effects.abort();
        written
    }
}

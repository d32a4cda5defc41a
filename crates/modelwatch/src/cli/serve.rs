//! `modelwatch serve`: the HTTP service on the durable store in a data directory.
//!
//! Prints where it stores and listens, then `ready ...` once recovery (the replay of the stored
//! inputs) has finished; SIGINT or SIGTERM stop it gracefully (exit 0): no new connections,
//! in-flight requests answered within `--shutdown-timeout` (then their connections are
//! closed), the writer commits what it has. The listener's timeouts and limits are
//! `cli/limits.rs`'s flags. A failed recovery or commit
//! shuts it down too, and it exits 1.
//!
//! Bearer tokens (`--token-env NAME:SCOPES`, `--token-file PATH:SCOPES`) are read before
//! anything starts; an empty or missing one, or one value given twice, is an error naming the
//! variables or files, never the value. Without tokens, only a loopback address is taken unless
//! `--allow-unauthenticated` says otherwise.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use modelwatch::runtime::retention::{self, Retention};
use modelwatch::runtime::{DEFAULT_QUEUE_CAPACITY, Status};
use modelwatch::server::auth::{Auth, Scope, Token};
use modelwatch::{Config, SystemClock};
use modelwatch::{Service, ServiceOptions};
use modelwatch_store::StoreLocation;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The config (TOML); without it, the built-in rules.
    #[arg(long)]
    config: Option<PathBuf>,
    /// The address to listen on (IP:PORT; port 0 picks a free one). Without tokens, loopback
    /// only unless --allow-unauthenticated.
    #[arg(long, default_value = "127.0.0.1:8780")]
    pub(super) listen: SocketAddr,
    /// A bearer token read from environment variable NAME, with its scopes (ingest, read,
    /// admin; comma-separated). Admin is a scope of its own (the changes by hand); an admin
    /// token may also ingest and read. Repeatable; every token needs a value of its own.
    #[arg(long, value_name = "NAME:SCOPES")]
    token_env: Vec<String>,
    /// A bearer token read from file PATH (its content, trimmed), with its scopes.
    /// Repeatable.
    #[arg(long, value_name = "PATH:SCOPES")]
    token_file: Vec<String>,
    /// Listen on a non-loopback address without any token configured.
    #[arg(long)]
    allow_unauthenticated: bool,
    /// The data directory (created if missing); the database is DIR/modelwatch.db.
    #[arg(long, default_value = "./modelwatch-data", value_name = "DIR")]
    data: PathBuf,
    /// The store: a PostgreSQL URL (`postgres://user@host:port/db`; its password, if any, is
    /// never printed or logged), or a data directory as --data. PostgreSQL is what several
    /// nodes share (with --log).
    #[arg(long, value_name = "URL|DIR", conflicts_with = "data")]
    store: Option<String>,
    #[command(flatten)]
    pub(super) cluster: super::serve_cluster::ClusterArgs,
    /// Most series (model, version, instance, metric) that GET /metrics exports.
    #[arg(long, default_value_t = modelwatch::server::DEFAULT_MAX_EXPORTED_SERIES, value_name = "N")]
    metrics_max_series: usize,
    /// Most series (a metric of a model instance) the service holds, each a few KB of memory
    /// for good; an ingest request whose events would create one beyond it is refused whole
    /// with 422 naming the limit and the series. `off`: no cap.
    #[arg(long, default_value = "100000", value_name = "N", value_parser = max_series)]
    max_series: MaxSeries,
    /// The largest request body taken, in bytes; a larger one is a 413.
    #[arg(long, default_value_t = modelwatch::server::DEFAULT_BODY_LIMIT, value_name = "BYTES", value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    body_limit: usize,
    /// How many requests may wait for the writer; when they are all taken, a request is
    /// refused with 503 and Retry-After.
    #[arg(long, default_value_t = DEFAULT_QUEUE_CAPACITY, value_name = "N", value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    queue_capacity: usize,
    /// How long raw events (inputs and series points) are kept, by event time: a whole number
    /// and a unit s, m, h, d or w, or `off` to keep everything. Alerts and decisions are kept.
    #[arg(long, default_value = "30d", value_name = "PERIOD", value_parser = keep)]
    retention: Keep,
    /// How far ahead of the server's clock an event may be dated (a whole number and a unit
    /// s, m, h, d or w, or `off`); a later one is refused with 422, so that a wrong date
    /// cannot hold a model's retrain cooldown for years. Events older than --retention are
    /// refused too (unless it is `off`): the next retention pass would delete them.
    #[arg(long, default_value = "5m", value_name = "PERIOD", value_parser = keep)]
    max_future: Keep,
    /// Time between two retention passes; the first runs once recovery is over.
    #[arg(long, default_value = "1h", value_name = "PERIOD", value_parser = retention::parse_duration)]
    retention_interval: Duration,
    /// Inputs between two snapshots of the engine's state, at least (start-up restores the
    /// latest and replays only the inputs after it). A large state is saved less often: at
    /// least (snapshot size / 256 bytes) inputs apart.
    #[arg(long, default_value_t = modelwatch::runtime::writer::DEFAULT_SNAPSHOT_EVERY, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    snapshot_every: u64,
    /// The URL people and systems reach this service at, for the links in notifications;
    /// default: http:// and the listening address.
    #[arg(long, value_name = "URL")]
    public_url: Option<String>,
    #[command(flatten)]
    limits: super::limits::LimitArgs,
    #[command(flatten)]
    log: super::logging::LogArgs,
}

pub fn run(args: &ServeArgs, out: &mut dyn Write) -> Result<()> {
    args.log.init()?;
    let tokens = tokens(args)?;
    let authenticated = !tokens.is_empty();
    // Names both tokens of one value, never the value.
    let auth = Auth::new(tokens)?;
    if !authenticated && !args.listen.ip().is_loopback() && !args.allow_unauthenticated {
        bail!(
            "refusing to listen on {} without authentication: it is not a loopback address; \
             configure a token (--token-env NAME:SCOPES or --token-file PATH:SCOPES), listen \
             on 127.0.0.1 or ::1, or pass --allow-unauthenticated",
            args.listen
        );
    }
    let mut config = super::load_config(args.config.as_deref())?;
    // Retention applies to the pending join too: no prediction waits for its label longer
    // than its input is kept (docs/quality.md).
    if let Some(keep) = args.retention.0 {
        let stderr = std::io::stderr();
        let mut err = stderr.lock();
        for (name, horizon) in config.models.cap_horizons(keep.as_secs()) {
            let _ = writeln!(
                err,
                "warning: [[models]] {name:?}: label_horizon_secs {horizon} is longer than \
                 --retention; predictions wait at most {} s for their labels",
                keep.as_secs()
            );
        }
    }
    let config = Arc::new(config);
    let location = match &args.store {
        Some(store) => StoreLocation::parse(store),
        None => StoreLocation::Directory(args.data.clone()),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    match (&location, args.cluster.log.as_deref()) {
        (StoreLocation::Postgres(url), Some(log)) => runtime.block_on(super::serve_cluster::serve(
            args, url, log, config, auth, out,
        )),
        (_, Some(_)) => bail!(
            "--log needs the shared store of a cluster: --store postgres://... (a data \
             directory belongs to one node)"
        ),
        (_, None) if args.cluster.advertise.is_some() => bail!(
            "--advertise is where the other nodes of a cluster reach this one: it needs --log \
             nats://..."
        ),
        (location, None) => runtime.block_on(serve(args, location, config, auth, out)),
    }
}

/// A period as `--retention` and `--max-future` take it; none: `off`.
#[derive(Clone, Copy, Debug)]
struct Keep(Option<Duration>);

fn keep(text: &str) -> Result<Keep, String> {
    retention::parse_keep(text).map(Keep)
}

/// A cap as `--max-series` takes it; none: `off`.
#[derive(Clone, Copy, Debug)]
struct MaxSeries(Option<usize>);

fn max_series(text: &str) -> Result<MaxSeries, String> {
    if text == "off" {
        return Ok(MaxSeries(None));
    }
    match text.parse::<usize>() {
        Ok(0) | Err(_) => Err(format!(
            "expected a whole number of series from 1, or `off` for no cap; got `{text}`"
        )),
        Ok(n) => Ok(MaxSeries(Some(n))),
    }
}

/// Every configured token, read from its variable or file.
fn tokens(args: &ServeArgs) -> Result<Vec<Token>> {
    let mut tokens = Vec::new();
    for spec in &args.token_env {
        let (name, scopes) = split_spec(spec, "--token-env", "NAME")?;
        let value = match std::env::var(name) {
            Ok(value) => value,
            Err(std::env::VarError::NotPresent) => {
                bail!("--token-env: environment variable {name} is not set")
            }
            Err(std::env::VarError::NotUnicode(_)) => {
                bail!("--token-env: environment variable {name} is not valid UTF-8")
            }
        };
        let value = value.trim();
        if value.is_empty() {
            bail!("--token-env: environment variable {name} is empty");
        }
        tokens.push(Token::new(format!("env {name}"), value, &scopes));
    }
    for spec in &args.token_file {
        let (path, scopes) = split_spec(spec, "--token-file", "PATH")?;
        let content = std::fs::read_to_string(path)
            .with_context(|| format!("--token-file: cannot read token file {path}"))?;
        let value = content.trim();
        if value.is_empty() {
            bail!("--token-file: token file {path} is empty");
        }
        tokens.push(Token::new(format!("file {path}"), value, &scopes));
    }
    Ok(tokens)
}

/// Splits `SOURCE:SCOPE[,SCOPE]` at its last colon (a path may hold colons; scopes do not).
fn split_spec<'s>(spec: &'s str, flag: &str, what: &str) -> Result<(&'s str, Vec<Scope>)> {
    let Some((source, scopes)) = spec
        .rsplit_once(':')
        .filter(|(source, _)| !source.is_empty())
    else {
        bail!("{flag} {spec:?}: expected {what}:SCOPE[,SCOPE] (scopes: ingest, read, admin)");
    };
    let scopes = scopes
        .split(',')
        .map(Scope::parse)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|message| anyhow::anyhow!("{flag} {source}: {message}"))?;
    Ok((source, scopes))
}

/// The service's knobs from the flags; links point at `local` unless --public-url.
pub(super) fn service_options(args: &ServeArgs, auth: Auth, local: SocketAddr) -> ServiceOptions {
    let mut options = ServiceOptions {
        max_exported_series: args.metrics_max_series,
        body_limit: args.body_limit,
        queue_capacity: args.queue_capacity,
        auth,
        snapshot_every: args.snapshot_every,
        retention: Retention {
            keep: args.retention.0,
            interval: args.retention_interval,
        },
        max_future: args.max_future.0,
        max_series: args.max_series.0,
        public_url: args
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{local}")),
        ..ServiceOptions::default()
    };
    args.limits.apply(&mut options);
    options
}

async fn serve(
    args: &ServeArgs,
    location: &StoreLocation,
    config: Arc<Config>,
    auth: Auth,
    out: &mut dyn Write,
) -> Result<()> {
    let authenticated = auth.enabled();
    let (listener, local) = bind(args.listen).await?;
    let options = service_options(args, auth, local);
    let where_ = match location {
        StoreLocation::Directory(dir) => dir.display().to_string(),
        StoreLocation::Postgres(url) | StoreLocation::PostgresPartition { url, .. } => {
            modelwatch_store::pg::redact(url)
        }
    };
    let service = Service::start_at(config, location, Arc::new(SystemClock), options)
        .with_context(|| format!("cannot start the service on {where_}"))?;
    let mut terminate = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    writeln!(out, "storing in {}", service.store_description())?;
    print_listening(out, local, authenticated)?;

    let status = service.status();
    let shutdown = {
        let status = status.clone();
        async move {
            tokio::select! {
                result = tokio::signal::ctrl_c() => {
                    if result.is_err() {
                        std::future::pending::<()>().await;
                    }
                }
                _ = terminate.recv() => {}
                _ = failed(status) => {}
            }
        }
    };
    let mut server = tokio::spawn(service.listen(listener, shutdown));
    let served = tokio::select! {
        recovered = ready(status) => {
            if let Some(Status::Ready { replayed, restored, note }) = recovered {
                if let Some(note) = note {
                    writeln!(out, "note: {note}")?;
                }
                match restored {
                    Some(seq) => writeln!(
                        out,
                        "ready: replayed {replayed} stored inputs after the snapshot at input {seq}"
                    )?,
                    None => writeln!(out, "ready: replayed {replayed} stored inputs")?,
                }
                out.flush()?;
            }
            server.await
        }
        served = &mut server => served,
    };
    let served = served.context("the HTTP server task failed");
    let joined = tokio::task::spawn_blocking(move || service.join())
        .await
        .context("the writer task failed")?;
    joined.context("the writer stopped")?;
    served?;
    writeln!(out, "stopped")?;
    Ok(())
}

/// Binds the listening socket: the listener and the address it took (port 0 picks one).
pub(super) async fn bind(listen: SocketAddr) -> Result<(tokio::net::TcpListener, SocketAddr)> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let local = listener
        .local_addr()
        .context("cannot read the listening address")?;
    Ok((listener, local))
}

/// The banner's last lines: where it listens and how it authenticates.
pub(super) fn print_listening(
    out: &mut dyn Write,
    local: SocketAddr,
    authenticated: bool,
) -> std::io::Result<()> {
    writeln!(out, "listening on http://{local}")?;
    if authenticated {
        writeln!(
            out,
            "authentication: bearer tokens on /v1 (/healthz, /readyz, /metrics open)"
        )?;
    } else {
        writeln!(out, "authentication: off (no tokens configured)")?;
    }
    out.flush()
}

/// Waits for recovery to end: the ready status, or `None` if it failed.
async fn ready(mut status: watch::Receiver<Status>) -> Option<Status> {
    let status = status
        .wait_for(|status| !matches!(status, Status::Recovering))
        .await
        .ok()?;
    matches!(&*status, Status::Ready { .. }).then(|| status.clone())
}

/// Resolves once the writer has failed (recovery or a commit), or has gone.
async fn failed(mut status: watch::Receiver<Status>) {
    let _ = status
        .wait_for(|status| matches!(status, Status::Failed { .. }))
        .await;
}

//! `modelwatch serve`: the HTTP service on the durable store in a data directory.
//!
//! Prints where it stores and listens, then `ready ...` once recovery (the replay of the stored
//! inputs) has finished; SIGINT or SIGTERM stop it gracefully (exit 0): no new connections,
//! in-flight requests answered, the writer commits what it has. A failed recovery or commit
//! shuts it down too, and it exits 1.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::Args;
use modelwatch::server::{Service, ServiceOptions, Status};
use modelwatch::{Config, SystemClock};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The config (TOML); without it, the built-in rules.
    #[arg(long)]
    config: Option<PathBuf>,
    /// The address to listen on (IP:PORT; port 0 picks a free one). Loopback only for now:
    /// there is no authentication yet.
    #[arg(long, default_value = "127.0.0.1:8780")]
    listen: SocketAddr,
    /// The data directory (created if missing); the database is DIR/modelwatch.db.
    #[arg(long, default_value = "./modelwatch-data", value_name = "DIR")]
    data: PathBuf,
    /// Most series (model, version, instance, metric) that GET /metrics exports.
    #[arg(long, default_value_t = modelwatch::server::metrics::DEFAULT_MAX_EXPORTED_SERIES, value_name = "N")]
    metrics_max_series: usize,
}

pub fn run(args: &ServeArgs, out: &mut dyn Write) -> Result<()> {
    if !args.listen.ip().is_loopback() {
        bail!(
            "refusing to listen on {}: it is not a loopback address and serve has no \
             authentication yet (bearer tokens come in a later version); listen on 127.0.0.1 \
             or ::1",
            args.listen
        );
    }
    let config = Arc::new(super::load_config(args.config.as_deref())?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(args, config, out))
}

async fn serve(args: &ServeArgs, config: Arc<Config>, out: &mut dyn Write) -> Result<()> {
    let service = Service::start(
        config,
        &args.data,
        Arc::new(SystemClock),
        ServiceOptions {
            max_exported_series: args.metrics_max_series,
            ..ServiceOptions::default()
        },
    )
    .with_context(|| format!("cannot open the store in {}", args.data.display()))?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let local = listener
        .local_addr()
        .context("cannot read the listening address")?;
    let mut terminate = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    writeln!(out, "storing in {}", service.store_path().display())?;
    writeln!(out, "listening on http://{local}")?;
    out.flush()?;

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
    let mut server = tokio::spawn(
        axum::serve(listener, service.router())
            .with_graceful_shutdown(shutdown)
            .into_future(),
    );
    let served = tokio::select! {
        replayed = ready(status) => {
            if let Some(replayed) = replayed {
                writeln!(out, "ready: replayed {replayed} stored inputs")?;
                out.flush()?;
            }
            server.await
        }
        served = &mut server => served,
    };
    let served = served
        .context("the HTTP server task failed")?
        .context("the HTTP server failed");
    let joined = tokio::task::spawn_blocking(move || service.join())
        .await
        .context("the writer task failed")?;
    joined.context("the writer stopped")?;
    served?;
    writeln!(out, "stopped")?;
    Ok(())
}

/// Waits for recovery to end: the number of inputs replayed, or `None` if it failed.
async fn ready(mut status: watch::Receiver<Status>) -> Option<u64> {
    let status = status
        .wait_for(|status| !matches!(status, Status::Recovering))
        .await
        .ok()?;
    match &*status {
        Status::Ready { replayed } => Some(*replayed),
        _ => None,
    }
}

/// Resolves once the writer has failed (recovery or a commit), or has gone.
async fn failed(mut status: watch::Receiver<Status>) {
    let _ = status
        .wait_for(|status| matches!(status, Status::Failed { .. }))
        .await;
}

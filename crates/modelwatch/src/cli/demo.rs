//! `modelwatch demo`: the whole loop on one terminal in a few seconds. It starts the service
//! in-process on a temporary store (the same `Service` and routes as `serve`), with a config
//! embedded from `demo/demo.toml`, a webhook receiver of its own (`demo/receiver.rs`), and
//! this binary's hidden `demo-trainer` and `demo-rollback` as command backends
//! (`demo/backends.rs`). It streams a synthetic model that degrades (`demo/stream.rs`) over
//! loopback HTTP and shows, step by step (`demo/steps.rs`), the alert firing, the webhook
//! delivered, the retrain job running the trainer, the new version registered, and the canary
//! that promotes it (or, with `--bad-candidate`, rolls it back). With `--predictions` the model
//! sends raw traffic instead, predictions and their delayed labels (`demo/traffic.rs`, streamed
//! by `demo/traffic_steps.rs`, with the config `demo/traffic.toml`): the service computes the
//! accuracy that falls, fires the alert and judges the canary. This file sets up and tears
//! down: the directory, the config, the service, the receiver and the deadline.
//!
//! It waits on outcomes, never on time: the webhook receiver hands deliveries over a channel,
//! `GET /v1/jobs/{id}?wait=` waits for a job, and the alerts, registry and audit routes are
//! read after the ingest request that caused them was answered (an answer comes after its
//! commit). One deadline bounds the whole demo; past it, the demo fails naming the step that
//! did not happen. The service is stopped cleanly and the temporary directory removed in every
//! case.

mod backends;
mod receiver;
mod show;
mod steps;
mod stream;
mod traffic;
mod traffic_steps;

use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use clap::Args;
use modelwatch::runtime::Retention;
use modelwatch::{Clock, SystemClock};
use modelwatch::{Service, ServiceOptions};
use modelwatch_engine::config::{ParsedConfig, parse_config};
use tokio::sync::oneshot;
use tokio::time::Instant;

pub use backends::{RollbackArgs, TrainerArgs, run_rollback, run_trainer};
use receiver::Receiver;
use steps::Demo;
use stream::{MODEL, VERSION};

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Make the retrained version worse than the one it replaces: its canary fails and it is
    /// rolled back (without this flag it passes and is promoted).
    #[arg(long)]
    bad_candidate: bool,
    /// Stream raw traffic instead of accuracy values: predictions with a score and features,
    /// and their labels 20 to 60 minutes later; the service computes the accuracy that the
    /// alert and the canary act on.
    #[arg(long)]
    predictions: bool,
    /// Keep the store, the filled-in config and the backends' logs in DIR (created; must be
    /// empty) instead of a temporary directory removed at the end.
    #[arg(long, value_name = "DIR")]
    keep: Option<PathBuf>,
    /// The whole demo's time limit, in seconds.
    #[arg(long, default_value_t = 60, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=3600))]
    timeout: u64,
    #[command(flatten)]
    limits: super::limits::LimitArgs,
}

/// The demo's config, with `@name@` for each value `render_config` fills in.
const CONFIG_TEMPLATE: &str = include_str!("demo/demo.toml");
/// The config of `--predictions`, with the same placeholders.
const TRAFFIC_TEMPLATE: &str = include_str!("demo/traffic.toml");

/// How many steps the demo shows.
const STEPS: usize = 7;

/// Points of the degradation phase per request (the demo looks for the alert after each).
const DEGRADING_CHUNK: usize = 5;
/// Minutes of the canary phase per request (two points each).
const CANARY_CHUNK: usize = 10;

/// The values the config template leaves open.
#[derive(Debug)]
struct Placeholders<'p> {
    webhook_url: &'p str,
    secret_file: &'p Path,
    exe: &'p Path,
    trainer_log: &'p Path,
    rollback_log: &'p Path,
}

/// Runs the demo.
///
/// # Errors
///
/// Whatever stopped it, naming the step; the service is stopped and the temporary directory
/// removed first.
pub fn run(args: &DemoArgs, out: &mut dyn Write) -> Result<()> {
    let exe = std::env::current_exe()
        .context("cannot find the modelwatch binary itself (the demo runs it as its trainer)")?;
    let (dir, temporary) = match &args.keep {
        Some(dir) => {
            prepare_kept(dir)?;
            (dir.clone(), None)
        }
        None => {
            let temporary = tempfile::Builder::new()
                .prefix("modelwatch-demo-")
                .tempdir()
                .context("cannot create a temporary directory")?;
            (temporary.path().to_path_buf(), Some(temporary))
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let result = runtime.block_on(demo(args, &exe, &dir, out));
    drop(runtime);
    let removed = match temporary {
        Some(temporary) => temporary
            .close()
            .context("cannot remove the demo's temporary directory"),
        None => Ok(()),
    };
    result?;
    removed
}

/// `--keep DIR`: created if missing; refused unless empty (an old demo's store would replay).
fn prepare_kept(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?;
    if entries.next().is_some() {
        bail!(
            "--keep {}: the directory is not empty; give a new or empty one",
            dir.display()
        );
    }
    Ok(())
}

/// The demo's config with the placeholders filled in, as TOML strings (and, in commands,
/// with braces doubled so that the job templates take them literally).
fn render_config(template: &str, values: &Placeholders<'_>) -> Result<String> {
    let path = |path: &Path| {
        path.to_str()
            .map(str::to_string)
            .ok_or_else(|| anyhow!("the path {} is not UTF-8", path.display()))
    };
    let literal = |text: String| text.replace('{', "{{").replace('}', "}}");
    let filled = [
        ("webhook_url", values.webhook_url.to_string()),
        ("secret_file", path(values.secret_file)?),
        ("exe", literal(path(values.exe)?)),
        ("trainer_log", literal(path(values.trainer_log)?)),
        ("rollback_log", literal(path(values.rollback_log)?)),
    ];
    let mut text = template.to_string();
    for (name, value) in filled {
        text = text.replace(&format!("@{name}@"), &toml_string(&value));
    }
    Ok(text)
}

/// A TOML basic string holding `text`.
fn toml_string(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for c in text.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(quoted, "\\u{:04X}", u32::from(c));
            }
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

/// A secret for the webhook's signatures, new every run.
fn new_secret() -> String {
    let seed = SystemClock.now().as_nanos().unsigned_abs() ^ u64::from(std::process::id());
    let mut noise = stream::Xorshift::new(seed);
    (0..4)
        .map(|_| format!("{:08x}", (noise.next_f64() * f64::from(u32::MAX)) as u32))
        .collect()
}

async fn demo(args: &DemoArgs, exe: &Path, dir: &Path, out: &mut dyn Write) -> Result<()> {
    let started = Instant::now();
    let limit = Duration::from_secs(args.timeout);
    let secret = new_secret();
    let secret_file = dir.join("webhook-secret");
    std::fs::write(&secret_file, &secret)
        .with_context(|| format!("cannot write {}", secret_file.display()))?;
    let receiver = Receiver::start(secret.into_bytes()).await?;
    let trainer_log = dir.join("trainer.log");
    let rollback_log = dir.join("rollback.log");
    let template = if args.predictions {
        TRAFFIC_TEMPLATE
    } else {
        CONFIG_TEMPLATE
    };
    let text = render_config(
        template,
        &Placeholders {
            webhook_url: &receiver.url,
            secret_file: &secret_file,
            exe,
            trainer_log: &trainer_log,
            rollback_log: &rollback_log,
        },
    )?;
    let config_file = dir.join("demo.toml");
    std::fs::write(&config_file, &text)
        .with_context(|| format!("cannot write {}", config_file.display()))?;
    let ParsedConfig { config, .. } =
        parse_config(&text).map_err(|errors| anyhow!("the demo's config: {errors}"))?;

    let client = modelwatch::effects::http::client().context("cannot build the HTTP client")?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("cannot listen on a loopback port")?;
    let local = listener
        .local_addr()
        .context("cannot read the listening address")?;
    let base = format!("http://{local}");
    let data = dir.join("data");
    let service = Service::start(
        Arc::new(config),
        &data,
        Arc::new(SystemClock),
        ServiceOptions {
            // The stream's event times are fixed: neither retention nor the bound on times
            // ahead of the clock may depend on the day the demo runs.
            retention: Retention {
                keep: None,
                ..Retention::default()
            },
            max_future: None,
            public_url: base.clone(),
            ..args.limits.options()
        },
    )
    .with_context(|| format!("cannot start the service on {}", data.display()))?;
    let (stop, stopped) = oneshot::channel::<()>();
    let mut server = tokio::spawn(service.listen(listener, async move {
        let _ = stopped.await;
    }));

    let kept = if args.keep.is_some() {
        "kept"
    } else {
        "removed at the end; --keep DIR keeps it"
    };
    let what = if args.predictions {
        format!(
            "modelwatch demo --predictions: {MODEL} {VERSION} serves predictions whose labels \
             come later; the accuracy computed from them degrades, the model is retrained, and \
             its new version goes through a canary judged on computed accuracy"
        )
    } else {
        format!(
            "modelwatch demo: {MODEL} {VERSION} degrades, is retrained, and its new version \
             goes through a canary"
        )
    };
    let header = format!(
        "{what}{}\n\
         \x20 directory {} ({kept})\n\
         \x20 service   {base} (in-process: serve's routes, store in {})\n\
         \x20 webhook   {} (a receiver in this process; it checks each signature)",
        if args.bad_candidate {
            " (--bad-candidate: a worse one)"
        } else {
            ""
        },
        dir.display(),
        data.display(),
        receiver.url
    );

    // From here on the service runs: whatever happens, it is stopped below.
    let mut receiver = receiver;
    let mut demo = Demo {
        client,
        base,
        out: &mut *out,
        started,
        deadline: started + limit,
        deliveries: &mut receiver.deliveries,
        bad: args.bad_candidate,
        predictions: args.predictions,
        trainer_log,
        rollback_log,
        kept: args.keep.as_ref().map(|_| dir.to_path_buf()),
        waiting: (1, "the service becomes ready"),
    };
    let ended = tokio::select! {
        result = tokio::time::timeout(limit, demo.run(&header, service.status())) => {
            result.map_or(Ended::TimedOut, Ended::Done)
        }
        _ = tokio::signal::ctrl_c() => Ended::Interrupted,
    };
    let (step, what) = demo.waiting;
    let outcome = match ended {
        Ended::Done(Ok(summary)) => Ok(summary),
        Ended::Done(Err(error)) => {
            Err(error.context(format!("step {step}/{STEPS} failed ({what})")))
        }
        Ended::TimedOut => Err(anyhow!(
            "step {step}/{STEPS} did not happen within the demo's {} s: {what}",
            limit.as_secs()
        )),
        Ended::Interrupted => Err(anyhow!(
            "interrupted at step {step}/{STEPS} ({what}); the service was stopped"
        )),
    };
    // Its client's connections go with it.
    drop(demo);

    // Stop serving (requests under way are answered, or cut after a few seconds), then let the
    // writer commit what it has and stop, then the receiver.
    let _ = stop.send(());
    let served = match tokio::time::timeout(Duration::from_secs(5), &mut server).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(error)) => Err(anyhow!(error).context("the HTTP server task failed")),
        Err(_) => {
            server.abort();
            Ok(())
        }
    };
    let joined = match tokio::task::spawn_blocking(move || service.join()).await {
        Ok(joined) => joined.context("the writer stopped"),
        Err(error) => Err(anyhow!(error).context("the writer task failed")),
    };
    let received = receiver.stop().await;
    let summary = outcome?;
    joined?;
    served?;
    received?;
    writeln!(out, "{summary}")?;
    out.flush()?;
    Ok(())
}

/// How the steps ended.
enum Ended {
    Done(Result<String>),
    TimedOut,
    Interrupted,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `template` rendered with fixed placeholders (an odd binary path among them).
    pub(super) fn rendered(template: &str) -> String {
        render_config(
            template,
            &Placeholders {
                webhook_url: "http://127.0.0.1:9/hook",
                secret_file: Path::new("/tmp/demo/webhook-secret"),
                exe: Path::new("/odd \"path\"/with {braces}\\/modelwatch"),
                trainer_log: Path::new("/tmp/demo/trainer.log"),
                rollback_log: Path::new("/tmp/demo/rollback.log"),
            },
        )
        .unwrap()
    }

    #[test]
    fn the_config_templates_render_and_parse_without_warnings() {
        for template in [CONFIG_TEMPLATE, TRAFFIC_TEMPLATE] {
            the_template_renders_and_parses_without_warnings(template);
        }
    }

    fn the_template_renders_and_parses_without_warnings(template: &str) {
        let text = rendered(template);
        let left = text
            .lines()
            .filter(|line| !line.trim_start().starts_with('#'))
            .find(|line| line.contains('@'));
        assert_eq!(left, None, "a placeholder is left");
        let parsed = parse_config(&text).unwrap_or_else(|errors| panic!("{errors}\n{text}"));
        assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
        let config = parsed.config;
        assert_eq!(config.effects.notifiers.len(), 1);
        assert_eq!(config.effects.notifiers[0].url, "http://127.0.0.1:9/hook");
        // The binary's path reaches the command as it is, braces and all.
        let trainer = config.effects.trainer_for(MODEL).unwrap();
        let modelwatch_engine::config::Backend::Command { argv, .. } = &trainer.backend else {
            panic!("the trainer is not a command: {:?}", trainer.backend);
        };
        let fields = modelwatch_engine::config::TemplateFields {
            model: MODEL,
            version: VERSION,
            instance: stream::STABLE,
            job_id: "0123",
            reason: "alert_firing",
            attempt: 1,
        };
        let expanded: Vec<String> = argv
            .iter()
            .map(|arg| modelwatch_engine::config::expand_template(arg, &fields, false))
            .collect();
        assert_eq!(
            expanded[..5],
            [
                "/odd \"path\"/with {braces}\\/modelwatch",
                "demo-trainer",
                "--from-version",
                "1.0.0",
                "--job"
            ]
        );
        assert!(config.effects.rollback_for(MODEL).is_some());
    }

    #[test]
    fn only_the_traffic_config_computes_quality_and_its_canary_judges_accuracy() {
        let parse = |template| parse_config(&rendered(template)).unwrap().config;
        assert!(parse(CONFIG_TEMPLATE).models.settings_for(MODEL).is_none());
        let config = parse(TRAFFIC_TEMPLATE);
        let (_, settings) = config.models.settings_for(MODEL).unwrap();
        assert_eq!(settings.task, modelwatch_engine::config::Task::Binary);
        let [canary] = config.canaries.as_slice() else {
            panic!("{:?}", config.canaries);
        };
        assert_eq!(canary.metric, "accuracy");
        let accuracy_rule = config.rules.iter().find(|rule| rule.retrains()).unwrap();
        assert_eq!(accuracy_rule.metric, "accuracy");
    }

    #[test]
    fn toml_strings_escape_quotes_backslashes_and_controls() {
        assert_eq!(toml_string("a\"b\\c\n"), "\"a\\\"b\\\\c\\u000A\"");
    }

    #[test]
    fn a_kept_directory_must_be_empty() {
        let dir = tempfile::tempdir().unwrap();
        let kept = dir.path().join("new");
        prepare_kept(&kept).unwrap();
        std::fs::write(kept.join("file"), "x").unwrap();
        let error = prepare_kept(&kept).unwrap_err().to_string();
        assert!(error.contains("not empty"), "{error}");
    }
}

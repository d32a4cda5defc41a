//! The traffic modes of the load generator: NDJSON batches of predictions (20 features and a
//! score each) and of the labels that join them, for the `[[models]]` entry of `traffic.toml`
//! (models `load-*`, binary, positive class `fraud`).
//!
//! Prediction `k` goes to model `load-{k % models}`, instance `pod-{(k / models) % instances}`,
//! at event time `--start + k * --step-us`, with id `{run}-{k}`: `--run` defaults to one made
//! from the clock, so every run's ids are new to the server. Its features are 13 numbers,
//! 6 strings and a null, its score a uniform draw, its output `fraud` when the score is at least
//! 0.5. The label of prediction `k` comes an hour of event time after it and says what the
//! prediction did, but for one in ten.
//!
//! `labels` sends the predictions its labels name first, before the clock starts (all must be
//! answered 202), then times the labels; it reads the models' `joined` counts on
//! `GET /v1/models/{name}` before and after, and fails unless every accepted label joined.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use modelwatch::engine::Timestamp;

use crate::report::{Unit, cpu_time};
use crate::{Client, Common, Plan, authorization, drive, post, post_head, print_memory};
use crate::{splitmix, uniform};

/// Event time between a prediction and its label: an hour.
const LABEL_DELAY_NANOS: i64 = 3_600 * 1_000_000_000;

/// The most time the predictions a `labels` run sends before its clock may take.
const SETUP_DURATION: Duration = Duration::from_secs(3_600);

/// The arguments of the traffic modes.
#[derive(Debug, Args)]
pub(crate) struct TrafficArgs {
    /// Predictions or labels per request.
    #[arg(long, default_value_t = 1_000)]
    events: usize,
    /// Models (`load-0`, `load-1`, ...) the traffic is spread over.
    #[arg(long, default_value_t = 1)]
    models: u64,
    /// Instances (`pod-0`, `pod-1`, ...) of each model.
    #[arg(long, default_value_t = 4)]
    instances: u64,
    /// The prefix of every prediction id; by default one made from the clock.
    #[arg(long)]
    run: Option<String>,
}

/// What builds the plans: the arguments and the run's id prefix.
struct Traffic<'a> {
    common: &'a Common,
    args: &'a TrafficArgs,
    run: String,
}

/// The requests of a traffic run, built before anything is sent.
pub(crate) struct TrafficPlan {
    /// The prefix of the run's prediction ids.
    run: String,
    /// What is sent before the clock starts.
    setup: Option<Plan>,
    /// What is timed.
    timed: Plan,
}

/// The predictions of a `predictions` run.
pub(crate) fn predictions(common: &Common, args: &TrafficArgs) -> Result<TrafficPlan, String> {
    let traffic = Traffic::new(common, args);
    Ok(TrafficPlan {
        setup: None,
        timed: traffic.plan("predictions", Traffic::write_prediction)?,
        run: traffic.run,
    })
}

/// The predictions a `labels` run sends before its clock starts, and its labels.
pub(crate) fn labels(common: &Common, args: &TrafficArgs) -> Result<TrafficPlan, String> {
    let traffic = Traffic::new(common, args);
    Ok(TrafficPlan {
        setup: Some(traffic.plan("predictions", Traffic::write_prediction)?),
        timed: traffic.plan("labels", Traffic::write_label)?,
        run: traffic.run,
    })
}

impl Traffic<'_> {
    fn new<'a>(common: &'a Common, args: &'a TrafficArgs) -> Traffic<'a> {
        let run = args.run.clone().unwrap_or_else(|| {
            #[allow(clippy::disallowed_methods)] // a name unique to this run, not a time
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|elapsed| elapsed.as_nanos())
                .unwrap_or(0);
            format!("r{nanos:x}")
        });
        Traffic { common, args, run }
    }

    /// `--requests` NDJSON bodies of `--events` items each, item `k` written by `write`.
    fn plan(
        &self,
        items: &'static str,
        write: fn(&Self, &mut String, u64, Timestamp),
    ) -> Result<Plan, String> {
        let start = Timestamp::parse_rfc3339(&self.common.start)
            .map_err(|message| format!("--start: {message}"))?;
        let step = i64::try_from(self.common.step_us.saturating_mul(1_000))
            .map_err(|_| "--step-us is too large".to_string())?;
        let at = |k: u64| {
            Timestamp::from_nanos(
                start
                    .as_nanos()
                    .saturating_add(step.saturating_mul(k as i64)),
            )
        };
        let events = self.args.events.max(1);
        let head = post_head(self.common, true)?;
        let mut requests = Vec::with_capacity(self.common.requests);
        let mut body = String::new();
        let mut k = 0;
        for _ in 0..self.common.requests {
            body.clear();
            for _ in 0..events {
                write(self, &mut body, k, at(k));
                k += 1;
            }
            requests.push(post(&head, &body));
        }
        Ok(Plan {
            requests,
            events_per_request: events,
            next_start: at(k),
            unit: Unit {
                items,
                metric_values: false,
            },
        })
    }

    /// The model and instance of prediction `k`.
    fn place(&self, k: u64) -> (u64, u64) {
        let models = self.args.models.max(1);
        (k % models, (k / models) % self.args.instances.max(1))
    }

    fn write_prediction(&self, out: &mut String, k: u64, at: Timestamp) {
        let (model, instance) = self.place(k);
        let score = score(k);
        let output = if score >= 0.5 { "fraud" } else { "ok" };
        let mut state = splitmix(k ^ 0xFEA7);
        let mut draw = |low: f64, high: f64| low + (uniform(&mut state) + 1.0) / 2.0 * (high - low);
        let amount = draw(1.0, 2_000.0);
        let age = draw(18.0, 90.0) as u32;
        let account_days = draw(0.0, 4_000.0) as u32;
        let txn_24h = draw(0.0, 30.0) as u32;
        let txn_7d = txn_24h + draw(0.0, 100.0) as u32;
        let avg_30d = draw(5.0, 800.0);
        let distance_km = draw(0.0, 5_000.0);
        let hour = draw(0.0, 24.0) as u32;
        let velocity = draw(0.0, 1.0);
        let external_risk = draw(0.0, 1.0);
        let balance = draw(-500.0, 50_000.0);
        let credit_limit = (draw(1.0, 20.0) as u32) * 1_000;
        let failed_logins = draw(0.0, 4.0) as u32;
        let pick = |options: &[&'static str], salt: u64| {
            options[(splitmix(k ^ salt) % options.len() as u64) as usize]
        };
        let country = pick(&["DE", "FR", "US", "GB", "NL", "ES", "IT", "PL"], 1);
        let device = pick(&["ios", "android", "web", "pos"], 2);
        let channel = pick(&["card_present", "ecommerce", "recurring"], 3);
        let category = pick(&["grocery", "travel", "electronics", "fuel", "gaming"], 4);
        let currency = pick(&["EUR", "USD", "GBP", "PLN"], 5);
        let browser = pick(&["chrome", "safari", "firefox", "edge", "none"], 6);
        let _ = writeln!(
            out,
            concat!(
                r#"{{"model":{{"name":"load-{}","version":"1.0.0","instance":"pod-{}"}},"timestamp":"{}","#,
                r#""prediction":{{"id":"{}-{}","output":"{}","score":{:.4},"features":{{"#,
                r#""amount":{:.2},"age":{},"account_days":{},"txn_count_24h":{},"txn_count_7d":{},"#,
                r#""avg_amount_30d":{:.2},"distance_km":{:.1},"hour":{},"velocity":{:.4},"#,
                r#""external_risk":{:.4},"balance":{:.2},"credit_limit":{},"failed_logins":{},"#,
                r#""country":"{}","device":"{}","channel":"{}","merchant_category":"{}","#,
                r#""currency":"{}","browser":"{}","referrer":null}}}}}}"#
            ),
            model,
            instance,
            at,
            self.run,
            k,
            output,
            score,
            amount,
            age,
            account_days,
            txn_24h,
            txn_7d,
            avg_30d,
            distance_km,
            hour,
            velocity,
            external_risk,
            balance,
            credit_limit,
            failed_logins,
            country,
            device,
            channel,
            category,
            currency,
            browser,
        );
    }

    fn write_label(&self, out: &mut String, k: u64, at: Timestamp) {
        let (model, _) = self.place(k);
        let predicted_fraud = score(k) >= 0.5;
        let wrong = splitmix(k ^ 0x1ABE1).is_multiple_of(10);
        let value = if predicted_fraud != wrong {
            "fraud"
        } else {
            "ok"
        };
        let at = Timestamp::from_nanos(at.as_nanos().saturating_add(LABEL_DELAY_NANOS));
        let _ = writeln!(
            out,
            r#"{{"model":{{"name":"load-{model}"}},"timestamp":"{at}","label":{{"id":"{}-{k}","value":"{value}"}}}}"#,
            self.run
        );
    }
}

/// The score of prediction `k`, to four decimals as sent: in [0, 1].
fn score(k: u64) -> f64 {
    let mut state = splitmix(k ^ 0x5C0E);
    let raw = (uniform(&mut state) + 1.0) / 2.0;
    (raw * 10_000.0).round() / 10_000.0
}

/// Runs a traffic mode: the predictions of `setup` first, untimed, then the timed `plan`.
pub(crate) async fn run(
    common: &Common,
    args: &TrafficArgs,
    plan: TrafficPlan,
) -> Result<bool, String> {
    let TrafficPlan {
        run,
        setup,
        timed: plan,
    } = plan;
    println!(
        "plan: {} requests of {} {} to {} over {} connections, {} models x {} instances, at most {} s",
        plan.requests.len(),
        plan.events_per_request,
        plan.unit.items,
        common.addr,
        common.connections.max(1),
        args.models.max(1),
        args.instances.max(1),
        common.duration,
    );
    let joined_before = match setup {
        None => None,
        Some(setup) => {
            let requests = setup.requests.len();
            let predictions = requests * setup.events_per_request;
            let report = drive(common, Arc::new(setup), SETUP_DURATION).await?;
            if report.accepted as usize != requests {
                return Err(format!(
                    "before the clock: {} of {requests} requests of predictions accepted ({} pushed back, {} failed, {} broken connections)",
                    report.accepted,
                    report.pushed_back,
                    report.failed.values().map(|(count, _)| count).sum::<u64>(),
                    report.broken,
                ));
            }
            println!(
                "before the clock: {predictions} predictions accepted in {:.3} s",
                report.elapsed.as_secs_f64()
            );
            Some(joins(common, args).await?)
        }
    };
    let events_per_request = plan.events_per_request;
    let plan = Arc::new(plan);
    let cpu = || {
        let server = common.server_pid.map(cpu_time).transpose();
        Ok::<_, String>((server?, cpu_time(std::process::id())?))
    };
    let cpu_before = cpu()?;
    let mut report = drive(
        common,
        plan.clone(),
        Duration::from_secs_f64(common.duration),
    )
    .await?;
    let cpu_after = cpu()?;
    let mut ok = report.print(events_per_request, &plan.unit);
    let per_item = |spent: Duration| {
        format!(
            "{:.2} s, {:.1} us a {}",
            spent.as_secs_f64(),
            spent.as_secs_f64() * 1e6 / report.events.max(1) as f64,
            plan.unit.items.trim_end_matches('s')
        )
    };
    if let (Some(before), Some(after)) = (cpu_before.0, cpu_after.0) {
        println!("cpu, server: {}", per_item(after.saturating_sub(before)));
    }
    println!(
        "cpu, load generator: {}",
        per_item(cpu_after.1.saturating_sub(cpu_before.1))
    );
    println!("ids: {run}-0 to {run}-{}", report.events.saturating_sub(1));
    println!("next start: {}", plan.next_start);
    print_memory(common, "after the load");
    if let Some(before) = joined_before {
        let after = joins(common, args).await?;
        let joined = after.joined - before.joined;
        println!(
            "joined: {joined} of {} labels accepted (unmatched {}, late {})",
            report.events,
            after.unmatched - before.unmatched,
            after.late - before.late,
        );
        if joined != report.events {
            println!("failed: not every accepted label joined its prediction");
            ok = false;
        }
    }
    Ok(ok)
}

/// Labels of the models so far, from their `traffic` on `GET /v1/models/{name}`.
#[derive(Default)]
struct Joins {
    joined: u64,
    unmatched: u64,
    late: u64,
}

async fn joins(common: &Common, args: &TrafficArgs) -> Result<Joins, String> {
    let mut client = Client::connect(common.addr)
        .await
        .map_err(|error| format!("GET /v1/models: {error}"))?;
    let authorization = authorization(common)?;
    let mut joins = Joins::default();
    for model in 0..args.models.max(1) {
        let request = format!(
            "GET /v1/models/load-{model} HTTP/1.1\r\nHost: {}\r\n{authorization}\r\n",
            common.addr
        );
        let answer = client.exchange(request.as_bytes()).await?;
        if answer.status != 200 {
            return Err(format!(
                "GET /v1/models/load-{model}: status {}: {}",
                answer.status, answer.body
            ));
        }
        let body: serde_json::Value = serde_json::from_str(&answer.body)
            .map_err(|error| format!("GET /v1/models/load-{model}: {error}"))?;
        let count = |name: &str| body["traffic"][name].as_u64().unwrap_or(0);
        joins.joined += count("joined");
        joins.unmatched += count("unmatched");
        joins.late += count("late");
    }
    Ok(joins)
}

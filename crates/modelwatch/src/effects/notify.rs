//! Notifiers: each delivers its pending notifications in stream order, one at a time, and
//! retries the one at the head until it is accepted or given up (in order per target).
//!
//! A webhook gets `{"id", "notifier", "link", "output"}` (the output's JSON as stored: an
//! alert transition with its explanation and model), signed when it has a secret. Alertmanager
//! gets `POST /api/v2/alerts` with the alert's labels and annotations: firing, warning and
//! drift transitions as active alerts (ending `4 × resend_secs` later unless re-sent), resolved
//! ones with `endsAt`; pending and inactive transitions mean nothing to it and are skipped. A
//! second task re-sends every firing alert every `resend_secs`, as Prometheus does, so that
//! Alertmanager never times one out while it lasts.

use std::time::Duration;

use modelwatch_engine::Timestamp;
use modelwatch_engine::config::{Notifier, NotifierKind};
use modelwatch_store::{AlertFilter, Delivery, DeliveryResult, EffectUpdate, Order, Page};
use serde::Serialize;
use serde_json::Value;
use serde_json::value::RawValue;
use tokio::task::JoinHandle;

use super::http::{self, Answer};
use super::transport::{self, Post};
use super::{Context, Stopped, wait_ready};
use crate::runtime::Status;
use crate::runtime::metrics::DeliveryOutcome;
use std::sync::Arc;

/// Pending deliveries read at a time.
const PAGE: usize = 64;

/// Alerts per Alertmanager request when re-sending.
const RESEND_BATCH: usize = 500;

/// Starts the tasks of one notifier.
pub(super) fn start(
    context: Arc<Context>,
    notifier: Notifier,
    ready: tokio::sync::watch::Receiver<Status>,
) -> Vec<JoinHandle<()>> {
    let mut tasks = Vec::new();
    if notifier.kind == NotifierKind::Alertmanager {
        tasks.push(tokio::spawn(resend_firing(
            context.clone(),
            notifier.clone(),
            ready.clone(),
        )));
    }
    tasks.push(tokio::spawn(deliver_pending(context, notifier, ready)));
    tasks
}

async fn deliver_pending(
    context: Arc<Context>,
    notifier: Notifier,
    ready: tokio::sync::watch::Receiver<Status>,
) {
    if !wait_ready(ready).await {
        return;
    }
    let mut outbox = context.outbox.clone();
    let mut draining = context.draining.clone();
    // Deliveries at or before `after` are handled; their updates may not be read back yet.
    let mut after = 0;
    loop {
        if *draining.borrow_and_update() {
            return;
        }
        outbox.borrow_and_update();
        let name = notifier.name.to_string();
        let page = context
            .read(move |store| store.pending_deliveries(&name, after, PAGE))
            .await;
        let page = match page {
            Ok(page) => page,
            Err(error) => {
                // The reader failed (a locked or busy file): try again shortly.
                tracing::warn!(
                    notifier = &*notifier.name,
                    error = %error,
                    "Cannot read the pending notifications; trying again in 1 s."
                );
                if context.sleep(Duration::from_secs(1)).await.is_err() {
                    return;
                }
                continue;
            }
        };
        if page.is_empty() {
            tokio::select! {
                changed = outbox.changed() => {
                    if changed.is_err() {
                        return;
                    }
                }
                _ = draining.changed() => return,
            }
            continue;
        }
        for delivery in page {
            if *draining.borrow() {
                return;
            }
            after = delivery.pos;
            if deliver(&context, &notifier, delivery).await.is_err() {
                return;
            }
        }
    }
}

/// What one delivery sends: the same for every attempt but the signature's time.
struct Prepared {
    url: String,
    body: String,
}

/// Delivers one notification: attempts until accepted, refused, or retried for longer than
/// the notifier's `retry_for_secs`, committing each attempt's outcome.
async fn deliver(
    context: &Context,
    notifier: &Notifier,
    delivery: Delivery,
) -> Result<(), Stopped> {
    let prepared = loop {
        match prepare(context, notifier, &delivery).await {
            Ok(Some(prepared)) => break prepared,
            Ok(None) => {
                let attempt = delivery.attempts.saturating_add(1);
                let at = context.clock.now();
                return report(context, notifier, &delivery.id, at, attempt, Ended::Skipped).await;
            }
            Err(Unprepared::Broken(error)) => {
                let attempt = delivery.attempts.saturating_add(1);
                let at = context.clock.now();
                let ended = Ended::GivenUp(error);
                return report(context, notifier, &delivery.id, at, attempt, ended).await;
            }
            // A locked or busy file: nothing was sent, so nothing counts as an attempt.
            Err(Unprepared::Unreadable) => {
                tracing::warn!(
                    notifier = &*notifier.name,
                    delivery = %delivery.id,
                    "Cannot read the alert's history for a notification; trying again in 1 s."
                );
                context.sleep(Duration::from_secs(1)).await?;
            }
        }
    };
    let initial = Duration::from_millis(notifier.retry_initial_ms);
    let max = Duration::from_secs(notifier.retry_max_secs);
    let mut attempt = delivery.attempts;
    loop {
        attempt = attempt.saturating_add(1);
        if context.mark_sends {
            let sending = EffectUpdate::DeliverySending {
                id: delivery.id.clone(),
            };
            context.submit(Vec::new(), vec![sending], None).await?;
        }
        let answer = send(context, notifier, Some(&delivery.id), &prepared).await;
        let now = context.clock.now();
        let ended = match answer {
            Answer::Accepted => Ended::Delivered,
            Answer::Refused { error } => Ended::GivenUp(error),
            Answer::Retry { error, retry_after } => {
                let age = now
                    .as_nanos()
                    .saturating_sub(delivery.created_at.as_nanos());
                let limit = i64::try_from(notifier.retry_for_secs)
                    .unwrap_or(i64::MAX)
                    .saturating_mul(1_000_000_000);
                if age >= limit {
                    Ended::GivenUp(format!(
                        "{error} (given up after {} s of retries)",
                        notifier.retry_for_secs
                    ))
                } else {
                    let wait = http::backoff(initial, max, attempt, &delivery.id)
                        .max(retry_after.unwrap_or_default().min(max));
                    Ended::Retry { error, wait }
                }
            }
        };
        let wait = match &ended {
            Ended::Retry { wait, .. } => Some(*wait),
            _ => None,
        };
        report(context, notifier, &delivery.id, now, attempt, ended).await?;
        match wait {
            // Draining: the next attempt is the next owner's (the outcome is committed).
            Some(_) if *context.draining.borrow() => return Ok(()),
            Some(wait) => context.sleep(wait).await?,
            None => return Ok(()),
        }
    }
}

/// How a delivery's attempt ended.
enum Ended {
    Delivered,
    /// There was nothing to send.
    Skipped,
    /// Failed; tried again after `wait`.
    Retry {
        error: String,
        wait: Duration,
    },
    /// Failed for good.
    GivenUp(String),
}

/// Commits a delivery attempt's outcome, then counts it on `/metrics` and logs it.
async fn report(
    context: &Context,
    notifier: &Notifier,
    id: &str,
    at: Timestamp,
    attempt: u32,
    ended: Ended,
) -> Result<(), Stopped> {
    let (result, outcome) = match &ended {
        Ended::Delivered => (DeliveryResult::Delivered, DeliveryOutcome::Delivered),
        Ended::Skipped => (DeliveryResult::Skipped, DeliveryOutcome::Skipped),
        Ended::Retry { error, .. } => (
            DeliveryResult::Failed {
                error: error.clone(),
                give_up: false,
            },
            DeliveryOutcome::Failed,
        ),
        Ended::GivenUp(error) => (
            DeliveryResult::Failed {
                error: error.clone(),
                give_up: true,
            },
            DeliveryOutcome::GivenUp,
        ),
    };
    let update = EffectUpdate::Delivery {
        id: id.to_string(),
        at,
        result,
    };
    context.submit(Vec::new(), vec![update], None).await?;
    context.metrics.record_delivery(&notifier.name, outcome);
    let name = &*notifier.name;
    match ended {
        Ended::Delivered => {
            tracing::debug!(
                notifier = name,
                delivery = id,
                attempt,
                "Delivered a notification."
            );
        }
        Ended::Skipped => {
            tracing::debug!(
                notifier = name,
                delivery = id,
                "Skipped a notification: the target takes no such transition."
            );
        }
        Ended::Retry { error, wait } => {
            tracing::warn!(
                notifier = name,
                delivery = id,
                attempt,
                reason = %error,
                retry_in_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                "A notification's attempt failed; it is tried again."
            );
        }
        Ended::GivenUp(error) => {
            tracing::error!(
                notifier = name,
                delivery = id,
                attempt,
                reason = %error,
                "Gave up a notification."
            );
        }
    }
    Ok(())
}

/// Why a delivery's request could not be made.
enum Unprepared {
    /// The stored output cannot be sent (not JSON, no time): the delivery is given up.
    Broken(String),
    /// The store could not be read: tried again shortly.
    Unreadable,
}

async fn send(
    context: &Context,
    notifier: &Notifier,
    id: Option<&str>,
    prepared: &Prepared,
) -> Answer {
    let mut headers = Vec::new();
    if let Some(id) = id {
        headers.push((http::IDEMPOTENCY_HEADER.to_string(), id.to_string()));
    }
    headers.extend(notifier.headers.iter().cloned());
    let secret = context.secrets.get(&format!("notifier:{}", notifier.name));
    match (notifier.kind, secret) {
        (NotifierKind::Webhook, Some(secret)) => {
            let timestamp = context.clock.now().as_nanos() / 1_000_000_000;
            headers.push((http::TIMESTAMP_HEADER.to_string(), timestamp.to_string()));
            headers.push((
                http::SIGNATURE_HEADER.to_string(),
                http::signature(secret, timestamp, prepared.body.as_bytes()),
            ));
        }
        (NotifierKind::Alertmanager, Some(secret)) => {
            headers.push((
                "authorization".to_string(),
                format!("Bearer {}", String::from_utf8_lossy(secret)),
            ));
        }
        (_, None) => {}
    }
    let post = Post {
        url: prepared.url.clone(),
        headers,
        body: prepared.body.clone(),
    };
    if let Err(error) = transport::check_host(&post.url, context.config.effects.outbound.as_ref()) {
        return Answer::Refused { error };
    }
    let timeout = Duration::from_secs(notifier.timeout_secs.max(1));
    http::answer(transport::post(&*context.transport, post, timeout).await)
}

/// The webhook body.
#[derive(Serialize)]
struct WebhookBody<'a> {
    /// The delivery's id (also the `Idempotency-Key` header).
    id: &'a str,
    notifier: &'a str,
    /// Where the output can be looked at.
    link: &'a str,
    /// The output's JSON, as stored.
    output: &'a RawValue,
}

/// The request of a delivery; `None` when the target takes no such output.
async fn prepare(
    context: &Context,
    notifier: &Notifier,
    delivery: &Delivery,
) -> Result<Option<Prepared>, Unprepared> {
    let broken = |error: serde_json::Error| {
        Unprepared::Broken(format!("the stored output is not JSON: {error}"))
    };
    let raw: &RawValue = serde_json::from_str(&delivery.output).map_err(broken)?;
    let output: Value = serde_json::from_str(raw.get()).map_err(broken)?;
    let link = link(context, notifier, &output);
    match notifier.kind {
        NotifierKind::Webhook => {
            let body = WebhookBody {
                id: &delivery.id,
                notifier: &notifier.name,
                link: &link,
                output: raw,
            };
            let body = serde_json::to_string(&body)
                .map_err(|error| Unprepared::Broken(error.to_string()))?;
            Ok(Some(Prepared {
                url: notifier.url.clone(),
                body,
            }))
        }
        NotifierKind::Alertmanager => {
            let state = output["state"].as_str().unwrap_or("");
            let now = context.clock.now();
            let alert = match state {
                "firing" | "warning" | "drift" => {
                    let at = time_of(&output).map_err(Unprepared::Broken)?;
                    active_alert(&output, at, ends_after(notifier, now), &link)
                }
                "resolved" => {
                    let ended = time_of(&output).map_err(Unprepared::Broken)?;
                    let started = fired_at(context, &output, ended)
                        .await
                        .map_err(|_| Unprepared::Unreadable)?
                        .unwrap_or(ended);
                    active_alert(&output, started.min(ended), ended, &link)
                }
                _ => return Ok(None),
            };
            let body = serde_json::to_string(&[alert])
                .map_err(|error| Unprepared::Broken(error.to_string()))?;
            Ok(Some(Prepared {
                url: alerts_url(notifier),
                body,
            }))
        }
    }
}

fn alerts_url(notifier: &Notifier) -> String {
    format!("{}/api/v2/alerts", notifier.url.trim_end_matches('/'))
}

/// When an active alert sent now ends unless re-sent: four resend intervals later.
fn ends_after(notifier: &Notifier, now: Timestamp) -> Timestamp {
    now.plus_secs(notifier.resend_secs.saturating_mul(4))
}

fn time_of(output: &Value) -> Result<Timestamp, String> {
    output["at"]
        .as_str()
        .ok_or_else(|| "the stored output has no time".to_string())
        .and_then(Timestamp::parse_rfc3339)
}

/// When the episode that `resolved` (an alert's resolved transition at `ended`) ends began: its
/// latest firing, warning or drift transition before it, from the stored transitions.
async fn fired_at(
    context: &Context,
    resolved: &Value,
    ended: Timestamp,
) -> Result<Option<Timestamp>, String> {
    let alert_id = resolved["alert_id"].as_str().unwrap_or("").to_string();
    let seq = resolved["seq"].as_u64().unwrap_or(u64::MAX);
    // Newest first up to the resolve: the episode's start is among the last few transitions
    // (pending, firing, warning, ...), however long the alert's history.
    let page = Page {
        after: None,
        limit: 20,
        order: Order::NewestFirst,
    };
    let transitions = context
        .read(move |store| {
            store.alerts(
                &AlertFilter {
                    alert_id: Some(alert_id),
                    until: Some(Timestamp::from_nanos(ended.as_nanos().saturating_add(1))),
                    ..AlertFilter::default()
                },
                &page,
            )
        })
        .await?;
    let mut started = None;
    for alert in transitions.items.iter().filter(|alert| alert.seq < seq) {
        match alert.state.as_str() {
            "firing" | "warning" | "drift" => started = Some(alert.at),
            "resolved" | "inactive" => break,
            _ => {}
        }
    }
    Ok(started)
}

fn link(context: &Context, notifier: &Notifier, output: &Value) -> String {
    let base = notifier
        .link_base
        .as_deref()
        .unwrap_or(&context.link_base)
        .trim_end_matches('/');
    match output["alert_id"].as_str() {
        Some(alert_id) => format!("{base}/v1/alerts/{alert_id}"),
        None => format!("{base}/v1/alerts"),
    }
}

/// An Alertmanager alert (API v2 `postableAlert`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AlertmanagerAlert {
    labels: serde_json::Map<String, Value>,
    annotations: serde_json::Map<String, Value>,
    starts_at: String,
    ends_at: String,
    #[serde(rename = "generatorURL")]
    generator_url: String,
}

fn active_alert(
    output: &Value,
    starts: Timestamp,
    ends: Timestamp,
    link: &str,
) -> AlertmanagerAlert {
    let text = |value: &Value| Value::String(value.as_str().unwrap_or("").to_string());
    let mut labels = serde_json::Map::new();
    labels.insert("alertname".to_string(), text(&output["rule"]));
    labels.insert("model".to_string(), text(&output["model"]["name"]));
    labels.insert("version".to_string(), text(&output["model"]["version"]));
    labels.insert("instance".to_string(), text(&output["model"]["instance"]));
    labels.insert("metric".to_string(), text(&output["metric"]));
    labels.insert("severity".to_string(), text(&output["severity"]));
    labels.insert(
        "source".to_string(),
        Value::String("modelwatch".to_string()),
    );
    let mut annotations = serde_json::Map::new();
    annotations.insert("summary".to_string(), text(&output["message"]));
    annotations.insert("alert_id".to_string(), text(&output["alert_id"]));
    annotations.insert("state".to_string(), text(&output["state"]));
    if let Some(explanation) = output.get("explanation") {
        annotations.insert(
            "explanation".to_string(),
            Value::String(explanation.to_string()),
        );
    }
    AlertmanagerAlert {
        labels,
        annotations,
        starts_at: starts.to_rfc3339(),
        ends_at: ends.max(starts).to_rfc3339(),
        generator_url: link.to_string(),
    }
}

/// Re-sends every firing alert this notifier is told of, every `resend_secs`.
async fn resend_firing(
    context: Arc<Context>,
    notifier: Notifier,
    ready: tokio::sync::watch::Receiver<Status>,
) {
    if !wait_ready(ready).await {
        return;
    }
    let every = Duration::from_secs(notifier.resend_secs.max(1));
    loop {
        if context.sleep(every).await.is_err() {
            return;
        }
        let Ok(firing) = context.read(|store| store.firing_alerts()).await else {
            continue;
        };
        let now = context.clock.now();
        let alerts: Vec<AlertmanagerAlert> = firing
            .iter()
            .filter_map(|stored| {
                let output: Value = serde_json::from_str(&stored.output).ok()?;
                let told = output["notify"]
                    .as_array()?
                    .iter()
                    .any(|name| name.as_str() == Some(&*notifier.name));
                told.then(|| {
                    let link = link(&context, &notifier, &output);
                    active_alert(&output, stored.at, ends_after(&notifier, now), &link)
                })
            })
            .collect();
        for chunk in alerts.chunks(RESEND_BATCH) {
            let Ok(body) = serde_json::to_string(chunk) else {
                continue;
            };
            let prepared = Prepared {
                url: alerts_url(&notifier),
                body,
            };
            // A failed re-send is tried again at the next interval.
            if let Answer::Retry { error, .. } | Answer::Refused { error } =
                send(&context, &notifier, None, &prepared).await
            {
                tracing::warn!(
                    notifier = &*notifier.name,
                    alerts = chunk.len(),
                    reason = %error,
                    "Re-sending the firing alerts failed; they are sent again at the next interval."
                );
            }
        }
    }
}

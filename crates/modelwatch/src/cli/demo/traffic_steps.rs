//! The two steps of `modelwatch demo --predictions` that stream raw traffic (`traffic.rs`)
//! instead of accuracy values: step 1, until the alert on the accuracy the service computes
//! from the labels fires, and step 5, the canary judged on each version's computed accuracy.
//! The other steps are `steps.rs`'s. After each batch is acknowledged, the lines show the
//! points the service computed from it (`GET /v1/series`), never values the demo computed.

use anyhow::{Result, bail};
use serde_json::Value;

use super::show::{span, values};
use super::steps::Demo;
use super::stream::{CANARY, MODEL, STABLE, VERSION};
use super::traffic::{
    Batch, CANARY_MINUTES, DEGRADING_MINUTES, LABEL_DELAY_TEXT, PER_MINUTE, TrafficStream, WINDOW,
};

/// Minutes of traffic per request.
const MINUTES_PER_BATCH: usize = 10;

impl Demo<'_> {
    /// Step 1: streams 1.0.0's predictions and labels until the alert fires; the firing
    /// transition.
    pub(super) async fn degrade_traffic(&mut self, traffic: &mut TrafficStream) -> Result<Value> {
        self.step(
            1,
            &format!(
                "streaming raw traffic of {MODEL} {VERSION} on {STABLE}: {PER_MINUTE} predictions \
                 a minute of event time (a score and five features each), their labels \
                 {LABEL_DELAY_TEXT} later; the service computes accuracy per {WINDOW} labeled \
                 predictions"
            ),
        )?;
        let mut minute = 0;
        while minute < DEGRADING_MINUTES {
            let batch = traffic.degrading(minute, MINUTES_PER_BATCH);
            minute += MINUTES_PER_BATCH;
            self.post_ndjson(batch.body()).await?;
            let computed = self.computed(&batch, "accuracy", STABLE).await?;
            let estimated = self.computed(&batch, "estimated_accuracy", STABLE).await?;
            self.line(&format!(
                "{}  {} predictions, {} labels; computed accuracy {}, estimated before labels (CBPE) {}",
                span(batch.from, batch.to),
                batch.predictions,
                batch.labels,
                values(&computed),
                values(&estimated)
            ))?;
            let firing = self
                .get_json(&format!("/v1/alerts?state=firing&model={MODEL}"))
                .await?;
            if let Some(alert) = firing["items"].as_array().and_then(|items| items.first()) {
                return Ok(alert.clone());
            }
        }
        bail!("{DEGRADING_MINUTES} minutes of degrading traffic and no alert fired")
    }

    /// Step 5: streams the candidate's traffic beside the stable version's until the canary
    /// rule decides on the accuracy computed for each; the candidate's new status.
    pub(super) async fn canary_traffic(
        &mut self,
        traffic: &mut TrafficStream,
        candidate: &str,
    ) -> Result<String> {
        self.step(
            5,
            &format!(
                "canary: predictions of {candidate} on {CANARY} beside {VERSION} on {STABLE}; the \
                 canary rule compares the accuracy computed from each one's labels"
            ),
        )?;
        let mut minute = 0;
        while minute < CANARY_MINUTES {
            let batch = traffic.canary(MINUTES_PER_BATCH, candidate, self.bad);
            minute += MINUTES_PER_BATCH;
            self.post_ndjson(batch.body()).await?;
            let stable = self.computed(&batch, "accuracy", STABLE).await?;
            let canary = self.computed(&batch, "accuracy", CANARY).await?;
            self.line(&format!(
                "{}  {} predictions, {} labels; computed accuracy {STABLE} {}, {CANARY} {}",
                span(batch.from, batch.to),
                batch.predictions,
                batch.labels,
                values(&stable),
                values(&canary)
            ))?;
            if let Some(status) = self.decided(candidate).await? {
                return Ok(status);
            }
        }
        bail!("{CANARY_MINUTES} minutes of canary traffic and no verdict")
    }

    /// The values of `metric` the service computed for `instance` from the batch (points at
    /// or after its start: a point takes the time of the input that completed it).
    async fn computed(&self, batch: &Batch, metric: &str, instance: &str) -> Result<Vec<f64>> {
        let series = self
            .get_json(&format!(
                "/v1/series?model={MODEL}&instance={instance}&metric={metric}&from={}&limit=1000",
                batch.from.to_rfc3339()
            ))
            .await?;
        Ok(series["points"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter_map(|point| point["value"].as_f64())
            .collect())
    }
}

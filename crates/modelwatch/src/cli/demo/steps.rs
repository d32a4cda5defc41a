//! The steps of `modelwatch demo` (see `demo.rs`): what each waits for and what it prints.
//! Every step waits on an outcome (a webhook delivery from the receiver's channel, a job over
//! by `GET /v1/jobs/{id}?wait=`, a read after the acknowledged ingest that caused it), never
//! on time, and records what it waits for in `waiting` so that the deadline can name it.

use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use modelwatch::runtime::Status;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::backends::short;
use super::receiver::{Delivery, Signature};
use super::show::{find_version, minutes, number, statuses, text, took};
use super::stream::{
    self, CANARY, CANARY_POINTS, DEGRADING_POINTS, MODEL, STABLE, Stream, VERSION,
};
use super::traffic::TrafficStream;
use super::{CANARY_CHUNK, DEGRADING_CHUNK, STEPS};

/// The demo under way: where it talks, what it prints, what it waits for.
pub(super) struct Demo<'d> {
    pub(super) client: reqwest::Client,
    /// `http://127.0.0.1:PORT` of the service.
    pub(super) base: String,
    pub(super) out: &'d mut dyn Write,
    pub(super) started: Instant,
    pub(super) deadline: Instant,
    pub(super) deliveries: &'d mut mpsc::Receiver<Delivery>,
    pub(super) bad: bool,
    /// `--predictions`: stream raw traffic (`traffic.rs`) instead of accuracy values.
    pub(super) predictions: bool,
    pub(super) trainer_log: PathBuf,
    pub(super) rollback_log: PathBuf,
    /// The directory, when `--keep` keeps it.
    pub(super) kept: Option<PathBuf>,
    /// The step being waited for and what it waits for (for the error when it never comes).
    pub(super) waiting: (usize, &'static str),
}

impl Demo<'_> {
    /// Every step in order; the summary to print at the end.
    pub(super) async fn run(
        &mut self,
        header: &str,
        mut status: tokio::sync::watch::Receiver<Status>,
    ) -> Result<String> {
        writeln!(self.out, "{header}")?;
        self.out.flush()?;
        let ready = status
            .wait_for(|status| !matches!(status, Status::Recovering))
            .await
            .map(|status| matches!(*status, Status::Ready { .. }));
        if !matches!(ready, Ok(true)) {
            bail!("the service did not become ready");
        }
        let mut stream = Stream::new();
        let mut traffic = TrafficStream::new();

        self.waiting = (1, "an alert fires on the degrading model");
        let alert = if self.predictions {
            self.degrade_traffic(&mut traffic).await?
        } else {
            self.degrade(&mut stream).await?
        };
        let model = &alert["model"];
        self.step(
            1,
            &format!(
                "alert firing: {} {}/{}, rule {} ({}): {}",
                text(model, "name"),
                text(model, "version"),
                text(model, "instance"),
                text(&alert, "rule"),
                text(&alert, "severity"),
                text(&alert, "message")
            ),
        )?;

        self.waiting = (2, "the webhook receiver gets the firing alert");
        let delivery = self.delivery_of(text(&alert, "id")).await?;
        self.delivered(2, &delivery)?;

        self.waiting = (3, "the retrain job runs the bundled trainer and succeeds");
        let job = self.retrain().await?;
        let candidate = text(&job, "result_version").to_string();

        self.waiting = (4, "the new version is registered as a candidate");
        self.registered(&job, &candidate).await?;

        self.waiting = (5, "the canary judges the new version");
        let decided = if self.predictions {
            self.canary_traffic(&mut traffic, &candidate).await?
        } else {
            self.canary(&mut stream, &candidate).await?
        };

        self.waiting = (6, "the webhook receiver gets the canary verdict");
        let delivery = self.canary_delivery().await?;
        self.delivered(6, &delivery)?;
        let output = &delivery.body["output"];
        let judgement = &output["judgement"];
        self.line(&format!(
            "verdict {}: candidate median {} vs baseline median {} ({} and {} points), p = {}",
            text(output, "verdict"),
            number(&judgement["candidate_median"]),
            number(&judgement["baseline_median"]),
            judgement["candidate_count"],
            judgement["baseline_count"],
            judgement
                .get("p_value")
                .and_then(Value::as_f64)
                .map_or("-".to_string(), |p| format!("{p:.2e}")),
        ))?;

        let rolled_back = decided == "rolled_back";
        if rolled_back != self.bad {
            bail!(
                "the canary {} the {} candidate {candidate}",
                if rolled_back {
                    "rolled back"
                } else {
                    "promoted"
                },
                if self.bad { "bad" } else { "good" }
            );
        }
        if rolled_back {
            self.waiting = (7, "the rollback job shifts the traffic back");
            self.rollback(&candidate).await?;
        } else {
            self.waiting = (7, "the registry shows the new version in production");
            self.promoted(&candidate).await?;
        }

        let elapsed = self.started.elapsed().as_secs_f64();
        let ending = if rolled_back {
            format!("the canary failed it and it was rolled back; {VERSION} stays in production")
        } else {
            format!("the canary passed it and it was promoted; {VERSION} is archived")
        };
        let fired = if self.predictions {
            "the accuracy computed from the labels fell, the alert fired"
        } else {
            "the alert fired"
        };
        let mut summary = format!(
            "\ndone in {elapsed:.1} s: {fired}, the webhook got it, the retrain produced \
             {candidate}, and {ending}.\n\
             Next: `modelwatch serve --config FILE` does this for your own models; \
             docs/actions.md explains notifiers, trainers, the registry and canaries, \
             docs/config.md the rules.\n"
        );
        let mode = if self.predictions {
            " --predictions"
        } else {
            ""
        };
        let other = if self.bad { "" } else { " --bad-candidate" };
        match &self.kept {
            Some(dir) => {
                let dir = dir.display();
                let _ = write!(
                    summary,
                    "The store is kept: `modelwatch serve --data {dir}/data --config \
                     {dir}/demo.toml` serves it (GET /v1/audit?model={MODEL} tells the story)."
                );
            }
            None => {
                let _ = write!(
                    summary,
                    "Try `modelwatch demo{mode}{other}`; with `--keep DIR` the store stays, to explore \
                     with `modelwatch serve`."
                );
            }
        }
        Ok(summary)
    }

    /// Step 1: streams the degrading model until the alert fires; the firing transition.
    async fn degrade(&mut self, stream: &mut Stream) -> Result<Value> {
        self.step(
            1,
            &format!("streaming {MODEL} {VERSION} on {STABLE}, one point a minute of event time"),
        )?;
        let mut index = 0;
        while index < DEGRADING_POINTS {
            let end = (index + DEGRADING_CHUNK).min(DEGRADING_POINTS);
            let points: Vec<_> = (index..end).map(|i| stream.degrading(i)).collect();
            index = end;
            self.post_events(&points).await?;
            let values: Vec<String> = points
                .iter()
                .map(|point| format!("{:.3}", point.accuracy))
                .collect();
            self.line(&format!(
                "{}  accuracy {}",
                minutes(&points),
                values.join(" ")
            ))?;
            let firing = self
                .get_json(&format!("/v1/alerts?state=firing&model={MODEL}"))
                .await?;
            if let Some(alert) = firing["items"].as_array().and_then(|items| items.first()) {
                return Ok(alert.clone());
            }
        }
        bail!("{DEGRADING_POINTS} minutes of a degrading model and no alert fired")
    }

    /// The webhook delivery of output `id`; deliveries of other outputs on the way are shown.
    async fn delivery_of(&mut self, id: &str) -> Result<Delivery> {
        loop {
            let delivery = self.next_delivery().await?;
            if delivery.body["output"]["id"] == id {
                return Ok(delivery);
            }
            self.also_delivered(&delivery)?;
        }
    }

    /// The webhook delivery of the first canary verdict.
    async fn canary_delivery(&mut self) -> Result<Delivery> {
        loop {
            let delivery = self.next_delivery().await?;
            if delivery.body["output"]["type"] == "canary" {
                return Ok(delivery);
            }
            self.also_delivered(&delivery)?;
        }
    }

    async fn next_delivery(&mut self) -> Result<Delivery> {
        let delivery = self
            .deliveries
            .recv()
            .await
            .ok_or_else(|| anyhow!("the webhook receiver stopped"))?;
        if delivery.signature != Signature::Verified {
            bail!(
                "a webhook delivery to {} failed its check: {} (Idempotency-Key {})",
                delivery.path,
                delivery.signature.as_str(),
                delivery.key
            );
        }
        Ok(delivery)
    }

    fn delivered(&mut self, step: usize, delivery: &Delivery) -> Result<()> {
        let output = &delivery.body["output"];
        let what = if output["type"] == "canary" {
            format!("canary verdict {}", text(output, "verdict"))
        } else {
            format!("alert {} ({})", text(output, "state"), text(output, "rule"))
        };
        self.step(
            step,
            &format!(
                "webhook delivered: POST {} answered {}, Idempotency-Key {}, {}: {what}",
                delivery.path,
                delivery.status,
                delivery.key,
                delivery.signature.as_str()
            ),
        )
    }

    fn also_delivered(&mut self, delivery: &Delivery) -> Result<()> {
        let output = &delivery.body["output"];
        self.line(&format!(
            "(webhook also got: {} {} of rule {})",
            text(output, "type"),
            output
                .get("state")
                .or_else(|| output.get("verdict"))
                .and_then(Value::as_str)
                .unwrap_or("?"),
            text(output, "rule")
        ))
    }

    /// Step 3: the retrain job the alert asked for, waited for until it is over.
    async fn retrain(&mut self) -> Result<Value> {
        let jobs = self
            .get_json(&format!("/v1/jobs?model={MODEL}&kind=retrain"))
            .await?;
        let Some(job) = jobs["items"].as_array().and_then(|items| items.first()) else {
            bail!("the firing alert asked for a retrain, but there is no retrain job");
        };
        let id = text(job, "id").to_string();
        self.step(
            3,
            &format!(
                "retrain job {} {} (reason {}): the bundled trainer, `modelwatch demo-trainer`, \
                 as a command backend",
                short(&id),
                text(job, "state"),
                text(job, "reason")
            ),
        )?;
        let job = self.job_over(&id).await?;
        let trainer_log = self.trainer_log.clone();
        self.show_log("trainer", &trainer_log)?;
        if job["state"] != "succeeded" {
            bail!(
                "retrain job {} ended {}: {}",
                short(&id),
                text(&job, "state"),
                text(&job, "error")
            );
        }
        let result = &job["result"];
        self.step(
            3,
            &format!(
                "retrain job {} succeeded (attempt {}, {}): version {}, holdout accuracy {}",
                short(&id),
                job["attempts"],
                took(&job),
                text(&job, "result_version"),
                result["accuracy"]
            ),
        )?;
        Ok(job)
    }

    /// Waits for a job to be over (succeeded, failed, ...), in waits of at most a minute.
    async fn job_over(&mut self, id: &str) -> Result<Value> {
        loop {
            let left = self
                .deadline
                .saturating_duration_since(Instant::now())
                .as_secs()
                .clamp(1, 60);
            let job = self.get_json(&format!("/v1/jobs/{id}?wait={left}")).await?;
            if !matches!(text(&job, "state"), "queued" | "running") {
                return Ok(job);
            }
        }
    }

    /// Step 4: the registry has the job's version as a candidate.
    async fn registered(&mut self, job: &Value, candidate: &str) -> Result<()> {
        let versions = self.versions().await?;
        let Some(new) = find_version(&versions, candidate) else {
            bail!("the registry has no version {candidate} of {MODEL}");
        };
        if new["status"] != "candidate" || new["source"] != "job" || new["job_id"] != job["id"] {
            bail!("the registry's {candidate} is not the job's candidate: {new}");
        }
        self.step(
            4,
            &format!(
                "version registered: {MODEL} {candidate} is a candidate, made by job {}; {}",
                short(text(new, "job_id")),
                statuses(&versions, candidate)
            ),
        )
    }

    /// Step 5: streams the candidate beside the stable version until the canary rule decides;
    /// the candidate's new status (`production` or `rolled_back`).
    async fn canary(&mut self, stream: &mut Stream, candidate: &str) -> Result<String> {
        self.step(
            5,
            &format!("canary: streaming {candidate} on {CANARY} beside {VERSION} on {STABLE}"),
        )?;
        let mut minute = 0;
        while minute < CANARY_POINTS {
            let end = (minute + CANARY_CHUNK).min(CANARY_POINTS);
            let pairs: Vec<[stream::Point; 2]> = (minute..end)
                .map(|_| stream.canary_pair(candidate, self.bad))
                .collect();
            minute = end;
            let points: Vec<stream::Point> = pairs.iter().flatten().cloned().collect();
            self.post_events(&points).await?;
            let mean = |instance: &str| {
                let values: Vec<f64> = points
                    .iter()
                    .filter(|point| point.instance == instance)
                    .map(|point| point.accuracy)
                    .collect();
                values.iter().sum::<f64>() / values.len().max(1) as f64
            };
            self.line(&format!(
                "{}  mean accuracy {STABLE} {:.3}, {CANARY} {:.3}",
                minutes(&points),
                mean(STABLE),
                mean(CANARY)
            ))?;
            if let Some(status) = self.decided(candidate).await? {
                return Ok(status);
            }
        }
        bail!("{CANARY_POINTS} minutes of canary and no verdict")
    }

    /// Step 5's end: once the canary has decided on the candidate, shows the verdict and
    /// returns the candidate's new status (`production` or `rolled_back`).
    pub(super) async fn decided(&mut self, candidate: &str) -> Result<Option<String>> {
        let versions = self.versions().await?;
        let status = find_version(&versions, candidate)
            .map(|version| text(version, "status").to_string())
            .unwrap_or_default();
        if status == "candidate" {
            return Ok(None);
        }
        let audit = self.get_json(&format!("/v1/audit?model={MODEL}")).await?;
        let verdict = audit["items"]
            .as_array()
            .and_then(|items| {
                items
                    .iter()
                    .find(|event| event["actor"] == "canary" && event["version"] == candidate)
            })
            .map(|event| text(event, "detail").to_string())
            .unwrap_or_default();
        self.step(5, &format!("canary verdict: {verdict}"))?;
        Ok(Some(status))
    }

    /// Step 7 after a pass: the candidate is production, the version before archived.
    async fn promoted(&mut self, candidate: &str) -> Result<()> {
        let versions = self.versions().await?;
        let is = |version: &str, status: &str| {
            find_version(&versions, version).is_some_and(|found| found["status"] == status)
        };
        if !is(candidate, "production") || !is(VERSION, "archived") {
            bail!("the registry did not promote {candidate}: {versions}");
        }
        self.step(
            7,
            &format!(
                "promoted: {MODEL} {candidate} is in production (actor canary); {}",
                statuses(&versions, candidate)
            ),
        )
    }

    /// Step 7 after a fail: the rollback job ran, the candidate is rolled back.
    async fn rollback(&mut self, candidate: &str) -> Result<()> {
        let jobs = self
            .get_json(&format!("/v1/jobs?model={MODEL}&kind=rollback"))
            .await?;
        let Some(job) = jobs["items"].as_array().and_then(|items| items.first()) else {
            bail!("the failed canary asked for a rollback, but there is no rollback job");
        };
        let id = text(job, "id").to_string();
        self.step(
            7,
            &format!(
                "rollback job {} {}: `modelwatch demo-rollback` as a command backend",
                short(&id),
                text(job, "state")
            ),
        )?;
        let job = self.job_over(&id).await?;
        let rollback_log = self.rollback_log.clone();
        self.show_log("rollback", &rollback_log)?;
        if job["state"] != "succeeded" {
            bail!(
                "rollback job {} ended {}: {}",
                short(&id),
                text(&job, "state"),
                text(&job, "error")
            );
        }
        let versions = self.versions().await?;
        let is = |version: &str, status: &str| {
            find_version(&versions, version).is_some_and(|found| found["status"] == status)
        };
        if !is(candidate, "rolled_back") || !is(VERSION, "production") {
            bail!("the registry did not roll {candidate} back: {versions}");
        }
        self.step(
            7,
            &format!(
                "rolled back: rollback job {} succeeded ({}); {MODEL} {candidate} is \
                 rolled_back; {}",
                short(&id),
                took(&job),
                statuses(&versions, candidate)
            ),
        )
    }

    async fn versions(&self) -> Result<Value> {
        self.get_json(&format!("/v1/models/{MODEL}/versions")).await
    }

    /// Prints a backend's log, each line under the step.
    fn show_log(&mut self, who: &str, log: &Path) -> Result<()> {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        for line in text.lines() {
            self.line(&format!("{who} | {line}"))?;
        }
        Ok(())
    }

    pub(super) async fn get_json(&self, path: &str) -> Result<Value> {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .with_context(|| format!("GET {path}"))?;
        let status = response.status();
        let body = response
            .text()
            .await
            .with_context(|| format!("GET {path}: cannot read the answer"))?;
        if !status.is_success() {
            bail!("GET {path} answered {status}: {body}");
        }
        serde_json::from_str(&body).with_context(|| format!("GET {path} did not answer JSON"))
    }

    async fn post_events(&self, points: &[stream::Point]) -> Result<()> {
        self.post_ndjson(points.iter().map(|point| point.to_json() + "\n").collect())
            .await
    }

    /// `POST /v1/events` of an NDJSON body; anything but 202 is an error.
    pub(super) async fn post_ndjson(&self, body: String) -> Result<()> {
        let response = self
            .client
            .post(format!("{}/v1/events", self.base))
            .header(reqwest::header::CONTENT_TYPE, "application/x-ndjson")
            .body(body)
            .send()
            .await
            .context("POST /v1/events")?;
        let status = response.status();
        if status != reqwest::StatusCode::ACCEPTED {
            let body = response.text().await.unwrap_or_default();
            bail!("POST /v1/events answered {status}: {body}");
        }
        Ok(())
    }

    /// `[  1.2s] [n/7] text`.
    pub(super) fn step(&mut self, step: usize, text: &str) -> Result<()> {
        let elapsed = self.started.elapsed().as_secs_f64();
        writeln!(self.out, "[{elapsed:5.1}s] [{step}/{STEPS}] {text}")?;
        self.out.flush()?;
        Ok(())
    }

    /// `[  1.2s]       text`, a detail of the step above.
    pub(super) fn line(&mut self, text: &str) -> Result<()> {
        let elapsed = self.started.elapsed().as_secs_f64();
        writeln!(self.out, "[{elapsed:5.1}s]       {text}")?;
        self.out.flush()?;
        Ok(())
    }
}

//! The load generator's summary: what the connections saw (counts, throughput, latency
//! percentiles, failures) and the server's memory.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::time::Duration;

use crate::METRICS;

/// What the requests of a run carry, for the summary.
pub(crate) struct Unit {
    /// What one item of a body is: "events", "predictions", "labels".
    pub(crate) items: &'static str,
    /// Whether each item is an event of [`METRICS`], whose values are counted too.
    pub(crate) metric_values: bool,
}

impl Unit {
    /// Metric events of the five [`METRICS`].
    pub(crate) const EVENTS: Unit = Unit {
        items: "events",
        metric_values: true,
    };
}

/// What the connections saw.
#[derive(Default)]
pub(crate) struct Report {
    pub(crate) elapsed: Duration,
    pub(crate) accepted: u64,
    pub(crate) events: u64,
    pub(crate) pushed_back: u64,
    /// Other statuses, with the first body seen for each.
    pub(crate) failed: BTreeMap<u16, (u64, String)>,
    pub(crate) broken: u64,
    pub(crate) first_broken: Option<String>,
    /// Latency of every answered request, in nanoseconds.
    pub(crate) latencies: Vec<u64>,
}

impl Report {
    pub(crate) fn merge(&mut self, other: Report) {
        self.accepted += other.accepted;
        self.events += other.events;
        self.pushed_back += other.pushed_back;
        for (status, (count, body)) in other.failed {
            let entry = self.failed.entry(status).or_insert((0, body));
            entry.0 += count;
        }
        self.broken += other.broken;
        if self.first_broken.is_none() {
            self.first_broken = other.first_broken;
        }
        self.latencies.extend(other.latencies);
    }

    /// Prints the summary; false when a request failed with anything but a 503.
    pub(crate) fn print(&mut self, events_per_request: usize, unit: &Unit) -> bool {
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        let values = self.events * METRICS.len() as u64;
        let items = unit.items;
        let answered = self.latencies.len() as u64;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(
            out,
            "requests: {} answered, {} accepted (202), {} pushed back (503), {} failed, {} broken connections",
            answered,
            self.accepted,
            self.pushed_back,
            self.failed.values().map(|(count, _)| count).sum::<u64>(),
            self.broken
        );
        if unit.metric_values {
            let _ = writeln!(
                out,
                "accepted: {} events ({events_per_request} a request), {values} metric values in {secs:.3} s",
                self.events
            );
            let _ = writeln!(
                out,
                "throughput: {:.0} metric values/s, {:.0} events/s, {:.1} requests/s (accepted)",
                values as f64 / secs,
                self.events as f64 / secs,
                self.accepted as f64 / secs
            );
        } else {
            let _ = writeln!(
                out,
                "accepted: {} {items} ({events_per_request} a request) in {secs:.3} s",
                self.events
            );
            let _ = writeln!(
                out,
                "throughput: {:.0} {items}/s, {:.1} requests/s (accepted)",
                self.events as f64 / secs,
                self.accepted as f64 / secs
            );
        }
        self.latencies.sort_unstable();
        if !self.latencies.is_empty() {
            let ms = |nanos: u64| nanos as f64 / 1e6;
            let _ = writeln!(
                out,
                "latency ms: p50 {:.3}  p90 {:.3}  p99 {:.3}  p99.9 {:.3}  max {:.3}",
                ms(percentile(&self.latencies, 50.0)),
                ms(percentile(&self.latencies, 90.0)),
                ms(percentile(&self.latencies, 99.0)),
                ms(percentile(&self.latencies, 99.9)),
                ms(self.latencies.last().copied().unwrap_or(0)),
            );
        }
        for (status, (count, body)) in &self.failed {
            let _ = writeln!(out, "failed: {count} x status {status}, e.g. {body}");
        }
        if let Some(error) = &self.first_broken {
            let _ = writeln!(out, "broken: {} connections, first: {error}", self.broken);
        }
        self.failed.is_empty() && self.broken == 0
    }
}

/// The `p`th percentile (nearest rank) of sorted values.
fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// VmRSS and VmHWM of a process, from /proc.
pub(crate) fn memory(pid: u32) -> Result<String, String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|error| format!("cannot read /proc/{pid}/status: {error}"))?;
    let field = |name: &str| {
        status
            .lines()
            .find(|line| line.starts_with(name))
            .map(|line| line[name.len()..].trim().to_string())
            .unwrap_or_else(|| "?".to_string())
    };
    Ok(format!(
        "VmRSS {}, VmHWM {}",
        field("VmRSS:"),
        field("VmHWM:")
    ))
}

/// CPU time a process has used, user and system, from /proc/PID/stat (in the kernel's
/// USER_HZ ticks, 100 a second on Linux for x86).
pub(crate) fn cpu_time(pid: u32) -> Result<Duration, String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map_err(|error| format!("cannot read /proc/{pid}/stat: {error}"))?;
    // The fields after the command name (which may hold spaces), from the third, `state`, on.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .ok_or_else(|| format!("/proc/{pid}/stat has no command name"))?;
    let mut fields = rest.split_whitespace().skip(11);
    let mut ticks = || {
        fields
            .next()
            .and_then(|field| field.parse::<u64>().ok())
            .ok_or_else(|| format!("/proc/{pid}/stat has no CPU times"))
    };
    let (user, system) = (ticks()?, ticks()?);
    Ok(Duration::from_millis((user + system) * 10))
}

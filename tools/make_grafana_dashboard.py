#!/usr/bin/env python3
"""Writes deploy/grafana/modelwatch.json, the Grafana dashboard over serve's /metrics (docs/operations.md).

Run from the repository root: python3 tools/make_grafana_dashboard.py > deploy/grafana/modelwatch.json
Its queries are checked against a real scrape by crates/modelwatch/tests/it/grafana_dashboard.rs.
"""
import json
DS = {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}
J = 'job=~"$job"'
panels = []
pid = [0]
y = [0]
def nid():
    pid[0] += 1
    return pid[0]
def row(title):
    panels.append({"type": "row", "title": title, "id": nid(), "collapsed": False,
                   "gridPos": {"h": 1, "w": 24, "x": 0, "y": y[0]}, "panels": []})
    y[0] += 1
x = [0]
def place(w, h):
    if x[0] + w > 24:
        x[0] = 0
        y[0] += 8
    pos = {"h": h, "w": w, "x": x[0], "y": y[0]}
    x[0] += w
    return pos
def endrow():
    if x[0] > 0:
        y[0] += 8
    x[0] = 0
def target(expr, legend, ref, instant=False, fmt="time_series"):
    t = {"datasource": DS, "refId": ref, "expr": expr, "legendFormat": legend, "range": not instant, "instant": instant, "editorMode": "code"}
    if fmt != "time_series":
        t["format"] = fmt
    return t
def ts(title, desc, targets, unit="short", w=12, stack=False, extra=None):
    p = {"type": "timeseries", "title": title, "description": desc, "id": nid(), "datasource": DS,
         "gridPos": place(w, 8),
         "targets": [target(e, l, chr(65 + i)) for i, (e, l) in enumerate(targets)],
         "fieldConfig": {"defaults": {"unit": unit, "custom": {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 10,
                          "stacking": {"mode": "normal" if stack else "none", "group": "A"}, "showPoints": "never"}},
                          "overrides": []},
         "options": {"legend": {"displayMode": "table", "placement": "bottom", "showLegend": True, "calcs": ["lastNotNull", "max"]},
                     "tooltip": {"mode": "multi", "sort": "desc"}}}
    if extra:
        p.update(extra)
    panels.append(p)
def stat(title, desc, targets, unit="short", w=6, thresholds=None):
    steps = thresholds or [{"color": "green", "value": None}]
    panels.append({"type": "stat", "title": title, "description": desc, "id": nid(), "datasource": DS,
         "gridPos": place(w, 8),
         "targets": [target(e, l, chr(65 + i), instant=True) for i, (e, l) in enumerate(targets)],
         "fieldConfig": {"defaults": {"unit": unit, "thresholds": {"mode": "absolute", "steps": steps}}, "overrides": []},
         "options": {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}, "colorMode": "value", "graphMode": "area", "textMode": "auto", "orientation": "auto", "justifyMode": "auto"}})
red_above = lambda v: [{"color": "green", "value": None}, {"color": "red", "value": v}]

row("Ingest")
ts("Events ingested", "Inputs committed to the store per second (modelwatch_events_ingested_total).",
   [(f'sum by (instance) (rate(modelwatch_events_ingested_total{{{J}}}[$__rate_interval]))', "{{instance}}")], unit="ops")
ts("Ingest refusals by reason", "Ingest requests refused per second, by reason: 503s (queue_full, unavailable, bodies_in_flight) are overload or a writer that cannot commit; 400/413/415/422s (syntax, invalid, too_large, unsupported_media_type, series_limit) are the senders' mistakes. Nothing of a refused request is stored.",
   [(f'sum by (reason) (rate(modelwatch_ingest_rejected_total{{{J}}}[$__rate_interval]))', "{{reason}}")], unit="reqps", stack=True)
ts("Refused with 503 (overload, writer unavailable)", "Ingest requests answered 503 with Retry-After per second: the writer's queue was full (queue_full), the service was recovering or could not commit (unavailable, e.g. a full disk), or the bytes of request bodies in flight were at their cap (bodies_in_flight). Senders retry these.",
   [(f'sum by (reason) (rate(modelwatch_ingest_rejected_total{{{J},reason=~"queue_full|unavailable|bodies_in_flight"}}[$__rate_interval]))', "{{reason}}")], unit="reqps", stack=True)
ts("Writer queue depth", "Requests waiting for the writer thread (modelwatch_ingest_queue_depth). Near the queue's capacity, ingest is refused with 503 queue_full.",
   [(f'modelwatch_ingest_queue_depth{{{J}}}', "{{instance}}")])
endrow()
row("Writer and store")
ts("Commit latency", "Time of each group commit to the store (modelwatch_commit_duration_seconds): quantiles over the rate interval, and the mean.",
   [(f'histogram_quantile(0.5, sum by (le) (rate(modelwatch_commit_duration_seconds_bucket{{{J}}}[$__rate_interval])))', "p50"),
    (f'histogram_quantile(0.99, sum by (le) (rate(modelwatch_commit_duration_seconds_bucket{{{J}}}[$__rate_interval])))', "p99"),
    (f'sum(rate(modelwatch_commit_duration_seconds_sum{{{J}}}[$__rate_interval])) / sum(rate(modelwatch_commit_duration_seconds_count{{{J}}}[$__rate_interval]))', "mean")], unit="s")
ts("Commits", "Group commits per second (each holds the inputs of every request waiting at the time).",
   [(f'sum by (instance) (rate(modelwatch_commit_duration_seconds_count{{{J}}}[$__rate_interval]))', "{{instance}}")], unit="ops")
ts("Failures of the writer", "Writes to the store that failed (commits, flushes of points, snapshot and retention steps): after a transient one, such as a full disk, the writer refuses ingest with 503 unavailable until a write succeeds (/readyz says why). Snapshot, write-ahead log checkpoint and retention failures lose nothing but should be looked at.",
   [(f'sum(increase(modelwatch_write_failures_total{{{J}}}[$__rate_interval]))', "write failures"),
    (f'sum(increase(modelwatch_ingest_rejected_total{{{J},reason="unavailable"}}[$__rate_interval]))', "ingest refused: unavailable"),
    (f'sum(increase(modelwatch_snapshot_failures_total{{{J}}}[$__rate_interval]))', "snapshot failures"),
    (f'sum(increase(modelwatch_wal_checkpoint_failures_total{{{J}}}[$__rate_interval]))', "WAL checkpoint failures"),
    (f'sum(increase(modelwatch_retention_failures_total{{{J}}}[$__rate_interval]))', "retention failures")])
ts("Points waiting for their chunks", "Series points of committed events held in the writer's memory until they are written to their chunks (modelwatch_points_pending).",
   [(f'modelwatch_points_pending{{{J}}}', "{{instance}}")])
ts("Store size on disk", "Bytes of the store's database file and write-ahead log (modelwatch_store_bytes, read at each scrape). Retention (--retention) bounds it.",
   [(f'modelwatch_store_bytes{{{J}}}', "{{instance}}")], unit="bytes")
ts("Store: rows deleted by retention", "Raw inputs and series points deleted by retention per second, over the store's life (modelwatch_retention_deleted_total).",
   [(f'sum by (table) (rate(modelwatch_retention_deleted_total{{{J}}}[$__rate_interval]))', "{{table}}")], unit="short")
ts("Store: WAL checkpoints", "Checkpoints of the store's write-ahead log done beside the writer per second.",
   [(f'sum(rate(modelwatch_wal_checkpoints_total{{{J}}}[$__rate_interval]))', "checkpoints")], unit="ops")
stat("Latest engine snapshot", "Sequence number of the latest engine snapshot in the store (0: none yet). A restart replays only the inputs after it.",
   [(f'max(modelwatch_snapshot_seq{{{J}}})', "snapshot")], w=6)
stat("Series left out of /metrics", "Series not exported because of serve --metrics-max-series: raise it to see them here.",
   [(f'max(modelwatch_series_omitted{{{J}}})', "omitted")], w=6, thresholds=red_above(1))
endrow()
row("Alerts and series")
ts("Alerts firing by model", "Alerts firing, by model (modelwatch_alert_firing: one per rule and series).",
   [(f'sum by (model) (modelwatch_alert_firing{{{J},model=~"$model"}})', "{{model}}")], stack=True)
panels.append({"type": "table", "title": "Alerts firing now", "description": "Every rule firing on a series now. modelwatch's own instance label is exported_instance under Prometheus's default honor_labels: false. The explanation is on GET /v1/alerts.",
    "id": nid(), "datasource": DS, "gridPos": place(12, 8),
    "targets": [target(f'modelwatch_alert_firing{{{J},model=~"$model"}} == 1', "", "A", instant=True, fmt="table")],
    "fieldConfig": {"defaults": {}, "overrides": []},
    "options": {"showHeader": True},
    "transformations": [{"id": "organize", "options": {"excludeByName": {"Time": True, "Value": True, "__name__": True, "job": True}, "renameByName": {"exported_instance": "instance (model)"}}}]})
ts("Rule states", "How many (rule, series) pairs are in each state: inactive, pending, firing, warning, ...",
   [(f'sum by (state) (modelwatch_rule_state{{{J},model=~"$model"}})', "{{state}}")], stack=True)
ts("Latest series values: $metric", "The latest value of each series of $metric (modelwatch_series_value), a line per model, version and instance. One panel per selected metric.",
   [(f'modelwatch_series_value{{{J},model=~"$model",metric=~"$metric"}}', "{{model}} {{version}}/{{exported_instance}}")],
   extra={"repeat": "metric", "repeatDirection": "h", "maxPerRow": 2})
endrow()
row("Retrain, jobs and notifications")
ts("Retrain decisions", "Retrain decisions committed, by decision (granted, recommended, suppressed, withdrawn) and reason. GET /v1/decisions names the model of each.",
   [(f'sum by (decision, reason) (increase(modelwatch_retrain_decisions_total{{{J}}}[$__rate_interval]))', "{{decision}} ({{reason}})")], stack=True)
ts("Job attempts started", "Attempts of retrain and rollback jobs started, by backend (command, http, external).",
   [(f'sum by (backend) (increase(modelwatch_job_attempts_started_total{{{J}}}[$__rate_interval]))', "{{backend}}")], stack=True)
ts("Job attempts ended by outcome", "Attempts of jobs ended, by outcome: succeeded, failed, timed_out, interrupted, cancelled. GET /v1/jobs shows each job's state.",
   [(f'sum by (outcome) (increase(modelwatch_job_attempts_ended_total{{{J}}}[$__rate_interval]))', "{{outcome}}")], stack=True)
ts("Jobs by state", "Retrain and rollback jobs in the store by state (modelwatch_jobs, read from the store at each scrape): queued, running, succeeded, failed, timed_out, cancelled. GET /v1/jobs lists them.",
   [(f'sum by (state) (modelwatch_jobs{{{J}}})', "{{state}}")])
stat("Jobs queued or running", "Jobs outstanding now: while one is, its model's alerts are muted and no other retrain starts (single flight).",
   [(f'sum(modelwatch_jobs{{{J},state=~"queued|running"}})', "outstanding")], w=6)
stat("Job attempts failed", "Job attempts that did not succeed over the dashboard's time range.",
   [(f'sum(increase(modelwatch_job_attempts_ended_total{{{J},outcome=~"failed|timed_out|interrupted"}}[$__range])) or vector(0)', "failed")], w=6, thresholds=red_above(1))
ts("Notification attempts", "Attempts to deliver a notification, by notifier and outcome: delivered, failed (tried again), given_up, skipped. GET /v1/deliveries?state=pending shows what waits.",
   [(f'sum by (notifier, outcome) (increase(modelwatch_notification_attempts_total{{{J}}}[$__rate_interval]))', "{{notifier}}: {{outcome}}")], stack=True)
stat("Notifications failed or given up", "Delivery attempts that failed or gave up over the dashboard's time range: a rising count is a target that is down.",
   [(f'sum(increase(modelwatch_notification_attempts_total{{{J},outcome=~"failed|given_up"}}[$__range])) or vector(0)', "failed")], w=6, thresholds=red_above(1))
stat("Notifications given up", "Notifications that will not be sent again.",
   [(f'sum(increase(modelwatch_notification_attempts_total{{{J},outcome="given_up"}}[$__range])) or vector(0)', "given up")], w=6, thresholds=red_above(1))
endrow()
row("Predictions and labels")
ts("Predictions", "Predictions taken into the join per second, by model (models with a [[models]] entry).",
   [(f'sum by (model) (rate(modelwatch_predictions_total{{{J},model=~"$model"}}[$__rate_interval]))', "{{model}}")], unit="ops")
ts("Labels by outcome", "Labels per second by model and outcome: joined (in time), late (after the horizon), unmatched (no prediction waiting).",
   [(f'sum by (model, outcome) (rate(modelwatch_labels_total{{{J},model=~"$model"}}[$__rate_interval]))', "{{model}}: {{outcome}}")], unit="ops")
ts("Predictions waiting for labels", "Predictions of each model waiting for their labels (modelwatch_predictions_pending).",
   [(f'sum by (model) (modelwatch_predictions_pending{{{J},model=~"$model"}})', "{{model}}")])
ts("Predictions dropped", "Predictions ignored as duplicates, expired without a label, and traffic that no longer fits the model's task, per second.",
   [(f'sum by (model) (rate(modelwatch_predictions_duplicate_total{{{J},model=~"$model"}}[$__rate_interval]))', "{{model}}: duplicate"),
    (f'sum by (model) (rate(modelwatch_predictions_expired_total{{{J},model=~"$model"}}[$__rate_interval]))', "{{model}}: expired"),
    (f'sum by (model) (rate(modelwatch_traffic_unusable_total{{{J},model=~"$model"}}[$__rate_interval]))', "{{model}}: unusable")], unit="ops")
endrow()

def var(name, label, query, multi, include_all, all_value=None):
    v = {"type": "query", "name": name, "label": label, "datasource": DS,
         "query": {"query": query, "refId": f"PrometheusVariableQueryEditor-VariableQuery"},
         "definition": query, "refresh": 2, "sort": 1, "multi": multi, "includeAll": include_all,
         "current": {}, "options": [], "hide": 0, "regex": ""}
    if all_value:
        v["allValue"] = all_value
    return v

dash = {
  "__inputs": [{"name": "DS_PROMETHEUS", "label": "Prometheus", "description": "The Prometheus that scrapes modelwatch serve's /metrics",
                "type": "datasource", "pluginId": "prometheus", "pluginName": "Prometheus"}],
  "__elements": {},
  "__requires": [
    {"type": "grafana", "id": "grafana", "name": "Grafana", "version": "10.0.0"},
    {"type": "datasource", "id": "prometheus", "name": "Prometheus", "version": "1.0.0"},
    {"type": "panel", "id": "timeseries", "name": "Time series", "version": ""},
    {"type": "panel", "id": "stat", "name": "Stat", "version": ""},
    {"type": "panel", "id": "table", "name": "Table", "version": ""}],
  "annotations": {"list": [{"builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"}, "enable": True, "hide": True,
                            "iconColor": "rgba(0, 211, 255, 1)", "name": "Annotations & Alerts", "type": "dashboard"}]},
  "description": "modelwatch serve over its /metrics: ingest and refusals, the writer and the store, alerts and series by model, retrains, jobs, notifications, predictions and labels. See docs/operations.md.",
  "editable": True,
  "fiscalYearStartMonth": 0,
  "graphTooltip": 1,
  "id": None,
  "links": [],
  "panels": panels,
  "refresh": "30s",
  "schemaVersion": 39,
  "tags": ["modelwatch"],
  "templating": {"list": [
    var("job", "Job", "label_values(modelwatch_events_ingested_total, job)", False, False),
    var("model", "Model", 'label_values(modelwatch_series_value{job=~"$job"}, model)', True, True, ".*"),
    var("metric", "Metric", 'label_values(modelwatch_series_value{job=~"$job",model=~"$model"}, metric)', True, True),
  ]},
  "time": {"from": "now-6h", "to": "now"},
  "timepicker": {},
  "timezone": "",
  "title": "modelwatch",
  "uid": "modelwatch",
  "version": 1,
  "weekStart": ""
}
print(json.dumps(dash, indent=2, ensure_ascii=False))

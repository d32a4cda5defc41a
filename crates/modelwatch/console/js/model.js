// The Model page: one chart per metric with a line per version and instance (GET /v1/series, every page of its cursor), rule thresholds, pending and firing periods shaded from the alert transitions, and markers for retrain decisions, jobs, registry changes and canary verdicts.
(function (MW) {
  'use strict';
  const { el, time, seconds, num, badge, empty } = MW.ui;
  MW.pages = MW.pages || {};

  /** Every point of one metric of a model, as one {label, x, y} of typed arrays per series. */
  async function series(model, metric) {
    const points = await MW.api.all('/v1/series', { model: model, metric: metric }, 'points');
    const groups = new Map();
    for (const point of points) {
      const key = point.version + '/' + point.instance;
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key).push(point);
    }
    return Array.from(groups.entries()).sort().map(([label, list]) => {
      const x = new Float64Array(list.length);
      const y = new Float64Array(list.length);
      list.forEach((point, i) => { x[i] = seconds(point.at); y[i] = point.value; });
      return { label: label, x: x, y: y, count: list.length };
    });
  }

  /** The detectors whose bound is in the metric's own unit, drawn as a threshold line. */
  const LEVEL_DETECTORS = new Set(['threshold', 'ema', 'window_mean']);

  /** What an alert transition says, for a tooltip. */
  function explain(alert) {
    const e = alert.explanation || {};
    const lines = [alert.rule + ' (' + alert.severity + ') ' + alert.state + ' on ' +
      alert.model.version + '/' + alert.model.instance + ' at ' + time(alert.at), alert.message,
    e.detector + ': ' + e.statistic + ' ' + num(e.value) + (e.comparison ? ' ' + e.comparison + ' ' + num(e.bound) : '') +
      ', ' + e.points + ' points' + (e.held !== undefined ? ', held ' + e.held + (e.for !== undefined ? ' of ' + e.for : '') : '')];
    if (alert.muted_by) lines.push('muted by job ' + alert.muted_by);
    return lines.join('\n');
  }

  /** The pending and firing periods of the alerts on `metric`: from each such transition to the
   * alert's next one (open when there is none yet: to the end of the data). */
  function bands(alerts, metric, end) {
    const byAlert = new Map();
    for (const alert of alerts) {
      if (alert.metric !== metric) continue;
      if (!byAlert.has(alert.alert_id)) byAlert.set(alert.alert_id, []);
      byAlert.get(alert.alert_id).push(alert);
    }
    const out = [];
    for (const transitions of byAlert.values()) {
      transitions.sort((a, b) => seconds(a.at) - seconds(b.at) || a.seq - b.seq);
      transitions.forEach((alert, i) => {
        if (alert.state !== 'pending' && alert.state !== 'firing') return;
        const next = transitions[i + 1];
        const x0 = seconds(alert.at);
        out.push({ state: alert.state, start: alert.at, end: next ? next.at : null, x0: x0,
          x1: next ? seconds(next.at) : Math.max(end, x0), title: explain(alert), alertId: alert.alert_id });
      });
    }
    return out;
  }

  function thresholds(alerts, metric) {
    const seen = new Map();
    for (const alert of alerts) {
      const e = alert.explanation || {};
      if (alert.metric !== metric || !LEVEL_DETECTORS.has(e.detector) || typeof e.bound !== 'number') continue;
      seen.set(alert.rule + ' ' + e.bound, { value: e.bound,
        title: 'rule ' + alert.rule + ': ' + e.statistic + ' ' + e.comparison + ' ' + num(e.bound) });
    }
    return Array.from(seen.values());
  }

  /** The model's events as markers: decisions (event time), jobs' start and end, registry
   * changes (the canary's as canary verdicts). */
  function markers(decisions, jobs, audit) {
    const out = [];
    for (const d of decisions) {
      out.push({ kind: 'decision', at: d.at, x: seconds(d.at), title: 'retrain ' + d.decision + ' (' + d.reason + ') at ' + time(d.at) + '\n' + d.message });
    }
    for (const job of jobs) {
      if (job.started_at) out.push({ kind: 'job_start', at: job.started_at, x: seconds(job.started_at), title: job.kind + ' job ' + job.id.slice(0, 8) + ' started at ' + time(job.started_at) });
      if (job.finished_at) out.push({ kind: 'job_end', at: job.finished_at, x: seconds(job.finished_at), title: job.kind + ' job ' + job.id.slice(0, 8) + ' ended ' + job.state + ' at ' + time(job.finished_at) + (job.result_version ? ': version ' + job.result_version : '') });
    }
    for (const entry of audit) {
      if (!entry.action.startsWith('version_')) continue;
      out.push({ kind: entry.actor === 'canary' ? 'canary' : 'registry', at: entry.at, x: seconds(entry.at),
        title: entry.action + ' ' + (entry.version || '') + ' by ' + entry.actor + ' at ' + time(entry.at) + '\n' + entry.detail });
    }
    return out;
  }

  /** The metrics a model has points of, from its latest values. */
  function metricsOf(model) {
    return Array.from(new Set(model.latest.map((point) => point.metric))).sort();
  }

  async function load(name) {
    const model = await MW.source.get('/v1/models/' + encodeURIComponent(name));
    const [alerts, decisions, jobs, audit] = await Promise.all([
      MW.api.all('/v1/alerts', { model: name }), MW.api.all('/v1/decisions', { model: name }),
      MW.api.all('/v1/jobs', { model: name }), MW.api.all('/v1/audit', { model: name })]);
    return { model: model, alerts: alerts, decisions: decisions, jobs: jobs, audit: audit };
  }

  /** Charts for `metrics` of model `name` in `into`, with the overlays of `data`. */
  async function charts(into, name, metrics, data, current) {
    const group = MW.chart.group();
    const marks = data ? markers(data.decisions, data.jobs, data.audit) : [];
    let drawn = 0;
    for (const metric of metrics) {
      const lines = await series(name, metric);
      if (!current()) break;
      if (lines.length === 0) continue;
      let low = Infinity, high = -Infinity;
      for (const line of lines) {
        if (line.x.length) { low = Math.min(low, line.x[0]); high = Math.max(high, line.x[line.x.length - 1]); }
      }
      const inRange = marks.filter((m) => m.x >= low && m.x <= high);
      const outside = marks.length - inRange.length;
      MW.chart.chart(into, {
        title: metric, series: lines, group: group,
        bands: data ? bands(data.alerts, metric, high) : [],
        thresholds: data ? thresholds(data.alerts, metric) : [],
        markers: inRange,
      });
      const points = lines.reduce((sum, line) => sum + line.count, 0);
      into.append(el('p', { class: 'muted' }, points + ' points from ' + time(new Date(low * 1000).toISOString()) +
        ' to ' + time(new Date(high * 1000).toISOString()) +
        (outside ? '; ' + outside + ' markers fall outside this time range (jobs and registry changes carry the server\'s time, points their event time)' : '')));
      drawn++;
    }
    return { group: group, drawn: drawn };
  }

  function alertTable(alerts) {
    return MW.ui.table([
      { title: 'at', cell: (a) => time(a.at) }, { title: 'state', cell: (a) => badge(a.state) },
      { title: 'rule', cell: (a) => a.rule }, { title: 'metric', cell: (a) => a.metric },
      { title: 'series', cell: (a) => a.model.version + '/' + a.model.instance },
      { title: 'explanation', cell: (a) => el('span', { title: explain(a), text: a.message }) },
      { title: 'muted by', cell: (a) => a.muted_by ? MW.ui.link('#/jobs?id=' + a.muted_by, a.muted_by.slice(0, 8)) : '' },
    ], alerts.slice().reverse(), { class: 'alerts' });
  }

  MW.pages.model = {
    title: 'Model',
    async render(view, args, _params, ctx) {
      const name = args[0];
      if (!name) {
        view.append(MW.ui.notice('empty', 'Which model?', 'Pick a model on the ', MW.ui.link('#/', 'overview'), '.'));
        return null;
      }
      let data = await load(name);
      const fingerprint = (d) => JSON.stringify(d.model.latest.map((p) => p.seq)) + d.alerts.length + d.decisions.length + d.jobs.length + d.audit.length;
      let seen = fingerprint(data);
      const body = el('div');
      view.append(el('h1', {}, 'Model ', el('code', { text: name })), MW.chart.keys(), body);
      let group = null;
      const draw = async () => {
        const box = el('div', { class: 'charts' });
        const metrics = metricsOf(data.model);
        body.replaceChildren(box);
        if (metrics.length === 0) { box.append(empty('points of ' + name)); return; }
        const previous = group;
        const made = await charts(box, name, metrics, data, ctx.current);
        if (previous) previous.destroy();
        group = made.group;
        body.append(el('h2', { text: 'Alert transitions' }), data.alerts.length ? alertTable(data.alerts) : el('p', { class: 'muted', text: 'No alert transition.' }));
      };
      await draw();
      return async () => {
        const next = await load(name);
        const print = fingerprint(next);
        if (print === seen) return;
        data = next;
        seen = print;
        await draw();
      };
    },
  };

  MW.model = { series: series, charts: charts, bands: bands, explain: explain, metricsOf: metricsOf };
})(window.MW = window.MW || {});

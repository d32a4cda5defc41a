// The Model page: one chart per metric with a line per version and instance (GET /v1/series, every page of its cursor), rule thresholds, pending and firing periods shaded from the alert transitions, and markers for retrain decisions, jobs, registry changes and canary verdicts.
(function (MW) {
  'use strict';
  const { el, time, seconds, num, badge, empty } = MW.ui;
  MW.pages = MW.pages || {};

  /** The points of one metric a page holds: each series' (version/instance) times and values,
   * and where the next read starts (the newest point's time and the seqs read at it). */
  function held() {
    return { groups: new Map(), lastAt: null, lastSeqs: new Set(), count: 0 };
  }

  /** Every point of a metric from `from` on (all when null), oldest first, along the cursor. */
  function read(model, metric, from) {
    return MW.api.all('/v1/series', { model: model, metric: metric, from: from }, 'points');
  }

  /** Adds `points` (oldest first) to `into`, skipping those it holds; whether a series is new.
   * A later read starts at the newest time held, so a point that arrives with an older event
   * time than that shows at the page's next full read. */
  function add(into, points) {
    let fresh = false;
    for (const point of points) {
      if (into.lastAt === point.at && into.lastSeqs.has(point.seq)) continue;
      const key = point.version + '/' + point.instance;
      if (!into.groups.has(key)) { into.groups.set(key, { x: [], y: [] }); fresh = true; }
      const group = into.groups.get(key);
      group.x.push(seconds(point.at));
      group.y.push(point.value);
      if (into.lastAt !== point.at) { into.lastAt = point.at; into.lastSeqs = new Set(); }
      into.lastSeqs.add(point.seq);
      into.count++;
    }
    return fresh;
  }

  /** The held series as one {label, x, y} of typed arrays each, by label. */
  function lines(from) {
    return Array.from(from.groups.entries()).sort((a, b) => (a[0] < b[0] ? -1 : 1))
      .map(([label, group]) => ({ label: label, x: Float64Array.from(group.x), y: Float64Array.from(group.y), count: group.x.length }));
  }

  /** Every point of one metric of a model, as one {label, x, y} of typed arrays per series. */
  async function series(model, metric) {
    const into = held();
    add(into, await read(model, metric, null));
    return lines(into);
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

  /** The rules' bounds on `metric` (GET /v1/models/M/rules, every rule with a level
   * detector, fired or not), and those the alerts carried. */
  function thresholds(alerts, rules, metric) {
    const seen = new Map();
    for (const rule of rules || []) {
      const c = rule.condition;
      if (rule.metric !== metric || !c) continue;
      seen.set(rule.name + ' ' + c.bound, { value: c.bound,
        title: 'rule ' + rule.name + ': ' + rule.detector + ' ' + c.direction + ' ' + num(c.bound) });
    }
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
    // The rules only add threshold lines: a report made before the route holds no answer.
    const rules = MW.source.get('/v1/models/' + encodeURIComponent(name) + '/rules')
      .then((body) => body.rules, () => []);
    const [alerts, decisions, jobs, audit, ruleList] = await Promise.all([
      MW.api.all('/v1/alerts', { model: name }), MW.api.all('/v1/decisions', { model: name }),
      MW.api.all('/v1/jobs', { model: name }), MW.api.all('/v1/audit', { model: name }), rules]);
    return { model: model, alerts: alerts, decisions: decisions, jobs: jobs, audit: audit, rules: ruleList };
  }

  /** The time span of some lines, in seconds: [first, last]. */
  function span(list) {
    let low = Infinity, high = -Infinity;
    for (const line of list) {
      if (line.x.length) { low = Math.min(low, line.x[0]); high = Math.max(high, line.x[line.x.length - 1]); }
    }
    return [low, high];
  }

  function spanText(list, outside) {
    const [low, high] = span(list);
    const points = list.reduce((sum, line) => sum + line.count, 0);
    return points + ' points from ' + time(new Date(low * 1000).toISOString()) + ' to ' +
      time(new Date(high * 1000).toISOString()) + (outside ? '; ' + outside + ' markers fall outside this time range ' +
      '(jobs and registry changes carry the server\'s time, points their event time)' : '');
  }

  /** Charts for `metrics` of model `name` in `into`, with the overlays of `data`; each chart
   * with the points it holds, to add the next ones to (`more`). */
  async function charts(into, name, metrics, data, current, zoom) {
    const group = MW.chart.group();
    const marks = data ? markers(data.decisions, data.jobs, data.audit) : [];
    const shown = new Map();
    for (const metric of metrics) {
      const points = held();
      add(points, await read(name, metric, null));
      if (!current()) break;
      const list = lines(points);
      if (list.length === 0) continue;
      const [low, high] = span(list);
      const inRange = marks.filter((m) => m.x >= low && m.x <= high);
      const plot = MW.chart.chart(into, {
        title: metric, series: list, group: group,
        bands: data ? bands(data.alerts, metric, high) : [],
        thresholds: data ? thresholds(data.alerts, data.rules, metric) : [],
        markers: inRange, zoom: zoom,
      });
      const caption = el('p', { class: 'muted', text: spanText(list, marks.length - inRange.length) });
      into.append(caption);
      shown.set(metric, { points: points, plot: plot, caption: caption, outside: marks.length - inRange.length });
    }
    /** Reads the points after those held; false when a new series needs the charts drawn again. */
    const more = async () => {
      for (const [metric, chart] of shown) {
        if (add(chart.points, await read(name, metric, chart.points.lastAt))) return false;
        const list = lines(chart.points);
        MW.chart.update(chart.plot, list, group);
        chart.caption.textContent = spanText(list, chart.outside);
      }
      return true;
    };
    return { group: group, drawn: shown.size, more: more };
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
      // What needs the charts drawn again (alerts, decisions, jobs, changes, metrics), and what
      // only needs the newest points read (the latest points).
      const overlays = (d) => JSON.stringify(metricsOf(d.model)) + [d.alerts.length, d.decisions.length, d.jobs.length, d.audit.length].join(',');
      const latest = (d) => JSON.stringify(d.model.latest.map((p) => p.seq));
      const body = el('div');
      view.append(el('h1', {}, 'Model ', el('code', { text: name })), MW.chart.keys(), body);
      let made = null;
      const draw = async () => {
        const box = el('div', { class: 'charts' });
        const metrics = metricsOf(data.model);
        body.replaceChildren(box);
        if (metrics.length === 0) { box.append(empty('points of ' + name)); return; }
        const previous = made;
        made = await charts(box, name, metrics, data, ctx.current, previous && previous.group.zoomed());
        if (previous) previous.group.destroy();
        body.append(el('h2', { text: 'Alert transitions' }), data.alerts.length ? alertTable(data.alerts) : el('p', { class: 'muted', text: 'No alert transition.' }));
      };
      await draw();
      return async () => {
        const next = await load(name);
        const redraw = overlays(next) !== overlays(data) || !made;
        const newer = latest(next) !== latest(data);
        data = next;
        if (redraw || (newer && !await made.more())) await draw();
      };
    },
  };

  MW.model = { series: series, charts: charts, bands: bands, explain: explain, metricsOf: metricsOf };
})(window.MW = window.MW || {});

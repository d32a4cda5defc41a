// The Quality and drift page: realized quality next to its CBPE estimate, label coverage, and drift scores over time, from GET /v1/series (metric names of docs/quality.md and docs/drift.md); per-feature histograms wait for a route that serves them.
(function (MW) {
  'use strict';
  const { el, empty, time } = MW.ui;
  MW.pages = MW.pages || {};

  /** The metrics of a model, sorted into what this page shows. */
  function classify(metrics) {
    const present = new Set(metrics);
    const pairs = metrics.filter((m) => m.startsWith('estimated_'))
      .map((estimate) => ({ realized: estimate.slice('estimated_'.length), estimate: estimate }));
    const drift = metrics.filter((m) => m === 'drift_score' || m.startsWith('drift.') || m.startsWith('drift_'));
    return {
      pairs: pairs,
      coverage: present.has('label_coverage') ? ['label_coverage'] : [],
      drift: drift,
      present: present,
    };
  }

  /** One chart of several metrics of a model, a line per metric and version/instance, with the
   * alert periods of each. */
  async function combined(into, name, title, metrics, alerts, group) {
    let lines = [];
    for (const metric of metrics) {
      const found = await MW.model.series(name, metric);
      lines = lines.concat(found.map((line) => Object.assign({}, line, { label: metric + ' ' + line.label })));
    }
    if (lines.length === 0) return;
    let high = -Infinity;
    for (const line of lines) if (line.x.length) high = Math.max(high, line.x[line.x.length - 1]);
    const bands = [];
    for (const metric of metrics) bands.push(...MW.model.bands(alerts, metric, high));
    MW.chart.chart(into, { title: title, series: lines, group: group, bands: bands });
  }

  async function modelSection(view, name, current) {
    const box = el('section', { class: 'card', 'data-quality': name });
    view.append(box);
    const model = await MW.source.get('/v1/models/' + encodeURIComponent(name));
    const metrics = MW.model.metricsOf(model);
    const kinds = classify(metrics);
    const alerts = await MW.api.all('/v1/alerts', { model: name });
    box.append(el('h2', {}, MW.ui.modelLink(name)));
    if (model.traffic) {
      const t = model.traffic;
      box.append(el('p', { class: 'muted', text: t.task + ' model, window ' + t.window + ' labels: ' + t.predictions +
        ' predictions, ' + t.joined + ' joined with labels, ' + t.pending + ' waiting' +
        (t.coverage !== null && t.coverage !== undefined ? ', coverage ' + MW.ui.num(t.coverage) : '') }));
    }
    const group = MW.chart.group();
    box.append(el('h3', { text: 'Realized and estimated quality' }));
    if (kinds.pairs.length === 0) {
      box.append(el('p', { class: 'muted', text: 'No estimated quality yet: CBPE estimates come from predictions with scores of a binary model with a [[models]] entry (docs/quality.md).' }));
    }
    for (const pair of kinds.pairs) {
      if (!current()) return box;
      const metrics = kinds.present.has(pair.realized) ? [pair.realized, pair.estimate] : [pair.estimate];
      await combined(box, name, pair.realized + ': realized and estimated (CBPE)', metrics, alerts, group);
    }
    box.append(el('h3', { text: 'Label coverage' }));
    if (kinds.coverage.length) {
      await MW.model.charts(box, name, kinds.coverage, { alerts: alerts, decisions: [], jobs: [], audit: [] }, current);
    } else {
      box.append(el('p', { class: 'muted', text: 'No label coverage yet: it comes once labels join predictions (docs/quality.md).' }));
    }
    box.append(el('h3', { text: 'Drift scores over time' }));
    if (kinds.drift.length) {
      const columns = kinds.drift.filter((metric) => metric.startsWith('drift.'));
      const overall = kinds.drift.filter((metric) => !metric.startsWith('drift.'));
      if (overall.length) await combined(box, name, 'drift score (share of drifted columns)', overall, alerts, group);
      if (columns.length) await combined(box, name, 'each column\'s drift score', columns, alerts, group);
    } else {
      box.append(el('p', { class: 'muted', text: 'No drift score yet: drift needs a reference and drift settings for the model (docs/drift.md).' }));
    }
    box.append(el('h3', { text: 'Reference against current, per feature' }),
      el('div', { class: 'placeholder', 'data-placeholder': 'histograms' },
        'Per-feature histograms of the reference against the current window need a route that serves the bins; ' +
        'the HTTP API has none yet (GET /v1/models/{name}/reference gives the reference\'s columns, not the current window\'s). ' +
        'They will show here once such a route exists; the scores above are the drift that the rules act on.'));
    box.append(el('p', { class: 'muted', text: 'Read at ' + time(new Date().toISOString()) }));
    return box;
  }

  MW.pages.quality = {
    title: 'Quality and drift',
    async render(view, args, _params, ctx) {
      view.append(el('h1', { text: 'Quality and drift' }));
      const names = args[0] ? [args[0]] : (await MW.api.all('/v1/models', {})).map((model) => model.name);
      if (names.length === 0) { view.append(empty('models')); return null; }
      for (const name of names) {
        if (!ctx.current()) return null;
        await modelSection(view, name, ctx.current);
      }
      return null;
    },
  };
})(window.MW = window.MW || {});

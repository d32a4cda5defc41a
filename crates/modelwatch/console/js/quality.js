// The Quality and drift page: realized quality next to its CBPE estimate, label coverage, and drift scores over time, from GET /v1/series (metric names of docs/quality.md and docs/drift.md); per feature, the reference against the latest window's histogram (SVG) with its method, score and decision, from GET /v1/models/{name}/drift.
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
  async function combined(into, name, title, metrics, alerts, group, read) {
    let lines = [];
    for (const metric of metrics) {
      const found = read && read.has(metric) ? read.get(metric) : await MW.model.series(name, metric);
      lines = lines.concat(found.map((line) => Object.assign({}, line, { label: metric + ' ' + line.label })));
    }
    if (lines.length === 0) return;
    let high = -Infinity;
    for (const line of lines) if (line.x.length) high = Math.max(high, line.x[line.x.length - 1]);
    const bands = [];
    for (const metric of metrics) bands.push(...MW.model.bands(alerts, metric, high));
    MW.chart.chart(into, { title: title, series: lines, group: group, bands: bands });
  }

  /** The page's text for why a model's drift cannot be shown: no `[[models]]` entry, or one
   * without drift settings (GET /v1/models/{name}/drift answers 404). */
  function unconfigured(name) {
    const box = MW.ui.notice('empty', 'No drift settings for ' + name,
      'Drift compares windows of the model\'s predictions with a reference. Give its ',
      el('code', { text: '[[models]]' }), ' entry in the config a ', el('code', { text: 'reference = { first = N }' }),
      ' (each version\'s first N predictions) or ', el('code', { text: 'reference = { file = "reference.csv" }' }),
      ', and a ', el('code', { text: 'drift_window' }), ' (docs/config.md, section [[models]]; docs/drift.md), then restart serve.');
    box.dataset.drift = 'unconfigured';
    return box;
  }

  /** How far each version and instance's open window (or its reference, under `first = N`) is. */
  function progress(answer) {
    if (!answer.open.length) {
      return el('p', { class: 'muted', 'data-open': '', text: 'No prediction yet: each version and instance that sends predictions has an open window here.' });
    }
    return el('ul', { class: 'open-windows' }, answer.open.map((open) => {
      const key = open.version + '/' + open.instance;
      const filling = answer.first !== null && open.reference_rows !== null && open.reference_rows < answer.first;
      const text = filling
        ? key + ': reference ' + open.reference_rows + ' of ' + answer.first + ' predictions (its windows start once the reference is complete)'
        : key + ': open window ' + open.rows + ' of ' + open.needs + ' rows';
      return el('li', { 'data-open': key, 'data-rows': open.rows, 'data-needs': open.needs, text: text });
    }));
  }

  const SVG = 'http://www.w3.org/2000/svg';

  /** An SVG element with attributes (all set as attributes) and children. */
  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value !== undefined && value !== null) node.setAttribute(name, String(value));
    }
    for (const child of children) {
      if (child !== null && child !== undefined) node.append(child);
    }
    return node;
  }

  /** A short number for an axis. */
  function short(value) {
    return typeof value === 'number' ? String(Number(value.toPrecision(3))) : String(value);
  }

  function percent(share) {
    return (share * 100).toFixed(share < 0.1 ? 1 : 0) + '%';
  }

  const BOX = { width: 320, height: 150, left: 36, right: 6, top: 8, bottom: 30 };

  /** The reference's and the window's shares side by side, a group of two bars per bin
   * (numerical: `[edges[i], edges[i+1])`) or per category, each with its numbers as a tooltip. */
  function histogram(column) {
    const h = column.histogram;
    const bins = h.reference.length;
    const labels = h.edges
      ? h.reference.map((_, i) => '[' + short(h.edges[i]) + ', ' + short(h.edges[i + 1]) + (i === bins - 1 ? ']' : ')'))
      : h.categories.map((category) => String(category));
    const plotWidth = BOX.width - BOX.left - BOX.right;
    const plotHeight = BOX.height - BOX.top - BOX.bottom;
    const high = Math.max(0, ...h.reference, ...h.current) || 1;
    const slot = plotWidth / Math.max(1, bins);
    const bar = Math.max(0.5, slot * 0.4);
    const y = (share) => BOX.top + plotHeight * (1 - share / high);
    const root = svg('svg', {
      class: 'histogram', viewBox: '0 0 ' + BOX.width + ' ' + BOX.height, role: 'img',
      'data-column': column.name, 'data-bins': bins, 'data-kind': h.edges ? 'edges' : 'categories',
      'aria-label': column.name + ': reference against current, ' + bins + (h.edges ? ' bins' : ' categories'),
    });
    const base = BOX.top + plotHeight;
    root.append(
      svg('line', { class: 'axis', x1: BOX.left, x2: BOX.width - BOX.right, y1: base, y2: base }),
      svg('text', { class: 'tick', x: BOX.left - 4, y: BOX.top + 8, 'text-anchor': 'end' }, percent(high)),
      svg('text', { class: 'tick', x: BOX.left - 4, y: base, 'text-anchor': 'end' }, '0'));
    for (let i = 0; i < bins; i++) {
      const x = BOX.left + i * slot + slot * 0.1;
      const reference = h.reference[i];
      const current = h.current[i];
      root.append(svg('g', { class: 'bin', 'data-bin': i },
        svg('title', {}, labels[i] + ': reference ' + percent(reference) + ', current ' + percent(current)),
        svg('rect', { class: 'bar-reference', x: x, y: y(reference), width: bar, height: base - y(reference) }),
        svg('rect', { class: 'bar-current', x: x + bar, y: y(current), width: bar, height: base - y(current) })));
    }
    // The x axis: a numerical column's outer edges; each category while they fit, else the
    // first and the last (every name is in its bin's tooltip).
    const end = (text, x, anchor) => svg('text', { class: 'tick', x: x, y: base + 14, 'text-anchor': anchor }, text);
    if (h.edges) {
      root.append(end(short(h.edges[0]), BOX.left, 'start'), end(short(h.edges[bins]), BOX.width - BOX.right, 'end'));
    } else if (bins <= 8) {
      const fits = Math.max(3, Math.floor(slot / 6));
      labels.forEach((label, i) => root.append(end(label.length > fits ? label.slice(0, fits - 1) + '…' : label,
        BOX.left + (i + 0.5) * slot, 'middle')));
    } else {
      root.append(end(labels[0].slice(0, 12), BOX.left, 'start'), end(labels[bins - 1].slice(0, 12), BOX.width - BOX.right, 'end'),
        end(bins + ' categories', BOX.left + plotWidth / 2, 'middle'));
    }
    return root;
  }

  /** A feature's score over time on one version/instance: a line, with the latest threshold dashed. */
  function sparkline(line, threshold) {
    const width = 320, height = 44, pad = 3;
    const values = Array.from(line.y).concat(typeof threshold === 'number' ? [threshold] : []);
    const low = Math.min(...values), high = Math.max(...values);
    const spread = high - low || 1;
    const x0 = line.x[0], x1 = line.x[line.x.length - 1];
    const px = (x) => pad + (width - 2 * pad) * (x1 > x0 ? (x - x0) / (x1 - x0) : 0.5);
    const py = (v) => height - pad - (height - 2 * pad) * (v - low) / spread;
    const points = Array.from(line.x, (x, i) => px(x).toFixed(1) + ',' + py(line.y[i]).toFixed(1)).join(' ');
    return svg('svg', { class: 'sparkline', viewBox: '0 0 ' + width + ' ' + height, 'data-points': line.x.length },
      svg('title', {}, 'score over time: ' + line.x.length + ' windows, from ' + short(low) + ' to ' + short(high)),
      typeof threshold === 'number' ? svg('line', { class: 'spark-threshold', x1: 0, x2: width, y1: py(threshold), y2: py(threshold) }) : null,
      svg('polyline', { class: 'spark', points: points }));
  }

  /** One column of a compared window: its histogram, method, score, threshold and decision,
   * and its score over time on this version/instance (`line`, from GET /v1/series). */
  function featureCard(column, line) {
    const card = el('div', { class: 'feature', 'data-feature': column.name, 'data-outcome': column.outcome,
      'data-drifted': column.outcome === 'scored' ? String(column.drifted) : null });
    card.append(el('h4', {}, column.name + ' ', el('span', { class: 'muted', text: column.type }), ' ',
      column.outcome === 'scored' ? MW.ui.badge(column.drifted ? 'drifted' : 'not drifted') : MW.ui.badge(column.outcome)));
    if (column.outcome === 'scored') {
      card.append(el('p', { class: 'score', text: column.method + (column.automatic ? ' (automatic)' : '') + ': score ' +
        MW.ui.num(column.score) + ', threshold ' + MW.ui.num(column.threshold) }));
    } else if (column.outcome === 'not_enough_data') {
      card.append(el('p', { class: 'muted', text: 'not enough data: ' + column.reference_values + ' values in the reference, ' + column.current_values + ' in the window (drift_min_samples)' }));
    } else {
      card.append(el('p', { class: 'muted', text: 'not scored: ' + (column.reason || '') }));
    }
    if (column.histogram) {
      card.append(histogram(column));
      card.append(el('p', { class: 'legend-keys' }, el('span', { class: 'key-reference', text: 'reference (' + column.reference_values + ')' }),
        el('span', { class: 'key-current', text: 'current window (' + column.current_values + ')' })));
    } else {
      card.append(el('p', { class: 'muted', text: 'No histogram: one side has no value of this column.' }));
    }
    if (line && line.x.length > 1) {
      card.append(el('p', { class: 'muted spark-caption', text: 'score over ' + line.x.length + ' windows' +
        (column.outcome === 'scored' ? ', threshold dashed' : '') }), sparkline(line, column.outcome === 'scored' ? column.threshold : null));
    }
    return card;
  }

  /** The latest compared window of each version/instance, a card per column. `scores` maps
   * `drift.<column>` to its lines (by `version/instance` label). */
  function windowSection(compared, answer, scores) {
    const key = compared.version + '/' + compared.instance;
    const box = el('div', { class: 'drift-window', 'data-window': key });
    const drifted = compared.columns.filter((column) => column.outcome === 'scored' && column.drifted).length;
    box.append(el('h4', { text: key + ': the latest window of ' + compared.rows + ' rows against a reference of ' + compared.reference_rows }),
      el('p', {}, drifted + ' of ' + compared.columns.length + ' columns drifted (share ' + MW.ui.num(compared.share) +
        ', the dataset drifts at ' + MW.ui.num(answer.drift_share) + '): ', MW.ui.badge(compared.drifted ? 'drifted' : 'not drifted')));
    const grid = el('div', { class: 'features' });
    for (const column of compared.columns) {
      const lines = scores.get('drift.' + column.name) || [];
      grid.append(featureCard(column, lines.find((line) => line.label === key)));
    }
    box.append(grid);
    return box;
  }

  /** Reference against current per feature, from GET /v1/models/{name}/drift: the open windows'
   * progress, then each version/instance's latest compared window; or what to do without one. */
  async function histograms(box, name, model, scores) {
    box.append(el('h3', { text: 'Reference against current, per feature' }));
    const section = el('div', { class: 'drift', 'data-drift-of': name });
    box.append(section);
    // Without a [[models]] entry, or one without drift settings, do not ask for a sure 404.
    if (!model.traffic || model.traffic.drift === false) { section.append(unconfigured(name)); return; }
    let answer;
    try {
      answer = await MW.source.get('/v1/models/' + encodeURIComponent(name) + '/drift');
    } catch (error) {
      if (error instanceof MW.ApiError && error.kind === 'not_found') section.append(unconfigured(name));
      else section.append(MW.ui.failure(error));
      return;
    }
    section.append(progress(answer));
    if (!answer.windows.length) {
      const waiting = MW.ui.notice('empty', 'No window compared yet',
        'A window is compared with the reference once it holds ' + answer.window + ' predictions (drift_window)' +
        (answer.first !== null ? ', after each version\'s first ' + answer.first + ' predictions, its reference' : '') +
        ' (and again after an upload replaced the reference). The progress of each open window is above; its histograms show here once one is complete.');
      waiting.dataset.drift = 'waiting';
      section.append(waiting);
      return;
    }
    section.dataset.drift = 'windows';
    for (const compared of answer.windows) section.append(windowSection(compared, answer, scores));
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
    // Each column's scores, read once: for the chart of them all and each feature's line.
    const scores = new Map();
    if (kinds.drift.length) {
      const columns = kinds.drift.filter((metric) => metric.startsWith('drift.'));
      const overall = kinds.drift.filter((metric) => !metric.startsWith('drift.'));
      for (const metric of columns) {
        if (!current()) return box;
        scores.set(metric, await MW.model.series(name, metric));
      }
      if (overall.length) await combined(box, name, 'drift score (share of drifted columns)', overall, alerts, group);
      if (columns.length) await combined(box, name, 'each column\'s drift score', columns, alerts, group, scores);
    } else {
      box.append(el('p', { class: 'muted', text: 'No drift score yet: drift needs a reference and drift settings for the model (docs/drift.md).' }));
    }
    if (!current()) return box;
    await histograms(box, name, model, scores);
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

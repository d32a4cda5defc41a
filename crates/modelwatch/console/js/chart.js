// One time-series chart on uPlot: a line per series, alert periods shaded, rule thresholds and event markers drawn as DOM elements over the plot (each carrying its times in data attributes), zoom by dragging or the wheel, pan with shift and the wheel, reset by double-click.
(function (MW) {
  'use strict';
  const { el } = MW.ui;

  const PALETTE = ['#2563eb', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#be123c', '#4d7c0f', '#a16207'];

  /** The x values of every series merged (sorted, unique), and each series' y on them (null
   * where it has no point). One series keeps its typed arrays as they are. */
  function align(series) {
    if (series.length === 1) return [series[0].x, series[0].y];
    let total = 0;
    for (const s of series) total += s.x.length;
    const merged = new Float64Array(total);
    let at = 0;
    for (const s of series) { merged.set(s.x, at); at += s.x.length; }
    merged.sort();
    let unique = 0;
    for (let i = 0; i < merged.length; i++) {
      if (i === 0 || merged[i] !== merged[unique - 1]) merged[unique++] = merged[i];
    }
    const xs = merged.slice(0, unique);
    const columns = series.map((s) => {
      const ys = new Array(unique).fill(null);
      let j = 0;
      for (let i = 0; i < s.x.length; i++) {
        while (xs[j] < s.x[i]) j++;
        ys[j] = s.y[i];
      }
      return ys;
    });
    return [xs, ...columns];
  }

  /** Charts of one page share their x range (zoom one, zoom all) and their cursor; the group
   * knows whether the range is zoomed, to keep it when the charts are drawn again. */
  function group() {
    const charts = [];
    let syncing = false;
    let zoomed = null;
    return {
      add(plot) { charts.push(plot); },
      scaled(source) {
        if (syncing) return;
        const { min, max } = source.scales.x;
        const xs = source.data[0];
        const whole = xs.length === 0 || (min <= xs[0] && max >= xs[xs.length - 1]);
        zoomed = whole ? null : { min: min, max: max };
        syncing = true;
        for (const plot of charts) if (plot !== source) plot.setScale('x', { min: min, max: max });
        syncing = false;
      },
      zoomed() { return zoomed; },
      destroy() { for (const plot of charts) plot.destroy(); charts.length = 0; },
    };
  }

  /** Places the overlay elements (bands, thresholds, markers) at the plot's current scales. */
  function place(plot, overlay) {
    const width = plot.over.clientWidth;
    for (const node of overlay.bands) {
      const start = plot.valToPos(Number(node.dataset.x0), 'x');
      const end = plot.valToPos(Number(node.dataset.x1), 'x');
      const left = Math.max(0, Math.min(width, start));
      const right = Math.max(0, Math.min(width, end));
      node.style.display = right > left || (right === left && start >= 0 && start <= width) ? '' : 'none';
      node.style.left = left + 'px';
      node.style.width = Math.max(2, right - left) + 'px';
    }
    for (const node of overlay.thresholds) {
      node.style.top = plot.valToPos(Number(node.dataset.value), 'y') + 'px';
    }
    for (const node of overlay.markers) {
      const left = plot.valToPos(Number(node.dataset.x), 'x');
      node.style.display = left >= 0 && left <= width ? '' : 'none';
      node.style.left = left + 'px';
    }
  }

  /** Wheel zoom (around the cursor) and shift+wheel pan of the x scale. */
  function wheel(plot) {
    plot.over.addEventListener('wheel', (event) => {
      event.preventDefault();
      const { min, max } = plot.scales.x;
      if (min === null || max === null) return;
      const range = max - min;
      if (event.shiftKey || Math.abs(event.deltaX) > Math.abs(event.deltaY)) {
        const shift = range * 0.1 * Math.sign(event.deltaX || event.deltaY);
        plot.setScale('x', { min: min + shift, max: max + shift });
        return;
      }
      const at = plot.posToVal(event.offsetX, 'x');
      const factor = event.deltaY < 0 ? 0.8 : 1.25;
      plot.setScale('x', { min: at - (at - min) * factor, max: at + (max - at) * factor });
    }, { passive: false });
  }

  /**
   * A chart in `container`. spec: {title, series: [{label, x: Float64Array (seconds), y:
   * Float64Array}], bands: [{state, x0, x1, start, end, title, alertId}], thresholds:
   * [{value, title}], markers: [{kind, x, at, title}], group, zoom: {min, max} or null, width,
   * height}.
   */
  function chart(container, spec) {
    const box = el('div', { class: 'chart', 'data-metric': spec.title });
    container.append(box);
    box.append(el('h3', { text: spec.title }));
    const thresholds = spec.thresholds || [];
    let pinned = spec.zoom || null;
    const data = align(spec.series);
    // A container not yet in the document has no width: take the page's.
    const room = container.clientWidth || document.getElementById('page').clientWidth - 64;
    const width = spec.width || Math.max(320, room - 32);
    const options = {
      // Times in UTC, as the API writes them and the tables show them.
      tzDate: (seconds) => uPlot.tzDate(new Date(seconds * 1000), 'Etc/UTC'),
      width: width,
      height: spec.height || 240,
      cursor: { sync: { key: 'modelwatch' }, drag: { x: true, y: false } },
      scales: {
        // The first range is the one kept from the charts this one replaces (`spec.zoom`).
        x: { time: true, range: (_plot, min, max) => {
          const first = pinned;
          pinned = null;
          return first ? [first.min, first.max] : [min, max];
        } },
        y: {
          range: (_plot, min, max) => {
            let low = min, high = max;
            for (const t of thresholds) { low = Math.min(low, t.value); high = Math.max(high, t.value); }
            if (low === null || !Number.isFinite(low)) return [0, 1];
            const pad = (high - low) * 0.05 || Math.abs(high) * 0.05 || 1;
            return [low - pad, high + pad];
          },
        },
      },
      series: [{ label: 'time', value: (_plot, v) => v === null ? '' : MW.ui.time(new Date(v * 1000).toISOString()) }]
        .concat(spec.series.map((s, i) => ({
          label: s.label, stroke: i < PALETTE.length ? PALETTE[i] : 'hsl(' + (i * 137) % 360 + ', 65%, 42%)', width: 1.5, spanGaps: true,
          points: { show: false },
        }))),
      hooks: {
        draw: [(plot) => place(plot, overlay)],
        setScale: [(plot, key) => { if (key === 'x' && spec.group) spec.group.scaled(plot); }],
      },
    };
    const overlay = { bands: [], thresholds: [], markers: [] };
    const plot = new uPlot(options, data, box);
    box.plot = plot; // for the browser tests: the chart's scales and data
    for (const band of spec.bands || []) {
      const node = el('div', {
        class: 'band band-' + band.state, title: band.title, 'data-state': band.state,
        'data-start': band.start, 'data-end': band.end || '', 'data-alert-id': band.alertId,
        'data-x0': band.x0, 'data-x1': band.x1,
      });
      overlay.bands.push(node);
      plot.over.append(node);
    }
    for (const threshold of thresholds) {
      const node = el('div', { class: 'threshold', title: threshold.title, 'data-value': threshold.value });
      overlay.thresholds.push(node);
      plot.over.append(node);
    }
    for (const marker of spec.markers || []) {
      const node = el('div', { class: 'marker marker-' + marker.kind, title: marker.title,
        'data-kind': marker.kind, 'data-at': marker.at, 'data-x': marker.x });
      overlay.markers.push(node);
      plot.over.append(node);
    }
    place(plot, overlay);
    wheel(plot);
    if (spec.group) spec.group.add(plot);
    return plot;
  }

  /** New points of a chart's series (the same series): the lines and the open alert periods
   * grow; a zoomed range stays. */
  function update(plot, series, within) {
    const data = align(series);
    const xs = data[0];
    const last = xs.length ? xs[xs.length - 1] : 0;
    for (const node of plot.over.querySelectorAll('.band')) {
      if (node.dataset.end === '') node.dataset.x1 = Math.max(Number(node.dataset.x0), last);
    }
    const zoomed = within && within.zoomed();
    plot.setData(data, !zoomed);
  }

  /** The keys that explain the overlay's colours. */
  function keys() {
    return el('div', { class: 'legend-keys' },
      el('span', { class: 'key-firing', text: 'firing' }), el('span', { class: 'key-pending', text: 'pending' }),
      el('span', { class: 'key-threshold', text: 'rule threshold' }),
      el('span', { class: 'key-decision', text: 'retrain decision' }),
      el('span', { class: 'key-job_start', text: 'job start' }), el('span', { class: 'key-job_end', text: 'job end' }),
      el('span', { class: 'key-registry', text: 'registry change' }),
      el('span', { class: 'key-canary', text: 'canary verdict' }),
      el('span', { class: 'muted', text: 'drag or wheel: zoom · shift+wheel: pan · double-click: reset' }));
  }

  MW.chart = { chart: chart, group: group, keys: keys, align: align, update: update };
})(window.MW = window.MW || {});

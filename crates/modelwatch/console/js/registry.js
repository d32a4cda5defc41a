// The Registry page: every model's versions and their status, promote and roll-back buttons (behind a confirmation) only for a token with the admin scope, and canary verdicts with their numbers.
(function (MW) {
  'use strict';
  const { el, time, num, badge, modelLink } = MW.ui;
  MW.pages = MW.pages || {};

  /** Asks before a change; resolves true when confirmed. A <dialog>, not window.confirm, so
   * that it shows what happens and can be driven like the rest of the page. */
  function confirmChange(text, action) {
    return new Promise((resolve) => {
      const dialog = el('dialog', { class: 'confirm', 'data-confirm': action });
      const done = (answer) => { dialog.close(); dialog.remove(); resolve(answer); };
      dialog.append(el('p', { text: text }),
        el('div', { class: 'toolbar' },
          el('button', { type: 'button', class: 'danger', 'data-answer': 'yes', text: action, onclick: () => done(true) }),
          el('button', { type: 'button', 'data-answer': 'no', text: 'Cancel', onclick: () => done(false) })));
      document.body.append(dialog);
      dialog.showModal();
    });
  }

  /** What each change does, in words, and which statuses it applies to. */
  const CHANGES = {
    promote: { from: ['candidate', 'archived'], says: (m, v) => 'Promote ' + m + ' ' + v + ' to production? The production version before it is archived.' },
    rollback: { from: ['candidate', 'production'], says: (m, v) => 'Roll back ' + m + ' ' + v + '? It is marked rolled_back; if it was production, the newest archived version is production again.' },
  };

  function versionTable(model, versions, ctx, redraw, status) {
    const columns = [
      { title: 'version', cell: (v) => el('code', { text: v.version }) },
      { title: 'status', cell: (v) => badge(v.status) },
      { title: 'source', cell: (v) => v.source + (v.job_id ? ' (job ' + v.job_id.slice(0, 8) + ')' : '') },
      { title: 'created', cell: (v) => time(v.created_at) }, { title: 'updated', cell: (v) => time(v.updated_at) },
    ];
    if (ctx.admin) {
      columns.push({ title: 'change', cell: (v) => Object.keys(CHANGES)
        .filter((change) => CHANGES[change].from.includes(v.status))
        .map((change) => el('button', { type: 'button', class: 'change', 'data-change': change, 'data-version': v.version,
          text: change === 'promote' ? 'Promote' : 'Roll back',
          onclick: async () => {
            if (!await confirmChange(CHANGES[change].says(model, v.version), change === 'promote' ? 'Promote' : 'Roll back')) return;
            try {
              await MW.source.post('/v1/models/' + encodeURIComponent(model) + '/versions/' + encodeURIComponent(v.version) + '/' + change);
              status.replaceChildren(el('span', { 'data-done': change, text: change + ' of ' + v.version + ' done' }));
            } catch (error) {
              status.replaceChildren(MW.ui.failure(error));
            }
            await redraw();
          } })) });
    }
    return MW.ui.table(columns, versions, { class: 'versions', 'data-model': model });
  }

  /** The numbers of a canary judgement (GET /v1/canary/{model}). */
  function judgement(verdict) {
    const j = verdict.judgement || {};
    const interval = j.interval ? num(j.interval[0]) + ' .. ' + num(j.interval[1]) : '–';
    return el('div', { class: 'card verdict', 'data-verdict': verdict.verdict },
      el('p', {}, badge(verdict.verdict), ' ', verdict.message),
      el('dl', { class: 'kv' },
        el('dt', { text: 'candidate median' }), el('dd', { text: num(j.candidate_median) + ' over ' + num(j.candidate_count) + ' samples' }),
        el('dt', { text: 'baseline median' }), el('dd', { text: num(j.baseline_median) + ' over ' + num(j.baseline_count) + ' samples' }),
        el('dt', { text: 'shift' }), el('dd', { text: num(j.estimate) + ' (allowed ' + num(j.allowed_shift) + ')' }),
        el('dt', { text: (j.confidence ? Math.round(j.confidence * 100) + '% ' : '') + 'interval' }), el('dd', { text: interval }),
        el('dt', { text: 'p-value' }), el('dd', { text: num(j.p_value) })));
  }

  /** A form that asks serve for a verdict now, with a canary rule or explicit sides. */
  function canaryForm(model, versions, metrics) {
    const production = versions.find((v) => v.status === 'production');
    const candidate = versions.find((v) => v.status === 'candidate');
    const result = el('div');
    const field = (name, label, value) => el('label', {}, label + ' ', el('input', { name: name, value: value || '', 'aria-label': label }));
    const form = el('form', { class: 'toolbar' },
      field('rule', 'rule', ''), field('metric', 'metric', metrics[0] || ''),
      field('candidate', 'candidate', candidate ? 'version=' + candidate.version : ''),
      field('baseline', 'baseline', production ? 'version=' + production.version : ''),
      el('button', { type: 'submit', text: 'Judge now' }));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const query = {};
      for (const [name, value] of new FormData(form)) query[name] = value;
      if (query.rule) { delete query.candidate; delete query.baseline; if (!form.metric.value) delete query.metric; }
      try {
        result.replaceChildren(judgement(await MW.source.get(MW.api.path('/v1/canary/' + encodeURIComponent(model), query))));
      } catch (error) {
        result.replaceChildren(MW.ui.failure(error));
      }
    });
    return el('div', {}, el('h3', { text: 'Canary verdict now' }), form, result);
  }

  async function section(model, ctx) {
    const box = el('section', { class: 'card', 'data-registry': model });
    const status = el('div', { class: 'status' });
    const draw = async () => {
      const versions = (await MW.source.get('/v1/models/' + encodeURIComponent(model) + '/versions')).versions;
      const audit = await MW.api.all('/v1/audit', { model: model }, 'items', 1000);
      let metrics = [];
      try { metrics = MW.model.metricsOf(await MW.source.get('/v1/models/' + encodeURIComponent(model))); } catch (_) { /* no points */ }
      const canary = audit.filter((entry) => entry.actor === 'canary');
      box.replaceChildren(el('h2', {}, modelLink(model)), status,
        versions.length ? versionTable(model, versions, ctx, draw, status) : el('p', { class: 'muted', text: 'No version registered yet.' }),
        el('h3', { text: 'Verdicts the canary acted on' }),
        canary.length ? MW.ui.table([{ title: 'at', cell: (e) => time(e.at) }, { title: 'change', cell: (e) => badge(e.action) },
          { title: 'version', cell: (e) => e.version || '' }, { title: 'verdict and numbers', cell: (e) => e.detail }], canary)
          : el('p', { class: 'muted', text: 'No canary verdict has changed this model\'s registry.' }),
        MW.source.live ? canaryForm(model, versions, metrics) : null);
    };
    await draw();
    return { box: box, draw: draw };
  }

  MW.pages.registry = {
    title: 'Registry',
    async render(view, args, _params, ctx) {
      view.append(el('h1', { text: 'Registry' }));
      if (MW.source.live && !ctx.admin) {
        view.append(el('p', { class: 'muted', 'data-readonly': '', text: 'Promote and roll back need a token with the admin scope; this one can only read.' }));
      }
      const names = args[0] ? [args[0]] : (await MW.api.all('/v1/models', {})).map((model) => model.name);
      if (names.length === 0) { view.append(MW.ui.empty('models')); return null; }
      const sections = [];
      for (const name of names) {
        const made = await section(name, ctx);
        sections.push(made);
        view.append(made.box);
      }
      return null;
    },
  };
})(window.MW = window.MW || {});

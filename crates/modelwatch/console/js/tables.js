// The listing pages, newest first with "load more" along each listing's cursor: Alerts (state filter, explanation, muted_by), Decisions, Jobs (with one job's attempts), Deliveries and the Audit log.
(function (MW) {
  'use strict';
  const { el, time, badge, modelLink, link, empty } = MW.ui;
  MW.pages = MW.pages || {};

  /** A page of one listing: `spec` = {title, route, what, filters: [{name, label, options?}],
   * columns, detail?(params, ctx)}. Filters live in the hash's query, so a filtered view is a link. */
  function listing(spec) {
    return {
      title: spec.title,
      async render(view, _args, params, ctx) {
        view.append(el('h1', { text: spec.title }));
        if (spec.detail && params.get('id')) view.append(await spec.detail(params.get('id'), ctx));
        const query = {};
        const toolbar = el('form', { class: 'toolbar' });
        for (const filter of spec.filters) {
          const value = params.get(filter.name) || '';
          query[filter.name] = value;
          const input = filter.options
            ? el('select', { name: filter.name, 'aria-label': filter.label },
              [''].concat(filter.options).map((option) => el('option', { value: option, text: option || 'any ' + filter.label, selected: option === value })))
            : el('input', { name: filter.name, placeholder: filter.label, value: value, 'aria-label': filter.label });
          toolbar.append(input);
        }
        toolbar.append(el('button', { type: 'submit', text: 'Filter' }));
        toolbar.addEventListener('submit', (event) => {
          event.preventDefault();
          const next = new URLSearchParams();
          for (const [name, value] of new FormData(toolbar)) if (value) next.set(name, value);
          location.hash = '#/' + spec.name + (next.toString() ? '?' + next : '');
        });
        if (spec.filters.length) view.append(toolbar);
        const holder = el('div');
        const more = el('button', { type: 'button', text: 'Load more', hidden: true });
        view.append(holder, more);
        let rows = [];
        let next = null;
        let pages = 0;
        const fetchPage = async (after) => MW.source.get(MW.api.path(spec.route, Object.assign({}, query, { limit: 100, after: after })));
        const draw = () => {
          holder.replaceChildren(rows.length ? MW.ui.table(spec.columns, rows, { class: 'listing', 'data-listing': spec.name }) : empty(spec.what));
          more.hidden = next === null || next === undefined;
        };
        const first = await fetchPage(null);
        rows = first.items;
        next = first.next;
        pages = 1;
        draw();
        more.addEventListener('click', async () => {
          const page = await fetchPage(next);
          rows = rows.concat(page.items);
          next = page.next;
          pages++;
          draw();
        });
        return async () => {
          if (pages > 1) return;
          const page = await fetchPage(null);
          if (JSON.stringify(page.items) === JSON.stringify(rows)) return;
          rows = page.items;
          next = page.next;
          draw();
        };
      },
    };
  }

  const alertColumns = [
    { title: 'at', cell: (a) => time(a.at) }, { title: 'state', cell: (a) => badge(a.state) },
    { title: 'model', cell: (a) => modelLink(a.model.name) },
    { title: 'series', cell: (a) => a.model.version + '/' + a.model.instance },
    { title: 'rule', cell: (a) => a.rule + ' (' + a.severity + ')' }, { title: 'metric', cell: (a) => a.metric },
    { title: 'explanation', cell: (a) => el('span', { title: MW.model.explain(a), text: a.message }) },
    { title: 'muted by', cell: (a) => a.muted_by ? link('#/jobs?id=' + a.muted_by, a.muted_by.slice(0, 8)) : '' },
  ];

  MW.pages.alerts = listing({
    name: 'alerts', title: 'Alerts', route: '/v1/alerts', what: 'alert transitions',
    filters: [{ name: 'state', label: 'state', options: ['pending', 'firing', 'resolved', 'inactive', 'drift', 'warning'] },
      { name: 'model', label: 'model' }],
    columns: alertColumns,
  });

  MW.pages.decisions = listing({
    name: 'decisions', title: 'Retrain decisions', route: '/v1/decisions', what: 'retrain decisions',
    filters: [{ name: 'model', label: 'model' }],
    columns: [
      { title: 'at', cell: (d) => time(d.at) }, { title: 'model', cell: (d) => modelLink(d.model) },
      { title: 'decision', cell: (d) => badge(d.decision) }, { title: 'reason', cell: (d) => d.reason },
      { title: 'rule', cell: (d) => d.rule || 'manual' },
      { title: 'job', cell: (d) => d.job_id ? link('#/jobs?id=' + d.job_id, d.job_id.slice(0, 8)) : '' },
      { title: 'message', cell: (d) => d.message },
    ],
  });

  /** One job with its attempts (GET /v1/jobs/{id}). */
  async function jobDetail(id) {
    const job = await MW.source.get('/v1/jobs/' + encodeURIComponent(id));
    const attempts = job.attempt_log || [];
    return el('div', { class: 'card', 'data-job': job.id },
      el('h2', {}, job.kind + ' job ', el('code', { text: job.id }), ' ', badge(job.state)),
      el('dl', { class: 'kv' },
        el('dt', { text: 'model' }), el('dd', {}, modelLink(job.model), ' ' + (job.version || '') + (job.instance ? '/' + job.instance : '')),
        el('dt', { text: 'reason' }), el('dd', { text: job.reason + ' (cause ' + job.cause.slice(0, 8) + ')' }),
        el('dt', { text: 'backend' }), el('dd', { text: job.backend || '–' }),
        el('dt', { text: 'created' }), el('dd', { text: time(job.created_at) }),
        el('dt', { text: 'finished' }), el('dd', { text: time(job.finished_at) || '–' }),
        el('dt', { text: 'result' }), el('dd', {}, job.result_version ? 'version ' + job.result_version : '–',
          job.result ? el('pre', { text: JSON.stringify(job.result, null, 2) }) : null),
        el('dt', { text: 'error' }), el('dd', { text: job.error || '–' })),
      el('h3', { text: 'Attempts' }),
      attempts.length ? MW.ui.table([
        { title: '#', cell: (a) => a.attempt }, { title: 'started', cell: (a) => time(a.started_at) },
        { title: 'finished', cell: (a) => time(a.finished_at) }, { title: 'outcome', cell: (a) => a.outcome ? badge(a.outcome) : 'running' },
        { title: 'error (the kept log of the attempt)', cell: (a) => a.error ? el('pre', { text: a.error }) : '' },
      ], attempts) : el('p', { class: 'muted', text: 'No attempt yet.' }),
      el('p', { class: 'muted', text: 'The API keeps each attempt\'s outcome and error; a command trainer\'s output is in serve\'s log under the job id.' }));
  }

  MW.pages.jobs = listing({
    name: 'jobs', title: 'Jobs', route: '/v1/jobs', what: 'jobs',
    filters: [{ name: 'state', label: 'state', options: ['queued', 'running', 'succeeded', 'failed', 'timed_out', 'cancelled'] },
      { name: 'kind', label: 'kind', options: ['retrain', 'rollback'] }, { name: 'model', label: 'model' }],
    detail: jobDetail,
    columns: [
      { title: 'created', cell: (j) => time(j.created_at) }, { title: 'job', cell: (j) => link('#/jobs?id=' + j.id, j.id.slice(0, 8)) },
      { title: 'kind', cell: (j) => j.kind }, { title: 'model', cell: (j) => modelLink(j.model) },
      { title: 'state', cell: (j) => badge(j.state) }, { title: 'attempts', cell: (j) => j.attempts },
      { title: 'backend', cell: (j) => j.backend || '' }, { title: 'result', cell: (j) => j.result_version || j.error || '' },
    ],
  });

  MW.pages.deliveries = listing({
    name: 'deliveries', title: 'Deliveries', route: '/v1/deliveries', what: 'notifications',
    filters: [{ name: 'state', label: 'state', options: ['pending', 'delivered', 'given_up', 'skipped'] },
      { name: 'notifier', label: 'notifier' }],
    columns: [
      { title: 'created', cell: (d) => time(d.created_at) }, { title: 'notifier', cell: (d) => d.notifier },
      { title: 'state', cell: (d) => badge(d.state) }, { title: 'attempts', cell: (d) => d.attempts },
      { title: 'last attempt', cell: (d) => time(d.last_attempt_at) }, { title: 'last error', cell: (d) => d.last_error || '' },
      { title: 'output', cell: (d) => el('code', { text: d.output_id.slice(0, 8) }) },
    ],
  });

  MW.pages.audit = listing({
    name: 'audit', title: 'Audit log', route: '/v1/audit', what: 'changes',
    filters: [{ name: 'model', label: 'model' }],
    columns: [
      { title: 'at', cell: (a) => time(a.at) }, { title: 'actor', cell: (a) => a.actor },
      { title: 'action', cell: (a) => badge(a.action) }, { title: 'model', cell: (a) => modelLink(a.model) },
      { title: 'version', cell: (a) => a.version || '' },
      { title: 'job', cell: (a) => a.job_id ? link('#/jobs?id=' + a.job_id, a.job_id.slice(0, 8)) : '' },
      { title: 'detail', cell: (a) => a.detail },
    ],
  });
})(window.MW = window.MW || {});

// The Overview page: every model with its versions and instances, firing and pending alerts, latest values, production and candidate versions, running jobs and the last canary verdict; search and filter, refreshed in place.
(function (MW) {
  'use strict';
  const { el, time, num, badge, modelLink, empty } = MW.ui;
  MW.pages = MW.pages || {};

  /** Everything the overview shows, read from the API. */
  async function load() {
    const models = await MW.api.all('/v1/models', {});
    const running = await MW.api.all('/v1/jobs', { state: 'running' });
    const audit = await MW.api.all('/v1/audit', {}, 'items', 1000);
    const registries = {};
    for (const model of models) {
      try {
        registries[model.name] = (await MW.source.get(
          '/v1/models/' + encodeURIComponent(model.name) + '/versions')).versions;
      } catch (error) {
        if (error.kind !== 'not_found' && error.kind !== 'missing') throw error;
        registries[model.name] = [];
      }
    }
    return { models: models, running: running, audit: audit, registries: registries };
  }

  /** The newest change the canary made to this model's registry (actor `canary`), if any. */
  function lastCanary(audit, name) {
    return audit.find((entry) => entry.model === name && entry.actor === 'canary') || null;
  }

  function card(model, data) {
    const firing = model.alerts.filter((alert) => alert.state === 'firing');
    const pending = model.alerts.filter((alert) => alert.state === 'pending');
    const versions = data.registries[model.name] || [];
    const production = versions.filter((v) => v.status === 'production').map((v) => v.version);
    const candidates = versions.filter((v) => v.status === 'candidate').map((v) => v.version);
    const jobs = data.running.filter((job) => job.model === model.name);
    const canary = lastCanary(data.audit, model.name);
    const latest = model.latest.slice().sort((a, b) => a.metric.localeCompare(b.metric) ||
      a.version.localeCompare(b.version) || a.instance.localeCompare(b.instance));
    return el('article', { class: 'card model', 'data-model': model.name,
      'data-firing': firing.length, 'data-pending': pending.length },
    el('h2', {}, modelLink(model.name), ' ',
      firing.length ? badge('firing') : null, pending.length ? badge('pending') : null),
    el('dl', { class: 'kv' },
      el('dt', { text: 'versions' }), el('dd', { text: model.versions.join(', ') }),
      el('dt', { text: 'instances' }), el('dd', { text: model.instances.map((i) => i.version + '/' + i.instance).join(', ') }),
      el('dt', { text: 'production' }), el('dd', { text: production.join(', ') || '–' }),
      el('dt', { text: 'candidate' }), el('dd', { text: candidates.join(', ') || '–' }),
      el('dt', { text: 'alerts' }), el('dd', {},
        firing.length + ' firing, ' + pending.length + ' pending',
        ...model.alerts.slice(0, 5).map((alert) => el('div', { class: 'muted', title: alert.message },
          badge(alert.state), ' ', alert.rule + ' on ' + alert.metric + ' (' +
          alert.model.version + '/' + alert.model.instance + ')')),
        model.alerts.length > 5 ? el('div', {}, MW.ui.link('#/alerts?model=' + encodeURIComponent(model.name),
          (model.alerts.length - 5) + ' more')) : null),
      el('dt', { text: 'running jobs' }), el('dd', {}, jobs.length
        ? jobs.map((job) => el('div', {}, MW.ui.link('#/jobs?id=' + job.id, job.kind + ' ' + job.id.slice(0, 8)),
          ' since ' + time(job.started_at)))
        : '–'),
      el('dt', { text: 'last canary' }), el('dd', {}, canary
        ? [badge(canary.action), ' ' + canary.detail + ' (' + time(canary.at) + ')']
        : '–'),
      el('dt', { text: 'latest' }), el('dd', {}, el('table', { class: 'latest' }, el('tbody', {},
        latest.map((point) => el('tr', {},
          el('td', { text: point.metric }), el('td', { text: num(point.value), title: time(point.at) }),
          el('td', { class: 'muted', text: point.version + '/' + point.instance }))))))),
    el('p', {}, MW.ui.link('#/model/' + encodeURIComponent(model.name), 'charts'), ' · ',
      MW.ui.link('#/registry/' + encodeURIComponent(model.name), 'registry'), ' · ',
      MW.ui.link('#/alerts?model=' + encodeURIComponent(model.name), 'alerts'), ' · ',
      MW.ui.link('#/quality/' + encodeURIComponent(model.name), 'quality and drift')));
  }

  /** Whether a model passes the search text and the health filter. */
  function shown(model, search, health) {
    const text = (model.name + ' ' + model.versions.join(' ') + ' ' +
      model.instances.map((i) => i.instance).join(' ')).toLowerCase();
    if (search && !text.includes(search.toLowerCase())) return false;
    if (health === 'firing') return model.alerts.some((a) => a.state === 'firing');
    if (health === 'alerting') return model.alerts.length > 0;
    if (health === 'quiet') return model.alerts.length === 0;
    return true;
  }

  MW.pages.overview = {
    title: 'Overview',
    async render(view) {
      const search = el('input', { type: 'search', placeholder: 'search models, versions, instances', 'aria-label': 'search' });
      const health = el('select', { 'aria-label': 'filter' },
        el('option', { value: 'all', text: 'all models' }),
        el('option', { value: 'firing', text: 'firing alerts' }),
        el('option', { value: 'alerting', text: 'firing or pending' }),
        el('option', { value: 'quiet', text: 'no open alert' }));
      const grid = el('div', { class: 'models' });
      const summary = el('span', { class: 'muted' });
      view.append(el('h1', { text: 'Overview' }), el('div', { class: 'toolbar' }, search, health, summary), grid);
      let data = await load();
      const draw = () => {
        if (data.models.length === 0) {
          grid.replaceChildren(empty('models'));
          summary.textContent = '';
          return;
        }
        const models = data.models.filter((model) => shown(model, search.value, health.value));
        const firing = data.models.filter((m) => m.alerts.some((a) => a.state === 'firing')).length;
        summary.textContent = data.models.length + ' models, ' + firing + ' with firing alerts, ' +
          data.running.length + ' running jobs';
        grid.replaceChildren(...(models.length ? models.map((model) => card(model, data))
          : [MW.ui.notice('empty', 'No model matches', 'Clear the search or the filter.')]));
      };
      search.addEventListener('input', draw);
      health.addEventListener('change', draw);
      draw();
      return async () => {
        data = await load();
        draw();
      };
    },
  };
})(window.MW = window.MW || {});

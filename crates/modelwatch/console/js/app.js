// The console's shell: navigation by the location's hash, the token form (kept in sessionStorage only), who the token is (GET /v1/whoami), and the polling that refreshes the page in place with a visible "updated at".
(function (MW) {
  'use strict';
  const { el, failure } = MW.ui;

  /** How often a live page refreshes itself, in milliseconds. */
  const POLL_MS = 5000;

  const NAV = [
    ['overview', '#/', 'Overview'], ['alerts', '#/alerts', 'Alerts'],
    ['decisions', '#/decisions', 'Decisions'], ['jobs', '#/jobs', 'Jobs'],
    ['deliveries', '#/deliveries', 'Deliveries'], ['audit', '#/audit', 'Audit log'],
    ['registry', '#/registry', 'Registry'], ['quality', '#/quality', 'Quality and drift'],
  ];

  const state = { generation: 0, timer: null, refresh: null, who: null };

  /** The page named by the hash (`#/model/NAME?x=1`): its name, path arguments and query. */
  function route() {
    const hash = location.hash.replace(/^#\/?/, '');
    const [pathPart, query] = hash.split('?');
    const parts = pathPart.split('/').filter(Boolean).map(decodeURIComponent);
    return { name: parts[0] || 'overview', args: parts.slice(1), params: new URLSearchParams(query || '') };
  }

  function setUpdated(text, failed) {
    const updated = document.getElementById('updated');
    updated.textContent = text;
    updated.classList.toggle('stale', Boolean(failed));
  }

  /** When the page was last read; a report is never read again, so it shows no time. */
  function stamp() {
    setUpdated(MW.source.live ? 'updated at ' + new Date().toISOString().slice(11, 19) + 'Z' : '');
  }

  /** Who the token is; null when the server does not say (a report, an old server, no token). */
  async function whoami() {
    try {
      return await MW.source.get('/v1/whoami');
    } catch (error) {
      return { error: error };
    }
  }

  function renderToken() {
    const form = document.getElementById('token');
    form.replaceChildren();
    if (!MW.source.live) {
      form.append(el('span', { class: 'muted', text: 'report: data inlined, read-only' }));
      return;
    }
    const who = state.who;
    if (who && !who.error) {
      const name = who.authentication ? who.name : 'no authentication';
      form.append(el('span', { class: 'who', 'data-scopes': who.scopes.join(','),
        text: name + ' (' + who.scopes.join(', ') + ')' }));
    }
    const input = el('input', { type: 'password', name: 'token', placeholder: 'bearer token',
      autocomplete: 'off', 'aria-label': 'bearer token' });
    form.append(input, el('button', { type: 'submit', text: 'Use token' }));
    if (MW.source.hasToken()) {
      form.append(el('button', { type: 'button', text: 'Forget', onclick: () => {
        MW.source.clearToken();
        start();
      } }));
    }
    form.onsubmit = (event) => {
      event.preventDefault();
      if (input.value.trim()) MW.source.setToken(input.value.trim());
      start();
    };
    const needs = who && who.error && (who.error.kind === 'unauthorized' || who.error.kind === 'forbidden');
    form.classList.toggle('needed', Boolean(needs));
  }

  function renderNav(current) {
    const nav = document.getElementById('nav');
    nav.replaceChildren(...NAV.map(([name, hash, title]) =>
      el('a', { href: hash, text: title, class: name === current ? 'current' : '' })));
  }

  /** Renders the page of the hash; a later navigation supersedes it. */
  async function show() {
    const generation = ++state.generation;
    clearTimeout(state.timer);
    state.refresh = null;
    const { name, args, params } = route();
    const page = MW.pages[name] || MW.pages.overview;
    renderNav(MW.pages[name] ? name : 'overview');
    const main = document.getElementById('page');
    const view = el('section', { class: 'view' });
    main.replaceChildren(view);
    main.dataset.page = MW.pages[name] ? name : 'overview';
    main.dataset.state = 'loading';
    document.title = page.title + ' · modelwatch';
    const ctx = {
      admin: MW.source.live && Boolean(state.who && !state.who.error && state.who.scopes.includes('admin')),
      who: state.who,
      current: () => generation === state.generation,
    };
    try {
      const refresh = await page.render(view, args, params, ctx);
      if (generation !== state.generation) return;
      main.dataset.state = 'ready';
      stamp();
      state.refresh = typeof refresh === 'function' ? refresh : null;
    } catch (error) {
      if (generation !== state.generation) return;
      view.replaceChildren(failure(error));
      main.dataset.state = 'error';
      setUpdated('failed at ' + new Date().toISOString().slice(11, 19) + 'Z', true);
      // A server that is down comes back by itself: try the page again.
      if (MW.source.live && error.kind === 'unreachable') state.refresh = () => show();
    }
    schedule(generation);
  }

  function schedule(generation) {
    if (!MW.source.live) return;
    state.timer = setTimeout(async () => {
      if (generation !== state.generation) return;
      if (document.hidden || !state.refresh) return schedule(generation);
      try {
        await state.refresh();
        if (generation === state.generation) stamp();
      } catch (error) {
        if (generation !== state.generation) return;
        setUpdated('not updated: ' + error.message, true);
      }
      if (generation === state.generation) schedule(generation);
    }, POLL_MS);
  }

  async function start() {
    state.who = await whoami();
    renderToken();
    await show();
  }

  window.addEventListener('hashchange', show);
  window.addEventListener('DOMContentLoaded', start);
})(window.MW = window.MW || {});

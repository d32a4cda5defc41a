// The console's one way to its data: MW.source.get(path) answers the parsed JSON of a GET of the public HTTP API (live: fetch with the tab's bearer token; a report: a map of path to answer inlined in the page).
(function (MW) {
  'use strict';

  const TOKEN_KEY = 'modelwatch.token';

  /** Why a read failed: kind is unauthorized (401), forbidden (403, with the scope), not_found,
   * unreachable (no answer), missing (a report without this path) or http (any other status). */
  class ApiError extends Error {
    constructor(kind, message, details) {
      super(message);
      this.kind = kind;
      this.status = (details && details.status) || 0;
      this.scope = (details && details.scope) || null;
      this.path = (details && details.path) || '';
    }
  }

  /** The scope a 403's message names (`... lacks the read scope`), else `fallback`. */
  function scopeOf(message, fallback) {
    const found = /\b(ingest|read|admin)\b/.exec(message || '');
    return found ? found[1] : fallback;
  }

  async function errorOf(response, path, scope) {
    let message = response.statusText;
    try {
      const body = await response.json();
      if (body && typeof body.error === 'string') message = body.error;
    } catch (_) { /* not JSON: keep the status text */ }
    const details = { status: response.status, path: path };
    if (response.status === 401) return new ApiError('unauthorized', message, details);
    if (response.status === 403) {
      details.scope = scopeOf(message, scope);
      return new ApiError('forbidden', message, details);
    }
    if (response.status === 404) return new ApiError('not_found', message, details);
    return new ApiError('http', response.status + ': ' + message, details);
  }

  /** The live console: reads and writes serve's API on this origin, with the tab's token. */
  function live() {
    const headers = () => {
      const token = sessionStorage.getItem(TOKEN_KEY);
      const h = { accept: 'application/json' };
      if (token) h.authorization = 'Bearer ' + token;
      return h;
    };
    const send = async (method, path, scope) => {
      let response;
      try {
        response = await fetch(path, { method: method, headers: headers(), cache: 'no-store' });
      } catch (error) {
        throw new ApiError('unreachable', 'serve did not answer at ' + location.origin +
          ' (' + error.message + ')', { path: path });
      }
      if (!response.ok) throw await errorOf(response, path, scope);
      return response.status === 204 ? null : response.json();
    };
    return {
      live: true,
      get: (path) => send('GET', path, 'read'),
      post: (path) => send('POST', path, 'admin'),
      hasToken: () => Boolean(sessionStorage.getItem(TOKEN_KEY)),
      setToken: (token) => sessionStorage.setItem(TOKEN_KEY, token),
      clearToken: () => sessionStorage.removeItem(TOKEN_KEY),
    };
  }

  /** A path without its paging (`limit`, `after`), the other parameters sorted by name: the
   * key of a report's answers. */
  function canonical(path) {
    const [route, query] = path.split('?');
    const params = new URLSearchParams(query || '');
    params.delete('limit');
    params.delete('after');
    params.sort();
    const rest = params.toString();
    return rest ? route + '?' + rest : route;
  }

  /** A report: every answer inlined in `element` as a JSON object whose keys are API paths
   * without paging (see `canonical`) and whose values are the answers, a listing's with all its
   * items and `"next": null`. */
  function inlined(element) {
    const answers = JSON.parse(element.textContent);
    return {
      live: false,
      get: async (path) => {
        const key = canonical(path);
        if (Object.prototype.hasOwnProperty.call(answers, key)) return answers[key];
        throw new ApiError('missing', 'this report holds no answer for ' + key, { path: path });
      },
      post: async (path) => {
        throw new ApiError('missing', 'a report is read-only: ' + path + ' needs a live server',
          { path: path });
      },
      hasToken: () => false,
      setToken: () => {},
      clearToken: () => {},
    };
  }

  /** `route` with the query `params` (absent and empty values left out, names in order). */
  function path(route, params) {
    const query = Object.keys(params || {})
      .filter((name) => params[name] !== undefined && params[name] !== null && params[name] !== '')
      .sort()
      .map((name) => encodeURIComponent(name) + '=' + encodeURIComponent(params[name]))
      .join('&');
    return query ? route + '?' + query : route;
  }

  /** Every element of a listing's `key` (`items`; `points` for /v1/series), following its
   * cursor `next` up to `most` of them. A report answers a listing's first page with all of
   * them and `next: null`. */
  async function all(route, params, key, most) {
    const field = key || 'items';
    const bound = most || 1000000;
    const items = [];
    let after = null;
    for (;;) {
      const query = Object.assign({}, params, { limit: 1000, after: after });
      const page = await MW.source.get(path(route, query));
      const found = page[field] || [];
      for (let i = 0; i < found.length; i++) items.push(found[i]);
      if (page.next === null || page.next === undefined || items.length >= bound) return items;
      after = page.next;
    }
  }

  const data = document.getElementById('modelwatch-data');
  MW.ApiError = ApiError;
  MW.source = data ? inlined(data) : live();
  MW.api = { path: path, all: all, canonical: canonical };
})(window.MW = window.MW || {});

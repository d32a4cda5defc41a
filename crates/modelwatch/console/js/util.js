// Small helpers every page shares: building DOM nodes, formatting times and numbers, tables, and the empty and error states that say what to do.
(function (MW) {
  'use strict';

  /** An element: `attrs` sets properties (class, text, on*: listeners, data-*: attributes). */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (name === 'class') node.className = value;
      else if (name === 'text') node.textContent = value;
      else if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
      else if (name.startsWith('data-') || name.startsWith('aria-') || name === 'role' ||
        name === 'for' || name === 'title' || name === 'href' || name === 'type' ||
        name === 'placeholder' || name === 'value' || name === 'name' || name === 'autocomplete')
        node.setAttribute(name, value === true ? '' : String(value));
      else node[name] = value;
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  /** An RFC 3339 time as `2026-11-23 12:00:00Z` (UTC, the API's times). */
  function time(at) {
    if (!at) return '';
    const date = new Date(at);
    if (Number.isNaN(date.getTime())) return String(at);
    return date.toISOString().replace('T', ' ').replace(/\.000Z$/, 'Z');
  }

  /** Seconds since the epoch of an RFC 3339 time (uPlot's x unit). */
  function seconds(at) {
    return Date.parse(at) / 1000;
  }

  /** A number with at most 6 significant digits; `null` as a dash. */
  function num(value) {
    if (value === null || value === undefined) return '–';
    if (typeof value !== 'number') return String(value);
    if (Number.isInteger(value)) return String(value);
    return String(Number(value.toPrecision(6)));
  }

  /** A link to a page of the console. */
  function link(hash, text) {
    return el('a', { href: hash, text: text });
  }

  function modelLink(name) {
    return link('#/model/' + encodeURIComponent(name), name);
  }

  /** A badge of an alert state, verdict or status. */
  function badge(text) {
    return el('span', { class: 'badge badge-' + String(text).replace(/[^a-z_]/g, ''), text: text });
  }

  /** A table of `rows` with `columns`: [{title, cell: row => node or text}]. */
  function table(columns, rows, attrs) {
    return el('table', attrs || {},
      el('thead', {}, el('tr', {}, columns.map((column) => el('th', { text: column.title })))),
      el('tbody', {}, rows.map((row) => el('tr', {},
        columns.map((column) => el('td', {}, column.cell(row)))))));
  }

  /** A state in place of a page's content: what happened and what to do. */
  function notice(kind, title, ...what) {
    return el('div', { class: 'notice notice-' + kind, role: 'status', 'data-notice': kind },
      el('h2', { text: title }), el('p', {}, ...what));
  }

  /** The empty state: no data yet, and how data comes. */
  function empty(what) {
    return notice('empty', 'No ' + what + ' yet',
      'Nothing is stored yet. Model servers send events to ', el('code', { text: 'POST /v1/events' }),
      ' (docs/events.md); this page updates by itself.');
  }

  /** The state for a failed read, saying what to do. */
  function failure(error) {
    if (!(error instanceof MW.ApiError)) {
      return notice('error', 'This page failed', String(error && error.message || error));
    }
    switch (error.kind) {
      case 'unauthorized':
        return notice('auth', 'A token is needed',
          'serve checks bearer tokens: enter a token with the ', el('code', { text: 'read' }),
          ' scope above (it is kept in this tab only). ', error.message);
      case 'forbidden':
        return notice('auth', 'The token lacks the ' + (error.scope || 'read') + ' scope',
          'Enter a token with the ', el('code', { text: error.scope || 'read' }),
          ' scope above (serve --token-env NAME:' + (error.scope || 'read') + ').');
      case 'unreachable':
        return notice('unreachable', 'serve is unreachable',
          error.message + '. Is modelwatch serve running? The console tries again by itself.');
      case 'missing':
        return notice('empty', 'Not in this report', error.message + '.');
      case 'not_found':
        return notice('empty', 'Not found', error.message);
      default:
        return notice('error', 'serve answered an error', error.message);
    }
  }

  /** The value of a query parameter of the page's hash (`#/alerts?state=firing`). */
  function param(params, name) {
    return params && params.get(name) || '';
  }

  MW.ui = {
    el: el, time: time, seconds: seconds, num: num, link: link, modelLink: modelLink,
    badge: badge, table: table, notice: notice, empty: empty, failure: failure, param: param,
  };
})(window.MW = window.MW || {});

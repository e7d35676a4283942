// Small building blocks the pages share: status chips, times, durations, links, tables.

import { h } from './dom.js';
import {
  formatAgo,
  formatDateTime,
  formatDuration,
  runDuration,
  statusKey,
  statusLabel,
} from './format.js';
import { explain } from './api.js';

/** A status as text and colour (and the text alone is enough). */
export function statusChip(status) {
  const key = statusKey(status);
  return h('span', { class: `chip chip-${key}`, dataset: { status: key } }, statusLabel(status));
}

/** A point in time in the browser's zone, with the exact UTC value on hover and for machines. */
export function time(iso, { seconds = false, ago = false } = {}) {
  if (!iso) return h('span', { class: 'muted' }, '—');
  const text = ago ? formatAgo(iso) : formatDateTime(iso, { seconds });
  return h('time', { datetime: iso, title: iso }, text);
}

/**
 * How long a run took; for a running run, how long so far, kept current by the page's ticker
 * (every element with data-since).
 */
export function duration(run) {
  const text = formatDuration(runDuration(run));
  if (run.status === 'running' && run.startDateTime) {
    return h('span', { class: 'ticking', dataset: { since: run.startDateTime } }, text);
  }
  return h('span', {}, text);
}

/** Refresh every running duration on the page. */
export function tick(root = document) {
  const now = Date.now();
  for (const element of root.querySelectorAll('[data-since]')) {
    element.textContent = formatDuration(now - new Date(element.dataset.since).getTime());
  }
}

export function runHref(id) {
  return `#/runs/${encodeURIComponent(id)}`;
}

export function processHref(id) {
  return `#/processes/${encodeURIComponent(id)}`;
}

export function datasetHref(id) {
  return `#/datasets/${encodeURIComponent(id)}`;
}

export function runLink(run) {
  return h('a', { href: runHref(run.id) }, run.displayName || run.id);
}

/** A link to a run's process, or a dash when it has none (run groups, unlinked runs). */
export function processLink(process) {
  if (!process) return h('span', { class: 'muted' }, '—');
  return h('a', { href: processHref(process.id) }, process.displayName || process.id);
}

/** A link to a dataset (by its name), or a dash when there is none. */
export function datasetLink(dataset) {
  if (!dataset) return h('span', { class: 'muted' }, '—');
  return h('a', { href: datasetHref(dataset.id) }, dataset.name || dataset.id);
}

/**
 * A table. columns: [{label, cell(row) → node or text, numeric?, heading?, ariaSort?}]; heading
 * (a node, such as a sort button) replaces the label in the header, ariaSort marks the column the
 * rows are sorted by. On narrow screens each row becomes a card whose cells carry their column
 * label (data-label).
 */
export function table({ caption, columns, rows, rowAttributes, className = '' }) {
  const head = h(
    'thead',
    {},
    h(
      'tr',
      {},
      columns.map((c) =>
        h('th', { scope: 'col', 'aria-sort': c.ariaSort ?? null }, c.heading ?? c.label),
      ),
    ),
  );
  const body = h(
    'tbody',
    {},
    rows.map((row) =>
      h(
        'tr',
        rowAttributes ? rowAttributes(row) : {},
        columns.map((c) =>
          h('td', { 'data-label': c.label, class: c.numeric ? 'numeric' : null }, c.cell(row)),
        ),
      ),
    ),
  );
  return h(
    'div',
    { class: 'table-wrap' },
    h('table', { class: className }, caption ? h('caption', {}, caption) : null, head, body),
  );
}

/** A definition list from [term, value] pairs; pairs with a null value are left out. */
export function properties(pairs) {
  return h(
    'dl',
    { class: 'properties' },
    pairs
      .filter(([, value]) => value !== null && value !== undefined)
      .map(([term, value]) => h('div', {}, h('dt', {}, term), h('dd', {}, value))),
  );
}

/** A titled section; `id` names it for aria-labelledby. */
export function section(id, title, ...children) {
  return h(
    'section',
    { class: 'panel', 'aria-labelledby': id },
    h('h2', { id }, title),
    ...children,
  );
}

export function empty(text) {
  return h('p', { class: 'empty' }, text);
}

export function loading(text = 'Loading…') {
  return h('p', { class: 'loading', role: 'status' }, text);
}

/** Pretty JSON in a disclosure. */
export function rawJson(summary, value) {
  return h(
    'details',
    { class: 'raw' },
    h('summary', {}, summary),
    h('pre', { tabindex: '0' }, JSON.stringify(value, null, 2)),
  );
}

/** A failed request, said in words, with the Graph error code; announced as an alert. */
export function problem(error) {
  return h(
    'p',
    { class: 'problem', role: 'alert' },
    explain(error),
    ' ',
    h('span', { class: 'error-code' }, `(${error.code})`),
  );
}

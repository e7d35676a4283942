// The runs table: filters and the order kept in the address (so a view can be shared), 50 runs a
// page with the total ($count=true), Next following the server's @odata.nextLink.

import { h, replace } from '../dom.js';
import * as api from '../api.js';
import {
  duration,
  empty,
  loading,
  processLink,
  runLink,
  statusChip,
  table,
  time,
} from '../components.js';
import { addDays, formatNumber, statusLabel, typeLabel } from '../format.js';
import { pageRange, pager } from '../pager.js';
import { runsHref } from '../router.js';

const PAGE_SIZE = 50;
const PROCESS_PAGES = 5;
const PROCESS = 'process($select=id,displayName)';
const STATUS_CHOICES = [
  'running',
  'failed',
  'completedWithErrors',
  'completedWithWarnings',
  'completed',
];
const TYPE_CHOICES = [
  ['', 'All types'],
  ['outgoingFlowRun', 'Outgoing flow runs'],
  ['incomingFlowRun', 'Incoming flow runs'],
  ['runGroup', 'Run groups'],
];
const DAY = /^\d{4}-\d{2}-\d{2}$/;
// The orders a person may choose: [address value, label, column, aria-sort, $orderby]. Every
// order but the first breaks ties newest first, so runs with equal keys keep a sensible order.
const SORTS = [
  ['', 'Newest first', 'started', 'descending', 'startDateTime desc'],
  ['oldest', 'Oldest first', 'started', 'ascending', 'startDateTime asc'],
  ['name', 'Name, A to Z', 'name', 'ascending', 'displayName asc'],
  ['name-desc', 'Name, Z to A', 'name', 'descending', 'displayName desc'],
  ['status', 'Status, running first', 'status', 'ascending', 'status asc'],
  ['status-desc', 'Status, running last', 'status', 'descending', 'status desc'],
  ['longest', 'Longest first', 'duration', 'descending', 'endDateTime sub startDateTime desc'],
  ['shortest', 'Shortest first', 'duration', 'ascending', 'endDateTime sub startDateTime asc'],
  ['errors', 'Most errors first', 'errors', 'descending', 'statistics/errorCount desc'],
].map(([value, label, column, direction, orderby]) => ({
  value,
  label,
  column,
  direction,
  orderby: value ? `${orderby},startDateTime desc` : orderby,
}));
const NEWEST_FIRST = SORTS[0];

function sortOf(value) {
  return SORTS.find((sort) => sort.value === value) ?? NEWEST_FIRST;
}

/** The order a column's heading asks for: its other direction when it is the current order. */
function toggled(column, current) {
  const orders = SORTS.filter((sort) => sort.column === column);
  if (current.column !== column) return orders[0];
  return orders.find((sort) => sort !== current) ?? current;
}

/** The filters in a route's parameters; values that make no sense are dropped. */
function filtersOf(params) {
  const statuses = params.getAll('status').flatMap((value) => value.split(','));
  const type = params.get('type') ?? '';
  const day = (name) => (DAY.test(params.get(name) ?? '') ? params.get(name) : '');
  return {
    status: STATUS_CHOICES.filter((choice) => statuses.includes(choice)),
    type: TYPE_CHOICES.some(([value]) => value === type) ? type : '',
    process: api.isGuid(params.get('process')) ? params.get('process').toLowerCase() : '',
    from: day('from'),
    to: day('to'),
    q: (params.get('q') ?? '').trim(),
    sort: sortOf(params.get('sort') ?? '').value,
    input: (params.get('input') ?? '').trim(),
    output: (params.get('output') ?? '').trim(),
  };
}

/** The first page's URL for some filters; later pages come from nextLinks. */
function firstPage(filters) {
  const path =
    filters.type === 'runGroup'
      ? 'runGroups'
      : filters.type
        ? `runs/${api.NAMESPACE}.${filters.type}`
        : 'runs';
  const clauses = [];
  if (filters.status.length === 1) clauses.push(`status eq ${api.literal(filters.status[0])}`);
  if (filters.status.length > 1) {
    clauses.push(`status in (${filters.status.map(api.literal).join(',')})`);
  }
  if (filters.process) clauses.push(`process/id eq ${api.literal(filters.process)}`);
  // Days are UTC days, as in the overview's chart; 'to' is inclusive.
  if (filters.from) clauses.push(`startDateTime ge ${filters.from}T00:00:00Z`);
  if (filters.to) clauses.push(`startDateTime lt ${addDays(filters.to, 1)}T00:00:00Z`);
  // The runs that read or wrote a dataset of this name (a dataset page links here).
  if (filters.input) clauses.push(`inputs/any(d: d/name eq ${api.literal(filters.input)})`);
  if (filters.output) clauses.push(`outputs/any(d: d/name eq ${api.literal(filters.output)})`);
  const sort = sortOf(filters.sort);
  return api.url(path, {
    $filter: clauses.join(' and '),
    $search: filters.q ? api.phrase(filters.q) : '',
    $orderby: sort === NEWEST_FIRST ? '' : sort.orderby,
    $top: PAGE_SIZE,
    $count: 'true',
    $expand: PROCESS,
  });
}

function filterForm(onChange) {
  const statusBoxes = STATUS_CHOICES.map((status) =>
    h('input', { type: 'checkbox', name: 'status', value: status, id: `status-${status}` }),
  );
  const type = h(
    'select',
    { id: 'filter-type', name: 'type' },
    TYPE_CHOICES.map(([value, label]) => h('option', { value }, label)),
  );
  const process = h(
    'select',
    { id: 'filter-process', name: 'process', 'aria-describedby': 'process-note' },
    h('option', { value: '' }, 'Any process'),
  );
  const processNote = h('span', { id: 'process-note', class: 'help' });
  const from = h('input', { type: 'date', id: 'filter-from', name: 'from' });
  const to = h('input', { type: 'date', id: 'filter-to', name: 'to' });
  const q = h('input', {
    type: 'search',
    id: 'filter-q',
    name: 'q',
    autocomplete: 'off',
    placeholder: 'Part of a run name',
  });
  const sort = h(
    'select',
    { id: 'filter-sort', name: 'sort' },
    SORTS.map((choice) => h('option', { value: choice.value }, choice.label)),
  );
  const summary = h('summary', {}, 'Filters');
  const datasetNote = h('p', { class: 'help' });
  let datasets = { input: '', output: '' }; // kept by every other change of the filters
  const form = h(
    'form',
    { class: 'filters', role: 'search', 'aria-label': 'Filter runs' },
    h(
      'fieldset',
      { class: 'status-choices' },
      h('legend', {}, 'Status'),
      STATUS_CHOICES.map((status, i) =>
        h(
          'label',
          { class: `toggle chip-${status}`, for: `status-${status}` },
          statusBoxes[i],
          statusLabel(status),
        ),
      ),
    ),
    h('div', { class: 'field' }, h('label', { for: 'filter-type' }, 'Type'), type),
    h(
      'div',
      { class: 'field' },
      h('label', { for: 'filter-process' }, 'Process'),
      process,
      processNote,
    ),
    h(
      'div',
      { class: 'field day' },
      h('label', { for: 'filter-from' }, 'Started from (UTC day)'),
      from,
    ),
    h(
      'div',
      { class: 'field day' },
      h('label', { for: 'filter-to' }, 'Started until (UTC day)'),
      to,
    ),
    h('div', { class: 'field grow' }, h('label', { for: 'filter-q' }, 'Name contains'), q),
    h('div', { class: 'field' }, h('label', { for: 'filter-sort' }, 'Sort by'), sort),
    h(
      'div',
      { class: 'actions' },
      h('button', { type: 'submit', class: 'primary' }, 'Apply'),
      h('a', { href: '#/runs', class: 'button' }, 'Clear filters'),
    ),
    datasetNote,
  );
  const read = () => ({
    ...datasets,
    status: statusBoxes.filter((box) => box.checked).map((box) => box.value),
    type: type.value,
    process: process.value,
    from: from.value,
    to: to.value,
    q: q.value.trim(),
    sort: sort.value,
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    onChange(read());
  });
  // Choices apply at once; the text applies on Enter, Apply, or leaving the field.
  form.addEventListener('change', () => onChange(read()));
  // Open on wide screens; on a phone the table comes first and the filters open on demand.
  const box = h(
    'details',
    { class: 'filter-box', open: matchMedia('(min-width: 40rem)').matches },
    summary,
    form,
  );
  return {
    element: box,
    show(filters) {
      const names = ['status', 'type', 'process', 'from', 'to', 'q', 'input', 'output'];
      const active = names.filter((name) =>
        Array.isArray(filters[name]) ? filters[name].length : filters[name],
      ).length;
      summary.textContent = active ? `Filters (${active} active)` : 'Filters';
      for (const box of statusBoxes) box.checked = filters.status.includes(box.value);
      type.value = filters.type;
      if (filters.process && ![...process.options].some((o) => o.value === filters.process)) {
        process.append(h('option', { value: filters.process }, `Process ${filters.process}`));
      }
      process.value = filters.process;
      datasets = { input: filters.input, output: filters.output };
      const accessed = [
        filters.input ? `read ${filters.input}` : null,
        filters.output ? `wrote ${filters.output}` : null,
      ].filter(Boolean);
      const everyRun = runsHref({ ...filters, input: '', output: '' });
      replace(
        datasetNote,
        accessed.length
          ? [`Only runs that ${accessed.join(' and ')}. `, h('a', { href: everyRun }, 'Every run')]
          : null,
      );
      from.value = filters.from;
      to.value = filters.to;
      q.value = filters.q;
      sort.value = filters.sort;
    },
    fillProcesses(list, filters) {
      replace(
        process,
        h('option', { value: '' }, 'Any process'),
        list.map((p) => h('option', { value: p.id.toLowerCase() }, processChoice(p))),
      );
      this.show(filters);
    },
    processProblem(error) {
      processNote.textContent = api.explain(error);
    },
  };
}

/**
 * A process as the filter offers it: its name, type and the start of its id, so that processes
 * of the same name can be told apart ('Roster export · Data share outgoing flow · 6f1c0a2b').
 */
function processChoice(process) {
  const type = api.typeName(process);
  return [process.displayName || '(no name)', type ? typeLabel(type) : null, process.id.slice(0, 8)]
    .filter(Boolean)
    .join(' · ');
}

/** 'Runs 51–100 of 1,234, newest first; more on the next page.', or '3 runs, oldest first.' */
function describePage(first, count, more, total, sort) {
  if (!count) return 'No runs match these filters.';
  const order = sort.label.charAt(0).toLowerCase() + sort.label.slice(1);
  if (first === 1 && !more) {
    return `${formatNumber(count)} run${count === 1 ? '' : 's'}, ${order}.`;
  }
  const range = `Runs ${pageRange(first, count, total)}, ${order}`;
  return more ? `${range}; more on the next page.` : `${range}.`;
}

function plural(count, word) {
  return `${formatNumber(count)} ${word}${count === 1 ? '' : 's'}`;
}

/**
 * What went wrong in a run: a failed run's blocking error (code and message), else the errors
 * and warnings its statistics count.
 */
function runProblems(run) {
  const blocking = run.blockingError;
  if (blocking) {
    return h(
      'span',
      { class: 'run-problem' },
      h('code', {}, blocking.code ?? 'error'),
      blocking.message ? ` ${blocking.message}` : '',
    );
  }
  const statistics = run.statistics ?? {};
  const count = (name) => (Number.isFinite(statistics[name]) ? statistics[name] : 0);
  const parts = [];
  if (count('errorCount') > 0) parts.push(plural(count('errorCount'), 'error'));
  if (count('warningCount') > 0) parts.push(plural(count('warningCount'), 'warning'));
  return parts.length ? parts.join(', ') : h('span', { class: 'muted' }, '—');
}

const COLUMNS = [
  { label: 'Status', sort: 'status', cell: (run) => statusChip(run.status) },
  { label: 'Run', sort: 'name', cell: runLink },
  { label: 'Type', cell: (run) => typeLabel(api.typeName(run)) },
  { label: 'Process', cell: (run) => processLink(run.process) },
  { label: 'Started', sort: 'started', cell: (run) => time(run.startDateTime) },
  { label: 'Duration', sort: 'duration', numeric: true, cell: duration },
  { label: 'Errors and warnings', sort: 'errors', cell: runProblems },
];
const STATUS_COLUMN = COLUMNS.findIndex((column) => column.label === 'Status');
const DURATION_COLUMN = COLUMNS.findIndex((column) => column.label === 'Duration');
const PROBLEMS_COLUMN = COLUMNS.findIndex((column) => column.label === 'Errors and warnings');

const ARROWS = { ascending: ' ▲', descending: ' ▼' };

/** The table; a sortable column's heading is a button that sorts by it (or the other way). */
function runsTable(runs, sort, onSort) {
  const columns = COLUMNS.map((column) => {
    if (!column.sort) return column;
    const current = sort.column === column.sort;
    const next = toggled(column.sort, sort);
    const button = h(
      'button',
      { type: 'button', class: 'sort-button', title: `Sort: ${next.label}` },
      column.label,
      current ? h('span', { 'aria-hidden': 'true' }, ARROWS[sort.direction]) : '',
    );
    button.addEventListener('click', () => onSort(next.value));
    return { ...column, heading: button, ariaSort: current ? sort.direction : null };
  });
  return table({
    caption: `Runs, ${sort.label.charAt(0).toLowerCase()}${sort.label.slice(1)}`,
    columns,
    rows: runs,
    rowAttributes: (run) => ({ dataset: { runId: run.id } }),
    className: 'runs',
  });
}

export async function show(main, view) {
  document.title = 'Runs · flowruns';
  let filters = filtersOf(view.route.params);
  const form = filterForm((chosen) => {
    location.hash = runsHref(chosen);
  });
  const sortBy = (value) => {
    location.hash = runsHref({ ...filters, sort: value });
  };
  const status = h('p', { class: 'results-status', role: 'status', tabindex: '-1' });
  const results = h('div', { class: 'results' }, loading());
  const previous = h('button', { type: 'button', disabled: true }, 'Previous page');
  const next = h('button', { type: 'button', disabled: true }, 'Next page');
  replace(
    main,
    h('h1', { tabindex: '-1' }, 'Runs'),
    form.element,
    h(
      'section',
      { class: 'panel', 'aria-label': 'Results' },
      status,
      results,
      h('nav', { class: 'pager', 'aria-label': 'Pages' }, previous, next),
    ),
  );
  form.show(filters);

  let shown = new Map(); // run id → run, for the live refresh

  const list = pager({
    signal: view.signal,
    pageSize: PAGE_SIZE,
    status,
    results,
    previous,
    next,
    loadingText: 'Loading runs…',
    draw(body, { first, more }) {
      const runs = body.value ?? [];
      const sort = sortOf(filters.sort);
      shown = new Map(runs.map((run) => [run.id, run]));
      status.textContent = describePage(first, runs.length, more, body['@odata.count'], sort);
      replace(
        results,
        runs.length ? runsTable(runs, sort, sortBy) : empty('Try fewer filters, or clear them.'),
      );
    },
  });

  // On the first page, newest first, new runs arrive at the top: the page is asked again (an
  // index-backed question, as cheap as the first time) and redrawn when it changed, keeping the
  // focus on the link it was on. Other orders and deeper pages keep their rows and only follow
  // their running runs: asking a sort that no index answers every 5 seconds would cost more.
  async function refreshFirstPage() {
    const mine = list.generation;
    const body = await api.get(list.firstUrl, { signal: view.signal });
    if (mine !== list.generation || list.depth !== 1) return;
    const runs = body.value ?? [];
    const changed =
      runs.length !== shown.size ||
      runs.some((run) => shown.get(run.id)?.status !== run.status);
    if (!changed) return;
    const added = runs.filter((run) => !shown.has(run.id));
    const finished = runs.filter(
      (run) => shown.get(run.id)?.status === 'running' && run.status !== 'running',
    );
    const focused = document.activeElement?.closest?.('tr[data-run-id]')?.dataset.runId;
    const hadFocus = results.contains(document.activeElement);
    list.show(body);
    if (hadFocus && focused) {
      results.querySelector(`tr[data-run-id="${CSS.escape(focused)}"] a`)?.focus();
    }
    for (const run of finished) {
      view.announce(`${run.displayName} finished: ${statusLabel(run.status)}.`);
    }
    if (added.length === 1) view.announce(`New run: ${added[0].displayName}.`);
    if (added.length > 1) view.announce(`${formatNumber(added.length)} new runs.`);
  }

  async function refreshRunning() {
    const running = [...shown.values()].filter((run) => run.status === 'running');
    if (!running.length) return;
    const body = await api.get(
      api.url('runs', {
        $filter: `id in (${running.map((run) => api.literal(run.id)).join(',')})`,
        $select: 'id,displayName,status,startDateTime,endDateTime,blockingError,statistics',
      }),
      { signal: view.signal },
    );
    for (const fresh of body.value) {
      const old = shown.get(fresh.id);
      if (!old || old.status === fresh.status) continue;
      Object.assign(old, fresh);
      const row = results.querySelector(`tr[data-run-id="${CSS.escape(fresh.id)}"]`);
      if (row) {
        replace(row.cells[STATUS_COLUMN], statusChip(fresh.status));
        replace(row.cells[DURATION_COLUMN], duration(old));
        replace(row.cells[PROBLEMS_COLUMN], runProblems(old));
      }
      view.announce(`${fresh.displayName} finished: ${statusLabel(fresh.status)}.`);
    }
  }
  const refreshShown = () =>
    list.depth === 1 && !filters.sort ? refreshFirstPage() : refreshRunning();
  view.poll(refreshShown, { follows: ['runs'] });

  api
    .getAll(api.url('processes', { $select: 'id,displayName', $top: 999 }), {
      signal: view.signal,
      maxPages: PROCESS_PAGES,
    })
    .then((list) => form.fillProcesses(list, filters))
    .catch((error) => {
      if (error.name !== 'AbortError') form.processProblem(error);
    });

  async function apply(route) {
    filters = filtersOf(route.params);
    form.show(filters);
    await list.start(firstPage(filters));
  }
  await apply(view.route);
  return { update: apply };
}

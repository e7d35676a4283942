// The runs table: filters kept in the address (so a view can be shared), 50 runs a page, Next
// following the server's @odata.nextLink. It never asks for $count: counting a million runs on
// every page would be the slowest part of the page.

import { h, replace } from '../dom.js';
import * as api from '../api.js';
import {
  duration,
  empty,
  loading,
  problem,
  processLink,
  runLink,
  statusChip,
  table,
  time,
} from '../components.js';
import { addDays, formatNumber, statusLabel, typeLabel } from '../format.js';
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
  return api.url(path, {
    $filter: clauses.join(' and '),
    $search: filters.q ? api.phrase(filters.q) : '',
    $top: PAGE_SIZE,
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
  const summary = h('summary', {}, 'Filters');
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
    h(
      'div',
      { class: 'actions' },
      h('button', { type: 'submit', class: 'primary' }, 'Apply'),
      h('a', { href: '#/runs', class: 'button' }, 'Clear filters'),
    ),
  );
  const read = () => ({
    status: statusBoxes.filter((box) => box.checked).map((box) => box.value),
    type: type.value,
    process: process.value,
    from: from.value,
    to: to.value,
    q: q.value.trim(),
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
      const active = ['status', 'type', 'process', 'from', 'to', 'q'].filter((name) =>
        Array.isArray(filters[name]) ? filters[name].length : filters[name],
      ).length;
      summary.textContent = active ? `Filters (${active} active)` : 'Filters';
      for (const box of statusBoxes) box.checked = filters.status.includes(box.value);
      type.value = filters.type;
      if (filters.process && ![...process.options].some((o) => o.value === filters.process)) {
        process.append(h('option', { value: filters.process }, `Process ${filters.process}`));
      }
      process.value = filters.process;
      from.value = filters.from;
      to.value = filters.to;
      q.value = filters.q;
    },
    fillProcesses(list, filters) {
      replace(
        process,
        h('option', { value: '' }, 'Any process'),
        list.map((p) => h('option', { value: p.id.toLowerCase() }, p.displayName || p.id)),
      );
      this.show(filters);
    },
    processProblem(error) {
      processNote.textContent = api.explain(error);
    },
  };
}

/** 'Runs 51–100, newest first; more on the next page.', or '3 runs, newest first.' */
function describePage(first, count, more) {
  if (!count) return 'No runs match these filters.';
  if (first === 1 && !more) {
    return `${formatNumber(count)} run${count === 1 ? '' : 's'}, newest first.`;
  }
  const range = `Runs ${formatNumber(first)}–${formatNumber(first + count - 1)}, newest first`;
  return more ? `${range}; more on the next page.` : `${range}.`;
}

function runsTable(runs) {
  return table({
    caption: 'Runs, newest first',
    columns: [
      { label: 'Status', cell: (run) => statusChip(run.status) },
      { label: 'Run', cell: runLink },
      { label: 'Type', cell: (run) => typeLabel(api.typeName(run)) },
      { label: 'Process', cell: (run) => processLink(run.process) },
      { label: 'Started', cell: (run) => time(run.startDateTime) },
      { label: 'Duration', numeric: true, cell: duration },
    ],
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

  // pages: the URLs of the pages up to the one shown (the first from the filters, then
  // nextLinks), so Previous can go back without the server keeping any state.
  let pages = [];
  let nextLink = null;
  let shown = new Map(); // run id → run, for the live refresh
  let generation = 0;

  async function load(target) {
    generation += 1;
    const mine = generation;
    previous.disabled = true;
    next.disabled = true;
    status.textContent = 'Loading runs…';
    let body;
    try {
      body = await api.get(target, { signal: view.signal });
    } catch (error) {
      if (error.name === 'AbortError' || mine !== generation) return;
      status.textContent = '';
      replace(results, problem(error));
      previous.disabled = pages.length < 2;
      return;
    }
    if (mine !== generation) return; // filters changed while this page was on its way
    draw(body);
  }

  function draw(body) {
    const runs = body.value ?? [];
    nextLink = body['@odata.nextLink'] ?? null;
    shown = new Map(runs.map((run) => [run.id, run]));
    const first = (pages.length - 1) * PAGE_SIZE + 1;
    status.textContent = describePage(first, runs.length, Boolean(nextLink));
    replace(results, runs.length ? runsTable(runs) : empty('Try fewer filters, or clear them.'));
    previous.disabled = pages.length < 2;
    next.disabled = !nextLink;
  }

  function turn(button, change) {
    change();
    load(pages.at(-1)).then(() => {
      if (button.disabled) status.focus(); // keep keyboard focus somewhere sensible
    });
  }
  next.addEventListener('click', () => turn(next, () => pages.push(nextLink)));
  previous.addEventListener('click', () => turn(previous, () => pages.pop()));

  // On the first page new runs arrive at the top: the page is asked again (an index-backed
  // question, as cheap as the first time) and redrawn when it changed, keeping the focus on the
  // link it was on. Deeper pages keep their rows and only follow their running runs.
  async function refreshFirstPage() {
    const mine = generation;
    const body = await api.get(pages[0], { signal: view.signal });
    if (mine !== generation || pages.length !== 1) return;
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
    draw(body);
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
        $select: 'id,displayName,status,startDateTime,endDateTime',
      }),
      { signal: view.signal },
    );
    for (const fresh of body.value) {
      const old = shown.get(fresh.id);
      if (!old || old.status === fresh.status) continue;
      Object.assign(old, fresh);
      const row = results.querySelector(`tr[data-run-id="${CSS.escape(fresh.id)}"]`);
      if (row) {
        replace(row.cells[0], statusChip(fresh.status));
        replace(row.cells[5], duration(old));
      }
      view.announce(`${fresh.displayName} finished: ${statusLabel(fresh.status)}.`);
    }
  }
  view.poll(() => (pages.length === 1 ? refreshFirstPage() : refreshRunning()));

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
    pages = [firstPage(filters)];
    await load(pages[0]);
  }
  await apply(view.route);
  return { update: apply };
}

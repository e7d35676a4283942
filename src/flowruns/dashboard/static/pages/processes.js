// Every process with its health: one request a page (its expectation, health, latest 20 runs
// and open incidents expanded), filters and the order kept in the address, Next following the
// server's @odata.nextLink.

import { h, replace } from '../dom.js';
import * as api from '../api.js';
import {
  duration,
  empty,
  loading,
  processHref,
  runHref,
  statusChip,
  table,
  time,
} from '../components.js';
import { formatDateTime, formatNumber, statusKey, statusLabel, typeLabel } from '../format.js';
import { HEALTH_STATES, NOT_WATCHED, healthChip, healthLabel } from '../health.js';
import { pageRange, pager } from '../pager.js';
import { incidentsHref, processesHref } from '../router.js';

const PAGE_SIZE = 25;
const STRIP = 20;
const OWNER_PAGES = 2;
const HEALTH_CHOICES = [...HEALTH_STATES, NOT_WATCHED];
const TYPE_CHOICES = [
  ['', 'All types'],
  [`${api.NAMESPACE}.dataShareOutgoingFlow`, 'Data share outgoing flows'],
  [`${api.NAMESPACE}.insightsOutgoingFlow`, 'Insights outgoing flows'],
  ['flowruns.openLineageJob', 'OpenLineage jobs'],
];
// [address value, label, column, aria-sort, $orderby]; ties are broken by name, then id.
const SORTS = [
  ['', 'Health, worst first', 'health', 'descending', 'health/state desc'],
  ['health-best', 'Health, best first', 'health', 'ascending', 'health/state asc'],
  ['name', 'Name, A to Z', 'name', 'ascending', 'displayName asc'],
  ['name-desc', 'Name, Z to A', 'name', 'descending', 'displayName desc'],
  ['owner', 'Owner, A to Z', 'owner', 'ascending', 'expectation/owner asc'],
  [
    'next',
    'Next expected start, soonest first',
    'next',
    'ascending',
    'health/nextExpectedDateTime asc',
  ],
  ['changed', 'Health changed, latest first', 'health', null, 'health/changedDateTime desc'],
].map(([value, label, column, direction, orderby]) => ({
  value,
  label,
  column,
  direction,
  orderby: orderby.startsWith('displayName')
    ? `${orderby},id asc`
    : `${orderby},displayName asc,id asc`,
}));
const WORST_FIRST = SORTS[0];
const RUN_SELECT = 'id,displayName,status,startDateTime,endDateTime';
const EXPAND = [
  'expectation($select=owner,tags)',
  'health',
  `runs($top=${STRIP};$select=${RUN_SELECT})`,
  'incidents($filter=resolvedDateTime eq null;$select=id,kind,message,openedDateTime)',
].join(',');

function sortOf(value) {
  return SORTS.find((sort) => sort.value === value) ?? WORST_FIRST;
}

/** The filters in a route's parameters; values that make no sense are dropped. */
function filtersOf(params) {
  const health = params.getAll('health').flatMap((value) => value.split(','));
  const type = params.get('type') ?? '';
  return {
    health: HEALTH_CHOICES.filter((choice) => health.includes(choice)),
    owner: (params.get('owner') ?? '').trim(),
    tag: (params.get('tag') ?? '').trim(),
    type: TYPE_CHOICES.some(([value]) => value === type) ? type : '',
    q: (params.get('q') ?? '').trim(),
    sort: sortOf(params.get('sort') ?? '').value,
  };
}

/** The first page's URL for some filters; later pages come from nextLinks. */
function firstPage(filters) {
  const clauses = [];
  const states = filters.health.filter((state) => state !== NOT_WATCHED);
  const health = [];
  if (states.length === 1) health.push(`health/state eq ${api.literal(states[0])}`);
  if (states.length > 1) health.push(`health/state in (${states.map(api.literal).join(',')})`);
  if (filters.health.includes(NOT_WATCHED)) health.push('expectation eq null');
  if (health.length) clauses.push(health.length > 1 ? `(${health.join(' or ')})` : health[0]);
  if (filters.owner) clauses.push(`expectation/owner eq ${api.literal(filters.owner)}`);
  if (filters.tag) clauses.push(`expectation/tags/any(t: t eq ${api.literal(filters.tag)})`);
  if (filters.type) clauses.push(`isof(${api.literal(filters.type)})`);
  return api.url('processes', {
    $select: 'id,displayName',
    $filter: clauses.join(' and '),
    $search: filters.q ? api.phrase(filters.q) : '',
    $orderby: sortOf(filters.sort).orderby,
    $expand: EXPAND,
    $top: PAGE_SIZE,
    $count: 'true',
  });
}

/**
 * The owners named by any expectation, suggested in the Owner field: one grouped request, made
 * when the field is first used, so that a view of the page costs one request.
 */
const OWNERS = api.url('processes', { $apply: 'groupby((expectation/owner))' });

function filterForm(onChange, signal) {
  const boxes = HEALTH_CHOICES.map((state) =>
    h('input', { type: 'checkbox', name: 'health', value: state, id: `health-${state}` }),
  );
  const owners = h('datalist', { id: 'owner-choices' });
  const owner = h('input', {
    type: 'text',
    id: 'filter-owner',
    name: 'owner',
    list: 'owner-choices',
    autocomplete: 'off',
    'aria-describedby': 'owner-note',
  });
  const ownerNote = h('span', { id: 'owner-note', class: 'help' });
  let ownersAsked = false;
  owner.addEventListener('focus', () => {
    if (ownersAsked) return;
    ownersAsked = true;
    api
      .getAll(OWNERS, { signal, maxPages: OWNER_PAGES })
      .then((groups) => {
        const names = groups.map((group) => group.expectation?.owner).filter(Boolean);
        names.sort((a, b) => a.localeCompare(b));
        replace(owners, names.map((name) => h('option', { value: name })));
      })
      .catch((error) => {
        if (error.name !== 'AbortError') ownerNote.textContent = api.explain(error);
      });
  });
  const tag = h('input', { type: 'text', id: 'filter-tag', name: 'tag', autocomplete: 'off' });
  const type = h(
    'select',
    { id: 'filter-type', name: 'type' },
    TYPE_CHOICES.map(([value, label]) => h('option', { value }, label)),
  );
  const q = h('input', {
    type: 'search',
    id: 'filter-q',
    name: 'q',
    autocomplete: 'off',
    placeholder: 'Part of a process name',
  });
  const sort = h(
    'select',
    { id: 'filter-sort', name: 'sort' },
    SORTS.map((choice) => h('option', { value: choice.value }, choice.label)),
  );
  const summary = h('summary', {}, 'Filters');
  const form = h(
    'form',
    { class: 'filters', role: 'search', 'aria-label': 'Filter processes' },
    h(
      'fieldset',
      { class: 'status-choices' },
      h('legend', {}, 'Health'),
      HEALTH_CHOICES.map((state, i) =>
        h(
          'label',
          { class: 'toggle health-toggle', for: `health-${state}` },
          boxes[i],
          healthChip(state),
        ),
      ),
    ),
    h(
      'div',
      { class: 'field' },
      h('label', { for: 'filter-owner' }, 'Owner'),
      owner,
      owners,
      ownerNote,
    ),
    h('div', { class: 'field' }, h('label', { for: 'filter-tag' }, 'Tag'), tag),
    h('div', { class: 'field' }, h('label', { for: 'filter-type' }, 'Type'), type),
    h('div', { class: 'field grow' }, h('label', { for: 'filter-q' }, 'Name contains'), q),
    h('div', { class: 'field' }, h('label', { for: 'filter-sort' }, 'Sort by'), sort),
    h(
      'div',
      { class: 'actions' },
      h('button', { type: 'submit', class: 'primary' }, 'Apply'),
      h('a', { href: '#/processes', class: 'button' }, 'Clear filters'),
    ),
  );
  const read = () => ({
    health: boxes.filter((box) => box.checked).map((box) => box.value),
    owner: owner.value.trim(),
    tag: tag.value.trim(),
    type: type.value,
    q: q.value.trim(),
    sort: sort.value,
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    onChange(read());
  });
  // Choices apply at once; texts apply on Enter, Apply, or leaving the field.
  form.addEventListener('change', () => onChange(read()));
  const box = h(
    'details',
    { class: 'filter-box', open: matchMedia('(min-width: 40rem)').matches },
    summary,
    form,
  );
  return {
    element: box,
    show(filters) {
      const active = ['health', 'owner', 'tag', 'type', 'q'].filter((name) =>
        Array.isArray(filters[name]) ? filters[name].length : filters[name],
      ).length;
      summary.textContent = active ? `Filters (${active} active)` : 'Filters';
      for (const one of boxes) one.checked = filters.health.includes(one.value);
      owner.value = filters.owner;
      tag.value = filters.tag;
      type.value = filters.type;
      q.value = filters.q;
      sort.value = filters.sort;
    },
  };
}

/** Name, then what tells processes of the same name apart: type and the start of the id. */
function nameCell(process) {
  return h(
    'div',
    {},
    h('a', { href: processHref(process.id) }, process.displayName || process.id),
    h(
      'div',
      { class: 'process-identity' },
      `${typeLabel(api.typeName(process))} · `,
      h('code', { title: process.id }, process.id.slice(0, 8)),
    ),
  );
}

function healthCell(process) {
  const health = process.health;
  return h(
    'div',
    {},
    healthChip(health?.state ?? null),
    health?.changedDateTime
      ? h(
          'div',
          { class: 'process-identity' },
          'changed ',
          time(health.changedDateTime, { ago: true }),
        )
      : null,
  );
}

function ownerCell(process) {
  const expectation = process.expectation;
  const tags = expectation?.tags ?? [];
  if (!expectation?.owner && !tags.length) return h('span', { class: 'muted' }, '—');
  return h(
    'div',
    {},
    expectation.owner ? h('div', {}, expectation.owner) : null,
    tags.length
      ? h(
          'ul',
          { class: 'tags', 'aria-label': 'Tags' },
          tags.map((name) => h('li', {}, h('a', { href: processesHref({ tag: name }) }, name))),
        )
      : null,
  );
}

function lastRunCell(process) {
  const last = process.runs?.[0];
  if (!last) return h('span', { class: 'muted' }, 'No runs');
  return h(
    'div',
    { class: 'last-run' },
    h('a', { href: runHref(last.id) }, statusChip(last.status)),
    h('div', {}, time(last.startDateTime, { ago: true }), ' · ', duration(last)),
  );
}

const MARKS = {
  completed: '✓',
  completedWithWarnings: '▲',
  completedWithErrors: '◆',
  failed: '✕',
  running: '•',
  unknownFutureValue: '?',
};

/** The latest runs, oldest on the left, each a link named by its status and start. */
function strip(process) {
  const runs = [...(process.runs ?? [])].reverse();
  if (!runs.length) return h('span', { class: 'muted' }, '—');
  return h(
    'ol',
    { class: 'run-strip', 'aria-label': `Latest ${runs.length} runs, oldest first` },
    runs.map((run) => {
      const key = statusKey(run.status);
      const started = formatDateTime(run.startDateTime);
      const label = `${run.displayName || 'Run'}: ${statusLabel(run.status)}, started ${started}`;
      return h(
        'li',
        {},
        h(
          'a',
          {
            href: runHref(run.id),
            class: 'strip-run',
            dataset: { status: key },
            title: label,
            'aria-label': label,
          },
          h('span', { 'aria-hidden': 'true' }, MARKS[key]),
        ),
      );
    }),
  );
}

function incidentsCell(process) {
  const open = process.incidents ?? [];
  if (!open.length) return h('span', { class: 'muted' }, 'None');
  return h(
    'ul',
    { class: 'plain incident-list' },
    open.map((incident) =>
      h(
        'li',
        {},
        h(
          'a',
          {
            href: `#/incidents/${encodeURIComponent(incident.id)}`,
            title: incident.message,
            'aria-label': `${healthLabel(incident.kind)} incident: ${incident.message}`,
          },
          healthLabel(incident.kind),
        ),
        ' ',
        time(incident.openedDateTime, { ago: true }),
      ),
    ),
  );
}

const COLUMNS = [
  { label: 'Health', sort: 'health', cell: healthCell },
  { label: 'Process', sort: 'name', cell: nameCell },
  { label: 'Owner and tags', sort: 'owner', cell: ownerCell },
  { label: 'Last run', cell: lastRunCell },
  {
    label: 'Next expected start',
    sort: 'next',
    cell: (process) => time(process.health?.nextExpectedDateTime),
  },
  { label: `Last ${STRIP} runs`, cell: strip },
  { label: 'Open incidents', cell: incidentsCell },
];

const ARROWS = { ascending: ' ▲', descending: ' ▼' };

function toggled(column, current) {
  const orders = SORTS.filter((sort) => sort.column === column && sort.direction);
  if (current.column !== column) return orders[0];
  return orders.find((sort) => sort !== current) ?? current;
}

function processesTable(processes, sort, onSort) {
  const columns = COLUMNS.map((column) => {
    if (!column.sort) return column;
    const current = sort.column === column.sort && sort.direction;
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
    caption: `Processes, ${sort.label.charAt(0).toLowerCase()}${sort.label.slice(1)}`,
    columns,
    rows: processes,
    rowAttributes: (process) => ({ dataset: { processId: process.id } }),
    className: 'runs processes',
  });
}

function describePage(first, count, more, total, sort) {
  if (!count) return 'No processes match these filters.';
  const order = sort.label.charAt(0).toLowerCase() + sort.label.slice(1);
  if (first === 1 && !more) {
    return `${formatNumber(count)} process${count === 1 ? '' : 'es'}, ${order}.`;
  }
  const range = `Processes ${pageRange(first, count, total)}, ${order}`;
  return more ? `${range}; more on the next page.` : `${range}.`;
}

export async function show(main, view) {
  document.title = 'Processes · flowruns';
  let filters = filtersOf(view.route.params);
  const form = filterForm((chosen) => {
    location.hash = processesHref(chosen);
  }, view.signal);
  const sortBy = (value) => {
    location.hash = processesHref({ ...filters, sort: value });
  };
  const status = h('p', { class: 'results-status', role: 'status', tabindex: '-1' });
  const results = h('div', { class: 'results' }, loading());
  const previous = h('button', { type: 'button', disabled: true }, 'Previous page');
  const next = h('button', { type: 'button', disabled: true }, 'Next page');
  replace(
    main,
    h('h1', { tabindex: '-1' }, 'Processes'),
    h(
      'p',
      { class: 'help' },
      'Health is evaluated against each process’s expectation; ',
      h('a', { href: incidentsHref() }, 'incidents'),
      ' say what went wrong and when.',
    ),
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

  let seen = null; // the processes shown, as JSON, for the live refresh

  const list = pager({
    signal: view.signal,
    pageSize: PAGE_SIZE,
    status,
    results,
    previous,
    next,
    loadingText: 'Loading processes…',
    draw(body, { first, more }) {
      const processes = body.value ?? [];
      const sort = sortOf(filters.sort);
      seen = JSON.stringify(body.value);
      status.textContent = describePage(first, processes.length, more, body['@odata.count'], sort);
      replace(
        results,
        processes.length
          ? processesTable(processes, sort, sortBy)
          : empty('Try fewer filters, or clear them.'),
      );
    },
  });

  // The page shown is asked again (the same URL, a nextLink included) and redrawn only when it
  // changed, keeping the focus on the process it was on and announcing health changes.
  async function refresh() {
    const mine = list.generation;
    const body = await api.get(list.url, { signal: view.signal });
    if (mine !== list.generation) return;
    if (JSON.stringify(body.value) === seen) return;
    const before = new Map(
      JSON.parse(seen ?? '[]').map((process) => [process.id, process.health?.state ?? null]),
    );
    const focused = document.activeElement?.closest?.('tr[data-process-id]')?.dataset.processId;
    const hadFocus = results.contains(document.activeElement);
    list.show(body);
    if (hadFocus && focused) {
      results.querySelector(`tr[data-process-id="${CSS.escape(focused)}"] a`)?.focus();
    }
    for (const process of body.value ?? []) {
      const was = before.get(process.id);
      const now = process.health?.state ?? null;
      if (was !== undefined && was !== now) {
        view.announce(`${process.displayName} is now ${healthLabel(now ?? NOT_WATCHED)}.`);
      }
    }
  }
  view.poll(refresh, { follows: ['incidents', 'runs', 'processes'], evaluated: true });

  async function apply(route) {
    filters = filtersOf(route.params);
    form.show(filters);
    await list.start(firstPage(filters));
  }
  await apply(view.route);
  return { update: apply };
}

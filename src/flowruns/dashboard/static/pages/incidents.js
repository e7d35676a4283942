// Incidents, newest first: open or resolved, of one kind, one process or one dataset, 50 a page
// with the total, Next following the server's @odata.nextLink. A process's incident names its
// process, a dataset's (stale) its dataset.

import { h, replace } from '../dom.js';
import * as api from '../api.js';
import { datasetLink, empty, loading, processLink, table, time } from '../components.js';
import { formatNumber } from '../format.js';
import { INCIDENT_KINDS, healthChip, healthLabel } from '../health.js';
import { pageRange, pager } from '../pager.js';
import { incidentsHref } from '../router.js';

const PAGE_SIZE = 50;
const STATES = [
  ['', 'Open and resolved'],
  ['open', 'Open'],
  ['resolved', 'Resolved'],
];

function filtersOf(params) {
  const state = params.get('state') ?? '';
  const kind = params.get('kind') ?? '';
  return {
    state: STATES.some(([value]) => value === state) ? state : '',
    kind: INCIDENT_KINDS.includes(kind) ? kind : '',
    process: api.isGuid(params.get('process')) ? params.get('process').toLowerCase() : '',
    dataset: api.isGuid(params.get('dataset')) ? params.get('dataset').toLowerCase() : '',
  };
}

/** What an incident is about, read with it: its process, or a dataset's (stale) its dataset. */
export const INCIDENT_SUBJECTS = 'process($select=id,displayName),dataset($select=id,name)';

/**
 * The request of a list of incidents (also the overview's and a process page's), with the
 * process or the dataset each is about.
 */
export function incidentsUrl(
  { state = '', kind = '', process = '', dataset = '' },
  top = PAGE_SIZE,
) {
  const clauses = [];
  if (state === 'open') clauses.push('resolvedDateTime eq null');
  if (state === 'resolved') clauses.push('resolvedDateTime ne null');
  if (kind) clauses.push(`kind eq ${api.literal(kind)}`);
  if (process) clauses.push(`process/id eq ${api.literal(process)}`);
  if (dataset) clauses.push(`datasetId eq ${api.literal(dataset)}`);
  return api.url('incidents', {
    $filter: clauses.join(' and '),
    $expand: INCIDENT_SUBJECTS,
    $top: top,
    $count: 'true',
  });
}

/** A link to what an incident is about: its dataset for a dataset's, else its process. */
export function incidentSubject(incident) {
  return incident.dataset ? datasetLink(incident.dataset) : processLink(incident.process);
}

export function incidentHref(id) {
  return `#/incidents/${encodeURIComponent(id)}`;
}

/** Open, or resolved when: said in words, not by colour. */
export function incidentState(incident) {
  if (!incident.resolvedDateTime) return h('strong', { class: 'incident-open' }, 'Open');
  return h('span', {}, 'Resolved ', time(incident.resolvedDateTime, { ago: true }));
}

/**
 * A table of incidents; `withSubject` false leaves out the column of the process or dataset each
 * is about (a process's or a dataset's page).
 */
export function incidentsTable(incidents, { caption, withSubject = true } = {}) {
  const columns = [
    { label: 'Kind', cell: (incident) => healthChip(incident.kind) },
    {
      label: 'Incident',
      cell: (incident) => h('a', { href: incidentHref(incident.id) }, incident.message),
    },
    withSubject ? { label: 'Process or dataset', cell: incidentSubject } : null,
    { label: 'Opened', cell: (incident) => time(incident.openedDateTime, { ago: true }) },
    { label: 'State', cell: incidentState },
  ].filter(Boolean);
  return table({
    caption,
    columns,
    rows: incidents,
    rowAttributes: (incident) => ({ dataset: { incidentId: incident.id } }),
    className: 'runs incidents',
  });
}

function filterForm(onChange) {
  const state = h(
    'select',
    { id: 'filter-state', name: 'state' },
    STATES.map(([value, label]) => h('option', { value }, label)),
  );
  const kind = h(
    'select',
    { id: 'filter-kind', name: 'kind' },
    h('option', { value: '' }, 'Any kind'),
    INCIDENT_KINDS.map((value) => h('option', { value }, healthLabel(value))),
  );
  const subjectNote = h('p', { class: 'help' });
  const form = h(
    'form',
    { class: 'filters', role: 'search', 'aria-label': 'Filter incidents' },
    h('div', { class: 'field' }, h('label', { for: 'filter-state' }, 'State'), state),
    h('div', { class: 'field' }, h('label', { for: 'filter-kind' }, 'Kind'), kind),
    h(
      'div',
      { class: 'actions' },
      h('a', { href: '#/incidents', class: 'button' }, 'Clear filters'),
    ),
    subjectNote,
  );
  let process = '';
  let dataset = '';
  form.addEventListener('submit', (event) => event.preventDefault());
  form.addEventListener('change', () => {
    onChange({ state: state.value, kind: kind.value, process, dataset });
  });
  return {
    element: h('div', { class: 'filter-box' }, form),
    show(filters) {
      state.value = filters.state;
      kind.value = filters.kind;
      process = filters.process;
      dataset = filters.dataset;
      const every = incidentsHref({ ...filters, process: '', dataset: '' });
      let note = null;
      if (process) note = ['Of one process only. ', h('a', { href: every }, 'Show every process')];
      if (dataset) note = ['Of one dataset only. ', h('a', { href: every }, 'Show every dataset')];
      replace(subjectNote, note);
    },
  };
}

export async function show(main, view) {
  document.title = 'Incidents · flowruns';
  let filters = filtersOf(view.route.params);
  const form = filterForm((chosen) => {
    location.hash = incidentsHref(chosen);
  });
  const status = h('p', { class: 'results-status', role: 'status', tabindex: '-1' });
  const results = h('div', { class: 'results' }, loading());
  const previous = h('button', { type: 'button', disabled: true }, 'Previous page');
  const next = h('button', { type: 'button', disabled: true }, 'Next page');
  replace(
    main,
    h('h1', { tabindex: '-1' }, 'Incidents'),
    h(
      'p',
      { class: 'help' },
      'Each departure of a process from its expectation, or of a dataset from its freshness ' +
        'expectation, newest first; an incident resolves when its condition clears.',
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

  let seen = null; // the incidents shown, as JSON, for the live refresh

  const list = pager({
    signal: view.signal,
    pageSize: PAGE_SIZE,
    status,
    results,
    previous,
    next,
    draw(body, { first, more }) {
      const incidents = body.value ?? [];
      seen = JSON.stringify(body.value);
      const total = body['@odata.count'];
      const count = incidents.length;
      if (!count) {
        status.textContent = 'No incidents match these filters.';
      } else if (first === 1 && !more) {
        const incidentsWord = count === 1 ? 'incident' : 'incidents';
        status.textContent = `${formatNumber(count)} ${incidentsWord}, newest first.`;
      } else {
        const range = pageRange(first, count, total);
        const onNext = more ? '; more on the next page' : '';
        status.textContent = `Incidents ${range}, newest first${onNext}.`;
      }
      replace(
        results,
        incidents.length
          ? incidentsTable(incidents, { caption: 'Incidents, newest first' })
          : empty('No process or dataset departed from its expectation here.'),
      );
    },
  });

  async function refresh() {
    const mine = list.generation;
    const body = await api.get(list.url, { signal: view.signal });
    if (mine !== list.generation || JSON.stringify(body.value) === seen) return;
    const before = new Set(JSON.parse(seen ?? '[]').map((incident) => incident.id));
    list.show(body);
    for (const incident of body.value ?? []) {
      if (!before.has(incident.id)) view.announce(`New incident: ${incident.message}`);
    }
  }
  view.poll(refresh, { follows: ['incidents'] });

  async function apply(route) {
    filters = filtersOf(route.params);
    form.show(filters);
    await list.start(incidentsUrl(filters));
  }
  await apply(view.route);
  return { update: apply };
}

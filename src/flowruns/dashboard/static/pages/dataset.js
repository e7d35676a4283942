// One dataset: how fresh it is (the end of the last successful run that wrote it, and its
// freshness expectation as the server evaluated it, editable with a token allowed to write it),
// its stale incidents, the runs that wrote and read it over time with their row counts, as charts
// and tables, and its properties and facets.

import { h, replace } from '../dom.js';
import * as api from '../api.js';
import { accessesChart } from '../charts.js';
import {
  empty,
  loading,
  problem,
  properties,
  rawJson,
  runHref,
  section,
  time,
} from '../components.js';
import { expectationEditor, mayWrite } from '../expectation-form.js';
import { formatAgo, formatDuration, formatNumber } from '../format.js';
import { durationWords, freshnessChip, freshnessMeaning } from '../health.js';
import { incidentsHref, runsHref } from '../router.js';
import { lastWritten } from './datasets.js';
import { incidentsTable } from './incidents.js';

// The runs each chart shows: the latest that wrote, and the latest that read, the dataset.
const WINDOW = 100;
const ACCESS_FIELDS = 'id,runId,runStatus,runStartDateTime,runEndDateTime,rowCount';
// The statuses of a successful write, as the server counts them for lastWrittenDateTime.
const SUCCESSFUL = ['completed', 'completedWithWarnings'];
// The incidents the page lists; the rest are a link away.
const INCIDENTS_SHOWN = 10;

function code(text) {
  return text ? h('code', {}, String(text)) : null;
}

/** When the next successful write is due, or since when it is overdue (a stale dataset). */
function writeDue(expectation) {
  const due = expectation.writeDueDateTime;
  if (!due) return null; // paused: nothing is due
  if (expectation.state === 'stale') {
    return h('strong', { class: 'write-overdue' }, 'Overdue since ', time(due, { ago: true }));
  }
  return h('span', {}, time(due, { seconds: true }), ` (${formatAgo(due)})`);
}

/**
 * The freshness expectation as the server last evaluated it, or that there is none (and, for a
 * token that may not set one here, the command that does).
 */
function expectationPart(dataset) {
  const expectation = dataset.expectation;
  if (!expectation) {
    const none = 'No freshness expectation: no incident opens however long it goes unwritten.';
    if (mayWrite('dataset')) return h('p', { class: 'help' }, none);
    return h(
      'p',
      { class: 'help' },
      `${none} Set one with `,
      h('code', {}, `flowruns datasets expect ${dataset.name} --every P1D`),
      '.',
    );
  }
  const pause = expectation.paused
    ? expectation.pausedUntil
      ? time(expectation.pausedUntil)
      : 'Until resumed'
    : null;
  return h(
    'div',
    { class: 'dataset-expectation' },
    h(
      'p',
      { class: 'health-line' },
      freshnessChip(expectation.state),
      ' ',
      freshnessMeaning(expectation.state),
      '.',
    ),
    properties([
      ['Written every', durationWords(expectation.writtenEvery)],
      ['Write due', writeDue(expectation)],
      ['Paused', pause],
      ['Owner', expectation.owner || null],
      ['Tags', expectation.tags?.length ? expectation.tags.join(', ') : null],
      ['State since', time(expectation.changedDateTime, { ago: true })],
    ]),
  );
}

function freshness(dataset) {
  const when = dataset.lastWrittenDateTime;
  const words = when
    ? `A successful run last wrote it ${formatAgo(when)}.`
    : 'No successful run has written it yet.';
  return h(
    'div',
    {},
    expectationPart(dataset),
    h('p', { class: 'freshness' }, words),
    properties([
      ['Last successful write', when ? time(when, { seconds: true }) : lastWritten(dataset)],
      [
        'Written by',
        dataset.lastWrittenRunId
          ? h('a', { href: runHref(dataset.lastWrittenRunId) }, 'The run that wrote it')
          : null,
      ],
    ]),
  );
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** How often successful writes came: the median gap between the ends of the latest ones. */
function cadence(writes) {
  const ends = writes
    .filter((access) => SUCCESSFUL.includes(access.runStatus) && access.runEndDateTime)
    .map((access) => new Date(access.runEndDateTime).getTime())
    .sort((a, b) => a - b);
  if (ends.length < 3) return null;
  const gaps = ends.slice(1).map((end, i) => end - ends[i]);
  return h(
    'p',
    { class: 'help' },
    `Successful writes came every ${formatDuration(median(gaps))} (the median of the ` +
      `${formatNumber(gaps.length)} gaps between the latest ${formatNumber(ends.length)}).`,
  );
}

function datasetProperties(dataset) {
  return properties([
    ['Name', code(dataset.name)],
    ['Namespace', code(dataset.namespace)],
    ['First seen', time(dataset.createdDateTime)],
    ['Changed', time(dataset.lastModifiedDateTime)],
    ['Id', code(dataset.id)],
  ]);
}

/** Open first (a dataset has one at most), then the newest. */
function incidentsPart(id, body) {
  const incidents = [...body.value].sort(
    (a, b) => Number(Boolean(a.resolvedDateTime)) - Number(Boolean(b.resolvedDateTime)),
  );
  if (!incidents.length) return empty('This dataset has had no incidents.');
  const total = body['@odata.count'] ?? incidents.length;
  return h(
    'div',
    {},
    incidentsTable(incidents, { caption: 'Incidents, open first', withSubject: false }),
    h(
      'p',
      {},
      h(
        'a',
        { href: incidentsHref({ dataset: id }) },
        total > incidents.length
          ? `All ${formatNumber(total)} incidents of this dataset`
          : 'All incidents of this dataset',
      ),
    ),
  );
}

function accessesUrl(base, navigation) {
  return api.url(`${base}/${navigation}`, {
    $top: WINDOW,
    $select: ACCESS_FIELDS,
    $expand: 'run($select=id,displayName)',
  });
}

export async function show(main, view) {
  const id = view.route.id;
  const base = `datasets/${encodeURIComponent(id)}`;
  // The dataset with its freshness expectation, as the server last evaluated it.
  const address = api.url(base, { $expand: 'expectation' });
  const incidentsUrl = api.url(`${base}/incidents`, { $top: INCIDENTS_SHOWN, $count: 'true' });
  document.title = 'Dataset · flowruns';
  replace(main, h('h1', { tabindex: '-1' }, 'Dataset'), loading());
  let dataset;
  try {
    dataset = await api.get(address, { signal: view.signal });
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    replace(
      main,
      h('h1', { tabindex: '-1' }, error.status === 404 ? 'Dataset not found' : 'Dataset'),
      problem(error),
    );
    return;
  }
  document.title = `${dataset.name} · flowruns`;
  const freshnessSlot = h('div', {}, freshness(dataset));
  const cadenceSlot = h('div', {});
  // Saved or removed: the freshness and incidents as the write, which evaluates it, left them.
  const editor = expectationEditor('dataset', base, {
    signal: view.signal,
    onSaved: () => Promise.all([reload(), loadIncidents()]),
  });
  editor.show(dataset.expectation);
  const incidentsSlot = h('div', {}, loading());
  const writesSlot = h('div', {}, loading());
  const readsSlot = h('div', {}, loading());
  const propertiesSlot = h('div', {});
  const drawProperties = () =>
    replace(
      propertiesSlot,
      datasetProperties(dataset),
      dataset.facets && Object.keys(dataset.facets).length
        ? rawJson('Its facets as JSON', dataset.facets)
        : h('p', { class: 'help' }, 'No facets recorded.'),
      rawJson('The dataset as JSON', dataset),
    );
  replace(
    main,
    h(
      'nav',
      { class: 'crumbs', 'aria-label': 'Breadcrumb' },
      h('a', { href: '#/datasets' }, 'Datasets'),
      ' › ',
      h('span', { 'aria-current': 'page' }, dataset.name),
    ),
    h(
      'div',
      { class: 'title-row' },
      h('h1', { tabindex: '-1' }, dataset.name),
      h('span', { class: 'subtitle' }, dataset.namespace),
    ),
    section('freshness-title', 'Freshness', freshnessSlot, cadenceSlot, editor.element),
    section('incidents-title', 'Incidents', incidentsSlot),
    section(
      'writes-title',
      'Writers over time',
      writesSlot,
      h('p', {}, h('a', { href: runsHref({ output: dataset.name }) }, 'Every run that wrote it')),
    ),
    section(
      'reads-title',
      'Readers over time',
      readsSlot,
      h('p', {}, h('a', { href: runsHref({ input: dataset.name }) }, 'Every run that read it')),
    ),
    section('properties-title', 'Properties', propertiesSlot),
  );
  drawProperties();

  const seen = {};
  async function part(name, target, slot, draw) {
    let body;
    try {
      body = await api.get(target, { signal: view.signal });
    } catch (error) {
      if (error.name === 'AbortError' || seen[name]) throw error; // a failed refresh keeps it
      replace(slot, problem(error));
      return;
    }
    const key = JSON.stringify(body);
    if (seen[name] !== key) {
      seen[name] = key;
      replace(slot, draw(body));
    }
  }
  const writes = (body) => {
    replace(cadenceSlot, cadence(body.value));
    return body.value.length
      ? accessesChart({ accesses: body.value, verb: 'written' })
      : empty('No run has written this dataset.');
  };
  const reads = (body) =>
    body.value.length
      ? accessesChart({ accesses: body.value, verb: 'read' })
      : empty('No run has read this dataset.');
  async function load() {
    await Promise.all([
      part('writes', accessesUrl(base, 'writes'), writesSlot, writes),
      part('reads', accessesUrl(base, 'reads'), readsSlot, reads),
    ]);
  }
  const loadIncidents = () =>
    part('incidents', incidentsUrl, incidentsSlot, (body) => incidentsPart(id, body));
  async function reload() {
    const fresh = await api.get(address, { signal: view.signal });
    if (JSON.stringify(fresh) === JSON.stringify(dataset)) return;
    const written = fresh.lastWrittenDateTime !== dataset.lastWrittenDateTime;
    const state = fresh.expectation?.state;
    const turned = state && dataset.expectation && state !== dataset.expectation.state;
    dataset = fresh;
    replace(freshnessSlot, freshness(dataset));
    editor.show(dataset.expectation);
    drawProperties();
    if (written) view.announce(`${dataset.name} was written by a successful run.`);
    if (turned) view.announce(`${dataset.name} is now ${state}.`);
  }
  await Promise.all([load(), loadIncidents()]);
  // A run that writes or reads the dataset changes its accesses; one that finishes, their status.
  view.poll(load, { follows: ['datasets', 'runs'] });
  // The server evaluates freshness a little after the write (or the deadline) that changes it,
  // and opens or resolves an incident as it does.
  view.poll(reload, { follows: ['datasets', 'incidents'], evaluated: true });
  view.poll(loadIncidents, { follows: ['incidents'] });
}

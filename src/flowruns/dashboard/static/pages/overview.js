// The overview: the health of every process and the open incidents, counts by status, runs per
// day for 30 days, what runs now, the latest failures. Its requests are the shapes the server
// answers from its indexes (docs/dashboard.md).

import { h, replace } from '../dom.js';
import * as api from '../api.js';
import { dailyStatusChart } from '../charts.js';
import {
  duration,
  empty,
  loading,
  problem,
  processLink,
  runLink,
  section,
  statusChip,
  table,
  time,
} from '../components.js';
import { STATUSES, addDays, formatNumber, statusLabel, utcToday } from '../format.js';
import { HEALTH_STATES, NOT_WATCHED, healthChip, healthMeaning } from '../health.js';
import { incidentsHref, processesHref, runsHref } from '../router.js';
import { incidentsTable, incidentsUrl } from './incidents.js';

const CHART_DAYS = 30;
const RUNNING_SHOWN = 10;
const FAILURES_SHOWN = 5;
const TILE_ORDER = [
  'running',
  'failed',
  'completedWithErrors',
  'completedWithWarnings',
  'completed',
];
const INCIDENTS_SHOWN = 10;
const PROCESS = 'process($select=id,displayName)';
const HEALTH_URL = api.url('processes', {
  $apply: 'groupby((health/state),aggregate($count as processes))',
});
const OPEN_INCIDENTS_URL = incidentsUrl({ state: 'open' }, INCIDENTS_SHOWN);

function chartDays(today) {
  return Array.from({ length: CHART_DAYS }, (_, i) => addDays(today, i - (CHART_DAYS - 1)));
}

function requests(firstDay) {
  return {
    chart: api.url('runs', {
      $apply:
        `filter(startDateTime ge ${firstDay}T00:00:00Z)` +
        '/compute(date(startDateTime) as day)/groupby((day,status),aggregate($count as runs))',
    }),
    counts: api.url('runs', { $apply: 'groupby((status),aggregate($count as runs))' }),
    running: api.url('runs', {
      $filter: "status eq 'running'",
      $top: RUNNING_SHOWN,
      $count: 'true',
      $expand: PROCESS,
    }),
    failures: api.url('runs', {
      $filter: "status eq 'failed'",
      $top: FAILURES_SHOWN,
      $expand: PROCESS,
    }),
  };
}

function countTiles(rows) {
  const counts = Object.fromEntries(rows.map((row) => [row.status, row.runs]));
  const total = rows.reduce((sum, row) => sum + row.runs, 0);
  const statuses = [
    ...TILE_ORDER,
    ...STATUSES.filter((st) => !TILE_ORDER.includes(st) && counts[st]),
  ];
  return h(
    'ul',
    { class: 'tiles' },
    h(
      'li',
      {},
      h(
        'a',
        { class: 'tile', href: runsHref() },
        h('span', { class: 'tile-number' }, formatNumber(total)),
        h('span', { class: 'tile-label' }, 'All runs'),
      ),
    ),
    statuses.map((status) =>
      h(
        'li',
        {},
        h(
          'a',
          { class: 'tile', href: runsHref({ status }), dataset: { status } },
          h('span', { class: 'tile-number' }, formatNumber(counts[status] ?? 0)),
          statusChip(status),
        ),
      ),
    ),
  );
}

/**
 * One tile per health state with its count, worst first, each opening the Processes page
 * filtered to it; the processes without an expectation last.
 */
function healthTiles(rows) {
  const counts = Object.fromEntries(
    rows.map((row) => [row.health?.state ?? NOT_WATCHED, row.processes]),
  );
  const total = rows.reduce((sum, row) => sum + row.processes, 0);
  const states = [...HEALTH_STATES, NOT_WATCHED].filter(
    (state) => counts[state] || ['missed', 'failing', 'late', 'healthy'].includes(state),
  );
  return h(
    'ul',
    { class: 'tiles health-tiles' },
    h(
      'li',
      {},
      h(
        'a',
        { class: 'tile', href: processesHref() },
        h('span', { class: 'tile-number' }, formatNumber(total)),
        h('span', { class: 'tile-label' }, 'All processes'),
      ),
    ),
    states.map((state) =>
      h(
        'li',
        {},
        h(
          'a',
          {
            class: 'tile',
            href: processesHref({ health: state }),
            dataset: { health: state },
            title: healthMeaning(state),
          },
          h('span', { class: 'tile-number' }, formatNumber(counts[state] ?? 0)),
          healthChip(state),
        ),
      ),
    ),
  );
}

function openIncidents(body) {
  const incidents = body.value;
  const total = body['@odata.count'] ?? incidents.length;
  if (!incidents.length) {
    return empty('No open incidents: every process and dataset meets its expectation.');
  }
  return h(
    'div',
    {},
    incidentsTable(incidents, { caption: `${formatNumber(total)} open, newest first` }),
    h(
      'p',
      {},
      h(
        'a',
        { href: incidentsHref({ state: 'open' }) },
        total > incidents.length ? `All ${formatNumber(total)} open incidents` : 'All incidents',
      ),
    ),
  );
}

function dailyChart(rows, days) {
  const counts = new Map(days.map((day) => [day, {}]));
  for (const row of rows) {
    const day = counts.get(row.day); // days with no runs have no row: they stay at 0
    if (day) day[row.status] = (day[row.status] ?? 0) + row.runs;
  }
  return dailyStatusChart({ days, counts, dayHref: (day) => runsHref({ from: day, to: day }) });
}

function runningTable(body) {
  const runs = body.value;
  const total = body['@odata.count'] ?? runs.length;
  if (!runs.length) return empty('Nothing is running right now.');
  return h(
    'div',
    {},
    table({
      caption: `${formatNumber(total)} running, newest first`,
      columns: [
        { label: 'Run', cell: runLink },
        { label: 'Process', cell: (run) => processLink(run.process) },
        { label: 'Started', cell: (run) => time(run.startDateTime, { ago: true }) },
        { label: 'Running for', numeric: true, cell: duration },
      ],
      rows: runs,
      className: 'runs',
    }),
    total > runs.length
      ? h(
          'p',
          {},
          h(
            'a',
            { href: runsHref({ status: 'running' }) },
            `All ${formatNumber(total)} running runs`,
          ),
        )
      : null,
  );
}

function failureList(runs) {
  if (!runs.length) return empty('No run has failed.');
  return h(
    'div',
    {},
    h(
      'ol',
      { class: 'failures' },
      runs.map((run) =>
        h(
          'li',
          {},
          h('div', { class: 'failure-head' }, runLink(run), time(run.startDateTime, { ago: true })),
          h('div', { class: 'failure-process' }, 'Process: ', processLink(run.process)),
          run.blockingError
            ? h(
                'p',
                { class: 'blocking' },
                h('code', { class: 'error-code' }, run.blockingError.code ?? 'error'),
                ' ',
                run.blockingError.message ?? '',
              )
            : h('p', { class: 'blocking muted' }, 'No blocking error recorded.'),
        ),
      ),
    ),
    h('p', {}, h('a', { href: runsHref({ status: 'failed' }) }, 'All failed runs')),
  );
}

export async function show(main, view) {
  document.title = 'Overview · flowruns';
  const slots = {
    health: h('div', {}, loading()),
    incidents: h('div', {}, loading()),
    counts: h('div', {}, loading()),
    chart: h('div', {}, loading()),
    running: h('div', {}, loading()),
    failures: h('div', {}, loading()),
  };
  const runningBadge = h('span', { class: 'badge', hidden: true });
  replace(
    main,
    h('h1', { tabindex: '-1' }, 'Overview'),
    section('health-title', 'Health of processes', slots.health),
    section('incidents-title', 'Open incidents', slots.incidents),
    section('counts-title', 'Runs by status, all time', slots.counts),
    section('chart-title', 'Runs per day, last 30 days', slots.chart),
    h(
      'div',
      { class: 'columns' },
      h(
        'section',
        { class: 'panel', 'aria-labelledby': 'running-title' },
        h('h2', { id: 'running-title' }, 'Running now ', runningBadge),
        slots.running,
      ),
      section('failures-title', 'Latest failures', slots.failures),
    ),
  );

  const seen = {};
  let runningIds = null;

  // Fetch one part and redraw it only when the answer changed, so a refresh keeps focus,
  // scroll position and open disclosures where nothing moved.
  async function refresh(name, target, draw, { all = false } = {}) {
    let body;
    try {
      body = all
        ? { value: await api.getAll(target, { signal: view.signal }) }
        : await api.get(target, { signal: view.signal });
    } catch (error) {
      // A failed refresh keeps what is on screen (the app says live updates are paused); a
      // part that never loaded says why instead.
      if (error.name === 'AbortError' || seen[name]) throw error;
      replace(slots[name], problem(error));
      return null;
    }
    const key = JSON.stringify(body);
    if (seen[name] !== key) {
      seen[name] = key;
      replace(slots[name], draw(body));
    }
    return body;
  }

  async function announceFinished(ids) {
    const body = await api.get(
      api.url('runs', {
        $filter: `id in (${ids.map(api.literal).join(',')})`,
        $select: 'id,displayName,status',
      }),
      { signal: view.signal },
    );
    for (const run of body.value) {
      view.announce(`${run.displayName} finished: ${statusLabel(run.status)}.`);
    }
  }

  async function load() {
    const days = chartDays(utcToday());
    const urls = requests(days[0]);
    const [running] = await Promise.all([
      refresh('running', urls.running, runningTable),
      refresh('counts', urls.counts, (body) => countTiles(body.value), { all: true }),
      refresh('chart', urls.chart, (body) => dailyChart(body.value, days), { all: true }),
      refresh('failures', urls.failures, (body) => failureList(body.value)),
    ]);
    if (!running) return;
    const count = running['@odata.count'] ?? running.value.length;
    runningBadge.hidden = count === 0;
    runningBadge.textContent = formatNumber(count);
    const ids = running.value.map((run) => run.id);
    const finished = runningIds ? runningIds.filter((id) => !ids.includes(id)) : [];
    runningIds = ids;
    if (finished.length) await announceFinished(finished);
  }

  async function loadHealth() {
    await Promise.all([
      refresh('health', HEALTH_URL, (body) => healthTiles(body.value), { all: true }),
      refresh('incidents', OPEN_INCIDENTS_URL, openIncidents),
    ]);
  }

  await Promise.all([load(), loadHealth()]);
  view.poll(load, { follows: ['runs'] });
  view.poll(loadHealth, { follows: ['incidents', 'processes', 'runs'], evaluated: true });
}

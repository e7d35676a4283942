// One process: its health and expectation (editable with a write token), its incidents, its
// latest runs as a chart (duration and status per run, the expected starts marked), how often it
// succeeds, how long it usually takes, and its properties.

import { h, replace } from '../dom.js';
import * as api from '../api.js';
import { runsChart } from '../charts.js';
import { empty, loading, problem, properties, rawJson, section, time } from '../components.js';
import { expectationEditor } from '../expectation-form.js';
import { expectationWords, healthChip, healthMeaning } from '../health.js';
import {
  FINISHED,
  formatDuration,
  formatNumber,
  formatPercent,
  memberLabel,
  runDuration,
  statusLabel,
  typeLabel,
} from '../format.js';
import { incidentsHref, processesHref, runsHref } from '../router.js';
import { incidentsTable, incidentsUrl } from './incidents.js';

const WINDOW = 200;
const INCIDENTS_SHOWN = 10;

function healthSummary(watched) {
  const { expectation, health } = watched;
  const state = health?.state ?? null;
  const tags = expectation?.tags ?? [];
  return h(
    'div',
    {},
    h('p', { class: 'health-line' }, healthChip(state), ' ', healthMeaning(state ?? 'none'), '.'),
    h('p', { class: 'expectation-words' }, expectationWords(expectation)),
    expectation
      ? properties([
          ['Health since', health?.changedDateTime ? time(health.changedDateTime) : null],
          ['Next expected start', time(health?.nextExpectedDateTime)],
          [
            'Owner',
            expectation.owner
              ? h('a', { href: processesHref({ owner: expectation.owner }) }, expectation.owner)
              : null,
          ],
          [
            'Tags',
            tags.length
              ? h(
                  'ul',
                  { class: 'tags' },
                  tags.map((tag) => h('li', {}, h('a', { href: processesHref({ tag }) }, tag))),
                )
              : null,
          ],
          ['Expectation changed', time(expectation.lastModifiedDateTime)],
        ])
      : null,
  );
}

function code(text) {
  return text ? h('code', {}, String(text)) : null;
}

function median(values) {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function tile(label, value, note, status) {
  return h(
    'li',
    {},
    h(
      'div',
      { class: 'tile', dataset: status ? { status } : {} },
      h('span', { class: 'tile-number' }, value),
      h('span', { class: 'tile-label' }, label),
      note ? h('span', { class: 'tile-note' }, note) : null,
    ),
  );
}

function figures(counts, runs) {
  const byStatus = Object.fromEntries(counts.map((row) => [row.status, row.runs]));
  const total = counts.reduce((sum, row) => sum + row.runs, 0);
  const finished = FINISHED.reduce((sum, st) => sum + (byStatus[st] ?? 0), 0);
  const completed = byStatus.completed ?? 0;
  const finishedRuns = runs.filter((run) => run.endDateTime);
  const typical = median(finishedRuns.map((run) => runDuration(run)));
  return h(
    'ul',
    { class: 'tiles' },
    tile(
      'Success rate',
      finished ? formatPercent(completed / finished) : '—',
      finished
        ? `${formatNumber(completed)} of ${formatNumber(finished)} finished runs completed ` +
            'without warnings or errors (all time; running runs do not count)'
        : 'No finished runs yet',
    ),
    tile(
      'Typical duration',
      typical === null ? '—' : formatDuration(typical),
      `Median of the ${formatNumber(finishedRuns.length)} finished runs ` +
        `among the latest ${formatNumber(runs.length)}`,
    ),
    tile('Runs', formatNumber(total), 'All time'),
    tile(statusLabel('failed'), formatNumber(byStatus.failed ?? 0), 'All time', 'failed'),
    tile(statusLabel('running'), formatNumber(byStatus.running ?? 0), 'Now', 'running'),
  );
}

function processProperties(process) {
  const invitees = process.inviteeUserIds;
  return properties([
    ['Name', process.displayName],
    ['Type', typeLabel(api.typeName(process))],
    ['Readiness', process.readinessStatus ? memberLabel(process.readinessStatus) : null],
    ['Share name', code(process.shareName)],
    ['Sharing state', process.sharingState ? memberLabel(process.sharingState) : null],
    [
      'Invited users',
      Array.isArray(invitees)
        ? invitees.length
          ? h(
              'ul',
              { class: 'plain' },
              invitees.map((user) => h('li', {}, code(user))),
            )
          : 'None'
        : null,
    ],
    ['Id', code(process.id)],
    ['ETag', code(process.eTag)],
  ]);
}

export async function show(main, view) {
  const id = view.route.id;
  const base = `processes/${encodeURIComponent(id)}`;
  document.title = 'Process · flowruns';
  replace(main, h('h1', { tabindex: '-1' }, 'Process'), loading());
  let process;
  try {
    process = await api.get(api.url(base), { signal: view.signal });
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    replace(
      main,
      h('h1', { tabindex: '-1' }, error.status === 404 ? 'Process not found' : 'Process'),
      problem(error),
    );
    return;
  }
  document.title = `${process.displayName} · flowruns`;
  const runsUrl = api.url(`${base}/runs`, {
    $top: WINDOW,
    $select: 'id,displayName,status,startDateTime,endDateTime',
  });
  const countsUrl = api.url(`${base}/runs`, {
    $apply: 'groupby((status),aggregate($count as runs))',
  });

  const watchedUrl = api.url(base, { $select: 'id', $expand: 'expectation,health' });
  const incidentsOfUrl = incidentsUrl({ process: id }, INCIDENTS_SHOWN);
  const healthSlot = h('div', {}, loading());
  // Saved or removed: the health and incidents as the write left them.
  const editor = expectationEditor('process', base, {
    signal: view.signal,
    onSaved: () => loadHealth(),
  });
  const incidentsSlot = h('div', {}, loading());
  const figuresSlot = h('div', {}, loading());
  const chartSlot = h('div', {}, loading());
  replace(
    main,
    h(
      'div',
      { class: 'title-row' },
      h('h1', { tabindex: '-1' }, process.displayName),
      h('span', { class: 'subtitle' }, typeLabel(api.typeName(process))),
    ),
    h('p', {}, h('a', { href: runsHref({ process: id }) }, 'All runs of this process')),
    section('health-title', 'Health and expectation', healthSlot, editor.element),
    section('incidents-title', 'Incidents', incidentsSlot),
    section('figures-title', 'At a glance', figuresSlot),
    section('history-title', 'Runs over time', chartSlot),
    section(
      'properties-title',
      'Properties',
      processProperties(process),
      rawJson('The process as JSON', process),
    ),
  );

  let seen = null;
  let runs = [];
  // The expected starts the chart marks, from the process's health (the server's schedule).
  let expected = { expected: [], next: null };
  function drawChart() {
    replace(
      chartSlot,
      runs.length ? runsChart({ runs, ...expected }) : empty('This process has no runs yet.'),
    );
  }
  async function load() {
    let window;
    let counts;
    try {
      [window, counts] = await Promise.all([
        api.get(runsUrl, { signal: view.signal }),
        api.getAll(countsUrl, { signal: view.signal }),
      ]);
    } catch (error) {
      if (error.name === 'AbortError' || seen) throw error; // a failed refresh keeps the page
      replace(figuresSlot, problem(error));
      replace(chartSlot);
      return;
    }
    const key = JSON.stringify([window.value, counts]);
    if (key === seen) return;
    seen = key;
    const before = new Map(runs.map((run) => [run.id, run.status]));
    runs = window.value;
    replace(figuresSlot, figures(counts, runs));
    drawChart();
    for (const run of runs) {
      if (before.get(run.id) === 'running' && run.status !== 'running') {
        view.announce(`${run.displayName} finished: ${statusLabel(run.status)}.`);
      } else if (before.size && !before.has(run.id) && run.status === 'running') {
        view.announce(`New run: ${run.displayName}.`);
      }
    }
  }
  const seenHealth = {};
  async function part(name, target, slot, draw) {
    let body;
    try {
      body = await api.get(target, { signal: view.signal });
    } catch (error) {
      if (error.name === 'AbortError' || seenHealth[name]) throw error;
      replace(slot, problem(error));
      return null;
    }
    const key = JSON.stringify(body);
    if (seenHealth[name] !== key) {
      seenHealth[name] = key;
      replace(slot, draw(body));
    }
    return body;
  }

  async function loadHealth() {
    const [watched] = await Promise.all([
      part('health', watchedUrl, healthSlot, healthSummary),
      part('incidents', incidentsOfUrl, incidentsSlot, (body) =>
        body.value.length
          ? h(
              'div',
              {},
              incidentsTable(body.value, {
                caption: 'Incidents, newest first',
                withSubject: false,
              }),
              h(
                'p',
                {},
                h('a', { href: incidentsHref({ process: id }) }, 'All incidents of this process'),
              ),
            )
          : empty('This process has had no incidents.'),
      ),
    ]);
    const health = watched?.health;
    const starts = {
      expected: health?.recentExpectedDateTimes ?? [],
      next: health?.nextExpectedDateTime ?? null,
    };
    if (watched && JSON.stringify(starts) !== JSON.stringify(expected)) {
      expected = starts;
      if (seen) drawChart();
    }
    if (watched) editor.show(watched.expectation);
  }

  await Promise.all([load(), loadHealth()]);
  view.poll(loadHealth, { follows: ['incidents', 'processes', 'runs'], evaluated: true });
  // Runs start and finish: asked again when a run or process changed, redrawn when the answers
  // did, else untouched.
  view.poll(load, { follows: ['runs', 'processes'] });
}

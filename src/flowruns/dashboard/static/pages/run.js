// One run: every property, its blocking error, its statistics as tables (and as JSON), its
// process, the datasets it read and wrote, and the runs of the same process just before and
// after it. A running run (and what it read and wrote) is re-read every few seconds until it
// finishes.

import { h, replace } from '../dom.js';
import * as api from '../api.js';
import {
  datasetHref,
  duration,
  empty,
  loading,
  problem,
  processLink,
  properties,
  rawJson,
  runLink,
  section,
  statusChip,
  table,
  time,
} from '../components.js';
import { formatNumber, memberLabel, statusLabel, typeLabel } from '../format.js';

const NEIGHBOURS = 3;
const MEMBERS_SHOWN = 50;
const DATASETS_SHOWN = 100;
const ACCESS_FIELDS = 'id,datasetId,namespace,name,rowCount';
const RUN_FIELDS = 'id,displayName,status,startDateTime,endDateTime';
const KNOWN_COUNTS = [
  'recordsProcessed',
  'recordsSucceeded',
  'recordsFailed',
  'warningCount',
  'errorCount',
];

function code(text) {
  return text === null || text === undefined || text === '' ? null : h('code', {}, String(text));
}

function summary(run) {
  return properties([
    ['Status', statusChip(run.status)],
    ['Type', typeLabel(api.typeName(run))],
    ['Process', run.process ? processLink(run.process) : h('span', { class: 'muted' }, 'None')],
    ['Started', time(run.startDateTime, { seconds: true })],
    [
      'Ended',
      run.endDateTime
        ? time(run.endDateTime, { seconds: true })
        : h('span', { class: 'muted' }, 'Still running'),
    ],
    ['Duration', duration(run)],
    ['Id', code(run.id)],
    ['ETag', code(run['@odata.etag'])],
  ]);
}

function errorDetails(caption, details) {
  if (!Array.isArray(details) || !details.length) return null;
  return table({
    caption,
    columns: [
      { label: 'Code', cell: (d) => code(d.code) ?? '—' },
      { label: 'Message', cell: (d) => d.message ?? '—' },
      { label: 'Target', cell: (d) => code(d.target) ?? '—' },
    ],
    rows: details,
    className: 'compact',
  });
}

function blockingError(error) {
  const inner = error.innerError;
  return h(
    'section',
    { class: 'panel error-panel', 'aria-labelledby': 'blocking-title' },
    h('h2', { id: 'blocking-title' }, 'Blocking error'),
    h('p', { class: 'blocking-message' }, error.message ?? 'No message.'),
    properties([
      ['Code', code(error.code)],
      ['Target', code(error.target)],
    ]),
    errorDetails('Details', error.details),
    inner && Object.keys(inner).length
      ? h(
          'div',
          { class: 'inner-error' },
          h('h3', {}, 'Inner error'),
          properties([
            ['Code', code(inner.code)],
            ['Message', inner.message ?? null],
            ['Target', code(inner.target)],
          ]),
          errorDetails('Inner error details', inner.details),
        )
      : null,
  );
}

function memberName(path) {
  return path.map(memberLabel).join(' › ');
}

function displayValue(value) {
  if (typeof value === 'number') return formatNumber(value);
  if (typeof value === 'boolean') return value ? 'Yes' : 'No';
  if (value === null) return h('span', { class: 'muted' }, 'null');
  if (Array.isArray(value) || typeof value === 'object') return code(JSON.stringify(value));
  return String(value);
}

/** [path, value] rows for an object's members, nested objects flattened into paths. */
function flatten(object, path = []) {
  return Object.entries(object).flatMap(([name, value]) =>
    value && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length
      ? flatten(value, [...path, name])
      : [[[...path, name], value]],
  );
}

function isRecordList(value) {
  return (
    Array.isArray(value) &&
    value.length > 0 &&
    value.every((item) => item && typeof item === 'object' && !Array.isArray(item))
  );
}

function statistics(stats) {
  const entries = Object.entries(stats ?? {});
  if (!entries.length) return empty('No statistics recorded.');
  const rank = (name) =>
    KNOWN_COUNTS.includes(name) ? KNOWN_COUNTS.indexOf(name) : KNOWN_COUNTS.length;
  const members = entries
    .filter(([, value]) => !isRecordList(value))
    .sort(([a], [b]) => rank(a) - rank(b));
  const lists = entries.filter(([, value]) => isRecordList(value));
  const rows = flatten(Object.fromEntries(members));
  return h(
    'div',
    {},
    rows.length
      ? table({
          caption: 'Values',
          columns: [
            {
              label: 'Statistic',
              cell: ([path]) => h('span', { title: path.join('/') }, memberName(path)),
            },
            { label: 'Value', numeric: true, cell: ([, value]) => displayValue(value) },
          ],
          rows,
          className: 'compact statistics',
        })
      : null,
    lists.map(([name, items]) => {
      const keys = [...new Set(items.flatMap(Object.keys))];
      const ordered = [
        ...['code', 'message', 'target'].filter((k) => keys.includes(k)),
        ...keys.filter((k) => !['code', 'message', 'target'].includes(k)),
      ];
      return table({
        caption: `${memberLabel(name)} (${items.length}, newest last)`,
        columns: ordered.map((key) => ({
          label: memberLabel(key),
          cell: (item) =>
            key === 'code' || key === 'target'
              ? (code(item[key]) ?? '—')
              : displayValue(item[key] ?? '—'),
        })),
        rows: items,
        className: 'compact',
      });
    }),
    rawJson('Statistics as JSON', stats),
  );
}

function processDetails(process) {
  if (!process) return empty('This run belongs to no process.');
  const invitees = process.inviteeUserIds;
  return properties([
    ['Name', processLink(process)],
    ['Type', typeLabel(api.typeName(process))],
    ['Readiness', process.readinessStatus ? memberLabel(process.readinessStatus) : null],
    ['Share name', code(process.shareName)],
    ['Sharing state', process.sharingState ? memberLabel(process.sharingState) : null],
    [
      'Invited users',
      Array.isArray(invitees) && invitees.length
        ? h(
            'ul',
            { class: 'plain' },
            invitees.map((user) => h('li', {}, code(user))),
          )
        : null,
    ],
    ['Id', code(process.id)],
  ]);
}

function neighbourTable(run, newer, older) {
  const rows = [...[...newer].reverse(), run, ...older];
  if (rows.length === 1) return empty('This is the only run of its process.');
  return table({
    caption: 'Runs of the same process around this one, newest first',
    columns: [
      { label: 'Status', cell: (r) => statusChip(r.status) },
      {
        label: 'Run',
        cell: (r) =>
          r.id === run.id ? h('strong', {}, `${r.displayName} (this run)`) : runLink(r),
      },
      { label: 'Started', cell: (r) => time(r.startDateTime) },
      { label: 'Duration', numeric: true, cell: duration },
    ],
    rows,
    rowAttributes: (r) => (r.id === run.id ? { 'aria-current': 'true', class: 'current' } : {}),
    className: 'runs',
  });
}

async function neighbours(run, signal) {
  const runs = `processes/${encodeURIComponent(run.process.id)}/runs`;
  const start = run.startDateTime;
  const [older, newer] = await Promise.all([
    api.get(
      api.url(runs, {
        $filter: `startDateTime lt ${start}`,
        $top: NEIGHBOURS,
        $select: RUN_FIELDS,
      }),
      { signal },
    ),
    api.get(
      api.url(runs, {
        $filter: `startDateTime gt ${start}`,
        $orderby: 'startDateTime asc',
        $top: NEIGHBOURS,
        $select: RUN_FIELDS,
      }),
      { signal },
    ),
  ]);
  return neighbourTable(run, newer.value, older.value);
}

async function members(run, signal) {
  const body = await api.get(
    api.url(`runGroups/${encodeURIComponent(run.id)}/runs`, {
      $top: MEMBERS_SHOWN,
      $select: RUN_FIELDS,
    }),
    { signal },
  );
  if (!body.value.length) return empty('This group has no member runs.');
  return table({
    caption: body['@odata.nextLink']
      ? `Member runs, newest first; the first ${MEMBERS_SHOWN}`
      : 'Member runs, newest first',
    columns: [
      { label: 'Status', cell: (r) => statusChip(r.status) },
      { label: 'Run', cell: runLink },
      { label: 'Started', cell: (r) => time(r.startDateTime) },
      { label: 'Duration', numeric: true, cell: duration },
    ],
    rows: body.value,
    className: 'runs',
  });
}

function accessesTable(caption, accesses, more) {
  return table({
    caption: more ? `${caption}; the first ${DATASETS_SHOWN}` : caption,
    columns: [
      {
        label: 'Dataset',
        cell: (access) => h('a', { href: datasetHref(access.datasetId) }, access.name),
      },
      { label: 'Namespace', cell: (access) => code(access.namespace) },
      {
        label: 'Rows',
        numeric: true,
        cell: (access) =>
          typeof access.rowCount === 'number' ? formatNumber(access.rowCount) : '—',
      },
    ],
    rows: accesses,
    className: 'runs datasets',
  });
}

/** The datasets the run read and wrote: the answers to its inputs and outputs. */
async function lineage(run, signal) {
  const base = `runs/${encodeURIComponent(run.id)}`;
  const options = { $top: DATASETS_SHOWN, $select: ACCESS_FIELDS, $orderby: 'name' };
  return Promise.all([
    api.get(api.url(`${base}/inputs`, options), { signal }),
    api.get(api.url(`${base}/outputs`, options), { signal }),
  ]);
}

/** The datasets the run read and wrote, a table each. */
function lineageTables([inputs, outputs]) {
  if (!inputs.value.length && !outputs.value.length) {
    return empty('This run recorded no datasets it read or wrote.');
  }
  return h(
    'div',
    { class: 'pair' },
    inputs.value.length
      ? accessesTable('Inputs: datasets it read', inputs.value, inputs['@odata.nextLink'])
      : empty('It recorded no inputs.'),
    outputs.value.length
      ? accessesTable('Outputs: datasets it wrote', outputs.value, outputs['@odata.nextLink'])
      : empty('It recorded no outputs.'),
  );
}

/** Fill `slot` with what `produce()` resolves to, or with the error it fails with. */
async function fill(slot, produce) {
  try {
    replace(slot, await produce());
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    replace(slot, problem(error));
  }
}

export async function show(main, view) {
  const id = view.route.id;
  const address = api.url(`runs/${encodeURIComponent(id)}`, { $expand: 'process' });
  document.title = 'Run · flowruns';
  replace(main, h('h1', { tabindex: '-1' }, 'Run'), loading());
  let run;
  try {
    run = await api.get(address, { signal: view.signal });
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    replace(
      main,
      h('h1', { tabindex: '-1' }, error.status === 404 ? 'Run not found' : 'Run'),
      problem(error),
    );
    return;
  }
  document.title = `${run.displayName} · flowruns`;

  const heading = h('h1', { tabindex: '-1' });
  const headChip = h('span');
  const live = h('div', { class: 'live-parts' });
  const raw = h('div');
  const draw = () => {
    heading.textContent = run.displayName;
    replace(headChip, statusChip(run.status));
    replace(
      live,
      run.blockingError ? blockingError(run.blockingError) : null,
      h(
        'div',
        { class: 'pair' },
        section('summary-title', 'Summary', summary(run)),
        section('process-title', 'Process', processDetails(run.process)),
      ),
      section('statistics-title', 'Statistics', statistics(run.statistics)),
    );
    replace(raw, rawJson('The run as JSON', run));
  };
  const datasets = h('div', {}, loading());
  const around = h('div', {}, loading());
  const groupMembers = h('div', {}, loading());
  const isGroup = api.typeName(run) === 'runGroup';
  replace(
    main,
    h(
      'nav',
      { class: 'crumbs', 'aria-label': 'Breadcrumb' },
      h('a', { href: '#/runs' }, 'Runs'),
      ' › ',
      h('span', { 'aria-current': 'page' }, run.displayName),
    ),
    h('div', { class: 'title-row' }, heading, headChip),
    live,
    section('datasets-title', 'Datasets', datasets),
    isGroup ? section('members-title', 'Member runs', groupMembers) : null,
    run.process ? section('neighbours-title', 'Neighbouring runs of this process', around) : null,
    raw,
  );
  draw();

  let lineageShown = null; // the answers shown, as JSON, for the live refresh
  const pending = [
    fill(datasets, async () => {
      const answers = await lineage(run, view.signal);
      lineageShown = JSON.stringify(answers);
      return lineageTables(answers);
    }),
  ];
  if (run.process) pending.push(fill(around, () => neighbours(run, view.signal)));
  if (isGroup) pending.push(fill(groupMembers, () => members(run, view.signal)));
  await Promise.all(pending);

  view.poll(async () => {
    if (run.status !== 'running') return;
    const fresh = await api.get(address, { signal: view.signal });
    // A running run may record more datasets; its end may have recorded the last ones.
    const answers = await lineage(run, view.signal);
    if (JSON.stringify(answers) !== lineageShown) {
      lineageShown = JSON.stringify(answers);
      replace(datasets, lineageTables(answers));
    }
    if (fresh['@odata.etag'] === run['@odata.etag']) return;
    const was = run.status;
    run = fresh;
    draw();
    if (fresh.status !== was) view.announce(`This run is now ${statusLabel(fresh.status)}.`);
  });
}

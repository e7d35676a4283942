// One incident: what went wrong, when, and the process (or, for a stale incident, the dataset)
// and the run it concerns.

import { h, replace } from '../dom.js';
import * as api from '../api.js';
import {
  duration,
  loading,
  problem,
  datasetLink,
  processLink,
  properties,
  rawJson,
  runLink,
  section,
  statusChip,
  time,
} from '../components.js';
import { formatNumber } from '../format.js';
import { healthChip, healthMeaning } from '../health.js';
import { incidentsHref } from '../router.js';
import { INCIDENT_SUBJECTS, incidentState } from './incidents.js';

function runSummary(run) {
  return h(
    'p',
    {},
    runLink(run),
    ' ',
    statusChip(run.status),
    ' started ',
    time(run.startDateTime),
    ', ',
    duration(run),
  );
}

export async function show(main, view) {
  const id = view.route.id;
  document.title = 'Incident · flowruns';
  replace(main, h('h1', { tabindex: '-1' }, 'Incident'), loading());
  const address = api.url(`incidents/${encodeURIComponent(id)}`, {
    $expand: INCIDENT_SUBJECTS,
  });
  let seen = null;
  let incident;

  async function draw() {
    incident = await api.get(address, { signal: view.signal });
    const key = JSON.stringify(incident);
    if (key === seen) return;
    const wasOpen = seen !== null && !JSON.parse(seen).resolvedDateTime;
    seen = key;
    let run = null;
    let runProblem = null;
    if (incident.runId) {
      try {
        run = await api.get(
          api.url(`runs/${encodeURIComponent(incident.runId)}`, {
            $select: 'id,displayName,status,startDateTime,endDateTime',
          }),
          { signal: view.signal },
        );
      } catch (error) {
        if (error.name === 'AbortError') throw error;
        runProblem = problem(error);
      }
    }
    // A stale incident's deadline is a write due, and its run the last successful write.
    const stale = incident.kind === 'stale';
    document.title = `${incident.message} · flowruns`;
    replace(
      main,
      h(
        'p',
        { class: 'crumbs' },
        h('a', { href: incidentsHref() }, 'Incidents'),
        incident.process
          ? [
              ' · ',
              h('a', { href: incidentsHref({ process: incident.process.id }) }, 'of this process'),
            ]
          : null,
        incident.dataset
          ? [
              ' · ',
              h('a', { href: incidentsHref({ dataset: incident.dataset.id }) }, 'of this dataset'),
            ]
          : null,
      ),
      h(
        'div',
        { class: 'title-row' },
        h('h1', { tabindex: '-1' }, 'Incident'),
        healthChip(incident.kind),
      ),
      h('p', { class: 'blocking-message' }, incident.message),
      section(
        'incident-title',
        'Summary',
        properties([
          ['Kind', [healthChip(incident.kind), ' ', healthMeaning(incident.kind)]],
          ['State', incidentState(incident)],
          incident.dataset
            ? ['Dataset', datasetLink(incident.dataset)]
            : ['Process', processLink(incident.process)],
          ['Opened', time(incident.openedDateTime, { seconds: true })],
          [
            'Resolved',
            incident.resolvedDateTime ? time(incident.resolvedDateTime, { seconds: true }) : null,
          ],
          [
            stale ? 'Write due' : 'Expected start',
            incident.expectedDateTime ? time(incident.expectedDateTime) : null,
          ],
          [
            'Expected starts missed',
            incident.kind === 'missed' ? formatNumber(incident.occurrences) : null,
          ],
          [
            stale ? 'Last successful write' : 'Run',
            incident.runId ? (run ? runSummary(run) : runProblem) : null,
          ],
          ['Id', h('code', {}, incident.id)],
        ]),
        rawJson('The incident as JSON', incident),
      ),
    );
    if (wasOpen && incident.resolvedDateTime) view.announce('This incident is now resolved.');
  }

  try {
    await draw();
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    replace(
      main,
      h('h1', { tabindex: '-1' }, error.status === 404 ? 'Incident not found' : 'Incident'),
      problem(error),
    );
    return;
  }
  view.poll(draw, { follows: ['incidents'] });
}

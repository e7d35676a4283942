// Hand-drawn SVG charts. Each one is a <figure> with a caption, an SVG with <title> and <desc>
// (role="img"), a legend that tells statuses apart by text and shape as well as colour, and the
// same numbers as a table. The SVG is drawn at its container's width, so labels stay legible from
// phone to desktop, and redrawn when that width changes.

import { h, replace, s, uniqueId } from './dom.js';
import { runHref, statusChip, table, time } from './components.js';
import {
  STATUSES,
  formatDate,
  formatDateTime,
  formatDay,
  formatDuration,
  formatNumber,
  runDuration,
  statusKey,
  statusLabel,
} from './format.js';

const MARGIN = { top: 14, right: 20, bottom: 30, left: 46 };

/** Draw `draw(width)` → [svg children] into an SVG that follows its container's width. */
function responsiveSvg({ title, description, height, draw }) {
  const titleId = uniqueId('chart-title');
  const descId = uniqueId('chart-desc');
  const svg = s('svg', {
    role: 'img',
    'aria-labelledby': `${titleId} ${descId}`,
    height,
    class: 'chart',
  });
  const frame = h('div', { class: 'chart-frame' }, svg);
  let drawnWidth = 0;
  const render = () => {
    const width = Math.max(240, Math.floor(frame.clientWidth || 640));
    if (width === drawnWidth) return;
    drawnWidth = width;
    svg.setAttribute('width', width);
    svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
    replace(
      svg,
      s('title', { id: titleId }, title),
      s('desc', { id: descId }, description),
      ...draw(width),
    );
  };
  new ResizeObserver(render).observe(frame);
  render();
  // A picture holds no links (role="img"); a click on a mark opens what it stands for, and the
  // table under the chart has the same links for the keyboard.
  svg.addEventListener('click', (event) => {
    const target = event.target.closest('[data-href]');
    if (target) location.hash = target.dataset.href;
  });
  return frame;
}

/** Round tick steps for a 0…max axis: about `count` ticks, each 1, 2 or 5 × 10^n. */
function niceStep(max, count = 4) {
  const rough = Math.max(max, 1) / count;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((m) => m >= rough);
  return Math.max(1, step);
}

const SECOND = 1000;
const TIME_STEPS = [
  1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800,
  604800,
].map((seconds) => seconds * SECOND);

/** An axis label for a whole number of steps: '45 min', '1.5 h', '30 s'. */
function axisDuration(ms) {
  if (ms >= 3600 * SECOND) return `${Number((ms / (3600 * SECOND)).toFixed(1))} h`;
  if (ms >= 60 * SECOND) return `${Math.round(ms / (60 * SECOND))} min`;
  return `${Math.round(ms / SECOND)} s`;
}

function niceTimeStep(maxMs, count = 4) {
  return TIME_STEPS.find((step) => maxMs / step <= count) ?? TIME_STEPS.at(-1);
}

/** Horizontal grid lines and their labels. */
// A line across the plot at height yValue: a grid line or the baseline.
function horizontal(className, width, yValue) {
  return s('line', {
    class: className,
    x1: MARGIN.left,
    x2: width - MARGIN.right,
    y1: yValue,
    y2: yValue,
  });
}

function yAxis(width, height, max, step, label) {
  const plotHeight = height - MARGIN.top - MARGIN.bottom;
  const y = (value) => MARGIN.top + plotHeight - (value / max) * plotHeight;
  const lines = [];
  for (let value = 0; value <= max + 1e-9; value += step) {
    lines.push(
      horizontal('grid', width, y(value)),
      s(
        'text',
        { class: 'tick', x: MARGIN.left - 6, y: y(value), dy: '0.32em', 'text-anchor': 'end' },
        label(value),
      ),
    );
  }
  return { lines, y };
}

/** The marker that tells a status apart without colour (completed has none). */
function marker(status, cx, cy, r) {
  const key = statusKey(status);
  const shapes = {
    failed: () =>
      s('path', {
        d: `M${cx - r} ${cy - r}L${cx + r} ${cy + r}M${cx + r} ${cy - r}L${cx - r} ${cy + r}`,
        class: `marker stroke-${key}`,
      }),
    completedWithErrors: () =>
      s('path', {
        d: `M${cx} ${cy - r}L${cx + r} ${cy}L${cx} ${cy + r}L${cx - r} ${cy}Z`,
        class: `marker fill-${key}`,
      }),
    completedWithWarnings: () =>
      s('path', {
        d: `M${cx} ${cy - r}L${cx + r} ${cy + r * 0.8}L${cx - r} ${cy + r * 0.8}Z`,
        class: `marker fill-${key}`,
      }),
    running: () => s('circle', { cx, cy, r: r * 0.85, class: `marker fill-${key}` }),
    unknownFutureValue: () =>
      s('rect', {
        x: cx - r * 0.8,
        y: cy - r * 0.8,
        width: r * 1.6,
        height: r * 1.6,
        class: `marker fill-${key}`,
      }),
  };
  return shapes[key] ? shapes[key]() : null;
}

// The dates under a chart of one band per item (the first, middle and last of ``starts``),
// each at its band's centre; none for an empty chart.
function bandDates(starts, band, height) {
  if (!starts.length) return [];
  const positions =
    starts.length > 1 ? [0, Math.floor((starts.length - 1) / 2), starts.length - 1] : [0];
  const last = positions.length - 1;
  return positions.map((i, k) =>
    s(
      'text',
      {
        class: 'tick',
        y: height - MARGIN.bottom + 18,
        x: MARGIN.left + (i + 0.5) * band,
        'text-anchor': last > 0 && k === 0 ? 'start' : k === last ? 'end' : 'middle',
      },
      formatDate(starts[i]),
    ),
  );
}

function legend(statuses, { markers = false, more = [] } = {}) {
  return h(
    'ul',
    { class: 'legend' },
    ...more,
    statuses.map((status) =>
      h(
        'li',
        {},
        s(
          'svg',
          { width: markers ? 30 : 14, height: 14, 'aria-hidden': 'true', class: 'swatch' },
          s('rect', {
            x: 1,
            y: 1,
            width: 12,
            height: 12,
            rx: 2,
            class: `fill-${statusKey(status)}`,
          }),
          markers ? marker(status, 22, 7, 4) : null,
        ),
        statusLabel(status),
      ),
    ),
  );
}

function dataTable(summary, content) {
  return h('details', { class: 'chart-data' }, h('summary', {}, summary), content);
}

/**
 * Runs per UTC day stacked by status. days: ['2026-10-30', …]; counts: Map day → {status: n}.
 * Each day's bar (and its row in the table) links to that day's runs.
 */
export function dailyStatusChart({ days, counts, dayHref }) {
  const totals = days.map((day) =>
    STATUSES.reduce((sum, st) => sum + (counts.get(day)?.[st] ?? 0), 0),
  );
  const present = STATUSES.filter((st) => days.some((day) => counts.get(day)?.[st]));
  const shown = present.length ? present : ['completed', 'failed', 'running'];
  const total = totals.reduce((a, b) => a + b, 0);
  const failed = days.reduce((sum, day) => sum + (counts.get(day)?.failed ?? 0), 0);
  const busiest = totals.indexOf(Math.max(...totals));
  const title = `Runs per day over the last ${days.length} days, by status`;
  const description = total
    ? `${formatNumber(total)} runs from ${formatDay(days[0])} to ${formatDay(days.at(-1))} ` +
      `(UTC days), ${formatNumber(failed)} of them failed. ` +
      `Busiest day: ${formatDay(days[busiest], { long: true })} ` +
      `with ${formatNumber(totals[busiest])} runs.`
    : `No runs from ${formatDay(days[0])} to ${formatDay(days.at(-1))}.`;
  const height = 240;

  const draw = (width) => {
    const max = Math.max(...totals, 1);
    const step = niceStep(max);
    const top = Math.ceil(max / step) * step;
    const { lines, y } = yAxis(width, height, top, step, formatNumber);
    const plotWidth = width - MARGIN.left - MARGIN.right;
    const band = plotWidth / days.length;
    const barWidth = Math.max(2, band * 0.72);
    const labelEvery = Math.ceil(60 / band);
    const bars = days.map((day, i) => {
      const x = MARGIN.left + i * band + (band - barWidth) / 2;
      let base = 0;
      const segments = [];
      const parts = [];
      for (const status of STATUSES) {
        const n = counts.get(day)?.[status] ?? 0;
        if (!n) continue;
        segments.push(
          s('rect', {
            class: `bar fill-${status}`,
            x,
            width: barWidth,
            y: y(base + n),
            height: y(base) - y(base + n),
          }),
        );
        parts.push(`${formatNumber(n)} ${statusLabel(status).toLowerCase()}`);
        base += n;
      }
      const label =
        `${formatDay(day, { long: true })} (UTC): ${formatNumber(totals[i])} runs` +
        (parts.length ? ` — ${parts.join(', ')}` : '');
      const hit = s('rect', {
        class: 'hit',
        x: MARGIN.left + i * band,
        width: band,
        y: MARGIN.top,
        height: height - MARGIN.top - MARGIN.bottom,
      });
      return s(
        'g',
        { class: 'target', dataset: { href: dayHref(day) } },
        s('title', {}, label),
        hit,
        ...segments,
      );
    });
    // Label today, then every labelEvery-th day before it.
    const labels = days.map((day, i) =>
      (days.length - 1 - i) % labelEvery === 0
        ? s(
            'text',
            {
              class: 'tick',
              x: MARGIN.left + (i + 0.5) * band,
              y: height - MARGIN.bottom + 18,
              'text-anchor': 'middle',
            },
            formatDay(day),
          )
        : null,
    );
    return [...lines, ...bars, horizontal('axis', width, y(0)), ...labels];
  };

  const rows = days.map((day, i) => ({ day, total: totals[i] })).reverse();
  return h(
    'figure',
    { class: 'chart-figure' },
    responsiveSvg({ title, description, height, draw }),
    h(
      'figcaption',
      {},
      `${description} Days are UTC calendar days; ` +
        'select a bar or a day in the table to see its runs.',
    ),
    legend(shown),
    dataTable(
      'Show the numbers as a table',
      table({
        caption: `${title} (UTC days, newest first)`,
        columns: [
          {
            label: 'Day (UTC)',
            cell: (r) => h('a', { href: dayHref(r.day) }, formatDay(r.day, { long: true })),
          },
          ...shown.map((status) => ({
            label: statusLabel(status),
            numeric: true,
            cell: (r) => formatNumber(counts.get(r.day)?.[status] ?? 0),
          })),
          { label: 'Total', numeric: true, cell: (r) => formatNumber(r.total) },
        ],
        rows,
        className: 'compact',
      }),
    ),
  );
}

/**
 * The expected starts within a chart of runs (oldest first), each with the run that answered it
 * (the first to start at or after it and before the next expected start, as the server judges)
 * and where it goes among the runs: its run's position, or for a missed start the gap where it
 * fell. expected: ISO times, oldest first; next: the next expected start, or null. Starts before
 * the oldest run shown are outside the chart, unless a run shown answered them.
 */
function expectedStarts(ordered, expected, next) {
  const times = ordered.map((run) => Date.parse(run.startDateTime));
  return expected
    .map((iso, i) => {
      const at = Date.parse(iso);
      const following = expected[i + 1] ?? next;
      const until = following ? Date.parse(following) : Infinity;
      const after = times.findIndex((t) => t >= at);
      const answered = after >= 0 && times[after] < until;
      return {
        iso,
        run: answered ? ordered[after] : null,
        position: after >= 0 ? after : ordered.length,
      };
    })
    .filter((start) => start.run || Date.parse(start.iso) >= times[0]);
}

function expectedText(start) {
  const expected = `Expected ${formatDateTime(start.iso)}`;
  return start.run
    ? `${expected}, run started ${formatDateTime(start.run.startDateTime)}`
    : `${expected} — missed`;
}

/** An expected start's mark: a triangle above the plot, hollow with a dashed line if missed. */
function expectedMark(x, baseline, missed) {
  return [
    missed ? s('line', { class: 'expected-line', x1: x, x2: x, y1: 10, y2: baseline }) : null,
    s('path', { d: `M${x - 4} 1L${x + 4} 1L${x} 9Z`, class: 'expected-mark' }),
  ];
}

function expectedLegend() {
  return [false, true].map((missed) =>
    h(
      'li',
      { class: 'expected' },
      s(
        'svg',
        {
          width: 14,
          height: 14,
          'aria-hidden': 'true',
          class: missed ? 'swatch missed' : 'swatch',
        },
        ...expectedMark(7, 14, missed),
      ),
      missed ? 'Expected start missed' : 'Expected start, run started',
    ),
  );
}

/**
 * One bar per run, oldest on the left: its height is the run's duration (so far, for a running
 * run), its colour and marker its status; the expected starts (ISO times, oldest first) within
 * it marked above, each by the run that answered it or where it was missed. runs: newest first,
 * as the API lists them; next: the next expected start.
 */
export function runsChart({ runs, expected = [], next = null, now = Date.now() }) {
  const ordered = [...runs].reverse();
  const starts = expectedStarts(ordered, expected, next);
  const missed = starts.filter((start) => !start.run);
  const durations = ordered.map((run) => runDuration(run, now) ?? 0);
  const present = STATUSES.filter((st) => ordered.some((run) => statusKey(run.status) === st));
  const longest = Math.max(...durations, 0);
  const failed = ordered.filter((run) => run.status === 'failed').length;
  const title = `Duration and status of the latest ${ordered.length} runs, oldest first`;
  const missedWords = missed.length
    ? ` (${missed.map((start) => formatDateTime(start.iso)).join(', ')})`
    : '';
  const description = ordered.length
    ? `${ordered.length} runs from ${formatDateTime(ordered[0].startDateTime)} to ` +
      `${formatDateTime(ordered.at(-1).startDateTime)}; ${failed} failed; the longest took ` +
      `${formatDuration(longest)}.` +
      (starts.length
        ? ` ${starts.length} expected starts: ${starts.length - missed.length} answered by ` +
          `a run, ${missed.length} missed${missedWords}.`
        : '')
    : 'No runs yet.';
  const height = 260;

  const draw = (width) => {
    const step = niceTimeStep(Math.max(longest, SECOND));
    const top = Math.ceil(Math.max(longest, SECOND) / step) * step;
    const { lines, y } = yAxis(width, height, top, step, axisDuration);
    const plotWidth = width - MARGIN.left - MARGIN.right;
    const band = plotWidth / Math.max(ordered.length, 1);
    const barWidth = Math.max(1, band * 0.7);
    const r = Math.max(2.5, Math.min(5, band / 2));
    const bars = ordered.map((run, i) => {
      const status = statusKey(run.status);
      const x = MARGIN.left + i * band + (band - barWidth) / 2;
      const top = Math.min(y(durations[i]), y(0) - 1);
      const label =
        `${run.displayName} — ${statusLabel(status)} — ${formatDuration(durations[i])}` +
        ` — started ${formatDateTime(run.startDateTime)}`;
      return s(
        'g',
        { class: 'target', dataset: { href: runHref(run.id) } },
        s('title', {}, label),
        s('rect', {
          class: 'hit',
          x: MARGIN.left + i * band,
          width: band,
          y: MARGIN.top,
          height: height - MARGIN.top - MARGIN.bottom,
        }),
        s('rect', { class: `bar fill-${status}`, x, width: barWidth, y: top, height: y(0) - top }),
        marker(status, x + barWidth / 2, Math.max(MARGIN.top, top - r - 2), r),
      );
    });
    const labels = bandDates(ordered.map((run) => run.startDateTime), band, height);
    const marks = starts.map((start) =>
      s(
        'g',
        { class: start.run ? 'expected' : 'expected missed' },
        s('title', {}, expectedText(start)),
        ...expectedMark(
          MARGIN.left + (start.run ? start.position + 0.5 : start.position) * band,
          y(0),
          !start.run,
        ),
      ),
    );
    return [...lines, ...bars, horizontal('axis', width, y(0)), ...labels, ...marks];
  };

  return h(
    'figure',
    { class: 'chart-figure' },
    responsiveSvg({ title, description, height, draw }),
    h(
      'figcaption',
      {},
      `${description} Bar height is the run's duration; colour and marker show its status. ` +
        (starts.length
          ? 'Triangles above the bars mark expected starts: filled over the run that ' +
            'started for it, hollow with a dashed line where none did. '
          : '') +
        'Select a bar to open the run.',
    ),
    legend(present.length ? present : ['completed'], {
      markers: true,
      more: starts.length ? expectedLegend() : [],
    }),
    dataTable(
      'Show the runs as a table',
      table({
        caption: `${title}, newest first`,
        columns: [
          { label: 'Run', cell: (run) => h('a', { href: runHref(run.id) }, run.displayName) },
          { label: 'Status', cell: (run) => statusChip(run.status) },
          { label: 'Started', cell: (run) => time(run.startDateTime) },
          {
            label: 'Duration',
            numeric: true,
            cell: (run) => formatDuration(runDuration(run, now)),
          },
        ],
        rows: runs,
        className: 'compact',
      }),
    ),
    starts.length
      ? dataTable(
          'Show the expected starts as a table',
          table({
            caption: 'Expected starts in this chart, newest first',
            columns: [
              { label: 'Expected', cell: (start) => time(start.iso) },
              {
                label: 'Run',
                cell: (start) =>
                  start.run
                    ? h('a', { href: runHref(start.run.id) }, start.run.displayName)
                    : 'Missed',
              },
              { label: 'In words', cell: expectedText },
            ],
            rows: [...starts].reverse(),
            className: 'compact expected-starts',
          }),
        )
      : null,
  );
}

const MAX_BAR_WIDTH = 48;

/** The name a dataset access shows for its run: the run's own (expanded), else when it began. */
export function accessRunName(access) {
  return access.run?.displayName || `Run of ${formatDateTime(access.runStartDateTime)}`;
}

/**
 * One bar per run that wrote (or read) a dataset, oldest on the left: its height is the rows the
 * run wrote or read (no bar when the run did not say), its colour and marker the run's status.
 * accesses: newest run first, as the API lists a dataset's writes and reads.
 */
export function accessesChart({ accesses, verb }) {
  const ordered = [...accesses].reverse();
  const rows = ordered.map((access) => access.rowCount ?? 0);
  const present = STATUSES.filter((st) => ordered.some((a) => statusKey(a.runStatus) === st));
  const most = Math.max(...rows, 0);
  const counted = ordered.filter((access) => typeof access.rowCount === 'number');
  const total = counted.reduce((sum, access) => sum + access.rowCount, 0);
  const title =
    ordered.length === 1
      ? `Rows ${verb} by the one run`
      : `Rows ${verb} by the latest ${ordered.length} runs, oldest first`;
  const when =
    ordered.length === 1
      ? `One run, started ${formatDateTime(ordered[0].runStartDateTime)}`
      : `${ordered.length} runs from ${formatDateTime(ordered[0].runStartDateTime)} to ` +
        `${formatDateTime(ordered.at(-1).runStartDateTime)}`;
  const description =
    `${when}; ` +
    (counted.length
      ? `${formatNumber(total)} rows ${verb} in all, at most ${formatNumber(most)} by one run.`
      : 'none of them said how many rows.');
  const height = 220;

  const draw = (width) => {
    const step = niceStep(Math.max(most, 1));
    const top = Math.ceil(Math.max(most, 1) / step) * step;
    const { lines, y } = yAxis(width, height, top, step, formatNumber);
    const plotWidth = width - MARGIN.left - MARGIN.right;
    const band = plotWidth / Math.max(ordered.length, 1);
    // A few runs make wide bands; a bar stays a bar.
    const barWidth = Math.min(MAX_BAR_WIDTH, Math.max(1, band * 0.7));
    const r = Math.max(2.5, Math.min(5, band / 2));
    const bars = ordered.map((access, i) => {
      const status = statusKey(access.runStatus);
      const x = MARGIN.left + i * band + (band - barWidth) / 2;
      const barTop = Math.min(y(rows[i]), y(0));
      const amount =
        typeof access.rowCount === 'number'
          ? `${formatNumber(access.rowCount)} rows`
          : 'rows not said';
      const label =
        `${accessRunName(access)} — ${statusLabel(status)} — ${amount}` +
        ` — started ${formatDateTime(access.runStartDateTime)}`;
      return s(
        'g',
        { class: 'target', dataset: { href: runHref(access.runId) } },
        s('title', {}, label),
        s('rect', {
          class: 'hit',
          x: MARGIN.left + i * band,
          width: band,
          y: MARGIN.top,
          height: height - MARGIN.top - MARGIN.bottom,
        }),
        s('rect', {
          class: `bar fill-${status}`,
          x,
          width: barWidth,
          y: barTop,
          height: y(0) - barTop,
        }),
        marker(status, x + barWidth / 2, Math.max(MARGIN.top, barTop - r - 2), r),
      );
    });
    const labels = bandDates(
      ordered.map((access) => access.runStartDateTime),
      band,
      height,
    );
    return [...lines, ...bars, horizontal('axis', width, y(0)), ...labels];
  };

  return h(
    'figure',
    { class: 'chart-figure' },
    responsiveSvg({ title, description, height, draw }),
    h(
      'figcaption',
      {},
      `${description} Bar height is the rows a run ${verb}; colour and marker show the run's ` +
        'status. Select a bar to open the run.',
    ),
    legend(present.length ? present : ['completed'], { markers: true }),
    dataTable(
      `Show the runs that ${verb === 'written' ? 'wrote' : 'read'} it as a table`,
      table({
        caption: `${title}, newest first`,
        columns: [
          { label: 'Run', cell: (a) => h('a', { href: runHref(a.runId) }, accessRunName(a)) },
          { label: 'Status', cell: (a) => statusChip(a.runStatus) },
          { label: 'Started', cell: (a) => time(a.runStartDateTime) },
          {
            label: 'Rows',
            numeric: true,
            cell: (a) => (typeof a.rowCount === 'number' ? formatNumber(a.rowCount) : '—'),
          },
        ],
        rows: accesses,
        className: 'compact',
      }),
    ),
  );
}

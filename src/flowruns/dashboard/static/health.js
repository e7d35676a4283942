// Process health and dataset freshness as the dashboard says them: states and incident kinds in
// words (with the colour of the run status they resemble, which only helps), and an expectation
// in a sentence.

import { h } from './dom.js';

/** Health states, most severe first (the API declares them the other way round). */
export const HEALTH_STATES = [
  'paused',
  'missed',
  'failing',
  'overdue',
  'late',
  'ruleBroken',
  'slow',
  'unknown',
  'healthy',
];
/** The address value for processes without an expectation (no health at all). */
export const NOT_WATCHED = 'none';

const HEALTH = {
  healthy: ['Healthy', 'completed'],
  unknown: ['Unknown', 'unknownFutureValue'],
  slow: ['Slow', 'completedWithWarnings'],
  ruleBroken: ['Rule broken', 'completedWithWarnings'],
  late: ['Late', 'completedWithErrors'],
  overdue: ['Overdue', 'completedWithErrors'],
  failing: ['Failing', 'failed'],
  missed: ['Missed', 'failed'],
  paused: ['Paused', 'running'],
  // An incident kind only: a dataset's freshness (FRESHNESS below) has states of its own.
  stale: ['Stale', 'failed'],
  [NOT_WATCHED]: ['No expectation', 'unknownFutureValue'],
};

/** What each state means, for a tooltip and the legend (docs/monitoring.md#health). */
const MEANINGS = {
  healthy: 'Every condition of its expectation holds',
  unknown: 'Nothing was expected of it yet',
  slow: 'Its latest finished run took far longer than usual',
  ruleBroken: 'Its latest finished run broke its success rule',
  late: 'An expected start passed its grace without a run',
  overdue: 'A run is running longer than its maximum duration',
  failing: 'Its latest finished runs all failed',
  missed: 'An expected start passed without any run until the next',
  paused: 'Its expectation is paused',
  stale: 'A dataset was not written by a successful run as often as expected',
  [NOT_WATCHED]: 'It has no expectation, so its health is not evaluated',
};

export function healthLabel(state) {
  return (HEALTH[state] ?? HEALTH.unknown)[0];
}

export function healthMeaning(state) {
  return MEANINGS[state] ?? MEANINGS.unknown;
}

/** A health state as text and colour; null (no expectation) says so. */
export function healthChip(state) {
  const key = state ?? NOT_WATCHED;
  const [label, colour] = HEALTH[key] ?? HEALTH.unknown;
  return h(
    'span',
    { class: `chip chip-${colour}`, dataset: { health: key }, title: healthMeaning(key) },
    label,
  );
}

export const INCIDENT_KINDS = [
  'missed',
  'failing',
  'overdue',
  'late',
  'ruleBroken',
  'slow',
  'stale',
];

/** A dataset's freshness states (docs/lineage.md#freshness): label, colour, meaning. */
const FRESHNESS = {
  fresh: ['Fresh', 'completed', 'A successful run wrote it within the expected period'],
  unknown: ['Unknown', 'unknownFutureValue', 'Never written, and still within its first period'],
  stale: ['Stale', 'failed', 'No successful run wrote it within the expected period'],
  paused: ['Paused', 'running', 'Its freshness expectation is paused'],
};

export function freshnessMeaning(state) {
  return (FRESHNESS[state] ?? FRESHNESS.unknown)[2];
}

/** A dataset's freshness state as text and colour. */
export function freshnessChip(state) {
  const [label, colour, meaning] = FRESHNESS[state] ?? FRESHNESS.unknown;
  return h(
    'span',
    { class: `chip chip-${colour}`, dataset: { freshness: state }, title: meaning },
    label,
  );
}

/** 'PT30M' → '30 min', 'P1DT2H' → '1 d 2 h'; the text itself when it is no duration. */
export function durationWords(iso) {
  const match = /^(-)?P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(
    iso ?? '',
  );
  if (!match || iso === 'P' || iso.endsWith('T')) return iso ?? '';
  const [, , days, hours, minutes, seconds] = match;
  const parts = [];
  if (days) parts.push(`${Number(days)} d`);
  if (hours) parts.push(`${Number(hours)} h`);
  if (minutes) parts.push(`${Number(minutes)} min`);
  if (seconds) parts.push(`${Number(seconds)} s`);
  return parts.length ? parts.join(' ') : '0 s';
}

const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const NUMBER = /^\d+$/;

function clock(hour, minute) {
  return `${hour.padStart(2, '0')}:${minute.padStart(2, '0')}`;
}

/**
 * A schedule in words where it reads plainly ('every day at 02:00 Europe/Paris', 'every hour
 * at :15', 'Monday to Friday at 06:00 UTC', 'every 1 d from …'); otherwise the cron expression
 * itself ('on the cron schedule 0 6 29 2 * UTC').
 */
export function scheduleWords(schedule, timeZone) {
  const zone = timeZone || 'UTC';
  if (schedule.startsWith('R')) {
    const [repeat, start, every] = schedule.split('/');
    const times = repeat.length > 1 ? `, ${repeat.slice(1)} times` : '';
    const period = { '1 d': 'day', '1 h': 'hour', '1 min': 'minute' }[durationWords(every)];
    return `every ${period ?? durationWords(every)} from ${start}${times}`;
  }
  const fields = schedule.trim().split(/\s+/);
  if (fields.length === 5) {
    const [minute, hour, day, month, weekday] = fields;
    const anyDay = day === '*' && month === '*';
    if (NUMBER.test(minute) && hour === '*' && anyDay && weekday === '*') {
      return `every hour at :${minute.padStart(2, '0')}`;
    }
    if (NUMBER.test(minute) && NUMBER.test(hour) && anyDay) {
      const at = `at ${clock(hour, minute)} ${zone}`;
      if (weekday === '*') return `every day ${at}`;
      if (weekday === '1-5') return `Monday to Friday ${at}`;
      if (NUMBER.test(weekday) && WEEKDAYS[Number(weekday) % 7]) {
        return `every ${WEEKDAYS[Number(weekday) % 7]} ${at}`;
      }
    }
  }
  return `on the cron schedule ${schedule} (${zone})`;
}

/**
 * An expectation in one sentence: 'Expected every day at 02:00 Europe/Paris, 30 min grace, at
 * most 1 h a run; owner data-platform.'
 */
export function expectationWords(expectation) {
  if (!expectation) return 'No expectation: this process’s health is not evaluated.';
  const parts = [];
  if (expectation.schedule) {
    parts.push(`Expected ${scheduleWords(expectation.schedule, expectation.timeZone)}`);
  } else {
    parts.push('No schedule');
  }
  if (expectation.grace) parts.push(`${durationWords(expectation.grace)} grace`);
  if (expectation.maxDuration) {
    parts.push(`at most ${durationWords(expectation.maxDuration)} a run`);
  }
  if (expectation.durationAnomaly) {
    parts.push(`slow beyond ${expectation.durationAnomaly} × the median duration`);
  }
  if (expectation.failureStreak) {
    const streak = expectation.failureStreak;
    parts.push(`failing after ${streak} failed run${streak === 1 ? '' : 's'} in a row`);
  }
  if (expectation.successRule) parts.push(`a good run satisfies ${expectation.successRule}`);
  let sentence = `${parts.join(', ')}.`;
  if (expectation.paused) {
    sentence += expectation.pausedUntil
      ? ` Paused until ${new Date(expectation.pausedUntil).toLocaleString()}.`
      : ' Paused.';
  }
  return sentence;
}

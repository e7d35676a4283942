// How values read on screen: statuses, types, times (the browser's own zone) and durations.

/** Run statuses in the order charts stack them and lists show them. */
export const STATUSES = [
  'completed',
  'completedWithWarnings',
  'completedWithErrors',
  'failed',
  'running',
  'unknownFutureValue',
];
export const FINISHED = ['completed', 'completedWithWarnings', 'completedWithErrors', 'failed'];

const STATUS_LABELS = {
  running: 'Running',
  completed: 'Completed',
  completedWithWarnings: 'Completed with warnings',
  completedWithErrors: 'Completed with errors',
  failed: 'Failed',
  unknownFutureValue: 'Unknown',
};

export function statusLabel(status) {
  return STATUS_LABELS[status] ?? STATUS_LABELS.unknownFutureValue;
}

/** The CSS class suffix of a status; anything unexpected is shown as unknown. */
export function statusKey(status) {
  return status in STATUS_LABELS ? status : 'unknownFutureValue';
}

const RUN_TYPES = {
  outgoingFlowRun: 'Outgoing flow run',
  incomingFlowRun: 'Incoming flow run',
  runGroup: 'Run group',
};

/** 'dataShareOutgoingFlow' → 'Data share outgoing flow'. */
export function typeLabel(name) {
  if (RUN_TYPES[name]) return RUN_TYPES[name];
  const words = name.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** 'notReady' → 'Not ready' (enumeration members of processes). */
export function memberLabel(value) {
  return typeLabel(String(value));
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const dateTimeSeconds = new Intl.DateTimeFormat(undefined, {
  dateStyle: 'medium',
  timeStyle: 'medium',
});
const date = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });
const utcDay = new Intl.DateTimeFormat(undefined, {
  month: 'short',
  day: 'numeric',
  timeZone: 'UTC',
});
const utcDayLong = new Intl.DateTimeFormat(undefined, {
  weekday: 'short',
  month: 'short',
  day: 'numeric',
  timeZone: 'UTC',
});
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
const numbers = new Intl.NumberFormat();
const percent = new Intl.NumberFormat(undefined, { style: 'percent', maximumFractionDigits: 1 });

export function formatDateTime(iso, { seconds = false } = {}) {
  if (!iso) return '—';
  return (seconds ? dateTimeSeconds : dateTime).format(new Date(iso));
}

export function formatDate(iso) {
  return date.format(new Date(iso));
}

/** A UTC calendar day ('2026-11-03') as 'Nov 3', or with the weekday. */
export function formatDay(day, { long = false } = {}) {
  return (long ? utcDayLong : utcDay).format(new Date(`${day}T00:00:00Z`));
}

export function formatNumber(value) {
  return numbers.format(value);
}

export function formatPercent(fraction) {
  return percent.format(fraction);
}

/** '3 hours ago', 'yesterday', 'in 2 minutes'. */
export function formatAgo(iso, now = Date.now()) {
  const seconds = (new Date(iso).getTime() - now) / 1000;
  const units = [
    ['day', 86400],
    ['hour', 3600],
    ['minute', 60],
  ];
  for (const [unit, size] of units) {
    if (Math.abs(seconds) >= size) return relative.format(Math.round(seconds / size), unit);
  }
  return relative.format(Math.round(seconds), 'second');
}

/** Milliseconds as '45 s', '3 min 05 s', '2 h 10 min', '3 d 4 h'. */
export function formatDuration(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return '—';
  const total = Math.max(0, Math.round(ms / 1000));
  const days = Math.floor(total / 86400);
  const hours = Math.floor((total % 86400) / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  if (days) return `${days} d ${hours} h`;
  if (hours) return `${hours} h ${String(minutes).padStart(2, '0')} min`;
  if (minutes) return `${minutes} min ${String(seconds).padStart(2, '0')} s`;
  return `${seconds} s`;
}

/** How long a run took, or has been running so far. */
export function runDuration(run, now = Date.now()) {
  if (!run.startDateTime) return null;
  const end = run.endDateTime ? new Date(run.endDateTime).getTime() : now;
  return end - new Date(run.startDateTime).getTime();
}

/** The UTC day `days` after the day '2026-11-03' (negative: before). */
export function addDays(day, days) {
  const date = new Date(`${day}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() + days);
  return date.toISOString().slice(0, 10);
}

export function utcToday() {
  return new Date().toISOString().slice(0, 10);
}

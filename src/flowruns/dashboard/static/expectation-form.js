// The form that sets a process's expectation or a dataset's freshness expectation: one PUT with
// every member (an empty field is null), checked by the server as any client's is; a 400 is shown
// next to the field whose member the server named (the error's target), and nothing is written.
// Shown, as a disclosure, only with a token allowed to write it.

import { h, replace, uniqueId } from './dom.js';
import * as api from './api.js';
import { problem } from './components.js';
import * as session from './session.js';

// The members both kinds share (pause, routing), written after each kind's own; `paused` is the
// checkbox every form has.
const ROUTING_FIELDS = [
  [
    'pausedUntil',
    'Paused until',
    'With Paused: an ISO 8601 date and time (2026-12-24T00:00:00Z); empty: until unpaused.',
    'text',
  ],
  [
    'owner',
    'Owner',
    'Who answers for it, for routing and filtering.',
    'text',
  ],
  [
    'tags',
    'Tags',
    'Separated by commas.',
    'tags',
  ],
];

// [member, label, help, kind]; kind says how the text becomes JSON.
const PROCESS_FIELDS = [
  [
    'schedule',
    'Schedule',
    'A cron expression (0 2 * * *) or a repeating interval (R/2026-01-01T02:00:00Z/P1D); ' +
      'empty: no schedule.',
    'text',
  ],
  [
    'timeZone',
    'Time zone',
    'The IANA zone of a cron schedule, such as Europe/Paris; empty: UTC.',
    'text',
  ],
  [
    'grace',
    'Grace',
    'An ISO 8601 duration (PT30M): a start later than expected plus this is late.',
    'text',
  ],
  [
    'maxDuration',
    'Maximum duration',
    'An ISO 8601 duration (PT1H): a run still running after it is overdue.',
    'text',
  ],
  [
    'durationAnomaly',
    'Slow beyond',
    'A factor of at least 1: a run slower than this times the median is slow.',
    'number',
  ],
  [
    'failureStreak',
    'Failing after',
    'How many failed runs in a row (1–1000) make the process failing.',
    'number',
  ],
  [
    'successRule',
    'Success rule',
    'A $filter over the run, such as statistics/recordsFailed eq 0.',
    'text',
  ],
  ...ROUTING_FIELDS,
];

const DATASET_FIELDS = [
  [
    'writtenEvery',
    'Written every',
    'An ISO 8601 duration (P1D), required: a successful run is expected to write the dataset at ' +
      'least this often, else it is stale.',
    'text',
  ],
  ...ROUTING_FIELDS,
];

// What the expectation of each subject is edited with, and the permission the server asks for
// its write (docs/lineage.md#freshness): a process's is the process's, a dataset's the runs'.
const SUBJECTS = {
  process: { fields: PROCESS_FIELDS, permission: 'IndustryData-OutboundFlow.ReadWrite.All' },
  dataset: { fields: DATASET_FIELDS, permission: 'IndustryData-Run.ReadWrite.All' },
};

/**
 * A form's text as the member's JSON value: null when empty; a number when it reads as one
 * (else the text, for the server to name as wrong); tags as a list.
 */
function valueOf(kind, text) {
  const trimmed = text.trim();
  if (!trimmed) return kind === 'tags' ? [] : null;
  if (kind === 'number') return Number.isFinite(Number(trimmed)) ? Number(trimmed) : trimmed;
  if (kind === 'tags') {
    return trimmed
      .split(',')
      .map((tag) => tag.trim())
      .filter(Boolean);
  }
  return trimmed;
}

function textOf(kind, value) {
  if (value === null || value === undefined) return '';
  return kind === 'tags' ? value.join(', ') : String(value);
}

/** Whether the token may write the expectation of `subject` (any may, authentication off). */
export function mayWrite(subject) {
  const token = session.token();
  const { permission } = SUBJECTS[subject];
  return !token || (session.describe(token)?.permissions ?? []).includes(permission);
}

/** What the form of `fields` writes of `expectation`, to tell whether a new one changed it. */
function written(fields, expectation) {
  if (!expectation) return null;
  const members = ['paused', ...fields.map(([member]) => member)];
  return JSON.stringify(members.map((member) => expectation[member] ?? null));
}

/**
 * The form for the expectation at `base` ('processes/<id>', 'datasets/<id>') with `fields`,
 * filled from `expectation` (null: none yet); `onSaved(expectation or null)` after a write.
 */
function expectationForm(base, fields, expectation, { signal, onSaved }) {
  const inputs = {};
  const errors = {};
  const rows = fields.map(([member, label, help, kind]) => {
    const id = uniqueId(`expectation-${member}`);
    const helpId = `${id}-help`;
    const errorId = `${id}-error`;
    inputs[member] = h('input', {
      id,
      name: member,
      type: 'text',
      inputmode: kind === 'number' ? 'decimal' : null,
      autocomplete: 'off',
      spellcheck: 'false',
      'aria-describedby': `${helpId} ${errorId}`,
      value: textOf(kind, expectation?.[member]),
    });
    errors[member] = h('p', { id: errorId, class: 'field-error' });
    return h(
      'div',
      { class: 'field' },
      h('label', { for: id }, label),
      inputs[member],
      h('p', { id: helpId, class: 'help' }, help),
      errors[member],
    );
  });
  const pausedId = uniqueId('expectation-paused');
  const paused = h('input', {
    type: 'checkbox',
    id: pausedId,
    name: 'paused',
    checked: Boolean(expectation?.paused),
  });
  errors.paused = h('p', { id: `${pausedId}-error`, class: 'field-error' });
  paused.setAttribute('aria-describedby', `${pausedId}-error`);
  const outcome = h('div', { class: 'form-outcome', role: 'status' });
  const save = h('button', { type: 'submit', class: 'primary' }, 'Save expectation');
  const remove = h('button', { type: 'button', hidden: !expectation }, 'Remove expectation');
  const form = h(
    'form',
    { class: 'expectation-form', novalidate: true, 'aria-label': 'Expectation' },
    outcome,
    h('div', { class: 'form-grid' }, rows),
    h(
      'div',
      { class: 'field checkbox' },
      h('label', { for: pausedId }, paused, ' Paused (a maintenance window: nothing is evaluated)'),
      errors.paused,
    ),
    h('div', { class: 'actions' }, save, remove),
  );

  function clear() {
    for (const member of Object.keys(errors)) {
      errors[member].textContent = '';
      (inputs[member] ?? paused).removeAttribute('aria-invalid');
    }
    replace(outcome);
  }

  function failed(error) {
    const member = error.target && error.target in errors ? error.target : null;
    if (error.status === 400 && member) {
      errors[member].textContent = error.message;
      const field = inputs[member] ?? paused;
      field.setAttribute('aria-invalid', 'true');
      replace(
        outcome,
        h('p', { class: 'problem', role: 'alert' }, 'Not saved: one field needs a change.'),
      );
      field.focus();
      return;
    }
    replace(outcome, problem(error));
  }

  async function write(method, body) {
    clear();
    save.disabled = true;
    remove.disabled = true;
    try {
      const saved = await api.send(method, api.url(`${base}/expectation`), body, { signal });
      const done = method === 'DELETE' ? 'Expectation removed.' : 'Expectation saved.';
      replace(outcome, h('p', { class: 'saved' }, done));
      remove.hidden = method === 'DELETE';
      onSaved(saved);
    } catch (error) {
      if (error.name === 'AbortError') throw error;
      failed(error);
    } finally {
      save.disabled = false;
      remove.disabled = false;
    }
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const body = { paused: paused.checked };
    for (const [member, , , kind] of fields) {
      body[member] = valueOf(kind, inputs[member].value);
    }
    write('PUT', body);
  });
  remove.addEventListener('click', () => write('DELETE'));
  return form;
}

/**
 * Where the expectation of `subject` ('process' or 'dataset') at `base` is set, changed and
 * removed: `element`, which `show(expectation)` fills for the expectation the page read (null:
 * none) — a disclosure holding the form, or, for a token not allowed to write it, the permission
 * it needs. The form is drawn again only when what it writes changed (a write, here or
 * elsewhere), so that a refresh never wipes what is typed. `onSaved(expectation or null)` after
 * a write.
 */
export function expectationEditor(subject, base, { signal, onSaved }) {
  const { fields, permission } = SUBJECTS[subject];
  const element = h('div', {});
  let drawn; // what the form on screen writes; undefined before the first show

  function draw(expectation) {
    if (!mayWrite(subject)) {
      replace(
        element,
        h('p', { class: 'help' }, `Changing the expectation needs a token with ${permission}.`),
      );
      return;
    }
    const summary = h('summary', {}, expectation ? 'Edit the expectation' : 'Set an expectation');
    const form = expectationForm(base, fields, expectation, {
      signal,
      onSaved: (saved) => {
        drawn = written(fields, saved); // the form on screen shows it already
        summary.textContent = saved ? 'Edit the expectation' : 'Set an expectation';
        onSaved(saved);
      },
    });
    replace(element, h('details', { class: 'edit-expectation' }, summary, form));
  }

  function show(expectation) {
    const key = written(fields, expectation);
    if (key === drawn) return;
    drawn = key;
    draw(expectation);
  }
  return { element, show };
}

// Sign in by pasting a token. It is checked against the server before it is kept.

import { h, replace } from '../dom.js';
import * as api from '../api.js';
import * as session from '../session.js';

/** The sign-in form; `message` explains why we are here (an expired token, say). */
export function show(main, { message, onSignedIn }) {
  document.title = 'Sign in · flowruns';
  const problem = h(
    'div',
    { role: 'alert' },
    message ? h('p', { class: 'problem' }, message) : null,
  );
  const showProblem = (text) => {
    replace(problem, text ? h('p', { class: 'problem' }, text) : '');
  };
  const field = h('textarea', {
    id: 'token',
    name: 'token',
    rows: 5,
    required: true,
    autocomplete: 'off',
    autocapitalize: 'off',
    spellcheck: 'false',
    'aria-describedby': 'token-help',
  });
  const button = h('button', { type: 'submit', class: 'primary' }, 'Sign in');
  const form = h(
    'form',
    { class: 'signin-form', novalidate: true },
    h('label', { for: 'token' }, 'Access token'),
    field,
    h(
      'p',
      { id: 'token-help', class: 'help' },
      'A JWT for the flowruns API. This browser keeps it (local storage, shared by its tabs) ' +
        'until it expires or you sign out, and sends it to this server alone, in the ' +
        'Authorization header.',
    ),
    button,
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const value = session.normalize(field.value);
    const claims = session.describe(value);
    if (!claims) {
      showProblem('That is not a token: a JWT has three parts separated by dots (eyJ….eyJ….…).');
      field.focus();
      return;
    }
    if (!claims.expires || claims.expires.getTime() <= Date.now()) {
      showProblem(
        claims.expires
          ? `That token expired (${claims.expires.toLocaleString()}); use a current one.`
          : 'That token carries no expiry (exp); flowruns accepts only tokens that do.',
      );
      field.focus();
      return;
    }
    button.disabled = true;
    try {
      session.signIn(value);
      await api.get(api.url(''));
      onSignedIn();
    } catch (error) {
      session.signOut();
      if (error.status === 401) return; // the app shows this form again, with the reason
      showProblem(api.explain(error));
      field.focus();
    } finally {
      button.disabled = false;
    }
  });
  replace(
    main,
    h(
      'div',
      { class: 'signin' },
      h('h1', { tabindex: '-1' }, 'Sign in to flowruns'),
      problem,
      form,
      h(
        'div',
        { class: 'help' },
        h('h2', {}, 'Where to get a token'),
        h(
          'p',
          {},
          'On the machine running the server, ',
          h('code', {}, 'flowruns serve'),
          ' (and ',
          h('code', {}, 'make serve'),
          ') prints a sign-in link that opens this page already signed in, and a token to paste. ',
          h('code', {}, 'flowruns token'),
          ' mints more, for example a read-only one with ',
          h(
            'code',
            {},
            '--scope IndustryData-Run.Read.All --scope IndustryData-OutboundFlow.Read.All',
          ),
          '.',
        ),
      ),
    ),
  );
  field.focus();
}

// The API reference's interactive parts: Copy buttons for the curl lines, and the Try it forms,
// which send a request to this server's API with the token the dashboard is signed in with (the
// same browser storage: the page is on the same origin). The page reads fine without this.

import { token } from './session.js';

const SERVICE_ROOT = '/beta';

function element(tag, attributes = {}, text = '') {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  node.textContent = text;
  return node;
}

/** A Copy button beside every curl line. */
function addCopyButtons() {
  if (!navigator.clipboard) return;
  for (const pre of document.querySelectorAll('pre.curl')) {
    const box = element('div', { class: 'curl-box' });
    pre.replaceWith(box);
    const button = element('button', { type: 'button', 'aria-label': 'Copy the curl line' }, 'Copy');
    button.addEventListener('click', async () => {
      await navigator.clipboard.writeText(pre.textContent);
      button.textContent = 'Copied';
      setTimeout(() => {
        button.textContent = 'Copy';
      }, 2000);
    });
    box.append(pre, button);
  }
}

/** The request a Try it form describes: the URL below /beta, with its query, and the init. */
function requestOf(form) {
  let path = form.dataset.path;
  const query = [];
  const headers = { Accept: 'application/json' };
  const missing = [];
  for (const input of form.querySelectorAll('input')) {
    const [where, name] = input.name.split(/:(.*)/s);
    const value = input.value.trim();
    if (!value) {
      if (input.required) missing.push(name);
      continue;
    }
    if (where === 'path') path = path.replace(`{${name}}`, encodeURIComponent(value));
    if (where === 'query') query.push(`${name}=${encodeURIComponent(value)}`);
    if (where === 'header') headers[name] = value;
  }
  const init = { method: form.dataset.method.toUpperCase(), headers, cache: 'no-store' };
  const body = form.querySelector('textarea[name=body]');
  if (body && body.value.trim()) {
    headers['Content-Type'] = 'application/json';
    init.body = body.value;
  }
  const current = token();
  if (current) headers.Authorization = `Bearer ${current}`;
  const url = `${SERVICE_ROOT}${path}${query.length ? `?${query.join('&')}` : ''}`;
  return { url, init, missing };
}

async function show(result, response) {
  const text = await response.text();
  let shown = text;
  try {
    shown = JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    // Not JSON ($count is plain text, $metadata XML): shown as it came.
  }
  const status = element(
    'p',
    { class: response.ok ? 'try-status' : 'try-status failed' },
    `${response.status} ${response.statusText}`.trim(),
  );
  const body = element('pre', { tabindex: '0' }, shown || '(no body)');
  result.replaceChildren(status, body);
}

function setUpForm(form) {
  form.hidden = false;
  const note = form.querySelector('.try-signed-in');
  const describe = () => {
    note.replaceChildren();
    if (token()) {
      note.textContent = 'Requests are sent with the token the dashboard is signed in with.';
      return;
    }
    note.append('Not signed in: requests go without a token. ');
    note.append(element('a', { href: '/' }, 'Sign in on the dashboard'));
    note.append(' first, then try again here.');
  };
  describe();
  window.addEventListener('storage', describe);
  const result = form.querySelector('.try-result');
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    describe();
    const { url, init, missing } = requestOf(form);
    if (missing.length) {
      result.replaceChildren(element('p', { class: 'try-status failed' }, `Fill in ${missing.join(', ')}.`));
      return;
    }
    result.replaceChildren(element('p', {}, `Sending ${init.method} ${url} …`));
    try {
      await show(result, await fetch(url, init));
    } catch {
      result.replaceChildren(
        element('p', { class: 'try-status failed' }, 'The server could not be reached.'),
      );
    }
  });
}

addCopyButtons();
for (const form of document.querySelectorAll('form.try')) setUpForm(form);

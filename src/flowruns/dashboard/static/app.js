// The dashboard's shell: sign-in, routing, the session bar, live refreshes and announcements.

import { h, replace } from './dom.js';
import * as api from './api.js';
import * as session from './session.js';
import { problem, properties, tick, time } from './components.js';
import { currentRoute } from './router.js';
import * as overview from './pages/overview.js';
import * as runs from './pages/runs.js';
import * as run from './pages/run.js';
import * as processPage from './pages/process.js';
import * as processes from './pages/processes.js';
import * as incidents from './pages/incidents.js';
import * as incident from './pages/incident.js';
import * as datasets from './pages/datasets.js';
import * as dataset from './pages/dataset.js';
import * as signin from './pages/signin.js';

const REFRESH_MS = 5000;
const PAGES = {
  overview,
  runs,
  run,
  processes,
  process: processPage,
  incidents,
  incident,
  datasets,
  dataset,
  notFound: { show: notFound },
};
// The navigation entry each page belongs to.
const SECTIONS = {
  run: 'runs',
  process: 'processes',
  incident: 'incidents',
  dataset: 'datasets',
};

const main = document.getElementById('main');
const announcer = document.getElementById('announcer');
const sessionBar = document.getElementById('session');
const navigation = document.getElementById('navigation');
const liveStatus = document.getElementById('live-status');

let current = null; // the view on screen: {route, controller, pollers, instance}

function notFound(root) {
  document.title = 'Not found · flowruns';
  replace(
    root,
    h('h1', { tabindex: '-1' }, 'Nothing here'),
    h('p', {}, 'This address shows no view. ', h('a', { href: '#/' }, 'Go to the overview'), '.'),
  );
}

function announce(text) {
  // Emptied first so the same words twice are announced twice.
  announcer.textContent = '';
  setTimeout(() => {
    announcer.textContent = text;
  }, 100);
}

/** '00000000-0000-0000-0000-000000000001' → '00000000…0001'; the full id is in the details. */
function shortTenant(tenant) {
  return tenant.length > 16 ? `${tenant.slice(0, 8)}…${tenant.slice(-4)}` : tenant;
}

let sessionShown; // the token the bar describes (null: none, with authentication off)
let expiry = null; // the timer that signs out when the token expires

// setTimeout's longest delay (about 24.8 days); a token that lives longer is checked again then.
const LONGEST_TIMEOUT_MS = 2 ** 31 - 1;

/** Show the sign-in form the moment the kept token expires (token() drops it then). */
function watchExpiry() {
  clearTimeout(expiry);
  const expires = session.expiresAt();
  if (!expires) return;
  expiry = setTimeout(
    () => {
      if (session.token()) {
        watchExpiry();
        return;
      }
      const when = new Date(expires).toLocaleString();
      showSignIn(`Your token expired (${when}). Sign in with a new one.`);
    },
    Math.min(Math.max(expires - Date.now(), 0), LONGEST_TIMEOUT_MS),
  );
}

function showSession() {
  const token = session.token();
  if (sessionShown === token) return;
  sessionShown = token;
  watchExpiry();
  sessionBar.hidden = false;
  navigation.hidden = false;
  if (!token) {
    replace(sessionBar, h('span', { class: 'muted' }, 'Authentication is off on this server'));
    return;
  }
  const claims = session.describe(token);
  const signOut = h('button', { type: 'button', class: 'link-button' }, 'Sign out');
  signOut.addEventListener('click', () => {
    session.signOut();
    showSignIn('You signed out. The token was removed from this browser, in every tab.');
  });
  const tenant = claims?.tenant ?? 'unknown tenant';
  const permissions = claims?.permissions.length
    ? h(
        'ul',
        { class: 'plain' },
        claims.permissions.map((name) => h('li', {}, h('code', {}, name))),
      )
    : 'None named in the token';
  replace(
    sessionBar,
    h(
      'details',
      { class: 'session-details' },
      h(
        'summary',
        { title: `Signed in to tenant ${tenant}` },
        'Tenant ',
        h('code', {}, shortTenant(tenant)),
      ),
      h(
        'div',
        { class: 'session-claims' },
        properties([
          ['Tenant', h('code', {}, tenant)],
          ['Client', claims?.client || '—'],
          ['Permissions', permissions],
          ['Expires', claims?.expires ? time(claims.expires.toISOString()) : '—'],
        ]),
        h(
          'p',
          { class: 'help' },
          'Read from the token for display; the server checks it on every request.',
        ),
      ),
    ),
    signOut,
  );
}

function leaveView() {
  current?.controller.abort();
  current = null;
}

function showSignIn(message) {
  leaveView();
  clearTimeout(expiry);
  sessionShown = undefined;
  liveStatus.hidden = true;
  sessionBar.hidden = true;
  replace(sessionBar);
  navigation.hidden = true;
  signin.show(main, { message, onSignedIn: () => navigate({ focus: true }) });
}

function markNavigation(page) {
  for (const link of navigation.querySelectorAll('a[data-page]')) {
    if (link.dataset.page === (SECTIONS[page] ?? page)) {
      link.setAttribute('aria-current', 'page');
    } else {
      link.removeAttribute('aria-current');
    }
  }
}

let authenticationOff = null; // learnt once: does the server answer without a token?

async function navigate({ focus = false } = {}) {
  session.takeTokenFromFragment();
  if (!session.token()) {
    authenticationOff ??= await api.answersWithoutToken();
    if (!authenticationOff) {
      showSignIn();
      return;
    }
  }
  showSession();
  const route = currentRoute();
  markNavigation(route.page);
  if (current?.route.page === route.page && current.instance?.update) {
    current.route = route;
    await current.instance.update(route);
    return;
  }
  leaveView();
  const controller = new AbortController();
  const view = {
    route,
    controller,
    signal: controller.signal,
    pollers: [],
    deltas: new Map(), // collection → its changesOf, asked once per live update
    instance: null,
    announce,
    // `follows`: the collections whose changes make `refresh` worth running; each live
    // update first asks their delta (an empty page when nothing changed) and skips it if so.
    // `evaluated`: the view shows process health, which the server evaluates a little after
    // the change that calls for it, so it is refreshed at the update after a change too.
    poll(refresh, { follows = [], evaluated = false } = {}) {
      for (const path of follows) {
        if (!this.deltas.has(path)) this.deltas.set(path, api.changesOf(path));
      }
      this.pollers.push({ refresh, follows, evaluated, settling: false });
    },
  };
  current = view;
  window.scrollTo(0, 0);
  try {
    view.instance = (await PAGES[route.page].show(main, view)) ?? null;
  } catch (error) {
    if (error.name === 'AbortError' || current !== view) return;
    main.append(problem(error));
  }
  if (focus && current === view) main.querySelector('h1')?.focus();
}

let refreshing = false;

/** Run the current view's live refreshes, one at a time, only while the tab is visible. */
async function refresh() {
  const view = current;
  if (!view || refreshing || document.visibilityState !== 'visible') return;
  refreshing = true;
  try {
    const changed = new Set();
    for (const [path, changesSince] of view.deltas) {
      // Every one is asked, so that each moves on to its new deltaLink.
      if (await changesSince({ signal: view.signal })) changed.add(path);
    }
    for (const poller of view.pollers) {
      const now = poller.follows.length === 0 || poller.follows.some((path) => changed.has(path));
      const settling = poller.settling;
      poller.settling = poller.evaluated && now;
      if (now || settling) await poller.refresh();
    }
    liveStatus.hidden = true;
  } catch (error) {
    if (error.name === 'AbortError' || current !== view) return;
    const reason = api.explain(error);
    liveStatus.textContent = `Live updates paused: ${reason} Trying again every 5 seconds.`;
    liveStatus.hidden = false;
  } finally {
    refreshing = false;
  }
}

session.onOtherTab((signedIn) => {
  if (!signedIn && sessionShown) {
    showSignIn('You signed out in another tab of this browser.');
  } else if (signedIn && sessionShown !== session.token()) {
    leaveView(); // signed in (again, or as someone else) in another tab: start afresh
    navigate({ focus: true });
  }
});
api.onUnauthorized((error) => {
  session.signOut();
  showSignIn(`Please sign in again: ${error.message}`);
});
document.getElementById('skip-link').addEventListener('click', (event) => {
  event.preventDefault(); // '#main' would read as a route
  main.focus();
});
window.addEventListener('hashchange', () => navigate({ focus: true }));
document.addEventListener('visibilitychange', refresh);
setInterval(refresh, REFRESH_MS);
setInterval(() => tick(main), 1000);
navigate();

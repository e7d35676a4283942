// A list read a page at a time: the URLs of the pages up to the one shown (the first from the
// filters, then the server's @odata.nextLink), so Previous goes back without the server keeping
// any state. An answer overtaken by a newer request (filters changed, another page asked) is
// dropped; a page that cannot be read shows the problem and keeps Previous.

import { replace } from './dom.js';
import * as api from './api.js';
import { problem } from './components.js';
import { formatNumber } from './format.js';

/** Where a page of ``count`` items from position ``first`` lies: “26–50 of 1,234”. */
export function pageRange(first, count, total) {
  const of = typeof total === 'number' ? ` of ${formatNumber(total)}` : '';
  return `${formatNumber(first)}–${formatNumber(first + count - 1)}${of}`;
}

/**
 * Wire the Previous and Next buttons of a list. ``draw(body, {first, more})`` shows a page:
 * ``first`` is the position of its first item (from 1), ``more`` whether a next page exists.
 * ``loadingText``, when given, is shown in ``status`` while a page is on its way.
 */
export function pager({ signal, pageSize, status, results, previous, next, loadingText, draw }) {
  let pages = [];
  let nextLink = null;
  let generation = 0;

  function show(body) {
    nextLink = body['@odata.nextLink'] ?? null;
    draw(body, { first: (pages.length - 1) * pageSize + 1, more: Boolean(nextLink) });
    previous.disabled = pages.length < 2;
    next.disabled = !nextLink;
  }

  async function load(target) {
    generation += 1;
    const mine = generation;
    previous.disabled = true;
    next.disabled = true;
    if (loadingText) status.textContent = loadingText;
    let body;
    try {
      body = await api.get(target, { signal });
    } catch (error) {
      if (error.name === 'AbortError' || mine !== generation) return;
      if (loadingText) status.textContent = '';
      replace(results, problem(error));
      previous.disabled = pages.length < 2;
      return;
    }
    if (mine !== generation) return; // filters changed while this page was on its way
    show(body);
  }

  function turn(button, change) {
    change();
    load(pages.at(-1)).then(() => {
      if (button.disabled) status.focus(); // keep keyboard focus somewhere sensible
    });
  }
  next.addEventListener('click', () => turn(next, () => pages.push(nextLink)));
  previous.addEventListener('click', () => turn(previous, () => pages.pop()));

  return {
    /** Show the first page of ``url`` (new filters). */
    start(url) {
      pages = [url];
      return load(url);
    },
    /** Show ``body``, a fresh answer to the page shown (a live refresh). */
    show,
    /** The URL of the page shown, of the first page, and how deep the list is followed. */
    get url() {
      return pages.at(-1);
    },
    get firstUrl() {
      return pages[0];
    },
    get depth() {
      return pages.length;
    },
    /** Changes whenever a page is asked: a refresh started before then is stale. */
    get generation() {
      return generation;
    },
  };
}

// Datasets by name: a search by part of the name (and a namespace, and a freshness), 50 a page
// with the total, each with its last successful write and its freshness; Next follows the
// server's @odata.nextLink.

import { h, replace } from '../dom.js';
import * as api from '../api.js';
import { datasetHref, empty, loading, table, time } from '../components.js';
import { formatNumber } from '../format.js';
import { freshnessChip } from '../health.js';
import { pageRange, pager } from '../pager.js';
import { datasetsHref } from '../router.js';

const PAGE_SIZE = 50;
const FIELDS = 'id,namespace,name,lastWrittenDateTime,lastWrittenRunId';
// The freshness filter's choices: a state of the expectation, or no expectation at all.
const FRESHNESS_CHOICES = [
  ['', 'Any'],
  ['stale', 'Stale'],
  ['fresh', 'Fresh'],
  ['unknown', 'Unknown'],
  ['paused', 'Paused'],
  ['none', 'No expectation'],
];

/** The `$filter` of a freshness choice. */
function freshnessFilter(freshness) {
  if (freshness === 'none') return 'expectation eq null';
  return freshness ? `expectation/state eq ${api.literal(freshness)}` : '';
}

function filtersOf(params) {
  return {
    q: (params.get('q') ?? '').trim(),
    namespace: (params.get('namespace') ?? '').trim(),
    freshness: FRESHNESS_CHOICES.some(([value]) => value === params.get('freshness'))
      ? params.get('freshness')
      : '',
  };
}

/** The first page's request: names containing `q` whatever their case, by name, each with the
 * state of its freshness expectation. */
function datasetsUrl({ q = '', namespace = '', freshness = '' }, top = PAGE_SIZE) {
  const conditions = [
    namespace ? `namespace eq ${api.literal(namespace)}` : '',
    freshnessFilter(freshness),
  ].filter(Boolean);
  return api.url('datasets', {
    $filter: conditions.join(' and '),
    $search: q ? api.phrase(q) : '',
    $orderby: 'name,namespace',
    $select: FIELDS,
    $expand: 'expectation($select=state)',
    $top: top,
    $count: 'true',
  });
}

/** When a successful run last wrote the dataset, or that none has, in words. */
export function lastWritten(dataset) {
  if (!dataset.lastWrittenDateTime) {
    return h('span', { class: 'muted' }, 'Never written by a successful run');
  }
  return time(dataset.lastWrittenDateTime, { ago: true });
}

function datasetsTable(datasets) {
  return table({
    caption: 'Datasets by name',
    columns: [
      {
        label: 'Dataset',
        cell: (dataset) => h('a', { href: datasetHref(dataset.id) }, dataset.name),
      },
      { label: 'Namespace', cell: (dataset) => h('code', {}, dataset.namespace) },
      { label: 'Last successful write', cell: lastWritten },
      {
        label: 'Freshness',
        cell: (dataset) =>
          dataset.expectation
            ? freshnessChip(dataset.expectation.state)
            : h('span', { class: 'muted' }, 'No expectation'),
      },
    ],
    rows: datasets,
    rowAttributes: (dataset) => ({ dataset: { datasetId: dataset.id } }),
    className: 'runs datasets',
  });
}

function filterForm(onChange) {
  const q = h('input', {
    type: 'search',
    id: 'filter-q',
    name: 'q',
    autocomplete: 'off',
    placeholder: 'Part of a dataset name',
  });
  const namespace = h('input', {
    type: 'text',
    id: 'filter-namespace',
    name: 'namespace',
    autocomplete: 'off',
  });
  const freshness = h(
    'select',
    { id: 'filter-freshness', name: 'freshness' },
    FRESHNESS_CHOICES.map(([value, label]) => h('option', { value }, label)),
  );
  const form = h(
    'form',
    { class: 'filters', role: 'search', 'aria-label': 'Search datasets' },
    h('div', { class: 'field grow' }, h('label', { for: 'filter-q' }, 'Name contains'), q),
    h('div', { class: 'field' }, h('label', { for: 'filter-namespace' }, 'Namespace'), namespace),
    h('div', { class: 'field' }, h('label', { for: 'filter-freshness' }, 'Freshness'), freshness),
    h(
      'div',
      { class: 'actions' },
      h('button', { type: 'submit', class: 'primary' }, 'Search'),
      h('a', { href: '#/datasets', class: 'button' }, 'Clear'),
    ),
  );
  const read = () => ({
    q: q.value.trim(),
    namespace: namespace.value.trim(),
    freshness: freshness.value,
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    onChange(read());
  });
  form.addEventListener('change', () => onChange(read()));
  return {
    element: h('div', { class: 'filter-box' }, form),
    show(filters) {
      q.value = filters.q;
      namespace.value = filters.namespace;
      freshness.value = filters.freshness;
    },
  };
}

export async function show(main, view) {
  document.title = 'Datasets · flowruns';
  let filters = filtersOf(view.route.params);
  const form = filterForm((chosen) => {
    location.hash = datasetsHref(chosen);
  });
  const status = h('p', { class: 'results-status', role: 'status', tabindex: '-1' });
  const results = h('div', { class: 'results' }, loading());
  const previous = h('button', { type: 'button', disabled: true }, 'Previous page');
  const next = h('button', { type: 'button', disabled: true }, 'Next page');
  replace(
    main,
    h('h1', { tabindex: '-1' }, 'Datasets'),
    h(
      'p',
      { class: 'help' },
      'The datasets runs read and write, by name, with the end of the last successful run ' +
        'that wrote each and whether that is as often as its freshness expectation asks.',
    ),
    form.element,
    h(
      'section',
      { class: 'panel', 'aria-label': 'Results' },
      status,
      results,
      h('nav', { class: 'pager', 'aria-label': 'Pages' }, previous, next),
    ),
  );
  form.show(filters);

  let seen = null; // the datasets shown, as JSON, for the live refresh

  const list = pager({
    signal: view.signal,
    pageSize: PAGE_SIZE,
    status,
    results,
    previous,
    next,
    draw(body, { first, more }) {
      const datasets = body.value ?? [];
      seen = JSON.stringify(body.value);
      const total = body['@odata.count'];
      const count = datasets.length;
      if (!count) {
        status.textContent = filters.q
          ? `No dataset's name contains “${filters.q}”.`
          : 'No datasets match.';
      } else if (first === 1 && !more) {
        status.textContent = `${formatNumber(count)} ${count === 1 ? 'dataset' : 'datasets'}.`;
      } else {
        const range = pageRange(first, count, total);
        status.textContent = `Datasets ${range}${more ? '; more on the next page' : ''}.`;
      }
      replace(
        results,
        count
          ? datasetsTable(datasets)
          : empty('Datasets appear when runs record what they read and write.'),
      );
    },
  });

  async function refresh() {
    const mine = list.generation;
    const body = await api.get(list.url, { signal: view.signal });
    if (mine !== list.generation || JSON.stringify(body.value) === seen) return;
    list.show(body);
  }
  // A dataset's freshness changes with its incidents, not with the dataset itself.
  view.poll(refresh, { follows: ['datasets', 'incidents'] });

  async function apply(route) {
    filters = filtersOf(route.params);
    form.show(filters);
    await list.start(datasetsUrl(filters));
  }
  await apply(view.route);
  return { update: apply };
}

// Hash routes, so every view (filters included) is a link to share and back/forward just work:
//   #/                       overview
//   #/runs?status=failed&type=outgoingFlowRun&process=<id>&from=2026-11-01&to=2026-11-07&q=text
//          &input=<dataset name>&output=<dataset name>
//   #/runs/<id>              one run
//   #/processes?health=missed&owner=data&tag=nightly&type=…&q=text&sort=name
//   #/processes/<id>         one process
//   #/incidents?state=resolved&kind=missed&process=<id>&dataset=<id>
//   #/incidents/<id>         one incident
//   #/datasets?q=text        datasets whose name contains text
//   #/datasets/<id>          one dataset

export function currentRoute() {
  const raw = location.hash.replace(/^#/, '');
  const cut = raw.indexOf('?');
  const path = cut < 0 ? raw : raw.slice(0, cut);
  const params = new URLSearchParams(cut < 0 ? '' : raw.slice(cut + 1));
  let parts;
  try {
    parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  } catch {
    return { page: 'notFound', params };
  }
  if (parts.length === 0) return { page: 'overview', params };
  if (parts[0] === 'runs' && parts.length === 1) return { page: 'runs', params };
  if (parts[0] === 'runs' && parts.length === 2) return { page: 'run', id: parts[1], params };
  if (parts[0] === 'processes' && parts.length === 1) return { page: 'processes', params };
  if (parts[0] === 'processes' && parts.length === 2) {
    return { page: 'process', id: parts[1], params };
  }
  if (parts[0] === 'incidents' && parts.length === 1) return { page: 'incidents', params };
  if (parts[0] === 'incidents' && parts.length === 2) {
    return { page: 'incident', id: parts[1], params };
  }
  if (parts[0] === 'datasets' && parts.length === 1) return { page: 'datasets', params };
  if (parts[0] === 'datasets' && parts.length === 2) {
    return { page: 'dataset', id: parts[1], params };
  }
  return { page: 'notFound', params };
}

/**
 * A list page's address with filters: listHref('runs', {status: ['failed']}) is
 * '#/runs?status=failed'; empty values are left out.
 */
function listHref(page, filters = {}) {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(filters)) {
    for (const item of Array.isArray(value) ? value : [value]) {
      if (item !== undefined && item !== null && item !== '') params.append(name, item);
    }
  }
  const query = params.toString();
  return query ? `#/${page}?${query}` : `#/${page}`;
}

export function runsHref(filters = {}) {
  return listHref('runs', filters);
}

export function processesHref(filters = {}) {
  return listHref('processes', filters);
}

export function incidentsHref(filters = {}) {
  return listHref('incidents', filters);
}

export function datasetsHref(filters = {}) {
  return listHref('datasets', filters);
}

// Hash routes, so every view (filters included) is a link to share and back/forward just work:
//   #/                       overview
//   #/runs?status=failed&type=outgoingFlowRun&process=<id>&from=2026-11-01&to=2026-11-07&q=text
//   #/runs/<id>              one run
//   #/processes/<id>         one process

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
  if (parts[0] === 'processes' && parts.length === 2) {
    return { page: 'process', id: parts[1], params };
  }
  return { page: 'notFound', params };
}

/** '#/runs?status=failed' from {status: ['failed']} or URLSearchParams; empty values left out. */
export function runsHref(filters = {}) {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(filters)) {
    for (const item of Array.isArray(value) ? value : [value]) {
      if (item !== undefined && item !== null && item !== '') params.append(name, item);
    }
  }
  const query = params.toString();
  return query ? `#/runs?${query}` : '#/runs';
}

// Requests to the flowruns API: the bearer token on every call, Graph errors as ApiError, paging
// by following @odata.nextLink exactly as the server wrote it.

import { token } from './session.js';

export const SERVICE_ROOT = '/beta/external/industryData';
export const NAMESPACE = 'microsoft.graph.industryData';
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A Graph error response ({"error": {"code", "message", …}}) or a failure to reach the server. */
export class ApiError extends Error {
  constructor(status, code, message, target) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.target = target ?? null;
  }
}

let unauthorized = () => {};

/** Called with the ApiError of any 401, before the request's own caller sees it. */
export function onUnauthorized(handler) {
  unauthorized = handler;
}

/**
 * The URL of `path` below the hub with query options, e.g.
 * url('runs', {$filter: "status eq 'failed'", $top: 5}). Empty options are left out; option
 * names keep their '$' so the address reads like the API documentation.
 */
export function url(path, options = {}) {
  const query = Object.entries(options)
    .filter(([, value]) => value !== undefined && value !== null && value !== '')
    .map(([name, value]) => `${name}=${encodeURIComponent(value)}`)
    .join('&');
  const where = path ? `${SERVICE_ROOT}/${path}` : SERVICE_ROOT;
  return query ? `${where}?${query}` : where;
}

/** An OData string literal: 'it''s'. */
export function literal(text) {
  return `'${String(text).replaceAll("'", "''")}'`;
}

/** A $search phrase matching `text` as typed: "say \"hi\"". */
export function phrase(text) {
  return `"${String(text).replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

export function isGuid(text) {
  return GUID.test(text ?? '');
}

/** A run or process type's short name from its "@odata.type" ("#….outgoingFlowRun"). */
export function typeName(entity) {
  const full = entity?.['@odata.type'] ?? '';
  return full.slice(full.lastIndexOf('.') + 1);
}

/**
 * `target` as an absolute URL when it is this server's API (the service root on this page's
 * own origin), the only place the token is ever sent; null for anything else.
 */
export function apiAddress(target) {
  const address = new URL(target, location.href);
  const api = address.origin === location.origin && address.pathname.startsWith('/beta/');
  return api ? address.href : null;
}

/** GET a URL (from url() or a nextLink) and return the JSON body; throws ApiError. */
export async function get(target, { signal } = {}) {
  return request('GET', target, { signal });
}

/**
 * PUT, PATCH, POST or DELETE `body` as JSON to this server's API; the JSON answer (null for
 * 204). A 400 carries the member the server found wrong as ApiError.target.
 */
export async function send(method, target, body, { signal } = {}) {
  return request(method, target, { body, signal });
}

async function request(method, target, { body, signal }) {
  const address = apiAddress(target);
  if (address === null) {
    // A link the server wrote for another address (a public URL this page was not opened at).
    throw new ApiError(0, 'foreignLink', `Not following ${target}: it is not this server's API.`);
  }
  const headers = { Accept: 'application/json' };
  if (token()) headers.Authorization = `Bearer ${token()}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(address, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
      signal,
    });
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    throw new ApiError(0, 'networkError', 'The flowruns server could not be reached.');
  }
  const answer = await response.json().catch(() => null);
  if (response.ok) return answer;
  const error = answer?.error ?? {};
  const failure = new ApiError(
    response.status,
    error.code ?? `HTTP ${response.status}`,
    error.message ?? response.statusText,
    error.target,
  );
  if (response.status === 401) unauthorized(failure);
  throw failure;
}

/**
 * Whether the server answers without a token: `flowruns serve --no-auth`, for local experiments.
 * Asked once, before showing the sign-in form.
 */
export async function answersWithoutToken() {
  try {
    const response = await fetch(url(''), { headers: { Accept: 'application/json' } });
    return response.ok;
  } catch {
    return false;
  }
}

/** Every item of a collection, following nextLinks for at most `maxPages` pages. */
export async function getAll(target, { signal, maxPages = 10 } = {}) {
  const items = [];
  let next = target;
  for (let page = 0; next && page < maxPages; page += 1) {
    const body = await get(next, { signal });
    items.push(...(body.value ?? []));
    next = body['@odata.nextLink'];
  }
  return items;
}

/**
 * A collection followed with delta query ('runs', 'processes'): each call of the function
 * returned follows the last deltaLink and says whether anything in the collection changed
 * since the call before, which costs an empty page when nothing did. The first call only takes
 * a deltaLink at the current state and answers true, as does a call after the server forgot
 * the state (410 syncStateNotFound).
 */
export function changesOf(path) {
  let link = null;
  return async ({ signal } = {}) => {
    if (link === null) {
      const latest = url(`${path}/delta()`, { $select: 'id', $deltatoken: 'latest' });
      link = (await get(latest, { signal }))['@odata.deltaLink'];
      return true;
    }
    let changed = false;
    let next = link;
    try {
      while (next) {
        const body = await get(next, { signal });
        changed ||= (body.value ?? []).length > 0;
        if (body['@odata.deltaLink']) link = body['@odata.deltaLink'];
        next = body['@odata.nextLink'];
      }
    } catch (error) {
      if (error.status !== 410) throw error;
      link = null;
      return true;
    }
    return changed;
  };
}

/** What to tell a person about an error, in one sentence or two. */
export function explain(error) {
  if (error.status === 403) {
    return `Your token lacks a permission this view needs. ${error.message}`;
  }
  if (error.code === 'networkError') return `${error.message} Is it still running?`;
  return error.message;
}

// The signed-in token: kept in localStorage, so every tab of this browser shares one sign-in,
// until the token's own expiry (`exp`), when it is dropped. Signing out in one tab signs every
// tab out (each hears of it through the 'storage' event). What the page shows about the token
// is read from the token itself, for display; the server verifies every request.

const KEY = 'flowruns.token';
const FRAGMENT = '#token=';

// Tokens were kept per tab in sessionStorage before: none is left behind there.
sessionStorage.removeItem(KEY);

/** The kept token, or null; a token past its `exp` is dropped here, in every tab at once. */
export function token() {
  const value = localStorage.getItem(KEY);
  if (value === null) return null;
  if (expiresAt(value) > Date.now()) return value;
  localStorage.removeItem(KEY);
  return null;
}

/** When `value` (or the kept token) expires, in milliseconds since the epoch; 0 if unknown. */
export function expiresAt(value = localStorage.getItem(KEY)) {
  return describe(value)?.expires?.getTime() ?? 0;
}

export function signIn(value) {
  localStorage.setItem(KEY, value);
}

export function signOut() {
  localStorage.removeItem(KEY);
}

/**
 * Calls `onChange(signedIn)` when another tab of this browser signs in or out (a tab never
 * hears of its own changes).
 */
export function onOtherTab(onChange) {
  window.addEventListener('storage', (event) => {
    if (event.storageArea !== localStorage) return;
    if (event.key === KEY || event.key === null) onChange(token() !== null);
  });
}

/**
 * Sign in from the link serve prints (the page address + #token=eyJ…), then take the token out
 * of the address bar and history at once. A fragment never reaches the server, so it is not
 * logged.
 */
export function takeTokenFromFragment() {
  if (!location.hash.startsWith(FRAGMENT)) return false;
  const value = normalize(decodeURIComponent(location.hash.slice(FRAGMENT.length)));
  history.replaceState(null, '', `${location.pathname}${location.search}#/`);
  if (value) signIn(value);
  return Boolean(value);
}

/** What a user may paste: the bare token, 'Bearer …', or the 'export TOKEN=…' line serve prints. */
export function normalize(text) {
  return text
    .trim()
    .replace(/^export\s+TOKEN=/, '')
    .replace(/^Authorization:\s*/i, '')
    .replace(/^Bearer\s+/i, '')
    .replace(/^["']|["']$/g, '')
    .trim();
}

function base64UrlJson(part) {
  const base64 = part.replace(/-/g, '+').replace(/_/g, '/');
  const binary = atob(base64.padEnd(Math.ceil(base64.length / 4) * 4, '='));
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes));
}

/** The claims a person cares about, or null when the text is not a JWT. */
export function describe(value) {
  const parts = (value ?? '').split('.');
  if (parts.length !== 3) return null;
  let claims;
  try {
    claims = base64UrlJson(parts[1]);
  } catch {
    return null;
  }
  if (typeof claims !== 'object' || claims === null) return null;
  const scopes = typeof claims.scp === 'string' ? claims.scp.split(' ') : [];
  const roles = Array.isArray(claims.roles) ? claims.roles.map(String) : [];
  return {
    tenant: typeof claims.tid === 'string' ? claims.tid : null,
    client: String(claims.appid ?? claims.azp ?? claims.sub ?? ''),
    permissions: [...scopes, ...roles].filter(Boolean),
    expires: typeof claims.exp === 'number' ? new Date(claims.exp * 1000) : null,
  };
}

// The JSON API client: the session cookie goes with every request, and
// every state-changing one carries the session's X-CSRF-Token.

// ApiError is a failed API call: status, the API's stable code and its
// human message; retryAfter is in seconds when the server said so.
export class ApiError extends Error {
  constructor(status, code, message, retryAfter) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

// session is who is signed in: {name, role, csrf}, or null.
export let session = null;

// signedOut is dispatched on window when the server no longer knows the
// session (401), so that the app shows the sign-in page.
export const signedOutEvent = 'rackboot:signed-out';

function forget() {
  session = null;
  window.dispatchEvent(new Event(signedOutEvent));
}

// request calls the API and returns its decoded JSON body (null for an
// empty one), or throws ApiError.
export async function request(method, path, body) {
  const headers = {Accept: 'application/json'};
  const init = {method, headers, credentials: 'same-origin', cache: 'no-store', redirect: 'error'};
  if (method !== 'GET' && method !== 'HEAD') {
    if (session && session.csrf) headers['X-CSRF-Token'] = session.csrf;
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
  }
  let resp;
  try {
    resp = await fetch(path, init);
  } catch (err) {
    throw new ApiError(0, 'unavailable', `rackboot did not answer (${err.message})`);
  }
  const data = await decode(resp);
  if (resp.ok) return data;
  const msg = (data && data.error) || `${resp.status} ${resp.statusText}`;
  const retry = parseInt(resp.headers.get('Retry-After') || '', 10);
  const err = new ApiError(resp.status, (data && data.code) || '', msg,
    Number.isNaN(retry) ? undefined : retry);
  if (resp.status === 401 && path !== '/login' && session) forget();
  throw err;
}

async function decode(resp) {
  const type = resp.headers.get('Content-Type') || '';
  if (!type.startsWith('application/json')) return null;
  try {
    return await resp.json();
  } catch {
    return null;
  }
}

export const get = (path) => request('GET', path);
export const post = (path, body) => request('POST', path, body);
export const del = (path) => request('DELETE', path);

// query builds "path?k=v&..." from the non-empty values of params.
export function query(path, params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== '' && v !== null && v !== undefined) q.set(k, v);
  }
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

// loadSession asks the server who the session cookie belongs to; it
// returns null when there is no valid session.
export async function loadSession() {
  try {
    session = await get('/api/v1/session');
  } catch (err) {
    if (err.status !== 401) throw err;
    session = null;
  }
  return session;
}

// login signs in with token and loads the session (and its CSRF token).
export async function login(token) {
  await request('POST', '/login', {token});
  return loadSession();
}

// logout ends the session on the server, then here.
export async function logout() {
  try {
    await post('/logout');
  } finally {
    forget();
  }
}

// canOperate reports whether the session may change things.
export function canOperate() {
  return !!session && session.role === 'operator';
}

// enc escapes one path segment (a name or a MAC).
export const enc = encodeURIComponent;

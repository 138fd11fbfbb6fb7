// The sidecar's HTTP API, as the node's owner.
import { ownerKey, sidecarUrl } from './host.js';

/** An error the sidecar answered, in its own words. */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** The owner's credential as request headers. */
export function ownerHeaders() {
  const key = ownerKey();
  return key ? { authorization: `Bearer ${key}` } : {};
}

/** Calls the sidecar; JSON in and out; throws ApiError with the sidecar's message. */
export async function api(path, { method = 'GET', body, key } = {}) {
  const headers = key ? { authorization: `Bearer ${key}` } : ownerHeaders();
  if (body !== undefined) headers['content-type'] = 'application/json';
  let resp;
  try {
    resp = await fetch(sidecarUrl() + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw new ApiError(0, `the node at ${sidecarUrl()} cannot be reached (${e.message})`);
  }
  const text = await resp.text();
  let value;
  try {
    value = text ? JSON.parse(text) : null;
  } catch {
    value = null;
  }
  if (!resp.ok) throw new ApiError(resp.status, value?.error ?? `${resp.status} ${resp.statusText}`);
  return value;
}

/** A signed token that lets this node serve `hash` to its own agent (for players). */
export async function readToken(hash) {
  const { token } = await api('/api/token', { method: 'POST', body: { blob: hash, ttl_seconds: 6 * 3600 } });
  return token;
}

/** Words for a thrown error. */
export function describe(e) {
  if (e instanceof ApiError) return e.message;
  const text = e?.message ?? String(e);
  // Zome call failures carry the validation's reason inside the conductor's message.
  const m =
    /(?:Guest|Invalid)\(\\?"(.+?)\\?"\)/.exec(text) ?? /Validation failed while committing: (.+?)(?:\\?"\)*)?$/.exec(text);
  return m ? m[1] : text;
}

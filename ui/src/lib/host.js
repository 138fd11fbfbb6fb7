// Where the page runs and what it holds: the sidecar it talks to and the owner's key.
//
// Two hosts, one bundle:
// - the node serves the page at `/`: the sidecar is the page's own origin, and the owner
//   signs in with the key in DATA_DIR/node-token (or opens a link ending in #owner=KEY);
// - an app host (Kangaroo, p2p Shipyard) serves it from the .webhapp and injects
//   `window.__HC_LAUNCHER_ENV__` (the app websocket) and `window.__ELOHIM_MEDIA__`
//   ({ sidecarUrl, ownerKey }) for the sidecar it started.

const OWNER = 'elohim-media:owner-key';

/** What an app host injected about the sidecar, if anything. */
export function injected() {
  return globalThis.window?.__ELOHIM_MEDIA__ ?? {};
}

/** The sidecar's base URL, without a trailing slash. */
export function sidecarUrl() {
  return (injected().sidecarUrl || location.origin).replace(/\/+$/, '');
}

/** Whether `key` looks like a node's owner key (64 hex digits). */
export function isOwnerKey(key) {
  return /^[0-9a-f]{64}$/i.test(key ?? '');
}

/** Takes an owner key from a `#owner=KEY` link into storage and off the address bar. */
export function takeKeyFromLink() {
  const m = /(?:^#|&)owner=([0-9a-fA-F]{64})/.exec(location.hash);
  if (!m) return;
  localStorage.setItem(OWNER, m[1].toLowerCase());
  history.replaceState(null, '', location.pathname + location.search + '#/library');
}

/** The owner's key: remembered from signing in, else the one the host injected. */
export function ownerKey() {
  const key = localStorage.getItem(OWNER) || injected().ownerKey;
  return isOwnerKey(key) ? key : null;
}

export function remember(key) {
  localStorage.setItem(OWNER, key.trim().toLowerCase());
}

export function forget() {
  localStorage.removeItem(OWNER);
}

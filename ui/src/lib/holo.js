// Zome calls as the node's agent. Under an app host that signs zome calls itself, the
// host's app websocket is used as is. Otherwise the page makes a signing key of its own
// (kept in this browser; the private half never leaves it), and the node, shown the
// owner's key, grants that key the right to call the media zome and hands over a
// single-use token for an app websocket that admits this page's origin.
import {
  AppWebsocket,
  generateSigningKeyPair,
  randomCapSecret,
  setSigningCredentials,
  encodeHashToBase64,
  decodeHashFromBase64,
  CellType,
} from '@holochain/client';
import { api } from './api.js';

const SIGNING = 'elohim-media:signing-credentials';
export const ROLE = 'media';
const ZOME = 'media';

const b64 = (bytes) => btoa(String.fromCharCode(...bytes));
const unb64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));

/** This browser's signing credentials, made once and kept. */
async function credentials() {
  const kept = JSON.parse(localStorage.getItem(SIGNING) ?? 'null');
  if (kept) {
    return {
      capSecret: unb64(kept.capSecret),
      signingKey: unb64(kept.signingKey),
      keyPair: { keyType: 'ed25519', privateKey: unb64(kept.privateKey), publicKey: unb64(kept.publicKey) },
    };
  }
  const [keyPair, signingKey] = await generateSigningKeyPair();
  const capSecret = await randomCapSecret();
  localStorage.setItem(
    SIGNING,
    JSON.stringify({
      capSecret: b64(capSecret),
      signingKey: b64(signingKey),
      privateKey: b64(keyPair.privateKey),
      publicKey: b64(keyPair.publicKey),
    }),
  );
  return { capSecret, signingKey, keyPair };
}

/** Whether the app host signs zome calls itself (the client then uses its signer). */
function hostSigns() {
  return Boolean(globalThis.window?.__HC_ZOME_CALL_SIGNER__);
}

/** The media role's provisioned cell: the one `callZome({ role_name })` calls. */
function mediaCell(appInfo) {
  const cell = (appInfo.cell_info[ROLE] ?? []).find((c) => c.type === CellType.Provisioned);
  if (!cell) throw new Error(`the app has no '${ROLE}' cell`);
  return cell.value.cell_id;
}

/** A connection to the conductor, ready for zome calls; `agent` is the node's agent. */
export async function connect() {
  const launcher = globalThis.window?.__HC_LAUNCHER_ENV__;
  let client;
  let grant = null;
  if (launcher?.APP_INTERFACE_PORT) {
    client = await AppWebsocket.connect();
    // A host that does not sign for the page: the page signs with its own granted key.
    if (!hostSigns()) grant = await authorized();
  } else {
    grant = await authorized();
    client = await AppWebsocket.connect({ url: new URL(grant.session.app_ws_url), token: grant.session.token });
  }
  const cellId = mediaCell(await client.appInfo());
  if (grant) setSigningCredentials(cellId, grant.signing);
  return new Media(client, cellId);
}

/** This browser's signing credentials, granted by the node (shown the owner's key), with
 * the session it answered: an app websocket for this page's origin and its token. */
async function authorized() {
  const creds = await credentials();
  const session = await api('/api/ui/session', {
    method: 'POST',
    body: { signing_key: b64(creds.signingKey), cap_secret: b64(creds.capSecret) },
  });
  return { signing: creds, session };
}

/** The media zome, called as the node's agent. */
export class Media {
  constructor(client, cellId) {
    /** @type {AppWebsocket} */
    this.client = client;
    this.cellId = cellId;
    this.agent = cellId[1];
  }

  close() {
    return this.client.client.close();
  }

  call(fn_name, payload = null) {
    return this.client.callZome({ role_name: ROLE, zome_name: ZOME, fn_name, payload });
  }

  listVisible() {
    return this.call('list_visible_content');
  }
  content(id) {
    return this.call('get_latest_content', id);
  }
  manifest(id) {
    return this.call('get_blob_manifest', id);
  }
  async update(view, changes) {
    const updated = await this.call('update_content', {
      id: view.id,
      previous_version: view.version,
      content: { ...view.content, ...changes },
    });
    this.handOver(updated);
    return updated;
  }
  async setLifecycle(view, lifecycle) {
    const updated = await this.call('set_lifecycle', { id: view.id, lifecycle });
    this.handOver(updated);
    return updated;
  }
  /** Invited content reaches its invitees by the author's remote calls: hand the new
   * version over now (the node's `shares` worker tries again later if one is offline). */
  handOver(view) {
    if (view.content.reach === 'invited') this.call('deliver_shares').catch(() => {});
  }
}

export const hashText = (hash) => encodeHashToBase64(hash);

const PREFIXES = { agent: [0x84, 0x20, 0x24], action: [0x84, 0x29, 0x24] };

/** The hash `text` (`u…` base64) names, checked to be a `kind` hash ('agent', 'action'). */
export function hashBytes(text, kind) {
  const t = text.trim();
  let bytes = null;
  try {
    bytes = /^u[A-Za-z0-9_-]{52}$/.test(t) ? decodeHashFromBase64(t) : null;
  } catch {
    bytes = null;
  }
  const prefix = PREFIXES[kind];
  if (!bytes || bytes.length !== 39 || (prefix && prefix.some((b, i) => bytes[i] !== b))) {
    throw new Error(`'${t.slice(0, 60)}' is not ${kind === 'agent' ? 'an agent key' : 'a content id'}`);
  }
  return bytes;
}
export const sameHash = (a, b) => a && b && encodeHashToBase64(a) === encodeHashToBase64(b);

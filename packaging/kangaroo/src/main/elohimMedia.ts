// Elohim Media's sidecar inside a Kangaroo desktop app: started against Kangaroo's own
// conductor once the hApp is installed, stopped with the app. Copy this file into the
// Kangaroo checkout's src/main/ and wire it in as README.md shows.
import { spawn, ChildProcess } from 'child_process';
import fs from 'fs';
import path from 'path';
import { app } from 'electron';

/** What the UI needs to reach the sidecar; injected as `window.__ELOHIM_MEDIA__`. */
export interface ElohimMedia {
  sidecarUrl: string;
  ownerKey: string;
  process: ChildProcess;
}

/** The bundled binary: resources/bins/elohim-media[.exe]. */
export function sidecarBinary(resourcesDirectory: string): string {
  return path.join(resourcesDirectory, 'bins', `elohim-media${process.platform === 'win32' ? '.exe' : ''}`);
}

/**
 * Starts `elohim-media node` attached to Kangaroo's conductor: Kangaroo installed the
 * hApp as `kangaroo.happ`, its admin websocket admits the origin `kangaroo`, and its
 * windows load the UI from `webhapp://webhappwindow`. The node never installs a second
 * copy (`--app-id`), keeps its chunks in the app's data directory, and listens on a
 * loopback port of its choosing, which it prints.
 */
export async function startElohimMedia(binary: string, adminPort: number, dataDir: string): Promise<ElohimMedia> {
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const child = spawn(
    binary,
    [
      'node',
      '--admin-url', `ws://127.0.0.1:${adminPort}`,
      '--app-id', 'kangaroo.happ',
      '--admin-origin', 'kangaroo',
      '--ui-origin', 'webhapp://webhappwindow',
      '--data-dir', dataDir,
      '--listen', '127.0.0.1:0',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  app.on('quit', () => child.kill());
  const sidecarUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('elohim-media did not start within 60 s')), 60_000);
    let seen = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      const m = /sidecar HTTP:\s+(http:\/\/\S+)/.exec(seen);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.on('exit', (code) => reject(new Error(`elohim-media exited with ${code}`)));
  });
  const ownerKey = fs.readFileSync(path.join(dataDir, 'node-token'), 'utf-8').trim();
  return { sidecarUrl, ownerKey, process: child };
}

/** The script Kangaroo puts in the UI's <head>, extended with the sidecar's address. */
export function injection(media: ElohimMedia): string {
  return `window.__ELOHIM_MEDIA__ = ${JSON.stringify({ sidecarUrl: media.sidecarUrl, ownerKey: media.ownerKey })};`;
}

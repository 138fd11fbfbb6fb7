// The web UI in a real browser against real node processes:
//
//   node tests/clients/ui.mjs path/to/elohim-media
//
// Starts a rendezvous and two nodes from the built binary (Alice, an author, and Bob, a
// custodian), each serving the built UI (ui/dist), and drives headless Chromium:
//   - a wrong owner key is refused in words; the right one signs in;
//   - a generated video is uploaded through the upload screen with visible progress; the
//     page is reloaded mid-upload and the upload resumes (no second tus creation, the
//     HEAD finds the bytes sent before); the ladder finishes;
//   - it is in the library; it plays and the quality menu switches the picture to 480p;
//   - an invited item is shared with Bob on the share screen and appears in Bob's UI;
//   - Bob's custodian screen shows his replica of Alice's video;
//   - Alice starts a call with Bob on the calls screen; Bob's calls screen signs his way
//     in at Alice's node, and his join page there watches the call;
//   - the same bundle, served from another origin with a Kangaroo-style injected
//     environment, lists Alice's library;
//   - every control on every screen has an accessible name, and at 400 px wide nothing
//     overflows sideways.
// With UI_SCREENSHOTS=DIR it saves a screenshot of each screen there (docs/screenshots).
// Every process is stopped by PID; every wait is bounded. Exits non-zero on the first failure.

import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, mkdirSync, statSync, existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname, extname, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer from 'puppeteer-core';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const dist = join(root, 'ui', 'dist');
const bin = process.argv[2];
if (!bin) throw new Error('usage: ui.mjs path/to/elohim-media');
if (!existsSync(join(dist, 'index.html'))) throw new Error('ui/dist is not built (npm run build --prefix ui)');
const chromium = process.env.CHROMIUM || '/usr/bin/chromium';
const shots = process.env.UI_SCREENSHOTS;
const work = mkdtempSync(join(tmpdir(), 'elohim-ui-'));
const children = [];
const servers = [];
let browser;

function check(ok, what) {
  if (!ok) throw new Error(`not ok - ${what}`);
  console.log('ok -', what);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` every `every` ms until it returns a truthy value, at most `secs`. */
async function until(what, secs, probe, every = 500) {
  const deadline = Date.now() + secs * 1000;
  let last;
  while (Date.now() < deadline) {
    try {
      last = await probe();
      if (last) return last;
    } catch (e) {
      last = e.message;
    }
    await sleep(every);
  }
  throw new Error(`not ok - ${what} (waited ${secs} s; last: ${last})`);
}

async function freePort() {
  const server = createNetServer();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  return port;
}

/** Starts `bin args`, resolving with the process once a stdout line matches `ready`. */
function start(name, args, ready, secs = 180) {
  const child = spawn(bin, args, {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ELOHIM_PASSPHRASE: 'test-passphrase', RUST_LOG: process.env.RUST_LOG || 'warn' },
  });
  children.push(child);
  const lines = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start within ${secs} s`)), secs * 1000);
    let buffer = '';
    child.stdout.on('data', (d) => {
      buffer += d.toString();
      let nl;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        lines.push(line);
        process.stderr.write(`[${name}] ${line}\n`);
        const m = ready.exec(line);
        if (m) {
          clearTimeout(timer);
          resolve({ child, lines, match: m });
        }
      }
    });
    child.on('exit', (code) => reject(new Error(`${name} exited with ${code}`)));
  });
}

async function startNode(name, rendezvous, extra = []) {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const dir = join(work, name);
  const { lines } = await start(name, [
    'node', '--happ', join(root, 'workdir', 'elohim_media.happ'), '--data-dir', dir,
    '--listen', `127.0.0.1:${port}`, '--ui-dir', dist,
    '--bootstrap-url', rendezvous, '--relay-url', rendezvous, '--network-seed', 'ui-test',
    '--allow-private-peers', '--endpoint', url, '--custodian-interval-secs', '2', ...extra,
  ], /Press Ctrl-C/);
  await until(`${name} prints its agent`, 10, () => lines.find((l) => l.includes('agent:')));
  const agent = /agent:\s+(\S+)/.exec(lines.find((l) => l.includes('agent:')))[1];
  const key = readFileSync(join(dir, 'node-token'), 'utf8').trim();
  const admin = /admin:\s+ws:\/\/(\S+)/.exec(lines.find((l) => l.includes('admin:')) ?? '')?.[1];
  return { name, url, agent, key, admin };
}

/** Runs `bin args` to its end (at most `secs`); resolves with its exit code and output. */
function run(args, secs) {
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RUST_LOG: 'error' } });
  children.push(child);
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve({ code: 'timeout', out });
    }, secs * 1000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

/** Serves the built UI from another origin, as an app host would. */
async function serveBundle(port) {
  const types = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml' };
  const server = createServer((req, res) => {
    const path = normalize(new URL(req.url, 'http://x').pathname).replace(/^\/+/, '') || 'index.html';
    const file = join(dist, path);
    if (!file.startsWith(dist) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': types[extname(file)] || 'application/octet-stream' });
    res.end(readFileSync(file));
  });
  servers.push(server);
  await new Promise((r) => server.listen(port, '127.0.0.1', r));
  return `http://127.0.0.1:${port}`;
}

async function shot(page, name) {
  if (!shots) return;
  mkdirSync(shots, { recursive: true });
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

/** Every interactive control on the page has an accessible name. */
async function allNamed(page, screen) {
  const tree = await page.accessibility.snapshot({ interestingOnly: false });
  const roles = new Set(['button', 'textbox', 'combobox', 'checkbox', 'link', 'searchbox', 'slider', 'menuitem']);
  const unnamed = [];
  (function walk(node) {
    if (!node) return;
    if (roles.has(node.role) && !String(node.name ?? '').trim()) unnamed.push(node.role);
    (node.children ?? []).forEach(walk);
  })(tree);
  check(unnamed.length === 0, `${screen}: every control has an accessible name${unnamed.length ? ` (unnamed: ${unnamed})` : ''}`);
}

/** At 400 px wide the screen does not scroll sideways. */
async function fitsNarrow(page, screen) {
  const viewport = page.viewport();
  await page.setViewport({ width: 400, height: 800 });
  await sleep(200);
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  await page.setViewport(viewport);
  check(wide <= 400, `${screen}: fits a 400 px screen (content is ${wide} px wide)`);
}

const text = (page, selector) => page.$eval(selector, (e) => e.textContent).catch(() => '');

async function go(page, base, hash) {
  await page.goto(`${base}/#/${hash}`, { waitUntil: 'domcontentloaded' });
}

async function signIn(page, node) {
  await page.goto(`${node.url}/`, { waitUntil: 'domcontentloaded' });
  await page.waitForSelector('#owner-key', { timeout: 30000 });
  await page.type('#owner-key', node.key);
  await page.click('button[type=submit]');
  await until(`${node.name} signs in`, 60, async () => (await text(page, '[data-testid=agent]')) === node.agent);
}

async function libraryShows(page, base, title, secs) {
  await go(page, base, 'library');
  return until(`the library at ${base} lists '${title}'`, secs, async () => {
    const titles = await page.$$eval('[data-testid=library-item] strong', (es) => es.map((e) => e.textContent));
    if (titles.includes(title)) return true;
    await page.evaluate(() => [...document.querySelectorAll('button')].find((b) => b.textContent === 'Refresh')?.click());
    return false;
  }, 2000);
}

async function main() {
  const video = join(work, 'talk.mp4');
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30:duration=16',
    '-f', 'lavfi', '-i', 'sine=frequency=440:duration=16', '-c:v', 'libx264', '-preset', 'ultrafast', '-b:v', '3M',
    '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', video]);
  const podcast = join(work, 'episode.m4a');
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'sine=frequency=330:duration=12',
    '-c:a', 'aac', '-b:a', '96k', podcast]);
  const notes = join(work, 'notes.txt');
  execFileSync('sh', ['-c', `head -c 300000 /dev/urandom | base64 > ${notes}`]);

  const { match } = await start('rendezvous', ['rendezvous', '--listen', '127.0.0.1:0'], /rendezvous: (\S+)/, 60);
  const rendezvous = match[1];
  const hostOrigin = await serveBundle(await freePort());
  const alice = await startNode('alice', rendezvous, ['--ui-origin', hostOrigin]);
  const bob = await startNode('bob', rendezvous, ['--custodian', 'storage:2']);

  browser = await puppeteer.launch({
    executablePath: chromium,
    headless: true,
    args: ['--no-sandbox', '--autoplay-policy=no-user-gesture-required', '--disable-gpu', '--mute-audio'],
  });
  const page = await browser.newPage();
  await page.setViewport({ width: 1100, height: 900 });
  page.on('pageerror', (e) => console.error('[page error]', e.message));

  // Sign-in: a wrong key is refused in words, the right one is taken.
  await page.goto(`${alice.url}/`, { waitUntil: 'domcontentloaded' });
  await page.waitForSelector('#owner-key', { timeout: 30000 });
  await allNamed(page, 'sign-in');
  await shot(page, 'sign-in');
  await page.type('#owner-key', '0'.repeat(64));
  await page.click('button[type=submit]');
  const refused = await until('a wrong owner key is refused', 30, () => text(page, '[role=alert]'));
  check(/not this node/.test(refused), `a wrong owner key is refused: "${refused}"`);
  await page.type('#owner-key', alice.key);
  await page.click('button[type=submit]');
  await until('alice signs in', 60, async () => (await text(page, '[data-testid=agent]')) === alice.agent);
  check(true, 'the owner key signs in, and the page shows the node’s agent');

  // Upload with visible progress; reload half-way; choose the file again; it resumes.
  let creations = 0;
  const heads = [];
  page.on('request', (r) => {
    if (r.method() === 'POST' && r.url().endsWith('/api/uploads')) creations++;
  });
  page.on('response', (r) => {
    if (r.request().method() === 'HEAD' && r.url().includes('/api/uploads/')) heads.push(Number(r.headers()['upload-offset']));
  });
  const cdp = await page.createCDPSession();
  await cdp.send('Network.enable');
  const throttle = (bytesPerSecond) =>
    cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: bytesPerSecond });
  await go(page, alice.url, 'upload');
  await page.waitForSelector('#file');
  await allNamed(page, 'upload');
  await fitsNarrow(page, 'upload');
  const size = statSync(video).size;
  await (await page.$('#file')).uploadFile(video);
  await page.$eval('#title', (e) => (e.value = ''));
  await page.type('#title', 'Open lecture');
  await page.type('#description', 'A test pattern and a tone.');
  await page.select('#reach', 'commons');
  await throttle(Math.max(64 * 1024, Math.floor(size / 12)));
  await page.click('button[type=submit]');
  const before = await until('the upload shows its progress', 60, async () => {
    const value = await page.$eval('[data-testid=upload-progress]', (e) => Number(e.value)).catch(() => 0);
    return value >= 20 && value < 90 ? value : 0;
  }, 200);
  check(true, `the upload's progress bar moves (${before}%)`);
  await shot(page, 'upload-progress');
  await page.reload({ waitUntil: 'domcontentloaded' });
  await throttle(-1);
  const pending = await until('after a reload the unfinished upload is shown', 30, () => text(page, '[data-testid=pending-upload]'));
  check(/talk\.mp4/.test(pending), `after a reload the page shows the unfinished upload: "${pending.trim().slice(0, 60)}…"`);
  await (await page.$('#file')).uploadFile(video);
  check(/resumes/.test(await text(page, '[data-testid=chosen]')), 'choosing the same file again offers to resume');
  await page.click('button[type=submit]');
  await until('the upload finishes and the ladder runs', 300, () => page.$('[data-testid=upload-done]'), 1000);
  check(creations === 1, `the upload resumed: one tus creation in all (${creations})`);
  check(heads.length >= 1 && heads[0] > 0, `the resumed upload started where the first left off (offset ${heads[0]} of ${size})`);
  const ladder = await text(page, '[data-testid=ladder-status]');
  check(/done/.test(ladder) && /480p/.test(ladder), `the ladder finished: "${ladder.trim()}"`);
  await shot(page, 'upload-done');

  // Watch: it plays, and the quality menu switches the picture.
  await page.evaluate(() => [...document.querySelectorAll('a')].find((a) => a.textContent === 'Watch it').click());
  await page.waitForSelector('video', { timeout: 30000 });
  await until('the video plays', 60, () => page.$eval('video', (v) => (v.play().catch(() => {}), v.currentTime > 1)));
  check(true, 'the video plays in the watch screen');
  const options = await page.$$eval('#quality option', (os) => os.map((o) => [o.value, o.textContent]));
  const low = options.find(([, label]) => label === '480p');
  check(Boolean(low) && options.length >= 3, `the quality menu lists the renditions (${options.map((o) => o[1])})`);
  await page.select('#quality', low[0]);
  await until('the picture switches to 480p', 60, async () => /playing 480p/.test(await text(page, '[data-testid=playing-height]')));
  check(true, 'choosing 480p switches the picture to 480 lines');
  await allNamed(page, 'watch');
  await fitsNarrow(page, 'watch');
  await shot(page, 'watch');

  // Library.
  await libraryShows(page, alice.url, 'Open lecture', 30);
  check(true, 'the upload is in the library, under commons');
  await allNamed(page, 'library');
  await fitsNarrow(page, 'library');
  await shot(page, 'library');

  // A podcast: uploaded the same way, it plays in the audio player, and seeking works.
  await go(page, alice.url, 'upload');
  await page.waitForSelector('#file');
  await (await page.$('#file')).uploadFile(podcast);
  await page.$eval('#title', (e) => (e.value = ''));
  await page.type('#title', 'Episode one');
  await page.select('#reach', 'commons');
  await page.click('button[type=submit]');
  await until('the podcast is stored and its ladder runs', 180, () => page.$('[data-testid=upload-done]'), 1000);
  await page.evaluate(() => [...document.querySelectorAll('a')].find((a) => a.textContent === 'Watch it').click());
  await page.waitForSelector('audio', { timeout: 30000 });
  check(!(await page.$('video')), 'a podcast gets the audio player, not a video element');
  await until('the podcast plays', 60, () => page.$eval('audio', (a) => (a.play().catch(() => {}), a.currentTime > 1)));
  check(true, 'the podcast plays in the audio player');
  await page.$eval('audio', (a) => { a.currentTime = 8; });
  await until('seeking the podcast to 8 s', 30, () => page.$eval('audio', (a) => a.currentTime >= 8 && !a.seeking));
  check(true, 'seeking the podcast moves playback to 8 s');
  await allNamed(page, 'listen');
  await shot(page, 'listen');

  // An invited item, shared with Bob on the share screen.
  await go(page, alice.url, 'upload');
  await page.waitForSelector('#file');
  await (await page.$('#file')).uploadFile(notes);
  await page.$eval('#title', (e) => (e.value = ''));
  await page.type('#title', 'Meeting notes');
  await page.select('#reach', 'invited');
  await page.click('button[type=submit]');
  await until('the invited item is stored', 60, () => page.$('[data-testid=upload-done]'));
  await libraryShows(page, alice.url, 'Meeting notes', 30);
  await page.evaluate(() => document.querySelector('a[aria-label="Share Meeting notes"]').click());
  await page.waitForSelector('#invite', { timeout: 30000 });
  await page.type('#invite', bob.agent);
  await page.evaluate(() => [...document.querySelectorAll('button')].find((b) => b.textContent === 'Invite').click());
  await until('Bob is listed as invited', 60, async () => (await text(page, '[data-testid=invitees]')).includes(bob.agent));
  check(true, 'the share screen invites Bob');
  await page.evaluate(() => [...document.querySelectorAll('button')].find((b) => b.textContent === 'Make link').click());
  const link = await until('a signed link is made', 30, () => page.$eval('#link', (e) => e.value).catch(() => ''));
  check(link.startsWith(`${alice.url}/player?src=`) && link.includes('token='), 'the share screen makes a signed player link');
  await allNamed(page, 'share');
  await fitsNarrow(page, 'share');
  await shot(page, 'share');

  // Edit: the title changes and the lifecycle moves.
  await go(page, alice.url, 'library');
  await until('the edit link', 30, () => page.$('a[aria-label="Edit Meeting notes"]'));
  await page.evaluate(() => document.querySelector('a[aria-label="Edit Meeting notes"]').click());
  await page.waitForSelector('#edit-title', { timeout: 30000 });
  await allNamed(page, 'edit');
  await shot(page, 'edit');
  await page.evaluate(() => [...document.querySelectorAll('button')].find((b) => b.textContent === 'Deprecate').click());
  await until('the content is deprecated', 60, async () => (await text(page, '[data-testid=lifecycle]')) === 'deprecated');
  check(true, 'the edit screen deprecates the content');
  await page.evaluate(() => [...document.querySelectorAll('button')].find((b) => b.textContent === 'Publish').click());
  const refusal = await until('moving back is refused in words', 30, () => text(page, '[role=alert]'));
  check(/refused: .*deprecated/.test(refusal) && !/Source chain error/.test(refusal),
    `a move the lifecycle forbids is refused in words: "${refusal.slice(0, 120)}"`);

  // Bob's UI: the invited item appears; his custodian screen shows the replica.
  const bobPage = await browser.newPage();
  await bobPage.setViewport({ width: 1100, height: 900 });
  await signIn(bobPage, bob);
  await libraryShows(bobPage, bob.url, 'Meeting notes', 120);
  check(true, 'the invited item appears in Bob’s library');
  await go(bobPage, bob.url, 'custodian');
  const prefix = alice.agent.slice(0, 10);
  // The video's source and its three renditions (each added to the content by an update)
  // are all kept, and so is the invited item Bob was invited to later.
  const kept = await until('Bob’s custodian screen shows his replicas of Alice’s media', 240, async () => {
    const rows = await bobPage.$$eval('[data-testid=replicas] tbody tr', (rs) => rs.map((r) => r.textContent));
    const held = rows.filter((r) => r.includes(prefix) && /verified|stored/.test(r));
    return held.length >= 5 ? held.length : 0;
  }, 2000);
  check(true, `Bob’s custodian screen shows ${kept} replicas of Alice’s media: the video, its renditions, the invited item`);
  await allNamed(bobPage, 'custodian');
  await fitsNarrow(bobPage, 'custodian');
  await shot(bobPage, 'custodian');

  // Calls: Alice starts one with Bob from her calls screen; Bob's screen signs his way in
  // at Alice's node, and his join page watches the call there.
  await page.bringToFront();
  await go(page, alice.url, 'calls');
  await page.waitForSelector('#call-title', { timeout: 30000 });
  await page.type('#call-title', 'Standup');
  await page.select('#call-reach', 'invited');
  await page.type('#call-invitees', bob.agent);
  await page.evaluate(() => document.querySelector('form button[type=submit]').click());
  const aliceLink = await until('the calls screen starts a call', 60, () =>
    page.$eval('#call-link', (i) => i.value).catch(() => ''));
  check(aliceLink.startsWith(`${alice.url}/call/uhCkk`) && aliceLink.includes('token=c1.'),
    `the calls screen gives a join page with a call token (${aliceLink.slice(0, 60)}…)`);
  const callId = /\/call\/([^?]+)/.exec(aliceLink)[1];
  await allNamed(page, 'calls');
  await fitsNarrow(page, 'calls');
  await shot(page, 'calls');
  await bobPage.bringToFront();
  await go(bobPage, bob.url, 'calls');
  await bobPage.waitForSelector('#call-id', { timeout: 30000 });
  await bobPage.type('#call-id', callId);
  await bobPage.type('#call-host', alice.url);
  await bobPage.evaluate(() => [...document.querySelectorAll('button')].find((b) => b.textContent === 'Get my way in').click());
  const bobLink = await until('Bob’s calls screen signs his way in', 120, () =>
    bobPage.$eval('#call-link', (i) => i.value).catch(() => ''));
  check(bobLink.startsWith(`${alice.url}/call/${callId}?token=c1.`), 'Bob’s join page is on Alice’s node, with his token');
  const joinPage = await browser.newPage();
  await joinPage.bringToFront();
  await joinPage.goto(bobLink, { waitUntil: 'domcontentloaded' });
  await joinPage.evaluate(() => document.getElementById('watch').click());
  const watching = await until('Bob watches the call from its join page', 30, async () => {
    const t = await text(joinPage, '#status');
    return /Watching|Could not/.test(t) ? t : '';
  });
  check(watching === 'Watching the call.', `Bob’s join page watches Alice’s call ("${watching}")`);
  await allNamed(joinPage, 'call page');
  await joinPage.close();

  // The same bundle on another origin, as Kangaroo serves it, with what a host injects.
  const session = await (await fetch(`${alice.url}/api/ui/session`, {
    method: 'POST',
    headers: { authorization: `Bearer ${alice.key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ origin: hostOrigin }),
  })).json();
  check(Array.isArray(session.token), 'the node hands an app host a websocket for its origin');
  const hosted = await browser.newPage();
  await hosted.evaluateOnNewDocument((env, media) => {
    window.__HC_LAUNCHER_ENV__ = env;
    window.__ELOHIM_MEDIA__ = media;
  }, {
    APP_INTERFACE_PORT: Number(new URL(session.app_ws_url).port),
    INSTALLED_APP_ID: session.app_id,
    APP_INTERFACE_TOKEN: session.token,
  }, { sidecarUrl: alice.url, ownerKey: alice.key });
  await hosted.goto(`${hostOrigin}/`, { waitUntil: 'domcontentloaded' });
  await until('the hosted page connects', 60, async () => (await text(hosted, '[data-testid=agent]')) === alice.agent);
  await until('the hosted page lists the library', 60, async () => {
    const titles = await hosted.$$eval('[data-testid=library-item] strong', (es) => es.map((e) => e.textContent));
    return titles.includes('Open lecture');
  });
  check(true, 'the bundle runs on another origin with a Kangaroo-style environment');

  // Attaching to a conductor that already runs, as inside an app host: by app id and admin
  // origin, never installing; an unknown app id or a foreign origin is refused in words.
  const attach = (name, extra) => ['node', '--admin-url', `ws://${alice.admin}`, '--data-dir', join(work, name),
    '--happ', join(root, 'workdir', 'elohim_media.happ'), '--ui-dir', dist, ...extra];
  const missing = await run(attach('attach-missing', ['--listen', '127.0.0.1:0', '--app-id', 'kangaroo.happ',
    '--admin-origin', 'elohim-media-node']), 60);
  check(missing.code !== 0 && /no app 'kangaroo.happ'/.test(missing.out),
    `an app id the conductor lacks is refused, and nothing is installed (exit ${missing.code})`);
  const foreign = await run(attach('attach-foreign', ['--listen', '127.0.0.1:0', '--app-id', 'elohim_media',
    '--admin-origin', 'kangaroo']), 60);
  check(foreign.code !== 0 && /linking to the conductor/.test(foreign.out),
    `an admin origin the conductor does not admit is refused (exit ${foreign.code})`);
  const port = await freePort();
  const { lines } = await start('attached', attach('attached', ['--listen', `127.0.0.1:${port}`,
    '--app-id', 'elohim_media', '--admin-origin', 'elohim-media-node']), /Press Ctrl-C/, 60);
  const attachedAgent = /agent:\s+(\S+)/.exec(lines.find((l) => l.includes('agent:')) ?? '')?.[1];
  check(attachedAgent === alice.agent, 'a node attached by --app-id uses the app that is there: the same agent');
  const page2 = await fetch(`http://127.0.0.1:${port}/`);
  check(page2.status === 200 && (await page2.text()).includes('<div id="app">'), 'the attached node serves the UI');
}

async function cleanup() {
  await browser?.close().catch(() => {});
  for (const s of servers) s.close();
  for (const c of children) {
    if (c.exitCode === null) c.kill('SIGTERM');
  }
  await sleep(500);
  for (const c of children) {
    if (c.exitCode === null) c.kill('SIGKILL');
  }
  rmSync(work, { recursive: true, force: true });
}

const overall = setTimeout(() => {
  console.error('not ok - the UI test ran longer than 15 minutes');
  cleanup().finally(() => process.exit(1));
}, 15 * 60 * 1000);

main()
  .then(async () => {
    clearTimeout(overall);
    await cleanup();
    console.log('ui: all checks passed');
  })
  .catch(async (e) => {
    clearTimeout(overall);
    console.error(e);
    await cleanup();
    process.exit(1);
  });

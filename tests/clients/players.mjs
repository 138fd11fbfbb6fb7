// Real players against a running sidecar: hls.js and dash.js in headless Chromium.
//
//   node tests/clients/players.mjs path/to/elohim-media
//
// Starts a standalone sidecar, uploads a generated 720p video, waits for its ladder, then
// plays it (1) with the node's own player page, (2) with hls.js from a page served on
// another origin (so CORS is what lets it play), and (3) with dash.js from that origin.
// Each player must advance currentTime and switch to a forced quality (the video's
// decoded height changes). Exits non-zero on the first failure.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer from 'puppeteer-core';
import { check, startSidecar } from './sidecar.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const bin = process.argv[2];
if (!bin) throw new Error('usage: players.mjs path/to/elohim-media');
const chromium = process.env.CHROMIUM || '/usr/bin/chromium';
const work = mkdtempSync(join(tmpdir(), 'elohim-players-'));
const children = [];
let browser;

async function upload(base) {
  const source = join(work, 'source.mp4');
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30:duration=12',
    '-f', 'lavfi', '-i', 'sine=frequency=440:duration=12', '-c:v', 'libx264', '-preset', 'ultrafast',
    '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', source]);
  const resp = await fetch(`${base}/api/blob`, {
    method: 'POST', headers: { 'content-type': 'video/mp4' }, body: readFileSync(source),
  });
  check(resp.status === 201, `upload answered ${resp.status}`);
  const receipt = await resp.json();
  for (let i = 0; i < 600; i++) {
    const progress = await (await fetch(`${base}${receipt.ladder}`)).json();
    if (progress.stage === 'done') return { hash: receipt.hash, variants: progress.variants };
    if (progress.stage === 'failed') throw new Error(`ladder failed: ${progress.error}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('ladder did not finish');
}

/// A page server on another origin: the test pages and the player libraries.
function startPages() {
  const files = {
    '/hls.min.js': join(here, '../../sidecar/assets/hls.min.js'),
    '/dash.all.min.js': join(here, 'node_modules/dashjs/dist/dash.all.min.js'),
  };
  const page = (script) => `<!doctype html><html><body><video id="video" muted playsinline></video>
    <script src="${script}"></script></body></html>`;
  const server = createServer((req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    if (files[path]) {
      res.writeHead(200, { 'content-type': 'text/javascript' });
      res.end(readFileSync(files[path]));
    } else if (path === '/hls.html' || path === '/dash.html') {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(page(path === '/hls.html' ? '/hls.min.js' : '/dash.all.min.js'));
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    children.push({ kill: () => server.close() });
    resolve(`http://127.0.0.1:${server.address().port}`);
  }));
}

/// Waits until `fn` (run in the page) returns a truthy value.
async function until(page, fn, arg, what, seconds = 60) {
  try {
    await page.waitForFunction(fn, { timeout: seconds * 1000, polling: 200 }, arg);
  } catch (e) {
    const state = await page.evaluate(() => ({
      t: document.getElementById('video')?.currentTime, h: document.getElementById('video')?.videoHeight,
      errors: window.playerErrors,
    }));
    throw new Error(`${what}: ${e.message} ${JSON.stringify(state)}`);
  }
  console.log('ok -', what);
}

async function playHls(page, label) {
  await until(page, () => window.hls && window.hls.levels.length > 0, null, `${label}: hls.js parsed the master`);
  const levels = await page.evaluate(() => window.hls.levels.map((l) => ({ h: l.height, codecs: `${l.videoCodec},${l.audioCodec}` })));
  const heights = levels.map((l) => l.h).sort((a, b) => a - b).join();
  check(heights === '480,720', `${label}: levels ${JSON.stringify(levels)}`);
  await until(page, () => document.getElementById('video').currentTime > 1.5, null, `${label}: currentTime advances`);
  const target = await page.evaluate(() => {
    const v = document.getElementById('video');
    const next = window.hls.levels.findIndex((l) => l.height !== v.videoHeight);
    window.hls.currentLevel = next;
    return window.hls.levels[next].height;
  });
  await until(page, (h) => document.getElementById('video').videoHeight === h && window.hls.currentLevel >= 0,
    target, `${label}: forced switch to ${target}p plays`);
  const t = await page.evaluate(() => document.getElementById('video').currentTime);
  await until(page, (t0) => document.getElementById('video').currentTime > t0 + 1, t, `${label}: still playing after the switch`);
}

try {
  const { base } = await startSidecar(bin, join(work, 'data'), children, { base: /listening on (http:\/\/\S+)\n/ });
  const { hash, variants } = await upload(base);
  check(variants.map((v) => v.label).join() === '720p,480p,audio', `ladder ${variants.map((v) => v.label)}`);
  const pages = await startPages();
  check(new URL(pages).origin !== new URL(base).origin, `pages (${pages}) and media (${base}) are different origins`);

  browser = await puppeteer.launch({
    executablePath: chromium, headless: true,
    args: ['--no-sandbox', '--autoplay-policy=no-user-gesture-required', '--disable-gpu'],
  });
  const page = await browser.newPage();
  page.on('pageerror', (e) => console.log('page error:', e.message));

  // The browser can decode what the master playlist offers.
  await page.goto(`${pages}/hls.html`);
  const codecs = variants.filter((v) => v.height > 0).map((v) => `video/mp4; codecs="${v.codecs},mp4a.40.2"`);
  const supported = await page.evaluate((types) => types.map((t) => MediaSource.isTypeSupported(t)), codecs);
  check(supported.every(Boolean), `MediaSource supports ${codecs.join(' and ')}`);

  // 1. The node's own player page (same origin), as the README walkthrough uses it.
  await page.goto(`${base}/player?src=${hash}`);
  await playHls(page, 'node player page');

  // 2. hls.js on another origin.
  await page.goto(`${pages}/hls.html`);
  await page.evaluate((url) => {
    window.playerErrors = [];
    const hls = new Hls();
    window.hls = hls;
    hls.on(Hls.Events.ERROR, (_, d) => window.playerErrors.push(d.details));
    hls.loadSource(url);
    hls.attachMedia(document.getElementById('video'));
    hls.on(Hls.Events.MANIFEST_PARSED, () => document.getElementById('video').play());
  }, `${base}/api/manifest/${hash}/hls.m3u8`);
  await playHls(page, 'hls.js cross-origin');

  // 3. dash.js on another origin.
  await page.goto(`${pages}/dash.html`);
  await page.evaluate((url) => {
    window.playerErrors = [];
    const player = dashjs.MediaPlayer().create();
    window.dash = player;
    player.updateSettings({ debug: { logLevel: 0 } });
    player.on(dashjs.MediaPlayer.events.ERROR, (e) => window.playerErrors.push(JSON.stringify(e.error)));
    player.initialize(document.getElementById('video'), url, true);
  }, `${base}/api/manifest/${hash}/dash.mpd`);
  await until(page, () => document.getElementById('video').currentTime > 1.5, null, 'dash.js cross-origin: currentTime advances');
  const dashTarget = await page.evaluate(() => {
    const p = window.dash;
    p.updateSettings({ streaming: { abr: { autoSwitchBitrate: { video: false } } } });
    const list = p.getBitrateInfoListFor('video');
    const current = document.getElementById('video').videoHeight;
    const pick = list.find((b) => b.height !== current);
    p.setQualityFor('video', pick.qualityIndex, true);
    return pick.height;
  });
  await until(page, (h) => document.getElementById('video').videoHeight === h, dashTarget,
    `dash.js cross-origin: forced switch to ${dashTarget}p plays`);
  console.log('all players passed');
} finally {
  if (browser) await browser.close();
  for (const c of children) c.kill();
  rmSync(work, { recursive: true, force: true });
}

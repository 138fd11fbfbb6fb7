// A live call in headless Chromium: one page publishes its (fake) camera and microphone
// by WHIP, two pages watch by WHEP, and both decode video at the camera's frame rate.
// The call's recording becomes a blob whose ladder plays in hls.js. Then the node's own
// join page (/call/{id}): two tabs join with their cameras and each sees the other (not
// itself), a third watches both, and presence lists them all. Last, a sidecar killed
// mid-call turns the partial recording into a playable blob at its next start.
//
//   node tests/clients/calls.mjs path/to/elohim-media
//
// The pages are served from another origin than the sidecar, so CORS is part of what
// lets them join. Every page leaves by DELETE on its Location. Exits non-zero on the
// first failure.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer from 'puppeteer-core';
import { check, startSidecar } from './sidecar.mjs';

const bin = process.argv[2];
if (!bin) throw new Error('usage: calls.mjs path/to/elohim-media');
const chromium = process.env.CHROMIUM || '/usr/bin/chromium';
const work = mkdtempSync(join(tmpdir(), 'elohim-calls-'));
const children = [];
let browser;

/// A blank page on another origin (a secure context: 127.0.0.1).
function startPages() {
  const server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><html><body><video id="video" autoplay muted playsinline></video></body></html>');
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    children.push({ kill: () => server.close() });
    resolve(`http://127.0.0.1:${server.address().port}`);
  }));
}

/// In the page: offers `pc`'s description once ICE gathering is done (WHIP/WHEP without
/// trickle), posts it to `url`, applies the answer; the join's status and Location.
const joinCall = async (url, kind) => {
  const pc = window.pc;
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((resolve) => {
    if (pc.iceGatheringState === 'complete') return resolve();
    pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && resolve());
    setTimeout(resolve, 5000);
  });
  const resp = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: pc.localDescription.sdp });
  if (resp.status !== 201) return { status: resp.status, body: await resp.text() };
  await pc.setRemoteDescription({ type: 'answer', sdp: await resp.text() });
  window.location_ = resp.headers.get('location');
  return { status: resp.status, location: window.location_, kind };
};

async function publish(page, url) {
  return page.evaluate(async (url, joinSrc) => {
    const join = eval(joinSrc);
    const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480, frameRate: 30 }, audio: true });
    window.pc = new RTCPeerConnection();
    for (const track of stream.getTracks()) window.pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
    return join(url, 'whip');
  }, url, `(${joinCall.toString()})`);
}

async function watch(page, url) {
  return page.evaluate(async (url, joinSrc) => {
    const join = eval(joinSrc);
    window.pc = new RTCPeerConnection();
    window.pc.addTransceiver('video', { direction: 'recvonly' });
    window.pc.addTransceiver('audio', { direction: 'recvonly' });
    window.pc.ontrack = (e) => {
      if (e.track.kind === 'video') document.getElementById('video').srcObject = new MediaStream([e.track]);
    };
    return join(url, 'whep');
  }, url, `(${joinCall.toString()})`);
}

/// Frames the page's video receiver has decoded so far.
const framesDecoded = (page) => page.evaluate(async () => {
  let n = 0;
  (await window.pc.getStats()).forEach((r) => {
    if (r.type === 'inbound-rtp' && r.kind === 'video') n = r.framesDecoded || 0;
  });
  return n;
});

/// Frames the publisher's camera track has encoded so far.
const framesEncoded = (page) => page.evaluate(async () => {
  let n = 0;
  (await window.pc.getStats()).forEach((r) => {
    if (r.type === 'outbound-rtp' && r.kind === 'video') n = r.framesEncoded || 0;
  });
  return n;
});

/// Clicks the element `selector` in the page (a background tab takes no mouse events).
const press = (page, selector) => page.evaluate((s) => document.querySelector(s).click(), selector);

/// Calls `fn` every 500 ms until it returns something truthy (at most `seconds`).
async function poll(fn, seconds, what) {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    const got = await fn();
    if (got) {
      check(true, what);
      return got;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${what}: not within ${seconds} s`);
}

/// ffprobe's codecs and duration of blob `hash`, fetched from `base`.
function probe(base, hash) {
  const file = join(work, `${hash}.webm`);
  execFileSync('curl', ['-sf', '-o', file, `${base}/api/blob/${hash}`]);
  return execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name:format=duration',
    '-of', 'default=nw=1', file]).toString();
}

/// The duration in a `probe` output, in seconds.
const duration = (probed) => Number(/duration=([\d.]+)/.exec(probed)?.[1] || 0);

/// Waits (at most 30 s) until `cond(arg)` holds in the page; fails with `what` otherwise.
async function waitFor(page, cond, what, arg) {
  try {
    await page.waitForFunction(cond, { timeout: 30_000, polling: 200 }, arg);
  } catch (e) {
    const status = await page.evaluate(() => document.getElementById('status')?.textContent);
    throw new Error(`${what}: not within 30 s (status: ${status})`);
  }
  check(true, what);
}

try {
  const first = await startSidecar(bin, join(work, 'data'), children,
    { base: /listening on (http:\/\/\S+)\n/, udp: /media on udp (\S+)\n/ });
  const { base, udp } = first;
  check(/^127\.0\.0\.1:\d+$/.test(udp), `the SFU takes media on loopback (${udp})`);
  const pages = await startPages();
  const call = `${base}/api/rtc/standup`;
  browser = await puppeteer.launch({
    executablePath: chromium, headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
      '--allow-loopback-in-peer-connection', '--autoplay-policy=no-user-gesture-required'],
  });
  const [publisher, viewerA, viewerB] = await Promise.all([browser.newPage(), browser.newPage(), browser.newPage()]);
  for (const p of [publisher, viewerA, viewerB]) {
    p.on('pageerror', (e) => console.log('page error:', e.message));
    await p.goto(`${pages}/`);
  }

  const published = await publish(publisher, `${call}/whip`);
  check(published.status === 201, `the camera page publishes by WHIP: ${JSON.stringify(published)}`);
  const watched = [await watch(viewerA, `${call}/whep`), await watch(viewerB, `${call}/whep`)];
  check(watched.every((w) => w.status === 201), `two pages watch by WHEP: ${JSON.stringify(watched)}`);

  // Both decode the camera's video at the rate it is encoded: over 3 s, at least 80 % of
  // the frames the publisher encoded in the same time.
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && Math.min(await framesDecoded(viewerA), await framesDecoded(viewerB)) === 0) {
    await new Promise((r) => setTimeout(r, 200));
  }
  const encodedBefore = await framesEncoded(publisher);
  const before = [await framesDecoded(viewerA), await framesDecoded(viewerB)];
  check(before.every((n) => n > 0), `both viewers decode video (${before})`);
  await new Promise((r) => setTimeout(r, 3000));
  const encoded = (await framesEncoded(publisher)) - encodedBefore;
  const after = [await framesDecoded(viewerA), await framesDecoded(viewerB)];
  const decoded = after.map((n, i) => n - before[i]);
  check(encoded >= 30 && decoded.every((n) => n >= 0.8 * encoded),
    `both decode at the rate the camera is encoded (${decoded} of ${encoded} frames in 3 s)`);
  const height = await viewerA.evaluate(() => document.getElementById('video').videoHeight);
  check(height === 480, `the viewer's video is the camera's 480 lines (${height})`);

  // Each page leaves by DELETE on its Location.
  for (const [p, what] of [[viewerA, 'viewer A'], [viewerB, 'viewer B'], [publisher, 'the publisher']]) {
    const status = await p.evaluate(async (base) => (await fetch(base + window.location_, { method: 'DELETE' })).status, base);
    check(status === 200, `${what} leaves with DELETE (${status})`);
  }
  let metrics = await (await fetch(`${base}/metrics`)).text();
  check(/elohim_rtc_streams 0/.test(metrics), 'no stream is left open');

  // The publisher left: its recording is stored as a blob, and its ladder plays in hls.js
  // on the sidecar's player page.
  const [recording] = await poll(async () => {
    const list = await (await fetch(`${base}/api/rtc/standup/recordings`)).json();
    return list.length ? list : null;
  }, 60, 'the recording is stored once the publisher left');
  check(recording.mime === 'video/webm', `the recording is video with its audio (${JSON.stringify(recording)})`);
  const probed = probe(base, recording.hash);
  check(probed.includes('vp8') && probed.includes('opus') && duration(probed) >= 2,
    `ffprobe reads VP8 and Opus, over 2 s (${probed.replace(/\n/g, ' ')})`);
  await poll(async () => {
    const p = await (await fetch(base + recording.ladder)).json();
    if (p.stage === 'failed') throw new Error(`the recording's ladder failed: ${p.error}`);
    return p.stage === 'done';
  }, 180, "the recording's ladder is done");
  const player = await browser.newPage();
  await player.goto(`${base}/player?src=${recording.hash}`);
  await waitFor(player, () => document.getElementById('video').currentTime > 1, 'the recording plays in hls.js');
  await player.close();

  // The join page: two tabs speak, a third watches.
  const room = `${base}/call/standup-page`;
  const tabs = await Promise.all([browser.newPage(), browser.newPage(), browser.newPage()]);
  for (const t of tabs) {
    t.on('pageerror', (e) => console.log('page error:', e.message));
    await t.goto(room);
  }
  const [ann, ben, watcher] = tabs;
  await press(ann, '#join');
  await waitFor(ann, () => document.getElementById('status').textContent === 'In the call.', 'Ann is in the call');
  await press(ben, '#join');
  await waitFor(ben, () => document.getElementById('status').textContent === 'In the call.', 'Ben is in the call');
  await press(watcher, '#watch');
  await waitFor(watcher, () => document.getElementById('status').textContent === 'Watching the call.', 'the watcher watches');
  // Remote videos that play: decoded frames keep coming.
  const playing = (t) => t.evaluate(() => [...document.querySelectorAll('video')]
    .filter((v) => v.getAttribute('aria-label') !== 'You' && v.videoWidth > 0)
    .map((v) => ({ w: v.videoWidth, frames: v.getVideoPlaybackQuality().totalVideoFrames })));
  for (const [t, who, n] of [[ann, 'Ann', 1], [ben, 'Ben', 1], [watcher, 'the watcher', 2]]) {
    await waitFor(t, (n) => [...document.querySelectorAll('video')]
      .filter((v) => v.getAttribute('aria-label') !== 'You' && v.videoWidth > 0).length === n, `${who} sees ${n} speaker(s)`, n);
    const before = await playing(t);
    await new Promise((r) => setTimeout(r, 1500));
    const after = await playing(t);
    check(after.length === n && after.every((v, i) => v.frames > before[i].frames + 10),
      `${who} sees ${n} other speaker(s) playing, never their own camera (${JSON.stringify(after)})`);
  }
  await waitFor(watcher, () => [...document.querySelectorAll('#people li')]
    .filter((li) => li.textContent.startsWith('speaking: publishing') && li.textContent.endsWith('· recorded')).length === 2,
  'presence lists two speakers, each said to be recorded');
  const people = await watcher.evaluate(() => document.querySelectorAll('#people li').length);
  check(people === 5, `presence lists two speakers and three watchers (${people})`);
  for (const t of tabs) await press(t, '#leave');
  const deadlineLeft = Date.now() + 10_000;
  do {
    metrics = await (await fetch(`${base}/metrics`)).text();
    if (/elohim_rtc_streams 0/.test(metrics)) break;
    await new Promise((r) => setTimeout(r, 200));
  } while (Date.now() < deadlineLeft);
  check(/elohim_rtc_streams 0/.test(metrics), 'leaving the join page frees every stream');

  // A sidecar killed mid-call: at its next start the partial recording becomes a blob.
  const crashPage = await browser.newPage();
  await crashPage.goto(`${pages}/`);
  const crashed = await publish(crashPage, `${base}/api/rtc/crash/whip`);
  check(crashed.status === 201, 'a publisher joins the call that will crash');
  await new Promise((r) => setTimeout(r, 5000)); // past a sync to disk
  first.child.kill('SIGKILL');
  await new Promise((r) => first.child.once('exit', r));
  const again = await startSidecar(bin, join(work, 'data'), children, { base: /listening on (http:\/\/\S+)\n/ });
  const [partial] = await poll(async () => {
    const list = await (await fetch(`${again.base}/api/rtc/crash/recordings`)).json();
    return list.length ? list : null;
  }, 60, 'after a restart, the killed call\'s recording is stored');
  const partialProbe = probe(again.base, partial.hash);
  check(partialProbe.includes('vp8') && duration(partialProbe) >= 2,
    `the partial recording plays (${partialProbe.replace(/\n/g, ' ')})`);
  console.log('the live call passed');
} finally {
  if (browser) await browser.close();
  for (const c of children) c.kill();
  rmSync(work, { recursive: true, force: true });
}

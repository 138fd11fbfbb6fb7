// A live call in headless Chromium: one page publishes its (fake) camera and microphone
// by WHIP, two pages watch by WHEP, and both decode video at the camera's frame rate.
//
//   node tests/clients/calls.mjs path/to/elohim-media
//
// The pages are served from another origin than the sidecar, so CORS is part of what
// lets them join. Every page leaves by DELETE on its Location. Exits non-zero on the
// first failure.

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

try {
  const { base, udp } = await startSidecar(bin, join(work, 'data'), children,
    { base: /listening on (http:\/\/\S+)\n/, udp: /media on udp (\S+)\n/ });
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
  const metrics = await (await fetch(`${base}/metrics`)).text();
  check(/elohim_rtc_streams 0/.test(metrics), 'no stream is left open');
  console.log('the live call passed');
} finally {
  if (browser) await browser.close();
  for (const c of children) c.kill();
  rmSync(work, { recursive: true, force: true });
}

// The call page: publishes this browser's camera and microphone by WHIP and shows the
// call's other publishers by WHEP, both to the node that serves the page; presence comes
// as Server-Sent Events. The call token (if the call is not public) is in the page's
// query and goes out as `Authorization: Bearer`, or `?token=` where a header cannot.
'use strict';
const SLOTS = 4; // the most other publishers shown at once
const call = decodeURIComponent(location.pathname.split('/').filter(Boolean)[1] || '');
const token = new URLSearchParams(location.search).get('token');
const base = `/api/rtc/${encodeURIComponent(call)}`;
const el = (id) => document.getElementById(id);
const sessions = []; // { pc, location }
let events = null;

document.getElementById('call-id').textContent = `Call ${call}`;

function say(text, error) {
  el('status').textContent = text;
  el('status').className = error ? 'error' : '';
}

/** Posts an offer to `url` and returns the answer and the session's Location. */
async function signal(url, pc) {
  const offer = await pc.createOffer();
  await pc.setLocalDescription(offer);
  // ICE-lite SFU: every candidate of ours goes in the offer, so wait for gathering.
  await new Promise((done) => {
    if (pc.iceGatheringState === 'complete') return done();
    pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && done());
    setTimeout(done, 2000);
  });
  const headers = { 'content-type': 'application/sdp' };
  if (token) headers.authorization = `Bearer ${token}`;
  const resp = await fetch(url, { method: 'POST', headers, body: pc.localDescription.sdp });
  if (resp.status !== 201) {
    let why = `${resp.status}`;
    try { why = (await resp.json()).error || why; } catch (_) { /* not JSON */ }
    if (resp.status === 503) why += ` (try again in ${resp.headers.get('retry-after') || 'a few'} s)`;
    throw new Error(why);
  }
  const location = resp.headers.get('location');
  await pc.setRemoteDescription({ type: 'answer', sdp: await resp.text() });
  return location;
}

function figure(label, stream, muted) {
  const fig = document.createElement('figure');
  const video = document.createElement('video');
  video.autoplay = true;
  video.playsInline = true;
  video.muted = muted;
  video.srcObject = stream;
  video.setAttribute('aria-label', label);
  const cap = document.createElement('figcaption');
  cap.textContent = label;
  fig.append(video, cap);
  el('feeds').append(fig);
  return video;
}

async function publish() {
  const media = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
  figure('You', media, true);
  const pc = new RTCPeerConnection();
  for (const track of media.getTracks()) pc.addTransceiver(track, { direction: 'sendonly' });
  const location = await signal(`${base}/whip`, pc);
  sessions.push({ pc, location, media });
  return location.split('/').pop();
}

async function watch(besides) {
  const pc = new RTCPeerConnection();
  const streams = [];
  for (let i = 0; i < SLOTS; i++) {
    const stream = new MediaStream();
    streams.push(stream);
    pc.addTransceiver('video', { direction: 'recvonly' });
    pc.addTransceiver('audio', { direction: 'recvonly' });
  }
  pc.addEventListener('track', (e) => {
    const index = pc.getTransceivers().indexOf(e.transceiver);
    const slot = Math.floor(index / 2);
    if (slot < 0 || slot >= SLOTS) return;
    streams[slot].addTrack(e.track);
    if (e.track.kind !== 'video') return;
    // A slot shows only while a speaker's video arrives on it.
    const video = figure(`Participant ${slot + 1}`, streams[slot], false);
    const fig = video.parentElement;
    fig.hidden = e.track.muted;
    e.track.addEventListener('unmute', () => { fig.hidden = false; });
    e.track.addEventListener('mute', () => { fig.hidden = true; });
  });
  const url = besides ? `${base}/whep?besides=${encodeURIComponent(besides)}` : `${base}/whep`;
  const location = await signal(url, pc);
  sessions.push({ pc, location });
}

function presence() {
  const url = token ? `${base}/events?token=${encodeURIComponent(token)}` : `${base}/events`;
  const members = new Map();
  const draw = () => {
    const list = el('people');
    list.replaceChildren();
    for (const m of members.values()) {
      const li = document.createElement('li');
      li.textContent = `${m.role === 'publish' ? 'speaking' : 'watching'}: ${m.state} (${m.member.slice(0, 6)})`
        + (m.recording ? ' · recorded' : '');
      list.append(li);
    }
  };
  events = new EventSource(url);
  events.addEventListener('snapshot', (e) => {
    members.clear();
    for (const m of JSON.parse(e.data)) members.set(m.member, m);
    draw();
  });
  events.addEventListener('presence', (e) => {
    const c = JSON.parse(e.data);
    if (c.state === 'left') members.delete(c.member);
    else members.set(c.member, c);
    draw();
  });
}

async function start(withCamera) {
  el('join').disabled = el('watch').disabled = true;
  try {
    say('Joining…');
    const mine = withCamera ? await publish() : null;
    await watch(mine);
    presence();
    el('leave').disabled = false;
    say(withCamera ? 'In the call.' : 'Watching the call.');
  } catch (e) {
    say(`Could not join: ${e.message}`, true);
    await leave();
    el('join').disabled = el('watch').disabled = false;
  }
}

async function leave() {
  if (events) events.close();
  events = null;
  while (sessions.length) {
    const s = sessions.pop();
    if (s.location) fetch(s.location, { method: 'DELETE' }).catch(() => {});
    s.pc.close();
    if (s.media) s.media.getTracks().forEach((t) => t.stop());
  }
  el('feeds').replaceChildren();
  el('people').replaceChildren();
  el('leave').disabled = true;
  el('join').disabled = el('watch').disabled = false;
}

el('join').addEventListener('click', () => start(true));
el('watch').addEventListener('click', () => start(false));
el('leave').addEventListener('click', async () => { await leave(); say('You left the call.'); });
window.addEventListener('pagehide', () => { leave(); });

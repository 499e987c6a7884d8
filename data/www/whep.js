// Ferry's WHEP player: POST the offer to /whep/{name}, apply the 201 answer, trickle our
// candidates with PATCH, DELETE the session on Stop. No third-party code.
'use strict';

const $ = (id) => document.getElementById(id);
window.ferryWhep = { pc: null, status: 'IDLE', location: null };

function setStatus(status, info) {
  window.ferryWhep.status = status;
  $('status').textContent = status;
  $('info').textContent = info || '';
}

async function play(name) {
  await stop();
  const config = await (await fetch('/config.json')).json();
  const pc = new RTCPeerConnection({ iceServers: config.iceServers || [] });
  window.ferryWhep.pc = pc;
  pc.addTransceiver('audio', { direction: 'recvonly' });
  pc.addTransceiver('video', { direction: 'recvonly' });
  const stream = new MediaStream();
  pc.ontrack = (ev) => { stream.addTrack(ev.track); $('video').srcObject = stream; };
  pc.onconnectionstatechange = () => {
    if (pc.connectionState === 'connected') setStatus('PLAYING');
    else if (pc.connectionState === 'failed') setStatus('FAILED', 'connection failed');
  };
  // Candidates found after the POST go to the session resource (RFC 8840 fragment).
  const pending = [];
  pc.onicecandidate = (ev) => {
    if (ev.candidate && ev.candidate.candidate) pending.push(ev.candidate);
    if (window.ferryWhep.location) flush(pc, pending);
  };
  setStatus('PENDING');
  await pc.setLocalDescription(await pc.createOffer());
  const res = await fetch(`/whep/${encodeURIComponent(name)}`, {
    method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: pc.localDescription.sdp,
  });
  if (res.status !== 201) {
    let info = `HTTP ${res.status}`;
    try { info = (await res.json()).message; } catch (e) { /* not JSON */ }
    setStatus('FAILED', info);
    pc.close();
    return;
  }
  window.ferryWhep.location = new URL(res.headers.get('Location'), location.href).href;
  await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
  flush(pc, pending);
}

function flush(pc, pending) {
  if (!pending.length) return;
  const sdp = pc.localDescription.sdp;
  const ufrag = /a=ice-ufrag:(.*)/.exec(sdp)[1].trim();
  const pwd = /a=ice-pwd:(.*)/.exec(sdp)[1].trim();
  let frag = `a=ice-ufrag:${ufrag}\r\na=ice-pwd:${pwd}\r\n`;
  const byMid = {};
  for (const c of pending.splice(0)) (byMid[c.sdpMid] ||= []).push(c.candidate);
  for (const [mid, list] of Object.entries(byMid)) {
    frag += `m=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:${mid}\r\n`;
    for (const c of list) frag += `a=${c}\r\n`;
  }
  fetch(window.ferryWhep.location, {
    method: 'PATCH', headers: { 'Content-Type': 'application/trickle-ice-sdpfrag' }, body: frag,
  }).catch(() => {});
}

async function stop() {
  const { pc, location: loc } = window.ferryWhep;
  window.ferryWhep.location = null;
  if (loc) await fetch(loc, { method: 'DELETE' }).catch(() => {});
  if (pc) { pc.close(); setStatus('STOPPED'); }
  window.ferryWhep.pc = null;
}

$('form').onsubmit = (ev) => { ev.preventDefault(); play($('name').value.trim()); };
$('stop').onclick = () => stop();
const params = new URLSearchParams(location.search);
if (params.get('name')) {
  $('name').value = params.get('name');
  play(params.get('name'));
}

// WHEP and real-network ICE end to end: the WHEP resource (POST/PATCH/DELETE/OPTIONS,
// errors, CORS, Link ice-servers), Chromium playing the same stream over WHEP and over
// the WCS WebSocket at once, the C test peer over WHEP (plain, trickle, DELETE), the
// public-address (NAT 1:1) mapping in both kinds of answers, and a two-namespace test:
// Ferry and the clients in separate network namespaces joined by a veth pair
// (10.213.0.0/30), with ICE limited to the veth address and a UDP port range.
//
// Every client that plays over WHEP ends with a DELETE: a WHEP client that just goes away
// is not freed by Ferry (yet), and would leave a viewer behind for the next test.
//
// 203.0.113.7 (a documentation address) only ever appears in text: every client that
// sees it runs in the suite's lo-only namespace, which has no route to it, so not one
// packet goes there.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import dgram from 'node:dgram';
import http from 'node:http';
import path from 'node:path';
import { startEnv } from './lib/env.mjs';
import { chromiumOffer } from './fixtures/offers.mjs';
import { FERRY_BIN, startFerry } from './lib/ferry.mjs';
import { PEER_BIN, awaitPeerReport, peerExists, startPeer, streamReport } from './lib/peer.mjs';
import { startProcess, runCommand } from './lib/proc.mjs';
import { launchBrowser, closeBrowser, expectMediaFlowing, inboundStats } from './lib/browser.mjs';
import { createClientNetns, launchBrowserInNetns, udpSocketsOf } from './lib/netns.mjs';
import { fatal, freePort, freshDir, request, waitFor, writeConf } from './lib/util.mjs';

const STUN = 'stun://127.0.0.1:3478';       // nothing listens there; only advertised
const TURN = 'turn://fuser:fsecret@127.0.0.1:3479';
const PUBLIC_IP = '203.0.113.7';
const PORT_MIN = 40100;
const PORT_MAX = 40109;
// A stream name that must be URL-encoded in the WHEP URL ('/', ' ', '%', parentheses).
const ODD_NAME = 'lobby/cam 1 (100%)';

let env;          // nginx-rtmp origin + one ffmpeg publisher ("cam1")
let ferry;        // main Ferry: STUN server configured
let pubFerry;     // public-addresses + TURN + a cors-origins list (started by its test)
let netFerry;     // the two-namespace Ferry (started by its test)
let ns;           // the client namespace + veth (created by its test)
let browsers = [];
let pageServer;   // the cross-origin page server

before(async () => {
  // The peer is part of the build (tests/peer): a missing one is a failure, not a skip.
  if (!peerExists()) throw new Error(`test peer not built: ${PEER_BIN} (build it, or set FERRY_PEER_BIN)`);
  env = await startEnv({ publish: ['cam1'], ferry: false });
  ferry = await startFerry({ extraArgs: ['--config', writeConf(`[webrtc]\nstun-server = ${STUN}\n`)] });
  await Promise.all([
    ferry.pullPlaying(env.uri('cam1'), 'cam1'),
    // nginx-rtmp ignores the query: a second pull of the same stream under another name.
    ferry.pullPlaying(`${env.uri('cam1')}?n=odd`, ODD_NAME),
  ]);
}, { timeout: 60000 });

after(async () => {
  for (const b of browsers) await closeBrowser(b);
  if (pageServer) await new Promise((r) => { pageServer.closeAllConnections(); pageServer.close(r); });
  await Promise.allSettled([ferry, pubFerry, netFerry].filter(Boolean).map((f) => f.proc.stop({ graceMs: 10000 })));
  if (ns) await ns.destroy();
  if (env) await env.stop();
});

// ---- helpers ----------------------------------------------------------------------------

const byName = (name) => (p) => p.localStreamName === name;
const whepUrl = (f, name) => `${f.base}/whep/${encodeURIComponent(name)}`;
const viewersOf = async (f, name) => (await f.find(byName(name)))?.viewers;

/**
 * One request on a connection of its own (no agent): Ferry's keep-alive handling has
 * its own test below and must not make the other assertions flaky. Resolves to
 * {status, headers, text, json} like util.mjs request().
 */
function req(method, url, body, headers = {}, timeout = 5000) {
  return request(method, url, body, { headers, timeout, json: false, agent: false });
}

function header(r, name) {
  const v = r.headers[name.toLowerCase()];
  return Array.isArray(v) ? v.join(', ') : v;
}

/** Every WHEP response carries CORS headers (default cors-origins = *). */
function assertCors(r, what, origin = '*') {
  assert.equal(header(r, 'Access-Control-Allow-Origin'), origin, `${what}: ${JSON.stringify(r.headers)}`);
  const expose = (header(r, 'Access-Control-Expose-Headers') || '').toLowerCase();
  for (const h of ['location', 'link', 'etag']) {
    assert.ok(expose.split(/\s*,\s*/).includes(h), `${what}: Expose-Headers lacks ${h}: ${expose}`);
  }
}

function assertJsonError(r, status, what) {
  assert.equal(r.status, status, `${what}: HTTP ${r.status} ${r.text.slice(0, 300)}`);
  assert.ok(r.json && 'error' in r.json && typeof r.json.message === 'string',
    `${what}: not a {"error","message"} body: ${r.text.slice(0, 300)}`);
}

/** `a=candidate` lines of an SDP as {address, port, transport, type, line}. */
function candidates(sdp) {
  return (sdp || '').split(/\r?\n/).filter((l) => l.startsWith('a=candidate:')).map((line) => {
    const f = line.slice('a=candidate:'.length).split(' ');
    return { transport: f[2].toLowerCase(), address: f[4], port: Number(f[5]), type: f[7], line };
  });
}

/**
 * The C peer with arbitrary arguments (WHEP mode, or WCS inside the client namespace),
 * optionally inside `inNs`. Resolves like peer.mjs: {code, signal, report, output, args}.
 */
function startPeerProc(args, { seconds, inNs = null, name = 'ferry-test-peer' }) {
  const all = [...args, '--seconds', String(seconds)];
  const opts = { logFile: path.join(freshDir('peer'), 'peer.log'), env: { G_DEBUG: 'fatal-criticals' } };
  const proc = inNs ? inNs.spawn(name, PEER_BIN, all, opts) : startProcess(name, PEER_BIN, all, opts);
  const result = awaitPeerReport(proc, all, seconds);
  return { proc, result };
}

function whepPeer(url, { seconds = 8, trickle = false, deleteAfter, iceAddress, inNs } = {}) {
  const args = ['--whep', url];
  if (trickle) args.push('--trickle');
  if (deleteAfter !== undefined) args.push('--delete-after', String(deleteAfter));
  if (iceAddress) args.push('--ice-address', iceAddress);
  return startPeerProc(args, { seconds, inNs, name: 'ferry-test-peer-whep' });
}

/** The single stream entry of a WHEP peer report. */
function whepReport(res) {
  if (!res.report || res.report.streams.length !== 1) {
    throw new Error(`WHEP peer printed no usable report (exit ${JSON.stringify({ code: res.code, signal: res.signal })}); `
      + `args ${res.args.join(' ')}; output:\n${res.output.slice(-3000)}`);
  }
  const s = res.report.streams[0];
  assert.equal(s.protocol, 'whep', JSON.stringify(s));
  return s;
}

const summary = (s) => JSON.stringify({ ...s, answerSdp: s.answerSdp ? `${s.answerSdp.length} chars` : s.answerSdp });

function assertPlayed(s, what) {
  assert.ok(s.videoFrames > 0, `${what}: no decoded video frames: ${summary(s)}`);
  assert.ok(s.audioSamples > 0, `${what}: no decoded audio samples: ${summary(s)}`);
}

/** Waits for Ferry's WHEP page to report PLAYING; on failure says what the page shows. */
async function waitWhepPlaying(page, what, timeout = 20000) {
  try {
    await page.waitForFunction(() => window.ferryWhep && window.ferryWhep.status === 'PLAYING', null, { timeout });
  } catch (err) {
    const seen = await page.evaluate(() => JSON.stringify({ url: location.href, status: window.ferryWhep?.status,
      info: document.querySelector('#info')?.textContent, body: document.body?.innerText.slice(0, 200) })).catch((e) => String(e));
    throw new Error(`${what}: not PLAYING within ${timeout} ms: ${seen}`);
  }
}

/**
 * Decoded video frames and received audio samples over a fixed `ms` of play in the page
 * (stats read before and after): a stalled viewer shows ~0 however long it ran before.
 */
async function playedOver(page, pcExpr, ms = 2000) {
  const a = await inboundStats(page, pcExpr);
  await new Promise((r) => setTimeout(r, ms));
  const b = await inboundStats(page, pcExpr);
  if (!a.video || !b.video || !a.audio || !b.audio) throw new Error(`no inbound stats: ${JSON.stringify({ a, b })}`);
  return { frames: b.video.framesDecoded - a.video.framesDecoded,
    samples: b.audio.totalSamplesReceived - a.audio.totalSamplesReceived };
}

/** 2 s of 30 fps video and 48 kHz audio: at least half of each. */
function assertRate(r, what) {
  assert.ok(r.frames >= 30, `${what}: only ${r.frames} frames decoded in 2 s`);
  assert.ok(r.samples >= 48000, `${what}: only ${r.samples} audio samples in 2 s`);
}

/** An offer with only VP8: a valid SDP that shares no codec with Ferry. */
const VP8_OFFER = [
  'v=0', 'o=- 4611731400430051336 2 IN IP4 127.0.0.1', 's=-', 't=0 0', 'a=group:BUNDLE 0',
  'm=video 9 UDP/TLS/RTP/SAVPF 96', 'c=IN IP4 0.0.0.0', 'a=rtcp:9 IN IP4 0.0.0.0',
  'a=ice-ufrag:Vp8x', 'a=ice-pwd:vp8vp8vp8vp8vp8vp8vp8vp8',
  `a=fingerprint:sha-256 ${Array.from({ length: 32 }, (_, i) => (i * 7 + 16).toString(16).toUpperCase().padStart(2, '0')).join(':')}`,
  'a=setup:actpass', 'a=mid:0', 'a=recvonly', 'a=rtcp-mux', 'a=rtpmap:96 VP8/90000', '',
].join('\r\n');

// ---- the WHEP resource over plain HTTP --------------------------------------------------

test('WHEP errors, OPTIONS and CORS; /config.json and /rest-api/ice with a STUN server', { timeout: 30000 }, async (t) => {
  const url = whepUrl(ferry, 'cam1');
  const sdp = { 'Content-Type': 'application/sdp' };

  const opt = await req('OPTIONS', url, undefined,
    { Origin: 'http://127.0.0.1:1', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type' });
  assert.equal(opt.status, 204, `OPTIONS: HTTP ${opt.status} ${opt.text}`);
  assertCors(opt, 'OPTIONS /whep/cam1');
  assert.match(header(opt, 'Access-Control-Allow-Methods') || '', /POST/);
  assert.match(header(opt, 'Access-Control-Allow-Methods') || '', /PATCH/);
  assert.match(header(opt, 'Access-Control-Allow-Methods') || '', /DELETE/);
  assert.match(header(opt, 'Access-Control-Allow-Headers') || '', /content-type/i);
  const optSession = await req('OPTIONS', `${url}/some-session`);
  assert.equal(optSession.status, 204);
  assertCors(optSession, 'OPTIONS /whep/cam1/{session}');

  const unknown = await req('POST', whepUrl(ferry, 'no-such-stream'), VP8_OFFER, sdp);
  assertJsonError(unknown, 404, 'POST for an unknown stream');
  assertCors(unknown, 'the 404');

  const plain = await req('POST', url, VP8_OFFER, { 'Content-Type': 'text/plain' });
  assertJsonError(plain, 415, 'POST with text/plain');
  assertCors(plain, 'the 415');

  const garbage = await req('POST', url, 'this is not an SDP offer\r\n', sdp);
  assertJsonError(garbage, 400, 'POST with a garbage offer');
  assertCors(garbage, 'the 400');

  const vp8 = await req('POST', url, VP8_OFFER, sdp, 10000);
  assertJsonError(vp8, 400, 'POST with a VP8-only offer (no common codec)');

  const big = await req('POST', url, `v=0\r\n${'a=x-padding:0123456789abcdef\r\n'.repeat(2500)}`, sdp);
  assertJsonError(big, 413, 'POST with a 75 KB offer');
  assertCors(big, 'the 413');

  const bogus = `${url}/00000000-0000-4000-8000-000000000000`;
  const patch = await req('PATCH', bogus, 'a=ice-ufrag:x\r\na=ice-pwd:y\r\n',
    { 'Content-Type': 'application/trickle-ice-sdpfrag' });
  assertJsonError(patch, 404, 'PATCH of an unknown session');
  assertCors(patch, 'the PATCH 404');
  const del = await req('DELETE', bogus);
  assertJsonError(del, 404, 'DELETE of an unknown session');
  assertCors(del, 'the DELETE 404');

  // None of the failed requests left a viewer behind.
  assert.equal(await viewersOf(ferry, 'cam1'), 0);
  assert.ok(ferry.alive(), 'Ferry died');

  const cfg = await req('GET', `${ferry.base}/config.json`);
  assert.equal(cfg.status, 200);
  assert.equal(cfg.json.wsPort, ferry.wsPort, cfg.text);
  assert.deepEqual(cfg.json.iceServers, [{ urls: ['stun:127.0.0.1:3478'] }], cfg.text);

  const ice = await ferry.rest('GET', '/rest-api/ice');
  assert.equal(ice.status, 200, ice.text);
  t.diagnostic(`/rest-api/ice: ${ice.text}`);
  assert.deepEqual(ice.json.addresses, ['127.0.0.1']);
  assert.deepEqual(ice.json.publicAddresses, []);
  assert.equal(ice.json.portRange, null);
  assert.equal(ice.json.iceTcp, false);
  assert.equal(ice.json.stunServer, STUN);
  assert.deepEqual(ice.json.turnServers, []);
  assert.ok(ice.json.warnings.some((w) => /private or loopback/.test(w)), `no loopback-only warning: ${ice.text}`);
  // The same report at startup, on stderr.
  assert.match(ferry.log(), /ferry-ice: \{.*"addresses":\["127\.0\.0\.1"\]/);
  assert.match(ferry.log(), /ferry-ice: WARNING: .*private or loopback/);
});

test('keep-alive: after a 204 (OPTIONS) the connection is reusable or closed with "Connection: close"', { timeout: 15000 }, async () => {
  // RFC 9112 §9.6: a server that will not keep the connection must say so in the
  // response. A keep-alive client (Node's fetch and http.Agent, most WHEP libraries)
  // otherwise sends its POST on a socket the server is closing and gets a reset.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const seen = [];
  const one = (method, body, headers) => new Promise((resolve, reject) => {
    const r = http.request(whepUrl(ferry, 'no-such-stream'), { method, agent, headers, timeout: 5000 }, (res) => {
      seen.push(`${method} ${res.statusCode} connection=${res.headers.connection || '-'} `
        + `content-length=${res.headers['content-length'] || '-'}${r.reusedSocket ? ' (reused socket)' : ''}`);
      res.resume();
      res.on('end', resolve);
    });
    r.on('timeout', () => r.destroy(new Error('no answer within 5000 ms')));
    r.on('error', (err) => reject(new Error(`${method}: ${err.message}${r.reusedSocket ? ' on a reused socket' : ''}; before: ${seen.join('; ')}`)));
    r.end(body);
  });
  try {
    for (let i = 0; i < 3; i++) {
      await one('OPTIONS', undefined, { Origin: 'http://127.0.0.1:1' });
      await one('POST', 'v=0\r\n', { 'Content-Type': 'application/sdp', 'Content-Length': 5 });
    }
  } finally {
    agent.destroy();
  }
  assert.equal(seen.length, 6, seen.join('; '));
});

// ---- the C peer over WHEP ---------------------------------------------------------------

test('C peer over WHEP: plays with Link headers; --trickle PATCHes (204) and plays', { timeout: 40000 }, async (t) => {
  const url = whepUrl(ferry, 'cam1');
  // Both DELETE after 5 s of play: a WHEP client that just leaves is not freed (yet).
  const [plainRes, trickleRes] = await Promise.all([
    whepPeer(url, { seconds: 11, deleteAfter: 5 }).result,
    whepPeer(url, { seconds: 11, deleteAfter: 5, trickle: true }).result,
  ]);
  for (const [what, res] of [['plain', plainRes], ['trickle', trickleRes]]) {
    const s = whepReport(res);
    t.diagnostic(`${what}: HTTP ${s.httpStatus}, ${s.videoFrames} frames, ${s.audioSamples} samples, `
      + `patch ${s.patchStatus}, delete ${s.deleteStatus}, location ${s.location}, links ${JSON.stringify(s.links)}`);
    assert.equal(s.httpStatus, 201, `${what}: ${summary(s)}`);
    assert.match(s.location || '', /^\/whep\/[^/]+\/[^/]+$/, `${what}: Location ${s.location}`);
    assert.equal(s.etag && /^"[^"]+"$/.test(s.etag), true, `${what}: ETag ${s.etag}`);
    assert.equal(s.acceptPatch, 'application/trickle-ice-sdpfrag', `${what}: Accept-Patch ${s.acceptPatch}`);
    assert.match(s.contentType || '', /^application\/sdp/, `${what}: answer Content-Type ${s.contentType}`);
    assert.ok((s.links || []).some((l) => /^<stun:127\.0\.0\.1:3478>;\s*rel="ice-server"$/.test(l)),
      `${what}: no STUN Link header: ${JSON.stringify(s.links)}`);
    assertPlayed(s, what);
    const cands = candidates(s.answerSdp);
    assert.ok(cands.length > 0, `${what}: answer without candidates`);
    assert.deepEqual([...new Set(cands.map((c) => c.address))], ['127.0.0.1'], `${what}: ${cands.map((c) => c.line)}`);
    assert.equal(s.deleteStatus, 200, `${what}: ${summary(s)}`);
    assert.equal(res.code, 0, `${what}: peer exit ${res.code}: ${res.output.slice(-1000)}`);
  }
  const [plain, trickle] = [plainRes, trickleRes].map(whepReport);
  assert.equal(decodeURIComponent(plain.location.split('/')[2]), 'cam1');
  assert.notEqual(plain.location, trickle.location, 'two sessions got the same Location');
  assert.equal(plain.patchStatus, null, 'the plain peer sent a PATCH');
  assert.equal(trickle.patchStatus, 204, `trickle PATCH: ${summary(trickle)}`);
  assert.ok(trickle.candidatesSent > 0, `the trickle peer sent no candidate: ${summary(trickle)}`);
  await waitFor('the WHEP viewers to be freed', async () => {
    const all = await ferry.findAll();
    return all.filter((p) => p.viewers !== 0).length === 0;
  }, { timeout: 5000, interval: 100 });
});

/** A UDP socket on 127.0.0.1 that counts the STUN Binding requests it receives. */
async function stunListener() {
  const sock = dgram.createSocket('udp4');
  await new Promise((resolve) => sock.bind(0, '127.0.0.1', resolve));
  const l = { port: sock.address().port, requests: 0, close: () => new Promise((r) => sock.close(r)) };
  sock.on('message', (m) => {
    // RFC 5389: type 0x0001 (Binding request), magic cookie 0x2112A442.
    if (m.length >= 20 && m.readUInt16BE(0) === 0x0001 && m.readUInt32BE(4) === 0x2112A442) l.requests++;
  });
  return l;
}

test('PATCH trickle adds the candidate to Ferry\'s ICE agent: it sends connectivity checks to the PATCHed address', { timeout: 30000 }, async (t) => {
  // An offer without candidates whose client never sends a check: the only way Ferry can
  // learn this address is the PATCH.
  const offer = chromiumOffer();
  const ufrag = /a=ice-ufrag:(\S+)/.exec(offer)[1];
  const pwd = /a=ice-pwd:(\S+)/.exec(offer)[1];
  const stun = await stunListener();
  try {
    const r = await req('POST', whepUrl(ferry, 'cam1'), offer, { 'Content-Type': 'application/sdp' });
    assert.equal(r.status, 201, r.text);
    const loc = new URL(header(r, 'Location'), ferry.base).href;
    const frag = `a=ice-ufrag:${ufrag}\r\na=ice-pwd:${pwd}\r\na=mid:0\r\n`
      + `a=candidate:1 1 udp 2122260223 127.0.0.1 ${stun.port} typ host\r\n`;
    const p = await req('PATCH', loc, frag, { 'Content-Type': 'application/trickle-ice-sdpfrag' });
    assert.equal(p.status, 204, p.text);
    await waitFor('a STUN check at the PATCHed candidate', async () => stun.requests > 0, { timeout: 8000, interval: 100 });
    t.diagnostic(`${stun.requests} Binding request(s) at 127.0.0.1:${stun.port} after the PATCH`);
    assert.equal((await req('DELETE', loc)).status, 200);
  } finally {
    await stun.close();
  }
});

test('ice-tcp = true adds passive TCP candidates to the answer; off (default) there are none', { timeout: 30000 }, async (t) => {
  const tcpFerry = await startFerry({ extraArgs: ['--config', writeConf('[webrtc]\nice-tcp = true\n')] });
  try {
    await tcpFerry.pullPlaying(`${env.uri('cam1')}?n=tcp`, 'cam1');
    for (const [what, f, wantTcp] of [['ice-tcp on', tcpFerry, true], ['ice-tcp off', ferry, false]]) {
      const r = await req('POST', whepUrl(f, 'cam1'), chromiumOffer(), { 'Content-Type': 'application/sdp' });
      assert.equal(r.status, 201, `${what}: ${r.text}`);
      const cands = candidates(r.text);
      t.diagnostic(`${what}: ${cands.map((c) => `${c.transport} ${c.address}:${c.port}`).join(', ')}`);
      const tcp = cands.filter((c) => c.transport === 'tcp');
      assert.ok(cands.some((c) => c.transport === 'udp'), `${what}: no UDP candidate`);
      if (wantTcp) {
        assert.ok(tcp.length > 0, `${what}: no TCP candidate in ${cands.map((c) => c.line)}`);
        assert.ok(tcp.some((c) => /tcptype passive/.test(c.line)), `${what}: no passive TCP candidate`);
      } else {
        assert.equal(tcp.length, 0, `${what}: ${tcp.map((c) => c.line)}`);
      }
      assert.equal((await req('DELETE', new URL(header(r, 'Location'), f.base).href)).status, 200);
    }
  } finally {
    assert.deepEqual(await tcpFerry.stopAndCheck(), []);
  }
});

test('server-side TURN: with a real TURN server (coturn) configured, Ferry\'s answer carries a relay candidate it allocated there', { timeout: 40000 }, async (t) => {
  const turnPort = await freePort();
  const dir = freshDir('coturn');
  const turn = startProcess('turnserver', '/usr/bin/turnserver', ['-n', '--listening-ip=127.0.0.1',
    '--relay-ip=127.0.0.1', `--listening-port=${turnPort}`, '--lt-cred-mech', '--user=fuser:fsecret',
    '--realm=ferry.test', '--no-tls', '--no-dtls', '--no-cli', '--allow-loopback-peers',
    '--min-port=49160', '--max-port=49200', `--db=${path.join(dir, 'turndb')}`,
    `--pidfile=${path.join(dir, 'turnserver.pid')}`, '--log-file=stdout', '--simple-log'],
  { logFile: path.join(dir, 'turnserver.log') });
  let f;
  try {
    await waitFor('coturn listening', async () => {
      if (turn.exitInfo) throw fatal(`turnserver exited: ${turn.log().slice(-1500)}`);
      return /turn server id=\d+ created/.test(turn.log());
    }, { timeout: 10000, interval: 100 });
    f = await startFerry({ extraArgs: ['--config', writeConf(`[webrtc]\nturn-servers = turn://fuser:fsecret@127.0.0.1:${turnPort}\n`)] });
    await f.pullPlaying(`${env.uri('cam1')}?n=turn`, 'cam1');
    const r = await req('POST', whepUrl(f, 'cam1'), chromiumOffer(), { 'Content-Type': 'application/sdp' });
    assert.equal(r.status, 201, r.text);
    const cands = candidates(r.text);
    t.diagnostic(`answer: ${cands.map((c) => `${c.type} ${c.transport} ${c.address}:${c.port}`).join(', ')}`);
    const relay = cands.filter((c) => c.type === 'relay');
    assert.ok(relay.length > 0, `no relay candidate: ${cands.map((c) => c.line)}`);
    for (const c of relay) assert.ok(c.port >= 49160 && c.port <= 49200, `relay port ${c.port} is not coturn's`);
    assert.equal((await req('DELETE', new URL(header(r, 'Location'), f.base).href)).status, 200);
    assert.doesNotMatch(f.log(), /fsecret/, 'the TURN password is in the log');
  } finally {
    if (f) assert.deepEqual(await f.stopAndCheck(), []);
    await turn.stop();
  }
});

test('public-addresses by host name: resolved once at start and advertised as its IP; an unresolvable name stops the start with the reason', { timeout: 40000 }, async (t) => {
  // run.sh's namespaces include a private mount namespace: a bind mount over /etc/hosts
  // gives the name an address for this run only.
  const hosts = path.join(freshDir('hosts'), 'hosts');
  fs.writeFileSync(hosts, `${fs.readFileSync('/etc/hosts', 'utf8')}\n203.0.113.9 public.ferry.test\n`);
  const b = await runCommand('mount', ['--bind', hosts, '/etc/hosts']);
  assert.equal(b.code, 0, `bind mount over /etc/hosts (needs run.sh's private mount namespace): ${b.stderr}`);
  let f;
  try {
    f = await startFerry({ extraArgs: ['--config', writeConf('[webrtc]\npublic-addresses = public.ferry.test\n')] });
    const ice = await f.rest('GET', '/rest-api/ice');
    t.diagnostic(`/rest-api/ice: ${ice.text}`);
    assert.deepEqual(ice.json.publicAddresses, ['203.0.113.9']);
    await f.pullPlaying(`${env.uri('cam1')}?n=host`, 'cam1');
    const r = await req('POST', whepUrl(f, 'cam1'), chromiumOffer(), { 'Content-Type': 'application/sdp' });
    assert.equal(r.status, 201, r.text);
    assert.ok(candidates(r.text).some((c) => c.address === '203.0.113.9'), `no 203.0.113.9 candidate:\n${r.text}`);
    assert.equal((await req('DELETE', new URL(header(r, 'Location'), f.base).href)).status, 200);
    assert.deepEqual(await f.stopAndCheck(), []);
    f = null;
    const bad = await runCommand(FERRY_BIN, ['--rest-port', '0', '--ws-port', '0', '--config',
      writeConf('[webrtc]\npublic-addresses = nowhere.invalid\n')], { timeout: 20000 });
    t.diagnostic(`unresolvable: exit ${bad.code}: ${bad.stderr.trim().split('\n').pop()}`);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /public address nowhere\.invalid/);
    assert.doesNotMatch(bad.stderr, /Sanitizer|CRITICAL/);
  } finally {
    if (f) await f.proc.stop();
    await runCommand('umount', ['/etc/hosts']);
  }
});

test('C peer over WHEP: a stream name with "/", "%" and spaces, URL-encoded in the WHEP URL', { timeout: 30000 }, async (t) => {
  const res = await whepPeer(whepUrl(ferry, ODD_NAME), { seconds: 9, deleteAfter: 2 }).result;
  const s = whepReport(res);
  t.diagnostic(`POST ${s.url}: HTTP ${s.httpStatus}, location ${s.location}, ${s.videoFrames} frames, delete ${s.deleteStatus}`);
  assert.equal(s.httpStatus, 201, summary(s));
  assert.match(s.location || '', /^\/whep\/[^/]+\/[^/]+$/, `Location ${s.location}`);
  assert.equal(decodeURIComponent(s.location.split('/')[2]), ODD_NAME, `Location ${s.location}`);
  assertPlayed(s, ODD_NAME);
  assert.equal(s.deleteStatus, 200, summary(s));
  await waitFor('the viewer to be freed', async () => (await viewersOf(ferry, ODD_NAME)) === 0,
    { timeout: 5000, interval: 100 });
});

test('C peer over WHEP: --delete-after frees the viewer while the peer still runs', { timeout: 40000 }, async (t) => {
  assert.equal(await viewersOf(ferry, 'cam1'), 0, 'a viewer is left from an earlier test');
  const peer = whepPeer(whepUrl(ferry, 'cam1'), { seconds: 10, deleteAfter: 3 });
  await waitFor('the WHEP viewer to appear in find_all', async () => {
    if (peer.proc.exitInfo) throw fatal(`peer exited: ${peer.proc.log().slice(-2000)}`);
    return (await viewersOf(ferry, 'cam1')) === 1;
  }, { timeout: 10000, interval: 100 });
  const seen1 = Date.now();
  await waitFor('the viewer to be freed by DELETE', async () => {
    if (peer.proc.exitInfo) throw fatal(`peer exited before the viewer was freed: ${peer.proc.log().slice(-2000)}`);
    return (await viewersOf(ferry, 'cam1')) === 0;
  }, { timeout: 10000, interval: 100 });
  const freedAfter = Date.now() - seen1;
  const stillRunning = !peer.proc.exitInfo;
  const res = await peer.result;
  const s = whepReport(res);
  t.diagnostic(`viewer seen, freed ${freedAfter} ms later; ${s.videoFrames} frames, ${s.audioSamples} samples, `
    + `delete ${s.deleteStatus}, framesAfterDelete ${s.framesAfterDelete}`);
  assert.ok(stillRunning, 'the peer had exited when the viewer count dropped: DELETE did not free it');
  assert.equal(s.httpStatus, 201, summary(s));
  assert.equal(s.deleteStatus, 200, summary(s));
  assertPlayed(s, 'delete-after');
  // Counted for 1 s after the DELETE answer (30 fps): only what was still in the
  // jitterbuffer may come out.
  assert.ok(s.framesAfterDelete !== null && s.framesAfterDelete <= 10,
    `framesAfterDelete ${s.framesAfterDelete}: media kept flowing after DELETE`);
  assert.equal(await viewersOf(ferry, 'cam1'), 0);
  // The session is gone: a second DELETE is a 404.
  const again = await req('DELETE', `${ferry.base}${s.location}`);
  assertJsonError(again, 404, 'DELETE of a deleted session');
});

test('a WHEP client that dies without DELETE is freed; one that keeps playing 30 s is not', { timeout: 60000 }, async (t) => {
  // Ferry frees a WHEP viewer whose client went silent (rtpbin RTCP timeout, about
  // 5 RTCP intervals). The same timeout must not hit a client that is still there.
  assert.equal(await viewersOf(ferry, 'cam1'), 0, 'a viewer is left from an earlier test');
  const live = whepPeer(whepUrl(ferry, 'cam1'), { seconds: 40, deleteAfter: 30 });
  const victim = whepPeer(whepUrl(ferry, 'cam1'), { seconds: 40 });
  await waitFor('both WHEP peers to be viewers', async () => {
    for (const p of [live, victim]) if (p.proc.exitInfo) throw fatal(`a peer exited: ${p.proc.log().slice(-2000)}`);
    return (await viewersOf(ferry, 'cam1')) === 2;
  }, { timeout: 10000, interval: 100 });
  await new Promise((r) => setTimeout(r, 2000)); // both play (and send RTCP) for a while
  await victim.proc.stop({ signal: 'SIGKILL' }); // no DELETE, no RTCP BYE
  const killed = Date.now();
  await waitFor('the dead client\'s viewer to be freed', async () => {
    if (live.proc.exitInfo) throw fatal(`the live peer exited: ${live.proc.log().slice(-2000)}`);
    return (await viewersOf(ferry, 'cam1')) === 1;
  }, { timeout: 45000, interval: 250 });
  const freedAfter = Date.now() - killed;
  const s = whepReport(await live.result);
  t.diagnostic(`dead client freed ${freedAfter} ms after SIGKILL; live client: ${s.videoFrames} frames, `
    + `${s.audioSamples} samples, DELETE after 30 s: ${s.deleteStatus}, statuses ${JSON.stringify(s.statuses)}`);
  assert.equal(s.deleteStatus, 200, `the live client's session was gone after 30 s of play: ${summary(s)}`);
  // 30 s at 30 fps / 48 kHz; at least two thirds of it.
  assert.ok(s.videoFrames >= 600, `live client: only ${s.videoFrames} frames in 30 s`);
  assert.ok(s.audioSamples >= 30 * 48000 * 2 / 3, `live client: only ${s.audioSamples} samples in 30 s`);
  assert.equal(await viewersOf(ferry, 'cam1'), 0);
});

// ---- Chromium: WHEP page and WCS page at once -------------------------------------------

test('Chromium plays cam1 over WHEP and over the WebSocket at once; WHEP Stop DELETEs one viewer', { timeout: 60000 }, async (t) => {
  assert.equal(await viewersOf(ferry, 'cam1'), 0, 'a viewer is left from an earlier test');
  const browser = await launchBrowser();
  browsers.push(browser);
  const whep = await browser.newPage();
  const wcs = await browser.newPage();
  try {
    await Promise.all([
      whep.goto(`${ferry.base}/whep.html?name=cam1`, { waitUntil: 'commit' }),
      wcs.goto(`${ferry.base}/?name=cam1&autoplay=1`, { waitUntil: 'commit' }),
    ]);
    await Promise.all([
      waitWhepPlaying(whep, 'the WHEP page'),
      wcs.waitForFunction(() => window.ferryPlayer && window.ferryPlayer.status === 'PLAYING', null, { timeout: 20000 })
        .catch(async () => {
          throw new Error(`WCS page not PLAYING: ${await wcs.evaluate(() => JSON.stringify(window.ferryPlayer && { s: window.ferryPlayer.status, i: window.ferryPlayer.info }))}`);
        }),
    ]);
    const [a, b] = await Promise.all([
      expectMediaFlowing(whep, 'window.ferryWhep.pc'),
      expectMediaFlowing(wcs, 'window.ferryPlayer.pc'),
    ]);
    t.diagnostic(`WHEP: ${a.first.video.framesDecoded} -> ${a.second.video.framesDecoded} frames `
      + `(${a.second.video.frameWidth}x${a.second.video.frameHeight}), ${a.second.audio.totalSamplesReceived} samples; `
      + `WCS: ${b.first.video.framesDecoded} -> ${b.second.video.framesDecoded} frames, ${b.second.audio.totalSamplesReceived} samples`);
    assert.equal(a.second.video.frameWidth, 640);
    const [rw, rs] = await Promise.all([playedOver(whep, 'window.ferryWhep.pc'), playedOver(wcs, 'window.ferryPlayer.pc')]);
    t.diagnostic(`in 2 s: WHEP ${rw.frames} frames, ${rw.samples} samples; WCS ${rs.frames} frames, ${rs.samples} samples`);
    assertRate(rw, 'WHEP page');
    assertRate(rs, 'WCS page');
    assert.equal(await viewersOf(ferry, 'cam1'), 2, 'find_all does not count both viewers');

    const loc = await whep.evaluate(() => window.ferryWhep.location);
    assert.match(loc, new RegExp(`^${ferry.base.replace(/\./g, '\\.')}/whep/cam1/[^/]+$`));
    const answer = await whep.evaluate(() => window.ferryWhep.pc.remoteDescription.sdp);
    assert.ok(candidates(answer).length > 0, 'the WHEP answer in Chromium has no candidates');

    await whep.click('#stop');
    await whep.waitForFunction(() => window.ferryWhep.status === 'STOPPED' && window.ferryWhep.location === null,
      null, { timeout: 5000 });
    await waitFor('the WHEP viewer to be freed', async () => (await viewersOf(ferry, 'cam1')) === 1,
      { timeout: 5000, interval: 100 });
    // The session resource is gone; the WebSocket viewer plays on.
    const gone = await req('DELETE', loc);
    assert.equal(gone.status, 404, `DELETE after Stop: HTTP ${gone.status}`);
    const after = await playedOver(wcs, 'window.ferryPlayer.pc');
    t.diagnostic(`WCS page after the WHEP Stop, in 2 s: ${after.frames} frames, ${after.samples} samples`);
    assertRate(after, 'WCS page after the WHEP viewer left');
    assert.equal(await wcs.evaluate(() => window.ferryPlayer.status), 'PLAYING');
    await wcs.click('#stop');
    await waitFor('no viewer left', async () => (await viewersOf(ferry, 'cam1')) === 0, { timeout: 5000, interval: 100 });

    assert.deepEqual(browser.pageErrors, []);
  } finally {
    // Closing the pages also frees their viewers if an assertion failed half-way.
    await whep.close().catch(() => {});
    await wcs.close().catch(() => {});
  }
});

test('cross-origin: a page on another origin POSTs the offer, reads Location/Link/ETag, DELETEs', { timeout: 40000 }, async (t) => {
  const browser = browsers[0] || await launchBrowser();
  if (!browsers.includes(browser)) browsers.push(browser);
  pageServer = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end('<!DOCTYPE html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"></head><body>other origin</body></html>');
  });
  await new Promise((resolve, reject) => { pageServer.once('error', reject); pageServer.listen(0, '127.0.0.1', resolve); });
  const pageOrigin = `http://127.0.0.1:${pageServer.address().port}`;
  assert.notEqual(pageOrigin, ferry.base);
  const page = await browser.newPage();
  await page.goto(`${pageOrigin}/`);
  const got = await page.evaluate(async (url) => {
    const pc = new RTCPeerConnection();
    pc.addTransceiver('audio', { direction: 'recvonly' });
    pc.addTransceiver('video', { direction: 'recvonly' });
    await pc.setLocalDescription(await pc.createOffer());
    const t0 = performance.now();
    const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: pc.localDescription.sdp });
    const out = {
      postMs: Math.round(performance.now() - t0),
      status: res.status, location: res.headers.get('Location'), link: res.headers.get('Link'),
      etag: res.headers.get('ETag'), type: res.headers.get('Content-Type'),
    };
    const answer = await res.text();
    out.answerIsSdp = answer.startsWith('v=0');
    if (out.status === 201) {
      await pc.setRemoteDescription({ type: 'answer', sdp: answer });
      const abs = new URL(out.location, url).href;
      out.deleteStatus = (await fetch(abs, { method: 'DELETE' })).status;
    }
    pc.close();
    return out;
  }, whepUrl(ferry, 'cam1'));
  t.diagnostic(`cross-origin POST answered in ${got.postMs} ms`);
  assert.equal(got.status, 201, JSON.stringify(got));
  assert.match(got.location || '', /^\/whep\/cam1\/[^/]+$/, JSON.stringify(got));
  assert.match(got.link || '', /<stun:127\.0\.0\.1:3478>; rel="ice-server"/, JSON.stringify(got));
  assert.ok(got.etag, `ETag not readable cross-origin: ${JSON.stringify(got)}`);
  assert.match(got.type || '', /^application\/sdp/);
  assert.ok(got.answerIsSdp, JSON.stringify(got));
  assert.equal(got.deleteStatus, 200, JSON.stringify(got));
  await waitFor('the cross-origin viewer to be freed', async () => (await viewersOf(ferry, 'cam1')) === 0,
    { timeout: 5000, interval: 100 });
  await page.close();
});

// ---- public addresses (NAT 1:1) ---------------------------------------------------------

test('public-addresses: 203.0.113.7 is in the WHEP and WCS answers and in /rest-api/ice; TURN in Link', { timeout: 40000 }, async (t) => {
  pubFerry = await startFerry({
    extraArgs: ['--config', writeConf(`[server]\ncors-origins = http://allowed.test;http://also.test\n`
      + `[webrtc]\npublic-addresses = ${PUBLIC_IP}\nturn-servers = ${TURN}\n`)],
  });
  await pubFerry.pullPlaying(`${env.uri('cam1')}?n=pub`, 'cam1');

  const [whepRes, wcsRes] = await Promise.all([
    whepPeer(whepUrl(pubFerry, 'cam1'), { seconds: 7 }).result,
    startPeer({ url: pubFerry.wsUrl, names: ['cam1'], seconds: 7 }).result,
  ]);
  const w = whepReport(whepRes);
  const s = streamReport(wcsRes, 'cam1');
  for (const [what, sdp] of [['WHEP', w.answerSdp], ['WCS', s.answerSdp]]) {
    const cands = candidates(sdp);
    const pub = cands.filter((c) => c.address === PUBLIC_IP);
    const local = cands.filter((c) => c.address === '127.0.0.1');
    t.diagnostic(`${what} answer: ${cands.map((c) => `${c.address}:${c.port}`).join(', ')}`);
    assert.ok(pub.length > 0, `${what} answer has no ${PUBLIC_IP} candidate: ${cands.map((c) => c.line)}`);
    for (const p of pub) {
      assert.equal(p.type, 'host', p.line);
      assert.ok(local.some((l) => l.port === p.port && l.transport === p.transport),
        `${what}: ${p.line} has no local candidate with the same port`);
    }
    assert.deepEqual([...new Set(cands.map((c) => c.address))].sort(), ['127.0.0.1', PUBLIC_IP].sort());
  }
  // The extra candidate does not get in the way on the local path.
  assertPlayed(w, 'WHEP with a public address');
  assertPlayed(s, 'WCS with a public address');
  assert.ok((w.links || []).some((l) => l === '<turn:127.0.0.1:3479>; rel="ice-server"; username="fuser"; '
    + 'credential="fsecret"; credential-type="password"'), `TURN Link: ${JSON.stringify(w.links)}`);

  const ice = await pubFerry.rest('GET', '/rest-api/ice');
  t.diagnostic(`/rest-api/ice: ${ice.text}`);
  assert.deepEqual(ice.json.publicAddresses, [PUBLIC_IP]);
  assert.deepEqual(ice.json.turnServers, ['turn://fuser@127.0.0.1:3479']);
  assert.equal(ice.json.stunServer, null);
  assert.deepEqual(ice.json.warnings, [], 'a public address is advertised: no warning expected');
  assert.doesNotMatch(ice.text, /fsecret/, 'the TURN password leaks into /rest-api/ice');
  assert.doesNotMatch(pubFerry.log(), /fsecret/, 'the TURN password is logged');
  const cfg = await req('GET', `${pubFerry.base}/config.json`);
  assert.deepEqual(cfg.json.iceServers, [{ urls: ['turn:127.0.0.1:3479'], username: 'fuser', credential: 'fsecret' }]);

  // cors-origins as a list: a listed origin is echoed, another gets no CORS header.
  const url = whepUrl(pubFerry, 'cam1');
  const ok = await req('OPTIONS', url, undefined, { Origin: 'http://also.test' });
  assert.equal(ok.status, 204);
  assertCors(ok, 'OPTIONS from a listed origin', 'http://also.test');
  const other = await req('OPTIONS', url, undefined, { Origin: 'http://evil.test' });
  assert.equal(header(other, 'Access-Control-Allow-Origin'), undefined, `unlisted origin allowed: ${JSON.stringify(other.headers)}`);

  assert.deepEqual(await pubFerry.stopAndCheck(), []);
  pubFerry = null;
});

// ---- two network namespaces -------------------------------------------------------------
//
// The suite's namespace is the server side (Ferry, nginx and ffmpeg on 127.0.0.1, plus
// 10.213.0.1 on the veth); the clients run in a second namespace that only has lo and
// 10.213.0.2. Ferry listens and gathers on 10.213.0.1 only, media ports 40100-40109.

let netSetup = null;
/** The client namespace and its Ferry, made once for the tests below (torn down in after). */
function netWorld() {
  netSetup ||= (async () => {
    ns = await createClientNetns();
    const server = ns.serverAddr;
    // No --ice-address 127.0.0.1: a command-line list would replace the config's.
    netFerry = await startFerry({
      // [auth] off: a non-loopback listen would require credentials (auth.test.mjs);
      // allow-private: it would forbid the origin on 127.0.0.1 (sources.test.mjs)
      extraArgs: ['--config', writeConf(`[server]\nlisten = ${server}\n[auth]\nrest = off\nplay = off\n`
        + '[sources]\nallow-private = true\n'
        + `[webrtc]\nice-addresses = ${server}\nport-min = ${PORT_MIN}\nport-max = ${PORT_MAX}\n`)],
      iceAddress: null,
      host: server,
    });
    await netFerry.pullPlaying(`${env.uri('cam1')}?n=net`, 'cam1');
    return { ns, ferry: netFerry, server };
  })();
  return netSetup;
}

/**
 * Waits until Ferry has at least `min` UDP sockets (one per viewer once its ICE agent
 * gathered), then checks that every one is bound to `server` within the port range.
 */
async function assertSocketsInRange(t, pid, server, min) {
  const socks = await waitFor(`at least ${min} UDP sockets in Ferry`, () => {
    const list = udpSocketsOf(pid);
    if (list.length >= min) return list;
    throw new Error(JSON.stringify(list));
  }, { timeout: 8000, interval: 100 });
  t.diagnostic(`Ferry UDP sockets: ${socks.map((x) => `${x.addr}:${x.port}`).join(', ')}`);
  assert.ok(socks.length >= min, `expected at least ${min} UDP sockets (one per viewer): ${JSON.stringify(socks)}`);
  for (const sock of socks) {
    assert.ok(sock.port >= PORT_MIN && sock.port <= PORT_MAX, `UDP socket outside ${PORT_MIN}-${PORT_MAX}: ${JSON.stringify(sock)}`);
    assert.equal(sock.addr, server, `UDP socket not bound to ${server}: ${JSON.stringify(sock)}`);
  }
}

/** Every a=candidate of `sdp` is `server` with a port in the range. */
function assertCandidatesInRange(what, sdp, server) {
  const cands = candidates(sdp);
  assert.ok(cands.length > 0, `${what}: answer without candidates`);
  for (const c of cands) {
    assert.equal(c.address, server, `${what}: ${c.line}`);
    assert.ok(c.port >= PORT_MIN && c.port <= PORT_MAX, `${what}: port outside ${PORT_MIN}-${PORT_MAX}: ${c.line}`);
  }
}

async function vethTxBytes(dev) {
  const r = await runCommand('ip', ['-s', '-j', 'link', 'show', 'dev', dev], { timeout: 5000 });
  return JSON.parse(r.stdout)[0].stats64.tx.bytes;
}

test('two namespaces: Ferry listens and gathers on 10.213.0.1 only, port range in /rest-api/ice', { timeout: 40000 }, async (t) => {
  const { ferry: f, server } = await netWorld();
  await assert.rejects(request('GET', `http://127.0.0.1:${f.restPort}/config.json`, undefined, { timeout: 2000 }),
    /ECONNREFUSED/, `Ferry answers on 127.0.0.1 although listen = ${server}`);
  const r = await ns.run('/bin/bash', ['-c', `exec 3<>/dev/tcp/${server}/${f.restPort}`], { timeout: 5000 });
  assert.equal(r.code, 0, `the REST port is not reachable from the client namespace: ${r.stderr}`);
  const ice = await f.rest('GET', '/rest-api/ice');
  t.diagnostic(`/rest-api/ice: ${ice.text}`);
  assert.deepEqual(ice.json.addresses, [server]);
  assert.deepEqual(ice.json.publicAddresses, []);
  assert.deepEqual(ice.json.portRange, [PORT_MIN, PORT_MAX]);
  assert.ok(ice.json.warnings.some((w) => /private or loopback/.test(w)), ice.text);
});

test('two namespaces: the C peer over WHEP and over the WebSocket plays across the veth, ports in range', { timeout: 60000 }, async (t) => {
  const { ferry: f, server } = await netWorld();
  const txBefore = await vethTxBytes(ns.serverIf);
  const whepP = whepPeer(whepUrl(f, 'cam1'), { seconds: 8, deleteAfter: 5, iceAddress: ns.clientAddr, inNs: ns });
  const wcsP = startPeerProc(['--url', f.wsUrl, '--name', 'cam1', '--ice-address', ns.clientAddr], { seconds: 7, inNs: ns });
  await waitFor('both peers to be viewers', async () => {
    for (const p of [whepP, wcsP]) if (p.proc.exitInfo) throw fatal(`a peer exited early: ${p.proc.log().slice(-2000)}`);
    return (await f.find(byName('cam1')))?.viewers === 2;
  }, { timeout: 10000, interval: 100 });
  // While both play (the WHEP peer DELETEs 5 s after ICE connected).
  await assertSocketsInRange(t, f.proc.pid, server, 2);

  const [whepRes, wcsRes] = await Promise.all([whepP.result, wcsP.result]);
  const w = whepReport(whepRes);
  const s = streamReport(wcsRes, 'cam1');
  const tx = (await vethTxBytes(ns.serverIf)) - txBefore;
  t.diagnostic(`WHEP: ${w.videoFrames} frames, ${w.audioSamples} samples, delete ${w.deleteStatus}; `
    + `WCS: ${s.videoFrames} frames, ${s.audioSamples} samples; ${ns.serverIf} sent ${tx} bytes`);
  assertPlayed(w, 'WHEP across the veth');
  assertPlayed(s, 'WCS across the veth');
  assertCandidatesInRange('WHEP answer', w.answerSdp, server);
  assertCandidatesInRange('WCS answer', s.answerSdp, server);
  assert.equal(w.deleteStatus, 200, summary(w));
  // Two viewers of ~1 Mbit/s for 5-6 s: well over 1 MB went out through the veth.
  assert.ok(tx > 1_000_000, `only ${tx} bytes left through ${ns.serverIf}`);
  await waitFor('the viewers to be freed', async () => (await f.find(byName('cam1')))?.viewers === 0,
    { timeout: 10000, interval: 200 });
});

test('two namespaces: Chromium plays Ferry\'s WHEP page across the veth', { timeout: 60000 }, async (t) => {
  const { ferry: f, server } = await netWorld();
  const browser = await launchBrowserInNetns(ns);
  browsers.push(browser);
  try {
    const page = await browser.newPage();
    await page.goto(`${f.base}/whep.html?name=cam1`, { waitUntil: 'commit' });
    await waitWhepPlaying(page, 'the WHEP page in the client namespace');
    await expectMediaFlowing(page, 'window.ferryWhep.pc');
    const rate = await playedOver(page, 'window.ferryWhep.pc');
    await assertSocketsInRange(t, f.proc.pid, server, 1);
    const pair = await page.evaluate(async () => {
      const stats = await window.ferryWhep.pc.getStats();
      let sel = null;
      stats.forEach((x) => { if (x.type === 'transport' && x.selectedCandidatePairId) sel = stats.get(x.selectedCandidatePairId); });
      if (!sel) return null;
      const l = stats.get(sel.localCandidateId);
      const r = stats.get(sel.remoteCandidateId);
      return { local: `${l.address}:${l.port}`, remote: `${r.address}:${r.port}`, bytesReceived: sel.bytesReceived };
    });
    t.diagnostic(`Chromium pair ${JSON.stringify(pair)}; in 2 s: ${rate.frames} frames, ${rate.samples} samples`);
    assertRate(rate, 'Chromium across the veth');
    assert.ok(pair, 'Chromium has no selected candidate pair');
    assert.match(pair.local, /^10\.213\.0\.2:/);
    assert.equal(pair.remote.split(':')[0], server);
    const port = Number(pair.remote.split(':')[1]);
    assert.ok(port >= PORT_MIN && port <= PORT_MAX, `remote port ${port}`);
    assertCandidatesInRange('the WHEP answer in Chromium', await page.evaluate(() => window.ferryWhep.pc.remoteDescription.sdp), server);
    await page.click('#stop');
    await waitFor('the viewer to be freed', async () => (await f.find(byName('cam1')))?.viewers === 0,
      { timeout: 5000, interval: 100 });
    assert.deepEqual(browser.pageErrors, []);
  } finally {
    await closeBrowser(browser);
    browsers = browsers.filter((b) => b !== browser);
  }
});

test('two namespaces: Ferry exits cleanly on SIGTERM; the namespace and veth are removed', { timeout: 30000 }, async () => {
  const { ferry: f } = await netWorld();
  const exit = await f.proc.stop({ graceMs: 10000 });
  netFerry = null;
  assert.deepEqual(exit, { code: 0, signal: null, killed: false }, 'Ferry did not exit cleanly on SIGTERM');
  assert.doesNotMatch(f.log(), /CRITICAL|AddressSanitizer|LeakSanitizer|runtime error:/);
  const serverIf = ns.serverIf;
  await ns.destroy();
  ns = null;
  const links = await runCommand('ip', ['-o', 'link'], { timeout: 5000 });
  assert.doesNotMatch(links.stdout, new RegExp(serverIf), 'the veth outlived the namespace');
});

test('the main Ferry exits cleanly on SIGTERM after all of the above', { timeout: 30000 }, async () => {
  const problems = await ferry.stopAndCheck();
  ferry = null;
  assert.deepEqual(problems, []);
});

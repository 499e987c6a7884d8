// Operations (#9): GET /metrics against a real origin and a real viewer (the C peer), and
// the [limits] (a second Ferry with tight ones; raw WebSocket clients with canned offers).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEnv } from './lib/env.mjs';
import { startFerry } from './lib/ferry.mjs';
import { startPeer, streamReport } from './lib/peer.mjs';
import { connectWs, establishedWs } from './lib/wsclient.mjs';
import { chromiumOffer } from './fixtures/offers.mjs';
import { sleep, waitFor, writeConf } from './lib/util.mjs';

let env;
let ferry;
let lim;    // the Ferry with tight [limits]

const LIMITS_CONF = `[limits]
body-kb = 8
json-depth = 4
pulls = 2
viewers = 3
viewers-per-stream = 2
ws-message-kb = 8
ws-messages-per-second = 5
ws-per-address = 4
[webrtc]
ice-timeout = 60
[pull]
connect-timeout = 60
idle-timeout = 60
`;

before(async () => {
  // reconnect = false, idle-timeout = 3: a name nobody publishes fails in 3 s
  env = await startEnv({ publish: ['ops1'], ferryConf: '[pull]\nreconnect = false\nidle-timeout = 3\n' });
  ferry = env.ferry;
  lim = await startFerry({ extraArgs: ['--config', writeConf(LIMITS_CONF)] });
}, { timeout: 60000 });

after(async () => {
  if (!env) return;
  const problems = [...await ferry.stopAndCheck(), ...(lim ? await lim.stopAndCheck() : [])];
  env.ferry = null;
  await env.stop();
  assert.deepEqual(problems, []);
});

// One sample line of the text exposition format 0.0.4: name, optional labels, a number.
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\["\\n])*",?)*\})? (-?[0-9.e+]+|NaN|[+-]Inf)$/;

/** Scrapes /metrics and parses it strictly: returns {text, get(name, labels)}; throws on
 *  any line that is not a comment or a valid sample, or a sample of an undeclared family. */
async function scrape() {
  const r = await ferry.rest('GET', '/metrics');
  assert.equal(r.status, 200, r.text);
  assert.match(r.headers['content-type'], /^text\/plain; version=0\.0\.4/);
  const samples = [];
  const types = new Map();
  for (const line of r.text.split('\n')) {
    if (line === '') continue;
    const t = line.match(/^# TYPE (\S+) (counter|gauge)$/);
    if (t) { types.set(t[1], t[2]); continue; }
    if (line.startsWith('# HELP ')) continue;
    const m = line.match(SAMPLE);
    assert.ok(m, `not a valid sample line: ${JSON.stringify(line)}`);
    assert.ok(types.has(m[1]), `sample of a family without # TYPE: ${line}`);
    const labels = {};
    for (const l of (m[2] || '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[l[1]] = l[2].replace(/\\n/g, '\n').replace(/\\(["\\])/g, '$1');
    }
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  const get = (name, want = {}) => {
    const s = samples.find((x) => x.name === name
      && Object.entries(want).every(([k, v]) => x.labels[k] === v));
    return s ? s.value : undefined;
  };
  return { text: r.text, samples, types, get };
}

test('/metrics: a valid exposition with process figures before any pull', { timeout: 10000 }, async () => {
  const m = await scrape();
  assert.ok(m.get('process_resident_memory_bytes') > 4 * 1024 * 1024, m.text);
  assert.ok(m.get('process_open_fds') >= 3, m.text);
  assert.ok(m.get('process_threads') >= 2, m.text);
  assert.ok(m.get('process_cpu_seconds_total') > 0, m.text);
  assert.ok(Math.abs(m.get('process_start_time_seconds') - Date.now() / 1000) < 600, m.text);
  assert.equal(m.get('ferry_pulls', { status: 'PLAYING' }), 0);
  assert.equal(m.get('ferry_viewers'), 0);
  assert.equal(m.types.get('ferry_stream_received_bytes_total'), 'counter');
  // every response so far was counted: the readiness probe's find_all at least
  assert.ok(m.get('ferry_http_responses_total', { server: 'rest', code: '200' }) >= 1, m.text);
  const r = await ferry.rest('POST', '/metrics', {});
  assert.equal(r.status, 405);
  assert.equal(r.json?.error, 'method_not_allowed', r.text);
});

test('/metrics: a playing stream with a viewer: bytes, bitrate, frames, viewers, bytes out', { timeout: 40000 }, async () => {
  const name = 'ops "one"\\cam';   // a label value that needs escaping
  const r = await ferry.pull({ uri: env.uri('ops1'), localStreamName: name });
  assert.equal(r.status, 200, r.text);
  await ferry.waitStatus((p) => p.localStreamName === name, 'PLAYING');
  // 12 s: the window below must fall inside the viewer's session also on a loaded box
  const peer = startPeer({ url: ferry.wsUrl, names: [name], seconds: 12 });
  try {
    await metricsWithViewer(name, peer);
  } finally {
    // a failure here must not leave the pull to the next tests (409s)
    await ferry.terminate({ localStreamName: name });
  }
});

async function metricsWithViewer(name, peer) {
  let during;
  await waitFor('the viewer counted and sent to', async () => {
    during = await scrape();
    return during.get('ferry_stream_viewers', { stream: name }) === 1
      && during.get('ferry_stream_sent_bytes_total', { stream: name }) > 50000;
  }, { timeout: 15000, interval: 500 });
  assert.equal(during.get('ferry_viewers'), 1);
  assert.equal(during.get('ferry_websocket_sessions'), 1);
  assert.equal(during.get('ferry_stream_status', { stream: name, status: 'PLAYING' }), 1);
  const t0 = Date.now();
  const first = during;
  await sleep(2000);
  const second = await scrape();
  const dt = (Date.now() - t0) / 1000;
  const frames = second.get('ferry_stream_video_frames_total', { stream: name })
    - first.get('ferry_stream_video_frames_total', { stream: name });
  // 30 fps source: what came in over dt, give or take the scrape timing
  assert.ok(frames > 15 * dt && frames < 45 * dt, `${frames} video frames in ${dt} s`);
  const audio = second.get('ferry_stream_audio_frames_total', { stream: name })
    - first.get('ferry_stream_audio_frames_total', { stream: name });
  // 44.1 kHz AAC: 43 frames/s
  assert.ok(audio > 30 * dt && audio < 56 * dt, `${audio} audio frames in ${dt} s`);
  const bytes = second.get('ferry_stream_received_bytes_total', { stream: name })
    - first.get('ferry_stream_received_bytes_total', { stream: name });
  const bitrate = second.get('ferry_stream_bitrate_in_bits', { stream: name });
  // the gauge and the counter's rate agree within a factor of two (different windows)
  assert.ok(bitrate > 0 && bitrate < 4 * (bytes * 8 / dt) && bitrate > (bytes * 8 / dt) / 4,
    `bitrate gauge ${bitrate} vs counter rate ${bytes * 8 / dt}`);
  const out = second.get('ferry_stream_sent_bytes_total', { stream: name })
    - first.get('ferry_stream_sent_bytes_total', { stream: name });
  // one viewer gets about what came in (RTP headers added, AAC → 64 kbit/s Opus)
  assert.ok(out > bytes / 3 && out < bytes * 3, `sent ${out} bytes to one viewer, received ${bytes}`);

  const res = await peer.result;
  const rep = streamReport(res, name);
  assert.ok(rep.videoFrames > 60, JSON.stringify(rep));
  await waitFor('the viewer gone from /metrics', async () => {
    const m = await scrape();
    return m.get('ferry_stream_viewers', { stream: name }) === 0;
  }, { timeout: 10000, interval: 300 });
  const gone = await scrape();
  // bytes out stay counted after the viewer left (a counter never goes down)
  assert.ok(gone.get('ferry_stream_sent_bytes_total', { stream: name })
    >= second.get('ferry_stream_sent_bytes_total', { stream: name }));
  assert.ok(gone.get('ferry_viewers_started_total') >= 1);
  assert.ok(gone.get('ferry_websocket_sessions_total') >= 1);
  assert.ok(gone.get('ferry_pulls_started_total') >= 1);
}

test('/metrics: a failed pull and error responses are counted', { timeout: 20000 }, async () => {
  const before = await scrape();
  const bad = await ferry.rest('POST', '/rest-api/pull/rtmp/pull', '{"uri": ', { json: true });
  assert.equal(bad.status, 400);
  const r = await ferry.pull({ uri: env.uri('nobody-publishes'), localStreamName: 'ops-fail' });
  assert.equal(r.status, 200, r.text);
  await ferry.waitStatus((p) => p.localStreamName === 'ops-fail', 'FAILED', 15000);
  const after = await scrape();
  assert.equal(after.get('ferry_pull_failures_total'), before.get('ferry_pull_failures_total') + 1, after.text);
  assert.equal(after.get('ferry_stream_status', { stream: 'ops-fail', status: 'FAILED' }), 1, after.text);
  assert.equal(after.get('ferry_pulls', { status: 'FAILED' }), before.get('ferry_pulls', { status: 'FAILED' }) + 1);
  assert.ok(after.get('ferry_http_responses_total', { server: 'rest', code: '400' })
    >= (before.get('ferry_http_responses_total', { server: 'rest', code: '400' }) ?? 0) + 1, after.text);
  await ferry.terminate({ localStreamName: 'ops-fail' });
});

/** Checks a JSON error answer. */
function assertError(r, status, code, re) {
  assert.equal(r.status, status, r.text);
  assert.equal(r.json?.error, code, r.text);
  assert.match(r.json?.message ?? '', re, r.text);
}

async function limited(f) {
  const r = await f.rest('GET', '/metrics');
  return Number(r.text.match(/^ferry_limited_total (\d+)$/m)?.[1]);
}

test('[limits] body-kb and json-depth: 413 and 400 with the limit named', { timeout: 10000 }, async () => {
  const big = { uri: env.uri('ops1'), localStreamName: 'x'.repeat(9000) };
  assertError(await lim.pull(big), 413, 'body_too_large', /too large/);
  const deep = '{"uri": {"a": {"b": {"c": {"d": 1}}}}}';
  assertError(await lim.rest('POST', '/rest-api/pull/rtmp/pull', deep), 400, 'invalid_json', /deeper than 4 levels/);
  // one level less is parsed (and then refused for what it says)
  const ok = '{"uri": {"a": {"b": 1}}}';
  assertError(await lim.rest('POST', '/rest-api/pull/rtmp/pull', ok), 400, 'invalid_parameter', /uri/);
});

test('[limits] pulls: the third active pull gets 503 limit_reached; ending one makes room', { timeout: 30000 }, async () => {
  const l0 = await limited(lim);
  await lim.pullPlaying(env.uri('ops1'), 'lim-a');
  const b = await lim.pull({ uri: env.uri('nobody-b'), localStreamName: 'lim-b' });   // stays PENDING
  assert.equal(b.status, 200, b.text);
  assertError(await lim.pull({ uri: env.uri('nobody-c'), localStreamName: 'lim-c' }), 503, 'limit_reached',
    /pulls 2 streams.*\[limits\] pulls/);
  // an on-demand pull (a viewer plays an rtmp:// uri) counts the same
  const ws = await establishedWs(lim.wsUrl);
  try {
    ws.wcs('playStream', { mediaSessionId: 'od1', name: env.uri('nobody-d'), mediaProvider: 'WebRTC', sdp: chromiumOffer() });
    await ws.next((m) => m.message === 'notifyStreamStatusEvent' && m.data[0].mediaSessionId === 'od1'
      && m.data[0].status === 'FAILED' && /\[limits\] pulls/.test(m.data[0].info), { what: 'FAILED for the on-demand pull' });
  } finally { ws.close(); await ws.closed; }
  assert.equal(await limited(lim), l0 + 2);
  assert.equal((await lim.terminate({ localStreamName: 'lim-b' })).status, 200);
  const c = await lim.pull({ uri: env.uri('nobody-c'), localStreamName: 'lim-c' });
  assert.equal(c.status, 200, c.text);
  assert.equal((await lim.terminate({ localStreamName: 'lim-c' })).status, 200);
  // the playing pull was never disturbed
  assert.equal((await lim.find((p) => p.localStreamName === 'lim-a')).status, 'PLAYING');
});

test('[limits] viewers-per-stream and viewers: FAILED with the limit named over WCS, 503 over WHEP', { timeout: 30000 }, async () => {
  const ws = await establishedWs(lim.wsUrl);
  const play = (id) => ws.wcs('playStream', { mediaSessionId: id, name: 'lim-a', mediaProvider: 'WebRTC', sdp: chromiumOffer() });
  try {
    play('v1');
    play('v2');
    await ws.next((m) => m.message === 'setRemoteSDP' && m.data[0] === 'v2', { what: 'an answer for v2' });
    play('v3');
    await ws.next((m) => m.message === 'notifyStreamStatusEvent' && m.data[0].mediaSessionId === 'v3'
      && m.data[0].status === 'FAILED' && /2 viewers.*\[limits\] viewers-per-stream/.test(m.data[0].info),
    { what: 'FAILED for the third viewer' });
    const whep = await lim.rest('POST', '/whep/lim-a', chromiumOffer(), { json: false, headers: { 'Content-Type': 'application/sdp' } });
    assertError(whep, 503, 'limit_reached', /viewers-per-stream/);
    assert.equal((await lim.find((p) => p.localStreamName === 'lim-a')).viewers, 2);
    // the server-wide limit (3): a second stream's first viewer fits, its second does not
    await lim.pullPlaying(`${env.uri('ops1')}?second`, 'lim-e');
    ws.wcs('playStream', { mediaSessionId: 'w1', name: 'lim-e', mediaProvider: 'WebRTC', sdp: chromiumOffer() });
    await ws.next((m) => m.message === 'setRemoteSDP' && m.data[0] === 'w1', { what: 'an answer for w1' });
    ws.wcs('playStream', { mediaSessionId: 'w2', name: 'lim-e', mediaProvider: 'WebRTC', sdp: chromiumOffer() });
    await ws.next((m) => m.message === 'notifyStreamStatusEvent' && m.data[0].mediaSessionId === 'w2'
      && m.data[0].status === 'FAILED' && /3 viewers.*\[limits\] viewers\)/.test(m.data[0].info),
    { what: 'FAILED for the fourth viewer' });
  } finally { ws.close(); await ws.closed; }
});

test('[limits] ws-per-address, ws-messages-per-second, ws-message-kb', { timeout: 30000 }, async () => {
  const open = [];
  try {
    for (let i = 0; i < 4; i++) open.push(await connectWs(lim.wsUrl));
    await assert.rejects(connectWs(lim.wsUrl), /upgrade refused: HTTP\/1\.1 429/);
    open.pop().close();
    await waitFor('room for one more', async () => {
      try { open.push(await connectWs(lim.wsUrl)); return true; } catch { return false; }
    }, { timeout: 5000, interval: 200 });
    // a flood: 5 messages a second with a burst of 10, then it is closed with 1008
    const flood = open[0];
    for (let i = 0; i < 30; i++) flood.wcs('availableStream', { mediaSessionId: `f${i}`, name: 'lim-a' });
    const c = await flood.closed;
    assert.equal(c.code, 1008, JSON.stringify(c));
    assert.match(c.reason, /rate/);
    // a message over ws-message-kb (8) closes the connection: libsoup sends 1009 and
    // closes with the rest of the message unread, so the client may see the RST first
    const big = open[1];
    big.wcs('availableStream', { mediaSessionId: 'big', name: 'x'.repeat(9000) });
    const b = await big.closed;
    assert.ok(b.code === 1009 || (b.code === 1006 && !b.clean), JSON.stringify(b));
    // a well-behaved client on the same address is untouched
    const calm = open[2];
    calm.wcs('connection', { appKey: 'defaultApp', mediaProviders: ['WebRTC'], clientVersion: '2.0' });
    await calm.next((m) => m.message === 'getUserData', { what: 'getUserData' });
  } finally {
    for (const ws of open) { if (!ws.ended) { ws.close(); await ws.closed; } }
  }
  assert.equal((await lim.find((p) => p.localStreamName === 'lim-a')).status, 'PLAYING');
});

test('GET /rest-api/debug/pipeline/{name}: the graph as dot and as SVG; 404 and 405', { timeout: 30000 }, async () => {
  await ferry.pullPlaying(env.uri('ops1'), 'dbg-a');
  const ws = await establishedWs(ferry.wsUrl);
  try {
    ws.wcs('playStream', { mediaSessionId: 'graph1', name: 'dbg-a', mediaProvider: 'WebRTC', sdp: chromiumOffer() });
    await ws.next((m) => m.message === 'setRemoteSDP' && m.data[0] === 'graph1', { what: 'an answer' });
    const r = await ferry.rest('GET', '/rest-api/debug/pipeline/dbg-a');
    assert.equal(r.status, 200, r.text.slice(0, 300));
    assert.match(r.headers['content-type'], /^text\/vnd\.graphviz/);
    assert.match(r.text, /^digraph/);
    // what gst-launch users look for: the elements, by factory, with caps on the links
    for (const e of ['GstRtmp2Src', 'GstFlvDemux', 'GstH264Parse', 'GstTee', 'GstWebRTCBin']) {
      assert.ok(r.text.includes(e), `no ${e} in the graph`);
    }
    assert.match(r.text, /video\/x-h264/);
    assert.ok(r.text.includes('graph1'), 'the viewer\'s bin is not in the graph');
    const svg = await ferry.rest('GET', '/rest-api/debug/pipeline/dbg-a?format=svg', undefined, { timeout: 25000 });
    assert.equal(svg.status, 200, svg.text.slice(0, 300));
    assert.match(svg.headers['content-type'], /^image\/svg\+xml/);
    assert.match(svg.text, /<svg[\s>]/);
    assert.ok(svg.text.includes('GstWebRTCBin'), 'the SVG does not show webrtcbin');
  } finally { ws.close(); await ws.closed; }
  assertError(await ferry.rest('GET', '/rest-api/debug/pipeline/nobody'), 404, 'not_found', /localStreamName/);
  assertError(await ferry.rest('GET', '/rest-api/debug/pipeline/dbg-a?format=png'), 400, 'invalid_parameter', /dot or svg/);
  const post = await ferry.rest('POST', '/rest-api/debug/pipeline/dbg-a', {});
  assertError(post, 405, 'method_not_allowed', /GET/);
  assert.equal(post.headers.allow, 'GET, HEAD, OPTIONS');
});

test('POST /rest-api/debug/log: DEBUG for one stream\'s elements only, and back to normal', { timeout: 40000 }, async () => {
  await ferry.pullPlaying(`${env.uri('ops1')}?b`, 'dbg-b');
  // GStreamer colours its log on a terminal and in files alike: compare without the escapes
  const debugLinesOf = (id) => ferry.log().replace(/\x1b\[[0-9;]*m/g, '').split('\n')
    .filter((l) => / DEBUG /.test(l) && l.includes(`-${id}>`));
  const r = await ferry.rest('POST', '/rest-api/debug/log', { localStreamName: 'dbg-a', level: 'debug' });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, { localStreamName: 'dbg-a', level: 'debug' });
  const ws = await establishedWs(ferry.wsUrl);
  const play = async (id, name) => {
    ws.wcs('playStream', { mediaSessionId: id, name, mediaProvider: 'WebRTC', sdp: chromiumOffer() });
    await ws.next((m) => m.message === 'setRemoteSDP' && m.data[0] === id, { what: `an answer for ${id}` });
  };
  try {
    await play('logA', 'dbg-a');
    await play('logB', 'dbg-b');
    await waitFor('DEBUG lines of the raised stream\'s viewer', async () => debugLinesOf('logA').length > 20,
      { timeout: 10000, interval: 300 });
    assert.deepEqual(debugLinesOf('logB').slice(0, 3), [], 'the other stream logs at DEBUG too');
    // back to normal: a new viewer of the same stream logs no DEBUG
    const n = await ferry.rest('POST', '/rest-api/debug/log', { localStreamName: 'dbg-a', level: 'none' });
    assert.equal(n.status, 200, n.text);
    await play('logA2', 'dbg-a');
    await sleep(1000);
    assert.deepEqual(debugLinesOf('logA2').slice(0, 3), [], 'DEBUG after level none');
  } finally { ws.close(); await ws.closed; }
  assertError(await ferry.rest('POST', '/rest-api/debug/log', { localStreamName: 'dbg-a', level: 'loud' }), 400,
    'invalid_parameter', /level/);
  assertError(await ferry.rest('POST', '/rest-api/debug/log', { localStreamName: 'nobody', level: 5 }), 404,
    'not_found', /localStreamName/);
  assertError(await ferry.rest('POST', '/rest-api/debug/log', { level: 5 }), 400, 'missing_parameter', /localStreamName/);
  for (const n of ['dbg-a', 'dbg-b']) assert.equal((await ferry.terminate({ localStreamName: n })).status, 200);
});

// [limits] request-timeout (slow headers, a slow body, idle connections, a stalled
// WebSocket upgrade): abuse.test.mjs, against a Ferry with a stream and a viewer.

test('[limits] connections-per-address: one more connection from an address gets 429, others are served', { timeout: 30000 }, async () => {
  // INFO on: the refusal is logged before the request is read (no method, no uri yet)
  const f = await startFerry({ extraArgs: ['--set', 'limits.connections-per-address=4'], env: { GST_DEBUG: 'ferry*:4' } });
  const net = await import('node:net');
  // other loopback source addresses than the fixtures' 127.0.0.1 (whose kept-alive
  // readiness probe would count): 127/8 is all on lo
  const connect = (port, localAddress) => new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port, localAddress }, () => resolve(s));
    s.on('error', reject);
  });
  /** Sends `text` on a new connection; resolves to what came back when the server closed it. */
  const exchange = (port, localAddress, text) => new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port, localAddress }, () => s.write(text));
    let got = '';
    s.on('data', (d) => { got += d; });
    s.on('error', () => {});
    s.on('close', () => resolve(got));
    setTimeout(() => { s.destroy(); reject(new Error(`no answer: ${got}`)); }, 5000);
  });
  const GET = 'GET /rest-api/pull/rtmp/find_all HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n';
  const idle = [];
  try {
    for (let i = 0; i < 4; i++) idle.push(await connect(f.restPort, '127.0.0.5'));
    // Ferry counts a connection once it accepted it: wait for the fifth to be refused
    let refused = '';
    await waitFor('the fifth connection refused', async () => {
      refused = await exchange(f.restPort, '127.0.0.5', GET);
      return /^HTTP\/1\.1 429 /.test(refused);
    }, { timeout: 5000, interval: 100 });
    assert.match(refused, /^HTTP\/1\.1 429 Too Many Requests\r\n/, refused);
    const body = JSON.parse(refused.slice(refused.indexOf('\r\n\r\n') + 4));
    assert.equal(body.error, 'too_many_requests');
    assert.match(body.message, /too many connections from 127\.0\.0\.5: 4 open \(\[limits\] connections-per-address = 4\)/);
    // the WebSocket port counts the same connections
    const ws = await exchange(f.wsPort, '127.0.0.5', 'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
      + 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
    assert.match(ws, /^HTTP\/1\.1 429 /, ws);
    // another address is served
    assert.match(await exchange(f.restPort, '127.0.0.6', GET), /^HTTP\/1\.1 200 /);
    // a closed connection makes room
    idle.pop().destroy();
    await waitFor('room for one more', async () => /^HTTP\/1\.1 200 /.test(await exchange(f.restPort, '127.0.0.5', GET)),
      { timeout: 5000, interval: 200 });
    const m = await f.rest('GET', '/metrics', undefined, { agent: false });
    assert.ok(Number(m.text.match(/^ferry_limited_total (\d+)$/m)[1]) >= 2, m.text);
  } finally {
    for (const s of idle) s.destroy();
    assert.deepEqual(await f.stopAndCheck(), []);
  }
});

// docs/openapi.yaml against real answers (#9): every documented operation is sent to a
// real Ferry (nginx-rtmp origin + ffmpeg publisher), and each answer's status, content
// type, required headers and body are checked against the spec (tests/e2e/lib/openapi.mjs).
// A second Ferry with [auth] on, tight [limits], an unwritable records directory, ICE
// servers and no graphviz on its PATH gives the 401/403/503/507/501 answers. The last
// test asserts that every (path, method, status) in the spec was seen, so the spec cannot
// document what Ferry does not answer, and no operation is skipped silently.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startFerry } from './lib/ferry.mjs';
import { startOrigin, startPublisher } from './lib/rtmp.mjs';
import { loadSpec, METHODS } from './lib/openapi.mjs';
import { chromiumOffer } from './fixtures/offers.mjs';
import { fatal, freshDir, request, waitFor, writeConf } from './lib/util.mjs';

const spec = loadSpec();

const REST_TOKEN = 'oa-rest-token';
const PLAY_TOKEN = 'oa-play-token';
const PASSWORD = 'oa-pw';
const bearer = (t) => ({ Authorization: `Bearer ${t}` });
const basic = (u, p) => ({ Authorization: `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}` });

// Documented statuses no test here can provoke, each with why. Everything else in the
// spec must be seen.
const CANNOT_PROVOKE = new Map([
  // a GStreamer element missing, or a pipeline that cannot be built: not with the
  // complete install the suite needs
  ['POST /rest-api/pull/rtmp/pull 500', 'needs a broken GStreamer install'],
  ['POST /rest-api/pull/rtmp/record/start 500', 'the recording branch failing to build needs a broken GStreamer install'],
  // mapping a regular file Ferry can stat fails only on I/O errors
  ['GET /records/{name} 500', 'needs an unreadable regular file (root reads everything)'],
  // dot crashing or running for 20 s
  ['GET /rest-api/debug/pipeline/{name} 500', 'needs a dot that fails or hangs'],
  // the viewer ends between the accepted offer and its answer (the stream fails meanwhile):
  // a race of a few milliseconds
  ['POST /whep/{name} 500', 'a race between the answer and the stream ending'],
  // a PATCH reaching a session whose viewer is closing but not yet removed: the window is
  // inside one main-loop iteration
  ['PATCH /whep/{name}/{session} 409', 'a race inside one main-loop iteration'],
]);

let origin;
let publisher;
let ferry;       // [debug] transit-stats, a records dir, [auth] off (loopback)
let authFerry;   // [auth] on, [limits] pulls = viewers = 1, unwritable records dir, ICE servers
let recordsDir;

before(async () => {
  origin = await startOrigin();
  publisher = await startPublisher(origin.url('cam1'));
  recordsDir = freshDir('records');
  ferry = await startFerry({ extraArgs: ['--config', writeConf(`[record]\ndir = ${recordsDir}\n`
    + '[debug]\ntransit-stats = true\n')] });
  authFerry = await startFerry({
    extraArgs: ['--config', writeConf(`[auth]\nrest = on\nplay = on\nrest-tokens = ${REST_TOKEN}\n`
      + `rest-users = admin:${PASSWORD}\nplay-tokens = ${PLAY_TOKEN}\n`
      + '[limits]\npulls = 1\nviewers = 1\n'
      + '[sources]\nhosts = 127.0.0.1\n'
      + '[record]\ndir = /dev/null/records\n'
      + '[webrtc]\nstun-server = stun://127.0.0.1:3478\nturn-servers = turn://tu:tp@127.0.0.1:3479\n'
      + 'port-min = 40200\nport-max = 40209\n')],
    // no graphviz on the PATH: ?format=svg answers 501
    env: { PATH: '/nonexistent' },
  });
}, { timeout: 60000 });

after(async () => {
  const problems = [];
  for (const f of [ferry, authFerry]) if (f) problems.push(...await f.stopAndCheck());
  if (publisher) await publisher.stop();
  if (origin) await origin.stop();
  assert.deepEqual(problems, []);
});

// ---- helpers ----------------------------------------------------------------------------

/**
 * Sends `method` to the path template `tpl` (with `params` filled in, URL-encoded) and
 * checks the answer against the spec: status `want`, then everything spec.check() finds.
 * `body` objects go as JSON; `code` is the expected "error"; `requestValid` (true/false)
 * also checks that the spec's request schema accepts / rejects the body.
 */
async function op(f, method, tpl, want, { params = {}, query = '', body, type, headers = {}, code, requestValid } = {}) {
  const url = f.base + tpl.replace(/\{(\w+)\}/g, (_, k) => encodeURIComponent(params[k])) + query;
  let payload = body;
  let ct = type;
  if (body !== undefined && typeof body === 'object' && !Buffer.isBuffer(body)) {
    payload = JSON.stringify(body);
    ct ??= 'application/json';
  }
  if (requestValid !== undefined) {
    const schema = spec.requestSchema(tpl, method);
    const errors = spec.validate(schema, typeof body === 'string' ? JSON.parse(body) : body);
    assert.equal(errors.length === 0, requestValid,
      `${method} ${tpl}: the spec's request schema ${requestValid ? 'rejects' : 'accepts'} ${JSON.stringify(body)} ${errors.join('; ')}`);
  }
  // a connection per request: libsoup closes after a 204, and keep-alive is not under test
  const res = await request(method, url, payload, { headers: { ...(ct ? { 'Content-Type': ct } : {}), ...headers },
    json: false, agent: false, timeout: 25000 });
  assert.equal(res.status, want, `${method} ${url}: HTTP ${res.status} ${res.text.slice(0, 300)}`);
  assert.deepEqual(spec.check(tpl, method, res), [], `${method} ${url}`);
  if (code !== undefined) assert.equal(res.json?.error, code, `${method} ${url}: ${res.text}`);
  return res;
}

const BIG = JSON.stringify({ uri: 'rtmp://127.0.0.1/live/x', pad: 'x'.repeat(70 * 1024) });
const byName = (name) => (p) => p.localStreamName === name;
const findAll = async (f = ferry, headers = {}) => (await op(f, 'GET', '/rest-api/pull/rtmp/find_all', 200, { headers })).json;

// ---- the validator can fail -------------------------------------------------------------

test('the validator rejects an extra member, a wrong type, a missing member, null and a bad enum, naming the path', () => {
  const pull = spec.resolve('#/components/schemas/Pull');
  const good = {
    localMediaSessionId: 'id', localStreamName: 'n', uri: 'rtmp://h/a/s', status: 'PLAYING', reconnecting: false,
    reconnectAttempt: 0, reconnects: 0, lastError: null, outageCause: null, startedBy: 'rest', hasAudio: true,
    hasVideo: true, videoCodec: 'avc1.64001f', gopCache: { frames: 3, bytes: 100, durationMs: 66, fastStarts: 0 },
    record: false, recordName: null, viewers: 0,
  };
  assert.deepEqual(spec.validate(pull, good), []);
  const errs = (v) => spec.validate(pull, v);
  assert.match(errs({ ...good, extra: 1 }).join(), /\$: member "extra" is not in the schema/);
  assert.match(errs({ ...good, gopCache: { ...good.gopCache, more: 1 } }).join(), /\$\.gopCache: member "more"/);
  assert.match(errs({ ...good, viewers: 1.5 }).join(), /\$\.viewers: expected integer, got number/);
  assert.match(errs({ ...good, viewers: '1' }).join(), /\$\.viewers: expected integer, got string/);
  assert.match(errs({ ...good, gopCache: { ...good.gopCache, frames: -1 } }).join(), /\$\.gopCache\.frames: -1 is below the minimum 0/);
  const { uri, ...noUri } = good;
  assert.match(errs(noUri).join(), /\$: required member "uri" is missing/);
  assert.match(errs({ ...good, uri: null }).join(), /\$\.uri: null, but the schema is not nullable/);
  assert.match(errs({ ...good, status: 'RECONNECTING' }).join(), /\$\.status: "RECONNECTING" is not one of/);
  assert.match(errs({ ...good, videoCodec: 'h264' }).join(), /\$\.videoCodec: "h264" does not match/);
  const list = { type: 'array', items: { $ref: '#/components/schemas/Record' } };
  assert.match(spec.validate(list, [{ name: 'x.mp4' }]).join(), /\$\[0\]: required member "stream" is missing/);
  assert.match(spec.validate(list, [{ name: 'x.mp4', stream: null, start: null, segment: null, size: 1, duration: null,
    tracks: [{ type: 'data', codec: 'x' }], complete: false, url: '/records/x.mp4' }]).join(), /\$\[0\]\.tracks\[0\]\.type/);
  // string booleans: oneOf exactly one
  const sb = spec.resolve('#/components/schemas/StringBoolean');
  assert.deepEqual(spec.validate(sb, 'True'), []);
  assert.match(spec.validate(sb, 'maybe').join(), /matches 0 of oneOf/);
  assert.throws(() => spec.validate({ type: 'string', maxLength: 3 }, 'x'), /does not know/);
  // and the checker refuses what the spec does not document
  assert.match(spec.check('/rest-api/pull/rtmp/pull', 'POST', { status: 418, headers: {}, text: '' }).join(), /status not documented/);
  assert.match(spec.check('/rest-api/pull/rtmp/pull', 'GET', { status: 200, headers: {}, text: '' }).join(), /no such operation/);
  assert.match(spec.check('/rest-api/ice', 'GET', { status: 200, headers: { 'content-type': 'text/plain' }, text: '{}' }).join(),
    /Content-Type text\/plain is not one of/);
});

// ---- pulls ------------------------------------------------------------------------------

let cam1;

test('pull: 200 (string booleans too), 400 for each kind of bad body, 409, 413; find_all GET/POST/HEAD through PLAYING', { timeout: 30000 }, async () => {
  const PULL = '/rest-api/pull/rtmp/pull';
  const r = await op(ferry, 'POST', PULL, 200, { requestValid: true,
    body: { uri: origin.url('cam1'), localStreamName: 'cam1', record: 'false', hasAudio: true, hasVideo: 'TRUE', transcode: 'auto' } });
  assert.equal(r.json.status, 'PENDING');
  cam1 = r.json;
  await op(ferry, 'POST', PULL, 409, { body: { uri: origin.url('cam1'), localStreamName: 'cam1-again' }, code: 'conflict' });
  await op(ferry, 'POST', PULL, 409, { body: { uri: origin.url('other'), localStreamName: 'cam1' }, code: 'conflict' });
  for (const [body, code, valid] of [
    ['{"uri": ', 'invalid_json'], ['[]', 'invalid_json'], ['', 'invalid_json'],
    [{ uri: 5 }, 'invalid_parameter', false],
    [{ localStreamName: 'x' }, 'missing_parameter', false],
    [{ uri: 'http://127.0.0.1/live/x' }, 'unsupported_scheme', true],
    [{ uri: origin.url('x'), record: 'maybe' }, 'invalid_parameter', false],
    [{ uri: origin.url('x'), transcode: 'sometimes' }, 'invalid_parameter', false],
    [{ uri: origin.url('x'), hasAudio: false, hasVideo: 'false' }, 'invalid_parameter', true],
  ]) {
    await op(ferry, 'POST', PULL, 400, { body, type: 'application/json', code, requestValid: valid });
  }
  await op(ferry, 'POST', PULL, 413, { body: BIG, type: 'application/json', code: 'body_too_large' });

  // PLAYING with its full shape: the video codec known, the GOP cache filled, transit
  await waitFor('cam1 PLAYING with a video codec', async () => {
    if (!ferry.alive()) throw fatal('Ferry exited');
    const p = (await findAll()).find(byName('cam1'));
    return p?.status === 'PLAYING' && p.videoCodec && p.gopCache?.frames > 0 ? p : null;
  }, { timeout: 15000, interval: 250 });
  const post = await op(ferry, 'POST', '/rest-api/pull/rtmp/find_all', 200, { body: {} });
  const p = post.json.find(byName('cam1'));
  assert.match(p.videoCodec, /^avc1\.[0-9a-f]{6}$/);
  assert.deepEqual([p.hasAudio, p.hasVideo, p.transcode, p.bFrames, p.transcoding], [true, true, 'auto', false, false]);
  assert.ok(p.transit?.video, `no transit figures with [debug] transit-stats: ${JSON.stringify(p)}`);
  const head = await op(ferry, 'HEAD', '/rest-api/pull/rtmp/find_all', 200);
  assert.equal(head.text, '');
});

test('terminate: 200 with the final object, 404, 400, 413', { timeout: 15000 }, async () => {
  const T = '/rest-api/pull/rtmp/terminate';
  // a pull of a stream nobody publishes: PENDING, retrying
  const gone = (await op(ferry, 'POST', '/rest-api/pull/rtmp/pull', 200, { body: { uri: origin.url('nobody'), localStreamName: 'gone' } })).json;
  const r = await op(ferry, 'POST', T, 200, { body: { localMediaSessionId: gone.localMediaSessionId }, requestValid: true });
  assert.equal(r.json.status, 'STOPPED');
  await op(ferry, 'POST', T, 404, { body: { localMediaSessionId: gone.localMediaSessionId }, code: 'not_found' });
  await op(ferry, 'POST', T, 404, { body: { uri: origin.url('nobody') }, code: 'not_found' });
  await op(ferry, 'POST', T, 400, { body: {}, code: 'missing_parameter', requestValid: true });
  await op(ferry, 'POST', T, 400, { body: { uri: 5 }, code: 'invalid_parameter', requestValid: false });
  await op(ferry, 'POST', T, 400, { body: 'not json', type: 'application/json', code: 'invalid_json' });
  await op(ferry, 'POST', T, 413, { body: BIG, type: 'application/json', code: 'body_too_large' });
});

// ---- WHEP -------------------------------------------------------------------------------

test('WHEP: POST 201 (a viewer in find_all), PATCH 204/404/413/415, OPTIONS, DELETE 200/404, POST errors, 405s', { timeout: 30000 }, async () => {
  const W = '/whep/{name}';
  const S = '/whep/{name}/{session}';
  const sdp = 'application/sdp';
  const r = await op(ferry, 'POST', W, 201, { params: { name: 'cam1' }, body: chromiumOffer(), type: sdp });
  assert.match(r.text, /^v=0\r\n/);
  assert.equal(r.headers.link, undefined, 'a Link header without ICE servers configured');
  const session = r.headers.location.split('/').pop();
  assert.equal(r.headers.location, `/whep/cam1/${session}`);
  const params = { name: 'cam1', session };

  const p = (await findAll()).find(byName('cam1'));
  assert.equal(p.viewers, 1, JSON.stringify(p));
  assert.ok(p.transit?.video, JSON.stringify(p));

  const frag = 'a=mid:0\r\na=candidate:1 1 udp 2130706431 127.0.0.1 9 typ host\r\n';
  await op(ferry, 'PATCH', S, 204, { params, body: frag, type: 'application/trickle-ice-sdpfrag' });
  await op(ferry, 'PATCH', S, 415, { params, body: frag, type: 'text/plain', code: 'unsupported_media_type' });
  await op(ferry, 'PATCH', S, 413, { params, body: `${frag}${'a=x:y\r\n'.repeat(12000)}`, type: 'application/trickle-ice-sdpfrag', code: 'body_too_large' });
  await op(ferry, 'PATCH', S, 404, { params: { name: 'cam1', session: 'no-such-session' }, body: frag,
    type: 'application/trickle-ice-sdpfrag', code: 'not_found' });
  await op(ferry, 'OPTIONS', W, 204, { params });
  await op(ferry, 'OPTIONS', S, 204, { params });
  // the methods a WHEP resource does not take, on a stream's and on a live session's URL
  for (const [tpl, method] of [[W, 'GET'], [S, 'PUT']]) {
    const url = `${ferry.base}/whep/cam1${tpl === S ? `/${session}` : ''}`;
    const res = await request(method, url, undefined, { json: false, agent: false });
    assert.deepEqual(spec.check405(tpl, method, res), []);
  }
  await op(ferry, 'DELETE', S, 200, { params });
  await op(ferry, 'DELETE', S, 404, { params, code: 'not_found' });

  await op(ferry, 'POST', W, 404, { params: { name: 'no-such-stream' }, body: chromiumOffer(), type: sdp, code: 'not_found' });
  await op(ferry, 'POST', W, 415, { params: { name: 'cam1' }, body: chromiumOffer(), type: 'text/plain', code: 'unsupported_media_type' });
  await op(ferry, 'POST', W, 400, { params: { name: 'cam1' }, body: 'not an offer\r\n', type: sdp, code: 'invalid_parameter' });
  await op(ferry, 'POST', W, 400, { params: { name: 'cam1' }, body: chromiumOffer({ opus: false, h264: false }), type: sdp, code: 'invalid_parameter' });
  await op(ferry, 'POST', W, 413, { params: { name: 'cam1' }, body: `v=0\r\n${'a=x:0123456789abcdef\r\n'.repeat(3500)}`, type: sdp, code: 'body_too_large' });
  await waitFor('the viewers gone', async () => (await findAll()).find(byName('cam1')).viewers === 0, { timeout: 5000 });
});

// ---- recording --------------------------------------------------------------------------

test('record start/stop (200, 409, 404, 400, 413), records/find_all entries, downloads (200, 206, 416, 404)', { timeout: 40000 }, async () => {
  const START = '/rest-api/pull/rtmp/record/start';
  const STOP = '/rest-api/pull/rtmp/record/stop';
  const sel = { localStreamName: 'cam1' };
  await op(ferry, 'POST', STOP, 409, { body: sel, code: 'conflict' });
  const started = await op(ferry, 'POST', START, 200, { body: sel, requestValid: true });
  assert.equal(started.json.record, true);
  await op(ferry, 'POST', START, 409, { body: sel, code: 'conflict' });
  for (const tpl of [START, STOP]) {
    await op(ferry, 'POST', tpl, 404, { body: { localStreamName: 'nobody' }, code: 'not_found' });
    await op(ferry, 'POST', tpl, 400, { body: {}, code: 'missing_parameter' });
    await op(ferry, 'POST', tpl, 400, { body: { localStreamName: ['cam1'] }, code: 'invalid_parameter', requestValid: false });
    await op(ferry, 'POST', tpl, 400, { body: '{', type: 'application/json', code: 'invalid_json' });
    await op(ferry, 'POST', tpl, 413, { body: BIG, type: 'application/json', code: 'body_too_large' });
  }
  // two keyframes (a 2 s GOP) and a few 1 s fragments
  await waitFor('RECORDING with a file', async () => {
    const p = (await findAll()).find(byName('cam1'));
    return p.recordStatus === 'RECORDING' && p.recordName;
  }, { timeout: 10000 });
  await new Promise((ok) => setTimeout(ok, 2500));
  const stopped = await op(ferry, 'POST', STOP, 200, { body: sel });
  assert.equal(stopped.json.record, false);
  await op(ferry, 'POST', STOP, 409, { body: sel, code: 'conflict' });
  await waitFor('recordStatus STOPPED', async () => (await findAll()).find(byName('cam1')).recordStatus === 'STOPPED', { timeout: 10000 });

  // a file Ferry did not name: stream, start and segment null, duration null (not an MP4)
  fs.writeFileSync(path.join(recordsDir, 'copied-in.mp4'), 'not an mp4');
  const R = '/rest-api/records/find_all';
  const list = (await op(ferry, 'GET', R, 200)).json;
  assert.deepEqual((await op(ferry, 'POST', R, 200, { body: {} })).json, list);
  await op(ferry, 'HEAD', R, 200);
  const rec = list.find((x) => x.stream === 'cam1');
  assert.ok(rec, JSON.stringify(list));
  assert.equal(rec.complete, true, JSON.stringify(rec));
  assert.deepEqual(rec.tracks.map((t) => t.type).sort(), ['audio', 'video']);
  assert.ok(rec.duration > 1, JSON.stringify(rec));
  const odd = list.find((x) => x.name === 'copied-in.mp4');
  assert.deepEqual([odd.stream, odd.start, odd.segment, odd.duration, odd.tracks, odd.complete], [null, null, null, null, [], false]);

  const D = '/records/{name}';
  const whole = await op(ferry, 'GET', D, 200, { params: { name: rec.name } });
  assert.equal(Number(whole.headers['content-length']), rec.size);
  const part = await op(ferry, 'GET', D, 206, { params: { name: rec.name }, headers: { Range: 'bytes=0-99' } });
  assert.equal(part.headers['content-range'], `bytes 0-99/${rec.size}`);
  await op(ferry, 'GET', D, 416, { params: { name: rec.name }, headers: { Range: `bytes=${rec.size + 10}-` } });
  await op(ferry, 'HEAD', D, 200, { params: { name: rec.name } });
  await op(ferry, 'GET', D, 404, { params: { name: 'nothing_20260101-000000_000.mp4' }, code: 'not_found' });
  await op(ferry, 'GET', D, 404, { params: { name: 'notes.txt' }, code: 'not_found' });
  await op(ferry, 'HEAD', D, 404, { params: { name: 'notes.txt' } });
});

// ---- operations, pages, preflights, 405s ------------------------------------------------

test('ice, debug pipeline and log, metrics, pages, config.json; OPTIONS on every /rest-api path; 405 with Allow on every path', { timeout: 40000 }, async () => {
  const ice = (await op(ferry, 'GET', '/rest-api/ice', 200)).json;
  assert.equal(ice.portRange, null);
  await op(ferry, 'POST', '/rest-api/ice', 200, { body: {} });
  await op(ferry, 'HEAD', '/rest-api/ice', 200);

  const P = '/rest-api/debug/pipeline/{name}';
  const dot = await op(ferry, 'GET', P, 200, { params: { name: 'cam1' } });
  assert.match(dot.text, /^digraph/);
  const svg = await op(ferry, 'GET', P, 200, { params: { name: 'cam1' }, query: '?format=svg' });
  assert.match(svg.headers['content-type'], /^image\/svg\+xml/);
  await op(ferry, 'HEAD', P, 200, { params: { name: 'cam1' } });
  await op(ferry, 'HEAD', P, 404, { params: { name: 'nobody' } });
  await op(ferry, 'GET', P, 404, { params: { name: 'nobody' }, code: 'not_found' });
  await op(ferry, 'GET', P, 400, { params: { name: 'cam1' }, query: '?format=png', code: 'invalid_parameter' });

  const L = '/rest-api/debug/log';
  assert.equal((await op(ferry, 'POST', L, 200, { body: { localStreamName: 'cam1', level: 'debug' }, requestValid: true })).json.level, 'debug');
  assert.equal((await op(ferry, 'POST', L, 200, { body: { localStreamName: 'cam1', level: 4 }, requestValid: true })).json.level, 'info');
  assert.equal((await op(ferry, 'POST', L, 200, { body: { localStreamName: 'cam1', level: 'none' }, requestValid: true })).json.level, 'none');
  await op(ferry, 'POST', L, 400, { body: { level: 'debug' }, code: 'missing_parameter', requestValid: false });
  await op(ferry, 'POST', L, 400, { body: { localStreamName: 'cam1', level: 'loud' }, code: 'invalid_parameter', requestValid: false });
  await op(ferry, 'POST', L, 400, { body: { localStreamName: 'cam1', level: 8 }, code: 'invalid_parameter', requestValid: false });
  await op(ferry, 'POST', L, 400, { body: 'x', type: 'application/json', code: 'invalid_json' });
  await op(ferry, 'POST', L, 404, { body: { localStreamName: 'nobody', level: 'debug' }, code: 'not_found', requestValid: true });
  await op(ferry, 'POST', L, 413, { body: BIG, type: 'application/json', code: 'body_too_large' });

  const m = await op(ferry, 'GET', '/metrics', 200);
  assert.match(m.text, /^# (HELP|TYPE) /m);
  // (the exposition itself is ops.test.mjs's; one cheap rule here: no series twice, which
  // Prometheus refuses. ferry_pulls once listed status="PENDING" twice.)
  const series = m.text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.slice(0, l.lastIndexOf(' ')));
  assert.deepEqual(series.filter((x, i) => series.indexOf(x) !== i), [], 'a series appears twice in /metrics');
  await op(ferry, 'HEAD', '/metrics', 200);
  const cfg = (await op(ferry, 'GET', '/config.json', 200)).json;
  assert.deepEqual(cfg, { wsPort: ferry.wsPort, iceServers: [] });
  await op(ferry, 'HEAD', '/config.json', 200);
  for (const page of ['/', '/whep.html']) {
    assert.match((await op(ferry, 'GET', page, 200)).text, /<html/i);
    await op(ferry, 'HEAD', page, 200);
  }

  // every path item: its OPTIONS where documented, and a method outside its x-allow
  const sample = { name: 'cam1' };
  for (const [tpl, item] of Object.entries(spec.doc.paths)) {
    if (tpl.includes('{session}')) continue;     // needs a live session: the WHEP test
    const params = tpl.startsWith('/records/') ? { name: 'x.mp4' } : sample;
    if (item.options && tpl.startsWith('/rest-api/')) {
      const r = await op(ferry, 'OPTIONS', tpl, 204, { params, headers: { Origin: 'http://page.example' } });
      assert.equal(r.headers['access-control-allow-origin'], '*');
    }
    if (item['x-allow']) {
      const url = ferry.base + tpl.replace(/\{(\w+)\}/g, (_, k) => encodeURIComponent(params[k]));
      const method = item['x-allow'].includes('GET') ? 'PUT' : 'GET';
      const res = await request(method, url, undefined, { json: false, agent: false });
      assert.deepEqual(spec.check405(tpl, method, res), [], `${method} ${url}`);
    }
  }
});

// ---- authentication, limits, storage ----------------------------------------------------

test('[auth] on: 401 and 403 on every protected operation; 503 limits, 507 storage, 501 without dot; ICE servers', { timeout: 40000 }, async () => {
  const f = authFerry;
  const params = { name: 'cam1' };
  for (const [tpl, item] of Object.entries(spec.doc.paths)) {
    for (const m of METHODS) {
      const o = item[m];
      if (!o?.responses['401']) continue;
      const p = tpl.startsWith('/records/') ? { name: 'x.mp4' } : params;
      const body = m === 'post' ? (tpl.startsWith('/whep/') ? chromiumOffer() : '{}') : undefined;
      const type = m === 'post' ? (tpl.startsWith('/whep/') ? 'application/sdp' : 'application/json') : undefined;
      const none = await op(f, m.toUpperCase(), tpl, 401, { params: p, body, type, ...(m === 'head' ? {} : { code: 'unauthorized' }) });
      assert.match(none.headers['www-authenticate'], /^Bearer realm="ferry"/);
      const wrong = tpl.startsWith('/whep/') ? bearer(REST_TOKEN) : bearer(PLAY_TOKEN);   // the other kind of token
      await op(f, m.toUpperCase(), tpl, 403, { params: p, body, type, headers: wrong, ...(m === 'head' ? {} : { code: 'forbidden' }) });
    }
  }
  const rest = bearer(REST_TOKEN);
  const PULL = '/rest-api/pull/rtmp/pull';
  await op(f, 'POST', PULL, 200, { body: { uri: origin.url('cam1'), localStreamName: 'cam1' }, headers: basic('admin', PASSWORD) });
  await op(f, 'POST', PULL, 503, { body: { uri: origin.url('cam2'), localStreamName: 'cam2' }, headers: rest, code: 'limit_reached' });
  // [sources] hosts = 127.0.0.1: another loopback address is not listed
  await op(f, 'POST', PULL, 403, { body: { uri: origin.url('cam2').replace('127.0.0.1', '127.0.0.2'), localStreamName: 'cam2' },
    headers: rest, code: 'source_forbidden' });
  await waitFor('cam1 PLAYING on the auth Ferry', async () => (await findAll(f, rest)).find(byName('cam1'))?.status === 'PLAYING',
    { timeout: 15000, interval: 250 });
  await op(f, 'POST', '/rest-api/pull/rtmp/record/start', 507, { body: { localStreamName: 'cam1' }, headers: rest, code: 'storage' });
  await op(f, 'GET', '/rest-api/debug/pipeline/{name}', 501, { params, query: '?format=svg', headers: rest, code: 'not_implemented' });

  const ice = (await op(f, 'GET', '/rest-api/ice', 200, { headers: rest })).json;
  assert.deepEqual([ice.portRange, ice.stunServer, ice.turnServers], [[40200, 40209], 'stun://127.0.0.1:3478', ['turn://tu@127.0.0.1:3479']]);
  const cfg = (await op(f, 'GET', '/config.json', 200)).json;
  assert.deepEqual(cfg.iceServers, [{ urls: ['stun:127.0.0.1:3478'] }, { urls: ['turn:127.0.0.1:3479'], username: 'tu', credential: 'tp' }]);

  // WHEP with the play token: 201 with Link headers; [limits] viewers = 1: a second is 503
  const W = '/whep/{name}';
  const play = bearer(PLAY_TOKEN);
  const r = await op(f, 'POST', W, 201, { params, body: chromiumOffer(), type: 'application/sdp', headers: play });
  assert.match(r.headers.link, /<stun:127\.0\.0\.1:3478>; rel="ice-server"/);
  assert.match(r.headers.link, /<turn:127\.0\.0\.1:3479>; rel="ice-server"; username="tu"; credential="tp"; credential-type="password"/);
  await op(f, 'POST', W, 503, { params, body: chromiumOffer(), type: 'application/sdp', headers: play, code: 'limit_reached' });
  await op(f, 'DELETE', '/whep/{name}/{session}', 200, { params: { name: 'cam1', session: r.headers.location.split('/').pop() } });
});

test('every documented (path, method, status) was seen', () => {
  const missing = spec.unseen(new Set(CANNOT_PROVOKE.keys()));
  assert.deepEqual(missing, [], `documented but never answered in this test: ${missing.join('; ')}`);
  // and the allow-list names only statuses that are documented
  const documented = new Set(spec.operations().map(([p, m, s]) => spec.key(p, m, s)));
  for (const k of CANNOT_PROVOKE.keys()) assert.ok(documented.has(k), `allow-listed but not in the spec: ${k}`);
});

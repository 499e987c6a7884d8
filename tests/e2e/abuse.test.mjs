// Hostile input (#9), against one running Ferry, a real nginx-rtmp origin and an ffmpeg
// publisher, with one unrelated viewer (the C peer over the WCS WebSocket) playing "cam"
// through the whole file: malformed, huge and deeply nested REST bodies, wrong types,
// path traversal, NUL and control bytes in names; slowloris on both ports; garbage
// WebSocket frames, floods and oversized messages; SDP garbage over WCS and WHEP; then
// 1000+ pull/terminate and WebSocket connect/drop cycles with fds, threads and RSS flat.
// After every group the viewer is still on its first session and decoded (nearly) every
// frame the source sent meanwhile (checkViewer); at the end it has only ever been PLAYING,
// and Ferry exits cleanly with no critical or sanitizer report in its log.
//
// Raw TCP sockets (node:net) build the malformed frames and requests; lib/wsclient.mjs
// the valid WebSocket traffic. The Ferry here has short [limits] request-timeout and
// [webrtc] ping-interval, so that every slow client is cut off within seconds.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { startEnv } from './lib/env.mjs';
import { startFerry } from './lib/ferry.mjs';
import { startPeer } from './lib/peer.mjs';
import { peerCounts, peerResumes, usage } from './lib/outage.mjs';
import { connectWs, establishedWs } from './lib/wsclient.mjs';
import { chromiumOffer, noCommonCodecOffer } from './fixtures/offers.mjs';
import { freshDir, sleep, waitFor, writeConf } from './lib/util.mjs';

const REQUEST_TIMEOUT_S = 2;
const PING_INTERVAL_S = 1;
const PING_MISSES = 2;
const FPS = 30;   // the publisher's frame rate (lib/rtmp.mjs)

let env;
let ferry;
let viewer;       // the unrelated C peer, playing "cam" from before() to the last test
let recordsDir;
let cwdBefore;

before(async () => {
  env = await startEnv({ publish: ['cam'], ferry: false });
  recordsDir = path.join(freshDir('abuse-rec'), 'records');
  const conf = `[limits]
request-timeout = ${REQUEST_TIMEOUT_S}
[webrtc]
ping-interval = ${PING_INTERVAL_S}
ping-misses = ${PING_MISSES}
[record]
dir = ${recordsDir}
segment-duration = 600
`;
  cwdBefore = fs.readdirSync(process.cwd());
  // A small ASan quarantine, so that RSS shows what Ferry keeps, not what ASan holds back
  // from reuse (as cycles.test.mjs does); and allocation stacks of 8 frames instead of 30:
  // with the suite's fast_unwind_on_malloc=0 one pull/terminate cycle took 140 ms instead
  // of 65 (the file would take minutes). Leaks are still found, with shorter stacks; 8 is
  // the least that still matches tests/lsan.supp (5 does not; the fast unwinder does not
  // either: it stops at g_malloc, as GLib has no frame pointers).
  ferry = await startFerry({ extraArgs: ['--config', writeConf(conf)],
    env: { ASAN_OPTIONS: `${process.env.ASAN_OPTIONS || ''}:quarantine_size_mb=1:malloc_context_size=8` } });
  await ferry.pullPlaying(env.uri('cam'), 'cam');
  viewer = startPeer({ url: ferry.wsUrl, names: ['cam'], seconds: 400, extraArgs: ['--progress', '200'] });
  await peerResumes(viewer, 'cam', { frames: 0, samples: 0 }, { frames: 30, samples: 24000, timeout: 20000 });
}, { timeout: 60000 });

after(async () => {
  if (viewer) await viewer.proc.stop({ graceMs: 5000 });
  if (ferry) await ferry.proc.stop({ graceMs: 10000 });
  if (env) await env.stop();
});

// ---- the unrelated viewer ------------------------------------------------------------

/** Decoded frames so far and when. */
const sample = () => ({ at: Date.now(), frames: peerCounts(viewer, 'cam').frames });

// Measured under ASan on the 2-core machine, with three other agents' builds and tests
// running: the viewer decoded 30.0 fps through the 50 s of cycles, 29-31 fps through the
// groups of a few seconds, 25-35 fps through those under 1.5 s (its counts come every
// 200 ms: ±6 frames). 80 % of the source's rate, less 10 frames for that granularity,
// leaves room for a loaded box; a stall of a few seconds, or a lost session (the counts
// start again from 0), is far below it.
const MIN_SHARE = 0.8;

/** Asserts that the viewer kept decoding since `s0` and that Ferry and "cam" are well. */
async function checkViewer(t, s0, what) {
  // the peer prints its counts every 200 ms: the last line may be that much behind
  await sleep(400);
  const s1 = sample();
  const expected = ((s1.at - s0.at - 400) / 1000) * FPS - 10 / MIN_SHARE;
  t.diagnostic(`${what}: the viewer decoded ${s1.frames - s0.frames} frames in ${s1.at - s0.at} ms `
    + `(${((s1.frames - s0.frames) / ((s1.at - s0.at) / 1000)).toFixed(1)} fps)`);
  assert.ok(!viewer.proc.exitInfo, `the viewer exited: ${viewer.proc.log().slice(-2000)}`);
  assert.ok(s1.frames - s0.frames >= MIN_SHARE * expected,
    `${what}: the viewer decoded ${s1.frames - s0.frames} frames, expected ≥ ${(MIN_SHARE * expected).toFixed(0)}`);
  assert.ok(ferry.alive(), `Ferry died: ${JSON.stringify(ferry.proc.exitInfo)}`);
  const cam = await ferry.find((p) => p.localStreamName === 'cam');
  assert.equal(cam?.status, 'PLAYING', JSON.stringify(cam));
}

// ---- helpers -------------------------------------------------------------------------

const PULL = '/rest-api/pull/rtmp/pull';
const TERMINATE = '/rest-api/pull/rtmp/terminate';
const CODE = { 400: null, 404: 'not_found', 405: 'method_not_allowed', 413: 'body_too_large' };

/** Asserts the documented error: the status, `{"error": code, "message": text}`. */
function assertError(what, r, status, code, re) {
  assert.equal(r.status, status, `${what}: HTTP ${r.status} ${r.text.slice(0, 300)}`);
  assert.equal(typeof r.json, 'object', `${what}: not JSON: ${r.text.slice(0, 300)}`);
  assert.deepEqual(Object.keys(r.json).sort(), ['error', 'message'], `${what}: ${r.text.slice(0, 300)}`);
  if (code ?? CODE[status]) assert.equal(r.json.error, code ?? CODE[status], `${what}: ${r.text.slice(0, 300)}`);
  assert.ok(typeof r.json.message === 'string' && r.json.message.length > 0, `${what}: ${r.text}`);
  if (re) assert.match(r.json.message, re, `${what}: ${r.text.slice(0, 300)}`);
}

/** One request on a connection of its own (no keep-alive pooling). */
const rest = (method, p, body, opts = {}) => ferry.rest(method, p, body, { agent: false, timeout: 10000, ...opts });

/** POSTs `total` bytes with chunked transfer coding (no Content-Length). */
function chunkedPost(p, total) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: ferry.restPort, method: 'POST', path: p, agent: false,
      headers: { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' } }, (res) => {
      let text = '';
      res.on('data', (c) => { text += c; });
      res.on('end', () => {
        let json;
        try { json = JSON.parse(text); } catch { /* not JSON */ }
        resolve({ status: res.statusCode, text, json });
      });
    });
    req.on('error', reject);
    const chunk = Buffer.alloc(1024 * 1024, 0x20);
    let sent = 0;
    req.write('{"uri":"rtmp://127.0.0.1:1/live/x","pad":"');
    const pump = () => {
      while (sent < total) {
        sent += chunk.length;
        if (!req.write(chunk)) { req.once('drain', pump); return; }
      }
      req.end('"}');
    };
    pump();
  });
}

/** A GET with a raw (already encoded) path; resolves {status, text, json}. */
function rawGet(port, rawPath) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: rawPath, agent: false, timeout: 5000 }, (res) => {
      let text = '';
      res.on('data', (c) => { text += c; });
      res.on('end', () => {
        let json;
        try { json = JSON.parse(text); } catch { /* not JSON */ }
        resolve({ status: res.statusCode, text, json });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${rawPath}: no answer within 5 s`)));
    req.on('error', reject);
    req.end();
  });
}

/** A WebSocket frame as a client would send it (masked unless `mask: false`). */
function frame(b0, payload = '', { mask = true, length } = {}) {
  const p = Buffer.from(payload);
  const len = length ?? p.length;
  let head;
  if (len >= 65536) {
    head = Buffer.alloc(10); head[1] = 127; head.writeBigUInt64BE(BigInt(len), 2);
  } else if (len >= 126) {
    head = Buffer.alloc(4); head[1] = 126; head.writeUInt16BE(len, 2);
  } else {
    head = Buffer.alloc(2); head[1] = len;
  }
  head[0] = b0;
  if (!mask) return Buffer.concat([head, p]);
  head[1] |= 0x80;
  const m = crypto.randomBytes(4);
  const body = Buffer.from(p);
  for (let i = 0; i < body.length; i++) body[i] ^= m[i % 4];
  return Buffer.concat([head, m, body]);
}
const FIN = 0x80;
const TEXT = 0x1;
const BINARY = 0x2;

/**
 * Opens a TCP connection to `port`, writes `text` (or `bytes` after a completed
 * WebSocket upgrade with `upgrade`), and resolves to {ms, got, close} once the server
 * closes it: ms since connect, what it sent (after the upgrade), the code and reason of
 * its close frame if any. Rejects when the server keeps the connection `limitMs`.
 */
function rawSession(port, { text = '', upgrade = false, bytes = [], trickle = null, limitMs = 10000 } = {}) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const s = net.connect({ host: '127.0.0.1', port });
    let buf = Buffer.alloc(0);
    let upgraded = !upgrade;
    let timer = null;
    const key = crypto.randomBytes(16).toString('base64');
    s.on('connect', () => {
      if (upgrade) {
        s.write(`GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n`
          + `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
      } else if (trickle) {
        let i = 0;   // one byte per second
        const next = () => { if (!s.destroyed && i < trickle.length) { s.write(trickle[i++]); timer = setTimeout(next, 1000); } };
        next();
      } else if (text) {
        s.write(text);
      }
    });
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (!upgraded) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        if (!/^HTTP\/1\.1 101/.test(buf.subarray(0, end).toString())) {
          s.destroy();
          reject(new Error(`upgrade refused: ${buf.subarray(0, end)}`));
          return;
        }
        upgraded = true;
        buf = buf.subarray(end + 4);
        for (const b of [].concat(bytes)) s.write(b);
      }
    });
    s.on('error', () => { /* 'close' follows */ });
    const limit = setTimeout(() => { s.destroy(); reject(new Error(`the server kept the connection ${limitMs} ms`)); }, limitMs);
    s.on('close', () => {
      clearTimeout(limit);
      clearTimeout(timer);
      resolve({ ms: Date.now() - t0, got: buf, close: closeFrameIn(buf) });
    });
  });
}

/** The close frame among the server's frames in `buf`: {code, reason}, or null. */
function closeFrameIn(buf) {
  for (let i = 0; i + 2 <= buf.length;) {
    const op = buf[i] & 0x0f;
    let len = buf[i + 1] & 0x7f;
    let off = 2;
    if (len === 126) { len = buf.readUInt16BE(i + 2); off = 4; } else if (len === 127) { len = Number(buf.readBigUInt64BE(i + 2)); off = 10; }
    if (op === 0x8) {
      return { code: len >= 2 ? buf.readUInt16BE(i + off) : 1005, reason: buf.subarray(i + off + 2, i + off + len).toString() };
    }
    i += off + len;
  }
  return null;
}

const viewersOf = async (name) => (await ferry.find((p) => p.localStreamName === name))?.viewers;
const statusOf = (m) => (m.message === 'notifyStreamStatusEvent' ? `${m.data[0].status}:${m.data[0].info ?? ''}` : null);

// ---- REST ------------------------------------------------------------------------------

test('REST: malformed, huge, deep, mistyped and oddly typed bodies get the documented 4xx; nothing is created', { timeout: 30000 }, async (t) => {
  const s0 = sample();
  const rss0 = usage(ferry.proc.pid).rssKiB;
  const uri = 'rtmp://127.0.0.1:1/live/abuse';
  const cases = [
    // [what, body, status, code, message]
    ['invalid JSON', '{"uri": "rtmp://127.0.0.1:1/live/x",', 400, 'invalid_json', /not valid JSON/],
    ['truncated', '{"uri": ', 400, 'invalid_json', /not valid JSON/],
    ['empty body', '', 400, 'invalid_json', /empty/],
    ['only spaces', '   ', 400, 'invalid_json', null],
    ['JSON array root', '[]', 400, 'invalid_json', /object/],
    ['JSON string root', '"rtmp://127.0.0.1:1/live/x"', 400, 'invalid_json', /object/],
    ['JSON null root', 'null', 400, 'invalid_json', /object/],
    ['not UTF-8', Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]), 400, 'invalid_json', /UTF-8/],
    ['10 000 nested arrays', '['.repeat(10000), 400, 'invalid_json', /deeper than 32 levels/],
    ['10 000 nested objects', `${'{"a":'.repeat(10000)}1${'}'.repeat(10000)}`, 400, 'invalid_json', /deeper than 32 levels/],
    // 32 levels (the root and 31 inside) are parsed, 33 are not
    ['nesting inside a member', { uri, localStreamName: JSON.parse(`${'['.repeat(32)}${']'.repeat(32)}`) }, 400, 'invalid_json', /deeper/],
    ['31 levels inside a member', { uri, localStreamName: JSON.parse(`${'['.repeat(31)}${']'.repeat(31)}`) }, 400, 'invalid_parameter', /'localStreamName' must be a string/],
    ['a number too large for a double', `{"uri":"${uri}","record":1e999}`, 400, 'invalid_parameter', /'record'/],
    ['a 10 MB body (Content-Length)', Buffer.alloc(10 * 1024 * 1024, 0x20), 413, 'body_too_large', /too large/],
    ['a body just over 64 KiB', JSON.stringify({ uri, pad: 'x'.repeat(64 * 1024) }), 413, 'body_too_large', null],
    ['missing uri', { localStreamName: 'x' }, 400, 'missing_parameter', /uri/],
    ['uri null', { uri: null }, 400, 'missing_parameter', /uri/],
    ['empty uri', { uri: '' }, 400, 'missing_parameter', /uri/],
    ['http:// scheme', { uri: 'http://127.0.0.1:1/live/x' }, 400, 'unsupported_scheme', /http/],
    ['file:// scheme', { uri: 'file:///etc/passwd' }, 400, 'unsupported_scheme', /file/],
    ['uri without a stream', { uri: 'rtmp://127.0.0.1:1/live' }, 400, 'invalid_parameter', /rtmp:\/\/host/],
    ['not a uri', { uri: 'rtmp://[::1' }, 400, 'invalid_parameter', /uri/],
    ['a 5000-byte uri', { uri: `rtmp://127.0.0.1:1/live/${'u'.repeat(5000)}` }, 400, 'invalid_parameter', /too long/],
    ['both tracks off', { uri, hasAudio: false, hasVideo: false }, 400, 'invalid_parameter', /both be false/],
  ];
  // wrong types for every member of the pull body
  const wrong = {
    uri: [5, true, [], {}, [uri]],
    localStreamName: [7, false, [], { a: 1 }],
    record: ['maybe', 1, 0, [], {}],
    hasAudio: ['yes', 1, [], {}],
    hasVideo: ['no', 0, [true], {}],
    transcode: [5, 'fast', [], {}, true],
  };
  for (const [member, values] of Object.entries(wrong)) {
    for (const v of values) {
      const body = { uri, localStreamName: 'abuse-typed', [member]: v };
      cases.push([`${member}: ${JSON.stringify(v)}`, body, 400, 'invalid_parameter', new RegExp(`'${member}'`)]);
    }
  }
  const problems = [];
  for (const [what, body, status, code, re] of cases) {
    try {
      assertError(what, await rest('POST', PULL, body), status, code, re);
    } catch (err) { problems.push(err.message); }
  }
  // the same for terminate and record start/stop: they read the same body
  for (const p of [TERMINATE, '/rest-api/pull/rtmp/record/start', '/rest-api/pull/rtmp/record/stop']) {
    for (const [what, body, status, code, re] of [
      ['invalid JSON', '{', 400, 'invalid_json', null],
      ['empty', '', 400, 'invalid_json', null],
      ['deep', '['.repeat(10000), 400, 'invalid_json', /deeper/],
      ['no key', {}, 400, 'missing_parameter', null],
      ['uri a number', { uri: 1 }, 400, 'invalid_parameter', /'uri'/],
      ['localMediaSessionId an array', { localMediaSessionId: [] }, 400, 'invalid_parameter', /'localMediaSessionId'/],
      ['localStreamName an object', { localStreamName: {} }, 400, 'invalid_parameter', /'localStreamName'/],
      ['unknown name', { localStreamName: 'no-such-pull' }, 404, 'not_found', null],
    ]) {
      try {
        assertError(`${p}: ${what}`, await rest('POST', p, body), status, code, re);
      } catch (err) { problems.push(err.message); }
    }
  }
  // chunked: no Content-Length to refuse it by; it is dropped while it is read
  const chunked = await chunkedPost(PULL, 10 * 1024 * 1024);
  try { assertError('a 10 MB chunked body', chunked, 413, 'body_too_large'); } catch (err) { problems.push(err.message); }
  // paths and methods
  for (const [what, method, p, status] of [
    ['unknown path', 'POST', '/rest-api/pull/rtmp/nope', 404],
    ['unknown top-level path', 'GET', '/rest-api/nope', 404],
    ['GET on pull', 'GET', PULL, 405],
    ['GET on terminate', 'GET', TERMINATE, 405],
    ['DELETE on find_all', 'DELETE', '/rest-api/pull/rtmp/find_all', 405],
    ['POST on a page', 'POST', '/index.html', 405],
  ]) {
    try { assertError(what, await rest(method, p, method === 'POST' ? {} : undefined), status); } catch (err) { problems.push(err.message); }
  }
  assert.deepEqual(problems, []);

  // Members Ferry does not know are ignored (WCS clients send more than Ferry reads), and
  // the Content-Type is not checked (curl -d sends application/x-www-form-urlencoded):
  // the body decides.
  const unknown = await rest('POST', PULL, { uri: env.uri('cam?unknown'), localStreamName: 'abuse-unknown',
    foo: 1, nested: { a: [1, { b: null }] }, record: null });
  assert.equal(unknown.status, 200, unknown.text);
  assert.equal(unknown.json.record, false, unknown.text);
  assert.equal((await rest('POST', TERMINATE, { localStreamName: 'abuse-unknown' })).status, 200);
  const plain = await rest('POST', PULL, JSON.stringify({ uri: env.uri('cam?plain'), localStreamName: 'abuse-plain' }),
    { headers: { 'Content-Type': 'text/plain' } });
  assert.equal(plain.status, 200, plain.text);
  assert.equal((await rest('POST', TERMINATE, { localStreamName: 'abuse-plain' })).status, 200);
  assertError('a form body', await rest('POST', PULL, 'uri=rtmp%3A%2F%2F127.0.0.1%2Flive%2Fx',
    { headers: { 'Content-Type': 'application/x-www-form-urlencoded' } }), 400, 'invalid_json');

  // nothing was created: no pull, no file; the memory of the 10 MB bodies is not kept
  const all = await ferry.findAll();
  assert.deepEqual(all.map((p) => p.localStreamName), ['cam'], JSON.stringify(all));
  const rss1 = usage(ferry.proc.pid).rssKiB;
  t.diagnostic(`RSS ${rss0} → ${rss1} KiB over two 10 MB bodies`);
  // measured: +0.4 MiB (before the chunked body was bounded: +25 MiB for this one)
  assert.ok(rss1 - rss0 < 8192, `RSS ${rss0} → ${rss1} KiB`);
  await checkViewer(t, s0, 'REST bodies');
});

test('REST: names with ../, %2F, absolute paths, NUL, control bytes and 5000 bytes, in every place a name goes', { timeout: 40000 }, async (t) => {
  const s0 = sample();
  const problems = [];
  const check = async (what, fn) => { try { await fn(); } catch (err) { problems.push(`${what}: ${err.message}`); } };
  // Names are labels, never paths: any printable text is a valid name and comes back as
  // given. Only a recording turns a name into a file name (sanitized, inside the dir).
  const odd = ['../../etc/abuse', '..%2F..%2Fabuse', '/etc/passwd', 'C:\\abuse\\x', '..', '.', 'a/./../b', 'камера ✓'];
  for (const [i, name] of odd.entries()) {
    await check(`pull ${JSON.stringify(name)}`, async () => {
      const r = await rest('POST', PULL, { uri: env.uri(`cam?odd${i}`), localStreamName: name });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.localStreamName, name);
      // The debug pipeline of a stream so named, URL-encoded as any client must. A name
      // with "." or ".." segments cannot be reached in a path: libsoup refuses a path
      // whose decoding adds ".." segments (bare 400) and folds "." and ".." (then 404).
      const d = await rest('GET', `/rest-api/debug/pipeline/${encodeURIComponent(name)}`);
      if (name.split('/').some((seg) => seg === '.' || seg === '..')) {
        assert.ok(d.status === 400 || d.status === 404, `HTTP ${d.status}`);
      } else {
        assert.equal(d.status, 200, d.text.slice(0, 200));
        assert.match(d.text, /^digraph/);
      }
      const term = await rest('POST', TERMINATE, { localStreamName: name });
      assert.equal(term.status, 200, term.text);
      assert.equal(term.json.localStreamName, name);
    });
  }
  // refused, naming why: NUL (json-glib would cut the name there) and control bytes (one
  // U+001F made find_all invalid JSON: json-glib writes it unescaped)
  const refused = [
    ['a NUL', 'a\u0000b/../../c', /NUL/],
    ['a NUL first', '\u0000', /NUL/],
    ['U+0001', 'a\u0001b', /control characters/],
    ['U+001F', 'a\u001fb', /control characters/],
    ['a newline', 'a\nfake log line', /control characters/],
    ['a carriage return', 'a\rb', /control characters/],
    ['DEL', 'a\u007fb', /control characters/],
    ['5000 bytes', 'n'.repeat(5000), /too long/],
    ['5000 bytes of ../', '../'.repeat(1667), /too long/],
  ];
  // a lone surrogate escape: json-glib decodes it to bytes that are not UTF-8, which
  // find_all then echoed as invalid JSON (tests/fuzz/fuzz-rest-json)
  await check('pull with a lone surrogate', async () => {
    assertError('lone surrogate', await rest('POST', PULL, `{"uri":"${env.uri('cam?refused')}","localStreamName":"cam\\udc00x"}`),
      400, 'invalid_json', /UTF-8/);
  });
  for (const [what, name, re] of refused) {
    await check(`pull with ${what}`, async () => {
      assertError(what, await rest('POST', PULL, { uri: env.uri('cam?refused'), localStreamName: name }), 400, 'invalid_parameter', re);
    });
  }
  for (const [what, uri] of [['NUL', `${env.uri('cam')}\u0000/../x`], ['newline', `${env.uri('cam')}\nx`], ['U+001F', `${env.uri('cam')}\u001f`]]) {
    await check(`uri with ${what}`, async () => {
      assertError(what, await rest('POST', PULL, { uri, localStreamName: 'abuse-uri' }), 400, 'invalid_parameter', /NUL|control/);
    });
  }
  // terminate and record start/stop by such names: 404 (no pull has them) or 400 (NUL)
  for (const p of [TERMINATE, '/rest-api/pull/rtmp/record/start', '/rest-api/pull/rtmp/record/stop']) {
    for (const name of ['../../etc/abuse', '/etc/passwd', 'n'.repeat(5000), 'a\u0001b']) {
      await check(`${p} ${JSON.stringify(name.slice(0, 20))}`, async () => {
        assertError(p, await rest('POST', p, { localStreamName: name }), 404, 'not_found');
      });
    }
    await check(`${p} with a NUL`, async () => {
      assertError(p, await rest('POST', p, { localStreamName: 'cam\u0000' }), 400, 'invalid_parameter', /NUL/);
    });
  }
  // the debug pipeline and the records downloads by such names
  for (const p of ['/rest-api/debug/pipeline/..%2F..%2Fetc%2Fpasswd', '/rest-api/debug/pipeline/%2Fetc%2Fpasswd',
    `/rest-api/debug/pipeline/${'n'.repeat(5000)}`, '/rest-api/debug/pipeline/%01', '/rest-api/debug/pipeline/cam%0A',
    '/records/..%2F..%2Fetc%2Fpasswd', '/records/%2Fetc%2Fpasswd', `/records/${'a'.repeat(5000)}.mp4`,
    '/records/%01.mp4', '/records/.mp4', `/records/${encodeURIComponent(recordsDir)}`]) {
    await check(`GET ${p.slice(0, 60)}`, async () => {
      const r = await rawGet(ferry.restPort, p);
      // libsoup itself answers 400 (no body) for a path whose decoding adds ".." segments;
      // everything that reaches Ferry gets its JSON 404
      if (r.status === 400) assert.equal(r.text, '');
      else assertError(p, r, 404, 'not_found');
      assert.ok(!/root:/.test(r.text), 'a file was served');
    });
  }
  for (const p of ['/rest-api/debug/pipeline/%00', '/records/%00.mp4', '/records/../../etc/passwd', '/rest-api/pull/rtmp/pull%00']) {
    await check(`GET ${p}`, async () => {
      const r = await rawGet(ferry.restPort, p);
      assert.ok(r.status === 400 || r.status === 404, `HTTP ${r.status}`);
      assert.ok(!/root:/.test(r.text), 'a file was served');
    });
  }
  assert.deepEqual(problems, []);

  // A recording of a hostile name is written inside the records dir, sanitized.
  const name = '../../etc/abuse-rec';
  await ferry.pullPlaying(env.uri('cam?rec'), name);
  const start = await rest('POST', '/rest-api/pull/rtmp/record/start', { localStreamName: name });
  assert.equal(start.status, 200, start.text);
  const rec = await waitFor('a recording file', async () => (await ferry.find((p) => p.localStreamName === name))?.recordName,
    { timeout: 10000, interval: 200 });
  const stop = await rest('POST', '/rest-api/pull/rtmp/record/stop', { localStreamName: name });
  assert.equal(stop.status, 200, stop.text);
  await waitFor('the recording stopped', async () => (await ferry.find((p) => p.localStreamName === name))?.recordStatus === 'STOPPED',
    { timeout: 10000, interval: 200 });
  assert.equal((await rest('POST', TERMINATE, { localStreamName: name })).status, 200);
  t.diagnostic(`${JSON.stringify(name)} recorded as ${rec}`);
  assert.match(rec, /^etc_abuse-rec_\d{8}-\d{6}(?:-\d+)?_\d{3}\.mp4$/);
  assert.deepEqual(fs.readdirSync(recordsDir), [rec]);
  assert.deepEqual(fs.readdirSync(path.dirname(recordsDir)), ['records'], 'something was written next to the records dir');
  const dl = await rawGet(ferry.restPort, `/records/${rec}`);
  assert.equal(dl.status, 200);
  // nothing new where Ferry runs, nothing under the /etc a traversal would reach
  assert.deepEqual(fs.readdirSync(process.cwd()), cwdBefore, 'Ferry wrote into its working directory');
  assert.ok(!fs.readdirSync('/etc').some((f) => /abuse/.test(f)), 'a file in /etc');

  // find_all is valid JSON for a strict parser and lists only "cam"
  const all = await rest('GET', '/rest-api/pull/rtmp/find_all');
  assert.deepEqual(JSON.parse(all.text).map((p) => p.localStreamName), ['cam'], all.text.slice(0, 500));
  await checkViewer(t, s0, 'names');
});

// ---- slowloris -------------------------------------------------------------------------

test('slowloris: slow headers, an endless body, a stalled upgrade, idle and silent sockets are closed in time', { timeout: 30000 }, async (t) => {
  const s0 = sample();
  const limited0 = Number((await rest('GET', '/metrics')).text.match(/^ferry_limited_total (\d+)$/m)?.[1]);
  const http10 = `GET /rest-api/pull/rtmp/find_all HTTP/1.1\r\nHost: x\r\nX-Slow: ${'a'.repeat(40)}\r\n\r\n`;
  const [slowHeaders, endlessBody, idleRest, slowUpgrade, idleWs, silentWs, halfFrame] = await Promise.all([
    rawSession(ferry.restPort, { trickle: http10 }),                                     // a byte a second
    rawSession(ferry.restPort, { text: `POST ${PULL} HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{"uri":` }),
    rawSession(ferry.restPort, {}),                                                        // connects, sends nothing
    rawSession(ferry.wsPort, { text: 'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n' }),   // never completes
    rawSession(ferry.wsPort, {}),
    rawSession(ferry.wsPort, { upgrade: true }),                                           // open, never sends
    rawSession(ferry.wsPort, { upgrade: true, bytes: [frame(FIN | TEXT, '{"message":"connection","data":[{}]}').subarray(0, 8)] }),
  ]);
  const http = { slowHeaders, endlessBody, idleRest, slowUpgrade, idleWs };
  for (const [what, c] of Object.entries(http)) {
    t.diagnostic(`${what}: closed after ${c.ms} ms`);
    // [limits] request-timeout, give or take a second of timer slack and a loaded box
    assert.ok(c.ms >= REQUEST_TIMEOUT_S * 1000 - 500 && c.ms < REQUEST_TIMEOUT_S * 1000 + 3000, `${what}: closed after ${c.ms} ms`);
    assert.equal(c.got.length, 0, `${what}: answered ${c.got}`);
  }
  // An open WebSocket is not an HTTP request any more: keep-alive drops it after
  // ping-misses unanswered pings (docs/signalling.md), with 1001 "no pong"; a frame that
  // never completes is the same to it.
  const bound = (PING_MISSES + 1) * PING_INTERVAL_S * 1000 + 2000;
  for (const [what, c] of Object.entries({ silentWs, halfFrame })) {
    t.diagnostic(`${what}: closed after ${c.ms} ms with ${JSON.stringify(c.close)}`);
    assert.ok(c.ms < bound, `${what}: closed after ${c.ms} ms`);
    assert.deepEqual(c.close, { code: 1001, reason: 'no pong' }, what);
  }
  // well-behaved clients are served meanwhile and after; each cut is counted as a limit
  assert.equal((await rest('GET', '/rest-api/pull/rtmp/find_all')).status, 200);
  const limited = async () => Number((await rest('GET', '/metrics')).text.match(/^ferry_limited_total (\d+)$/m)?.[1]);
  assert.ok(await limited() - limited0 >= 5, 'the five HTTP cuts are in ferry_limited_total');
  const ws = await establishedWs(ferry.wsUrl);
  ws.close();
  await ws.closed;
  await checkViewer(t, s0, 'slowloris');
});

// ---- WebSocket -------------------------------------------------------------------------

test('WebSocket: invalid frames are closed with the RFC 6455 code; binary frames and pings are not', { timeout: 30000 }, async (t) => {
  const s0 = sample();
  const before = await viewersOf('cam');
  const cases = {
    'opcode 3 (reserved)': [[frame(FIN | 0x3, 'x')], [1002]],
    'opcode 0xB (reserved control)': [[frame(FIN | 0xb, 'x')], [1002]],
    'RSV1 without an extension': [[frame(FIN | 0x40 | TEXT, '{}')], [1002]],
    'RSV2 and RSV3': [[frame(FIN | 0x30 | TEXT, '{}')], [1002]],
    'an unmasked client frame': [[frame(FIN | TEXT, '{"message":"connection","data":[{}]}', { mask: false })], [1002]],
    'a text frame that is not UTF-8': [[frame(FIN | TEXT, Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]))], [1007]],
    'UTF-8 split across fragments, then broken': [[frame(TEXT, Buffer.from([0xe2, 0x82])), frame(FIN, Buffer.from([0x28]))], [1007]],
    // a 2^62-byte length: libsoup refuses it from the header (1009) and closes with the
    // rest unread, so the client may see the RST before the close frame
    'a 2^62-byte length header': [[frame(FIN | BINARY, 'abc', { length: 2 ** 62 })], [1009, null]],
    'a continuation without a start': [[frame(FIN | 0x0, 'abc')], [1002]],
    'a new text frame inside a fragmented one': [[frame(TEXT, '{"a":'), frame(FIN | TEXT, '{}')], [1002]],
    'a fragmented ping': [[frame(0x9, 'x')], [1002]],
    'a 200-byte ping': [[frame(FIN | 0x9, 'x'.repeat(200))], [1002]],
    'a close with code 999': [[frame(FIN | 0x8, Buffer.from([0x03, 0xe7]))], [1002]],
    'a close with one byte': [[frame(FIN | 0x8, Buffer.from([0x03]))], [1002]],
    'a text message over ws-message-kb (300 KiB)': [[frame(FIN | TEXT, `{"message":"x","data":["${'x'.repeat(300 * 1024)}"]}`)], [1009, null]],
  };
  const results = await Promise.all(Object.values(cases).map(([bytes]) => rawSession(ferry.wsPort, { upgrade: true, bytes })));
  const problems = [];
  for (const [i, [what, [, codes]]] of Object.entries(cases).entries()) {
    const r = results[i];
    const code = r.close?.code ?? null;
    t.diagnostic(`${what}: ${JSON.stringify(r.close)} after ${r.ms} ms`);
    if (!codes.includes(code)) problems.push(`${what}: closed with ${JSON.stringify(r.close)}, expected ${codes}`);
    if (r.ms > 2000) problems.push(`${what}: closed after ${r.ms} ms`);
  }
  assert.deepEqual(problems, []);

  // A fragmented message that never ends grows past ws-message-kb without a 1009:
  // libsoup 3.2 checks the size of each frame, not of the message. It cannot answer our
  // pings meanwhile (a pong is a message of its own), so keep-alive ends it.
  const fragments = [frame(TEXT, '['), ...Array.from({ length: 40 }, () => frame(0x0, '['.repeat(16 * 1024)))];
  const endless = await rawSession(ferry.wsPort, { upgrade: true, bytes: fragments });
  t.diagnostic(`an endless fragmented message (640 KiB): ${JSON.stringify(endless.close)} after ${endless.ms} ms`);
  assert.ok([1009, 1001].includes(endless.close?.code), JSON.stringify(endless.close));
  assert.ok(endless.ms < (PING_MISSES + 1) * PING_INTERVAL_S * 1000 + 2000, `after ${endless.ms} ms`);

  // Binary frames and WebSocket pings (20 000 of them, answered by libsoup) are not WCS
  // messages: ignored, not counted against ws-messages-per-second; the socket plays on.
  const ws = await connectWs(ferry.wsUrl);
  try {
    ws.sendBinary(crypto.randomBytes(1000));
    ws.socket.write(Buffer.concat(Array.from({ length: 20000 }, () => frame(FIN | 0x9, 'p'.repeat(125)))));
    ws.wcs('connection', { appKey: 'defaultApp' });
    await ws.next((m) => m.message === 'getUserData', { what: 'getUserData after a ping flood', timeout: 10000 });
    assert.ok(ws.isOpen());
  } finally { ws.destroy(); }
  assert.equal(await viewersOf('cam'), before);
  await checkViewer(t, s0, 'WebSocket frames');
});

test('WebSocket: non-JSON, JSON of the wrong shape and unknown messages are ignored; a flood gets 1008', { timeout: 30000 }, async (t) => {
  const s0 = sample();
  const ws = await connectWs(ferry.wsUrl);
  try {
    const from = ws.messages.length;
    for (const m of [
      '['.repeat(250000),                 // crashed json-glib once (ferry-json.c)
      '{"message":', 'not json', '"just a string"', '42', 'null', '[]', '{}',
      '{"message":"playStream","data":"x"}', '{"message":"playStream","data":[1,2]}',
      '{"message":"playStream","data":["not an object"]}', '{"message":{"a":1}}', '{"message":null}',
      '{"message":"connection","data":[{"appKey":"a\\u0000b"}]}',   // a NUL: refused before json-glib
      '{"message":"noSuchMessage","data":[{}]}', '{"message":"stopStream","data":[{"mediaSessionId":"never-seen"}]}',
      '{"message":"availableStream","data":[{}]}',
      // a lone surrogate: json-glib makes it non-UTF-8, echoed in a FAILED status libsoup
      // refused the frame with a critical (fatal here; found by tests/fuzz/fuzz-wcs)
      '{"message":"playStream","data":[{"mediaSessionId":"h2","name":"cam\\udc00x","sdp":"v=0"}]}',
    ]) ws.send(m);
    ws.sendBinary([0, 1, 2, 255]);
    ws.wcs('playStream', { name: 'cam', sdp: 'v=0' });                       // no id
    ws.wcs('playStream', { mediaSessionId: 'h1', name: 'cam', sdp: 'garbage', mediaProvider: 'WebRTC' });
    ws.wcs('connection', {});
    await ws.next((m) => m.message === 'getUserData', { from, what: 'getUserData after the garbage' });
    const got = ws.messages.slice(from).filter((m) => m.message !== 'ping').map((m) => statusOf(m) ?? m.message);
    t.diagnostic(`answers: ${JSON.stringify(got)}`);
    // the availableStream without a name is answered "false"; the two playStreams FAILED
    assert.deepEqual(got.filter((x) => x !== 'getUserData').sort(),
      ['FAILED:Failed to add stream to proxy', 'FAILED:MediaSessionId is null', 'availableStream'].sort());
    assert.ok(ws.isOpen());
  } finally { ws.destroy(); }

  // a flood of valid messages beyond ws-messages-per-second (50, bursts of 100)
  const flood = await establishedWs(ferry.wsUrl);
  for (let i = 0; i < 300; i++) flood.wcs('availableStream', { mediaSessionId: `f${i}`, name: 'cam' });
  const c = await flood.closed;
  assert.equal(c.code, 1008, JSON.stringify(c));
  assert.match(c.reason, /message rate limit/);
  const answered = flood.messages.filter((m) => m.message === 'availableStream').length;
  assert.ok(answered >= 90 && answered <= 110, `${answered} answered before the close`);
  await checkViewer(t, s0, 'WebSocket messages');
});

// ---- SDP garbage -----------------------------------------------------------------------

const CRLF = '\r\n';
const SESSION = `v=0${CRLF}o=- 1 2 IN IP4 127.0.0.1${CRLF}s=-${CRLF}t=0 0${CRLF}`;
const sdpGarbage = () => ({
  empty: '',
  spaces: '   \r\n',
  // (no NUL: a \u0000 in a message has it ignored as a whole, test above)
  random: crypto.randomBytes(3000).toString('latin1').replaceAll('\u0000', '?'),
  randomBase64: crypto.randomBytes(3000).toString('base64'),
  truncated: chromiumOffer().slice(0, 260),
  truncatedMidVideo: chromiumOffer().slice(0, chromiumOffer().indexOf('m=video') + 40),
  noMlines: SESSION,
  onlyAttributes: `${SESSION}${'a=x:y\r\n'.repeat(100)}`,
  noCommonCodec: noCommonCodecOffer(),
  mlinesOfNothing: `${SESSION}m=audio 9 UDP/TLS/RTP/SAVPF${CRLF}m=video 9 UDP/TLS/RTP/SAVPF${CRLF}`,
  applicationOnly: `${SESSION}m=application 9 UDP/DTLS/SCTP webrtc-datachannel${CRLF}a=mid:0${CRLF}`,
  thousandMlines: SESSION + Array.from({ length: 1000 }, (_, i) => `m=audio 9 UDP/TLS/RTP/SAVPF 0${CRLF}a=mid:${i}${CRLF}a=rtpmap:0 PCMU/8000${CRLF}`).join(''),
  thousandOpusMlines: SESSION + Array.from({ length: 1000 }, (_, i) => `m=audio 9 UDP/TLS/RTP/SAVPF 111${CRLF}a=mid:${i}${CRLF}a=recvonly${CRLF}a=rtpmap:111 opus/48000/2${CRLF}`).join(''),
  nulBytes: `${SESSION}m=audio 9 UDP/TLS/RTP/SAVPF 111\u0001\u0002${CRLF}`,
});

test('SDP garbage over WCS: FAILED with the reason, at once; a 1 MB offer closes the socket (1009); nothing leaks', { timeout: 40000 }, async (t) => {
  const s0 = sample();
  const before = await viewersOf('cam');
  const offers = sdpGarbage();
  const ws = await establishedWs(ferry.wsUrl);
  try {
    for (const [id, sdp] of Object.entries(offers)) {
      ws.wcs('playStream', { mediaSessionId: id, name: 'cam', mediaProvider: 'WebRTC', sdp });
    }
    ws.wcs('playStream', { mediaSessionId: 'sdpNumber', name: 'cam', mediaProvider: 'WebRTC', sdp: 5 });
    ws.wcs('playStream', { mediaSessionId: 'sdpObject', name: 'cam', mediaProvider: 'WebRTC', sdp: { type: 'offer' } });
    const ids = [...Object.keys(offers), 'sdpNumber', 'sdpObject'];
    await waitFor('a status for every offer', () => ids.every((id) => ws.statuses(id).length > 0), { timeout: 20000, interval: 100 });
    const got = Object.fromEntries(ids.map((id) => [id, ws.statuses(id)]));
    t.diagnostic(JSON.stringify(got));
    for (const id of ids) {
      const want = id === 'noCommonCodec' || id === 'thousandMlines' ? ['FAILED:No common codecs'] : null;
      if (want) assert.deepEqual(got[id], want, id);
      else assert.deepEqual(got[id].length, 1, `${id}: ${got[id]}`);
      assert.match(got[id][0], /^FAILED:(Failed to add stream to proxy|No common codecs)$/, `${id}: ${got[id]}`);
    }
    assert.deepEqual(ws.messages.filter((m) => m.message === 'setRemoteSDP').map((m) => m.data[0]), [], 'an answer to garbage');
    assert.ok(ws.isOpen());
  } finally { ws.destroy(); }
  const big = await establishedWs(ferry.wsUrl);
  big.wcs('playStream', { mediaSessionId: 'huge', name: 'cam', mediaProvider: 'WebRTC', sdp: chromiumOffer() + 'a=x:'.padEnd(1024 * 1024, 'y') });
  const c = await big.closed;
  assert.ok(c.code === 1009 || (c.code === 1006 && !c.clean), JSON.stringify(c));
  await waitFor('no viewer left but the unrelated one', async () => (await viewersOf('cam')) === before, { timeout: 10000 });
  await checkViewer(t, s0, 'SDP over WCS');
});

test('SDP garbage over WHEP: 400/413/415 with the documented body, no session left', { timeout: 40000 }, async (t) => {
  const s0 = sample();
  const before = await viewersOf('cam');
  const sdpType = { 'Content-Type': 'application/sdp' };
  const problems = [];
  for (const [what, sdp] of Object.entries(sdpGarbage())) {
    const r = await rest('POST', '/whep/cam', sdp, { json: false, headers: sdpType });
    try {
      // 1000 Opus m-lines are 70 KB: over [limits] body-kb (64) for WHEP
      if (what === 'thousandOpusMlines') { assertError(what, r, 413, 'body_too_large'); continue; }
      assertError(what, r, 400, null);
      assert.ok(['invalid_parameter', 'invalid_json', 'missing_parameter'].includes(r.json.error), `${what}: ${r.text}`);
    } catch (err) { problems.push(err.message); }
  }
  for (const [what, body, headers, status] of [
    ['a 1 MB offer', chromiumOffer() + 'a=x:'.padEnd(1024 * 1024, 'y'), sdpType, 413],
    ['a 1 MB offer, chunked', null, null, 413],
    ['JSON instead of SDP', '{"sdp":"v=0"}', { 'Content-Type': 'application/json' }, 415],
    ['no Content-Type', chromiumOffer(), {}, 415],
  ]) {
    const r = body === null
      ? await new Promise((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port: ferry.restPort, method: 'POST', path: '/whep/cam', agent: false,
          headers: { ...sdpType, 'Transfer-Encoding': 'chunked' } }, (res) => {
          let text = '';
          res.on('data', (d) => { text += d; });
          res.on('end', () => resolve({ status: res.statusCode, text, json: JSON.parse(text || 'null') }));
        });
        req.on('error', reject);
        req.end(chromiumOffer() + 'a=x:'.padEnd(1024 * 1024, 'y'));
      })
      : await rest('POST', '/whep/cam', body, { json: false, headers });
    try { assertError(what, r, status, null); } catch (err) { problems.push(err.message); }
  }
  assert.deepEqual(problems, []);
  await waitFor('no WHEP viewer left', async () => (await viewersOf('cam')) === before, { timeout: 10000 });
  await checkViewer(t, s0, 'SDP over WHEP');
});

// ---- cycles ----------------------------------------------------------------------------

/** The fd targets of process `pid`, counted by kind ("socket", "anon_inode:[eventfd]", …). */
function fdKinds(pid) {
  const kinds = {};
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    let l;
    try { l = fs.readlinkSync(`/proc/${pid}/fd/${fd}`); } catch { continue; }
    const k = l.replace(/\[\d+\]/, '');
    kinds[k] = (kinds[k] || 0) + 1;
  }
  return kinds;
}

/** Waits (up to `ms`) for fds and threads to come back to `u0` (+2); returns the last usage. */
async function settle(pid, u0, ms) {
  let u1;
  await waitFor('fds and threads back', async () => {
    u1 = usage(pid);
    return u1.fds <= u0.fds + 2 && u1.threads <= u0.threads + 2;
  }, { timeout: ms, interval: 250 }).catch(() => {});
  return u1;
}

// Both kinds of cycles at once (they share nothing but the process, and the file must stay
// short): 400 pulls, each terminated at once, of a port nobody listens on (the pipeline is
// built, starts connecting and is torn down; a live origin is the todo below), and 1000
// WebSocket connections dropped by FIN, RST or a close frame, every tenth after a
// playStream (the viewer being built, or its answer gathered, when the socket goes).
// 400 pulls, not thousands: under ASan with 8-frame allocation stacks one cycle takes
// 65 ms on an idle 2-core box and 90 ms on a loaded one (1000 took 91 s); 400 is what
// fits the file's 120 s. A leak per cycle shows the same over 400 as over 1000.
test('400 pull/terminate and 1000 WebSocket connect/drop cycles: fds, threads and RSS flat', { timeout: 120000 }, async (t) => {
  const s0 = sample();
  const pid = ferry.proc.pid;
  const before = await viewersOf('cam');
  const offer = chromiumOffer();
  const pulls = async (n) => {
    for (let i = 0; i < n; i++) {
      const p = await ferry.pull({ uri: 'rtmp://127.0.0.1:9/live/cycles', localStreamName: 'cycled' });
      assert.equal(p.status, 200, p.text);
      const x = await ferry.terminate({ localStreamName: 'cycled' });
      assert.equal(x.status, 200, x.text);
    }
  };
  const one = async (i) => {
    if (i % 10 === 0) {
      const ws = await establishedWs(ferry.wsUrl);
      ws.wcs('playStream', { mediaSessionId: `c${i}`, name: 'cam', mediaProvider: 'WebRTC', sdp: offer });
      await sleep(i % 20 === 0 ? 0 : 50);
      ws.reset();
      return;
    }
    const ws = await connectWs(ferry.wsUrl);
    if (i % 3 === 0) ws.destroy();
    else if (i % 3 === 1) ws.reset();
    else { ws.close(); await ws.closed; }
  };
  const sockets = async (from, n) => {
    // four at a time: well under [limits] ws-per-address (64)
    for (let i = from; i < from + n; i += 4) await Promise.all([0, 1, 2, 3].map((k) => one(i + k)));
  };
  // warm-up: the first of each creates process-wide things once (thread pools, DTLS agent)
  await Promise.all([pulls(20), sockets(0, 40)]);
  await waitFor('the warm-up freed', async () => (await viewersOf('cam')) === before, { timeout: 10000 });
  await sleep(1000);
  const u0 = usage(pid);
  const k0 = fdKinds(pid);
  const t0 = Date.now();
  const times = {};
  await Promise.all([
    pulls(400).then(() => { times.pulls = Date.now() - t0; }),
    sockets(40, 1000).then(() => { times.sockets = Date.now() - t0; }),
  ]);
  await waitFor('every dropped viewer freed', async () => (await viewersOf('cam')) === before, { timeout: 15000 });
  // a viewer's ICE agent and a pipeline go down asynchronously
  const u1 = await settle(pid, u0, 20000);
  // (settle() waits for +2 at most; the bound below is looser, see there)
  const m = await rest('GET', '/metrics');
  const sessions = Number(m.text.match(/^ferry_websocket_sessions (\d+)$/m)?.[1]);
  t.diagnostic(`cycles done in ${JSON.stringify(times)} ms; after the warm-up: ${JSON.stringify(u0)}; after: `
    + `${JSON.stringify(u1)}; open sessions ${sessions}`);
  if (u1.fds > u0.fds + 2) t.diagnostic(`fds before ${JSON.stringify(k0)}, after ${JSON.stringify(fdKinds(pid))}`);
  assert.equal(sessions, 1, 'only the unrelated viewer\'s socket is open');
  assert.deepEqual((await ferry.findAll()).map((p) => p.localStreamName), ['cam']);
  // Measured after 20 s to settle: fds +0 to +4 (a few eventfds and a socket: GLib main
  // contexts of torn-down elements that had not gone yet), threads -1 to 0. A leak per
  // cycle would be hundreds: the rtmp2src leak below is 4 fds per pull.
  assert.ok(u1.fds - u0.fds <= 6, `fds ${u0.fds} -> ${u1.fds}`);
  assert.ok(Math.abs(u1.threads - u0.threads) <= 2, `threads ${u0.threads} -> ${u1.threads}`);
  // Measured under ASan (1 MiB quarantine): +18 to +27 MiB over these cycles (+12.6 MiB
  // over 1000 pulls alone, +0.3 MiB over 1000 sockets alone: allocator and stack depot
  // growth, and LeakSanitizer finds nothing at exit); a leaked pipeline per pull (its
  // elements, its thread's stack) or a leaked webrtcbin per dropped play would be far
  // above the bound. Later runs on the merged tree saw +47 to +55 MiB (the same with the
  // branch's own binary, so the box's load, not a change, moves it): bound 80 MiB.
  assert.ok(u1.rssKiB - u0.rssKiB < 80 * 1024, `RSS ${u0.rssKiB} -> ${u1.rssKiB} KiB`);
  await checkViewer(t, s0, 'cycles');
});

// GStreamer 1.22's rtmp2src, stopped while it connects to a live origin (the first
// ~100 ms), keeps the connection's sockets and its main context's eventfd: 3 sockets and 1
// eventfd per pull terminated that early (a plain `rtmp2src ! fakesink` pipeline set to
// NULL 30 ms after PLAYING does the same; 400 ms after, nothing leaks). The origin keeps
// its end of each connection too. Left as a todo until Ferry works around it (or a fixed
// rtmp2src). On a Ferry of its own, whose exit is not checked: what rtmp2src leaks is
// not this file's finding to report at the end.
test('5 pull/terminate cycles against a live origin, each terminated while connecting: fds flat',
  { timeout: 60000, todo: 'rtmp2src 1.22 leaks the connection when stopped mid-connect' }, async (t) => {
    const f = await startFerry({ env: { ASAN_OPTIONS: `${process.env.ASAN_OPTIONS || ''}:detect_leaks=0` } });
    try {
      const u0 = usage(f.proc.pid);
      for (let i = 0; i < 5; i++) {
        assert.equal((await f.pull({ uri: env.uri('cam?early'), localStreamName: 'early' })).status, 200);
        assert.equal((await f.terminate({ localStreamName: 'early' })).status, 200);
      }
      let u1;
      await waitFor('fds back', async () => { u1 = usage(f.proc.pid); return u1.fds <= u0.fds + 2; }, { timeout: 3000, interval: 250 }).catch(() => {});
      t.diagnostic(`before: ${JSON.stringify(u0)}; after: ${JSON.stringify(u1)}`);
      assert.ok(u1.fds - u0.fds <= 2, `fds ${u0.fds} -> ${u1.fds}`);
    } finally { await f.proc.stop({ graceMs: 10000 }); }
  });

// ---- the end ---------------------------------------------------------------------------

test('the viewer was PLAYING on one session throughout; Ferry exits cleanly with a clean log', { timeout: 30000 }, async () => {
  await viewer.proc.stop({ graceMs: 10000 });
  const res = await viewer.result;
  const s = res.report?.streams?.[0];
  assert.ok(s, `no report: ${res.output.slice(-2000)}`);
  assert.deepEqual(s.statuses.map((x) => `${x.status}:${x.info ?? ''}`).map((x) => x.split(':')[0]), ['PLAYING'], JSON.stringify(s.statuses));
  assert.ok(s.videoFrames > 0 && s.audioSamples > 0, JSON.stringify(s));
  // no critical, no sanitizer report, exit 0 within 10 s of SIGTERM (lib/ferry.mjs)
  assert.deepEqual(await ferry.stopAndCheck(), []);
});

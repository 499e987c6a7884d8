// REST API of Ferry against a real nginx-rtmp origin fed by ffmpeg.
// Tests run in order and share one environment.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEnv } from './lib/env.mjs';
import { startPublisher } from './lib/rtmp.mjs';
import { freePort, waitFor } from './lib/util.mjs';

let env;
let ferry;
const PULL = '/rest-api/pull/rtmp/pull';

before(async () => {
  // reconnect = false: the first loss ends a pull, as in WCS (reconnect.test.mjs covers
  // the default).
  env = await startEnv({ publish: ['cam1', 'cam2'], ferryConf: '[pull]\nreconnect = false\n' });
  ferry = env.ferry;
}, { timeout: 60000 });

after(async () => { if (env) await env.stop(); });

/** Checks an error answer: the status and a JSON body {error: string, message: string}. */
function errorProblem(what, r, status) {
  if (r.status !== status) return `${what}: expected HTTP ${status}, got ${r.status} ${r.text.slice(0, 200)}`;
  const b = r.json;
  if (!b || typeof b !== 'object' || Array.isArray(b)) return `${what}: body is not a JSON object: ${r.text.slice(0, 200)}`;
  if (typeof b.error !== 'string' || !b.error) return `${what}: no string "error" in ${r.text.slice(0, 200)}`;
  if (typeof b.message !== 'string' || !b.message) return `${what}: no string "message" in ${r.text.slice(0, 200)}`;
  return null;
}

function assertError(what, r, status) {
  const p = errorProblem(what, r, status);
  assert.equal(p, null, p);
}

const byName = (name) => (p) => p.localStreamName === name;

async function waitGone(pred, what) {
  await waitFor(`${what} gone from find_all`, async () => !(await ferry.findAll()).some(pred),
    { timeout: 10000, interval: 200 });
}

let cam1; // the pull object of the stream that stays up for the whole file

test('pull answers 200 with the pull object', { timeout: 10000 }, async () => {
  const r = await ferry.pull({ uri: env.uri('cam1'), localStreamName: 'rest-cam1' });
  assert.equal(r.status, 200, r.text);
  const b = r.json;
  assert.ok(b && typeof b === 'object', r.text);
  assert.equal(typeof b.localMediaSessionId, 'string');
  assert.ok(b.localMediaSessionId.length > 0, 'localMediaSessionId is empty');
  assert.equal(b.localStreamName, 'rest-cam1');
  assert.equal(b.uri, env.uri('cam1'));
  assert.equal(b.status, 'PENDING');
  assert.equal(b.hasAudio, true);
  assert.equal(b.hasVideo, true);
  assert.equal(b.record, false);
  cam1 = b;
});

test('find_all (POST and GET) lists the pull; it reaches PLAYING within 15 s', { timeout: 25000 }, async (t) => {
  for (const method of ['POST', 'GET']) {
    const r = await ferry.rest(method, '/rest-api/pull/rtmp/find_all', method === 'POST' ? {} : undefined);
    assert.equal(r.status, 200, `${method} find_all: ${r.text}`);
    assert.ok(Array.isArray(r.json), `${method} find_all is not an array: ${r.text}`);
    const p = r.json.find(byName('rest-cam1'));
    assert.ok(p, `${method} find_all lacks rest-cam1: ${r.text}`);
    assert.equal(p.localMediaSessionId, cam1.localMediaSessionId);
    assert.equal(p.uri, env.uri('cam1'));
    assert.ok(['PENDING', 'PLAYING'].includes(p.status), `status ${p.status}`);
  }
  const t0 = Date.now();
  const p = await ferry.waitStatus(byName('rest-cam1'), 'PLAYING', 15000);
  assert.equal(p.localMediaSessionId, cam1.localMediaSessionId);
  t.diagnostic(`PLAYING after ${Date.now() - t0} ms`);
});

test('409 when the same uri is pulled again', { timeout: 10000 }, async () => {
  const r = await ferry.pull({ uri: env.uri('cam1'), localStreamName: 'rest-cam1-again' });
  assertError('repeated uri', r, 409);
  const all = await ferry.findAll();
  assert.equal(all.filter((p) => p.uri === env.uri('cam1')).length, 1, JSON.stringify(all));
  assert.ok(!all.some(byName('rest-cam1-again')), JSON.stringify(all));
});

test('409 when localStreamName is taken', { timeout: 10000 }, async () => {
  const r = await ferry.pull({ uri: env.uri('cam2'), localStreamName: 'rest-cam1' });
  assertError('taken name', r, 409);
  const all = await ferry.findAll();
  assert.ok(!all.some((p) => p.uri === env.uri('cam2')), `a pull of cam2 was created: ${JSON.stringify(all)}`);
});

test('a pull without localStreamName is named by its uri', { timeout: 20000 }, async () => {
  const uri = env.uri('cam2');
  const r = await ferry.pull({ uri });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.localStreamName, uri);
  const p = await ferry.find((x) => x.uri === uri);
  assert.ok(p, 'not in find_all');
  assert.equal(p.localStreamName, uri);
  const t = await ferry.terminate({ uri });
  assert.equal(t.status, 200, t.text);
  await waitGone((x) => x.uri === uri, uri);
});

test('"true"/"false" strings are accepted for booleans', { timeout: 20000 }, async () => {
  const uri = env.uri('cam2');
  const r = await ferry.pull({ uri, localStreamName: 'rest-strings', hasAudio: 'true', hasVideo: 'true', record: 'false' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.hasAudio, true, r.text);
  assert.equal(r.json.hasVideo, true, r.text);
  assert.equal(r.json.record, false, r.text);
  const t = await ferry.terminate({ localStreamName: 'rest-strings' });
  assert.equal(t.status, 200, t.text);
  await waitGone(byName('rest-strings'), 'rest-strings');
});

for (const key of ['uri', 'localMediaSessionId', 'localStreamName']) {
  test(`terminate by ${key} removes the pull`, { timeout: 30000 }, async () => {
    const name = `rest-term-${key}`;
    const r = await ferry.pull({ uri: env.uri('cam2'), localStreamName: name });
    assert.equal(r.status, 200, r.text);
    // Terminate a stream that is really running, not just starting.
    await ferry.waitStatus(byName(name), 'PLAYING', 15000);
    const sel = { uri: r.json.uri, localMediaSessionId: r.json.localMediaSessionId, localStreamName: name }[key];
    const t = await ferry.terminate({ [key]: sel });
    assert.equal(t.status, 200, t.text);
    await waitGone(byName(name), name);
  });
}

test('terminate of something unknown answers 404', { timeout: 10000 }, async () => {
  const cases = [
    { uri: 'rtmp://127.0.0.1:1/live/nobody' },
    { localMediaSessionId: 'no-such-id' },
    { localStreamName: 'no-such-name' },
  ];
  const problems = [];
  for (const body of cases) {
    const p = errorProblem(`terminate ${JSON.stringify(body)}`, await ferry.terminate(body), 404);
    if (p) problems.push(p);
  }
  assert.deepEqual(problems, []);
  await ferry.waitStatus(byName('rest-cam1'), 'PLAYING', 1000);
});

test('bad input gets the right 4xx and a JSON error; the server stays up', { timeout: 30000 }, async () => {
  const uri = 'rtmp://127.0.0.1:1/live/bad';
  const big = JSON.stringify({ uri, localStreamName: 'big', pad: 'x'.repeat(70 * 1024) });
  const cases = [
    ['invalid JSON', 'POST', PULL, '{"uri": "rtmp://127.0.0.1:1/live/x",', 400],
    ['empty body', 'POST', PULL, '', 400],
    ['JSON array root', 'POST', PULL, '[]', 400],
    ['JSON string root', 'POST', PULL, '"rtmp://127.0.0.1:1/live/x"', 400],
    ['uri is a number', 'POST', PULL, { uri: 5 }, 400],
    ['localStreamName is a number', 'POST', PULL, { uri, localStreamName: 7 }, 400],
    ['record is "maybe"', 'POST', PULL, { uri, record: 'maybe' }, 400],
    ['hasAudio is a number', 'POST', PULL, { uri, hasAudio: 1 }, 400],
    ['missing uri', 'POST', PULL, { localStreamName: 'x' }, 400],
    ['empty uri', 'POST', PULL, { uri: '' }, 400],
    ['http:// scheme', 'POST', PULL, { uri: 'http://127.0.0.1:1/live/x' }, 400],
    // json-glib decodes a lone surrogate into non-UTF-8 that find_all then echoed (fuzz-rest-json)
    ['lone surrogate in localStreamName', 'POST', PULL, `{"uri":"${uri}","localStreamName":"cam\\udc00x"}`, 400],
    ['body > 64 KiB', 'POST', PULL, big, 413],
    ['invalid JSON to terminate', 'POST', '/rest-api/pull/rtmp/terminate', '{', 400],
    ['unknown path', 'POST', '/rest-api/pull/rtmp/nope', {}, 404],
    ['unknown top-level path', 'GET', '/rest-api/nope', undefined, 404],
    ['GET on pull', 'GET', PULL, undefined, 405],
    ['GET on terminate', 'GET', '/rest-api/pull/rtmp/terminate', undefined, 405],
  ];
  const problems = [];
  for (const [what, method, path, body, status] of cases) {
    let r;
    try {
      r = await ferry.rest(method, path, body);
    } catch (err) {
      problems.push(`${what}: request failed: ${err.message}`);
      continue;
    }
    const p = errorProblem(what, r, status);
    if (p) problems.push(p);
  }
  assert.ok(ferry.alive(), `Ferry died: ${JSON.stringify(ferry.proc.exitInfo)}`);
  const all = await ferry.findAll();
  const leaked = all.filter((p) => p.uri === uri || p.localStreamName === 'big' || p.uri.startsWith('http'));
  if (leaked.length) problems.push(`rejected pulls appear in find_all: ${JSON.stringify(leaked)}`);
  assert.deepEqual(problems, []);
  const p = all.find(byName('rest-cam1'));
  assert.equal(p && p.status, 'PLAYING', `rest-cam1 after bad input: ${JSON.stringify(p)}`);
});

let deadUri;

test('reconnect = false: a dead origin ends FAILED with info within 15 s', { timeout: 25000 }, async () => {
  deadUri = `rtmp://127.0.0.1:${await freePort()}/live/dead`;
  const r = await ferry.pull({ uri: deadUri });
  assert.equal(r.status, 200, r.text);
  const p = await ferry.waitStatus((x) => x.uri === deadUri, 'FAILED', 15000);
  assert.equal(typeof p.info, 'string', JSON.stringify(p));
  assert.ok(p.info.length > 0, `empty info: ${JSON.stringify(p)}`);
});

test('reconnect = false: an unpublished name on a live origin ends FAILED within 20 s', { timeout: 30000 }, async () => {
  const uri = env.uri('nobody-publishes-this');
  const r = await ferry.pull({ uri, localStreamName: 'rest-unpublished' });
  assert.equal(r.status, 200, r.text);
  const p = await ferry.waitStatus(byName('rest-unpublished'), 'FAILED', 20000);
  assert.ok(typeof p.info === 'string' && p.info.length > 0, `no info: ${JSON.stringify(p)}`);
});

test('409 also while the first pull is still PENDING (same uri, or same name)', { timeout: 20000 }, async () => {
  // Nobody publishes this name: the pull stays PENDING until idle-timeout.
  const uri = env.uri('pending-409');
  const r = await ferry.pull({ uri, localStreamName: 'rest-pending' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.status, 'PENDING', r.text);
  assertError('same uri while PENDING', await ferry.pull({ uri }), 409);
  assertError('same name while PENDING', await ferry.pull({ uri: env.uri('pending-409-b'), localStreamName: 'rest-pending' }), 409);
  assert.equal((await ferry.find(byName('rest-pending'))).status, 'PENDING');
  assert.equal((await ferry.terminate({ localStreamName: 'rest-pending' })).status, 200);
});

test('a source with a video codec other than H.264 (Sorenson Spark) ends FAILED naming the codec', { timeout: 30000 }, async (t) => {
  const pub = await startPublisher(env.uri('sorenson'), { logName: 'ffmpeg-sorenson', videoArgs: ['-c:v', 'flv', '-b:v', '500k'] });
  try {
    const r = await ferry.pull({ uri: env.uri('sorenson'), localStreamName: 'rest-sorenson' });
    assert.equal(r.status, 200, r.text);
    const p = await ferry.waitStatus(byName('rest-sorenson'), 'FAILED', 15000);
    t.diagnostic(`info: ${p.info}`);
    assert.match(p.info, /unsupported video codec: video\/x-flash-video/);
  } finally {
    await pub.stop();
  }
});

test('a FAILED uri can be pulled again', { timeout: 25000 }, async () => {
  assert.ok(deadUri, 'needs the dead-origin test');
  const r = await ferry.pull({ uri: deadUri });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.uri, deadUri);
  assert.ok(['PENDING', 'FAILED'].includes(r.json.status), r.text);
  // It fails again (still nothing listening), within the same bound.
  await ferry.waitStatus((x) => x.uri === deadUri && x.localMediaSessionId === r.json.localMediaSessionId,
    'FAILED', 15000);
});

test('the stream pulled first is still PLAYING', { timeout: 10000 }, async () => {
  const p = await ferry.waitStatus(byName('rest-cam1'), 'PLAYING', 2000);
  assert.equal(p.localMediaSessionId, cam1.localMediaSessionId);
});

test('Ferry exits cleanly on SIGTERM with a clean log', { timeout: 20000 }, async () => {
  assert.deepEqual(await ferry.stopAndCheck(), []);
});

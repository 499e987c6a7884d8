// Authentication (#9): REST bearer tokens and Basic, playback tokens over WCS and WHEP,
// the auto default for non-loopback binds, and no credential in the log.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEnv } from './lib/env.mjs';
import { FERRY_BIN, startFerry } from './lib/ferry.mjs';
import { runCommand } from './lib/proc.mjs';
import { establishedWs } from './lib/wsclient.mjs';
import { chromiumOffer } from './fixtures/offers.mjs';
import { writeConf } from './lib/util.mjs';

const REST_TOKEN = 'rest-Secret-7f3a9c';
const PASSWORD = 'pw-Secret-51b2';
const PLAY_TOKEN = 'play-Secret-c0ffee';
const CONF = `[auth]
rest = on
play = on
rest-tokens = other-token;${REST_TOKEN}
rest-users = admin:${PASSWORD}
play-tokens = ${PLAY_TOKEN}
`;

let env;
let f;
const bearer = (t) => ({ headers: { Authorization: `Bearer ${t}` } });
const basic = (u, p) => ({ headers: { Authorization: `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}` } });

before(async () => {
  env = await startEnv({ publish: ['auth1'], ferry: false });
  // every Ferry category at its most verbose, libsoup's and GLib's debug too: the log
  // check below then covers everything Ferry could say about a request
  f = await startFerry({ extraArgs: ['--config', writeConf(CONF)], env: { GST_DEBUG: 'ferry*:9', G_MESSAGES_DEBUG: 'all' } });
}, { timeout: 60000 });

after(async () => {
  const problems = f ? await f.stopAndCheck() : [];
  if (env) await env.stop();
  assert.deepEqual(problems, []);
});

function assertError(r, status, code, re) {
  assert.equal(r.status, status, r.text);
  assert.equal(r.json?.error, code, r.text);
  assert.match(r.json?.message ?? '', re, r.text);
}

test('REST: 401 without credentials, 403 with wrong ones, 200 with a token or Basic', { timeout: 20000 }, async () => {
  const none = await f.rest('POST', '/rest-api/pull/rtmp/find_all', {});
  assertError(none, 401, 'unauthorized', /needs authentication/);
  assert.match(none.headers['www-authenticate'], /Bearer realm="ferry"/);
  assert.match(none.headers['www-authenticate'], /Basic realm="ferry"/);
  assertError(await f.rest('POST', '/rest-api/pull/rtmp/find_all', {}, bearer('nope')), 403, 'forbidden', /not valid/);
  assertError(await f.rest('POST', '/rest-api/pull/rtmp/find_all', {}, bearer(`${REST_TOKEN}x`)), 403, 'forbidden', /not valid/);
  assertError(await f.rest('POST', '/rest-api/pull/rtmp/find_all', {}, basic('admin', 'wrong')), 403, 'forbidden', /not valid/);
  assertError(await f.rest('POST', '/rest-api/pull/rtmp/find_all', {}, { headers: { Authorization: 'Digest x' } }), 403, 'forbidden', /not valid/);
  assert.equal((await f.rest('POST', '/rest-api/pull/rtmp/find_all', {}, bearer(REST_TOKEN))).status, 200);
  assert.equal((await f.rest('POST', '/rest-api/pull/rtmp/find_all', {}, bearer('other-token'))).status, 200);
  assert.equal((await f.rest('POST', '/rest-api/pull/rtmp/find_all', {}, basic('admin', PASSWORD))).status, 200);
  // a refused pull does nothing
  assertError(await f.rest('POST', '/rest-api/pull/rtmp/pull', { uri: env.uri('auth1'), localStreamName: 'a1' }), 401, 'unauthorized', /REST API/);
  const list = await f.rest('POST', '/rest-api/pull/rtmp/find_all', {}, bearer(REST_TOKEN));
  assert.deepEqual(list.json, []);
  // /metrics, recordings and the debug endpoints are the REST API's too
  assertError(await f.rest('GET', '/metrics'), 401, 'unauthorized', /authentication/);
  assert.equal((await f.rest('GET', '/metrics', undefined, bearer(REST_TOKEN))).status, 200);
  assertError(await f.rest('GET', '/records/x.mp4'), 401, 'unauthorized', /authentication/);
  assertError(await f.rest('GET', '/rest-api/debug/pipeline/a1'), 401, 'unauthorized', /authentication/);
  // open: CORS preflights, the player pages and their config
  assert.equal((await f.rest('OPTIONS', '/rest-api/pull/rtmp/pull', undefined, { headers: { Origin: 'http://x.example' } })).status, 204);
  assert.equal((await f.rest('GET', '/', undefined, { json: false })).status, 200);
  assert.equal((await f.rest('GET', '/config.json')).status, 200);
});

test('playback: WCS needs a play token (connection authToken or custom.token), WHEP a Bearer one', { timeout: 30000 }, async () => {
  const r = await f.rest('POST', '/rest-api/pull/rtmp/pull', { uri: env.uri('auth1'), localStreamName: 'a1' }, bearer(REST_TOKEN));
  assert.equal(r.status, 200, r.text);
  const find = async () => (await f.rest('POST', '/rest-api/pull/rtmp/find_all', {}, bearer(REST_TOKEN))).json;
  for (let i = 0; i < 60 && (await find())[0]?.status !== 'PLAYING'; i++) await new Promise((ok) => setTimeout(ok, 250));
  assert.equal((await find())[0].status, 'PLAYING');
  const statusOf = (ws, id) => ws.next((m) => m.message === 'notifyStreamStatusEvent' && m.data[0].mediaSessionId === id,
    { what: `a status for ${id}` }).then((m) => `${m.data[0].status}:${m.data[0].info}`);
  const answerOf = (ws, id) => ws.next((m) => m.message === 'setRemoteSDP' && m.data[0] === id, { what: `an answer for ${id}` });
  const play = (ws, id, extra = {}) => ws.wcs('playStream', { mediaSessionId: id, name: 'a1', mediaProvider: 'WebRTC', sdp: chromiumOffer(), ...extra });

  const anon = await establishedWs(f.wsUrl);
  try {
    play(anon, 'p1');
    assert.equal(await statusOf(anon, 'p1'), 'FAILED:Unauthorized: a play token is required (authToken or custom.token)');
    play(anon, 'p2', { custom: { token: 'wrong' } });
    assert.equal(await statusOf(anon, 'p2'), 'FAILED:Unauthorized: the play token is not valid');
    // the token in play({custom}) is enough
    play(anon, 'p3', { custom: { token: PLAY_TOKEN } });
    await answerOf(anon, 'p3');
  } finally { anon.close(); await anon.closed; }

  for (const connection of [{ authToken: PLAY_TOKEN }, { custom: { token: PLAY_TOKEN } }]) {
    const ws = await establishedWs(f.wsUrl);
    try {
      ws.wcs('connection', { appKey: 'defaultApp', mediaProviders: ['WebRTC'], clientVersion: '2.0', ...connection });
      await ws.next((m) => m.message === 'getUserData', { from: 1, what: 'the second getUserData' });
      play(ws, 'q1');
      await answerOf(ws, 'q1');
    } finally { ws.close(); await ws.closed; }
  }

  const sdpHeaders = { 'Content-Type': 'application/sdp' };
  const w0 = await f.rest('POST', '/whep/a1', chromiumOffer(), { json: false, headers: sdpHeaders });
  assertError(w0, 401, 'unauthorized', /playback needs authentication/);
  assert.match(w0.headers['www-authenticate'], /^Bearer/);
  assertError(await f.rest('POST', '/whep/a1', chromiumOffer(), { json: false, headers: { ...sdpHeaders, Authorization: `Bearer ${REST_TOKEN}` } }),
    403, 'forbidden', /not valid/);
  const w1 = await f.rest('POST', '/whep/a1', chromiumOffer(), { json: false, headers: { ...sdpHeaders, Authorization: `Bearer ${PLAY_TOKEN}` }, timeout: 10000 });
  assert.equal(w1.status, 201, w1.text);
  assert.equal((await f.rest('DELETE', w1.headers.location)).status, 200);
});

test('no credential appears in the log', { timeout: 5000 }, async () => {
  const log = f.log();
  assert.match(log, /credentials refused/, 'the log is not verbose enough for this check');
  assert.match(log, /play token refused/);
  for (const secret of [REST_TOKEN, PASSWORD, PLAY_TOKEN, Buffer.from(`admin:${PASSWORD}`).toString('base64')]) {
    assert.ok(!log.includes(secret), `the log contains ${secret}`);
  }
});

test('[auth] auto: a non-loopback listen needs credentials; --check-config says which', { timeout: 20000 }, async () => {
  const check = (...args) => runCommand(FERRY_BIN, ['--check-config', ...args], { timeout: 10000 });
  const open = await check('--listen', '0.0.0.0');
  assert.equal(open.code, 1, open.stderr);
  assert.match(open.stderr, /REST API needs authentication.*rest-tokens or rest-users, or \[auth\] rest = off/);
  const restOnly = await check('--listen', '0.0.0.0', '--set', 'auth.rest-tokens=t1');
  assert.equal(restOnly.code, 1, restOnly.stderr);
  assert.match(restOnly.stderr, /playback needs authentication.*play-tokens, or \[auth\] play = off/);
  const ok = await check('--listen', '0.0.0.0', '--set', 'auth.rest-tokens=t1', '--set', 'auth.play=off');
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal((await check()).code, 0, 'loopback needs nothing');
  const bad = await check('--set', 'auth.rest=maybe');
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /\[auth\] rest must be auto, on or off/);
  const user = await check('--set', 'auth.rest-users=nopassword');
  assert.match(user.stderr, /user:password/);
});

// Recording of pulls end to end: files checked with ffprobe against wall time, segment
// rotation, record/start|stop over REST, kill -9 and SIGTERM mid-recording, one-track
// pulls, hostile stream names and download paths, Range downloads, a full and a
// read-only records disk.
//
// One nginx-rtmp stream ("cam") feeds every pull: nginx-rtmp drops the query string of
// a play request, so `cam?n=<x>` are distinct uris for Ferry (one pull per uri) served
// by the same publisher, which keeps the CPU load of the suite low.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { startEnv } from './lib/env.mjs';
import { startFerry } from './lib/ferry.mjs';
import { startPublisher } from './lib/rtmp.mjs';
import { runPeer, startPeer, streamReport } from './lib/peer.mjs';
import { runCommand } from './lib/proc.mjs';
import { launchBrowser, closeBrowser } from './lib/browser.mjs';
import { fatal, freshDir, sleep, waitFor, writeConf } from './lib/util.mjs';

const FFPROBE = '/usr/bin/ffprobe';
const FFMPEG = '/usr/bin/ffmpeg';
const API = '/rest-api';

let env;
let ferry;        // main Ferry: default segments (600 s)
let recordsDir;   // its records dir, alone in its parent dir
let segFerry;     // segment-duration = 3
let segDir;

before(async () => {
  for (const bin of [FFPROBE, FFMPEG]) assert.ok(fs.existsSync(bin), `${bin} is missing`);
  env = await startEnv({ publish: ['cam'], ferry: false });
  recordsDir = path.join(freshDir('records-main'), 'records');
  // reconnect = false: a publisher that stops ends its pull (and recording) at once.
  ferry = await startFerry({ extraArgs: ['--config', writeConf(`[record]\ndir = ${recordsDir}\n[pull]\nreconnect = false\n`)] });
  segDir = path.join(freshDir('records-seg'), 'records');
  segFerry = await startFerry({
    extraArgs: ['--config', writeConf(`[record]\ndir = ${segDir}\nsegment-duration = 3\n`)],
  });
}, { timeout: 60000 });

after(async () => {
  await Promise.allSettled([ferry, segFerry].filter(Boolean).map((f) => f.proc.stop({ graceMs: 10000 })));
  if (env) await env.stop();
});

// ---- helpers ---------------------------------------------------------------------------

let uriSeq = 0;
/** A uri of the one published stream that no other pull uses. */
const camUri = (tag) => `${env.uri('cam')}?n=${tag}-${++uriSeq}`;
const byName = (name) => (p) => p.localStreamName === name;
const rec = (f, what, body) => f.rest('POST', `${API}/pull/rtmp/record/${what}`, body);

async function listRecords(f, method = 'POST') {
  const r = await f.rest(method, `${API}/records/find_all`, method === 'POST' ? {} : undefined);
  assert.equal(r.status, 200, `records/find_all (${method}): HTTP ${r.status} ${r.text.slice(0, 300)}`);
  assert.ok(Array.isArray(r.json), `records/find_all is not an array: ${r.text.slice(0, 300)}`);
  return r.json;
}

const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** The documented file name template for a (sanitized) stream name. */
const fileRe = (stream) => new RegExp(`^${escapeRe(stream)}_\\d{8}-\\d{6}(?:-\\d+)?_(\\d{3})\\.mp4$`);

/** Files of `stream` in `dir`, sorted by name (= by start, then segment). */
function filesOf(dir, stream) {
  const re = fileRe(stream);
  return fs.readdirSync(dir).filter((n) => re.test(n)).sort();
}

/** Pulls with record:true and waits until the recording opened its first file. */
async function pullRecording(f, name, extra = {}) {
  const r = await f.pull({ uri: camUri(name), localStreamName: name, record: true, ...extra });
  assert.equal(r.status, 200, `pull ${name}: ${r.text}`);
  assert.equal(r.json.record, true, r.text);
  return watchRecording(f, name);
}

/**
 * Polls find_all every 50 ms until `name` writes a file. Returns {attach, open, pull}:
 * attach = when recordStatus RECORDING was first seen (the recorder hangs on the tees;
 * audio flows into it from then), open = when recordName was first seen (the muxer
 * opened the first file, at the first video keyframe).
 */
async function watchRecording(f, name, timeout = 20000) {
  let attach = null;
  const pull = await waitFor(`${name} to write a file`, async () => {
    if (!f.alive()) throw fatal(`Ferry exited: ${JSON.stringify(f.proc.exitInfo)}`);
    const p = await f.find(byName(name));
    if (p && p.recordStatus === 'RECORDING' && attach === null) attach = Date.now();
    if (p && p.recordStatus === 'FAILED') throw fatal(`recording FAILED: ${JSON.stringify(p)}`);
    if (p && p.recordName) return p;
    throw new Error(JSON.stringify(p));
  }, { timeout, interval: 50 });
  const open = Date.now();
  return { attach: attach ?? open, open, pull };
}

async function waitRecordStatus(f, name, status, timeout = 10000) {
  return waitFor(`${name} recordStatus ${status}`, async () => {
    if (!f.alive()) throw fatal(`Ferry exited: ${JSON.stringify(f.proc.exitInfo)}`);
    const p = await f.find(byName(name));
    if (p && p.recordStatus === status) return p;
    throw new Error(JSON.stringify(p));
  }, { timeout, interval: 100 });
}

/** ffprobe of one file: {code, stderr, duration, video, audio, codecs}. */
async function probe(file) {
  const r = await runCommand(FFPROBE, ['-v', 'error', '-show_entries',
    'stream=codec_type,codec_name,start_time,duration:format=duration', '-of', 'json', file],
  { timeout: 20000 });
  let j = null;
  try { j = JSON.parse(r.stdout); } catch { /* reported below */ }
  const streams = (j && j.streams) || [];
  const track = (type) => {
    const s = streams.find((x) => x.codec_type === type);
    if (!s) return null;
    const start = Number(s.start_time) || 0;
    const duration = Number(s.duration);
    return { codec: s.codec_name, start, duration, end: start + duration };
  };
  return {
    file: path.basename(file),
    code: r.code,
    stderr: r.stderr.trim(),
    duration: Number(j?.format?.duration),
    video: track('video'),
    audio: track('audio'),
    codecs: streams.map((s) => `${s.codec_type}:${s.codec_name}`).sort(),
  };
}

function assertPlayable(p, codecs = ['audio:aac', 'video:h264']) {
  const what = `${p.file}: ${JSON.stringify(p)}`;
  assert.equal(p.code, 0, `ffprobe failed on ${what}`);
  assert.deepEqual(p.codecs, codecs, `tracks of ${what}`);
  assert.ok(p.duration > 0, `no duration in ${what}`);
}

/** Decodes every frame of `file`; returns ffmpeg's error output (empty when clean). */
async function decodeErrors(file) {
  const r = await runCommand(FFMPEG, ['-nostdin', '-v', 'error', '-i', file, '-map', '0', '-f', 'null', '-'],
    { timeout: 30000 });
  return r.code === 0 ? r.stderr.trim() : `exit ${r.code}: ${r.stderr.trim()}`;
}

const sum = (xs) => xs.reduce((a, b) => a + b, 0);
const within = (value, ref, frac) => Math.abs(value - ref) <= ref * frac;

/** A request sent exactly as written (no URL normalisation); the body as a Buffer. */
function rawRequest(port, rawPath, { method = 'GET', headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: rawPath, method, headers, timeout: 5000 }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${rawPath}: no answer within 5 s`)));
    req.on('error', reject);
    req.end();
  });
}

const playedMedia = (s) => (s.statuses || []).some((x) => x.status === 'PLAYING')
  && s.videoFrames > 0 && s.audioSamples > 0;

/** Whether this process runs in run.sh's namespaces (only lo; unshare --mount-proc gives
 * a private mount namespace too), where a tmpfs mount stays private to the run. */
function inPrivateNamespace() {
  try {
    const ifaces = fs.readFileSync('/proc/net/dev', 'utf8').split('\n').slice(2)
      .map((l) => l.split(':')[0].trim()).filter(Boolean);
    return ifaces.length === 1 && ifaces[0] === 'lo';
  } catch { return false; }
}

// ---- tests ---------------------------------------------------------------------------

let mainFiles = []; // files of the first recording (for the download test)
const syncChecked = []; // probes whose A/V alignment the sync test checks

test('record:true records ~8 s: h264+aac, duration matches wall time, listed complete, viewers still play', { timeout: 60000 }, async (t) => {
  const name = 'rec1';
  const { attach, open } = await pullRecording(ferry, name);
  const peer = startPeer({ url: ferry.wsUrl, names: [name], seconds: 5 });
  await sleep(open + 8000 - Date.now());
  const stopAt = Date.now();
  const r = await rec(ferry, 'stop', { localStreamName: name });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.record, false, r.text);
  assert.ok(['STOPPING', 'STOPPED'].includes(r.json.recordStatus), r.text);
  const stopped = await waitRecordStatus(ferry, name, 'STOPPED');
  assert.equal(stopped.status, 'PLAYING', 'the pull must keep playing after record/stop');

  const s = streamReport(await peer.result, name);
  assert.ok(playedMedia(s), `the viewer during the recording did not play: ${JSON.stringify(s)}`);

  const files = filesOf(recordsDir, name);
  assert.ok(files.length >= 1, `no file for ${name} in ${fs.readdirSync(recordsDir)}`);
  assert.ok(files.every((f, i) => fileRe(name).exec(f)[1] === String(i).padStart(3, '0')), `segments: ${files}`);
  const probes = [];
  for (const f of files) probes.push(await probe(path.join(recordsDir, f)));
  for (const p of probes) assertPlayable(p);
  syncChecked.push(...probes);
  mainFiles = files;

  // Reference: the video track starts at the first keyframe, when recordName appears;
  // audio may start earlier, when the recorder was attached (a stream's GOP is 2 s).
  const wallVideo = (stopAt - open) / 1000;
  const wallMax = (stopAt - attach) / 1000;
  const video = sum(probes.map((p) => p.video.duration));
  const audio = sum(probes.map((p) => p.audio.duration));
  const total = sum(probes.map((p) => p.duration));
  t.diagnostic(`wall: ${wallVideo.toFixed(2)} s from recordName (${wallMax.toFixed(2)} s from attach); `
    + `ffprobe: video ${video.toFixed(2)} s, audio ${audio.toFixed(2)} s, format ${total.toFixed(2)} s in ${files.length} file(s)`);
  assert.ok(within(video, wallVideo, 0.1), `video ${video} s vs ${wallVideo} s of wall time`);
  assert.ok(audio >= wallVideo * 0.9 && audio <= wallMax * 1.1, `audio ${audio} s vs ${wallVideo}..${wallMax} s of wall time`);
  assert.ok(total >= wallVideo * 0.9 && total <= wallMax * 1.1, `format ${total} s vs ${wallVideo}..${wallMax} s of wall time`);

  // The list (GET and POST) matches the disk.
  for (const method of ['GET', 'POST']) {
    const listed = (await listRecords(ferry, method)).filter((e) => e.stream === name);
    assert.deepEqual(listed.map((e) => e.name), files, `listed (${method}) vs on disk`);
    for (const [i, e] of listed.entries()) {
      assert.equal(e.size, fs.statSync(path.join(recordsDir, e.name)).size, `size of ${e.name}`);
      assert.equal(e.complete, true, `not complete: ${JSON.stringify(e)}`);
      assert.equal(e.segment, i);
      assert.equal(e.url, `/records/${e.name}`);
      assert.match(e.start, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      assert.ok(Math.abs(Date.parse(e.start) - attach) < 5000, `start ${e.start} vs ${new Date(attach).toISOString()}`);
      assert.deepEqual(e.tracks, [{ type: 'video', codec: 'avc1' }, { type: 'audio', codec: 'mp4a' }]);
      assert.ok(Math.abs(e.duration - probes[i].duration) < 0.2, `listed duration ${e.duration} vs ffprobe ${probes[i].duration}`);
    }
  }
});

test('segment-duration = 3: ~10 s give ≥ 3 consecutive segments, each playable with both tracks', { timeout: 60000 }, async (t) => {
  const name = 'rot';
  const { attach, open } = await pullRecording(segFerry, name);
  await sleep(open + 10000 - Date.now());
  const stopAt = Date.now();
  assert.equal((await rec(segFerry, 'stop', { localStreamName: name })).status, 200);
  await waitRecordStatus(segFerry, name, 'STOPPED');

  const files = filesOf(segDir, name);
  const probes = [];
  for (const f of files) probes.push(await probe(path.join(segDir, f)));
  t.diagnostic(`${files.length} segments: ${probes.map((p) => p.duration.toFixed(2)).join(' + ')} s `
    + `for ${((stopAt - open) / 1000).toFixed(2)} s from recordName, ${((stopAt - attach) / 1000).toFixed(2)} s from attach`);
  assert.ok(files.length >= 3, `only ${files.length} segment(s): ${files}`);
  const bases = new Set(files.map((f) => f.replace(/_\d{3}\.mp4$/, '')));
  assert.equal(bases.size, 1, `one recording, one base name: ${files}`);
  files.forEach((f, i) => assert.equal(fileRe(name).exec(f)[1], String(i).padStart(3, '0'), `segment numbers: ${files}`));
  for (const p of probes) assertPlayable(p);
  // Rotation happens at keyframes (2 s GOP): no segment but the last is much shorter or
  // longer than the segment duration allows.
  for (const p of probes.slice(0, -1)) assert.ok(p.video.duration >= 1.5 && p.video.duration <= 4.5, JSON.stringify(p));
  const video = sum(probes.map((p) => p.video.duration));
  assert.ok(within(video, (stopAt - open) / 1000, 0.1), `video ${video} s vs ${(stopAt - open) / 1000} s of wall time`);
  const listed = (await listRecords(segFerry)).filter((e) => e.stream === name);
  assert.deepEqual(listed.map((e) => e.name), files);
  assert.ok(listed.every((e) => e.complete === true), JSON.stringify(listed));
  syncChecked.push(...probes);
});

test('audio and video stay in sync: in every file both tracks end together', { timeout: 10000 }, async () => {
  // A segment ends at a video keyframe (rotation) or at the EOS of record/stop, which
  // reaches both tracks at once: on a common timeline the tracks end within a few frames.
  assert.ok(syncChecked.length > 0, 'no files from the previous tests');
  const bad = syncChecked.filter((p) => Math.abs(p.video.end - p.audio.end) > 0.3)
    .map((p) => `${p.file}: video ${p.video.start.toFixed(3)}..${p.video.end.toFixed(3)} s, `
      + `audio ${p.audio.start.toFixed(3)}..${p.audio.end.toFixed(3)} s`);
  assert.deepEqual(bad, [], 'tracks out of sync (in a first segment, audio recorded before the first video '
    + 'keyframe starts at the same time 0 as that keyframe):\n' + bad.join('\n'));
});

test('record/start on a running pull, terminate finalises; 409 and 404 answers', { timeout: 60000 }, async (t) => {
  const name = 'later';
  await ferry.pullPlaying(camUri(name), name);
  const idle = 'idle';
  await ferry.pullPlaying(camUri(idle), idle);

  let r = await rec(ferry, 'start', { localStreamName: name });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.record, true);
  assert.equal(r.json.recordStatus, 'RECORDING', r.text);
  r = await rec(ferry, 'start', { localStreamName: name });
  assert.equal(r.status, 409, r.text);
  assert.equal(r.json?.error, 'conflict', r.text);
  r = await rec(ferry, 'stop', { localStreamName: idle });
  assert.equal(r.status, 409, `record/stop of a pull never recorded: ${r.text}`);
  assert.equal(r.json?.error, 'conflict', r.text);
  for (const body of [{ localStreamName: 'no-such-pull' }, { uri: `${env.uri('cam')}?n=none` },
    { localMediaSessionId: 'no-such-id' }]) {
    for (const what of ['start', 'stop']) {
      r = await rec(ferry, what, body);
      assert.equal(r.status, 404, `record/${what} ${JSON.stringify(body)}: ${r.text}`);
      assert.equal(r.json?.error, 'not_found', r.text);
    }
  }
  r = await rec(ferry, 'start', {});
  assert.equal(r.status, 400, `record/start without a pull: ${r.text}`);

  // A second stream whose publisher stops while it records: the file must be finalised too.
  const pub = await startPublisher(env.uri('short'), { logName: 'ffmpeg-short' });
  try {
    r = await ferry.pull({ uri: env.uri('short'), localStreamName: 'short', record: true });
    assert.equal(r.status, 200, r.text);
    const opens = await Promise.all([watchRecording(ferry, name), watchRecording(ferry, 'short')]);
    await sleep(Math.max(...opens.map((w) => w.open)) + 3000 - Date.now());
    const term = await ferry.terminate({ localStreamName: name });
    assert.equal(term.status, 200, term.text);
    await pub.stop();
  } finally {
    await pub.stop();
  }
  const ended = await ferry.waitStatus(byName('short'), 'STOPPED', 10000);
  r = await rec(ferry, 'start', { localStreamName: 'short' });
  assert.equal(r.status, 409, `record/start on an ended pull: ${r.text}`);
  r = await rec(ferry, 'start', { localStreamName: name });
  assert.equal(r.status, 404, `record/start on a terminated pull: ${r.text}`);

  for (const stream of [name, 'short']) {
    const entries = await waitFor(`${stream}'s file listed complete`, async () => {
      const l = (await listRecords(ferry)).filter((e) => e.stream === stream);
      return l.length > 0 && l.every((e) => e.complete) && l;
    }, { timeout: 10000, interval: 250 });
    assert.deepEqual(entries.map((e) => e.name), filesOf(recordsDir, stream));
    for (const e of entries) {
      const p = await probe(path.join(recordsDir, e.name));
      assertPlayable(p);
      t.diagnostic(`${stream}: ${e.name} ${p.duration.toFixed(2)} s`);
      assert.ok(p.video.duration > 2, `${stream} recorded ~3 s: ${JSON.stringify(p)}`);
    }
  }
  const last = await ferry.find(byName('short'));
  assert.equal(last.recordStatus, 'STOPPED', `after the publisher stopped: ${JSON.stringify(last)}`);
  assert.equal(ended.status, 'STOPPED');
  assert.equal((await ferry.terminate({ localStreamName: idle })).status, 200);
});

test('kill -9 mid-recording: every file plays, a new Ferry lists them', { timeout: 60000 }, async (t) => {
  const name = 'killed';
  const { open } = await pullRecording(segFerry, name);
  await sleep(open + 7000 - Date.now());
  const killAt = Date.now();
  const res = await segFerry.proc.stop({ signal: 'SIGKILL', graceMs: 5000 });
  assert.equal(res.signal, 'SIGKILL', JSON.stringify(res));

  const files = filesOf(segDir, name);
  assert.ok(files.length >= 2, `segment-duration 3 and 7 s: expected ≥ 2 files, got ${files}`);
  const probes = [];
  for (const f of files) probes.push(await probe(path.join(segDir, f)));
  for (const p of probes) assertPlayable(p);
  // Closed segments are whole GOPs and decode without an error.
  for (const [i, p] of probes.slice(0, -1).entries()) {
    assert.ok(p.video.duration >= 1.5, `closed segment: ${JSON.stringify(p)}`);
    assert.equal(await decodeErrors(path.join(segDir, files[i])), '', `decoding closed segment ${files[i]}`);
  }
  const cut = probes[probes.length - 1];
  assert.ok(cut.video.duration > 0 && cut.audio.duration > 0, `cut segment: ${JSON.stringify(cut)}`);
  const cutErrors = await decodeErrors(path.join(segDir, files[files.length - 1]));
  const wall = (killAt - open) / 1000;
  const video = sum(probes.map((p) => p.video.duration));
  t.diagnostic(`killed ${wall.toFixed(2)} s after recordName: ${files.length} files, ffprobe `
    + `${probes.map((p) => p.video.duration.toFixed(2)).join(' + ')} s of video (${(wall - video).toFixed(2)} s lost)`
    + `${cutErrors ? `; decoding the cut file: ${cutErrors.split('\n')[0]}` : ''}`);

  // A new Ferry on the same dir: the list survives the truncated file.
  const again = await startFerry({
    extraArgs: ['--config', writeConf(`[record]\ndir = ${segDir}\nsegment-duration = 3\n`)],
  });
  try {
    const listed = (await listRecords(again)).filter((e) => e.stream === name);
    assert.deepEqual(listed.map((e) => e.name), files);
    for (const [i, e] of listed.entries()) {
      assert.equal(e.size, fs.statSync(path.join(segDir, e.name)).size);
      assert.equal(e.tracks.length, 2, JSON.stringify(e));
      if (i < listed.length - 1) assert.equal(e.complete, true, `closed segment: ${JSON.stringify(e)}`);
    }
    for (const [i, e] of listed.slice(0, -1).entries()) {
      assert.ok(Math.abs(e.duration - probes[i].duration) < 0.2, `listed ${e.duration} s vs ffprobe ${probes[i].duration} s`);
    }
    // Video kept: the closed segments' video (ffprobe) and the cut one's playable part
    // as listed (complete fragments only; the list gives no per-track duration).
    const playable = sum(probes.slice(0, -1).map((p) => p.video.duration)) + listed[listed.length - 1].duration;
    t.diagnostic(`playable video ${playable.toFixed(2)} s (${(wall - playable).toFixed(2)} s lost); `
      + `cut file listed: ${JSON.stringify(listed[listed.length - 1])}`);
    // The cut segment plays up to its last complete fragment: the muxer finished one
    // (1 s fragments) well before the kill, so it must be on disk whole.
    assert.ok(listed[listed.length - 1].duration > 0,
      `the cut segment has no complete fragment (the last fragment written was not flushed to disk): ${JSON.stringify(listed[listed.length - 1])}`);
    // Lost at most the GOP splitmuxsink holds before writing (2 s) + one fragment (1 s).
    assert.ok(wall - playable <= 3.5, `lost ${wall - playable} s of ${wall} s`);
    // "complete" means finalised by a clean stop (mfra written at EOS): a file cut by a
    // kill never is, even when the kill fell between two whole fragments.
    assert.notEqual(listed[listed.length - 1].complete, true,
      `the file cut by kill -9 is listed as complete: ${JSON.stringify(listed[listed.length - 1])}`);
    // The files of the previous test are still listed complete.
    assert.ok((await listRecords(again)).filter((e) => e.stream === 'rot').every((e) => e.complete));
    const r = await rawRequest(again.restPort, `/records/${files[files.length - 1]}`);
    assert.equal(r.status, 200);
    assert.ok(r.body.equals(fs.readFileSync(path.join(segDir, files[files.length - 1]))), 'download of the cut file');
  } finally {
    assert.deepEqual(await again.stopAndCheck(), []);
  }
});

const AUDIO_ONLY = { codecs: ['audio:aac'], tracks: [{ type: 'audio', codec: 'mp4a' }], has: { hasAudio: true, hasVideo: false } };
const VIDEO_ONLY = { codecs: ['video:h264'], tracks: [{ type: 'video', codec: 'avc1' }], has: { hasAudio: false, hasVideo: true } };

/**
 * Pulls every case ({name, body, codecs, tracks, has}) with record:true, records ~3 s,
 * stops, and checks the one file of each: only the expected track, clean decode, listed
 * with its tracks and complete; find_all said which tracks the pull has.
 */
async function recordOneTrack(t, cases) {
  for (const c of cases) {
    const r = await ferry.pull({ ...c.body, localStreamName: c.name, record: true });
    assert.equal(r.status, 200, `pull ${c.name}: ${r.text}`);
  }
  const watched = await Promise.all(cases.map((c) => watchRecording(ferry, c.name)));
  await sleep(Math.max(...watched.map((w) => w.open)) + 3000 - Date.now());
  for (const c of cases) {
    const p = await ferry.find(byName(c.name));
    assert.deepEqual({ hasAudio: p.hasAudio, hasVideo: p.hasVideo }, c.has, JSON.stringify(p));
    assert.equal((await rec(ferry, 'stop', { localStreamName: c.name })).status, 200);
  }
  for (const c of cases) await waitRecordStatus(ferry, c.name, 'STOPPED');
  const list = await listRecords(ferry);
  for (const c of cases) {
    const files = filesOf(recordsDir, c.name);
    assert.equal(files.length, 1, `${c.name}: ${files}`);
    const file = path.join(recordsDir, files[0]);
    const p = await probe(file);
    t.diagnostic(`${c.name}: ${p.codecs.join(', ')}, ${p.duration.toFixed(2)} s`);
    assertPlayable(p, c.codecs);
    assert.ok(p.duration > 2.5, `${c.name}: ${JSON.stringify(p)}`);
    assert.equal(await decodeErrors(file), '', `${c.name} decodes cleanly`);
    const e = list.find((x) => x.name === files[0]);
    assert.ok(e, `${files[0]} not listed`);
    assert.deepEqual(e.tracks, c.tracks);
    assert.equal(e.complete, true);
    assert.equal((await ferry.terminate({ localStreamName: c.name })).status, 200);
  }
}

test('hasVideo:false records only AAC, hasAudio:false only H.264', { timeout: 40000 }, async (t) => {
  await recordOneTrack(t, [
    { name: 'audio-only', body: { uri: camUri('audio-only'), hasVideo: false }, ...AUDIO_ONLY },
    { name: 'video-only', body: { uri: camUri('video-only'), hasAudio: false }, ...VIDEO_ONLY },
  ]);
});

test('real audio-only and video-only sources record what they have', { timeout: 60000 }, async (t) => {
  // Publishers without a video (or an audio) track at all, not pulls that leave one out.
  const pubs = await Promise.all([
    startPublisher(env.uri('aonly'), { logName: 'ffmpeg-aonly', video: false }),
    startPublisher(env.uri('vonly'), { logName: 'ffmpeg-vonly', audio: false }),
  ]);
  try {
    await recordOneTrack(t, [
      { name: 'src-aonly', body: { uri: env.uri('aonly') }, ...AUDIO_ONLY },
      { name: 'src-vonly', body: { uri: env.uri('vonly') }, ...VIDEO_ONLY },
    ]);
  } finally {
    await Promise.allSettled(pubs.map((p) => p.stop()));
  }
});

test('segment-size-mb = 1: a ~8 Mbit/s source rotates by size, every segment playable', { timeout: 60000 }, async (t) => {
  const dir = path.join(freshDir('records-size'), 'records');
  const f = await startFerry({ extraArgs: ['--config', writeConf(`[record]\ndir = ${dir}\nsegment-duration = 600\nsegment-size-mb = 1\n`)] });
  // Constant 8 Mbit/s (filler NALs): about 1 MiB a second, a 2 s GOP of about 2 MiB.
  const pub = await startPublisher(env.uri('big'), {
    logName: 'ffmpeg-big',
    videoArgs: ['-b:v', '8M', '-minrate', '8M', '-maxrate', '8M', '-bufsize', '2M', '-x264-params', 'nal-hrd=cbr'],
  });
  try {
    assert.equal((await f.pull({ uri: env.uri('big'), localStreamName: 'big', record: true })).status, 200);
    const { open } = await watchRecording(f, 'big');
    await sleep(open + 9000 - Date.now());
    assert.equal((await rec(f, 'stop', { localStreamName: 'big' })).status, 200);
    await waitRecordStatus(f, 'big', 'STOPPED');
    const files = filesOf(dir, 'big');
    const sizes = files.map((n) => fs.statSync(path.join(dir, n)).size);
    t.diagnostic(`${files.length} segments: ${sizes.map((b) => (b / 1048576).toFixed(2)).join(', ')} MiB`);
    assert.ok(files.length >= 3, `size rotation: ${files}`);
    assert.ok(files.every((n, i) => fileRe('big').exec(n)[1] === String(i).padStart(3, '0')), `segments: ${files}`);
    // A segment ends at the keyframe where it would pass 1 MiB, so none holds more than
    // about one GOP past the limit.
    for (const [i, b] of sizes.entries()) assert.ok(b < 4 * 1048576, `segment ${i}: ${b} bytes`);
    let total = 0;
    for (const n of files) {
      const p = await probe(path.join(dir, n));
      assertPlayable(p);
      total += p.video.duration;
    }
    assert.ok(total > 6, `${total} s of video in all segments`);
  } finally {
    await pub.stop();
    assert.deepEqual(await f.stopAndCheck(), []);
  }
});

test('hostile stream names record inside the records dir only, with sanitized names', { timeout: 40000 }, async (t) => {
  const long = `long${'x'.repeat(296)}`;
  const cases = [
    { name: '../../etc/x', expect: 'etc_x' },
    { name: '/abs/path', expect: 'abs_path' },
    { name: long, expect: long.slice(0, 64) },
    { name: 'камера ✓', expect: null },
    { name: 'cam%00../../x', expect: null },
  ];
  const parent = path.dirname(recordsDir);
  const before = new Set(fs.readdirSync(recordsDir));
  for (const c of cases) {
    const r = await ferry.pull({ uri: camUri('odd'), localStreamName: c.name, record: true });
    assert.equal(r.status, 200, `${JSON.stringify(c.name)}: ${r.text}`);
  }
  // A real NUL in the name: refused, or cut/replaced; either way nothing escapes the dir.
  const nul = await ferry.pull({ uri: camUri('nul'), localStreamName: 'nul\u0000/../../y', record: true });
  t.diagnostic(`name with a NUL: HTTP ${nul.status} ${nul.text.slice(0, 200)}`);
  const nulName = nul.status === 200 ? nul.json.localStreamName : null;
  const names = [...cases.map((c) => c.name), ...(nulName !== null ? [nulName] : [])];
  const pulls = await waitFor('every odd name to write a file', async () => {
    const all = await ferry.findAll();
    const ps = names.map((n) => all.find(byName(n)));
    const failed = ps.find((p) => p && p.recordStatus === 'FAILED');
    if (failed) throw fatal(`recording FAILED: ${JSON.stringify(failed)}`);
    return ps.every((p) => p && p.recordName) && ps;
  }, { timeout: 20000, interval: 200 });
  await sleep(1500);
  for (const n of names) assert.equal((await rec(ferry, 'stop', { localStreamName: n })).status, 200);
  for (const n of names) await waitRecordStatus(ferry, n, 'STOPPED');

  const added = fs.readdirSync(recordsDir).filter((f) => !before.has(f));
  t.diagnostic(`files: ${added.join(' ')}`);
  assert.deepEqual(fs.readdirSync(parent), ['records'], 'something was written next to the records dir');
  assert.equal(added.length, names.length, `one file per pull: ${added}`);
  for (const f of added) {
    assert.ok(fs.lstatSync(path.join(recordsDir, f)).isFile(), `${f} is not a regular file`);
    assert.match(f, /^[A-Za-z0-9-][A-Za-z0-9._-]*_\d{8}-\d{6}(?:-\d+)?_\d{3}\.mp4$/);
    assert.ok(f.replace(/_\d{8}-\d{6}(?:-\d+)?_\d{3}\.mp4$/, '').length <= 64, `base longer than 64: ${f}`);
  }
  for (const [i, c] of cases.entries()) {
    const file = pulls[i].recordName;
    assert.ok(added.includes(file), `${JSON.stringify(c.name)} → recordName ${file} not in ${added}`);
    if (c.expect) assert.match(file, fileRe(c.expect), `${JSON.stringify(c.name)} → ${file}`);
  }
  // Nothing named like a recording anywhere a traversal could have led.
  for (const d of ['/', '/etc', '/abs', path.dirname(parent), process.cwd(), path.resolve('..'), path.resolve('..', '..')]) {
    if (!fs.existsSync(d)) continue;
    const stray = fs.readdirSync(d).filter((f) => /_\d{8}-\d{6}(?:-\d+)?_\d{3}\.mp4$/.test(f));
    assert.deepEqual(stray, [], `recordings written in ${d}`);
  }
  assert.ok(!fs.existsSync('/abs/path'), '/abs/path exists');
  for (const n of names) assert.equal((await ferry.terminate({ localStreamName: n })).status, 200);
});

test('/records/<name>: traversal, hidden, non-mp4 and symlinked names are refused', { timeout: 20000 }, async () => {
  // Bait: files Ferry must never serve.
  fs.writeFileSync(path.join(recordsDir, '.hidden.mp4'), 'hidden');
  fs.writeFileSync(path.join(recordsDir, 'x.txt'), 'text');
  fs.symlinkSync('/etc/passwd', path.join(recordsDir, 'link.mp4'));
  const secret = fs.readFileSync('/etc/passwd');
  const paths = [
    '/records/..%2F..%2Fetc%2Fpasswd', '/records/%2Fetc%2Fpasswd', '/records/../../etc/passwd',
    '/records/..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd', '/records/%2e%2e/%2e%2e/etc/passwd',
    '/records/.hidden.mp4', '/records/x.txt', '/records/link.mp4', '/records/nope_20260101-000000_000.mp4',
    '/records/', '/records', '/records/%00.mp4', `/records/${encodeURIComponent(recordsDir)}`,
  ];
  for (const p of paths) {
    const r = await rawRequest(ferry.restPort, p);
    assert.ok(r.status === 404 || r.status === 400, `GET ${p}: HTTP ${r.status} ${r.body.toString().slice(0, 200)}`);
    assert.ok(!r.body.includes(secret.subarray(0, 20)), `GET ${p} returned /etc/passwd`);
    assert.ok(!/hidden|^text$/.test(r.body.toString()), `GET ${p} returned a bait file`);
    if (r.status === 404 && p.startsWith('/records/')) {
      assert.match(String(r.headers['content-type']), /json/, `GET ${p}: ${r.body}`);
      assert.equal(typeof JSON.parse(r.body.toString()).error, 'string', `GET ${p}: ${r.body}`);
    }
  }
  const names = (await listRecords(ferry)).map((e) => e.name);
  for (const bait of ['.hidden.mp4', 'x.txt', 'link.mp4']) assert.ok(!names.includes(bait), `${bait} is listed`);
  for (const bait of ['.hidden.mp4', 'x.txt', 'link.mp4']) fs.rmSync(path.join(recordsDir, bait));
});

test('download: full GET is byte-identical, Range gives 206 with the right bytes', { timeout: 20000 }, async () => {
  const name = mainFiles[0] || (await listRecords(ferry)).find((e) => e.complete)?.name;
  assert.ok(name, 'no recording to download');
  const disk = fs.readFileSync(path.join(recordsDir, name));
  const full = await rawRequest(ferry.restPort, `/records/${name}`);
  assert.equal(full.status, 200);
  assert.equal(full.headers['content-type'], 'video/mp4');
  assert.equal(full.headers['accept-ranges'], 'bytes');
  assert.equal(Number(full.headers['content-length']), disk.length);
  assert.ok(full.body.equals(disk), `full download differs (${full.body.length} vs ${disk.length} bytes)`);

  const part = await rawRequest(ferry.restPort, `/records/${name}`, { headers: { Range: 'bytes=100-199' } });
  assert.equal(part.status, 206);
  assert.equal(part.headers['content-range'], `bytes 100-199/${disk.length}`);
  assert.equal(part.body.length, 100);
  assert.ok(part.body.equals(disk.subarray(100, 200)), 'Range 100-199 differs from the file');
  const tail = await rawRequest(ferry.restPort, `/records/${name}`, { headers: { Range: 'bytes=-10' } });
  assert.equal(tail.status, 206);
  assert.ok(tail.body.equals(disk.subarray(disk.length - 10)), 'suffix Range differs from the file');
  const head = await rawRequest(ferry.restPort, `/records/${name}`, { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(Number(head.headers['content-length']), disk.length);
  const post = await rawRequest(ferry.restPort, `/records/${name}`, { method: 'POST' });
  assert.equal(post.status, 405);
});

test('Chromium <video> plays a recording and seeks in it', { timeout: 60000 }, async (t) => {
  const name = mainFiles[0] || (await listRecords(ferry)).find((e) => e.complete)?.name;
  assert.ok(name, 'no recording to play');
  const p = await probe(path.join(recordsDir, name));
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage();
    // Range answers themselves are checked byte by byte in the download test; for a file
    // this small Chromium asks only `bytes=0-` and seeks in what it buffered.
    const ranges = [];
    page.on('request', (r) => { if (r.url().includes('/records/')) ranges.push(r.headers().range || null); });
    await page.goto(`${ferry.base}/`, { waitUntil: 'commit' });
    const res = await page.evaluate(async (src) => {
      const v = document.createElement('video');
      v.muted = true;
      document.body.appendChild(v);
      const once = (ev) => new Promise((resolve, reject) => {
        v.addEventListener(ev, resolve, { once: true });
        v.addEventListener('error', () => reject(new Error(`media error ${v.error && v.error.code}: ${v.error && v.error.message}`)), { once: true });
      });
      const meta = once('loadedmetadata');
      v.src = src;
      await meta;
      const duration = v.duration;
      const target = duration * 0.6;
      const seeked = once('seeked');
      v.currentTime = target;
      await seeked;
      // A frame at the new position is decoded once readyState reaches HAVE_CURRENT_DATA.
      const t0 = performance.now();
      while (v.readyState < 2 && performance.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 50));
      const played = once('timeupdate');
      await v.play();
      await played;
      return { duration, target, at: v.currentTime, readyState: v.readyState,
        width: v.videoWidth, height: v.videoHeight };
    }, `/records/${encodeURIComponent(name)}`);
    t.diagnostic(`${name}: ${JSON.stringify(res)}; ffprobe ${p.duration.toFixed(2)} s; Range headers ${JSON.stringify(ranges)}`);
    assert.ok(Math.abs(res.duration - p.duration) < 0.5, `duration ${res.duration} vs ffprobe ${p.duration}`);
    assert.ok(res.at >= res.target - 0.5 && res.at <= res.target + 2, `at ${res.at} after seeking to ${res.target}`);
    assert.ok(res.readyState >= 2, `no frame after the seek: ${JSON.stringify(res)}`);
    assert.deepEqual([res.width, res.height], [640, 360]);
    assert.deepEqual(browser.pageErrors, []);
  } finally {
    await closeBrowser(browser);
  }
});

test('full or read-only records disk: recording FAILED with a reason, the stream plays on', { timeout: 90000 }, async (t) => {
  const privateNs = inPrivateNamespace();
  const base = freshDir('records-full');
  const dir = path.join(base, 'mnt');
  let mounted = false;
  let f;
  try {
    if (privateNs) {
      fs.mkdirSync(dir);
      const m = await runCommand('mount', ['-t', 'tmpfs', '-o', 'size=300k,mode=0755', 'ferry-e2e-full', dir]);
      assert.equal(m.code, 0, `mount tmpfs: ${m.stderr}`);
      mounted = true;
    } else {
      // Outside run.sh's namespaces: no mount. A path under a regular file cannot be created.
      t.diagnostic('not in a private mount namespace: only the "cannot create the dir" case');
      fs.writeFileSync(path.join(base, 'file'), '');
    }
    const recDir = privateNs ? dir : path.join(base, 'file', 'records');
    f = await startFerry({ extraArgs: ['--config', writeConf(`[record]\ndir = ${recDir}\n`)] });
    const name = 'full';
    const r = await f.pull({ uri: camUri(name), localStreamName: name, record: true });
    assert.equal(r.status, 200, r.text);
    const failed = await waitRecordStatus(f, name, 'FAILED', 20000);
    t.diagnostic(`${privateNs ? '300 KiB tmpfs' : 'dir under a file'}: ${JSON.stringify(failed)}`);
    assert.equal(failed.status, 'PLAYING', 'the pull must keep playing');
    assert.equal(typeof failed.recordInfo, 'string');
    assert.ok(failed.recordInfo.length > 0);
    assert.match(failed.recordInfo, privateNs ? /No space left/ : /not writable/);
    assert.equal(failed.record, false);
    const res = await runPeer({ url: f.wsUrl, names: [name], seconds: 20, extraArgs: ['--until-decoded'] });
    const s = streamReport(res, name);
    assert.ok(playedMedia(s), `viewer after the disk filled: ${JSON.stringify(s)}`);
    assert.equal((await f.find(byName(name))).status, 'PLAYING');
    const list = await listRecords(f);
    t.diagnostic(`listed: ${JSON.stringify(list.map((e) => ({ name: e.name, size: e.size, duration: e.duration, complete: e.complete })))}`);

    if (privateNs) {
      // Read-only now: record/start is refused up front with the reason.
      const ro = await runCommand('mount', ['-o', 'remount,ro', dir]);
      assert.equal(ro.code, 0, `remount ro: ${ro.stderr}`);
      const again = await rec(f, 'start', { localStreamName: name });
      t.diagnostic(`record/start on a read-only dir: HTTP ${again.status} ${again.text}`);
      assert.equal(again.status, 507, again.text);
      assert.equal(again.json?.error, 'storage', again.text);
      const p = await f.find(byName(name));
      assert.equal(p.recordStatus, 'FAILED', JSON.stringify(p));
      assert.match(p.recordInfo, /not writable/, JSON.stringify(p));
      assert.equal(p.status, 'PLAYING');
      const res2 = await runPeer({ url: f.wsUrl, names: [name], seconds: 20, extraArgs: ['--until-decoded'] });
      assert.ok(playedMedia(streamReport(res2, name)), 'viewer after the read-only record/start');
    }
    assert.deepEqual(await f.stopAndCheck(), []);
  } finally {
    if (f) await f.proc.stop({ graceMs: 10000 });
    if (mounted) await runCommand('umount', [dir]);
  }
});

for (const signal of ['SIGTERM', 'SIGINT']) {
test(`${signal} while recording: exit 0 within the finalize timeout, the file is complete`, { timeout: 60000 }, async (t) => {
  const dir = path.join(freshDir(`records-${signal}`), 'records');
  const conf = writeConf(`[record]\ndir = ${dir}\nfinalize-timeout = 5\n`);
  const f = await startFerry({ extraArgs: ['--config', conf] });
  const name = 'term';
  let open;
  try {
    ({ open } = await pullRecording(f, name));
    await sleep(open + 3000 - Date.now());
  } catch (err) {
    await f.proc.stop();
    throw err;
  }
  const t0 = Date.now();
  const wall = (t0 - open) / 1000;
  const problems = await f.stopAndCheck({ signal });
  const exitMs = Date.now() - t0;
  t.diagnostic(`exit ${JSON.stringify(f.proc.exitInfo)} ${exitMs} ms after ${signal}`);
  assert.deepEqual(problems, []);
  assert.ok(exitMs <= 5000 + 1000, `exit took ${exitMs} ms (finalize-timeout 5 s)`);
  assert.doesNotMatch(f.log(), /did not finish within the timeout/, 'the muxer timed out');

  const files = filesOf(dir, name);
  assert.equal(files.length, 1, `${files}`);
  const p = await probe(path.join(dir, files[0]));
  assertPlayable(p);
  t.diagnostic(`video ${p.video.duration.toFixed(2)} s for ${wall.toFixed(2)} s from recordName to SIGTERM`);
  assert.ok(within(p.video.duration, wall, 0.1), `video ${p.video.duration} s vs ${wall} s of wall time: ${JSON.stringify(p)}`);
  const check = await startFerry({ extraArgs: ['--config', conf] });
  try {
    const e = (await listRecords(check)).find((x) => x.name === files[0]);
    assert.ok(e, `${files[0]} not listed`);
    assert.equal(e.complete, true, `not finalised: ${JSON.stringify(e)}`);
  } finally {
    assert.deepEqual(await check.stopAndCheck(), []);
  }
});
}

test('a muxer that never finishes: record/stop and SIGTERM end within finalize-timeout, the file still plays', { timeout: 60000 }, async (t) => {
  const dir = path.join(freshDir('records-stuck'), 'records');
  const conf = writeConf(`[record]\ndir = ${dir}\nfinalize-timeout = 2\n`);
  // The recorder's EOS is withheld, so the muxer never learns that the recording ended.
  const f = await startFerry({ extraArgs: ['--config', conf], env: { FERRY_TEST_WITHHOLD_RECORDER_EOS: '1' } });
  try {
    const { open } = await pullRecording(f, 'stuck');
    await sleep(open + 3000 - Date.now());
    const t0 = Date.now();
    assert.equal((await rec(f, 'stop', { localStreamName: 'stuck' })).status, 200);
    const p = await waitRecordStatus(f, 'stuck', 'STOPPED', 6000);
    const ms = Date.now() - t0;
    t.diagnostic(`record/stop → STOPPED after ${ms} ms: ${p.recordInfo}`);
    assert.ok(ms >= 1500 && ms < 4000, `STOPPED after ${ms} ms with finalize-timeout 2 s`);
    assert.match(p.recordInfo, /not finalised in time/);
    assert.equal(p.status, 'PLAYING');
    // A second recording, then SIGTERM: shutdown is bounded by the timeout too.
    assert.equal((await rec(f, 'start', { localStreamName: 'stuck' })).status, 200);
    await watchRecording(f, 'stuck');
    const t1 = Date.now();
    const problems = await f.stopAndCheck();
    const exitMs = Date.now() - t1;
    t.diagnostic(`SIGTERM → exit after ${exitMs} ms`);
    assert.deepEqual(problems, []);
    assert.ok(exitMs < 2000 + 1500, `exit took ${exitMs} ms (finalize-timeout 2 s)`);
  } finally {
    await f.proc.stop();
  }
  const files = fs.readdirSync(dir).filter((n) => n.endsWith('.mp4')).sort();
  assert.ok(files.length >= 2, `${files}`);
  const first = await probe(path.join(dir, files[0]));
  assertPlayable(first);
  assert.ok(first.video.duration >= 1, `first file holds ${first.video.duration} s`);
});

test('Ferry exits cleanly on SIGTERM with a clean log', { timeout: 20000 }, async () => {
  assert.deepEqual(await ferry.stopAndCheck(), []);
});

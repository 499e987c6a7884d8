// Operations (#9): GET /metrics against a real origin and a real viewer (the C peer).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEnv } from './lib/env.mjs';
import { startPeer, streamReport } from './lib/peer.mjs';
import { sleep, waitFor } from './lib/util.mjs';

let env;
let ferry;

before(async () => {
  // reconnect = false, idle-timeout = 3: a name nobody publishes fails in 3 s
  env = await startEnv({ publish: ['ops1'], ferryConf: '[pull]\nreconnect = false\nidle-timeout = 3\n' });
  ferry = env.ferry;
}, { timeout: 60000 });

after(async () => {
  if (!env) return;
  const problems = await ferry.stopAndCheck();
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
  const peer = startPeer({ url: ferry.wsUrl, names: [name], seconds: 6 });
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
  assert.ok(frames > 20 * dt && frames < 40 * dt, `${frames} video frames in ${dt} s`);
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

  const t = await ferry.terminate({ localStreamName: name });
  assert.equal(t.status, 200, t.text);
});

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

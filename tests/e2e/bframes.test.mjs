// B-frames (WCS known issue 1, docs/transcoding.md): a source with B-frames is detected at
// ingest and its video re-encoded once for every viewer (the recording keeps the original),
// under the [transcode] policy or the pull's own: auto (default) / always / never.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startFerry } from './lib/ferry.mjs';
import { startOrigin, startPublisher } from './lib/rtmp.mjs';
import { startPeer, settledOffsets, streamReport } from './lib/peer.mjs';
import { runCommand } from './lib/proc.mjs';
import { launchBrowser, closeBrowser, inboundStats } from './lib/browser.mjs';
import { openSdkPage, startSdkServer } from './lib/sdk-page.mjs';
import { freshDir, sleep, waitFor, writeConf } from './lib/util.mjs';
import { byName, peerCounts, peerResumes } from './lib/outage.mjs';

let origin;
let ferry;
let browser;
let sdkServer;
let recordsDir;
const publishers = [];

// x264 with two B-frames between references whatever the content (b-adapt=0), a 1 s GOP;
// sync marks (a white frame and a tone onset together once a second) for the A/V check.
const BFRAMES = ['-bf', '2', '-x264-params', 'b-adapt=0', '-g', '30', '-keyint_min', '30'];

before(async () => {
  origin = await startOrigin();
  publishers.push(await startPublisher(origin.url('bf'), { logName: 'ffmpeg-bf', videoArgs: BFRAMES, syncMarks: true, audioRate: 48000 }));
  publishers.push(await startPublisher(origin.url('plain'), { logName: 'ffmpeg-plain' }));
  publishers.push(await startPublisher(origin.url('plain2'), { logName: 'ffmpeg-plain2' }));
  recordsDir = path.join(freshDir('records-bf'), 'records');
  ferry = await startFerry({ extraArgs: ['--config', writeConf(`[record]\ndir = ${recordsDir}\n`)] });
  [browser, sdkServer] = await Promise.all([launchBrowser(), startSdkServer()]);
}, { timeout: 90000 });

after(async () => {
  await closeBrowser(browser);
  if (sdkServer) await sdkServer.close();
  await Promise.allSettled(publishers.map((p) => p.stop()));
  if (ferry) await ferry.proc.stop({ graceMs: 10000 });
  if (origin) await origin.stop();
});

/** A B-frame publisher of its own for one test (a uri is pulled once at a time). */
async function withBframeSource(name, fn) {
  const pub = await startPublisher(origin.url(name), { logName: `ffmpeg-${name}`, videoArgs: BFRAMES });
  try {
    await fn(origin.url(name));
  } finally {
    await pub.stop();
  }
}

/** Frames decoded per second by the C peer over `ms`, after `warmup` ms. */
async function peerFps(peer, name, { warmup = 1000, ms = 4000 } = {}) {
  await sleep(warmup);
  const a = peerCounts(peer, name);
  await sleep(ms);
  const b = peerCounts(peer, name);
  return (b.frames - a.frames) / (ms / 1000);
}

test('a source with B-frames: find_all says it is re-encoded and why; the C peer gets RTP in order at full rate, a keyframe each second, sound in sync',
  { timeout: 60000 }, async (t) => {
    const p = await ferry.pullPlaying(origin.url('bf'), 'bf', 20000);
    t.diagnostic(JSON.stringify({ transcode: p.transcode, bFrames: p.bFrames, transcoding: p.transcoding, transcodeInfo: p.transcodeInfo }));
    assert.equal(p.transcode, 'auto');
    assert.equal(p.bFrames, true);
    assert.equal(p.transcoding, true);
    assert.equal(p.transcodeInfo, 'the source has B-frames');
    const peer = startPeer({ url: ferry.wsUrl, names: ['bf'], seconds: 30, extraArgs: ['--progress', '200', '--full-duration'] });
    try {
      await peerResumes(peer, 'bf', { frames: 0, samples: 0 }, { frames: 10, samples: 24000, timeout: 15000 });
      const fps = await peerFps(peer, 'bf', { ms: 10000 });
      t.diagnostic(`C peer: ${fps} fps decoded over 10 s (the source sends 30)`);
      assert.ok(fps >= 27, `${fps} fps`);
      // More sync pairs past the settling time (the peer's first sender reports of a
      // track have come as late as 7.9 s in).
      await sleep(4000);
      await peer.proc.stop({ graceMs: 10000 });
      const s = streamReport(await peer.result, 'bf');
      const r = s.rtp.video;
      t.diagnostic(`video RTP ${JSON.stringify(r)}; ${s.videoKeyframes} keyframes in ${s.videoFrames} frames; sync ${JSON.stringify(s.sync.offsetsMs.map(Math.round))}`);
      // Passed through, every B-frame's RTP timestamp would step back (they go out in
      // decode order).
      assert.equal(r.tsBackwards, 0, 'RTP timestamps in presentation order');
      // The source's 1 s GOP is kept: one keyframe per 30 frames (x264's own maximum here
      // would be one in 300), plus two at the join: the cached one the viewer starts from
      // (fast start) and the one the peer's FIR forces. The source's scene-cut I-frames
      // (the flash right after each IDR) are not re-encoded as keyframes.
      const expected = s.videoFrames / 30 + 2;
      assert.ok(s.videoKeyframes >= expected - 2 && s.videoKeyframes <= expected + 2,
        `${s.videoKeyframes} keyframes in ${s.videoFrames} frames`);
      // A/V sync through the decoder and encoder, once the peer's lip sync has both sender
      // reports and has settled (as in peer.test.mjs).
      const { offsets: settled } = settledOffsets(s.sync);
      assert.ok(settled.length >= 4, JSON.stringify(s.sync));
      for (const o of settled) assert.ok(Math.abs(o) <= 40, `A/V offset ${o} ms: ${JSON.stringify(s.sync)}`);
    } finally {
      await peer.proc.stop();
    }
  });

test('the official WebSDK in Chromium plays the B-frame source at full rate', { timeout: 60000 }, async (t) => {
  const page = await openSdkPage(browser, sdkServer.url);
  try {
    assert.equal(await page.evaluate((u) => window.sdk.connect(u), `ws://127.0.0.1:${ferry.wsPort}`), 'ESTABLISHED');
    await page.evaluate(() => window.sdk.play('bf'));
    const pc = 'window.sdk.streams.bf.pc';
    const first = await waitFor('Chromium decoding', async () => {
      const s = await inboundStats(page, pc);
      if (s.video && s.video.framesDecoded > 30) return s;
      throw new Error(JSON.stringify(s));
    }, { timeout: 20000, interval: 200 });
    await sleep(4000);
    const second = await inboundStats(page, pc);
    const fps = (second.video.framesDecoded - first.video.framesDecoded) / 4;
    const dropped = (second.video.framesDropped || 0) - (first.video.framesDropped || 0);
    t.diagnostic(`Chromium: ${fps} fps decoded, ${dropped} dropped over 4 s, ${second.video.frameWidth}x${second.video.frameHeight}`);
    assert.ok(fps >= 25, `${fps} fps`);
    assert.ok(second.audio && second.audio.totalSamplesReceived > 48000, JSON.stringify(second.audio));
    assert.deepEqual(await page.evaluate(() => window.sdk.statuses('bf')), ['PENDING', 'PLAYING']);
  } finally {
    await page.close();
  }
});

/** ffprobe's picture types of the first `n` video frames of `file`, as one string ("IPBB…"). */
async function pictureTypes(file, n = 90) {
  const r = await runCommand('/usr/bin/ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-read_intervals', `%+#${n}`,
    '-show_entries', 'frame=pict_type', '-of', 'csv=p=0', file], { timeout: 20000 });
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.split('\n').map((l) => l.trim()).join('');
}

test('the recording of a B-frame pull keeps the original video, B-frames included', { timeout: 60000 }, (t) => withBframeSource('bf-rec', async (uri) => {
  const r = await ferry.pull({ uri, localStreamName: 'bf-rec', record: true });
  assert.equal(r.status, 200, r.text);
  await waitFor('recording', async () => {
    const p = await ferry.find(byName('bf-rec'));
    if (p && p.recordName) return p;
    throw new Error(JSON.stringify(p));
  }, { timeout: 20000, interval: 200 });
  await sleep(5000);
  assert.equal((await ferry.terminate({ localStreamName: 'bf-rec' })).status, 200);
  const files = await waitFor('a finished file', async () => {
    const f = fs.existsSync(recordsDir) ? fs.readdirSync(recordsDir).filter((x) => x.startsWith('bf-rec') && x.endsWith('.mp4')) : [];
    if (f.length) return f;
    throw new Error(`none in ${recordsDir}`);
  }, { timeout: 10000 });
  const types = await pictureTypes(path.join(recordsDir, files[0]));
  t.diagnostic(`${files[0]}: ${types.slice(0, 40)}…`);
  assert.match(types, /^I/);
  assert.ok((types.match(/B/g) || []).length >= types.length / 3, `B-frames in the recording: ${types}`);
}));

test('transcode "never" (per pull): viewers of the B-frame source get FAILED "Transcoding required, but disabled"; an audio-only viewer plays; find_all says why',
  { timeout: 60000 }, (t) => withBframeSource('bf-never', async (uri) => {
    const r = await ferry.pull({ uri, localStreamName: 'bf-never', transcode: 'never' });
    assert.equal(r.status, 200, r.text);
    const p = await ferry.waitStatus(byName('bf-never'), 'PLAYING', 20000);
    t.diagnostic(JSON.stringify({ transcode: p.transcode, bFrames: p.bFrames, transcoding: p.transcoding, transcodeInfo: p.transcodeInfo }));
    assert.equal(p.transcode, 'never');
    assert.equal(p.bFrames, true);
    assert.equal(p.transcoding, false);
    assert.equal(p.transcodeInfo, 'the source has B-frames; Transcoding required, but disabled');
    const [res, audioOnly] = await Promise.all([
      startPeer({ url: ferry.wsUrl, names: ['bf-never'], seconds: 10 }).result,
      startPeer({ url: ferry.wsUrl, names: ['bf-never'], seconds: 5, extraArgs: ['--no-video-mline', '--full-duration'] }).result,
    ]);
    const s = streamReport(res, 'bf-never');
    assert.deepEqual(s.statuses, [{ status: 'FAILED', info: 'Transcoding required, but disabled' }]);
    const a = streamReport(audioOnly, 'bf-never');
    t.diagnostic(`audio-only viewer: ${JSON.stringify(a.statuses)}, ${a.audioSamples} samples`);
    assert.deepEqual(a.statuses.map((x) => x.status), ['PLAYING']);
    assert.ok(a.audioSamples > 48000, JSON.stringify(a));
    assert.equal((await ferry.terminate({ localStreamName: 'bf-never' })).status, 200);
  }));

test('a source without B-frames is passed through under auto, and re-encoded under "always"', { timeout: 60000 }, async (t) => {
  const plain = await ferry.pullPlaying(origin.url('plain'), 'plain', 20000);
  assert.deepEqual([plain.bFrames, plain.transcoding, plain.transcodeInfo], [false, false, undefined], JSON.stringify(plain));
  const r = await ferry.pull({ uri: origin.url('plain2'), localStreamName: 'plain-always', transcode: 'always' });
  assert.equal(r.status, 200, r.text);
  const p = await ferry.waitStatus(byName('plain-always'), 'PLAYING', 20000);
  t.diagnostic(JSON.stringify({ transcode: p.transcode, bFrames: p.bFrames, transcoding: p.transcoding, transcodeInfo: p.transcodeInfo }));
  assert.deepEqual([p.transcode, p.bFrames, p.transcoding, p.transcodeInfo], ['always', false, true, 'transcode policy is always']);
  const s = streamReport(await startPeer({ url: ferry.wsUrl, names: ['plain-always'], seconds: 20, extraArgs: ['--until-decoded'] }).result, 'plain-always');
  t.diagnostic(`re-encoded: ${s.videoFrames} frames ${s.videoWidth}x${s.videoHeight}`);
  assert.ok(s.videoFrames > 0 && s.audioSamples > 0, JSON.stringify(s));
  assert.deepEqual([s.videoWidth, s.videoHeight], [640, 360]);
  for (const name of ['plain', 'plain-always']) assert.equal((await ferry.terminate({ localStreamName: name })).status, 200);
  const bad = await ferry.pull({ uri: origin.url('plain'), localStreamName: 'x', transcode: 'sometimes' });
  assert.equal(bad.status, 400, bad.text);
  assert.match(bad.json.message, /'transcode' must be "auto", "always" or "never"/);
  assert.equal(bad.json.error, 'invalid_parameter');
});

test('Ferry exits cleanly on SIGTERM with a clean log', { timeout: 20000 }, async () => {
  assert.deepEqual(await ferry.stopAndCheck(), []);
});

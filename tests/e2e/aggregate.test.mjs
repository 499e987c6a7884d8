// RTMP aggregate messages and control traffic (#5, WCS known issues 5 and 7): an origin
// that sends every audio and video frame inside aggregate messages (as Adobe Media Server
// does; nginx-rtmp never does), plus onBWDone, onStatus notifications, |RtmpSampleAccess,
// a changed onMetaData mid-stream and user control events (lib/rtmp-aggregate.mjs).
// Ferry must play it smoothly: the C peer decodes at the source's rate with RTP in order.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startFerry } from './lib/ferry.mjs';
import { startAggregateOrigin, readFlvTags } from './lib/rtmp-aggregate.mjs';
import { startPeer, streamReport } from './lib/peer.mjs';
import { runCommand } from './lib/proc.mjs';
import { peerCounts, peerResumes } from './lib/outage.mjs';
import { freshDir, sleep } from './lib/util.mjs';

let origin;
let ferry;
const flv = path.join(freshDir('aggregate'), 'source.flv');

before(async () => {
  // 30 s of 640x360p30 H.264 (1 s GOP, no B-frames) + 44.1 kHz AAC: longer than the test
  const r = await runCommand('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100',
    '-t', '30', '-c:v', 'libx264', '-preset', 'ultrafast', '-bf', '0', '-g', '30', '-pix_fmt', 'yuv420p',
    '-c:a', 'aac', '-b:a', '96k', '-f', 'flv', flv], { timeout: 60000 });
  assert.equal(r.code, 0, r.stderr);
  origin = await startAggregateOrigin({ flvFile: flv, spanMs: 100 });
  ferry = await startFerry({});
}, { timeout: 90000 });

after(async () => {
  const problems = ferry ? await ferry.stopAndCheck() : [];
  if (origin) await origin.stop();
  assert.deepEqual(problems, []);
});

test('a source of aggregate messages and control chatter plays smoothly: full frame rate, audio, RTP in order', { timeout: 60000 }, async (t) => {
  const tags = readFlvTags(flv);
  assert.ok(tags.filter((x) => x.type === 9).length >= 890, 'the file has 30 fps video');
  const p = await ferry.pullPlaying(origin.url('agg'), 'agg', 20000);
  assert.match(p.videoCodec ?? '', /avc1|H\.?264/i, JSON.stringify(p));
  const peer = startPeer({ url: ferry.wsUrl, names: ['agg'], seconds: 12, extraArgs: ['--progress', '200'] });
  await peerResumes(peer, 'agg', { frames: 0, samples: 0 }, { frames: 10, samples: 24000, timeout: 15000 });
  const a = peerCounts(peer, 'agg');
  await sleep(5000);
  const b = peerCounts(peer, 'agg');
  const fps = (b.frames - a.frames) / 5;
  const rate = (b.samples - a.samples) / 5;
  t.diagnostic(`C peer over 5 s: ${fps} fps (source 30), ${rate} audio samples/s; origin sent ${origin.stats.aggregates} aggregates `
    + `with ${origin.stats.tags} tags, ${origin.stats.pings} pings (${origin.stats.pongs} answered); commands ${origin.stats.commands.join(',')}`);
  assert.ok(fps >= 27, `${fps} fps`);
  assert.ok(rate > 0.9 * 48000 && rate < 1.1 * 48000, `${rate} samples/s`);
  const s = streamReport(await peer.result, 'agg');
  assert.equal(s.rtp.video.tsBackwards, 0, JSON.stringify(s.rtp));
  assert.equal(s.rtp.audio.tsBackwards, 0, JSON.stringify(s.rtp));
  assert.ok(s.statuses.every((x) => x.status === 'PLAYING'), JSON.stringify(s.statuses));
  // every frame came in aggregates (the origin sends no other media message)
  assert.ok(origin.stats.aggregates > 100 && origin.stats.tags > 3 * origin.stats.aggregates, JSON.stringify(origin.stats));
  const after = await ferry.find((x) => x.localStreamName === 'agg');
  assert.equal(after.status, 'PLAYING');
  assert.equal(after.reconnects ?? 0, 0, JSON.stringify(after));
});

/** An ffmpeg-made FLV's audio and video tags: `seconds` of testsrc2 and a tone. */
async function makeTags(name, seconds, audioArgs, { size = '640x360', profile = 'main' } = {}) {
  const file = path.join(freshDir(`flv-${name}`), 'src.flv');
  const r = await runCommand('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=30`, '-f', 'lavfi', '-i', 'sine=frequency=660:sample_rate=48000',
    '-t', String(seconds), '-c:v', 'libx264', '-preset', 'ultrafast', '-bf', '0', '-g', '30', '-pix_fmt', 'yuv420p',
    '-profile:v', profile, '-c:a', 'aac', ...audioArgs, '-f', 'flv', file], { timeout: 60000 });
  assert.equal(r.code, 0, r.stderr);
  return readFlvTags(file).filter((x) => x.type === 8 || x.type === 9);
}
const isAacConfig = (x) => x.type === 8 && (x.data[0] >> 4) === 10 && x.data[1] === 0;

test('AAC config repeated every second, then changed mid-stream (44.1 kHz stereo → 22.05 kHz mono, whose raw frames start with a zero byte): 48 kHz audio throughout',
  { timeout: 90000 }, async (t) => {
    const a = await makeTags('a', 14, ['-ar', '44100', '-ac', '2', '-b:a', '96k']);
    const b = await makeTags('b', 12, ['-ar', '22050', '-ac', '1', '-b:a', '48k']);
    const config = a.find(isAacConfig);
    const switchMs = a[a.length - 1].ts + 33;
    // A with its AAC config again before the first audio frame of every second, then B
    // (its own config first) shifted to follow it
    const tags = [];
    let nextRepeat = 1000;
    for (const x of a) {
      if (x.type === 8 && !isAacConfig(x) && x.ts >= nextRepeat) {
        tags.push({ ...config, ts: x.ts });
        nextRepeat += 1000;
      }
      tags.push(x);
    }
    for (const x of b) tags.push({ ...x, ts: x.ts + switchMs });
    const zeroFirst = b.filter((x) => x.type === 8 && x.data[1] === 1 && x.data[2] === 0).length;
    t.diagnostic(`switch at ${switchMs} ms; ${tags.filter(isAacConfig).length} AAC configs; ${zeroFirst} mono raw frames start with 0x00`);
    assert.ok(zeroFirst > 20, `${zeroFirst} raw AAC frames start with a zero byte`);

    const o = await startAggregateOrigin({ tags, aggregate: false });
    try {
      const pulledAt = Date.now();
      await ferry.pullPlaying(o.url('aac'), 'aac', 20000);
      const peer = startPeer({ url: ferry.wsUrl, names: ['aac'], seconds: 30, extraArgs: ['--progress', '200'] });
      await peerResumes(peer, 'aac', { frames: 0, samples: 0 }, { frames: 10, samples: 24000, timeout: 15000 });
      // one sample a second until 6 s past the switch (source time ≈ time since the pull)
      const samples = [];
      while (Date.now() - pulledAt < switchMs + 6000) {
        await sleep(1000);
        samples.push({ at: Date.now() - pulledAt, ...peerCounts(peer, 'aac') });
      }
      peer.proc.stop();
      const rates = [];
      for (let i = 2; i < samples.length; i++) {
        const dt = (samples[i].at - samples[i - 2].at) / 1000;
        rates.push({ from: samples[i - 2].at, at: samples[i].at, audio: (samples[i].samples - samples[i - 2].samples) / dt, fps: (samples[i].frames - samples[i - 2].frames) / dt });
      }
      t.diagnostic(rates.map((r) => `${r.at}ms ${Math.round(r.audio)}/s ${r.fps.toFixed(1)}fps`).join('; '));
      assert.ok(rates.some((r) => r.at < switchMs) && rates.some((r) => r.from > switchMs + 2000), 'windows on both sides of the switch');
      for (const r of rates) {
        assert.ok(r.audio > 0.85 * 48000 && r.audio < 1.15 * 48000, `audio ${r.audio}/s at ${r.at} ms`);
        assert.ok(r.fps >= 25, `${r.fps} fps at ${r.at} ms`);
      }
      const s = streamReport(await peer.result, 'aac');
      assert.equal(s.rtp.audio.tsBackwards, 0, JSON.stringify(s.rtp));
      assert.equal((await ferry.find((x) => x.localStreamName === 'aac')).status, 'PLAYING');
    } finally {
      await ferry.terminate({ localStreamName: 'aac' });
      await o.stop();
    }
  });

test('resolution and profile change mid-stream without a reconnect (640x360 Main → 960x540 High, a new SPS): the viewer plays on at full rate',
  { timeout: 90000 }, async (t) => {
    const a = await makeTags('sd', 16, ['-ar', '44100'], { size: '640x360', profile: 'main' });
    const b = await makeTags('hd', 10, ['-ar', '44100'], { size: '960x540', profile: 'high' });
    const switchMs = a[a.length - 1].ts + 33;
    const tags = [...a, ...b.map((x) => ({ ...x, ts: x.ts + switchMs }))];
    const o = await startAggregateOrigin({ tags, aggregate: false });
    try {
      const pulledAt = Date.now();
      await ferry.pullPlaying(o.url('res'), 'res', 20000);
      const peer = startPeer({ url: ferry.wsUrl, names: ['res'], seconds: 30, extraArgs: ['--progress', '200'] });
      await peerResumes(peer, 'res', { frames: 0, samples: 0 }, { frames: 10, samples: 24000, timeout: 15000 });
      const before = peerCounts(peer, 'res');
      assert.ok(Date.now() - pulledAt < switchMs - 1000, 'the viewer plays before the change');
      while (Date.now() - pulledAt < switchMs + 1500) await sleep(200);
      const at = peerCounts(peer, 'res');
      await sleep(4000);
      const after = peerCounts(peer, 'res');
      peer.proc.stop();
      const fps = (after.frames - at.frames) / 4;
      t.diagnostic(`switch at ${switchMs} ms; ${at.frames - before.frames} frames up to it, ${fps} fps after it`);
      const s = streamReport(await peer.result, 'res');
      t.diagnostic(JSON.stringify({ rtp: s.rtp.video, rtx: s.rtx, frames: s.videoFrames, keyframes: s.videoKeyframes }));
      assert.ok(fps >= 25, `${fps} fps after the change`);
      assert.equal(`${s.videoWidth}x${s.videoHeight}`, '960x540', 'the peer decodes the new size');
      assert.equal(s.rtp.video.ssrcChanges, 0, JSON.stringify(s.rtp));
      assert.equal(s.rtp.video.tsBackwards, 0, JSON.stringify(s.rtp));
      const p = await ferry.find((x) => x.localStreamName === 'res');
      assert.equal(p.status, 'PLAYING');
      assert.equal(p.reconnects ?? 0, 0);
    } finally {
      await ferry.terminate({ localStreamName: 'res' });
      await o.stop();
    }
  });

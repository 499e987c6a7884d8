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

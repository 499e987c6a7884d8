// Transit delay through Ferry ([debug] transit-stats, src/ferry-transit.h): each video
// packet's time from its frame's arrival from the RTMP source to its departure for a
// viewer, shown in find_all. The benchmark (bench/) reads it; here it must count what the
// viewers get and tell a passthrough stream from a re-encoded one.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFerry } from './lib/ferry.mjs';
import { startOrigin, startPublisher } from './lib/rtmp.mjs';
import { startPeer, streamReport } from './lib/peer.mjs';
import { waitFor } from './lib/util.mjs';

const BFRAMES = ['-bf', '2', '-x264-params', 'b-adapt=0', '-g', '30', '-keyint_min', '30'];

let origin;
let ferry;
let plainFerry;
const publishers = [];

before(async () => {
  origin = await startOrigin();
  publishers.push(await startPublisher(origin.url('plain'), { logName: 'ffmpeg-plain' }));
  publishers.push(await startPublisher(origin.url('bf'), { logName: 'ffmpeg-bf', videoArgs: BFRAMES }));
  ferry = await startFerry({ extraArgs: ['--set', 'debug.transit-stats=true'] });
  plainFerry = await startFerry();
  await ferry.pullPlaying(origin.url('plain'), 'plain', 20000);
  await ferry.pullPlaying(origin.url('bf'), 'bf', 20000);
  await plainFerry.pullPlaying(origin.url('plain'), 'plain', 20000);
}, { timeout: 90000 });

after(async () => {
  await Promise.allSettled(publishers.map((p) => p.stop()));
  if (ferry) await ferry.proc.stop({ graceMs: 10000 });
  if (plainFerry) await plainFerry.proc.stop({ graceMs: 10000 });
  if (origin) await origin.stop();
});

const transitOf = async (f, name) => (await f.find((x) => x.localStreamName === name)).transit;

test('find_all has no transit figures unless [debug] transit-stats is on', { timeout: 20000 }, async () => {
  assert.equal(await transitOf(plainFerry, 'plain'), undefined);
  assert.deepEqual(await transitOf(ferry, 'plain'), { video: { packets: 0, meanMs: 0, p50Ms: 0, p99Ms: 0, maxMs: 0 } },
    'no viewer, nothing measured');
});

test('transit: every live video packet two viewers get is measured; re-encoding shows as a longer transit', { timeout: 60000 }, async (t) => {
  const peer = startPeer({ url: ferry.wsUrl, names: ['plain', 'plain', 'bf'], seconds: 40, extraArgs: ['--no-decode'] });
  let plain;
  let bf;
  try {
    // a few seconds of live video for both streams (at 30 fps ~6 packets a frame)
    await waitFor('transit figures for both streams', async () => {
      plain = await transitOf(ferry, 'plain');
      bf = await transitOf(ferry, 'bf');
      return plain.video.packets >= 1000 && bf.video.packets >= 300;
    }, { timeout: 30000, interval: 500 });
  } finally {
    await peer.proc.stop({ graceMs: 10000 });
  }
  const res = await peer.result;
  const got = res.report.streams.filter((s) => s.name === 'plain').reduce((a, s) => a + s.rtp.video.packets, 0);
  t.diagnostic(`plain ${JSON.stringify(plain.video)} (the viewers got ${got} packets by the end); bf ${JSON.stringify(bf.video)}`);
  streamReport(res, 'bf');
  // The viewers got packets up to their stop, the figures were read ~1 s earlier; the
  // cached GOP's frames (re-timed) are not counted.
  assert.ok(plain.video.packets >= 0.6 * got && plain.video.packets <= got, `${plain.video.packets} of ${got}`);
  assert.ok(plain.video.p50Ms > 0 && plain.video.p50Ms <= plain.video.p99Ms && plain.video.p99Ms <= plain.video.maxMs, JSON.stringify(plain.video));
  // (no bound on the figures themselves: how fast is the benchmark's business, and a loaded
  // CI box under ASan once saw p99 635 ms)
  assert.ok(bf.video.packets > 0, JSON.stringify(bf.video));
  // decode + encode (x264 zerolatency) and the transcoder's queue come on top
  assert.ok(bf.video.p50Ms > plain.video.p50Ms, `re-encoded ${bf.video.p50Ms} ms vs passthrough ${plain.video.p50Ms} ms`);
});

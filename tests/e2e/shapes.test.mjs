// Sources of every shape (issue #3 §3): audio-only and video-only RTMP sources pulled with the
// default hasAudio/hasVideo; H.264 Baseline, Main and High at 720p30. Ferry finds out which tracks exist, says so in find_all, answers
// the missing m-line inactive, and the official WebSDK in Chromium plays what is there.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFerry } from './lib/ferry.mjs';
import { startOrigin, startPublisher } from './lib/rtmp.mjs';
import { launchBrowser, closeBrowser, inboundStats } from './lib/browser.mjs';
import { openSdkPage, startSdkServer } from './lib/sdk-page.mjs';
import { sleep, waitFor } from './lib/util.mjs';

let origin;
let ferry;
let browser;
let sdkServer;
const publishers = [];

before(async () => {
  origin = await startOrigin();
  publishers.push(await startPublisher(origin.url('voice'), { logName: 'ffmpeg-voice', video: false }));
  publishers.push(await startPublisher(origin.url('mute'), { logName: 'ffmpeg-mute', audio: false }));
  ferry = await startFerry();
  [browser, sdkServer] = await Promise.all([launchBrowser(), startSdkServer()]);
}, { timeout: 90000 });

after(async () => {
  await closeBrowser(browser);
  if (sdkServer) await sdkServer.close();
  await Promise.allSettled(publishers.map((p) => p.stop()));
  if (ferry) await ferry.proc.stop({ graceMs: 10000 });
  if (origin) await origin.stop();
});

/** Plays `name` with the WebSDK; returns the page once PLAYING. */
async function sdkPlay(name) {
  const page = await openSdkPage(browser, sdkServer.url);
  assert.equal(await page.evaluate((u) => window.sdk.connect(u), `ws://127.0.0.1:${ferry.wsPort}`), 'ESTABLISHED');
  await page.evaluate((n) => window.sdk.play(n), name);
  await page.waitForFunction((n) => window.sdk.statuses(n).includes('PLAYING'), name, { timeout: 20000 });
  return page;
}

/** The direction of each m-line of the answer the page's PeerConnection got. */
async function answerDirections(page, name) {
  const sdp = await page.evaluate((n) => window.sdk.streams[n].pc.remoteDescription.sdp, name);
  const out = {};
  for (const section of sdp.split(/\r\nm=/).slice(1)) {
    const kind = section.split(' ')[0];
    out[kind] = (/a=(sendonly|recvonly|sendrecv|inactive)/.exec(section) || [])[1];
  }
  return out;
}

for (const [name, present, absent] of [['voice', 'audio', 'video'], ['mute', 'video', 'audio']]) {
  test(`a ${present}-only source: find_all says so, the ${absent} m-line is answered inactive, the WebSDK plays the ${present}`,
    { timeout: 60000 }, async (t) => {
      const p = await ferry.pullPlaying(origin.url(name), name, 20000);
      t.diagnostic(JSON.stringify({ hasAudio: p.hasAudio, hasVideo: p.hasVideo }));
      assert.equal(p.hasAudio, present === 'audio');
      assert.equal(p.hasVideo, present === 'video');
      const page = await sdkPlay(name);
      const dirs = await answerDirections(page, name);
      t.diagnostic(`answer: ${JSON.stringify(dirs)}`);
      assert.equal(dirs[present], 'sendonly');
      assert.ok(!dirs[absent] || dirs[absent] === 'inactive', JSON.stringify(dirs));
      const pcExpr = `window.sdk.streams[${JSON.stringify(name)}].pc`;
      const count = (s) => (present === 'video' ? (s.video ? s.video.framesDecoded : 0) : (s.audio ? s.audio.totalSamplesReceived : 0));
      const first = await waitFor(`${present} decoded`, async () => {
        const s = await inboundStats(page, pcExpr);
        if (count(s) > 0) return s;
        throw new Error(JSON.stringify(s));
      }, { timeout: 15000, interval: 250 });
      await sleep(2000);
      const second = await inboundStats(page, pcExpr);
      t.diagnostic(`${present}: ${count(first)} -> ${count(second)} in 2 s`);
      assert.ok(count(second) - count(first) >= (present === 'video' ? 40 : 64000), `${count(first)} -> ${count(second)}`);
      await page.close();
      assert.equal((await ferry.terminate({ localStreamName: name })).status, 200);
    });
}

/** Decoded video frames of the page's `name` stream: waits for the first, then measures 2 s. */
async function videoRate(t, page, name, firstTimeout = 15000) {
  const pcExpr = `window.sdk.streams[${JSON.stringify(name)}].pc`;
  const t0 = Date.now();
  const first = await waitFor(`${name}: video decoded`, async () => {
    const s = await inboundStats(page, pcExpr);
    if (s.video && s.video.framesDecoded > 0) return s;
    throw new Error(JSON.stringify(s));
  }, { timeout: firstTimeout, interval: 100 });
  const firstMs = Date.now() - t0;
  await sleep(2000);
  const second = await inboundStats(page, pcExpr);
  const fps = (second.video.framesDecoded - first.video.framesDecoded) / 2;
  t.diagnostic(`${name}: first frame ${firstMs} ms after PLAYING, ${fps} fps decoded, ${second.video.frameWidth}x${second.video.frameHeight}`);
  return { firstMs, fps, width: second.video.frameWidth, height: second.video.frameHeight };
}

// H.264 profiles, passed through as they are (no transcoding): 1280x720p30.
for (const [profile, gop] of [['baseline', 60], ['main', 60], ['high', 60]]) {
  const name = `h264-${profile}-g${gop}`;
  test(`H.264 ${profile}, 720p30, GOP ${gop / 30} s: the WebSDK in Chromium decodes it at full rate`, { timeout: 60000 }, async (t) => {
    const pub = await startPublisher(origin.url(name), { logName: `ffmpeg-${name}`, size: '1280x720',
      videoArgs: ['-profile:v', profile, '-g', String(gop), '-keyint_min', String(gop)] });
    try {
      await ferry.pullPlaying(origin.url(name), name, 20000);
      const page = await sdkPlay(name);
      const sdp = await page.evaluate((n) => window.sdk.streams[n].pc.remoteDescription.sdp, name);
      t.diagnostic(`answer: ${(/profile-level-id=([0-9a-fA-F]{6})/.exec(sdp) || [])[1]}`);
      // A viewer joins mid-GOP and starts at the next keyframe: up to one GOP.
      const r = await videoRate(t, page, name, gop / 30 * 1000 + 8000);
      assert.deepEqual([r.width, r.height], [1280, 720]);
      assert.ok(r.fps >= 24, `${r.fps} fps`);
      await page.close();
      assert.equal((await ferry.terminate({ localStreamName: name })).status, 200);
    } finally {
      await pub.stop();
    }
  });
}

test('Ferry exits cleanly on SIGTERM with a clean log', { timeout: 20000 }, async () => {
  assert.deepEqual(await ferry.stopAndCheck(), []);
});

// Sources of every shape (issue #3 §3): audio-only and video-only RTMP sources pulled with the
// default hasAudio/hasVideo. Ferry finds out which tracks exist, says so in find_all, answers
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

test('Ferry exits cleanly on SIGTERM with a clean log', { timeout: 20000 }, async () => {
  assert.deepEqual(await ferry.stopAndCheck(), []);
});

// Sources of every shape (issue #3 §3): audio-only and video-only RTMP sources pulled with the
// default hasAudio/hasVideo; H.264 Baseline, Main and High at 720p30 and High 1080p60, with the
// stream's real profile-level-id in find_all and in the answer. Ferry finds out which tracks exist, says so in find_all, answers
// the missing m-line inactive, and the official WebSDK in Chromium plays what is there.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFerry } from './lib/ferry.mjs';
import { startOrigin, startPublisher } from './lib/rtmp.mjs';
import { launchBrowser, closeBrowser, inboundStats } from './lib/browser.mjs';
import { openSdkPage, startSdkServer } from './lib/sdk-page.mjs';
import { sleep, waitFor } from './lib/util.mjs';
import { runCommand } from './lib/proc.mjs';

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

/** The profile an H.264 receiver tells apart (RFC 6184 §8.1, as libwebrtc reads it) of a
 * profile-level-id "PPCCLL"; as ferry_h264_profile() in src/ferry-sdp.c. */
function h264Profile(plid) {
  const idc = parseInt(plid.slice(0, 2), 16);
  const f = parseInt(plid.slice(2, 4), 16);
  const is = (pattern) => [...pattern].every((c, i) => c === 'x' || Number(c) === ((f >> (7 - i)) & 1));
  if ((idc === 0x42 && is('x1xx0000')) || (idc === 0x4d && is('1xxx0000')) || (idc === 0x58 && is('11xx0000'))) return 'constrained-baseline';
  if ((idc === 0x42 && is('x0xx0000')) || (idc === 0x58 && is('10xx0000'))) return 'baseline';
  if (idc === 0x4d && is('0x0x0000')) return 'main';
  if (idc === 0x64 && f === 0) return 'high';
  if (idc === 0x64 && f === 0x0c) return 'constrained-high';
  return `other-${plid}`;
}

/** H.264 payload types with packetization-mode=1 of an SDP's video section: [{pt, plid}]. */
function h264Payloads(sdp) {
  const video = sdp.split(/\r\nm=/).find((x) => x.startsWith('video'));
  const out = [];
  for (const m of video.matchAll(/a=rtpmap:(\d+) H264\/90000/gi)) {
    const fmtp = (new RegExp(`a=fmtp:${m[1]} ([^\r\n]*)`).exec(video) || [])[1] || '';
    if (!/packetization-mode=1/.test(fmtp)) continue;
    out.push({ pt: Number(m[1]), plid: ((/profile-level-id=([0-9a-fA-F]{6})/.exec(fmtp) || [])[1] || '').toLowerCase() });
  }
  return out;
}

// H.264 profiles, passed through as they are (no transcoding).
for (const { profile, size, fps, gop, minFps, preset } of [
  { profile: 'baseline', size: '1280x720', fps: 30, gop: 60, minFps: 24 },
  { profile: 'main', size: '1280x720', fps: 30, gop: 60, minFps: 24 },
  { profile: 'high', size: '1280x720', fps: 30, gop: 60, minFps: 24 },
  // Longer than flvdemux's 6 s wait for the second track (ferry-source.c, flv_tag_cb).
  { profile: 'high', size: '1280x720', fps: 30, gop: 300, minFps: 24 },
  // ultrafast: the publisher has to encode 1080p60 in real time on the same two cores; with
  // 8x8dct, which makes x264 keep the High profile (ultrafast alone falls back to Baseline).
  { profile: 'high', size: '1920x1080', fps: 60, gop: 120, minFps: 45, preset: ['-preset', 'ultrafast', '-x264-params', '8x8dct=1', '-b:v', '4000k', '-maxrate', '4000k', '-bufsize', '4000k'] },
]) {
  const [w, h] = size.split('x').map(Number);
  const name = `h264-${profile}-${h}p${fps}-g${gop}`;
  test(`H.264 ${profile}, ${h}p${fps}, GOP ${gop / fps} s: the WebSDK in Chromium decodes it at full rate; find_all and the answer name the stream's real profile-level-id where the offer has its profile`,
    { timeout: 60000 }, async (t) => {
      const pub = await startPublisher(origin.url(name), { logName: `ffmpeg-${name}`, size, fps,
        videoArgs: ['-profile:v', profile, '-g', String(gop), '-keyint_min', String(gop), ...(preset || [])] });
      try {
        await ferry.pullPlaying(origin.url(name), name, 20000);
        // What the source is, told by ffprobe playing it from the origin.
        const probe = JSON.parse((await runCommand('/usr/bin/ffprobe', ['-v', 'error', '-analyzeduration', '15000000', '-select_streams', 'v:0',
          '-show_entries', 'stream=profile,level', '-of', 'json', origin.url(name)])).stdout).streams[0];
        const p = await waitFor(`${name}: videoCodec known`, async () => {
          const q = (await ferry.findAll()).find((x) => x.localStreamName === name);
          if (q && q.videoCodec) return q;
          throw new Error(JSON.stringify(q));
        }, { timeout: 5000 });
        const plid = p.videoCodec.replace(/^avc1\./, '');
        t.diagnostic(`ffprobe: ${JSON.stringify(probe)}; find_all videoCodec ${p.videoCodec} (${h264Profile(plid)})`);
        assert.match(p.videoCodec, /^avc1\.[0-9a-f]{6}$/);
        assert.equal(parseInt(plid.slice(0, 2), 16), { baseline: 66, main: 77, high: 100 }[profile]);
        assert.equal(parseInt(plid.slice(4, 6), 16), probe.level, 'level_idc');
        assert.equal(h264Profile(plid).replace('constrained-', ''), profile);

        const page = await sdkPlay(name);
        const pc = `window.sdk.streams[${JSON.stringify(name)}].pc`;
        const offer = await page.evaluate((e) => eval(e).localDescription.sdp, pc);
        const answer = await page.evaluate((e) => eval(e).remoteDescription.sdp, pc);
        const offered = h264Payloads(offer);
        const [answered] = h264Payloads(answer);
        const sameProfile = offered.filter((o) => o.plid && h264Profile(o.plid) === h264Profile(plid));
        t.diagnostic(`offered ${JSON.stringify(offered)}; answered ${JSON.stringify(answered)}`);
        if (sameProfile.length > 0) {
          assert.ok(sameProfile.some((o) => o.pt === answered.pt), 'the answer takes a payload type of the stream\'s profile');
          assert.equal(answered.plid, plid, 'the answer names the real profile-level-id');
        } else {
          // The offer has no payload type of this profile: the answer names the offer's
          // profile-level-id of the payload type it takes (browsers decode any profile).
          assert.equal(answered.plid, offered.find((o) => o.pt === answered.pt).plid);
          assert.ok(answered.plid, 'the answer has a profile-level-id');
        }
        // A viewer joins mid-GOP and starts at the next keyframe: up to one GOP.
        const r = await videoRate(t, page, name, gop / fps * 1000 + 8000);
        assert.deepEqual([r.width, r.height], [w, h]);
        assert.ok(r.fps >= minFps, `${r.fps} fps`);
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

// Every audio shape a FLV source can carry becomes clean 48 kHz Opus (issue #5, WCS known
// issues 2-4): AAC-LC at 8-48 kHz (11025 Hz included), mono and stereo; MP3, Speex,
// Nellymoser, G.711 and PCM are decoded at ingest (docs/audio.md). Each source is a 440 Hz
// tone published audio-only by ffmpeg to nginx-rtmp; the C peer plays it and must decode
// 48 kHz Opus at the real rate from RTP without gaps; Chromium (WebSDK) plays four of them at
// once and must show 48 kHz sound without concealment.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFerry } from './lib/ferry.mjs';
import { startOrigin, startPublisher } from './lib/rtmp.mjs';
import { startPeer, streamReport } from './lib/peer.mjs';
import { launchBrowser, closeBrowser, inboundStats } from './lib/browser.mjs';
import { openSdkPage, startSdkServer } from './lib/sdk-page.mjs';
import fs from 'node:fs';
import path from 'node:path';
import { runCommand } from './lib/proc.mjs';
import { freshDir, sleep, waitFor, writeConf } from './lib/util.mjs';
import { byName, peerCounts, peerResumes } from './lib/outage.mjs';

let origin;
let ferry;
let recordsDir;

before(async () => {
  origin = await startOrigin();
  recordsDir = path.join(freshDir('records-audio'), 'records');
  ferry = await startFerry({ extraArgs: ['--config', writeConf(`[pull]\ntrack-wait-ms = 500\n[record]\ndir = ${recordsDir}\n`)] });
}, { timeout: 90000 });

after(async () => {
  if (ferry) await ferry.proc.stop({ graceMs: 10000 });
  if (origin) await origin.stop();
});

/** The audio m-section of an SDP. */
function audioSection(sdp) {
  return (sdp || '').split(/\r\n(?=m=)/).find((x) => x.startsWith('m=audio')) || '';
}

// [name, sine sample rate, ffmpeg audio options]
const SHAPES = [
  ['aac-lc-44100-stereo', 44100, ['-c:a', 'aac', '-ac', '2', '-b:a', '96k']],
  ['aac-lc-48000-mono', 48000, ['-c:a', 'aac', '-ac', '1', '-b:a', '64k']],
  ['aac-lc-22050-stereo', 22050, ['-c:a', 'aac', '-ac', '2', '-b:a', '64k']],
  ['aac-lc-11025-mono', 11025, ['-c:a', 'aac', '-ac', '1', '-b:a', '32k']],
  ['aac-lc-8000-mono', 8000, ['-c:a', 'aac', '-ac', '1', '-b:a', '24k']],
  ['mp3-44100-stereo', 44100, ['-c:a', 'libmp3lame', '-ac', '2', '-b:a', '128k']],
  ['mp3-22050-mono', 22050, ['-c:a', 'libmp3lame', '-ac', '1', '-b:a', '48k']],
  ['speex-16000', 16000, ['-c:a', 'libspeex', '-ac', '1']],
  ['nellymoser-22050', 22050, ['-c:a', 'nellymoser', '-ac', '1']],
  ['pcm-s16le-44100', 44100, ['-c:a', 'pcm_s16le', '-ac', '2']],
  ['g711-alaw-8000', 8000, ['-c:a', 'pcm_alaw', '-ac', '1']],
];

for (const [name, rate, audioArgs] of SHAPES) {
  test(`${name}: the C peer receives 48 kHz Opus at the real rate, RTP without gaps`, { timeout: 60000 }, async (t) => {
    const pub = await startPublisher(origin.url(name), { logName: `ffmpeg-${name}`, video: false, audioRate: rate, audioArgs });
    try {
      const p = await ferry.pullPlaying(origin.url(name), name, 20000);
      assert.equal(p.hasAudio, true, JSON.stringify(p));
      const peer = startPeer({ url: ferry.wsUrl, names: [name], seconds: 30, extraArgs: ['--progress', '200'] });
      try {
        await peerResumes(peer, name, { frames: 0, samples: 0 }, { frames: 0, samples: 24000, timeout: 15000 });
        const a = peerCounts(peer, name).samples;
        const t0 = Date.now();
        await sleep(4000);
        const hz = (peerCounts(peer, name).samples - a) / ((Date.now() - t0) / 1000);
        await peer.proc.stop({ graceMs: 10000 });
        const s = streamReport(await peer.result, name);
        const r = s.rtp.audio;
        t.diagnostic(`${name}: ${Math.round(hz)} samples/s decoded; RTP ${JSON.stringify(r)}`);
        // The peer's progress lines come every 200 ms: ±10 % over 4 s.
        assert.ok(hz > 48000 * 0.9 && hz < 48000 * 1.1, `${hz} samples/s`);
        assert.deepEqual(s.statuses.map((x) => x.status), ['PLAYING']);
        assert.equal(r.seqGaps, 0, JSON.stringify(r));
        // The answer names the audio SSRC (Chromium drops unsignalled audio: docs/audio.md).
        assert.match(audioSection(s.answerSdp), /\r\na=ssrc:\d+ /, s.answerSdp);
        assert.equal(r.tsBackwards, 0, JSON.stringify(r));
      } finally {
        await peer.proc.stop();
      }
    } finally {
      await ferry.terminate({ localStreamName: name });
      await pub.stop();
    }
  });
}

test('Chromium (WebSDK) plays four audio-only sources at once past rtcp-timeout: 48 kHz sound, no concealment, the SSRC in every answer',
  { timeout: 90000 }, async (t) => {
    const shapes = SHAPES.filter(([n]) => ['aac-lc-11025-mono', 'mp3-44100-stereo', 'speex-16000', 'pcm-s16le-44100'].includes(n));
    const pubs = await Promise.all(shapes.map(([name, rate, audioArgs]) => startPublisher(origin.url(`c-${name}`),
      { logName: `ffmpeg-c-${name}`, video: false, audioRate: rate, audioArgs })));
    const [browser, sdkServer] = await Promise.all([launchBrowser(), startSdkServer()]);
    try {
      for (const [name] of shapes) await ferry.pullPlaying(origin.url(`c-${name}`), `c-${name}`, 20000);
      const page = await openSdkPage(browser, sdkServer.url);
      assert.equal(await page.evaluate((u) => window.sdk.connect(u), `ws://127.0.0.1:${ferry.wsPort}`), 'ESTABLISHED');
      for (const [name] of shapes) await page.evaluate((n) => window.sdk.play(n), `c-${name}`);
      const stats = async () => Promise.all(shapes.map(([name]) => inboundStats(page, `window.sdk.streams[${JSON.stringify(`c-${name}`)}].pc`)));
      await waitFor('audio in every session', async () => {
        const all = await stats();
        if (all.every((x) => x.audio && x.audio.totalSamplesReceived > 48000)) return true;
        throw new Error(JSON.stringify(all));
      }, { timeout: 20000, interval: 250 });
      const a = await stats();
      const t0 = Date.now();
      // Past [webrtc] rtcp-timeout (10 s): a session Chromium gets no RTP for is ended by then.
      await sleep(11000);
      const b = await stats();
      const secs = (Date.now() - t0) / 1000;
      for (const [i, [name]] of shapes.entries()) {
        const n = `c-${name}`;
        const got = b[i].audio.totalSamplesReceived - a[i].audio.totalSamplesReceived;
        const concealed = (b[i].audio.concealedSamples - a[i].audio.concealedSamples) / got;
        const power = (b[i].audio.totalAudioEnergy - a[i].audio.totalAudioEnergy) / (b[i].audio.totalSamplesDuration - a[i].audio.totalSamplesDuration);
        t.diagnostic(`${n}: ${Math.round(got / secs)} samples/s, ${(concealed * 100).toFixed(2)} % concealed, mean power ${power.toFixed(4)}`);
        assert.ok(got / secs > 48000 * 0.9, `${n}: ${got / secs} samples/s`);
        assert.ok(concealed < 0.02, `${n}: ${concealed} concealed`);
        assert.ok(power > 0.002, `${n}: mean power ${power}: silence?`);
        assert.deepEqual(await page.evaluate((x) => window.sdk.statuses(x), n), ['PENDING', 'PLAYING']);
        const sdp = await page.evaluate((x) => window.sdk.streams[x].pc.remoteDescription.sdp, n);
        assert.match(audioSection(sdp), /\r\na=ssrc:\d+ /, `${n}: ${sdp}`);
      }
      await page.close();
    } finally {
      await closeBrowser(browser);
      await sdkServer.close();
      for (const [name] of shapes) await ferry.terminate({ localStreamName: `c-${name}` });
      await Promise.allSettled(pubs.map((p) => p.stop()));
    }
  });

test('an MP3 source is recorded as the Opus its viewers get, next to the source H.264', { timeout: 60000 }, async (t) => {
  const name = 'mp3-rec';
  const pub = await startPublisher(origin.url(name), { logName: `ffmpeg-${name}`, audioArgs: ['-c:a', 'libmp3lame', '-b:a', '128k'] });
  try {
    // Recording starts once both tracks are known (track-wait-ms is short here, and the
    // video waits for its first keyframe).
    await ferry.pullPlaying(origin.url(name), name, 20000);
    await waitFor('video known', async () => {
      const p = await ferry.find(byName(name));
      if (p.hasVideo) return p;
      throw new Error(JSON.stringify(p));
    }, { timeout: 10000, interval: 200 });
    const st = await ferry.rest('POST', '/rest-api/pull/rtmp/record/start', { localStreamName: name });
    assert.equal(st.status, 200, st.text);
    await waitFor('recording', async () => {
      const p = await ferry.find(byName(name));
      if (p && p.recordName) return p;
      throw new Error(JSON.stringify(p));
    }, { timeout: 20000, interval: 200 });
    await sleep(4000);
    assert.equal((await ferry.terminate({ localStreamName: name })).status, 200);
    const file = await waitFor('the file', async () => {
      const f = fs.readdirSync(recordsDir).filter((x) => x.startsWith(name) && x.endsWith('.mp4'));
      if (f.length) return path.join(recordsDir, f[0]);
      throw new Error('none');
    }, { timeout: 10000 });
    const r = await runCommand('/usr/bin/ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_type,codec_name,duration', '-of', 'json', file]);
    assert.equal(r.code, 0, r.stderr);
    const streams = JSON.parse(r.stdout).streams;
    t.diagnostic(`${path.basename(file)}: ${JSON.stringify(streams)}`);
    assert.deepEqual(streams.map((x) => `${x.codec_type}:${x.codec_name}`).sort(), ['audio:opus', 'video:h264']);
    const audio = streams.find((x) => x.codec_type === 'audio');
    assert.ok(Number(audio.duration) > 2, JSON.stringify(audio));
  } finally {
    await pub.stop();
  }
});

test('Ferry exits cleanly on SIGTERM with a clean log', { timeout: 20000 }, async () => {
  assert.deepEqual(await ferry.stopAndCheck(), []);
});

// Source outages (docs/reconnect.md): a real nginx-rtmp origin whose publisher stops,
// stalls or whose server dies, while the C peer and Chromium (official WebSDK) keep
// their PeerConnection and resume; backoff timing, give-up, terminate and shutdown
// during a wait, and resource use over many reconnect cycles.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFerry } from './lib/ferry.mjs';
import { startOrigin, startPublisher } from './lib/rtmp.mjs';
import { startPeer } from './lib/peer.mjs';
import { launchBrowser, closeBrowser, inboundStats } from './lib/browser.mjs';
import { openSdkPage, startSdkServer } from './lib/sdk-page.mjs';
import { freePort, sleep, waitFor, writeConf } from './lib/util.mjs';
import { byName, followAttempts, peerCounts, peerResumes, OUTAGE_CONF, publisherSet, waitOutage as waitOutageOf, withFerry } from './lib/outage.mjs';

let origin;
let ferry;
let browser;
let sdkServer;
const pubs = publisherSet(() => origin);
const { publish, unpublish, running: publishers } = pubs;
const CONF = OUTAGE_CONF;

before(async () => {
  origin = await startOrigin({ control: true });
  await Promise.all([publish('cam1'), publish('cam2'), publish('cam3')]);
  ferry = await startFerry({ extraArgs: ['--config', writeConf(CONF)] });
  [browser, sdkServer] = await Promise.all([launchBrowser(), startSdkServer()]);
}, { timeout: 90000 });

after(async () => {
  await closeBrowser(browser);
  if (sdkServer) await sdkServer.close();
  await pubs.stopAll();
  if (ferry) await ferry.proc.stop({ graceMs: 10000 });
  if (origin) await origin.stop();
});

async function sdkCounts(page, name) {
  const s = await inboundStats(page, `window.sdk.streams[${JSON.stringify(name)}].pc`);
  return { frames: s.video ? s.video.framesDecoded : 0, samples: s.audio ? s.audio.totalSamplesReceived : 0, state: s.state };
}

async function sdkResumes(page, name, base, { frames = 15, samples = 24000, timeout = 15000 } = {}) {
  const t0 = Date.now();
  await waitFor(`${name}: Chromium decoding again`, async () => {
    const c = await sdkCounts(page, name);
    if (c.frames >= base.frames + frames && c.samples >= base.samples + samples) return true;
    throw new Error(`Chromium counts ${JSON.stringify(c)} (base ${JSON.stringify(base)})`);
  }, { timeout, interval: 100 });
  return Date.now() - t0;
}

/** Video and audio decode at the source's rates (30 fps, 48 kHz) over 3 s, in both viewers
 * (after 1 s for the receivers' jitter buffers to settle from the gap). */
async function expectRates(t, peer, page, when) {
  await sleep(1000);
  const p0 = peerCounts(peer, 'cam1');
  const s0 = await sdkCounts(page, 'cam1');
  await sleep(3000);
  const p1 = peerCounts(peer, 'cam1');
  const s1 = await sdkCounts(page, 'cam1');
  const rates = {
    peer: { fps: (p1.frames - p0.frames) / 3, hz: (p1.samples - p0.samples) / 3 },
    chromium: { fps: (s1.frames - s0.frames) / 3, hz: (s1.samples - s0.samples) / 3 },
  };
  t.diagnostic(`${when}: ${JSON.stringify(rates)}`);
  // Chromium's jitter buffers shorten themselves after a gap on a loaded machine (seen: 28
  // fps, 32 kHz for a few seconds): a margin for it, while a freeze or a silent track fails.
  const min = { peer: { fps: 24, hz: 40000 }, chromium: { fps: 20, hz: 30000 } };
  for (const [who, r] of Object.entries(rates)) {
    assert.ok(r.fps >= min[who].fps, `${who} decodes ${r.fps} fps ${when}`);
    assert.ok(r.hz >= min[who].hz, `${who} receives ${r.hz} samples/s ${when}`);
  }
}

const waitOutage = (name, re, timeout) => waitOutageOf(ferry, name, re, timeout);


test('publisher gone 2 s and then 20 s (back as 320x180, 48 kHz): the C peer and Chromium (WebSDK) keep their session and resume within 3 s',
  { timeout: 120000 }, async (t) => {
    await ferry.pullPlaying(origin.url('cam1'), 'cam1');
    const peer = startPeer({ url: `ws://127.0.0.1:${ferry.wsPort}/`, names: ['cam1'], seconds: 75,
      extraArgs: ['--progress', '100', '--full-duration'] });
    const page = await openSdkPage(browser, sdkServer.url);
    assert.equal(await page.evaluate((u) => window.sdk.connect(u), `ws://127.0.0.1:${ferry.wsPort}`), 'ESTABLISHED');
    await page.evaluate(() => window.sdk.play('cam1'));
    await peerResumes(peer, 'cam1', { frames: 0, samples: 0 }, { frames: 30, samples: 48000 });
    await sdkResumes(page, 'cam1', { frames: 0, samples: 0 }, { frames: 30, samples: 48000 });
    await expectRates(t, peer, page, 'before any outage');

    for (const outageMs of [2000, 20000]) {
      await unpublish('cam1');
      const p = await waitOutage('cam1', /unpublished/);
      t.diagnostic(`outage of ${outageMs} ms: ${p.info}`);
      await sleep(outageMs);
      const peerBase = peerCounts(peer, 'cam1');
      const sdkBase = await sdkCounts(page, 'cam1');
      assert.equal(sdkBase.state, 'connected', 'the browser PeerConnection survived the outage');
      // The second time the source comes back with other parameters.
      await publish('cam1', outageMs > 2000 ? { size: '320x180', audioRate: 48000 } : {});
      const [peerMs, sdkMs] = await Promise.all([peerResumes(peer, 'cam1', peerBase), sdkResumes(page, 'cam1', sdkBase)]);
      t.diagnostic(`after ${outageMs} ms away: C peer decoding again ${peerMs} ms, Chromium ${sdkMs} ms after the publisher was back`);
      assert.ok(peerMs < 3000, `C peer resumed after ${peerMs} ms`);
      assert.ok(sdkMs < 3000, `Chromium resumed after ${sdkMs} ms`);
      const back = await ferry.waitStatus(byName('cam1'), 'PLAYING');
      assert.equal(back.reconnecting, false);
      await expectRates(t, peer, page, `after ${outageMs} ms away`);
    }
    // The same sessions played on: nobody was told STOPPED or FAILED, and Chromium never
    // saw a second PLAYING (no renegotiation, no reload).
    assert.deepEqual(await page.evaluate(() => window.sdk.statuses('cam1')), ['PENDING', 'PLAYING']);
    const pull = await ferry.find(byName('cam1'));
    assert.equal(pull.reconnects, 2, JSON.stringify(pull));
    // Chromium follows the new resolution in band.
    const stats = await inboundStats(page, `window.sdk.streams.cam1.pc`);
    t.diagnostic(`Chromium now decodes ${stats.video.frameWidth}x${stats.video.frameHeight}`);
    assert.equal(stats.video.frameWidth, 320);
    assert.equal(stats.video.frameHeight, 180);
    await page.close();
    await peer.proc.stop({ graceMs: 10000 });
    const res = await peer.result;
    const s = res.report && res.report.streams.find((x) => x.name === 'cam1');
    assert.ok(s, res.output.slice(-2000));
    assert.deepEqual(s.statuses.map((x) => x.status), ['PLAYING'], JSON.stringify(s.statuses));
    assert.equal(s.videoWidth, 320, 'the C peer decodes the new resolution');
    // RTP ran on across both outages (read after the peer's jitterbuffer): one SSRC per
    // track, no sequence number or timestamp stepping back, no reset of either; the
    // largest timestamp step is bounded by the longest outage.
    for (const [kind, clock] of [['video', 90000], ['audio', 48000]]) {
      const r = s.rtp[kind];
      t.diagnostic(`C peer ${kind} RTP: ${JSON.stringify(r)} (largest step ${(r.maxTsJump / clock).toFixed(2)} s)`);
      assert.ok(r.packets > 500, `${kind}: ${JSON.stringify(r)}`);
      assert.equal(r.ssrcChanges, 0, `${kind}: SSRC changed`);
      assert.equal(r.seqBackwards, 0, `${kind}: sequence number stepped back`);
      assert.equal(r.tsBackwards, 0, `${kind}: timestamp stepped back`);
      assert.ok(r.seqGaps <= r.packets * 0.01, `${kind}: ${r.seqGaps} packets missing of ${r.packets}`);
      assert.ok(r.maxTsJump / clock < 20 + 5, `${kind}: timestamp step of ${r.maxTsJump / clock} s`);
    }
  });

test('a never-available origin: backoff doubles with jitter up to the cap, then FAILED with the last reason; "not found" is told apart',
  { timeout: 60000 }, async (t) => {
    await withFerry(`[pull]\nreconnect-initial-ms = 200\nreconnect-max-ms = 800\nreconnect-attempts = 5\nidle-timeout = 2\n`, async (f) => {
      const closed = await freePort();
      assert.equal((await f.pull({ uri: `rtmp://127.0.0.1:${closed}/live/x`, localStreamName: 'down' })).status, 200);
      const { seen, pull } = await followAttempts(f, 'down', (p) => p.status === 'FAILED');
      t.diagnostic(`attempts: ${JSON.stringify(seen.map((s) => [s.attempt, s.info && /in (\d+) ms/.exec(s.info)?.[1]]))}; `
        + `${JSON.stringify(seen.map((s, i) => (i ? s.at - seen[i - 1].at : 0)))} ms apart; ${pull.info}`);
      // After failure n (the first connection, then 5 retries) Ferry announces its wait:
      // 200, 400, 800, 800, 800 ms with up to half taken off by jitter. The announced waits are
      // exact; the observed gaps only show that no attempt comes early (and none very late).
      const expected = [200, 400, 800, 800, 800];
      const announced = seen.filter((s) => s.attempt >= 1 && s.attempt <= 5 && s.info);
      assert.ok(announced.length >= 4, `saw the waits of ${announced.length} attempts: ${JSON.stringify(seen)}`);
      for (const s of announced) {
        const d = expected[s.attempt - 1];
        const wait = Number(/reconnecting \(attempt \d+ in (\d+) ms\)/.exec(s.info)[1]);
        assert.ok(wait >= d / 2 && wait <= d, `attempt ${s.attempt}: waits ${wait} ms, expected ${d / 2}..${d}`);
        const next = seen.find((x) => x.attempt === s.attempt + 1);
        if (next) {
          const gap = next.at - s.at;
          assert.ok(gap >= wait - 40 && gap <= wait + 3000, `attempt ${s.attempt}: ${gap} ms to the next for a wait of ${wait} ms`);
        }
      }
      assert.equal(seen[seen.length - 1].attempt, 6, JSON.stringify(seen));
      assert.match(pull.info, /gave up after 5 attempts/);
      assert.match(pull.info, /origin connection failed/);
      assert.match(pull.lastError, /origin connection failed/);

      // A live origin that does not know the name: told apart from a network failure.
      assert.equal((await f.pull({ uri: origin.url('nobody-here'), localStreamName: 'nobody' })).status, 200);
      const nf = await waitFor('not found reported', async () => {
        const p = await f.find(byName('nobody'));
        if (p && p.lastError) return p;
        throw new Error(JSON.stringify(p));
      }, { timeout: 10000, interval: 100 });
      t.diagnostic(`unpublished name: ${nf.info}`);
      assert.match(nf.lastError, /^stream not found on origin/);
      assert.equal(nf.status, 'PENDING');
      assert.equal((await f.terminate({ localStreamName: 'nobody' })).status, 200);
    });
  });

test('terminate during a reconnect wait ends the pull at once; SIGTERM during backoff exits at once',
  { timeout: 60000 }, async (t) => {
    const f = await startFerry({ extraArgs: ['--config', writeConf('[pull]\nreconnect-initial-ms = 20000\nreconnect-max-ms = 60000\n')] });
    try {
      const closed = await freePort();
      for (const name of ['w1', 'w2']) {
        assert.equal((await f.pull({ uri: `rtmp://127.0.0.1:${closed}/live/${name}`, localStreamName: name })).status, 200);
        await waitFor(`${name} waiting to reconnect`, async () => {
          const p = await f.find(byName(name));
          if (p && p.reconnecting && p.reconnectAttempt === 1) return true;
          throw new Error(JSON.stringify(p));
        }, { timeout: 10000, interval: 50 });
      }
      const t0 = Date.now();
      const r = await f.terminate({ localStreamName: 'w1' });
      const ms = Date.now() - t0;
      assert.equal(r.status, 200, r.text);
      const after = await f.find(byName('w1'));
      t.diagnostic(`terminate answered in ${ms} ms; then ${JSON.stringify(after)}`);
      assert.ok(ms < 1000, `terminate took ${ms} ms`);
      assert.ok(!after || after.status === 'STOPPED', JSON.stringify(after));
      const t1 = Date.now();
      assert.deepEqual(await f.stopAndCheck(), []);
      const exitMs = Date.now() - t1;
      t.diagnostic(`SIGTERM with w2 in a 10-20 s backoff: exit after ${exitMs} ms`);
      assert.ok(exitMs < 3000, `exit took ${exitMs} ms`);
    } finally {
      await f.proc.stop();
    }
  });

test('grace period: viewers get STOPPED "Stopped by publisher stop" when the source stays away; the pull retries and new viewers play once it is back',
  { timeout: 90000 }, async (t) => {
    await withFerry('[pull]\nreconnect-initial-ms = 250\nreconnect-max-ms = 1000\ngrace-period = 2\n', async (f) => {
      await f.pullPlaying(origin.url('cam2'), 'cam2');
      const peer = startPeer({ url: f.wsUrl, names: ['cam2'], seconds: 40, extraArgs: ['--progress', '200'] });
      await peerResumes(peer, 'cam2', { frames: 0, samples: 0 }, { frames: 20, samples: 24000 });
      const t0 = Date.now();
      await unpublish('cam2');
      const res = await peer.result;
      const endedMs = Date.now() - t0;
      const s = res.report && res.report.streams.find((x) => x.name === 'cam2');
      assert.ok(s, res.output.slice(-2000));
      const last = s.statuses[s.statuses.length - 1];
      t.diagnostic(`viewer ended ${endedMs} ms after the unpublish: ${JSON.stringify(last)}`);
      assert.deepEqual(last, { status: 'STOPPED', info: 'Stopped by publisher stop' });
      assert.ok(endedMs >= 1500 && endedMs < 8000, `ended after ${endedMs} ms with a 2 s grace period`);
      // The REST pull is still there, retrying.
      const p = await f.find(byName('cam2'));
      assert.equal(p.status, 'PENDING', JSON.stringify(p));
      assert.equal(p.reconnecting, true);
      assert.equal(p.viewers, 0);
      await publish('cam2');
      await f.waitStatus(byName('cam2'), 'PLAYING', 20000);
      const again = startPeer({ url: f.wsUrl, names: ['cam2'], seconds: 20, extraArgs: ['--until-decoded'] });
      const r2 = await again.result;
      const s2 = r2.report.streams[0];
      t.diagnostic(`a new viewer after the return: ${s2.videoFrames} frames, ${s2.audioSamples} samples`);
      assert.ok(s2.videoFrames > 0 && s2.audioSamples > 0, JSON.stringify(s2));

      // An origin that dies: its viewers get FAILED with the lost connection, not STOPPED.
      const o3 = await startOrigin();
      const pub3 = await startPublisher(o3.url('far'), { logName: 'ffmpeg-far' });
      try {
        await f.pullPlaying(o3.url('far'), 'far');
        const peer3 = startPeer({ url: f.wsUrl, names: ['far'], seconds: 40, extraArgs: ['--progress', '200'] });
        await peerResumes(peer3, 'far', { frames: 0, samples: 0 }, { frames: 20, samples: 24000 });
        await o3.kill();
        const r3 = await peer3.result;
        const s3 = r3.report.streams[0];
        const last3 = s3.statuses[s3.statuses.length - 1];
        t.diagnostic(`origin killed under a viewer: ${JSON.stringify(last3)}`);
        assert.equal(last3.status, 'FAILED', JSON.stringify(s3.statuses));
        assert.match(last3.info, /^lost the connection to the origin/);
      } finally {
        await pub3.stop();
        await o3.stop();
      }
    });
  });

test('the origin server dies and comes back on its port: the peer resumes; a stalled publisher is detected, and the peer resumes when it sends again',
  { timeout: 90000 }, async (t) => {
    const o2 = await startOrigin();
    let pub = await startPublisher(o2.url('edge'), { logName: 'ffmpeg-edge' });
    try {
      await ferry.pullPlaying(o2.url('edge'), 'edge');
      await ferry.pullPlaying(origin.url('cam3'), 'cam3');
      const peer = startPeer({ url: `ws://127.0.0.1:${ferry.wsPort}/`, names: ['edge', 'cam3'], seconds: 60,
        extraArgs: ['--progress', '100', '--full-duration'] });
      await peerResumes(peer, 'edge', { frames: 0, samples: 0 }, { frames: 20, samples: 24000 });
      await peerResumes(peer, 'cam3', { frames: 0, samples: 0 }, { frames: 20, samples: 24000 });

      // SIGKILL: the TCP connection is reset under rtmp2src, no unpublish is sent.
      await o2.kill();
      await pub.stop();
      // rtmp2src reports the closed connection as an end of stream; the first retry, refused,
      // tells that the origin is gone.
      const p = await waitOutage('edge', /^origin connection failed: .*refused/i);
      t.diagnostic(`origin killed: ${p.info}; outageCause: ${p.outageCause}`);
      assert.match(p.outageCause, /^lost the connection to the origin/);
      await sleep(2000);
      const o2b = await startOrigin({ port: o2.port });
      pub = await startPublisher(o2b.url('edge'), { logName: 'ffmpeg-edge2' });
      const base = peerCounts(peer, 'edge');
      const ms = await peerResumes(peer, 'edge', base);
      t.diagnostic(`edge: decoding again ${ms} ms after the origin and publisher were back`);
      assert.ok(ms < 3000, `resumed after ${ms} ms`);

      // SIGSTOP: the publisher's connection stays open and nothing arrives any more.
      const stopped = Date.now();
      process.kill(publishers.cam3.proc.pid, 'SIGSTOP');
      const st = await waitOutage('cam3', /stalled/, 10000);
      t.diagnostic(`stall detected after ${Date.now() - stopped} ms: ${st.info}`);
      assert.ok(Date.now() - stopped < 3000 + 2500, 'stall-timeout is 3 s');
      // SIGCONT: ffmpeg sends the seconds it missed in a burst, faster than real time.
      await sleep(1000);
      const base3 = peerCounts(peer, 'cam3');
      process.kill(publishers.cam3.proc.pid, 'SIGCONT');
      const ms3 = await peerResumes(peer, 'cam3', base3);
      t.diagnostic(`cam3: decoding again ${ms3} ms after SIGCONT`);
      assert.ok(ms3 < 3000, `resumed after ${ms3} ms`);
      await peer.proc.stop({ graceMs: 10000 });
      const res = await peer.result;
      for (const s of res.report.streams) assert.deepEqual(s.statuses.map((x) => x.status), ['PLAYING'], JSON.stringify(s));
      await o2b.stop();
    } finally {
      await pub.stop();
      await o2.stop();
      await ferry.terminate({ localStreamName: 'edge' });
      await ferry.terminate({ localStreamName: 'cam3' });
    }
  });

test('the main Ferry exits cleanly on SIGTERM after all of the above', { timeout: 20000 }, async () => {
  assert.deepEqual(await ferry.stopAndCheck(), []);
});

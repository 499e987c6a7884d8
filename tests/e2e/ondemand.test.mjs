// On-demand pulls (issue #3 §1): a viewer plays an rtmp:// URL nobody pulled over REST;
// Ferry pulls it, shares it between viewers, lists it with startedBy "play", and ends it a
// configured time after the last viewer left. Chromium with the official WebSDK, the C peer
// over the WebSocket and over WHEP, a real nginx-rtmp origin.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startFerry } from './lib/ferry.mjs';
import { startOrigin, startPublisher } from './lib/rtmp.mjs';
import { awaitPeerReport, PEER_BIN, startPeer, streamReport } from './lib/peer.mjs';
import { startProcess } from './lib/proc.mjs';
import { launchBrowser, closeBrowser, expectMediaFlowing } from './lib/browser.mjs';
import { openSdkPage, startSdkServer } from './lib/sdk-page.mjs';
import { freePort, freshDir, sleep, waitFor, writeConf } from './lib/util.mjs';
import { establishedWs } from './lib/wsclient.mjs';
import { chromiumOffer } from './fixtures/offers.mjs';

let origin;
let ferry;
let browser;
let sdkServer;
const publishers = [];

const LINGER_S = 2;

before(async () => {
  origin = await startOrigin();
  publishers.push(...await Promise.all(['od1', 'od2', 'od3'].map((n) => startPublisher(origin.url(n), { logName: `ffmpeg-${n}` }))));
  ferry = await startFerry({
    extraArgs: ['--config', writeConf(`[pull]\non-demand-linger = ${LINGER_S}\ngrace-period = 3\nreconnect-initial-ms = 200\n`)],
  });
  [browser, sdkServer] = await Promise.all([launchBrowser(), startSdkServer()]);
}, { timeout: 90000 });

after(async () => {
  await closeBrowser(browser);
  if (sdkServer) await sdkServer.close();
  await Promise.allSettled(publishers.map((p) => p.stop()));
  if (ferry) await ferry.proc.stop({ graceMs: 10000 });
  if (origin) await origin.stop();
});

const pullsOf = async (uri) => (await ferry.findAll()).filter((p) => p.uri === uri);

async function sdkPlay(name) {
  const page = await openSdkPage(browser, sdkServer.url);
  assert.equal(await page.evaluate((u) => window.sdk.connect(u), `ws://127.0.0.1:${ferry.wsPort}`), 'ESTABLISHED');
  await page.evaluate((n) => window.sdk.play(n), name);
  return page;
}

async function waitSdkStatus(page, name, status, timeout = 20000) {
  await page.waitForFunction(([n, s]) => window.sdk.statuses(n).includes(s), [name, status], { timeout })
    .catch(async () => {
      const seen = await page.evaluate((n) => JSON.stringify(window.sdk.streams[n] && window.sdk.streams[n].events), name);
      throw new Error(`${name}: no ${status}; events ${seen}`);
    });
}

test('the WebSDK plays an rtmp:// URL without REST; a second viewer shares the pull; it ends after the last viewer left',
  { timeout: 90000 }, async (t) => {
    const uri = origin.url('od1');
    assert.deepEqual(await pullsOf(uri), []);
    const page = await sdkPlay(uri);
    await waitSdkStatus(page, uri, 'PLAYING');
    const { first, second } = await expectMediaFlowing(page, `window.sdk.streams[${JSON.stringify(uri)}].pc`);
    t.diagnostic(`Chromium: ${first.video.framesDecoded} -> ${second.video.framesDecoded} frames`);
    let pulls = await pullsOf(uri);
    assert.equal(pulls.length, 1, JSON.stringify(pulls));
    assert.equal(pulls[0].startedBy, 'play');
    assert.equal(pulls[0].localStreamName, uri);
    assert.equal(pulls[0].status, 'PLAYING');

    // A second viewer of the same URL shares it.
    const peer = startPeer({ url: ferry.wsUrl, names: [uri], seconds: 20, extraArgs: ['--until-decoded'] });
    await waitFor('two viewers on one pull', async () => {
      const p = await pullsOf(uri);
      if (p.length === 1 && p[0].viewers === 2) return true;
      throw new Error(JSON.stringify(p));
    }, { timeout: 10000, interval: 200 });
    const s = streamReport(await peer.result, uri);
    assert.ok(s.videoFrames > 0 && s.audioSamples > 0, JSON.stringify(s));
    assert.equal((await pullsOf(uri)).length, 1);

    // The last viewer leaves: the pull goes on-demand-linger seconds later, from the list too.
    await page.evaluate((n) => window.sdk.stop(n), uri);
    await waitSdkStatus(page, uri, 'STOPPED');
    const left = Date.now();
    await sleep(LINGER_S * 1000 - 800);
    pulls = await pullsOf(uri);
    assert.equal(pulls.length, 1, `ended before the linger time: ${JSON.stringify(pulls)}`);
    assert.equal(pulls[0].viewers, 0);
    await waitFor('the on-demand pull to end', async () => {
      const p = await pullsOf(uri);
      if (p.length === 0) return true;
      throw new Error(JSON.stringify(p));
    }, { timeout: 8000, interval: 100 });
    t.diagnostic(`ended ${Date.now() - left} ms after the last viewer left (linger ${LINGER_S} s)`);
    await page.close();
  });

test('a viewer joining during the linger keeps the pull; a REST pull of the URL is shared and never ends by itself',
  { timeout: 60000 }, async () => {
    const uri = origin.url('od2');
    const a = startPeer({ url: ferry.wsUrl, names: [uri], seconds: 20, extraArgs: ['--until-decoded'] });
    // A raw WebSocket viewer (it never completes ICE, but it is a viewer) joins the moment
    // the first one has gone: no process start-up between them.
    const ws = await establishedWs(ferry.wsUrl);
    try {
      assert.ok(streamReport(await a.result, uri).videoFrames > 0);
      await waitFor('the first viewer gone', async () => {
        const p = await pullsOf(uri);
        if (p.length === 1 && p[0].viewers === 0) return true;
        throw new Error(JSON.stringify(p));
      }, { timeout: 5000, interval: 50 });
      ws.wcs('playStream', { mediaSessionId: 'late-joiner', name: uri, mediaProvider: 'WebRTC', sdp: chromiumOffer() });
      await sleep(LINGER_S * 1000 + 1500);
      const pulls = await pullsOf(uri);
      assert.equal(pulls.length, 1, 'the second viewer kept it');
      assert.equal(pulls[0].status, 'PLAYING');
      assert.equal(pulls[0].viewers, 1);
      // Over REST the same uri: a conflict while the on-demand pull runs.
      const r = await ferry.pull({ uri });
      assert.equal(r.status, 409, r.text);
    } finally {
      ws.close();
    }
    await waitFor('the on-demand pull to end after its last viewer', async () => {
      const p = await pullsOf(uri);
      if (p.length === 0) return true;
      throw new Error(JSON.stringify(p));
    }, { timeout: LINGER_S * 1000 + 8000, interval: 200 });

    // A REST pull (of another URL) played by its uri never ends by itself.
    const uri3 = origin.url('od3');
    await ferry.pullPlaying(uri3, 'rest-od3');
    const c = startPeer({ url: ferry.wsUrl, names: [uri3], seconds: 20, extraArgs: ['--until-decoded'] });
    assert.ok(streamReport(await c.result, uri3).videoFrames > 0, 'played by uri');
    await sleep(LINGER_S * 1000 + 1500);
    const p3 = await ferry.find((p) => p.localStreamName === 'rest-od3');
    assert.equal(p3.status, 'PLAYING');
    assert.equal(p3.startedBy, 'rest');
    assert.equal((await pullsOf(uri3)).length, 1);
    assert.equal((await ferry.terminate({ localStreamName: 'rest-od3' })).status, 200);
  });

test('a URL with a query-string token plays on demand; over WHEP too', { timeout: 60000 }, async (t) => {
  const uri = `${origin.url('od3')}?token=abc123`;
  const peer = startPeer({ url: ferry.wsUrl, names: [uri], seconds: 20, extraArgs: ['--until-decoded'] });
  const s = streamReport(await peer.result, uri);
  t.diagnostic(`${uri}: ${s.videoFrames} frames, ${s.audioSamples} samples`);
  assert.ok(s.videoFrames > 0 && s.audioSamples > 0, JSON.stringify(s));

  const whepUri = origin.url('od2');
  const url = `${ferry.base}/whep/${encodeURIComponent(whepUri)}`;
  const args = ['--whep', url, '--seconds', '6'];
  const proc = startProcess('ferry-test-peer-whep', PEER_BIN, args,
    { logFile: path.join(freshDir('peer'), 'peer.log'), env: { G_DEBUG: 'fatal-criticals' } });
  const res = await awaitPeerReport(proc, args, 6);
  const w = res.report && res.report.streams[0];
  t.diagnostic(`WHEP ${whepUri}: ${JSON.stringify(w && { http: w.httpStatus, frames: w.videoFrames, samples: w.audioSamples })}`);
  assert.ok(w && w.videoFrames > 0 && w.audioSamples > 0, res.output.slice(-2000));
});

test('a URL that cannot be pulled: FAILED with the reason, at once for a malformed one, within the grace period for a dead origin',
  { timeout: 60000 }, async (t) => {
    const bad = 'rtmp://127.0.0.1/only-an-app';
    const p1 = startPeer({ url: ferry.wsUrl, names: [bad], seconds: 5 });
    const s1 = streamReport(await p1.result, bad);
    t.diagnostic(`${bad}: ${JSON.stringify(s1.statuses)}`);
    assert.equal(s1.statuses[s1.statuses.length - 1].status, 'FAILED');
    assert.match(s1.statuses[s1.statuses.length - 1].info, /rtmp:\/\/host\[:port\]\/application\/stream/);
    assert.deepEqual(await pullsOf(bad), []);

    const dead = `rtmp://127.0.0.1:${await freePort()}/live/x`;
    const t0 = Date.now();
    const p2 = startPeer({ url: ferry.wsUrl, names: [dead], seconds: 20 });
    const s2 = streamReport(await p2.result, dead);
    const ms = Date.now() - t0;
    const last = s2.statuses[s2.statuses.length - 1];
    t.diagnostic(`${dead}: ${JSON.stringify(last)} after ${ms} ms`);
    assert.equal(last.status, 'FAILED');
    assert.match(last.info, /^origin connection failed: .*refused/i);
    assert.ok(ms < 3000 + 9000, `FAILED after ${ms} ms (grace period 3 s)`);
    await waitFor('the failed on-demand pull to go', async () => {
      const p = await pullsOf(dead);
      if (p.length === 0) return true;
      throw new Error(JSON.stringify(p));
    }, { timeout: LINGER_S * 1000 + 5000, interval: 200 });
  });

test('Ferry exits cleanly on SIGTERM with a clean log', { timeout: 20000 }, async () => {
  assert.deepEqual(await ferry.stopAndCheck(), []);
});

// Playback in headless Chromium: Ferry's own page (data/www) and the official
// Flashphoner WebSDK, both against the real server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEnv } from './lib/env.mjs';
import { launchBrowser, closeBrowser, expectMediaFlowing } from './lib/browser.mjs';
import { openSdkPage, startSdkServer } from './lib/sdk-page.mjs';
import { request } from './lib/util.mjs';

let env;
let ferry;
let browser;
let sdkServer;
let pageErrors = [];

before(async () => {
  env = await startEnv({ publish: ['cam1', 'cam2'] });
  ferry = env.ferry;
  [browser, sdkServer] = await Promise.all([
    launchBrowser(),
    startSdkServer(),
    ferry.pullPlaying(env.uri('cam1'), 'cam1'),
    ferry.pullPlaying(env.uri('cam2'), 'cam2'),
  ]);
  pageErrors = browser.pageErrors;
}, { timeout: 90000 });

after(async () => {
  await closeBrowser(browser);
  if (sdkServer) await sdkServer.close();
  if (env) await env.stop();
});

const PLAYER_PC = 'window.ferryPlayer.pc';
const sdkPc = (name) => `window.sdk.streams[${JSON.stringify(name)}].pc`;

/** Opens Ferry's page for `name` (navigation with video: only wait for commit). */
async function openPlayer(name) {
  const page = await browser.newPage();
  await page.goto(`${ferry.base}/?name=${encodeURIComponent(name)}`, { waitUntil: 'commit' });
  await page.waitForFunction(() => window.ferryPlayer && document.querySelector('#play'));
  return page;
}

async function waitStatusText(page, status, timeout = 15000) {
  try {
    await page.waitForFunction((s) => document.querySelector('#status').textContent === s, status, { timeout });
  } catch (err) {
    const now = await page.evaluate(() => `${document.querySelector('#status').textContent} `
      + `(${document.querySelector('#info').textContent})`).catch(() => '?');
    throw new Error(`#status did not become ${status} within ${timeout} ms; it is ${now}`);
  }
}

async function waitSdkStatus(page, name, status, timeout = 15000) {
  try {
    await page.waitForFunction(([n, s]) => window.sdk.statuses(n).includes(s), [name, status], { timeout });
  } catch (err) {
    const seen = await page.evaluate((n) => JSON.stringify(window.sdk.streams[n] && window.sdk.streams[n].events), name)
      .catch(() => '?');
    throw new Error(`WebSDK stream ${name} did not reach ${status} within ${timeout} ms; events ${seen}`);
  }
}

test('Ferry serves its page and /config.json', { timeout: 10000 }, async () => {
  const cfg = await request('GET', `${ferry.base}/config.json`);
  assert.equal(cfg.status, 200, cfg.text);
  assert.equal(cfg.json && cfg.json.wsPort, ferry.wsPort, cfg.text);
  const page = await request('GET', `${ferry.base}/`);
  assert.equal(page.status, 200);
  assert.match(page.headers['content-type'] || '', /text\/html/);
  assert.match(page.text, /id="play"/);
  for (const asset of ['/player.js', '/player.css']) {
    const r = await request('GET', ferry.base + asset);
    assert.equal(r.status, 200, `${asset}: ${r.status}`);
  }
});

test('Ferry page: Play gives PLAYING with decoded video and audio; Stop gives STOPPED', { timeout: 45000 }, async (t) => {
  const page = await openPlayer('cam1');
  await page.click('#play');
  await waitStatusText(page, 'PLAYING');
  const { first, second } = await expectMediaFlowing(page, PLAYER_PC);
  t.diagnostic(`video ${first.video.framesDecoded} -> ${second.video.framesDecoded} frames `
    + `(${second.video.frameWidth}x${second.video.frameHeight}), audio ${first.audio.totalSamplesReceived} -> `
    + `${second.audio.totalSamplesReceived} samples`);
  assert.equal(second.video.frameWidth, 640);
  assert.equal(second.video.frameHeight, 360);
  await page.click('#stop');
  await waitStatusText(page, 'STOPPED');
  const st = await page.evaluate(() => ({ status: window.ferryPlayer.status, info: window.ferryPlayer.info }));
  assert.deepEqual(st, { status: 'STOPPED', info: 'Stopped by user' });
  await page.close();
});

test('Ferry page: an unknown name gives FAILED "Stream not found"', { timeout: 30000 }, async () => {
  const page = await openPlayer('no-such-stream');
  await page.click('#play');
  await waitStatusText(page, 'FAILED');
  assert.equal(await page.textContent('#info'), 'Stream not found');
  await page.close();
});

test('WebSDK: ESTABLISHED, play reaches PLAYING with media, stop gives STOPPED', { timeout: 45000 }, async (t) => {
  const page = await openSdkPage(browser, sdkServer.url);
  const st = await page.evaluate((u) => window.sdk.connect(u), `ws://127.0.0.1:${ferry.wsPort}`);
  assert.equal(st, 'ESTABLISHED');
  await page.evaluate(() => window.sdk.play('cam1'));
  await waitSdkStatus(page, 'cam1', 'PLAYING');
  const { first, second } = await expectMediaFlowing(page, sdkPc('cam1'));
  t.diagnostic(`video ${first.video.framesDecoded} -> ${second.video.framesDecoded} frames, `
    + `audio ${first.audio.totalSamplesReceived} -> ${second.audio.totalSamplesReceived} samples`);
  await page.evaluate(() => window.sdk.stop('cam1'));
  await waitSdkStatus(page, 'cam1', 'STOPPED');
  assert.equal(await page.evaluate(() => window.sdk.info('cam1')), 'Stopped by user');
  assert.deepEqual(await page.evaluate(() => window.sdk.statuses('cam1')), ['PENDING', 'PLAYING', 'STOPPED']);
  await page.close();
});

test('WebSDK: an unknown name gives FAILED with getInfo() "Stream not found"', { timeout: 30000 }, async () => {
  const page = await openSdkPage(browser, sdkServer.url);
  await page.evaluate((u) => window.sdk.connect(u), `ws://127.0.0.1:${ferry.wsPort}`);
  await page.evaluate(() => window.sdk.play('no-such-stream'));
  await waitSdkStatus(page, 'no-such-stream', 'FAILED');
  assert.equal(await page.evaluate(() => window.sdk.info('no-such-stream')), 'Stream not found');
  await page.close();
});

test('two viewers on one stream plus a second stream; closing one viewer leaves the others playing',
  { timeout: 90000 }, async () => {
    // Viewer A (Ferry page) and viewer B (WebSDK) on cam1; viewer C (Ferry page) on cam2.
    const a = await openPlayer('cam1');
    await a.click('#play');
    const b = await openSdkPage(browser, sdkServer.url);
    await b.evaluate((u) => window.sdk.connect(u), `ws://127.0.0.1:${ferry.wsPort}`);
    await b.evaluate(() => window.sdk.play('cam1'));
    const c = await openPlayer('cam2');
    await c.click('#play');

    await waitStatusText(a, 'PLAYING');
    await waitSdkStatus(b, 'cam1', 'PLAYING');
    await waitStatusText(c, 'PLAYING');
    await Promise.all([
      expectMediaFlowing(a, PLAYER_PC),
      expectMediaFlowing(b, sdkPc('cam1')),
      expectMediaFlowing(c, PLAYER_PC),
    ]);

    // Closing a page drops its WebSocket without stopStream: Ferry must free
    // that viewer and leave the others alone.
    await a.close();
    await Promise.all([
      expectMediaFlowing(b, sdkPc('cam1')),
      expectMediaFlowing(c, PLAYER_PC),
    ]);
    assert.deepEqual(await b.evaluate(() => window.sdk.statuses('cam1')), ['PENDING', 'PLAYING']);
    assert.equal(await c.evaluate(() => window.ferryPlayer.status), 'PLAYING');

    const all = await ferry.findAll();
    for (const name of ['cam1', 'cam2']) {
      const p = all.find((x) => x.localStreamName === name);
      assert.equal(p && p.status, 'PLAYING', `${name} in find_all: ${JSON.stringify(p)}`);
    }
    await b.close();
    await c.close();
  });

test('Ferry exits cleanly on SIGTERM while viewers play; the pages see the session end', { timeout: 60000 }, async () => {
  // Shutting down with live viewers is the harder case for a clean exit.
  const player = await openPlayer('cam1');
  await player.click('#play');
  const sdk = await openSdkPage(browser, sdkServer.url);
  await sdk.evaluate((u) => window.sdk.connect(u), `ws://127.0.0.1:${ferry.wsPort}`);
  await sdk.evaluate(() => window.sdk.play('cam2'));
  await waitStatusText(player, 'PLAYING');
  await waitSdkStatus(sdk, 'cam2', 'PLAYING');

  assert.deepEqual(await ferry.stopAndCheck(), []);

  await waitStatusText(player, 'DISCONNECTED', 10000);
  await sdk.waitForFunction(() => window.sdk.sessionEvents.includes('DISCONNECTED'), null, { timeout: 10000 });
  await closeBrowser(browser);
  browser = null;
});

test('no uncaught errors in any page', () => {
  assert.deepEqual(pageErrors, []);
});

// Headless Debian Chromium driven by playwright-core, with the flags that
// WebRTC over loopback needs (see shared/docs/pitfalls.md), plus helpers that
// read WebRTC stats from a page.
import fs from 'node:fs';
import { chromium } from 'playwright-core';
import { freshDir, waitFor } from './util.mjs';

export const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';

const FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--autoplay-policy=no-user-gesture-required',
  // Without this Chromium gathers no loopback candidate and reports no error.
  '--allow-loopback-in-peer-connection',
];

/**
 * A fresh persistent context (own profile dir) with camera/microphone granted:
 * in a lo-only network namespace Chromium gathers no ICE candidates for a
 * recvonly connection without them. Page console errors are collected in
 * `context.pageErrors`.
 */
export async function launchBrowser() {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}`);
  const profile = freshDir('chromium-profile');
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    permissions: ['camera', 'microphone'],
    timeout: 30000,
  });
  context.setDefaultTimeout(15000);
  context.setDefaultNavigationTimeout(15000);
  context.pageErrors = [];
  context.on('page', (page) => watchPage(context, page));
  for (const page of context.pages()) watchPage(context, page);
  return context;
}

function watchPage(context, page) {
  page.on('pageerror', (err) => context.pageErrors.push(`${page.url()}: ${err.message}`));
}

/** Closes the context and removes its profile dir (large, never useful after). */
export async function closeBrowser(context) {
  if (!context) return;
  await context.close().catch(() => {});
}

/**
 * Inbound RTP stats of a peer connection reachable in the page by the
 * expression `pcExpr` (e.g. 'window.ferryPlayer.pc'): returns
 * {video: {framesDecoded, ...}, audio: {totalSamplesReceived, ...}} or nulls.
 */
export async function inboundStats(page, pcExpr) {
  return page.evaluate(async (expr) => {
    // eslint-disable-next-line no-new-func
    const pc = new Function(`return (${expr});`)();
    if (!pc || pc.connectionState === 'closed') return { video: null, audio: null, state: 'none' };
    const out = { video: null, audio: null, state: pc.connectionState };
    const report = await pc.getStats();
    report.forEach((s) => {
      if (s.type !== 'inbound-rtp') return;
      const kind = s.kind || s.mediaType;
      if (kind === 'video') {
        out.video = { framesDecoded: s.framesDecoded || 0, packetsReceived: s.packetsReceived || 0,
                      frameWidth: s.frameWidth, frameHeight: s.frameHeight,
                      framesDropped: s.framesDropped || 0, codecId: s.codecId };
      } else if (kind === 'audio') {
        out.audio = { totalSamplesReceived: s.totalSamplesReceived || 0,
                      packetsReceived: s.packetsReceived || 0,
                      concealedSamples: s.concealedSamples || 0,
                      totalAudioEnergy: s.totalAudioEnergy || 0,
                      totalSamplesDuration: s.totalSamplesDuration || 0 };
      }
    });
    return out;
  }, pcExpr);
}

/**
 * Asserts media flows: video framesDecoded and audio totalSamplesReceived
 * both grow within `timeout` (ms), measured from a first sample taken once
 * any frame has been decoded. Returns the two samples.
 */
export async function expectMediaFlowing(page, pcExpr, { timeout = 15000, windowMs = 2000 } = {}) {
  const first = await waitFor(`first decoded video frame and audio samples (${pcExpr})`, async () => {
    const s = await inboundStats(page, pcExpr);
    if (s.video && s.video.framesDecoded > 0 && s.audio && s.audio.totalSamplesReceived > 0) return s;
    throw new Error(JSON.stringify(s));
  }, { timeout, interval: 250 });
  const second = await waitFor(`decoded frames and audio samples growing (${pcExpr})`, async () => {
    const s = await inboundStats(page, pcExpr);
    if (s.video && s.audio && s.video.framesDecoded > first.video.framesDecoded
        && s.audio.totalSamplesReceived > first.audio.totalSamplesReceived) return s;
    throw new Error(JSON.stringify(s));
  }, { timeout: windowMs + 3000, interval: windowMs });
  return { first, second };
}

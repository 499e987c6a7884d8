// Shared by the outage suites (reconnect.test.mjs, cycles.test.mjs): what the C peer has
// decoded so far (its --progress lines), waiting for it to resume, and the resources and
// reconnect attempts of a Ferry process.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startFerry } from './ferry.mjs';
import { startPublisher } from './rtmp.mjs';
import { sleep, waitFor, writeConf } from './util.mjs';

export const byName = (n) => (p) => p.localStreamName === n;

// The outage suites' Ferry: fast retries, so that a 2 s outage is bridged by the first or
// second attempt; a long grace period, so that viewers survive a 20 s outage too.
export const OUTAGE_CONF = `[pull]
reconnect-initial-ms = 250
reconnect-max-ms = 1000
grace-period = 40
stall-timeout = 3
idle-timeout = 4
`;

/** Publishers by stream name on the origin `originOf()` returns (it is made in before()). */
export function publisherSet(originOf) {
  const running = {};
  return {
    running,
    async publish(name, opts = {}) {
      running[name] = await startPublisher(originOf().url(name), { logName: `ffmpeg-${name}`, ...opts });
      return running[name];
    },
    async unpublish(name) {
      await running[name].stop();
      delete running[name];
    },
    stopAll: () => Promise.allSettled(Object.values(running).map((p) => p.stop())),
  };
}

/** The latest {progress, counts} line the peer printed (--progress). */
export function lastProgress(peer) {
  const lines = peer.proc.log().split('\n').reverse();
  for (const l of lines) {
    if (!l.startsWith('{"progress"')) continue;
    try { return JSON.parse(l); } catch { /* partial line */ }
  }
  return null;
}

export function peerCounts(peer, name) {
  const p = lastProgress(peer);
  return p && p.counts[name] ? { frames: p.counts[name][0], samples: p.counts[name][1] } : { frames: 0, samples: 0 };
}

/** Waits until the peer's frames and samples grow by `frames`/`samples` over `base`; returns ms taken. */
export async function peerResumes(peer, name, base, { frames = 15, samples = 24000, timeout = 15000 } = {}) {
  const t0 = Date.now();
  await waitFor(`${name}: peer decoding again`, async () => {
    const c = peerCounts(peer, name);
    if (c.frames >= base.frames + frames && c.samples >= base.samples + samples) return true;
    throw new Error(`peer counts ${JSON.stringify(c)} (base ${JSON.stringify(base)})`);
  }, { timeout, interval: 100 });
  return Date.now() - t0;
}

/** Waits until pull `name` on Ferry `f` reports the outage: PENDING, reconnecting, lastError matching `re`. */
export async function waitOutage(f, name, re, timeout = 10000) {
  return waitFor(`${name} reconnecting`, async () => {
    const p = await f.find(byName(name));
    if (p && p.status === 'PENDING' && p.reconnecting && re.test(p.lastError || '')) return p;
    throw new Error(JSON.stringify(p));
  }, { timeout, interval: 100 });
}

/** fds, threads and RSS (KiB) of a live process. */
export function usage(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return {
    fds: fs.readdirSync(`/proc/${pid}/fd`).length,
    threads: Number(/Threads:\s+(\d+)/.exec(status)[1]),
    rssKiB: Number(/VmRSS:\s+(\d+)/.exec(status)[1]),
  };
}

export async function withFerry(conf, fn, env = {}) {
  const f = await startFerry({ extraArgs: ['--config', writeConf(conf)], env });
  try {
    await fn(f);
    assert.deepEqual(await f.stopAndCheck(), []);
  } finally {
    await f.proc.stop();
  }
}

/** Follows reconnectAttempt of pull `name` every 20 ms until `until(pull)`; returns [{attempt, at}] and the last pull. */
export async function followAttempts(f, name, until, timeout = 20000) {
  const seen = [];
  const t0 = Date.now();
  for (;;) {
    const p = await f.find(byName(name));
    if (p && (seen.length === 0 || seen[seen.length - 1].attempt !== p.reconnectAttempt)) {
      seen.push({ attempt: p.reconnectAttempt, at: Date.now(), info: p.info });
    }
    if (p && until(p)) return { seen, pull: p };
    if (Date.now() - t0 > timeout) throw new Error(`timed out: ${JSON.stringify(p)} after ${JSON.stringify(seen)}`);
    await sleep(20);
  }
}


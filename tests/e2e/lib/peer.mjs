// The C receive-only WebRTC test peer (tests/peer): it plays streams from
// Ferry's WebSocket like a browser, decodes H.264 and Opus, and prints one
// JSON line with what it saw.
import fs from 'node:fs';
import path from 'node:path';
import { startProcess } from './proc.mjs';
import { REPO_DIR, freshDir } from './util.mjs';

export const PEER_BIN = process.env.FERRY_PEER_BIN
  || path.join(REPO_DIR, 'build', 'tests', 'peer', 'ferry-test-peer');

export const peerExists = () => fs.existsSync(PEER_BIN);

/**
 * Starts the peer; returns {proc, result} where result resolves to
 * {code, signal, report, output} once it exits (killed after `seconds` + 20 s).
 * `report` is the parsed JSON line ({streams: [...]}) or null.
 */
export function startPeer({ url, names, seconds = 8, stopAfter, extraArgs = [] }) {
  const args = ['--url', url];
  for (const n of names) args.push('--name', n);
  args.push('--seconds', String(seconds));
  if (stopAfter !== undefined) args.push('--stop-after', String(stopAfter));
  args.push(...extraArgs);
  const dir = freshDir('peer');
  const proc = startProcess('ferry-test-peer', PEER_BIN, args, {
    logFile: path.join(dir, 'peer.log'),
    // PEER_GST_DEBUG: a GST_DEBUG for the peers only (their logs: peer-*/peer.log)
    env: { G_DEBUG: 'fatal-criticals', ...(process.env.PEER_GST_DEBUG ? { GST_DEBUG: process.env.PEER_GST_DEBUG } : {}) },
  });
  const result = awaitPeerReport(proc, args, seconds);
  return { proc, result };
}

/**
 * Resolves to {code, signal, report, output, args} once the peer `proc` exits; kills it
 * `seconds` + 20 s after start if it has not. `report` is the parsed JSON line
 * ({streams: [...]}) or null. Shared by every way of starting the peer.
 */
export function awaitPeerReport(proc, args, seconds) {
  const killer = setTimeout(() => proc.stop({ graceMs: 2000 }), (seconds + 20) * 1000);
  return proc.exited.then((exit) => {
    clearTimeout(killer);
    const output = proc.log();
    let report = null;
    // The report is the last line that parses as a JSON object with "streams".
    for (const line of output.split('\n').reverse()) {
      const l = line.trim();
      if (!l.startsWith('{')) continue;
      try {
        const j = JSON.parse(l);
        if (j && Array.isArray(j.streams)) { report = j; break; }
      } catch { /* not the report */ }
    }
    return { ...exit, report, output, args };
  });
}

export async function runPeer(opts) {
  return startPeer(opts).result;
}

/** The report entry for stream `name`, or an assertion-friendly error. */
export function streamReport(res, name) {
  if (!res.report) {
    throw new Error(`peer printed no JSON report (exit ${JSON.stringify({ code: res.code, signal: res.signal })}); `
      + `args ${res.args.join(' ')}; output:\n${res.output.slice(-3000)}`);
  }
  const s = res.report.streams.find((x) => x.name === name);
  if (!s) throw new Error(`no stream "${name}" in the peer report: ${JSON.stringify(res.report)}`);
  return s;
}

/** How long the peer's lip sync is given to settle after it has a sender report of
 *  both tracks (measured: up to 5 s after them on a loaded box, with its jitter
 *  buffers in "synced" mode; peer-media.c). */
export const LIP_SYNC_SETTLE_S = 3;

/** The A/V offsets (ms) of the pairs the peer saw once its lip sync had settled: from
 *  LIP_SYNC_SETTLE_S after the later of the two tracks' first sender reports. Throws
 *  when the peer never had a sender report of both. */
export function settledOffsets(sync) {
  const srs = sync.senderReportAtS ?? [];
  if (srs.length < 2) throw new Error(`the peer had no sender report of both tracks: ${JSON.stringify(sync)}`);
  const from = Math.max(...srs.slice(0, 2)) + LIP_SYNC_SETTLE_S;
  return { from, offsets: sync.offsetsMs.filter((_, i) => sync.pairsAtS[i] >= from) };
}

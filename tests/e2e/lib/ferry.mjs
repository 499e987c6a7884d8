// The Ferry server under test, started on free ports with ICE limited to
// 127.0.0.1, plus thin wrappers around its REST API.
import fs from 'node:fs';
import path from 'node:path';
import { startProcess } from './proc.mjs';
import { REPO_DIR, fatal, freePort, freshDir, request, waitFor } from './util.mjs';

export const FERRY_BIN = process.env.FERRY_BIN || path.join(REPO_DIR, 'build', 'src', 'ferry');

/** Lines in a Ferry log that must never appear. */
const BAD_LOG = [/CRITICAL/, /ERROR: AddressSanitizer/, /ERROR: LeakSanitizer/, /runtime error:/];

/**
 * @param {object} o
 * @param {string|null} o.iceAddress  --ice-address (default 127.0.0.1); null leaves the
 *   choice to the config file
 * @param {string} o.host  the address tests reach Ferry at (default 127.0.0.1)
 */
export async function startFerry({ extraArgs = [], env = {}, iceAddress = '127.0.0.1', host = '127.0.0.1' } = {}) {
  if (!fs.existsSync(FERRY_BIN)) {
    throw new Error(`Ferry binary not found at ${FERRY_BIN} (build it, or set FERRY_BIN)`);
  }
  const restPort = await freePort();
  const wsPort = await freePort();
  const dir = freshDir('ferry');
  const logFile = path.join(dir, 'ferry.log');
  const proc = startProcess('ferry', FERRY_BIN, [
    '--rest-port', String(restPort), '--ws-port', String(wsPort),
    ...(iceAddress ? ['--ice-address', iceAddress] : []), ...extraArgs,
  ], {
    logFile,
    env: { G_DEBUG: 'fatal-criticals', ...env },
  });
  const base = `http://${host}:${restPort}`;
  const ferry = {
    restPort,
    wsPort,
    base,
    wsUrl: `ws://${host}:${wsPort}/`,
    proc,
    logFile,
    log: () => proc.log(),
    alive: () => !proc.exitInfo,

    rest: (method, p, body, opts) => request(method, base + p, body, opts),
    pull: (body) => ferry.rest('POST', '/rest-api/pull/rtmp/pull', body),
    terminate: (body) => ferry.rest('POST', '/rest-api/pull/rtmp/terminate', body),
    async findAll() {
      const r = await ferry.rest('POST', '/rest-api/pull/rtmp/find_all', {});
      if (r.status !== 200 || !Array.isArray(r.json)) {
        throw new Error(`find_all: HTTP ${r.status} ${r.text.slice(0, 300)}`);
      }
      return r.json;
    },
    async find(pred) {
      return (await ferry.findAll()).find(pred);
    },
    /** Waits until the pull matching `pred` has `status`; returns that pull object. */
    async waitStatus(pred, status, timeout = 15000) {
      return waitFor(`a pull with status ${status}`, async () => {
        if (!ferry.alive()) throw fatal(`Ferry exited: ${JSON.stringify(proc.exitInfo)}`);
        const p = await ferry.find(pred);
        if (p && p.status === status) return p;
        throw new Error(p ? `pull is ${p.status}${p.info ? ` (${p.info})` : ''}` : 'no such pull');
      }, { timeout, interval: 250 });
    },
    /** Pulls `uri` as `name` and waits for PLAYING; returns the pull object. */
    async pullPlaying(uri, name, timeout = 15000) {
      const r = await ferry.pull({ uri, localStreamName: name });
      if (r.status !== 200) throw new Error(`pull ${uri}: HTTP ${r.status} ${r.text}`);
      return ferry.waitStatus((p) => p.localStreamName === name, 'PLAYING', timeout);
    },

    /**
     * SIGTERM (or `signal`) and check a clean exit: exit code 0 within 10 s, and no
     * CRITICAL / sanitizer error in the log. Returns a list of problems
     * (empty when all is well).
     */
    async stopAndCheck({ signal = 'SIGTERM' } = {}) {
      const problems = [];
      const wasAlive = ferry.alive();
      const res = await proc.stop({ signal, graceMs: 10000 });
      if (!wasAlive) {
        problems.push(`Ferry had already exited during the test: ${JSON.stringify(res)}`);
      } else if (res.killed) {
        problems.push(`Ferry did not exit within 10 s of ${signal} (killed)`);
      } else if (res.code !== 0) {
        problems.push(`Ferry exited with ${JSON.stringify(res)} after ${signal}`);
      }
      const log = proc.log();
      for (const re of BAD_LOG) {
        const line = log.split('\n').find((l) => re.test(l));
        if (line) problems.push(`Ferry log matches ${re}: ${line.slice(0, 300)}`);
      }
      return problems;
    },
  };
  try {
    await waitFor(`Ferry ready on ${base}`, async () => {
      if (proc.exitInfo) {
        throw fatal(`Ferry exited early ${JSON.stringify(proc.exitInfo)}: ${proc.log().slice(-2000)}`);
      }
      // 401: a Ferry with [auth] rest = on answers too
      const r = await request('GET', `${base}/rest-api/pull/rtmp/find_all`, undefined, { timeout: 1000 });
      return r.status === 200 || r.status === 401;
    }, { timeout: 15000, interval: 150 });
  } catch (err) {
    await proc.stop({ graceMs: 2000 });
    throw err;
  }
  return ferry;
}

// Small helpers shared by the e2e tests: free ports, polling with deadlines,
// HTTP JSON requests, and a per-run artifacts directory for logs.
import net from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { fileURLToPath } from 'node:url';

export const E2E_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const REPO_DIR = path.resolve(E2E_DIR, '..', '..');

// Ports handed out by this process, so two fixtures never get the same one
// even if the first has not bound it yet.
const givenPorts = new Set();

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
export async function freePort() {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await new Promise((resolve, reject) => {
      const srv = net.createServer();
      srv.unref();
      srv.on('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const { port } = srv.address();
        srv.close(() => resolve(port));
      });
    });
    if (!givenPorts.has(port)) {
      givenPorts.add(port);
      return port;
    }
  }
  throw new Error('freePort: no unused port found');
}

/** An error that stops waitFor at once. */
export function fatal(message) {
  const err = new Error(message);
  err.fatal = true;
  return err;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `fn` until it returns a truthy value (which is returned) or the
 * deadline passes; then throws with `what` and the last value/error seen.
 * An error thrown by `fn` is remembered and polling goes on, unless it was
 * made with fatal() which ends the wait at once.
 */
export async function waitFor(what, fn, { timeout = 10000, interval = 200 } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
      last = v;
    } catch (err) {
      if (err && err.fatal) throw err;
      last = err;
    }
    if (Date.now() >= deadline) {
      const detail = last instanceof Error ? last.message : JSON.stringify(last);
      throw new Error(`timed out after ${timeout} ms waiting for ${what} (last: ${detail})`);
    }
    await sleep(interval);
  }
}

/** Directory for this run's logs; run.sh sets E2E_ARTIFACTS, otherwise a tmp dir. */
export function artifactsDir() {
  let dir = process.env.E2E_ARTIFACTS;
  if (!dir) {
    dir = path.join(os.tmpdir(), 'ferry-e2e-artifacts');
    process.env.E2E_ARTIFACTS = dir;
  }
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/** A fresh directory under the artifacts dir, e.g. for one nginx instance. */
export function freshDir(prefix) {
  return fs.mkdtempSync(path.join(artifactsDir(), `${prefix}-`));
}

/** Writes `text` as a Ferry config file in a fresh dir; returns its path. */
export function writeConf(text) {
  const file = path.join(freshDir('ferry-conf'), 'ferry.conf');
  fs.writeFileSync(file, text);
  return file;
}

/**
 * One HTTP request with a hard timeout. `body` may be an object (sent as
 * JSON), a string or a Buffer (sent as is). Resolves to
 * {status, headers, text, json} where json is undefined if the body is not JSON.
 * `json: false` sends no Content-Type of its own; `agent: false` uses a connection of its
 * own (no keep-alive pooling).
 */
export function request(method, url, body, { timeout = 5000, headers = {}, json = true, agent } = {}) {
  return new Promise((resolve, reject) => {
    let payload;
    if (body !== undefined) {
      payload = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
    }
    const req = http.request(url, {
      method,
      headers: {
        ...(payload !== undefined ? { ...(json ? { 'Content-Type': 'application/json' } : {}),
                                      'Content-Length': Buffer.byteLength(payload) } : {}),
        ...headers,
      },
      ...(agent !== undefined ? { agent } : {}),
      timeout,
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json;
        try { json = JSON.parse(text); } catch { json = undefined; }
        resolve({ status: res.statusCode, headers: res.headers, text, json });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url}: no answer within ${timeout} ms`)));
    req.on('error', (err) => reject(new Error(`${method} ${url}: ${err.message}`)));
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

/**
 * UDP datagrams the kernel dropped because a socket's receive buffer was full, so far, in
 * this network namespace (/proc/net/snmp, Udp: RcvbufErrors). A receiver that is slower
 * than what it is sent loses packets here, before any RTP code sees them.
 */
export function udpReceiveDrops() {
  const rows = fs.readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((l) => l.startsWith('Udp:'));
  const names = rows[0].split(/\s+/);
  return Number(rows[1].split(/\s+/)[names.indexOf('RcvbufErrors')]);
}

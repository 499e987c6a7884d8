// TLS (#9): HTTPS for the REST API and WSS for signalling from a configured certificate,
// the C peer playing over wss://, and SIGHUP: a new certificate, [auth]/[limits] taken
// over, a bad file changing nothing, and --log-file reopened after logrotate moved it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { startEnv } from './lib/env.mjs';
import { startFerry } from './lib/ferry.mjs';
import { runPeer, streamReport } from './lib/peer.mjs';
import { runCommand } from './lib/proc.mjs';
import { establishedWs } from './lib/wsclient.mjs';
import { freePort, freshDir, waitFor } from './lib/util.mjs';

let env;
let f;
let dir;
let httpsPort;
let wssPort;
const certs = {};

async function makeCert(name) {
  const key = path.join(dir, `${name}.key`);
  const cert = path.join(dir, `${name}.crt`);
  const r = await runCommand('/usr/bin/openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2',
    '-subj', `/CN=ferry test ${name}`, '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert]);
  assert.equal(r.code, 0, r.stderr);
  return { key, cert, pem: fs.readFileSync(cert) };
}

/** GET over HTTPS trusting `ca` only; resolves {status, json, cert} or rejects on a TLS error. */
function httpsGet(p, ca) {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port: httpsPort, path: p, method: 'GET', ca, agent: false, timeout: 5000 }, (res) => {
      const chunks = [];
      const cert = res.socket.getPeerCertificate();
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json;
        try { json = JSON.parse(text); } catch { json = undefined; }
        resolve({ status: res.statusCode, json, text, subject: cert.subject?.CN });
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

const conf = (c, extra = '') => `[tls]\ncert-file = ${c.cert}\nkey-file = ${c.key}\nhttps-port = ${httpsPort}\nwss-port = ${wssPort}\n${extra}`;
let confFile;
let logFile;

before(async () => {
  dir = freshDir('tls');
  certs.a = await makeCert('a');
  certs.b = await makeCert('b');
  // the files Ferry reads; a reload swaps their content
  certs.live = { cert: path.join(dir, 'live.crt'), key: path.join(dir, 'live.key') };
  fs.copyFileSync(certs.a.cert, certs.live.cert);
  fs.copyFileSync(certs.a.key, certs.live.key);
  httpsPort = await freePort();
  wssPort = await freePort();
  confFile = path.join(dir, 'ferry.conf');
  fs.writeFileSync(confFile, conf(certs.live));
  logFile = path.join(dir, 'ferry-own.log');
  env = await startEnv({ publish: ['tls1'], ferry: false });
  f = await startFerry({ extraArgs: ['--config', confFile, '--log-file', logFile] });
  assert.equal((await f.pull({ uri: env.uri('tls1'), localStreamName: 'tls1' })).status, 200);
  await f.waitStatus((p) => p.localStreamName === 'tls1', 'PLAYING');
}, { timeout: 60000 });

after(async () => {
  const problems = f ? await f.stopAndCheck() : [];
  if (env) await env.stop();
  const log = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : '';
  assert.deepEqual(problems, []);
  assert.ok(!/CRITICAL|AddressSanitizer|runtime error/.test(log), log.slice(-2000));
});

test('HTTPS: the REST API with the configured certificate; an untrusted client is refused; plain HTTP stays', { timeout: 15000 }, async () => {
  const r = await httpsGet('/rest-api/pull/rtmp/find_all', certs.a.pem);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.subject, 'ferry test a');
  assert.equal(r.json[0].localStreamName, 'tls1');
  await assert.rejects(httpsGet('/rest-api/pull/rtmp/find_all', certs.b.pem), /self[- ]signed|unable to verify|certificate/i);
  assert.equal((await f.findAll())[0].status, 'PLAYING');
  assert.match(fs.readFileSync(logFile, 'utf8'), new RegExp(`with TLS: https://127\\.0\\.0\\.1:${httpsPort}/, wss://127\\.0\\.0\\.1:${wssPort}/`));
});

test('WSS: the C peer plays over wss:// trusting the certificate', { timeout: 40000 }, async () => {
  const res = await runPeer({ url: `wss://127.0.0.1:${wssPort}/`, names: ['tls1'], seconds: 8, extraArgs: ['--tls-ca', certs.a.cert] });
  const s = streamReport(res, 'tls1');
  assert.ok(s.videoFrames > 60, JSON.stringify(s));
  assert.ok(s.audioSamples > 48000, JSON.stringify(s));
  // and a client of the raw protocol over TLS
  const ws = await establishedWs(`wss://127.0.0.1:${wssPort}/`, { ca: certs.a.pem });
  ws.close();
  await ws.closed;
});

test('SIGHUP: new certificate and [limits] taken over, log file reopened; a bad file changes nothing', { timeout: 40000 }, async () => {
  // logrotate: move the log away, then SIGHUP
  fs.renameSync(logFile, `${logFile}.1`);
  fs.copyFileSync(certs.b.cert, certs.live.cert);
  fs.copyFileSync(certs.b.key, certs.live.key);
  fs.writeFileSync(confFile, conf(certs.live, '[limits]\npulls = 1\n'));
  process.kill(f.proc.pid, 'SIGHUP');
  await waitFor('the reload in the new log file', async () => fs.existsSync(logFile)
    && /SIGHUP: configuration reloaded/.test(fs.readFileSync(logFile, 'utf8')), { timeout: 5000, interval: 100 });
  const r = await httpsGet('/rest-api/pull/rtmp/find_all', certs.b.pem);
  assert.equal(r.subject, 'ferry test b');
  await assert.rejects(httpsGet('/rest-api/pull/rtmp/find_all', certs.a.pem), /certificate|self[- ]signed|verify/i);
  const over = await f.pull({ uri: env.uri('tls2'), localStreamName: 'tls2' });
  assert.equal(over.status, 503, over.text);   // [limits] pulls = 1 now
  // a broken certificate: nothing changes (still b), the reason is logged
  fs.writeFileSync(certs.live.cert, 'not a certificate');
  process.kill(f.proc.pid, 'SIGHUP');
  await waitFor('the refusal logged', async () => /SIGHUP: configuration not reloaded: \[tls\]/.test(fs.readFileSync(logFile, 'utf8')),
    { timeout: 5000, interval: 100 });
  assert.equal((await httpsGet('/rest-api/pull/rtmp/find_all', certs.b.pem)).subject, 'ferry test b');
  // a bad configuration file: nothing changes either
  fs.copyFileSync(certs.b.cert, certs.live.cert);
  fs.writeFileSync(confFile, conf(certs.live, '[limits]\npulls = lots\n'));
  process.kill(f.proc.pid, 'SIGHUP');
  await waitFor('the second refusal logged', async () => /not reloaded: .*pulls must be a whole number/.test(fs.readFileSync(logFile, 'utf8')),
    { timeout: 5000, interval: 100 });
  assert.equal((await f.pull({ uri: env.uri('tls2'), localStreamName: 'tls2' })).status, 503);
  // the stream played through all of it
  assert.equal((await f.findAll())[0].status, 'PLAYING');
});

test('--check-config: [tls] needs both files; startup names a file it cannot read', { timeout: 15000 }, async () => {
  const { FERRY_BIN } = await import('./lib/ferry.mjs');
  const one = await runCommand(FERRY_BIN, ['--check-config', '--set', `tls.cert-file=${certs.a.cert}`]);
  assert.equal(one.code, 1);
  assert.match(one.stderr, /\[tls\] cert-file and key-file go together/);
  const missing = await runCommand(FERRY_BIN, ['--check-config', '--set', 'tls.cert-file=/nonexistent.crt', '--set', `tls.key-file=${certs.a.key}`]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /\/nonexistent\.crt/);
});

// [sources] (#9, docs/security.md#sources): which origins a pull may reach. A Ferry with
// allow-private = false against a real origin on 127.0.0.1: addresses inside are refused
// at once (403), names that resolve inside are refused before a connection (FAILED), an
// on-demand play too; [sources] hosts lets a listed origin through, and SIGHUP takes it
// over. Without the check every one of these pulls would play.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startEnv } from './lib/env.mjs';
import { startFerry } from './lib/ferry.mjs';
import { startPeer, streamReport } from './lib/peer.mjs';
import { waitFor, writeConf } from './lib/util.mjs';

let env;
let f;
let confFile;
const FORBID = '[sources]\nallow-private = false\n';

before(async () => {
  env = await startEnv({ publish: ['src1'], ferry: false });
  confFile = writeConf(FORBID);
  f = await startFerry({ extraArgs: ['--config', confFile] });
}, { timeout: 60000 });

after(async () => {
  const problems = f ? await f.stopAndCheck() : [];
  if (env) await env.stop();
  assert.deepEqual(problems, []);
});

const port = () => new URL(env.uri('src1').replace(/^rtmp/, 'http')).port;

function assertForbidden(r, re) {
  assert.equal(r.status, 403, r.text);
  assert.equal(r.json?.error, 'source_forbidden', r.text);
  assert.match(r.json?.message ?? '', re, r.text);
}

test('an origin address inside the operator network is refused at once (403), nothing is created', { timeout: 20000 }, async () => {
  for (const host of ['127.0.0.1', '[::1]', '[::ffff:127.0.0.1]', '10.0.0.1', '169.254.169.254']) {
    const uri = `rtmp://${host}:${port()}/live/src1`;
    assertForbidden(await f.pull({ uri, localStreamName: 'in' }), /private or loopback address \(\[sources\] allow-private = false\)/);
  }
  assert.deepEqual(await f.findAll(), []);
});

test('a name that resolves inside is refused before connecting: FAILED with the address', { timeout: 30000 }, async () => {
  // "localhost", from /etc/hosts, like any DNS name pointing inside
  const r = await f.pull({ uri: `rtmp://LocalHost:${port()}/live/src1`, localStreamName: 'by-name' });
  assert.equal(r.status, 200, r.text);
  const p = await f.waitStatus((x) => x.localStreamName === 'by-name', 'FAILED', 15000);
  assert.match(p.info, /localhost resolves to (127\.0\.0\.1|::1) is a private or loopback address/, p.info);
});

test('an on-demand play of an address inside gets FAILED with the reason', { timeout: 30000 }, async () => {
  const uri = env.uri('src1');
  const peer = startPeer({ url: f.wsUrl, names: [uri], seconds: 5 });
  const s = streamReport(await peer.result, uri);
  const last = s.statuses[s.statuses.length - 1];
  assert.equal(last.status, 'FAILED', JSON.stringify(s.statuses));
  assert.match(last.info, /source not allowed: 127\.0\.0\.1 is a private or loopback address/);
  assert.equal(s.videoFrames, 0);
});

test('[sources] hosts lets a listed origin through (SIGHUP), an unlisted one and other ports stay out', { timeout: 40000 }, async () => {
  fs.writeFileSync(confFile, `${FORBID}hosts = 127.0.0.1;localhost\nports = ${port()}\n`);
  process.kill(f.proc.pid, 'SIGHUP');
  await waitFor('the reload', async () => /SIGHUP: configuration reloaded/.test(f.log()), { timeout: 5000, interval: 100 });
  assertForbidden(await f.pull({ uri: `rtmp://127.0.0.2:${port()}/live/src1`, localStreamName: 'other' }), /127\.0\.0\.2 is not in \[sources\] hosts/);
  assertForbidden(await f.pull({ uri: `rtmp://127.0.0.1:1936/live/src1`, localStreamName: 'port' }), /port 1936 is not in \[sources\] ports/);
  const r = await f.pull({ uri: env.uri('src1'), localStreamName: 'listed' });
  assert.equal(r.status, 200, r.text);
  await f.waitStatus((x) => x.localStreamName === 'listed', 'PLAYING', 20000);
  const byName = await f.pull({ uri: `rtmp://localhost:${port()}/live/src1`, localStreamName: 'listed-name' });
  assert.equal(byName.status, 200, byName.text);
  await f.waitStatus((x) => x.localStreamName === 'listed-name', 'PLAYING', 20000);
  const peer = startPeer({ url: f.wsUrl, names: ['listed'], seconds: 6 });
  assert.ok(streamReport(await peer.result, 'listed').videoFrames > 30, 'the listed origin plays');
});

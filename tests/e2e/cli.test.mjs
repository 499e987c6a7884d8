// The command line as an operator uses it (docs/configuration.md): --check-config validates
// a file (and --set assignments) and exits, naming file:line of a bad key; --set changes any
// key of a running server; the systemd unit meson configures is valid and hardened.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { FERRY_BIN, startFerry } from './lib/ferry.mjs';
import { runCommand } from './lib/proc.mjs';
import { REPO_DIR, freshDir, writeConf } from './lib/util.mjs';
import fs from 'node:fs';

const check = (...args) => runCommand(FERRY_BIN, ['--check-config', ...args], { timeout: 20000 });

test('--check-config: the shipped data/ferry.conf is valid (exit 0); a misspelt key and a bad value exit 1 naming file:line; --set is checked too',
  { timeout: 60000 }, async (t) => {
    const ok = await check('--config', path.join(REPO_DIR, 'data', 'ferry.conf'));
    t.diagnostic(`shipped: ${ok.code} ${ok.stdout.trim()}`);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /configuration OK/);

    const misspelt = writeConf('[server]\nrest-port = 8081\n\n[pull]\nidle-timout = 5\n');
    const r1 = await check('--config', misspelt);
    t.diagnostic(`misspelt: ${r1.code} ${r1.stderr.trim()}`);
    assert.equal(r1.code, 1);
    assert.equal(r1.stderr.trim(), `ferry: ${misspelt}:5: unknown key [pull] idle-timout`);

    const bad = writeConf('[pull]\n# seconds\nstall-timeout = soon\n');
    const r2 = await check('--config', bad);
    assert.equal(r2.code, 1);
    assert.equal(r2.stderr.trim(), `ferry: ${bad}:3: [pull] stall-timeout must be a whole number from 1 to 3600`);

    const r3 = await check('--set', 'pull.idle-timeout=x');
    assert.equal(r3.code, 1);
    assert.equal(r3.stderr.trim(), 'ferry: --set pull.idle-timeout: [pull] idle-timeout must be a whole number from 0 to 3600');
    const r4 = await check('--set', 'webrtc.port-min=40200');
    assert.equal(r4.code, 1);
    assert.match(r4.stderr, /port-min and port-max must both be set/);
  });

test('--set overrides the file for a running server: the port range and STUN server show in /rest-api/ice',
  { timeout: 60000 }, async (t) => {
    const f = await startFerry({ extraArgs: ['--config', writeConf('[webrtc]\nport-min = 41000\nport-max = 41009\n'),
      '--set', 'webrtc.port-min=40200', '--set', 'webrtc.port-max=40209', '--set', 'webrtc.stun-server=stun://127.0.0.1:3478'] });
    try {
      const ice = await f.rest('GET', '/rest-api/ice');
      t.diagnostic(JSON.stringify(ice.json));
      assert.deepEqual(ice.json.portRange, [40200, 40209]);
      assert.equal(ice.json.stunServer, 'stun://127.0.0.1:3478');
      assert.deepEqual(await f.stopAndCheck(), []);
    } finally {
      await f.proc.stop();
    }
  });

test('the systemd unit (data/ferry.service.in, configured by meson) passes systemd-analyze verify, and its security exposure is at most 2.5 ("OK")',
  { timeout: 60000 }, async (t) => {
    const built = path.join(path.dirname(path.dirname(FERRY_BIN)), 'ferry.service');
    assert.ok(fs.existsSync(built), `${built} (meson configures it next to src/)`);
    // As installed, but with this build's binary and the repository's config file.
    const unit = fs.readFileSync(built, 'utf8')
      .replace(/=\S*\/bin\/ferry /g, `=${FERRY_BIN} `)
      .replace(/\S+\/ferry\/ferry\.conf/g, path.join(REPO_DIR, 'data', 'ferry.conf'));
    const file = path.join(freshDir('unit'), 'ferry.service');
    fs.writeFileSync(file, unit);
    const v = await runCommand('/usr/bin/systemd-analyze', ['verify', file]);
    t.diagnostic(`verify: ${v.code} ${v.stderr.trim()}`);
    assert.equal(v.code, 0, v.stderr);
    assert.equal(v.stderr.trim(), '');
    const s = await runCommand('/usr/bin/systemd-analyze', ['security', '--offline=yes', '--threshold=25', file]);
    const overall = /Overall exposure level for \S+: ([\d.]+)/.exec(s.stdout);
    t.diagnostic(`security: ${overall ? overall[1] : s.stdout.slice(-300)}`);
    assert.equal(s.code, 0, s.stdout.slice(-2000));
  });

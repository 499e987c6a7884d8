// Logs under systemd (#9, docs/debugging.md#logs): with stderr connected to the journal,
// every GStreamer/Ferry log message is one journal entry with structured fields.
// The journal is played by this test inside run.sh's private mount namespace: a tmpfs
// over /run, a stream socket at /run/systemd/journal/stdout that Ferry's stderr is
// connected to (how systemd hands a service its stderr, and what GLib checks), and socat
// receiving the native protocol's datagrams at /run/systemd/journal/socket.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { startOrigin, startPublisher } from './lib/rtmp.mjs';
import { FERRY_BIN } from './lib/ferry.mjs';
import { startPeer, streamReport } from './lib/peer.mjs';
import { runCommand, startProcess } from './lib/proc.mjs';
import { freePort, freshDir, request, waitFor } from './lib/util.mjs';

let origin;
let pub;
let socat;
let server;
let mounted = false;
const dir = freshDir('journal');
const datagrams = path.join(dir, 'journal.bin');
let stderrText = '';
let stderrClosed = null;   // resolves once Ferry's end of the stderr socket is closed

before(async () => {
  const m = await runCommand('mount', ['-t', 'tmpfs', 'tmpfs', '/run']);
  assert.equal(m.code, 0, `tmpfs over /run (needs run.sh's private mount namespace): ${m.stderr}`);
  mounted = true;
  fs.mkdirSync('/run/systemd/journal', { recursive: true });
  socat = startProcess('socat', 'socat', ['-u', 'UNIX-RECV:/run/systemd/journal/socket',
    `OPEN:${datagrams},creat,append`], { logFile: path.join(dir, 'socat.log') });
  server = net.createServer((s) => {
    stderrClosed = new Promise((ok) => s.once('close', ok));
    s.on('data', (d) => { stderrText += d; });
  });
  await new Promise((ok) => server.listen('/run/systemd/journal/stdout', ok));
  await waitFor('socat bound', async () => fs.existsSync('/run/systemd/journal/socket'), { timeout: 5000, interval: 50 });
  origin = await startOrigin();
  pub = await startPublisher(origin.url('jr1'), { logName: 'ffmpeg-jr1' });
}, { timeout: 60000 });

after(async () => {
  await Promise.allSettled([pub?.stop(), origin?.stop(), socat?.stop()]);
  server?.close();
  if (mounted) await runCommand('umount', ['-l', '/run']);
});

/** The journal entries socat received: one datagram each, every one starting with MESSAGE=. */
function entries() {
  const text = fs.existsSync(datagrams) ? fs.readFileSync(datagrams, 'latin1') : '';
  return text.split(/(?=MESSAGE=)/).filter((e) => e.startsWith('MESSAGE=')).map((e) => {
    const fields = {};
    for (const l of e.split('\n')) {
      const eq = l.indexOf('=');
      if (eq > 0) fields[l.slice(0, eq)] = l.slice(eq + 1);
    }
    return fields;
  });
}

test('under the journal: one entry per message, PRIORITY from the level, category, code place, stream and viewer ids', { timeout: 90000 }, async (t) => {
  const restPort = await freePort();
  const wsPort = await freePort();
  const stderr = net.connect('/run/systemd/journal/stdout');
  await new Promise((ok) => stderr.once('connect', ok));
  const ferry = spawn(FERRY_BIN, ['--rest-port', String(restPort), '--ws-port', String(wsPort), '--ice-address', '127.0.0.1'], {
    stdio: ['ignore', 'ignore', stderr],
    env: { ...process.env, GST_DEBUG: 'ferry*:4,rtmp2src:5,webrtcbin:4', G_DEBUG: 'fatal-criticals' },
  });
  const exited = new Promise((ok) => ferry.once('exit', (code, signal) => ok({ code, signal })));
  stderr.destroy();   // the child has its own copy
  const base = `http://127.0.0.1:${restPort}`;
  try {
    await waitFor('Ferry up', async () => (await request('GET', `${base}/config.json`, undefined, { agent: false })).status === 200,
      { timeout: 20000, interval: 200 });
    const r = await request('POST', `${base}/rest-api/pull/rtmp/pull`, { uri: origin.url('jr1'), localStreamName: 'jr1' });
    assert.equal(r.status, 200, r.text);
    const id = r.json.localMediaSessionId;
    await waitFor('PLAYING', async () => (await request('POST', `${base}/rest-api/pull/rtmp/find_all`, {})).json[0]?.status === 'PLAYING',
      { timeout: 20000, interval: 250 });
    const peer = startPeer({ url: `ws://127.0.0.1:${wsPort}/`, names: ['jr1'], seconds: 10, extraArgs: ['--until-decoded'] });
    assert.ok(streamReport(await peer.result, 'jr1').videoFrames > 0, 'the viewer played');
    // a source that cannot be reached: WARNING entries
    await request('POST', `${base}/rest-api/pull/rtmp/pull`, { uri: `rtmp://127.0.0.1:${await freePort()}/live/none`, localStreamName: 'dead' });
    await waitFor('a warning entry', async () => entries().some((e) => /source lost/.test(e.MESSAGE)), { timeout: 15000, interval: 250 });

    const all = entries();
    t.diagnostic(`${all.length} journal entries`);
    const pulling = all.find((e) => /^stream jr1 \(.*\): pulling rtmp:/.test(e.MESSAGE));
    assert.ok(pulling, 'the pull start is an entry');
    assert.equal(pulling.PRIORITY, '6');
    assert.equal(pulling.GST_LEVEL, 'INFO');
    assert.equal(pulling.GST_CATEGORY, 'ferry-stream');
    assert.equal(pulling.SYSLOG_IDENTIFIER, 'ferry');
    assert.match(pulling.CODE_FILE, /ferry-stream\.c$/);
    assert.equal(pulling.CODE_FUNC, 'ferry_stream_start');
    assert.match(pulling.CODE_LINE, /^\d+$/);
    const lost = all.find((e) => /source lost/.test(e.MESSAGE));
    assert.equal(lost.PRIORITY, '4');
    assert.equal(lost.GST_LEVEL, 'WARN');   // GStreamer's own column name
    // an element's message says which stream (and viewer) it is about
    const src = all.find((e) => e.GST_CATEGORY === 'rtmp2src' && e.FERRY_STREAM_ID === id);
    assert.ok(src, `an rtmp2src entry with FERRY_STREAM_ID=${id}`);
    assert.match(src.GST_OBJECT, new RegExp(`^/ferry-${id}/`));
    const webrtc = all.find((e) => e.GST_CATEGORY === 'webrtcbin' && e.FERRY_VIEWER);
    assert.ok(webrtc, 'a webrtcbin entry with FERRY_VIEWER');
    assert.equal(webrtc.FERRY_STREAM_ID, id);
    assert.match(webrtc.GST_OBJECT, new RegExp(`/viewer-\\d+-${webrtc.FERRY_VIEWER}/`));
    // GStreamer's messages went to the journal, not as text to stderr
    assert.match(stderrText, /REST API and player on/);
    assert.doesNotMatch(stderrText, /ferry-stream|rtmp2src/);
  } finally {
    ferry.kill('SIGTERM');
    const timer = setTimeout(() => ferry.kill('SIGKILL'), 10000);
    const e = await exited;
    clearTimeout(timer);
    await stderrClosed;   // everything Ferry wrote to stderr has arrived
    fs.writeFileSync(path.join(dir, 'ferry-stderr.log'), stderrText);
    assert.doesNotMatch(stderrText, /ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|CRITICAL/, stderrText.slice(-3000));
    assert.deepEqual(e, { code: 0, signal: null });
  }
});

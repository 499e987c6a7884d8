// The rest of the WCS play protocol (wcs-websocket-protocol.md §5-§10), end to end:
// keep-alive pings, every failure info, stopStream edge cases, socket loss, messages
// Ferry answers or ignores, and offers that are not Chromium's usual audio+video. Edge
// cases use a raw WebSocket client (lib/wsclient.mjs) with fake-credential offers (the
// viewer is built and answers, ICE never connects); media is checked with the C peer and
// with the official WebSDK in Chromium.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startEnv } from './lib/env.mjs';
import { startFerry } from './lib/ferry.mjs';
import { runPeer, streamReport } from './lib/peer.mjs';
import { launchBrowser, closeBrowser, inboundStats } from './lib/browser.mjs';
import { openSdkPage, startSdkServer } from './lib/sdk-page.mjs';
import { connectWs, establishedWs } from './lib/wsclient.mjs';
import { freshDir, sleep, waitFor, writeConf } from './lib/util.mjs';
import {
  FIREFOX_PT, chromiumOffer, firefoxOffer, firefoxTemplate, mlines, noCommonCodecOffer,
} from './fixtures/offers.mjs';

let env;
let ferry;

// Viewers that never connect must outlive each test (ice-timeout), and 'never' (a name
// nobody publishes) must stay PENDING for the whole file (connect/idle timeouts). The
// default keep-alive (10 s × 3) is far slower than any socket-loss assertion here.
before(async () => {
  env = await startEnv({ publish: ['cam1', 'cam2'], ferry: false });
  const conf = writeConf('[webrtc]\nice-timeout = 60\n[pull]\nconnect-timeout = 60\nidle-timeout = 60\n');
  ferry = await startFerry({ extraArgs: ['--config', conf] });
  await Promise.all([
    ferry.pullPlaying(env.uri('cam1'), 'cam1'),
    ferry.pullPlaying(env.uri('cam2'), 'cam2'),
  ]);
  const r = await ferry.pull({ uri: env.uri('never'), localStreamName: 'never' });
  assert.equal(r.status, 200, r.text);
}, { timeout: 60000 });

after(async () => {
  if (ferry) await ferry.proc.stop({ graceMs: 10000 });
  if (env) await env.stop();
});

const viewersOf = async (f, name) => (await f.find((p) => p.localStreamName === name))?.viewers;
const statusOf = (m) => (m.message === 'notifyStreamStatusEvent' ? `${m.data[0].status}:${m.data[0].info ?? ''}` : null);
const play = (ws, mediaSessionId, name, sdp, extra = {}) => ws.wcs('playStream', {
  mediaSessionId, name, published: false, hasVideo: true, hasAudio: true, status: 'PENDING',
  record: false, width: 0, height: 0, mediaProvider: 'WebRTC', sdp, ...extra,
});
const answerFor = (ws, id) => ws.next((m) => m.message === 'setRemoteSDP' && m.data[0] === id,
  { what: `setRemoteSDP for ${id}` });
const statusFor = (ws, id) => ws.next((m) => m.message === 'notifyStreamStatusEvent' && m.data[0].mediaSessionId === id,
  { what: `a status for ${id}` });

/** Sends a sentinel the server always answers and returns what came before its answer. */
async function drain(ws, from) {
  const marker = `sentinel-${Math.random().toString(36).slice(2)}`;
  ws.wcs('availableStream', { mediaSessionId: marker, name: 'cam1' });
  const reply = await ws.next((m) => m.message === 'availableStream' && m.data[0].id === marker,
    { from, what: 'the sentinel availableStream reply' });
  return ws.messages.slice(from, ws.messages.indexOf(reply)).filter((m) => m.message !== 'ping');
}

test('connection gets exactly the documented getUserData, without webRTCMetricsServerDescription', { timeout: 15000 }, async () => {
  const ws = await connectWs(ferry.wsUrl);
  try {
    ws.wcs('connection', { appKey: 'myApp', mediaProviders: ['WebRTC', 'MSE', 'WSPlayer'], clientVersion: '2.0',
      clientOSVersion: '5.0 (X11)', clientBrowserVersion: 'Mozilla/5.0', msePacketizationVersion: 2, clientInfo: {} });
    const m = await ws.next((x) => x.message === 'getUserData');
    const sid = m.data?.[0]?.sessionId;
    assert.match(sid, /^[0-9a-f-]{36}$/);
    // §6.2/§7: data[0] an object; with webRTCMetricsServerDescription the SDK would start
    // sending metrics over this socket.
    assert.deepEqual(m, { message: 'getUserData', data: [{
      status: 'ESTABLISHED', sessionId: sid, authToken: sid, mediaProviders: ['WebRTC'],
      appKey: 'myApp', clientVersion: '2.0', server: 'ferry', useWsTunnel: false }] });
  } finally { ws.destroy(); }
});

test('client ping gets no reply; unknown messages, stray pongs and binary frames are ignored; the socket stays open',
  { timeout: 15000 }, async () => {
    const ws = await establishedWs(ferry.wsUrl);
    try {
      const from = ws.messages.length;
      ws.send({ message: 'ping', data: [null] });
      ws.send({ message: 'pong', data: [null] });
      ws.send({ message: 'noSuchMessage', data: [{ x: 1 }] });
      ws.send({ message: 'sendData', data: [{ operationId: 'op1', payload: {} }] });
      ws.send({ message: 'webRTCMetricsBatch', data: [{}] });
      ws.send({ message: 'pushLogs', data: [{ logs: 'x' }] });
      ws.send({ message: 'playStream' });                  // no data at all
      ws.send({ message: 'stopStream', data: [] });
      ws.send({ message: 42, data: [{}] });
      ws.send('not json');
      ws.sendBinary([1, 2, 3]);
      assert.deepEqual(await drain(ws, from), [], 'Ferry answered something it should ignore');
      assert.ok(ws.isOpen(), 'socket closed');
    } finally { ws.destroy(); }
  });

test('availableStream is answered with the string "true" or "false" (and "Stream not found")', { timeout: 15000 }, async () => {
  const ws = await establishedWs(ferry.wsUrl);
  try {
    const ask = async (id, name) => {
      ws.wcs('availableStream', { mediaSessionId: id, name });
      return ws.next((m) => m.message === 'availableStream' && m.data[0].id === id);
    };
    assert.deepEqual(await ask('av-1', 'cam1'),
      { message: 'availableStream', data: [{ id: 'av-1', name: 'cam1', status: 'true' }] });
    assert.deepEqual(await ask('av-2', 'nope'),
      { message: 'availableStream', data: [{ id: 'av-2', name: 'nope', status: 'false', info: 'Stream not found' }] });
    // A PENDING pull is playable (its viewers wait for media), so it is available.
    assert.equal((await ask('av-3', 'never')).data[0].status, 'true');
  } finally { ws.destroy(); }
});

test('playStream failures carry the SDK\'s info strings; a duplicate id leaves the first viewer alone',
  { timeout: 30000 }, async () => {
    const ws = await establishedWs(ferry.wsUrl);
    try {
      const before = await viewersOf(ferry, 'cam1');
      const from = ws.messages.length;
      play(ws, undefined, 'cam1', chromiumOffer());
      await ws.next((m) => statusOf(m) === 'FAILED:MediaSessionId is null', { from });
      const nullId = ws.messages.length;
      play(ws, null, 'cam1', chromiumOffer());
      const m = await ws.next((x) => statusOf(x) === 'FAILED:MediaSessionId is null', { from: nullId });
      assert.equal(m.data[0].mediaSessionId, null);

      play(ws, 'mse-1', 'cam1', 'v=0\r\n', { mediaProvider: 'MSE' });
      play(ws, 'wsp-1', 'cam1', 'v=0\r\n', { mediaProvider: 'WSPlayer' });
      play(ws, 'codec-1', 'cam1', noCommonCodecOffer());
      // 'never' is PENDING: without an early check this would wait for media for 60 s.
      play(ws, 'codec-2', 'never', noCommonCodecOffer());
      play(ws, 'dup-1', 'cam1', chromiumOffer());
      await answerFor(ws, 'dup-1');
      play(ws, 'dup-1', 'cam1', chromiumOffer());
      await ws.next((x) => statusOf(x) === 'FAILED:MediaSessionId is already in use');
      for (const id of ['mse-1', 'wsp-1', 'codec-1', 'codec-2']) await statusFor(ws, id);
      assert.deepEqual(ws.statuses('mse-1'), ['FAILED:Failed to add stream to proxy']);
      assert.deepEqual(ws.statuses('wsp-1'), ['FAILED:Failed to add stream to proxy']);
      assert.deepEqual(ws.statuses('codec-1'), ['FAILED:No common codecs']);
      assert.deepEqual(ws.statuses('codec-2'), ['FAILED:No common codecs']);
      // The first dup-1 still exists: it is the one viewer left, and stopStream reaches it.
      assert.equal(await viewersOf(ferry, 'cam1'), before + 1);
      assert.equal(await viewersOf(ferry, 'never'), 0);
      ws.wcs('stopStream', { mediaSessionId: 'dup-1', name: 'cam1' });
      await ws.next((x) => statusOf(x) === 'STOPPED:Stopped by user' && x.data[0].mediaSessionId === 'dup-1');
      assert.deepEqual(ws.statuses('dup-1'), ['FAILED:MediaSessionId is already in use', 'STOPPED:Stopped by user']);
      await waitFor('dup-1 freed', async () => (await viewersOf(ferry, 'cam1')) === before);
    } finally { ws.destroy(); }
  });

test('DTLS: a client whose certificate does not match its offer\'s a=fingerprint gets FAILED "Failed by DTLS fingerprint error"',
  { timeout: 40000 }, async () => {
    const res = await runPeer({ url: ferry.wsUrl, names: ['cam1'], seconds: 15, extraArgs: ['--bad-fingerprint'] });
    const s = streamReport(res, 'cam1');
    // ICE completed (the check runs on DTLS connected), then Ferry refused the peer.
    assert.equal(s.iceConnected, true, JSON.stringify(s));
    assert.deepEqual(s.statuses.map((x) => `${x.status}:${x.info}`), ['FAILED:Failed by DTLS fingerprint error']);
    await waitFor('the refused viewer freed', async () => (await viewersOf(ferry, 'cam1')) === 0);
  });

test('stopStream while the pull is PENDING, twice, and for an unknown id: STOPPED once, then silence; the socket plays on',
  { timeout: 30000 }, async () => {
    const ws = await establishedWs(ferry.wsUrl);
    try {
      play(ws, 'pend-1', 'never', chromiumOffer());
      await waitFor('the viewer to wait on the PENDING pull', async () => (await viewersOf(ferry, 'never')) === 1);
      assert.equal((await ferry.find((p) => p.localStreamName === 'never')).status, 'PENDING');
      ws.wcs('stopStream', { mediaSessionId: 'pend-1', name: 'never' });
      await ws.next((m) => statusOf(m) === 'STOPPED:Stopped by user');
      const from = ws.messages.length;
      ws.wcs('stopStream', { mediaSessionId: 'pend-1', name: 'never' });
      ws.wcs('stopStream', { mediaSessionId: 'no-such-id', name: 'cam1' });
      ws.wcs('stopStream', { name: 'cam1' });
      assert.deepEqual(await drain(ws, from), [], 'a repeated or unknown stopStream was answered');
      assert.deepEqual(ws.statuses('pend-1'), ['STOPPED:Stopped by user']);
      assert.deepEqual(ws.messages.filter((m) => m.message === 'setRemoteSDP'), [], 'an answer for a PENDING pull');
      await waitFor('the PENDING pull to lose its viewer', async () => (await viewersOf(ferry, 'never')) === 0);
      // The same socket still plays.
      play(ws, 'after-1', 'cam1', chromiumOffer());
      await answerFor(ws, 'after-1');
      ws.wcs('stopStream', { mediaSessionId: 'after-1', name: 'cam1' });
      await ws.next((m) => statusOf(m) === 'STOPPED:Stopped by user' && m.data[0].mediaSessionId === 'after-1');
      assert.ok(ws.isOpen());
    } finally { ws.destroy(); }
  });

test('three streams on one socket (cam1 twice) and cam1 on a second socket: every viewer decodes',
  { timeout: 40000 }, async () => {
    // --until-decoded: each peer ends once all its streams decoded half a second of
    // both tracks; 20 s is only the bound for a loaded machine.
    const [ra, rb] = await Promise.all([
      runPeer({ url: ferry.wsUrl, names: ['cam1', 'cam2', 'cam1'], seconds: 20, extraArgs: ['--until-decoded'] }),
      runPeer({ url: ferry.wsUrl, names: ['cam1'], seconds: 20, extraArgs: ['--until-decoded'] }),
    ]);
    const all = [...ra.report.streams, ...rb.report.streams];
    assert.equal(all.length, 4, JSON.stringify([ra.report, rb.report]));
    assert.equal(new Set(all.map((s) => s.mediaSessionId)).size, 4);
    for (const s of all) {
      const summary = JSON.stringify({ ...s, answerSdp: undefined });
      assert.deepEqual(s.statuses.map((x) => x.status), ['PLAYING'], summary);
      assert.ok(s.videoFrames > 0 && s.audioSamples > 0, summary);
    }
    await waitFor('the viewers freed', async () => (await viewersOf(ferry, 'cam1')) === 0
      && (await viewersOf(ferry, 'cam2')) === 0);
  });

test('the same mediaSessionId from two sockets makes two independent viewers', { timeout: 20000 }, async () => {
  const [a, b] = await Promise.all([establishedWs(ferry.wsUrl), establishedWs(ferry.wsUrl)]);
  try {
    const before = await viewersOf(ferry, 'cam1');
    play(a, 'same-id', 'cam1', chromiumOffer());
    play(b, 'same-id', 'cam1', chromiumOffer());
    await Promise.all([answerFor(a, 'same-id'), answerFor(b, 'same-id')]);
    assert.deepEqual([a.statuses('same-id'), b.statuses('same-id')], [[], []]);
    assert.equal(await viewersOf(ferry, 'cam1'), before + 2);
    a.wcs('stopStream', { mediaSessionId: 'same-id' });
    await a.next((m) => statusOf(m) === 'STOPPED:Stopped by user');
    await waitFor('one viewer left', async () => (await viewersOf(ferry, 'cam1')) === before + 1);
    assert.deepEqual(b.statuses('same-id'), []);
  } finally { a.destroy(); b.destroy(); }
});

test('abrupt TCP loss (FIN or RST, no close frame) frees exactly that client\'s viewers', { timeout: 30000 }, async () => {
  const [fin, rst, stays] = await Promise.all([0, 1, 2].map(() => establishedWs(ferry.wsUrl)));
  try {
    const base = { cam1: await viewersOf(ferry, 'cam1'), never: await viewersOf(ferry, 'never') };
    play(fin, 'fin-1', 'cam1', chromiumOffer());
    play(fin, 'fin-2', 'cam1', chromiumOffer());
    play(fin, 'fin-3', 'never', chromiumOffer());
    play(rst, 'rst-1', 'cam1', chromiumOffer());
    play(stays, 'stays-1', 'cam1', chromiumOffer());
    await Promise.all([answerFor(fin, 'fin-1'), answerFor(fin, 'fin-2'), answerFor(rst, 'rst-1'), answerFor(stays, 'stays-1')]);
    await waitFor('five viewers', async () => (await viewersOf(ferry, 'cam1')) === base.cam1 + 4
      && (await viewersOf(ferry, 'never')) === base.never + 1);
    // The viewers never connect (ice-timeout 60 s) and pings drop nobody for 30 s: only
    // noticing the lost socket frees them within this wait.
    fin.destroy();
    await waitFor('the FIN client\'s viewers freed', async () => (await viewersOf(ferry, 'cam1')) === base.cam1 + 2
      && (await viewersOf(ferry, 'never')) === base.never, { timeout: 10000 });
    rst.reset();
    await waitFor('the RST client\'s viewer freed', async () => (await viewersOf(ferry, 'cam1')) === base.cam1 + 1,
      { timeout: 10000 });
    assert.ok(stays.isOpen());
    assert.deepEqual(stays.statuses('stays-1'), []);
    assert.deepEqual(await drain(stays, stays.messages.length), []);
  } finally { stays.destroy(); }
});

test('answers follow the offer\'s m-lines (count, order, mids, payload types): audio-only, video-only, video-first, Firefox',
  { timeout: 30000 }, async () => {
    const ws = await establishedWs(ferry.wsUrl);
    const cases = {
      audioOnly: chromiumOffer({ video: false }),
      videoOnly: chromiumOffer({ audio: false }),
      videoFirst: chromiumOffer({ videoFirst: true }),
      firefox: firefoxOffer(),
      firefoxVideoFirst: firefoxOffer({ videoFirst: true }),
    };
    try {
      for (const [id, sdp] of Object.entries(cases)) play(ws, id, 'cam1', sdp);
      for (const [id, sdp] of Object.entries(cases)) {
        const answer = mlines((await answerFor(ws, id)).data[1]);
        const offer = mlines(sdp);
        assert.deepEqual(answer.map((m) => [m.kind, m.mid]), offer.map((m) => [m.kind, m.mid]), id);
        for (const m of answer) {
          assert.equal(m.direction, 'sendonly', `${id} ${m.kind}`);
          // One codec; video also has its RTX payload type (NACK resends, RFC 4588)
          // pointing at it, when the offer has one.
          const rtx = m.pts.slice(1);
          if (m.kind === 'audio') assert.equal(m.pts.length, 1, `${id} audio: ${m.pts}`);
          else assert.ok(rtx.length <= 1, `${id} video: ${m.pts}`);
          for (const pt of rtx) {
            assert.match(m.rtpmap[pt], /^rtx\/90000$/i, `${id} ${pt}`);
            assert.equal(m.fmtp[pt], `apt=${m.pts[0]}`, `${id} ${pt}`);
          }
          const enc = m.rtpmap[m.pts[0]];
          if (m.kind === 'audio') assert.match(enc, /^OPUS\/48000\/2$/i, id);
          else assert.match(enc, /^H264\/90000$/i, id);
        }
        if (id.startsWith('firefox')) {
          assert.deepEqual(Object.fromEntries(answer.map((m) => [m.kind, m.pts[0]])),
            { audio: FIREFOX_PT.opus, video: FIREFOX_PT.h264 }, id);
        } else {
          for (const m of answer) assert.equal(m.pts[0], m.kind === 'audio' ? 111 : 108, `${id} ${m.kind}`);
        }
        assert.deepEqual(ws.statuses(id), [], id);
        ws.wcs('stopStream', { mediaSessionId: id });
      }
      await waitFor('the viewers freed', async () => (await viewersOf(ferry, 'cam1')) === 0);
    } finally { ws.destroy(); }
  });

test('the C peer plays each offer shape: audio only, video only, Firefox\'s, Firefox\'s video first', { timeout: 60000 }, async () => {
  const dir = freshDir('offer-templates');
  const ff = path.join(dir, 'firefox.sdp');
  const ffVideoFirst = path.join(dir, 'firefox-video-first.sdp');
  fs.writeFileSync(ff, firefoxTemplate());
  fs.writeFileSync(ffVideoFirst, firefoxTemplate({ videoFirst: true }));
  const ffArgs = ['--audio-pt', String(FIREFOX_PT.opus), '--video-pt', String(FIREFOX_PT.h264)];
  const runs = {
    audioOnly: { args: ['--no-video-mline'], kinds: ['audio'] },
    videoOnly: { args: ['--no-audio-mline'], kinds: ['video'] },
    firefox: { args: ['--offer-template', ff, ...ffArgs], kinds: ['audio', 'video'] },
    firefoxVideoFirst: { args: ['--offer-template', ffVideoFirst, '--video-first', ...ffArgs], kinds: ['video', 'audio'] },
  };
  const results = {};
  const ids = Object.keys(runs);
  await Promise.all(ids.map(async (id) => {
    results[id] = await runPeer({ url: ferry.wsUrl, names: ['cam1'], seconds: 20,
      extraArgs: [...runs[id].args, '--until-decoded'] });
  }));
  ids.forEach((id) => {
    const s = streamReport(results[id], 'cam1');
    const summary = `${id}: ${JSON.stringify({ ...s, answerSdp: undefined })}`;
    assert.deepEqual(s.errors, [], summary);
    assert.deepEqual(s.statuses.map((x) => x.status), ['PLAYING'], summary);
    const answer = mlines(s.answerSdp);
    assert.deepEqual(answer.map((m) => m.kind), runs[id].kinds, `${id}:\n${s.answerSdp}`);
    if (id.startsWith('firefox')) {
      assert.deepEqual(answer.map((m) => m.pts[0]),
        runs[id].kinds.map((k) => (k === 'audio' ? FIREFOX_PT.opus : FIREFOX_PT.h264)), id);
    }
    const hasAudio = runs[id].kinds.includes('audio');
    const hasVideo = runs[id].kinds.includes('video');
    assert.equal(s.audioSamples > 0, hasAudio, summary);
    assert.equal(s.videoFrames > 0, hasVideo, summary);
  });
});

test('keep-alive: a client that stops answering pings is dropped and its viewer freed; one that answers stays',
  { timeout: 60000 }, async () => {
    // A Ferry of its own with a fast keep-alive: ping every 2 s, drop after 2 misses.
    const conf = writeConf('[webrtc]\nping-interval = 2\nping-misses = 2\nice-timeout = 60\n');
    const f = await startFerry({ extraArgs: ['--config', conf], env: { GST_DEBUG: 'ferry-signalling:4' } });
    try {
      await f.pullPlaying(env.uri('cam1'), 'k1');
      const [silent, answers] = await Promise.all([
        establishedWs(f.wsUrl, { autoPong: false }), establishedWs(f.wsUrl)]);
      play(silent, 'silent-1', 'k1', chromiumOffer());
      play(answers, 'answers-1', 'k1', chromiumOffer());
      await Promise.all([answerFor(silent, 'silent-1'), answerFor(answers, 'answers-1')]);
      assert.equal(await viewersOf(f, 'k1'), 2);

      const closed = await Promise.race([silent.closed, sleep(20000).then(() => null)]);
      assert.ok(closed, 'the silent client was not dropped within 20 s');
      assert.deepEqual(closed, { code: 1001, reason: 'no pong', clean: true });
      const pings = silent.messages.filter((m) => m.message === 'ping');
      assert.ok(pings.length >= 2, `dropped after ${pings.length} pings`);
      assert.deepEqual(pings[0], { message: 'ping', data: [] });
      await waitFor('the silent client\'s viewer freed', async () => (await viewersOf(f, 'k1')) === 1, { timeout: 5000 });
      assert.match(f.log(), /no pong to 2 pings in a row; dropping it/);

      // The answering client lives on through two more pings.
      const seen = answers.pongsSent;
      await waitFor('two more pings answered', () => answers.pongsSent >= seen + 2, { timeout: 15000 });
      assert.ok(answers.isOpen(), 'the answering client was dropped');
      assert.equal(await viewersOf(f, 'k1'), 1);
      assert.deepEqual(answers.statuses('answers-1'), []);
      answers.destroy();
    } finally {
      assert.deepEqual(await f.stopAndCheck(), []);
    }
  });

test('WebSDK in Chromium: constraints {audio:false} and {video:false} play one track each; available() resolves / rejects',
  { timeout: 60000 }, async () => {
    const [browser, sdkServer] = await Promise.all([launchBrowser(), startSdkServer()]);
    try {
      const page = await openSdkPage(browser, sdkServer.url);
      await page.evaluate((u) => window.sdk.connect(u), `ws://127.0.0.1:${ferry.wsPort}`);
      // window.sdk.play without options; the same, with constraints.
      const playWith = (name, constraints) => page.evaluate(([n, c]) => {
        const T = Flashphoner.constants.STREAM_STATUS;
        const div = document.createElement('div');
        document.getElementById('displays').appendChild(div);
        const rec = { events: [], pc: null };
        const stream = window.sdk.session.createStream({ name: n, display: div, constraints: c });
        rec.stream = stream;
        window.sdk.streams[n] = rec;
        [T.PENDING, T.PLAYING, T.STOPPED, T.FAILED].forEach((st) => stream.on(st, (s) => {
          rec.events.push({ status: st, info: s.getInfo() });
          if (!rec.pc) rec.pc = window.__pcs.filter((p) => p.__tag === n).pop() || null;
        }));
        window.__pcTag = n;
        stream.play();
      }, [name, constraints]);
      await playWith('cam1', { audio: false, video: true });
      await playWith('cam2', { audio: true, video: false });
      await page.waitForFunction(() => ['cam1', 'cam2'].every((n) => window.sdk.statuses(n).includes('PLAYING')),
        null, { timeout: 20000 });
      const pcOf = (n) => `window.sdk.streams[${JSON.stringify(n)}].pc`;
      const remoteKinds = (n) => page.evaluate((e) => (new Function(`return (${e});`)()).remoteDescription.sdp
        .split('\r\n').filter((l) => l.startsWith('m=')).map((l) => l.split(' ')[0].slice(2)), pcOf(n));
      assert.deepEqual(await remoteKinds('cam1'), ['video']);
      assert.deepEqual(await remoteKinds('cam2'), ['audio']);
      const grows = async (n, kind, field) => {
        const first = await waitFor(`${n} ${kind} ${field} > 0`, async () => {
          const s = await inboundStats(page, pcOf(n));
          return s[kind] && s[kind][field] > 0 && s;
        }, { timeout: 15000, interval: 250 });
        await waitFor(`${n} ${kind} ${field} growing`, async () => {
          const s = await inboundStats(page, pcOf(n));
          return s[kind][field] > first[kind][field];
        }, { timeout: 6000, interval: 500 });
        return first;
      };
      const v = await grows('cam1', 'video', 'framesDecoded');
      const a = await grows('cam2', 'audio', 'totalSamplesReceived');
      assert.equal(v.audio, null, 'audio received with {audio:false}');
      assert.equal(a.video, null, 'video received with {video:false}');

      const avail = await page.evaluate(async () => {
        const div = document.createElement('div');
        const yes = window.sdk.session.createStream({ name: 'cam1', display: div });
        const no = window.sdk.session.createStream({ name: 'nope', display: div });
        const r = {};
        r.cam1 = await yes.available().then(() => 'resolved', () => 'rejected');
        r.nope = await no.available().then(() => 'resolved', () => 'rejected');
        r.nopeInfo = no.getInfo();
        return r;
      });
      assert.deepEqual(avail, { cam1: 'resolved', nope: 'rejected', nopeInfo: 'Stream not found' });

      await page.evaluate(() => { window.sdk.stop('cam1'); window.sdk.stop('cam2'); });
      await page.waitForFunction(() => ['cam1', 'cam2'].every((n) => window.sdk.statuses(n).includes('STOPPED')),
        null, { timeout: 10000 });
      assert.deepEqual(browser.pageErrors, []);
    } finally {
      await closeBrowser(browser);
      await sdkServer.close();
    }
  });

test('Ferry exits cleanly on SIGTERM with a clean log', { timeout: 20000 }, async () => {
  assert.deepEqual(await ferry.stopAndCheck(), []);
});

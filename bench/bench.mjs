// Ferry benchmark (issue #8 §1): what one pulled stream costs the server, with
// 0, 1, 10, 50, 100, 200 WebRTC viewers. Run it through bench/run.sh, which builds
// the release binaries and gives it a private loopback-only network namespace;
// docs/performance.md says what every figure means.
//
//   node bench/bench.mjs [--viewers 1,10,50,100,200] [--configs 2000k,600k]
//                        [--window 10] [--settle 5] [--per-peer 25] [--out DIR]
//
// Per configuration (a source bitrate/size): a fresh nginx-rtmp origin, an ffmpeg
// publisher and a fresh Ferry; pull over REST (time to PLAYING), measure the idle
// baseline, then for each N start N receivers (ferry-test-peer --no-decode, the
// same name repeated, up to --per-peer viewers per process), let them settle,
// measure Ferry over --window seconds from /proc, stop them, and read back RSS
// once they are gone. Writes result.json and plot.svg to the results dir.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(BENCH_DIR, '..');

// The helpers read these when they are imported: release binaries unless told otherwise.
process.env.FERRY_BIN ||= path.join(REPO, 'build-rel', 'src', 'ferry');
process.env.FERRY_PEER_BIN ||= path.join(REPO, 'build-rel', 'tests', 'peer', 'ferry-test-peer');

const { values: opt } = parseArgs({
  options: {
    viewers: { type: 'string', default: '1,10,50,100,200' },
    configs: { type: 'string', default: '2000k,600k' },
    window: { type: 'string', default: '10' },
    settle: { type: 'string', default: '5' },
    'per-peer': { type: 'string', default: '25' },
    out: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});

// The sources. GOP 4 s (120 frames at 30 fps) fixed: no scene-cut keyframes.
const CONFIGS = {
  '2000k': { size: '1280x720', fps: 30, kbps: 2000 },
  '600k': { size: '640x360', fps: 30, kbps: 600 },
};
const GOP_FRAMES = 120;

if (opt.help) {
  console.log(`usage: node bench/bench.mjs [--viewers 1,10,50,100,200] [--configs ${Object.keys(CONFIGS).join(',')}]
                          [--window S] [--settle S] [--per-peer N] [--out DIR]`);
  process.exit(0);
}
const VIEWERS = opt.viewers.split(',').map((v) => Number(v.trim())).filter((v) => v > 0);
const CONFIG_NAMES = opt.configs.split(',').map((c) => c.trim()).filter(Boolean);
const WINDOW_S = Number(opt.window);
const SETTLE_S = Number(opt.settle);
const PER_PEER = Number(opt['per-peer']);
for (const c of CONFIG_NAMES) {
  if (!CONFIGS[c]) throw new Error(`unknown config ${c} (have ${Object.keys(CONFIGS).join(', ')})`);
}
if (!VIEWERS.length || VIEWERS.some((v) => !Number.isInteger(v))) throw new Error(`bad --viewers ${opt.viewers}`);
if (!(WINDOW_S > 0) || !(SETTLE_S >= 0) || !(PER_PEER > 0)) throw new Error('bad --window/--settle/--per-peer');

const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
const OUT = path.resolve(opt.out || process.env.BENCH_RESULTS || path.join(BENCH_DIR, 'results', stamp));
fs.mkdirSync(OUT, { recursive: true });
process.env.E2E_ARTIFACTS ||= path.join(OUT, 'logs');

const { startOrigin, startPublisher } = await import('../tests/e2e/lib/rtmp.mjs');
const { startFerry, FERRY_BIN } = await import('../tests/e2e/lib/ferry.mjs');
const { startPeer, PEER_BIN } = await import('../tests/e2e/lib/peer.mjs');
const { sleep, waitFor, udpReceiveDrops } = await import('../tests/e2e/lib/util.mjs');

for (const bin of [FERRY_BIN, PEER_BIN]) {
  if (!fs.existsSync(bin)) throw new Error(`${bin} not found: run bench/run.sh (it builds build-rel)`);
}

// ---- /proc readers -------------------------------------------------------

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/** user+sys CPU seconds, threads and state of `pid` (proc(5): fields 14, 15, 20). */
function procStat(pid) {
  const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');   // f[0] is field 3
  return { cpuS: (Number(f[11]) + Number(f[12])) / CLK_TCK, threads: Number(f[17]) };
}

function procStatus(pid) {
  const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k) => Number((s.match(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm')) || [])[1] || 0);
  // RssFile: mapped files (libraries, plugins: loaded once, by the first viewer);
  // RssAnon: the heap and stacks, what viewers allocate
  return { rssKB: kb('VmRSS'), hwmKB: kb('VmHWM'), rssAnonKB: kb('RssAnon'), rssFileKB: kb('RssFile') };
}

const fdCount = (pid) => fs.readdirSync(`/proc/${pid}/fd`).length;

/** The whole machine: busy and total jiffies over every CPU (proc(5) /proc/stat). */
function machineStat() {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);   // without guest (in user already)
  const idle = f[3] + f[4];
  return { total, busy: total - idle };
}

function cpuOf(pids) {
  let s = 0;
  for (const pid of pids) {
    try { s += procStat(pid).cpuS; } catch { /* gone */ }
  }
  return s;
}

/**
 * Measures over `seconds`: Ferry's CPU (% of one core), its RSS (mean and max of
 * one sample a second), threads and fds (at the end), the other processes' CPU
 * and the machine's busy share of all cores.
 */
async function measure(ferryPid, others, seconds) {
  const t0 = process.hrtime.bigint();
  const c0 = procStat(ferryPid).cpuS;
  const o0 = Object.fromEntries(Object.entries(others).map(([k, pids]) => [k, cpuOf(pids)]));
  const m0 = machineStat();
  const rss = [];
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    rss.push(procStatus(ferryPid).rssKB);
    await sleep(Math.min(1000, Math.max(0, end - Date.now())));
  }
  const t1 = process.hrtime.bigint();
  const wall = Number(t1 - t0) / 1e9;
  const st = procStat(ferryPid);
  const m1 = machineStat();
  const last = procStatus(ferryPid);
  rss.push(last.rssKB);
  const othersPct = {};
  for (const [k, pids] of Object.entries(others)) othersPct[k] = round(((cpuOf(pids) - o0[k]) / wall) * 100, 1);
  return {
    wallS: round(wall, 2),
    cpuPct: round(((st.cpuS - c0) / wall) * 100, 1),
    rssKB: Math.round(rss.reduce((a, b) => a + b, 0) / rss.length),
    rssMaxKB: Math.max(...rss),
    rssAnonKB: last.rssAnonKB,
    rssFileKB: last.rssFileKB,
    threads: st.threads,
    fds: fdCount(ferryPid),
    othersCpuPct: othersPct,
    machineBusyPct: round(((m1.busy - m0.busy) / Math.max(1, m1.total - m0.total)) * 100, 1),
  };
}

// ---- small helpers -------------------------------------------------------

function round(v, d = 0) {
  if (v === null || v === undefined || !Number.isFinite(v)) return null;
  const k = 10 ** d;
  return Math.round(v * k) / k;
}

function percentile(xs, p) {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

const log = (...a) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}]`, ...a);

async function viewersOf(ferry, name) {
  const p = await ferry.find((x) => x.localStreamName === name);
  return p ? p.viewers : 0;
}

/** The x264 settings ffmpeg printed (e.g. "keyint=120 keyint_min=120 … bitrate=2000"). */
function x264Settings(logText) {
  const m = logText.match(/options: (.*keyint=.*)$/m);
  if (!m) return null;
  const keep = ['profile', 'keyint', 'keyint_min', 'scenecut', 'bframes', 'rc', 'bitrate', 'vbv_maxrate', 'vbv_bufsize'];
  const out = {};
  for (const kv of m[1].trim().split(/\s+/)) {
    const [k, v] = kv.split('=');
    if (keep.includes(k)) out[k] = v;
  }
  const prof = logText.match(/libx264 @ [^\]]+\] profile (\S+)/);
  if (prof) out.profile = prof[1].replace(/,$/, '');
  return out;
}

// ---- one stage: N viewers ------------------------------------------------

async function stage(ctx, n) {
  const { ferry, name } = ctx;
  const nProcs = Math.ceil(n / PER_PEER);
  const joinTimeoutS = 20 + n * 0.5;
  // The peers run until SIGTERM; --seconds only bounds a run that goes wrong.
  const seconds = joinTimeoutS + SETTLE_S + WINDOW_S + 60;
  const peers = [];
  ctx.drops0 = udpReceiveDrops();
  for (let i = 0; i < nProcs; i++) {
    const k = Math.min(PER_PEER, n - i * PER_PEER);
    const startedAt = Date.now();
    const p = startPeer({ url: ferry.wsUrl, names: Array(k).fill(name), seconds, extraArgs: ['--no-decode', '--no-nack'] });
    peers.push({ ...p, startedAt, k });
  }
  log(`N=${n}: ${nProcs} peer process(es) started`);
  try {
    return await measureStage(ctx, n, peers, joinTimeoutS);
  } finally {
    // a stage that failed half-way leaves no receiver behind
    await Promise.allSettled(peers.map((p) => p.proc.stop({ graceMs: 30000 })));
  }
}

async function measureStage(ctx, n, peers, joinTimeoutS) {
  const { ferry, name, baseline } = ctx;
  const nProcs = peers.length;
  let peak = 0;
  await waitFor(`${n} viewers attached`, async () => {
    for (const p of peers) if (p.proc.exitInfo) throw Object.assign(new Error(`peer exited ${JSON.stringify(p.proc.exitInfo)}`), { fatal: true });
    peak = await viewersOf(ferry, name);
    return peak >= n;
  }, { timeout: joinTimeoutS * 1000, interval: 100 });
  const attachedAt = Date.now();
  await sleep(SETTLE_S * 1000);
  const windowStart = Date.now();
  const m = await measure(ferry.proc.pid, {
    peers: peers.map((p) => p.proc.pid),
    publisher: [ctx.publisher.proc.pid],
    origin: [ctx.origin.proc.pid],
  }, WINDOW_S);
  const stopAt = Date.now();
  const kernelDrops = udpReceiveDrops() - ctx.drops0;
  // Ferry's own transit figures ([debug] transit-stats), over this stage's viewers
  const transit = ctx.ferry
    ? ((await ctx.ferry.find((x) => x.localStreamName === name)) || {}).transit?.video ?? null : null;
  const stops = peers.map((p) => p.proc.stop({ graceMs: 30000 }));
  const results = await Promise.all(peers.map((p) => p.result));
  await Promise.all(stops);

  // what the receivers saw, over each viewer's whole life (join burst included)
  const streams = [];
  results.forEach((r, i) => {
    for (const s of (r.report && r.report.streams) || []) streams.push({ ...s, peer: i });
  });
  const playing = streams.filter((s) => s.statuses.some((x) => x.status === 'PLAYING'));
  const receiving = streams.filter((s) => s.rtp.video.packets > 0);
  const joins = receiving.map((s) => s.firstVideoRtpMs).filter((v) => v !== null);
  const late = receiving.filter((s) => s.firstVideoRtpMs > windowStart - peers[s.peer].startedAt).length;
  const vPkts = receiving.map((s) => s.rtp.video.packets);
  const vGaps = receiving.reduce((a, s) => a + s.rtp.video.seqGaps, 0);
  const aPkts = receiving.reduce((a, s) => a + s.rtp.audio.packets, 0);
  const aGaps = receiving.reduce((a, s) => a + s.rtp.audio.seqGaps, 0);
  // packets per second from its first video packet to the stop (≈: the last packets
  // come during the peer's teardown)
  const rates = receiving.map((s) => s.rtp.video.packets
    / ((stopAt - peers[s.peer].startedAt - s.firstVideoRtpMs) / 1000));
  const errors = streams.flatMap((s) => s.errors);

  // after they left: Ferry drops the viewers, then RSS settles (or does not)
  await waitFor('every viewer gone', async () => (await viewersOf(ferry, name)) === 0,
    { timeout: 20000, interval: 200 }).catch((e) => log(`N=${n}: ${e.message}`));
  await sleep(3000);
  const afterSt = procStatus(ferry.proc.pid);
  const after = afterSt.rssKB;

  const totalV = vPkts.reduce((a, b) => a + b, 0);
  return {
    n,
    peerProcesses: nProcs,
    joinToAttachedMs: attachedAt - peers[0].startedAt,
    ferry: m,
    transit,
    // UDP datagrams the receivers' sockets dropped in the namespace (RcvbufErrors)
    // from the start of the stage to the end of its window: loss that is the receivers'
    kernelDrops,
    perViewer: {
      cpuPct: round((m.cpuPct - baseline.cpuPct) / n, 2),
      rssKB: round((m.rssKB - baseline.rssKB) / n, 0),
    },
    viewers: {
      requested: n,
      attachedPeak: peak,
      reported: streams.length,
      playing: playing.length,
      receiving: receiving.length,
      lateForWindow: late,
      videoPacketsMean: round(totalV / Math.max(1, receiving.length), 0),
      videoPacketsMin: vPkts.length ? Math.min(...vPkts) : 0,
      videoPktPerSMean: round(rates.reduce((a, b) => a + b, 0) / Math.max(1, rates.length), 1),
      videoSeqGaps: vGaps,
      videoLossPct: round((vGaps / Math.max(1, totalV + vGaps)) * 100, 3),
      audioPackets: aPkts,
      audioSeqGaps: aGaps,
      audioLossPct: round((aGaps / Math.max(1, aPkts + aGaps)) * 100, 3),
      firstVideoMsP50: round(percentile(joins, 50), 0),
      firstVideoMsP95: round(percentile(joins, 95), 0),
      firstVideoMsMax: joins.length ? round(Math.max(...joins), 0) : null,
      errors: [...new Set(errors)].slice(0, 10),
      peerExits: results.map((r) => ({ code: r.code, signal: r.signal })),
    },
    afterLeave: {
      rssKB: after,
      vsBaselinePct: round(((after - baseline.rssKB) / baseline.rssKB) * 100, 1),
      rssAnonKB: afterSt.rssAnonKB,
      anonVsBaselinePct: round(((afterSt.rssAnonKB - baseline.rssAnonKB) / baseline.rssAnonKB) * 100, 1),
    },
  };
}

// ---- one configuration ---------------------------------------------------

async function runConfig(cname) {
  const c = CONFIGS[cname];
  const name = `bench${cname}`;
  const res = { name: cname, source: { ...c, gopS: GOP_FRAMES / c.fps, audio: 'AAC 96 kbit/s 44.1 kHz (Opus 64 kbit/s to viewers)' } };
  const ctx = { name };
  try {
    ctx.origin = await startOrigin();
    ctx.publisher = await startPublisher(ctx.origin.url(name), {
      logName: `ffmpeg-${cname}`, size: c.size, fps: c.fps,
      videoArgs: ['-b:v', `${c.kbps}k`, '-maxrate', `${c.kbps}k`, '-bufsize', `${c.kbps}k`,
        '-g', String(GOP_FRAMES), '-keyint_min', String(GOP_FRAMES), '-sc_threshold', '0'],
    });
    // transit-stats: one probe per packet and viewer (docs/performance.md says its cost)
    // Not G_DEBUG=fatal-criticals (as in the tests): a deployment runs without it, and
    // a GLib-CRITICAL inside GStreamer under load (docs/performance.md) would end the run;
    // criticals still count as problems in ferryProblems.
    ctx.ferry = await startFerry({ extraArgs: ['--set', 'debug.transit-stats=true'], env: { G_DEBUG: '' } });
    const ferry = ctx.ferry;
    res.source.x264 = x264Settings(ctx.publisher.proc.log());

    // pull → PLAYING, polled every 20 ms
    const t0 = Date.now();
    const r = await ferry.pull({ uri: ctx.origin.url(name), localStreamName: name });
    if (r.status !== 200) throw new Error(`pull: HTTP ${r.status} ${r.text}`);
    await waitFor('PLAYING', async () => {
      const p = await ferry.find((x) => x.localStreamName === name);
      if (p && (p.status === 'FAILED' || p.status === 'STOPPED')) throw Object.assign(new Error(`pull ${p.status} ${p.info}`), { fatal: true });
      return p && p.status === 'PLAYING';
    }, { timeout: 20000, interval: 20 });
    res.pullToPlayingMs = Date.now() - t0;
    log(`${cname}: pull → PLAYING in ${res.pullToPlayingMs} ms`);

    // the idle baseline: the stream pulled, no viewer; after the GOP cache has
    // filled once and one viewer came and went (the first loads webrtcbin, libnice,
    // OpenSSL and libsrtp: file-backed pages and one-time allocations, not per viewer)
    await sleep(Math.max(5, GOP_FRAMES / c.fps + 1) * 1000);
    const warm = startPeer({ url: ferry.wsUrl, names: [name], seconds: 5, extraArgs: ['--no-decode', '--no-nack'] });
    await warm.result;
    await waitFor('the warm-up viewer gone', async () => (await viewersOf(ferry, name)) === 0,
      { timeout: 20000, interval: 200 });
    await sleep(3000);
    const others = { publisher: [ctx.publisher.proc.pid], origin: [ctx.origin.proc.pid] };
    ctx.baseline = await measure(ferry.proc.pid, others, WINDOW_S);
    res.baseline = ctx.baseline;
    log(`${cname}: N=0 CPU ${ctx.baseline.cpuPct}% RSS ${(ctx.baseline.rssKB / 1024).toFixed(1)} MB`);

    res.stages = [];
    for (const n of VIEWERS) {
      if (!ferry.alive()) throw new Error(`Ferry exited: ${JSON.stringify(ferry.proc.exitInfo)}`);
      const s = await stage(ctx, n);
      res.stages.push(s);
      log(`${cname}: N=${n} CPU ${s.ferry.cpuPct}% RSS ${(s.ferry.rssKB / 1024).toFixed(1)} MB `
        + `receiving ${s.viewers.receiving}/${n} loss ${s.viewers.videoLossPct}% machine ${s.ferry.machineBusyPct}%`);
    }
    res.finalRssKB = procStatus(ferry.proc.pid).rssKB;
    res.finalRssVsBaselinePct = round(((res.finalRssKB - ctx.baseline.rssKB) / ctx.baseline.rssKB) * 100, 1);
    res.ferryProblems = await ferry.stopAndCheck();
    ctx.ferry = null;
  } catch (err) {
    res.error = String(err && err.stack || err);
    log(`${cname}: ${err.message}`);
  } finally {
    const all = [];
    if (ctx.ferry) all.push(ctx.ferry.proc.stop({ graceMs: 10000 }));
    if (ctx.publisher) all.push(ctx.publisher.stop());
    if (ctx.origin) all.push(ctx.origin.stop());
    await Promise.allSettled(all);
  }
  return res;
}

// ---- output --------------------------------------------------------------

function pad(s, w) { s = String(s ?? '-'); return s.length >= w ? s : ' '.repeat(w - s.length) + s; }

const sign = (v) => (v >= 0 ? `+${v}` : `${v}`);

function printTable(r) {
  const src = r.source;
  const out = [];
  out.push('');
  out.push(`== ${r.name}: ${src.size} ${src.fps} fps H.264 ${src.kbps} kbit/s, GOP ${src.gopS} s, + AAC; `
    + `pull → PLAYING ${r.pullToPlayingMs ?? '-'} ms`);
  if (r.error) out.push(`   ERROR: ${r.error.split('\n')[0]}`);
  if (!r.baseline) return console.log(out.join('\n'));
  const head = ['N', 'CPU%', 'dCPU/v', 'RSS MB', 'dRSS/v KB', 'thr', 'fds', 'recv', 'pkt/s/v', 'loss%', 'kdrop', 'join p50', 'p95 ms', 'tr p50', 'p99 ms', 'peers%', 'ffmpeg%', 'box%', 'RSS after (anon)'];
  const w = [4, 6, 7, 7, 9, 5, 5, 7, 8, 6, 6, 8, 7, 7, 7, 7, 8, 5, 22];
  out.push(head.map((h, i) => pad(h, w[i])).join(' '));
  const b = r.baseline;
  out.push([0, b.cpuPct, '', (b.rssKB / 1024).toFixed(1), '', b.threads, b.fds, '', '', '', '', '', '', '', '', '', b.othersCpuPct.publisher, b.machineBusyPct, '']
    .map((v, i) => pad(v, w[i])).join(' '));
  for (const s of r.stages || []) {
    const v = s.viewers;
    out.push([s.n, s.ferry.cpuPct, s.perViewer.cpuPct, (s.ferry.rssKB / 1024).toFixed(1), s.perViewer.rssKB,
      s.ferry.threads, s.ferry.fds, `${v.receiving}/${s.n}`, v.videoPktPerSMean, v.videoLossPct, s.kernelDrops,
      v.firstVideoMsP50, v.firstVideoMsP95, round(s.transit?.p50Ms, 1), round(s.transit?.p99Ms, 1), s.ferry.othersCpuPct.peers, s.ferry.othersCpuPct.publisher,
      s.ferry.machineBusyPct, `${(s.afterLeave.rssKB / 1024).toFixed(1)} ${sign(s.afterLeave.vsBaselinePct)}% (${sign(s.afterLeave.anonVsBaselinePct)}%)`]
      .map((x, i) => pad(x, w[i])).join(' '));
  }
  console.log(out.join('\n'));
}

/** CPU % and RSS MB against N, one line per configuration, as a hand-made SVG. */
function svgPlot(result) {
  const W = 920; const H = 380; const PW = 380; const PH = 260; const top = 50; const lefts = [70, 530];
  const colors = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd'];
  const series = result.configs.filter((c) => c.baseline).map((c) => ({
    name: c.name,
    cpu: [[0, c.baseline.cpuPct], ...(c.stages || []).map((s) => [s.n, s.ferry.cpuPct])],
    rss: [[0, c.baseline.rssKB / 1024], ...(c.stages || []).map((s) => [s.n, s.ferry.rssKB / 1024])],
  }));
  const maxN = Math.max(1, ...series.flatMap((s) => s.cpu.map((p) => p[0])));
  const nice = (v) => { const e = 10 ** Math.floor(Math.log10(Math.max(v, 1e-9))); return Math.ceil(v / e) * e; };
  const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const parts = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  parts.push(`<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${esc(`Ferry: one pulled stream, N WebRTC viewers (${result.conditions.cpus} cores, release build, loopback)`)}</text>`);
  [['Ferry CPU (% of one core)', 'cpu'], ['Ferry RSS (MB)', 'rss']].forEach(([title, key], pi) => {
    const x0 = lefts[pi];
    const maxY = nice(Math.max(1, ...series.flatMap((s) => s[key].map((p) => p[1]))) * 1.05);
    const X = (n) => x0 + (n / maxN) * PW;
    const Y = (v) => top + PH - (v / maxY) * PH;
    parts.push(`<text x="${x0 + PW / 2}" y="${top - 10}" text-anchor="middle">${esc(title)}</text>`);
    for (let i = 0; i <= 5; i++) {
      const v = (maxY / 5) * i;
      parts.push(`<line x1="${x0}" x2="${x0 + PW}" y1="${Y(v)}" y2="${Y(v)}" stroke="#ddd"/>`);
      parts.push(`<text x="${x0 - 6}" y="${Y(v) + 4}" text-anchor="end">${round(v, maxY < 10 ? 1 : 0)}</text>`);
    }
    const ticks = [0, ...new Set(series.flatMap((s) => s[key].map((p) => p[0])))].filter((v, i, a) => a.indexOf(v) === i);
    for (const n of ticks) {
      parts.push(`<line x1="${X(n)}" x2="${X(n)}" y1="${top + PH}" y2="${top + PH + 4}" stroke="black"/>`);
      parts.push(`<text x="${X(n)}" y="${top + PH + 17}" text-anchor="middle">${n}</text>`);
    }
    parts.push(`<text x="${x0 + PW / 2}" y="${top + PH + 34}" text-anchor="middle">viewers N</text>`);
    parts.push(`<rect x="${x0}" y="${top}" width="${PW}" height="${PH}" fill="none" stroke="black"/>`);
    series.forEach((s, si) => {
      const col = colors[si % colors.length];
      parts.push(`<polyline fill="none" stroke="${col}" stroke-width="2" points="${s[key].map((p) => `${X(p[0]).toFixed(1)},${Y(p[1]).toFixed(1)}`).join(' ')}"/>`);
      for (const p of s[key]) parts.push(`<circle cx="${X(p[0]).toFixed(1)}" cy="${Y(p[1]).toFixed(1)}" r="3" fill="${col}"/>`);
    });
  });
  series.forEach((s, si) => {
    const c = result.configs.find((x) => x.name === s.name).source;
    const y = H - 12 - (series.length - 1 - si) * 16;
    parts.push(`<line x1="70" x2="95" y1="${y - 4}" y2="${y - 4}" stroke="${colors[si % colors.length]}" stroke-width="2"/>`);
    parts.push(`<text x="100" y="${y}">${esc(`${s.name}: ${c.size} ${c.fps} fps H.264 ${c.kbps} kbit/s, GOP ${c.gopS} s + AAC`)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

function conditions() {
  let ferryVersion = null;
  try { ferryVersion = execFileSync(FERRY_BIN, ['--version'], { timeout: 5000 }).toString().trim(); } catch { /* none */ }
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    memoryMB: Math.round(os.totalmem() / 2 ** 20),
    kernel: os.release(),
    node: process.version,
    ferryBin: FERRY_BIN,
    ferryVersion,
    peerBin: PEER_BIN,
    receiver: 'ferry-test-peer --no-decode --no-nack (ICE, DTLS, SRTP, jitterbuffer; no decode; no NACK: its prompt-NACK RTCP share would cost the server ~20 RTCP packets/s per viewer), same name repeated',
    perPeerProcess: PER_PEER,
    network: 'private network namespace, loopback only',
    windowS: WINDOW_S,
    settleS: SETTLE_S,
    clkTck: CLK_TCK,
  };
}

// ---- main ----------------------------------------------------------------

const result = { startedAt: new Date().toISOString(), conditions: conditions(), viewers: VIEWERS, configs: [] };
log(`results in ${OUT}`);
for (const c of CONFIG_NAMES) {
  const r = await runConfig(c);
  result.configs.push(r);
  printTable(r);
  fs.writeFileSync(path.join(OUT, 'result.json'), `${JSON.stringify(result, null, 2)}\n`);
}
result.finishedAt = new Date().toISOString();
fs.writeFileSync(path.join(OUT, 'result.json'), `${JSON.stringify(result, null, 2)}\n`);
fs.writeFileSync(path.join(OUT, 'plot.svg'), `${svgPlot(result)}\n`);
console.log(`\nwrote ${path.join(OUT, 'result.json')} and plot.svg`);
const failed = result.configs.some((c) => c.error);
process.exit(failed ? 1 : 0);

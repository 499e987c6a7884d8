// A small RTMP origin for the tests that nginx-rtmp cannot be (#5, WCS known issues 5 and
// 7): it serves one FLV file to every player as *aggregate messages* (type 22: several FLV
// tags in one RTMP message, what Adobe Media Server sends), and sprinkles in the control
// traffic real origins send and Ferry must ignore: onBWDone, onStatus notifications,
// |RtmpSampleAccess, onMetaData again mid-stream, user control events (StreamIsRecorded,
// PingRequest). It speaks just enough RTMP for rtmp2src: the plain handshake, chunking both
// ways, connect / createStream / play (any other command gets a bare _result).
//
// startAggregateOrigin({ flvFile | tags, spanMs, aggregate }) → { port, url(name), stats, stop() }
//   tags:      [{type, ts, data}] to serve instead of a file's (readFlvTags)
//   spanMs:    media time one aggregate covers (default 100 ms)
//   aggregate: false sends each frame as its own audio/video message instead
//   stats:  { players, aggregates, tags, pings, pongs, commands }
import net from 'node:net';
import fs from 'node:fs';

/** FLV file → [{ type, ts, data }] (script, audio, video tags in file order). */
export function readFlvTags(file) {
  const b = fs.readFileSync(file);
  if (b.toString('latin1', 0, 3) !== 'FLV') throw new Error(`${file} is not FLV`);
  const tags = [];
  let pos = b.readUInt32BE(5) + 4;
  while (pos + 11 <= b.length) {
    const type = b[pos];
    const size = b.readUIntBE(pos + 1, 3);
    const ts = (b.readUIntBE(pos + 4, 3) | (b[pos + 7] << 24)) >>> 0;
    if (pos + 11 + size > b.length) break;
    tags.push({ type, ts, data: b.subarray(pos + 11, pos + 11 + size) });
    pos += 11 + size + 4;
  }
  return tags;
}

// ---- AMF0 (what the commands need) ----
function amf(v) {
  if (v === null) return Buffer.from([5]);
  if (typeof v === 'number') { const b = Buffer.alloc(9); b[0] = 0; b.writeDoubleBE(v, 1); return b; }
  if (typeof v === 'boolean') return Buffer.from([1, v ? 1 : 0]);
  if (typeof v === 'string') { const s = Buffer.from(v); const h = Buffer.alloc(3); h[0] = 2; h.writeUInt16BE(s.length, 1); return Buffer.concat([h, s]); }
  const parts = [Buffer.from([3])];
  for (const [k, val] of Object.entries(v)) {
    const key = Buffer.from(k); const kl = Buffer.alloc(2); kl.writeUInt16BE(key.length);
    parts.push(kl, key, amf(val));
  }
  parts.push(Buffer.from([0, 0, 9]));
  return Buffer.concat(parts);
}
const amfAll = (...vals) => Buffer.concat(vals.map(amf));

/** The command name and transaction id at the start of an AMF0 command message. */
function commandHead(p) {
  if (p[0] !== 2) return { name: '?', txid: 0 };
  const len = p.readUInt16BE(1);
  const name = p.toString('utf8', 3, 3 + len);
  const t = 3 + len;
  const txid = p[t] === 0 ? p.readDoubleBE(t + 1) : 0;
  return { name, txid };
}

const OUT_CHUNK = 4096;

/** One RTMP message as chunks (fmt 0, then fmt 3 continuations). */
function chunked(csid, type, streamId, ts, payload) {
  const ext = ts >= 0xffffff;
  const h = Buffer.alloc(12 + (ext ? 4 : 0));
  h[0] = csid;
  h.writeUIntBE(ext ? 0xffffff : ts, 1, 3);
  h.writeUIntBE(payload.length, 4, 3);
  h[7] = type;
  h.writeUInt32LE(streamId, 8);
  if (ext) h.writeUInt32BE(ts, 12);
  const parts = [h];
  for (let off = 0; off < payload.length; off += OUT_CHUNK) {
    if (off > 0) {
      parts.push(Buffer.from([0xc0 | csid]));
      if (ext) { const e = Buffer.alloc(4); e.writeUInt32BE(ts); parts.push(e); }
    }
    parts.push(payload.subarray(off, off + OUT_CHUNK));
  }
  return Buffer.concat(parts);
}

/** FLV tags → the body of one aggregate message (tags with their back pointers). */
function aggregateBody(tags) {
  const parts = [];
  for (const t of tags) {
    const h = Buffer.alloc(11);
    h[0] = t.type;
    h.writeUIntBE(t.data.length, 1, 3);
    h.writeUIntBE(t.ts & 0xffffff, 4, 3);
    h[7] = (t.ts >>> 24) & 0xff;
    const back = Buffer.alloc(4); back.writeUInt32BE(11 + t.data.length);
    parts.push(h, t.data, back);
  }
  return Buffer.concat(parts);
}

/** Reads the client's chunk stream; calls onMessage({type, streamId, payload}). */
function chunkReader(onMessage) {
  let buf = Buffer.alloc(0);
  let inChunk = 128;
  const streams = new Map();   // csid → { ts, len, type, sid, parts, got }
  return (data) => {
    buf = Buffer.concat([buf, data]);
    for (;;) {
      if (buf.length < 1) return;
      const fmt = buf[0] >> 6;
      let csid = buf[0] & 0x3f;
      let p = 1;
      if (csid === 0) { if (buf.length < 2) return; csid = 64 + buf[1]; p = 2; }
      else if (csid === 1) { if (buf.length < 3) return; csid = 64 + buf[1] + buf[2] * 256; p = 3; }
      const hl = [11, 7, 3, 0][fmt];
      if (buf.length < p + hl) return;
      const s = streams.get(csid) || { ts: 0, len: 0, type: 0, sid: 0, parts: [], got: 0 };
      let ts = s.ts;
      let extended = false;
      if (fmt <= 2) { ts = buf.readUIntBE(p, 3); extended = ts === 0xffffff; }
      if (fmt <= 1) { s.len = buf.readUIntBE(p + 3, 3); s.type = buf[p + 6]; }
      if (fmt === 0) s.sid = buf.readUInt32LE(p + 7);
      p += hl;
      if (extended) { if (buf.length < p + 4) return; p += 4; }
      const want = Math.min(inChunk, s.len - s.got);
      if (buf.length < p + want) return;
      s.parts.push(buf.subarray(p, p + want));
      s.got += want;
      s.ts = ts;
      buf = buf.subarray(p + want);
      streams.set(csid, s);
      if (s.got >= s.len) {
        const payload = Buffer.concat(s.parts);
        s.parts = []; s.got = 0;
        if (s.type === 1) inChunk = payload.readUInt32BE(0) & 0x7fffffff;
        onMessage({ type: s.type, streamId: s.sid, payload });
      }
    }
  };
}

export async function startAggregateOrigin({ flvFile, tags: given, spanMs = 100, aggregate = true } = {}) {
  const tags = given ?? readFlvTags(flvFile);
  const stats = { players: 0, aggregates: 0, tags: 0, pings: 0, pongs: 0, commands: [] };
  const sockets = new Set();
  const timers = new Set();

  const server = net.createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => {});
    let stage = 'c0c1';
    let hs = Buffer.alloc(0);
    let read = null;
    const send = (b) => { if (!sock.destroyed) sock.write(b); };
    const command = (sid, ...vals) => send(chunked(3, 20, sid, 0, amfAll(...vals)));

    const play = () => {
      stats.players++;
      const uc = (event, value) => { const b = Buffer.alloc(6); b.writeUInt16BE(event); b.writeUInt32BE(value, 2); send(chunked(2, 4, 0, 0, b)); };
      uc(0, 1);                      // StreamBegin 1
      uc(4, 1);                      // StreamIsRecorded 1 (ignored by players of live streams)
      command(1, 'onStatus', 0, null, { level: 'status', code: 'NetStream.Play.Reset', description: 'Playing and resetting' });
      command(1, 'onStatus', 0, null, { level: 'status', code: 'NetStream.Play.Start', description: 'Started playing' });
      send(chunked(5, 18, 1, 0, amfAll('|RtmpSampleAccess', false, false)));
      send(chunked(5, 18, 1, 0, amfAll('onStatus', { code: 'NetStream.Data.Start' })));
      // media in real time: each aggregate once its first tag is due
      const media = tags.filter((t) => t.type === 8 || t.type === 9);
      const script = tags.find((t) => t.type === 18);
      if (script) send(chunked(5, 18, 1, 0, script.data));
      const t0 = Date.now();
      let i = 0;
      let pingAt = 1000;
      let metaAgainAt = 3000;
      const tick = () => {
        timers.delete(timer);
        if (sock.destroyed) return;
        const now = Date.now() - t0;
        while (i < media.length && media[i].ts <= now + 50) {
          if (!aggregate) {
            const m = media[i++];
            send(chunked(m.type === 8 ? 4 : 6, m.type, 1, m.ts, m.data));
            stats.tags++;
            continue;
          }
          const first = media[i].ts;
          const group = [];
          while (i < media.length && media[i].ts - first < spanMs) group.push(media[i++]);
          send(chunked(6, 22, 1, first, aggregateBody(group)));
          stats.aggregates++;
          stats.tags += group.length;
        }
        if (now >= pingAt) {       // PingRequest: a player answers with PingResponse
          const b = Buffer.alloc(6); b.writeUInt16BE(6); b.writeUInt32BE(now >>> 0, 2);
          send(chunked(2, 4, 0, 0, b));
          stats.pings++;
          pingAt += 2000;
        }
        if (now >= metaAgainAt) {  // onMetaData changes mid-stream, and a notification
          send(chunked(5, 18, 1, now, amfAll('onMetaData', { width: 640, height: 360, framerate: 30, note: 'changed' })));
          command(1, 'onStatus', 0, null, { level: 'status', code: 'NetStream.Play.PublishNotify', description: 'again' });
          metaAgainAt = Infinity;
        }
        if (i >= media.length) { sock.end(); return; }
        timer = setTimeout(tick, 20);
        timers.add(timer);
      };
      let timer = setTimeout(tick, 0);
      timers.add(timer);
    };

    const onMessage = ({ type, payload }) => {
      if (type === 4 && payload.readUInt16BE(0) === 7) stats.pongs++;
      if (type !== 20) return;
      const { name, txid } = commandHead(payload);
      stats.commands.push(name);
      if (name === 'connect') {
        const wa = Buffer.alloc(4); wa.writeUInt32BE(2500000); send(chunked(2, 5, 0, 0, wa));
        const pb = Buffer.alloc(5); pb.writeUInt32BE(2500000); pb[4] = 2; send(chunked(2, 6, 0, 0, pb));
        const cs = Buffer.alloc(4); cs.writeUInt32BE(OUT_CHUNK); send(chunked(2, 1, 0, 0, cs));
        command(0, '_result', txid, { fmsVer: 'FMS/3,5,7,7009', capabilities: 31 },
          { level: 'status', code: 'NetConnection.Connect.Success', description: 'Connection succeeded.', objectEncoding: 0 });
        command(0, 'onBWDone', 0, null);
      } else if (name === 'createStream') {
        command(0, '_result', txid, null, 1);
      } else if (name === 'play') {
        play();
      } else if (txid > 0) {
        command(0, '_result', txid, null);
      }
    };

    sock.on('data', (d) => {
      if (stage === 'media') { read(d); return; }
      hs = Buffer.concat([hs, d]);
      if (stage === 'c0c1' && hs.length >= 1537) {
        const c1 = hs.subarray(1, 1537);
        const s1 = Buffer.alloc(1536); s1.writeUInt32BE(0, 0);
        for (let k = 8; k < 1536; k++) s1[k] = (k * 7) & 0xff;
        send(Buffer.concat([Buffer.from([3]), s1, c1]));
        hs = hs.subarray(1537);
        stage = 'c2';
      }
      if (stage === 'c2' && hs.length >= 1536) {
        const rest = hs.subarray(1536);
        stage = 'media';
        read = chunkReader(onMessage);
        if (rest.length) read(rest);
      }
    });
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address();
  return {
    port,
    stats,
    url: (name) => `rtmp://127.0.0.1:${port}/live/${name}`,
    stop: async () => {
      for (const t of timers) clearTimeout(t);
      for (const s of sockets) s.destroy();
      await new Promise((ok) => server.close(ok));
    },
  };
}

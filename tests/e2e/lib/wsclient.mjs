// A minimal RFC 6455 WebSocket client over a plain TCP socket, for protocol edge cases a
// browser cannot produce: not answering pings, dropping the TCP connection without a
// close frame (FIN or RST), watching for replies that must not come. Node 20 has no
// WebSocket client, and the SDK's own behaviour is covered by the browser tests.
import crypto from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { waitFor } from './util.mjs';

/**
 * Connects to `url` (ws://host:port/path). Resolves once the upgrade is accepted.
 * @param {object} o
 * @param {boolean} o.autoPong  answer every WCS `ping` message with a `pong` (default true)
 * @param {string|Buffer} o.ca  for wss:// URLs: the CA certificate(s) to trust (PEM)
 *
 * The client keeps every JSON message it receives in `messages` (unparsable text is kept
 * as {raw}). `closed` resolves to {code, reason, clean} when the connection ends:
 * code/reason of the server's close frame, clean = false when TCP ended without one.
 */
export function connectWs(url, { autoPong = true, ca } = {}) {
  const u = new URL(url);
  const key = crypto.randomBytes(16).toString('base64');
  const secure = u.protocol === 'wss:';
  const socket = secure
    ? tls.connect({ host: u.hostname, port: Number(u.port), ca })
    : net.connect({ host: u.hostname, port: Number(u.port) });
  const client = {
    socket,
    messages: [],
    autoPong,
    pongsSent: 0,
    closeFrame: null,
    closed: null,
    /** Sends an object as JSON (or a string as is) in one text frame. */
    send(obj) {
      writeFrame(socket, 0x1, Buffer.from(typeof obj === 'string' ? obj : JSON.stringify(obj)));
    },
    sendBinary(buf) { writeFrame(socket, 0x2, Buffer.from(buf)); },
    /** A WCS message {message, data}. */
    wcs(message, payload) { client.send({ message, data: [payload] }); },
    /** A close frame with `code`; the server answers with its own and closes TCP. */
    close(code = 1000) {
      const b = Buffer.alloc(2);
      b.writeUInt16BE(code);
      writeFrame(socket, 0x8, b);
    },
    /** Ends TCP with a FIN and no close frame. */
    destroy() { socket.destroy(); },
    /** Ends TCP with an RST and no close frame. */
    reset() { socket.resetAndDestroy(); },
    isOpen: () => !client.ended,
    ended: false,
    /**
     * Waits for the first message from index `from` on that matches `pred`; returns it.
     * Fails at once if the connection ends first.
     */
    async next(pred, { from = 0, timeout = 15000, what = 'a matching message' } = {}) {
      return waitFor(what, () => {
        const m = client.messages.slice(from).find(pred);
        if (m) return m;
        if (client.ended) {
          const err = new Error(`socket closed while waiting for ${what}; got ${summary(client.messages)}`);
          err.fatal = true;
          throw err;
        }
        return null;
      }, { timeout, interval: 50 });
    },
    /** The status events received for `id` so far, as "STATUS:info". */
    statuses(id) {
      return client.messages
        .filter((m) => m.message === 'notifyStreamStatusEvent' && m.data?.[0]?.mediaSessionId === id)
        .map((m) => `${m.data[0].status}:${m.data[0].info ?? ''}`);
    },
  };

  let buf = Buffer.alloc(0);
  let upgraded = false;
  let fragments = [];
  let fragOpcode = 0;
  const onFrame = (opcode, payload) => {
    if (opcode === 0x1) {
      const text = payload.toString('utf8');
      let m;
      try { m = JSON.parse(text); } catch { m = { raw: text }; }
      client.messages.push(m);
      if (client.autoPong && m && m.message === 'ping') {
        client.pongsSent++;
        client.send({ message: 'pong', data: [null] });
      }
    } else if (opcode === 0x2) {
      client.messages.push({ binary: payload });
    } else if (opcode === 0x8) {
      client.closeFrame = {
        code: payload.length >= 2 ? payload.readUInt16BE(0) : 1005,
        reason: payload.length > 2 ? payload.subarray(2).toString('utf8') : '',
      };
      if (!socket.destroyed) writeFrame(socket, 0x8, payload.subarray(0, 2));
      socket.end();
    } else if (opcode === 0x9) {
      writeFrame(socket, 0xA, payload);   // a WebSocket-level ping (not WCS's)
    }
  };
  const parse = () => {
    for (;;) {
      if (buf.length < 2) return;
      const fin = (buf[0] & 0x80) !== 0;
      const opcode = buf[0] & 0x0f;
      const masked = (buf[1] & 0x80) !== 0;
      let len = buf[1] & 0x7f;
      let off = 2;
      if (len === 126) {
        if (buf.length < 4) return;
        len = buf.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (buf.length < 10) return;
        len = Number(buf.readBigUInt64BE(2));
        off = 10;
      }
      const maskOff = off;
      if (masked) off += 4;
      if (buf.length < off + len) return;
      let payload = Buffer.from(buf.subarray(off, off + len));
      if (masked) for (let i = 0; i < len; i++) payload[i] ^= buf[maskOff + (i % 4)];
      buf = buf.subarray(off + len);
      if (opcode >= 0x8) { onFrame(opcode, payload); continue; }
      if (opcode !== 0) { fragOpcode = opcode; fragments = []; }
      fragments.push(payload);
      if (fin) onFrame(fragOpcode, Buffer.concat(fragments));
    }
  };

  client.closed = new Promise((resolve) => {
    socket.on('close', () => {
      client.ended = true;
      resolve(client.closeFrame ? { ...client.closeFrame, clean: true } : { code: 1006, reason: '', clean: false });
    });
  });
  socket.on('error', () => { /* 'close' follows and says what happened */ });

  return new Promise((resolve, reject) => {
    socket.once(secure ? 'secureConnect' : 'connect', () => {
      socket.write(`GET ${u.pathname || '/'} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\n`
        + `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    });
    socket.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      if (!upgraded) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.subarray(0, end).toString('latin1');
        buf = buf.subarray(end + 4);
        const accept = crypto.createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
        if (!/^HTTP\/1\.1 101/.test(head) || !head.toLowerCase().includes(`sec-websocket-accept: ${accept.toLowerCase()}`)) {
          socket.destroy();
          reject(new Error(`WebSocket upgrade refused: ${head.split('\r\n')[0]}`));
          return;
        }
        upgraded = true;
        resolve(client);
      }
      parse();
    });
    socket.once('close', () => { if (!upgraded) reject(new Error(`connection to ${url} closed before the upgrade`)); });
    socket.setTimeout(10000, () => { if (!upgraded) socket.destroy(); });
  }).then((c) => { socket.setTimeout(0); return c; });
}

/** Client frames are always masked (RFC 6455 §5.3). */
function writeFrame(socket, opcode, payload) {
  if (socket.destroyed) return;
  const mask = crypto.randomBytes(4);
  let head;
  if (payload.length < 126) {
    head = Buffer.from([0x80 | opcode, 0x80 | payload.length]);
  } else if (payload.length < 65536) {
    head = Buffer.alloc(4);
    head[0] = 0x80 | opcode; head[1] = 0x80 | 126; head.writeUInt16BE(payload.length, 2);
  } else {
    head = Buffer.alloc(10);
    head[0] = 0x80 | opcode; head[1] = 0x80 | 127; head.writeBigUInt64BE(BigInt(payload.length), 2);
  }
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i] ^= mask[i % 4];
  socket.write(Buffer.concat([head, mask, body]));
}

function summary(messages) {
  return JSON.stringify(messages.map((m) => m.message === 'notifyStreamStatusEvent'
    ? `${m.data[0].status}:${m.data[0].info ?? ''}` : (m.message ?? m))).slice(0, 1000);
}

/** Connects, sends `connection` and waits for getUserData; returns the client. */
export async function establishedWs(url, opts) {
  const ws = await connectWs(url, opts);
  ws.wcs('connection', { appKey: 'defaultApp', mediaProviders: ['WebRTC'], clientVersion: '2.0' });
  await ws.next((m) => m.message === 'getUserData', { what: 'getUserData' });
  return ws;
}

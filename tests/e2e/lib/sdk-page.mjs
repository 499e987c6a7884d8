// A test page that loads the official Flashphoner WebSDK bundle
// (node_modules/@flashphoner/websdk/flashphoner.js) and exposes a tiny API
// to the test: window.sdk.connect(url), window.sdk.play(name), window.sdk.stop(name).
// A tiny HTTP server on 127.0.0.1 serves it. (Playwright route interception
// is not enough: Chromium then treats the page as coming from an unknown
// address space and its Local Network Access checks block the WebSocket to
// 127.0.0.1 with net::ERR_BLOCKED_BY_LOCAL_NETWORK_ACCESS_CHECKS.)
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { E2E_DIR } from './util.mjs';

const SDK_FILE = path.join(E2E_DIR, 'node_modules', '@flashphoner', 'websdk', 'flashphoner.js');

const PAGE = `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>WebSDK test</title><link rel="icon" href="data:,">
<script>
// The SDK keeps its RTCPeerConnection private: wrap the constructor before
// the bundle loads so the test can call getStats() on it. Each connection is
// tagged with the stream name being played when it was made.
window.__pcs = [];
window.__pcTag = null;
(function () {
  var Native = window.RTCPeerConnection;
  function Wrapped() {
    var pc = new (Function.prototype.bind.apply(Native, [null].concat([].slice.call(arguments))))();
    pc.__tag = window.__pcTag;
    window.__pcs.push(pc);
    return pc;
  }
  Wrapped.prototype = Native.prototype;
  Object.setPrototypeOf(Wrapped, Native);
  window.RTCPeerConnection = Wrapped;
})();
</script>
<script src="flashphoner.js"></script>
</head><body>
<div id="displays"></div>
<script>
var S = Flashphoner.constants.SESSION_STATUS;
var T = Flashphoner.constants.STREAM_STATUS;
Flashphoner.init({});
window.sdk = {
  session: null,
  sessionEvents: [],
  streams: {},            // name -> {stream, events: [{status, info}], pc}
  connect: function (url) {
    var self = this;
    return new Promise(function (resolve, reject) {
      var session = Flashphoner.createSession({ urlServer: url });
      self.session = session;
      session.on(S.ESTABLISHED, function () { self.sessionEvents.push('ESTABLISHED'); resolve('ESTABLISHED'); })
        .on(S.FAILED, function () { self.sessionEvents.push('FAILED'); reject(new Error('session FAILED')); })
        .on(S.DISCONNECTED, function () { self.sessionEvents.push('DISCONNECTED'); reject(new Error('session DISCONNECTED')); });
    });
  },
  play: function (name) {
    var div = document.createElement('div');
    div.className = 'display';
    div.style.width = '320px';
    div.style.height = '180px';
    document.getElementById('displays').appendChild(div);
    var rec = { events: [], pc: null };
    var stream = this.session.createStream({ name: name, display: div });
    rec.stream = stream;
    this.streams[name] = rec;
    [T.PENDING, T.PLAYING, T.STOPPED, T.FAILED].forEach(function (st) {
      stream.on(st, function (s) {
        rec.events.push({ status: st, info: s.getInfo() });
        if (!rec.pc) rec.pc = window.__pcs.filter(function (p) { return p.__tag === name; }).pop() || null;
      });
    });
    window.__pcTag = name;
    stream.play();
    return stream.id();
  },
  stop: function (name) { this.streams[name].stream.stop(); },
  statuses: function (name) {
    var r = this.streams[name];
    return r ? r.events.map(function (e) { return e.status; }) : [];
  },
  info: function (name) {
    var r = this.streams[name];
    return r ? r.stream.getInfo() : undefined;
  }
};
</script>
</body></html>`;

/** Starts the page server on a free 127.0.0.1 port: {url, close()}. */
export async function startSdkServer() {
  const sdk = fs.readFileSync(SDK_FILE);
  const server = http.createServer((req, res) => {
    const { pathname } = new URL(req.url, 'http://127.0.0.1');
    if (pathname === '/' || pathname === '/index.html') {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end(PAGE);
    } else if (pathname === '/flashphoner.js') {
      res.writeHead(200, { 'Content-Type': 'text/javascript' });
      res.end(sdk);
    } else {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('not found');
    }
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return {
    url: `http://127.0.0.1:${server.address().port}/`,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** Opens the WebSDK test page (served at `url`) in a new tab of `context`. */
export async function openSdkPage(context, url) {
  const page = await context.newPage();
  await page.goto(url, { waitUntil: 'commit' });
  await page.waitForFunction(() => window.sdk && window.Flashphoner, null, { timeout: 15000 });
  return page;
}

/*
 * Ferry player: plays one stream from Ferry over WebRTC.
 *
 * It speaks the Flashphoner WCS WebSocket protocol the same way the official
 * WebSDK does for playback, so it exercises exactly what SDK users get:
 *
 *   GET /config.json               -> {"wsPort": N, "iceServers": [...]}
 *   ws://<this host>:N/            open, then send "connection"
 *   <- getUserData                 session established
 *   -> playStream {mediaSessionId, name, sdp: <our offer, no candidates>}
 *   <- setRemoteSDP [id, answer]   answer carries all of the server's candidates
 *   <- notifyStreamStatusEvent     PLAYING / FAILED / STOPPED (+ info)
 *   -> stopStream                  on Stop; the server answers STOPPED
 *   <- ping                        answered with pong
 *
 * The browser offers (recvonly audio, then video) and never trickles
 * candidates: the server learns our address from our STUN checks.
 *
 * URL parameters: ?name=STREAM fills the name field, &autoplay=1 starts it.
 * For tests, window.ferryPlayer = {pc, status, info} is kept up to date.
 */
(function () {
  'use strict';

  var el = {
    form: document.getElementById('controls'),
    name: document.getElementById('name'),
    play: document.getElementById('play'),
    stop: document.getElementById('stop'),
    status: document.getElementById('status'),
    info: document.getElementById('info'),
    video: document.getElementById('video')
  };

  var player = window.ferryPlayer = { pc: null, status: 'DISCONNECTED', info: '' };

  var ws = null;        // the WebSocket, while open or opening
  var session = null;   // promise: resolves once getUserData arrived
  var current = null;   // {id, name, pc, media}: the stream shown in #status
  var playSeq = 0;      // guards play() against being overtaken by a newer click

  function setStatus(status, info) {
    player.status = status;
    player.info = info || '';
    el.status.textContent = status;
    el.status.setAttribute('data-status', status);
    el.info.textContent = player.info;
    refreshButtons();
  }

  function refreshButtons() {
    el.stop.disabled = !(current && current.pc);
  }

  function newId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    // Plain-http pages on a non-local host are not a secure context: no randomUUID.
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join('');
    return h.slice(0, 8) + '-' + h.slice(8, 12) + '-' + h.slice(12, 16) + '-' + h.slice(16, 20) + '-' + h.slice(20);
  }

  // Every message is {"message": name, "data": [payload]} (pong's payload is null).
  function send(message, payload) {
    if (ws && ws.readyState === WebSocket.OPEN) {
      ws.send(JSON.stringify({ message: message, data: [payload] }));
    }
  }

  /* ---- session: one WebSocket, opened on first Play and kept open ---- */

  var iceServers = [];

  function connect() {
    if (session) return session;
    session = fetch('/config.json', { cache: 'no-store' })
      .then(function (res) {
        if (!res.ok) throw new Error('/config.json: HTTP ' + res.status);
        return res.json();
      })
      .then(function (cfg) {
        iceServers = cfg.iceServers || [];  // Ferry's configured STUN/TURN servers
        var scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
        var url = scheme + '//' + location.hostname + ':' + cfg.wsPort + '/';
        return openSocket(url);
      });
    session.catch(function () { session = null; });  // allow a retry on the next Play
    return session;
  }

  function openSocket(url) {
    return new Promise(function (resolve, reject) {
      var sock = new WebSocket(url);
      var established = false;
      ws = sock;
      sock.onopen = function () {
        send('connection', {
          appKey: 'defaultApp',
          mediaProviders: ['WebRTC'],
          clientVersion: '2.0',
          clientOSVersion: navigator.appVersion,
          clientBrowserVersion: navigator.userAgent,
          clientInfo: { client: 'ferry-player' }
        });
      };
      sock.onmessage = function (ev) {
        var msg;
        try { msg = JSON.parse(ev.data); } catch (e) { return; }
        if (!msg || !Array.isArray(msg.data)) return;
        if (msg.message === 'getUserData') {
          established = true;
          resolve();
        } else {
          onMessage(msg.message, msg.data);
        }
      };
      sock.onclose = function (ev) {
        if (ws === sock) { ws = null; session = null; }
        if (!established) {
          reject(new Error('Cannot connect to ' + url));
          return;
        }
        // Like the SDK: a lost session ends the stream locally.
        if (current) endStream(current);
        setStatus('DISCONNECTED', 'Connection to the server closed' + (ev.code ? ' (' + ev.code + ')' : ''));
      };
    });
  }

  function onMessage(name, data) {
    var ev;
    switch (name) {
      case 'ping':
        send('pong', null);
        break;
      case 'setRemoteSDP':
        // data = [mediaSessionId, answer SDP]
        if (current && current.pc && data[0] === current.id) {
          current.pc.setRemoteDescription({ type: 'answer', sdp: data[1] }).catch(function (err) {
            setStatus(player.status, 'Cannot apply the answer: ' + err.message);
          });
        }
        break;
      case 'notifyStreamStatusEvent':
        ev = data[0] || {};
        if (!current || ev.mediaSessionId !== current.id || !ev.status) return;
        setStatus(ev.status, ev.info);
        if (ev.status === 'FAILED' || ev.status === 'STOPPED') endStream(current);
        break;
      default:
        break;  // everything else is ignored, as the SDK does
    }
  }

  /* ---- play / stop ---- */

  function play() {
    var name = el.name.value.trim();
    if (!name) {
      setStatus(player.status, 'Enter a stream name');
      el.name.focus();
      return;
    }
    stop();
    var seq = ++playSeq;
    connect().then(function () {
      if (seq === playSeq) return startStream(name);
    }).catch(function (err) {
      if (seq === playSeq) setStatus('DISCONNECTED', err.message);
    });
  }

  function startStream(name) {
    var pc = new RTCPeerConnection({ iceServers: iceServers, bundlePolicy: 'max-compat' });
    var s = { id: newId(), name: name, pc: pc, media: new MediaStream() };
    current = s;
    player.pc = pc;

    // One MediaStream for both tracks, whatever msid the answer carries,
    // so the video element always gets sound and picture together.
    pc.ontrack = function (ev) {
      s.media.addTrack(ev.track);
      if (el.video.srcObject !== s.media) {
        el.video.srcObject = s.media;
        startVideo();
      }
    };
    pc.addTransceiver('audio', { direction: 'recvonly' });
    pc.addTransceiver('video', { direction: 'recvonly' });
    setStatus('PENDING', '');

    return pc.createOffer()
      .then(function (offer) { return pc.setLocalDescription(offer); })
      .then(function () {
        if (current !== s || !s.pc) return;  // stopped or replaced meanwhile
        // Sent at once, without waiting for ICE gathering (as the SDK does).
        send('playStream', {
          mediaSessionId: s.id,
          name: s.name,
          published: false,
          hasVideo: true,
          hasAudio: true,
          status: 'PENDING',
          record: false,
          width: 0,
          height: 0,
          mediaProvider: 'WebRTC',
          sdp: pc.localDescription.sdp,
          bitrate: 0,
          minBitrate: 0,
          maxBitrate: 0,
          quality: 0
        });
      })
      .catch(function (err) {
        if (current === s) {
          endStream(s);
          setStatus('FAILED', 'Cannot create an offer: ' + err.message);
        }
      });
  }

  function startVideo() {
    var p = el.video.play();
    if (!p || !p.catch) return;
    p.catch(function () {
      // Autoplay with sound needs a user gesture (e.g. ?autoplay=1): play muted.
      el.video.muted = true;
      el.video.play().catch(function () {});
    });
  }

  // Stop: tell the server and close our side at once. #status changes when
  // the server answers STOPPED.
  function stop() {
    var s = current;
    if (!s || !s.pc) return;
    send('stopStream', {
      mediaSessionId: s.id,
      name: s.name,
      published: false,
      hasVideo: true,
      hasAudio: true,
      status: player.status,
      record: false
    });
    closePc(s);
  }

  function endStream(s) {
    closePc(s);
    if (current === s) current = null;
    refreshButtons();
  }

  function closePc(s) {
    if (s.pc) {
      s.pc.ontrack = null;
      s.pc.close();
      if (player.pc === s.pc) player.pc = null;
      s.pc = null;
    }
    if (el.video.srcObject === s.media) el.video.srcObject = null;
    refreshButtons();
  }

  /* ---- wiring ---- */

  el.form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    play();
  });
  el.stop.addEventListener('click', stop);

  var params = new URLSearchParams(location.search);
  if (params.get('name')) el.name.value = params.get('name');
  setStatus('DISCONNECTED', '');
  if (params.get('autoplay') === '1' && el.name.value) play();
})();

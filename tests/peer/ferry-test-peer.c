/* ferry-test-peer: a receive-only WebRTC viewer that speaks the Flashphoner
 * WCS WebSocket protocol the way the official WebSDK does for play, or WHEP
 * (--whep; the HTTP side lives in peer-whep-session.c).
 *
 * Owns: the command line, the SoupSession / SoupWebsocketConnection, the
 * JSON protocol and the run's timers. One PeerStream per --name does the
 * WebRTC side (peer-stream.c); one PeerWhepSession per --whep URL wraps one.
 *
 * Threads: everything here runs on the main context (the thread-default
 * context of main()); libsoup delivers there and webrtcbin results hop there
 * (see peer-stream.c). The socket is never touched from another thread.
 *
 * Lifecycle: connect → "connection" → getUserData → one playStream per
 * stream → answers, statuses, pings → (--stop-after) stopStream → deadline,
 * socket closed, or every stream ended → close the socket, tear down, print
 * one JSON line on stdout. stderr is for logs only.
 *
 * WHEP lifecycle: every session POSTs at once → deadline or every session
 * ended → stop the sessions, cancel and drain their requests, print.
 */
#include <stdio.h>
#include <stdlib.h>

#include <glib-unix.h>
#include <gst/gst.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "peer-offer.h"
#include "peer-stream.h"
#include "peer-wcs.h"
#include "peer-whep-session.h"

GST_DEBUG_CATEGORY_STATIC (peer_debug);
#define GST_CAT_DEFAULT peer_debug

#define EXIT_USAGE 1
#define EXIT_CONNECT 2
/* time left for a duplicate or late status after the last stream ended */
#define END_GRACE_MS 1000
#define CLOSE_WAIT_MS 2000
/* per libsoup I/O step; the run's deadline cancels anything slower anyway */
#define HTTP_TIMEOUT_S 5
/* how long cancelled WHEP requests get to report back at the end */
#define DRAIN_WAIT_MS 2000
/* --until-decoded: what counts as "played" (half a second of each track) */
#define UNTIL_VIDEO_FRAMES 15
#define UNTIL_AUDIO_SAMPLES 24000
#define UNTIL_CHECK_MS 200

typedef struct
{
  /* options */
  gchar *url;
  gchar *tls_ca;                /* --tls-ca: trust this CA (PEM) for wss:// and https:// */
  gchar **names;
  gdouble seconds;
  gchar *ice_address;
  gboolean no_audio;
  gboolean no_video;
  gint audio_pt;
  gint video_pt;
  gboolean video_first;
  gchar *offer_template_file;
  gchar *offer_template;        /* its contents */
  gboolean bad_fingerprint;
  gboolean until_decoded;
  gboolean no_decode;
  gboolean no_nack;
  gint drop_video_every;
  gint latency_ms;
  gdouble stop_after;
  gchar *origin;
  gchar *bundle_policy;
  gboolean full_duration;
  gboolean verbose;
  gchar **wheps;
  gboolean trickle;
  gdouble delete_after;
  gint progress_ms;             /* 0: no progress lines */

  GMainContext *ctx;
  GMainLoop *loop;
  GCancellable *cancel;
  SoupSession *session;
  SoupWebsocketConnection *conn;
  GPtrArray *streams;           /* PeerStream, in --name order */
  GPtrArray *whep_sessions;     /* PeerWhepSession, in --whep order */
  GHashTable *stop_timers;      /* mediaSessionId → GSource (owned ref) */
  GSource *deadline;
  GSource *end_grace;
  GSource *until_check;
  gint64 start_us;

  gboolean established;
  /* WCS: we started the close; WHEP: the run is over */
  gboolean closing;
  gint close_code;              /* -1: the socket did not close by itself */
  gchar *error;                 /* connect failure */
} Peer;

static void
trace (Peer * peer, const gchar * dir, const gchar * text)
{
  if (peer->verbose)
    g_printerr ("[%7.3f] %s %s\n",
        (g_get_monotonic_time () - peer->start_us) / 1e6, dir, text);
}

/* main context: one JSON line with every WCS stream's counts so far, for tests that
 * follow playback while it runs (e.g. through a source outage) */
static gboolean
print_progress (gpointer data)
{
  Peer *peer = data;
  GString *line = g_string_new (NULL);
  guint i;

  g_string_append_printf (line, "{\"progress\":%.3f,\"counts\":{",
      (g_get_monotonic_time () - peer->start_us) / 1e6);
  for (i = 0; i < peer->streams->len; i++) {
    PeerStream *st = peer->streams->pdata[i];
    guint64 frames, samples;
    g_autofree gchar *name = g_strescape (peer_stream_get_name (st), NULL);

    peer_stream_get_counts (st, &frames, &samples);
    g_string_append_printf (line, "%s\"%s\":[%" G_GUINT64_FORMAT ",%"
        G_GUINT64_FORMAT "]", i ? "," : "", name, frames, samples);
  }
  g_string_append (line, "}}");
  g_printerr ("%s\n", line->str);
  g_string_free (line, TRUE);
  return G_SOURCE_CONTINUE;
}

static GSource *
attach_timeout (Peer * peer, guint ms, GSourceFunc func, gpointer data,
    GDestroyNotify notify)
{
  GSource *source = g_timeout_source_new (ms);

  g_source_set_callback (source, func, data, notify);
  g_source_attach (source, peer->ctx);
  return source;
}

/* Takes ownership of @payload (NULL sends null). main context */
static void
send_message (Peer * peer, const gchar * name, JsonNode * payload)
{
  g_autofree gchar *text = peer_wcs_envelope (name, payload);

  if (peer->conn == NULL ||
      soup_websocket_connection_get_state (peer->conn) !=
      SOUP_WEBSOCKET_STATE_OPEN) {
    GST_WARNING ("socket not open, dropping %s", name);
    return;
  }
  trace (peer, ">", text);
  soup_websocket_connection_send_text (peer->conn, text);
}

/* PeerStream offer_ready. With --offer-template / --bad-fingerprint the
 * text sent differs from webrtcbin's local description (peer-offer.h).
 * main context */
static void
send_play_stream (PeerStream * stream, const gchar * sdp, gpointer data)
{
  Peer *peer = data;
  g_autofree gchar *filled = NULL;
  g_autofree gchar *broken = NULL;
  g_autoptr (GError) error = NULL;

  if (peer->offer_template != NULL) {
    filled = peer_offer_fill_template (peer->offer_template, sdp, &error);
    if (filled == NULL) {
      g_autofree gchar *what = g_strdup_printf ("--offer-template: %s",
          error->message);
      peer_stream_add_error (stream, what);
      return;
    }
    sdp = filled;
  }
  if (peer->bad_fingerprint)
    sdp = broken = peer_offer_break_fingerprint (sdp);
  send_message (peer, "playStream",
      peer_wcs_play_stream (peer_stream_get_id (stream),
          peer_stream_get_name (stream), sdp));
}

static PeerStream *
find_stream (Peer * peer, const gchar * id)
{
  guint i;

  for (i = 0; id != NULL && i < peer->streams->len; i++) {
    PeerStream *s = peer->streams->pdata[i];

    if (g_strcmp0 (peer_stream_get_id (s), id) == 0)
      return s;
  }
  return NULL;
}

static gboolean
quit_loop (gpointer data)
{
  Peer *peer = data;

  g_main_loop_quit (peer->loop);
  return G_SOURCE_REMOVE;
}

/* With every stream over there is nothing left to wait for; leave a short
 * grace so a duplicate status still shows up in the report. */
static void
check_all_ended (Peer * peer)
{
  guint i;

  if (peer->full_duration || peer->end_grace != NULL)
    return;
  for (i = 0; i < peer->streams->len; i++)
    if (!peer_stream_is_ended (peer->streams->pdata[i]))
      return;
  GST_INFO ("every stream ended");
  peer->end_grace = attach_timeout (peer, END_GRACE_MS, quit_loop, peer, NULL);
}

/* --until-decoded: ends the run once every stream has either ended or decoded
 * enough of each track it offered, so a test gets its answer as soon as media
 * played and can still give --seconds a generous bound for a loaded machine.
 * main context */
static gboolean
on_until_check (gpointer data)
{
  Peer *peer = data;
  guint i;

  for (i = 0; i < peer->streams->len; i++) {
    PeerStream *s = peer->streams->pdata[i];
    guint64 frames = 0, samples = 0;

    if (peer_stream_is_ended (s))
      continue;
    peer_stream_get_counts (s, &frames, &samples);
    if ((!peer->no_video && frames < UNTIL_VIDEO_FRAMES) ||
        (!peer->no_audio && samples < UNTIL_AUDIO_SAMPLES))
      return G_SOURCE_CONTINUE;
  }
  GST_INFO ("every stream decoded enough or ended");
  g_main_loop_quit (peer->loop);
  return G_SOURCE_CONTINUE;
}

typedef struct
{
  Peer *peer;
  PeerStream *stream;
} StopOp;

static void
stop_op_free (gpointer data)
{
  StopOp *op = data;

  peer_stream_unref (op->stream);
  g_free (op);
}

/* Like stream.stop() in the SDK: send stopStream, close the peer connection
 * at once, then wait for the server's STOPPED.
 * main context */
static gboolean
on_stop_timer (gpointer data)
{
  StopOp *op = data;

  g_hash_table_remove (op->peer->stop_timers, peer_stream_get_id (op->stream));
  if (peer_stream_is_ended (op->stream))
    return G_SOURCE_REMOVE;
  send_message (op->peer, "stopStream",
      peer_wcs_stop_stream (peer_stream_get_id (op->stream),
          peer_stream_get_name (op->stream)));
  peer_stream_set_stop_sent (op->stream);
  peer_stream_teardown (op->stream);
  return G_SOURCE_REMOVE;
}

/* main context */
static void
handle_status (Peer * peer, PeerStream * stream, const gchar * status,
    const gchar * info, const gchar * via)
{
  const gchar *id = peer_stream_get_id (stream);

  if (peer_stream_is_ended (stream)) {
    /* the SDK has forgotten the stream by now; keep it for the report */
    GST_INFO ("%s: status %s after the end", id, status);
  }
  peer_stream_add_status (stream, status, info, via);

  if (g_strcmp0 (status, "PLAYING") == 0 && peer->stop_after >= 0 &&
      !peer_stream_is_ended (stream) &&
      !g_hash_table_contains (peer->stop_timers, id)) {
    StopOp *op = g_new0 (StopOp, 1);
    GSource *source;

    op->peer = peer;
    op->stream = peer_stream_ref (stream);
    source = attach_timeout (peer, (guint) (peer->stop_after * 1000),
        on_stop_timer, op, stop_op_free);
    g_hash_table_insert (peer->stop_timers, g_strdup (id), source);
  }

  if (peer_stream_is_ended (stream)) {
    GSource *timer = g_hash_table_lookup (peer->stop_timers, id);

    if (timer != NULL) {
      g_source_destroy (timer);
      g_hash_table_remove (peer->stop_timers, id);
    }
    /* the SDK closes its peer connection on FAILED/STOPPED */
    peer_stream_teardown (stream);
    check_all_ended (peer);
  }
}

/* main context */
static void
start_streams (Peer * peer)
{
  PeerStreamConfig config = {
    .ctx = peer->ctx,
    .ice_address = peer->ice_address,
    .audio = !peer->no_audio,
    .video = !peer->no_video,
    .bundle_policy = peer->bundle_policy,
    .audio_pt = peer->audio_pt,
    .video_pt = peer->video_pt,
    .video_first = peer->video_first,
    .no_decode = peer->no_decode,
    .no_nack = peer->no_nack,
    .drop_video_every = MAX (peer->drop_video_every, 0),
    .latency_ms = MAX (peer->latency_ms, 0),
    .offer_ready = send_play_stream,
    .user_data = peer,
  };
  guint i;

  for (i = 0; i < peer->streams->len; i++) {
    PeerStream *s = peer->streams->pdata[i];
    g_autoptr (GError) error = NULL;

    if (!peer_stream_start (s, &config, &error))
      peer_stream_add_error (s, error->message);
  }
}

/* main context */
static void
dispatch (Peer * peer, const gchar * message, JsonArray * data)
{
  if (g_strcmp0 (message, "ping") == 0) {
    send_message (peer, "pong", NULL);
  } else if (g_strcmp0 (message, "getUserData") == 0) {
    if (peer->established)
      return;
    /* the SDK only needs data[0] to be an object to reach ESTABLISHED */
    if (peer_wcs_element_object (data, 0) == NULL)
      GST_WARNING ("getUserData without an object in data[0]");
    peer->established = TRUE;
    start_streams (peer);
  } else if (g_strcmp0 (message, "setRemoteSDP") == 0) {
    PeerStream *s = find_stream (peer, peer_wcs_element_string (data, 0));
    const gchar *sdp = peer_wcs_element_string (data, 1);

    if (s != NULL && sdp != NULL && *sdp != '\0')
      peer_stream_set_answer (s, sdp);
    else if (s != NULL)
      peer_stream_add_error (s, "setRemoteSDP without an SDP string");
  } else if (g_strcmp0 (message, "notifyStreamStatusEvent") == 0) {
    JsonObject *obj = peer_wcs_element_object (data, 0);
    const gchar *id = peer_wcs_get_string (obj, "mediaSessionId");
    const gchar *status = peer_wcs_get_string (obj, "status");
    const gchar *info = peer_wcs_get_string (obj, "info");
    PeerStream *s = find_stream (peer, id);

    if (s != NULL && status != NULL)
      handle_status (peer, s, status, info, NULL);
  } else if (g_strcmp0 (message, "fail") == 0) {
    /* the SDK routes this by "id" exactly like a status event */
    JsonObject *obj = peer_wcs_element_object (data, 0);
    const gchar *method = peer_wcs_get_string (obj, "apiMethod");
    const gchar *status = peer_wcs_get_string (obj, "status");
    const gchar *info = peer_wcs_get_string (obj, "info");
    PeerStream *s = find_stream (peer, peer_wcs_get_string (obj, "id"));

    if (s != NULL && status != NULL &&
        g_strcmp0 (method, "StreamStatusEvent") == 0)
      handle_status (peer, s, status, info, "fail");
  } else {
    GST_DEBUG ("ignoring message %s", message);
  }
}

/* main context */
static void
on_ws_message (SoupWebsocketConnection * conn, gint type, GBytes * bytes,
    Peer * peer)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  g_autofree gchar *copy = NULL;
  gsize size = 0;
  const gchar *text = g_bytes_get_data (bytes, &size);
  const gchar *message = NULL;
  JsonArray *data = NULL;

  if (type != SOUP_WEBSOCKET_DATA_TEXT) {
    GST_WARNING ("ignoring a binary frame");
    return;
  }
  copy = g_strndup (text, size);
  trace (peer, "<", copy);
  /* dropped like the SDK drops them; the socket stays open */
  if (!peer_wcs_parse (parser, copy, size, &message, &data, &error)) {
    GST_WARNING ("ignoring a server frame: %s", error->message);
    return;
  }
  dispatch (peer, message, data);
}

/* main context */
static void
on_ws_closed (SoupWebsocketConnection * conn, Peer * peer)
{
  if (!peer->closing) {
    peer->close_code = soup_websocket_connection_get_close_code (conn);
    /* libsoup says 0 when the TCP connection went away without a close
     * frame; report it the way a browser's CloseEvent would */
    if (peer->close_code == 0)
      peer->close_code = SOUP_WEBSOCKET_CLOSE_ABNORMAL;
    GST_INFO ("server closed the socket (%d)", peer->close_code);
    /* nothing more can happen; the SDK fails every stream here */
    g_main_loop_quit (peer->loop);
  }
}

/* main context */
static void
on_ws_error (SoupWebsocketConnection * conn, GError * error, Peer * peer)
{
  GST_WARNING ("websocket error: %s", error->message);
}

/* main context */
static void
on_connected (GObject * source, GAsyncResult * result, gpointer data)
{
  Peer *peer = data;
  g_autoptr (GError) error = NULL;
  SoupWebsocketConnection *conn;

  conn = soup_session_websocket_connect_finish (SOUP_SESSION (source), result,
      &error);
  if (conn == NULL) {
    if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
      return;
    peer->error = g_strdup_printf ("connect %s: %s", peer->url, error->message);
    g_main_loop_quit (peer->loop);
    return;
  }
  peer->conn = conn;
  g_signal_connect (conn, "message", G_CALLBACK (on_ws_message), peer);
  g_signal_connect (conn, "closed", G_CALLBACK (on_ws_closed), peer);
  g_signal_connect (conn, "error", G_CALLBACK (on_ws_error), peer);
  send_message (peer, "connection", peer_wcs_connection ());
}

static gboolean
on_deadline (gpointer data)
{
  Peer *peer = data;

  if (peer->conn == NULL && peer->error == NULL)
    peer->error = g_strdup_printf ("connect %s: timed out", peer->url);
  g_main_loop_quit (peer->loop);
  return G_SOURCE_REMOVE;
}

/* SIGTERM ends the run early, with the report, as if --seconds had passed */
static gboolean
on_sigterm (gpointer data)
{
  Peer *peer = data;

  g_main_loop_quit (peer->loop);
  return G_SOURCE_REMOVE;
}

static gboolean
set_flag (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Closes like session.disconnect() in the browser (close frame without a
 * code, 1005), waiting a bounded time for the server's close frame.
 * main context */
static void
close_socket (Peer * peer)
{
  gboolean timed_out = FALSE;
  GSource *timer;

  if (peer->conn == NULL ||
      soup_websocket_connection_get_state (peer->conn) ==
      SOUP_WEBSOCKET_STATE_CLOSED)
    return;
  peer->closing = TRUE;
  if (soup_websocket_connection_get_state (peer->conn) ==
      SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_close (peer->conn,
        SOUP_WEBSOCKET_CLOSE_NO_STATUS, NULL);
  timer = attach_timeout (peer, CLOSE_WAIT_MS, set_flag, &timed_out, NULL);
  while (!timed_out && soup_websocket_connection_get_state (peer->conn) !=
      SOUP_WEBSOCKET_STATE_CLOSED)
    g_main_context_iteration (peer->ctx, TRUE);
  g_source_destroy (timer);
  g_source_unref (timer);
}

static void
print_report (Peer * peer)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autofree gchar *text = NULL;
  guint i;

  json_builder_begin_object (b);
  if (peer->error != NULL) {
    json_builder_set_member_name (b, "error");
    json_builder_add_string_value (b, peer->error);
  }
  json_builder_set_member_name (b, "established");
  json_builder_add_boolean_value (b, peer->established);
  json_builder_set_member_name (b, "closeCode");
  if (peer->close_code >= 0)
    json_builder_add_int_value (b, peer->close_code);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "streams");
  json_builder_begin_array (b);
  for (i = 0; i < peer->streams->len; i++)
    json_builder_add_value (b, peer_stream_to_json (peer->streams->pdata[i]));
  json_builder_end_array (b);
  json_builder_end_object (b);

  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  text = json_generator_to_data (gen, NULL);
  fprintf (stdout, "%s\n", text);
  fflush (stdout);
}

/* PeerWhepConfig trace. main context */
static void
whep_trace (const gchar * dir, const gchar * text, gpointer data)
{
  trace (data, dir, text);
}

/* PeerWhepConfig ended. main context */
static void
on_whep_ended (PeerWhepSession * session, gpointer data)
{
  Peer *peer = data;
  guint i;

  /* closing: a request that completes while draining ends its session */
  if (peer->full_duration || peer->end_grace != NULL || peer->closing)
    return;
  for (i = 0; i < peer->whep_sessions->len; i++)
    if (!peer_whep_session_is_ended (peer->whep_sessions->pdata[i]))
      return;
  GST_INFO ("every WHEP session ended");
  /* a source, not a direct quit: this may run before the loop does, from
   * peer_whep_session_start, and a quit before g_main_loop_run is lost */
  peer->end_grace = attach_timeout (peer, 0, quit_loop, peer, NULL);
}

static void
print_whep_report (Peer * peer)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autofree gchar *text = NULL;
  guint i;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "protocol");
  json_builder_add_string_value (b, "whep");
  json_builder_set_member_name (b, "streams");
  json_builder_begin_array (b);
  for (i = 0; i < peer->whep_sessions->len; i++)
    json_builder_add_value (b,
        peer_whep_session_to_json (peer->whep_sessions->pdata[i]));
  json_builder_end_array (b);
  json_builder_end_object (b);

  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  text = json_generator_to_data (gen, NULL);
  fprintf (stdout, "%s\n", text);
  fflush (stdout);
}

static guint
whep_pending (Peer * peer)
{
  guint i, n = 0;

  for (i = 0; i < peer->whep_sessions->len; i++)
    n += peer_whep_session_pending (peer->whep_sessions->pdata[i]);
  return n;
}

/* --tls-ca: @session trusts only the CA certificates in @file (a test's self-signed
 * Ferry certificate) for wss:// and https://. A file that cannot be read ends the peer. */
static void
apply_tls_ca (SoupSession * session, const gchar * file)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GTlsDatabase) db = NULL;

  if (file == NULL)
    return;
  db = g_tls_file_database_new (file, &error);
  if (db == NULL) {
    g_printerr ("ferry-test-peer: --tls-ca %s: %s\n", file, error->message);
    exit (2);
  }
  soup_session_set_tls_database (session, db);
}

/* The WHEP mode: one session per --whep URL, all started at once. Always
 * returns EXIT_SUCCESS: per-stream failures are in the report. */
static gint
run_whep (Peer * peer)
{
  PeerWhepConfig config = { 0, };
  gboolean timed_out = FALSE;
  GSource *timer;
  guint i;

  peer->start_us = g_get_monotonic_time ();
  peer->ctx = g_main_context_ref_thread_default ();
  peer->loop = g_main_loop_new (peer->ctx, FALSE);
  peer->cancel = g_cancellable_new ();
  peer->whep_sessions = g_ptr_array_new_with_free_func (
      (GDestroyNotify) peer_whep_session_unref);
  for (i = 0; peer->wheps[i] != NULL; i++)
    /* parse_options checked every URL */
    g_ptr_array_add (peer->whep_sessions,
        peer_whep_session_new (peer->wheps[i], NULL));

  peer->session = soup_session_new_with_options ("timeout", HTTP_TIMEOUT_S,
      "user-agent", "ferry-test-peer", NULL);
  /* as in the WCS mode: direct connections, and no libproxy under ASan */
  soup_session_set_proxy_resolver (peer->session, NULL);
  apply_tls_ca (peer->session, peer->tls_ca);

  config.ctx = peer->ctx;
  config.session = peer->session;
  config.cancel = peer->cancel;
  config.ice_address = peer->ice_address;
  config.audio = !peer->no_audio;
  config.video = !peer->no_video;
  config.bundle_policy = peer->bundle_policy;
  config.trickle = peer->trickle;
  config.delete_after = peer->delete_after;
  config.no_decode = peer->no_decode;
  config.ended = on_whep_ended;
  config.trace = whep_trace;
  config.user_data = peer;
  for (i = 0; i < peer->whep_sessions->len; i++)
    peer_whep_session_start (peer->whep_sessions->pdata[i], &config);
  peer->deadline = attach_timeout (peer, (guint) (peer->seconds * 1000),
      quit_loop, peer, NULL);

  g_main_loop_run (peer->loop);

  peer->closing = TRUE;
  g_source_destroy (peer->deadline);
  g_clear_pointer (&peer->deadline, g_source_unref);
  if (peer->end_grace != NULL) {
    g_source_destroy (peer->end_grace);
    g_clear_pointer (&peer->end_grace, g_source_unref);
  }
  trace (peer, "-", "tearing down");
  for (i = 0; i < peer->whep_sessions->len; i++)
    peer_whep_session_stop (peer->whep_sessions->pdata[i]);
  /* cancelled requests still call back (and drop their references) on this
   * context; give them a bounded time */
  g_cancellable_cancel (peer->cancel);
  timer = attach_timeout (peer, DRAIN_WAIT_MS, set_flag, &timed_out, NULL);
  while (!timed_out && whep_pending (peer) > 0)
    g_main_context_iteration (peer->ctx, TRUE);
  g_source_destroy (timer);
  g_source_unref (timer);
  if (whep_pending (peer) > 0)
    GST_WARNING ("%u WHEP requests did not call back", whep_pending (peer));
  trace (peer, "-", "done");
  while (g_main_context_iteration (peer->ctx, FALSE));

  print_whep_report (peer);
  return EXIT_SUCCESS;
}

/* Sanitizer hooks, only consulted in -fsanitize=address builds.
 *
 * GLib's quark table drops its first block on purpose when it grows
 * (lock-free readers may still hold it); GStreamer registers enough quarks
 * to make that happen, and the block comes from a library constructor.
 * Matching that needs full stacks: the fast unwinder stops inside the
 * frame-pointer-less system GLib, which also makes any real g_malloc leak
 * report useless. ASAN_OPTIONS from the environment still win. */
const char *__asan_default_options (void);
const char *__lsan_default_suppressions (void);
const char *__lsan_default_options (void);

G_GNUC_UNUSED const char *
__asan_default_options (void)
{
  return "fast_unwind_on_malloc=0";
}

G_GNUC_UNUSED const char *
__lsan_default_suppressions (void)
{
  return "leak:_dl_init\n";
}

G_GNUC_UNUSED const char *
__lsan_default_options (void)
{
  return "print_suppressions=0";
}

static gboolean
parse_options (Peer * peer, int *argc, char ***argv)
{
  g_autoptr (GOptionContext) octx = NULL;
  g_autoptr (GError) error = NULL;
  const GOptionEntry entries[] = {
    {"url", 'u', 0, G_OPTION_ARG_STRING, &peer->url,
        "WCS WebSocket URL, e.g. ws://127.0.0.1:8080/ or wss://…", "URL"},
    {"tls-ca", 0, 0, G_OPTION_ARG_FILENAME, &peer->tls_ca,
        "Trust the CA certificate(s) in FILE (PEM) for wss:// and https://",
        "FILE"},
    {"name", 'n', 0, G_OPTION_ARG_STRING_ARRAY, &peer->names,
        "Stream name to play (repeat for more streams)", "STREAM"},
    {"seconds", 's', 0, G_OPTION_ARG_DOUBLE, &peer->seconds,
        "Total run time, then report (default 8)", "S"},
    {"ice-address", 0, 0, G_OPTION_ARG_STRING, &peer->ice_address,
        "The only local address ICE may use (default 127.0.0.1)", "ADDR"},
    {"no-audio-mline", 0, 0, G_OPTION_ARG_NONE, &peer->no_audio,
        "Offer no audio m-line", NULL},
    {"no-video-mline", 0, 0, G_OPTION_ARG_NONE, &peer->no_video,
        "Offer no video m-line", NULL},
    {"audio-pt", 0, 0, G_OPTION_ARG_INT, &peer->audio_pt,
        "Offer Opus with this payload type (default 111)", "PT"},
    {"video-pt", 0, 0, G_OPTION_ARG_INT, &peer->video_pt,
        "Offer H.264 with this payload type (default 102)", "PT"},
    {"video-first", 0, 0, G_OPTION_ARG_NONE, &peer->video_first,
        "Offer the video m-line before the audio one", NULL},
    {"offer-template", 0, 0, G_OPTION_ARG_FILENAME,
          &peer->offer_template_file,
          "Send this SDP instead of webrtcbin's offer, with {{ice-ufrag}}, "
          "{{ice-pwd}}, {{fingerprint}}, {{mid:audio}}, {{mid:video}} filled "
          "in from it (WCS only)", "FILE"},
    {"until-decoded", 0, 0, G_OPTION_ARG_NONE, &peer->until_decoded,
        "End the run as soon as every stream has ended or decoded 15 video "
          "frames and 0.5 s of audio (of the m-lines it offered)", NULL},
    {"no-decode", 0, 0, G_OPTION_ARG_NONE, &peer->no_decode,
        "Decode nothing: count RTP packets only, for many streams per "
          "process (bench/)", NULL},
    {"no-nack", 0, 0, G_OPTION_ARG_NONE, &peer->no_nack,
        "Offer no NACK/RTX for video (browsers do, and so does the peer by "
          "default)", NULL},
    {"drop-video-every", 0, 0, G_OPTION_ARG_INT, &peer->drop_video_every,
        "Drop every Nth video RTP packet on arrival, as a lossy network "
          "would (retransmissions pass)", "N"},
    {"latency", 0, 0, G_OPTION_ARG_INT, &peer->latency_ms,
        "Jitterbuffer latency, ms (default webrtcbin's 200): time for "
          "retransmissions when this peer runs slowly (ASan)", "MS"},
    {"bad-fingerprint", 0, 0, G_OPTION_ARG_NONE, &peer->bad_fingerprint,
        "Send an a=fingerprint that does not match the DTLS certificate "
          "(WCS only)", NULL},
    {"stop-after", 0, 0, G_OPTION_ARG_DOUBLE, &peer->stop_after,
        "Send stopStream S seconds after a stream's PLAYING", "S"},
    {"origin", 0, 0, G_OPTION_ARG_STRING, &peer->origin,
        "Origin header for the WebSocket upgrade (default none)", "ORIGIN"},
    {"bundle-policy", 0, 0, G_OPTION_ARG_STRING, &peer->bundle_policy,
        "webrtcbin bundle policy: max-bundle (default), max-compat "
          "(the browser SDK's), balanced, none", "POLICY"},
    {"full-duration", 0, 0, G_OPTION_ARG_NONE, &peer->full_duration,
        "Run all --seconds even when every stream has ended", NULL},
    {"whep", 0, 0, G_OPTION_ARG_STRING_ARRAY, &peer->wheps,
        "Play over WHEP from this endpoint URL instead of WCS, e.g. "
          "http://127.0.0.1:8081/whep/cam1 (repeat for more streams)", "URL"},
    {"trickle", 0, 0, G_OPTION_ARG_NONE, &peer->trickle,
        "WHEP: PATCH the gathered local candidates once", NULL},
    {"delete-after", 0, 0, G_OPTION_ARG_DOUBLE, &peer->delete_after,
        "WHEP: DELETE the session S seconds after ICE connected", "S"},
    {"progress", 0, 0, G_OPTION_ARG_INT, &peer->progress_ms,
        "WCS: print {\"progress\":t,\"counts\":{name:[frames,samples]}} every MS "
          "ms on stderr", "MS"},
    {"verbose", 'v', 0, G_OPTION_ARG_NONE, &peer->verbose,
        "Trace WebSocket / HTTP traffic on stderr", NULL},
    {NULL}
  };

  octx = g_option_context_new ("- receive-only WCS WebSocket / WHEP test "
      "viewer");
  g_option_context_add_main_entries (octx, entries, NULL);
  g_option_context_add_group (octx, gst_init_get_option_group ());
  if (!g_option_context_parse (octx, argc, argv, &error)) {
    g_printerr ("%s\n", error->message);
    return FALSE;
  }
  if (peer->wheps != NULL) {
    gint i;

    if (peer->url != NULL || peer->names != NULL || peer->origin != NULL ||
        peer->stop_after >= 0 || peer->offer_template_file != NULL ||
        peer->bad_fingerprint || peer->until_decoded) {
      g_printerr ("--whep excludes --url, --name, --origin, --stop-after, "
          "--offer-template, --bad-fingerprint and --until-decoded\n");
      return FALSE;
    }
    for (i = 0; peer->wheps[i] != NULL; i++) {
      g_autoptr (PeerWhepSession) s = peer_whep_session_new (peer->wheps[i],
          &error);

      if (s == NULL) {
        g_printerr ("--whep: %s\n", error->message);
        return FALSE;
      }
    }
    if (peer->delete_after > 24 * 3600) {
      g_printerr ("--delete-after is too large\n");
      return FALSE;
    }
  } else if (peer->trickle || peer->delete_after >= 0) {
    g_printerr ("--trickle and --delete-after need --whep\n");
    return FALSE;
  } else if (peer->url == NULL || peer->names == NULL ||
      peer->names[0] == NULL) {
    g_printerr ("--url and at least one --name (or --whep) are required\n");
    return FALSE;
  }
  if (!(peer->seconds > 0) || peer->seconds > 24 * 3600) {
    g_printerr ("--seconds must be > 0\n");
    return FALSE;
  }
  if (peer->no_decode && peer->until_decoded) {
    /* nothing would ever count as decoded */
    g_printerr ("--no-decode and --until-decoded exclude each other\n");
    return FALSE;
  }
  if (peer->no_audio && peer->no_video) {
    g_printerr ("--no-audio-mline and --no-video-mline exclude each other\n");
    return FALSE;
  }
  if (peer->audio_pt < 0 || peer->audio_pt > 127 || peer->video_pt < 0 ||
      peer->video_pt > 127) {
    g_printerr ("--audio-pt and --video-pt must be 0..127\n");
    return FALSE;
  }
  if (peer->offer_template_file != NULL &&
      !g_file_get_contents (peer->offer_template_file, &peer->offer_template,
          NULL, &error)) {
    g_printerr ("--offer-template: %s\n", error->message);
    return FALSE;
  }
  if (peer->stop_after > 24 * 3600) {
    g_printerr ("--stop-after is too large\n");
    return FALSE;
  }
  if (!peer_stream_bundle_policy_is_valid (peer->bundle_policy)) {
    g_printerr ("unknown --bundle-policy %s\n", peer->bundle_policy);
    return FALSE;
  }
  if (peer->ice_address == NULL)
    peer->ice_address = g_strdup ("127.0.0.1");
  return TRUE;
}

static void
peer_clear (Peer * peer)
{
  g_clear_pointer (&peer->streams, g_ptr_array_unref);
  g_clear_pointer (&peer->whep_sessions, g_ptr_array_unref);
  g_clear_pointer (&peer->stop_timers, g_hash_table_unref);
  g_clear_object (&peer->conn);
  g_clear_object (&peer->session);
  g_clear_object (&peer->cancel);
  g_clear_pointer (&peer->loop, g_main_loop_unref);
  g_clear_pointer (&peer->ctx, g_main_context_unref);
  g_free (peer->url);
  g_free (peer->tls_ca);
  g_strfreev (peer->names);
  g_strfreev (peer->wheps);
  g_free (peer->ice_address);
  g_free (peer->origin);
  g_free (peer->bundle_policy);
  g_free (peer->offer_template_file);
  g_free (peer->offer_template);
  g_free (peer->error);
}

int
main (int argc, char **argv)
{
  Peer peer = {.seconds = 8,.stop_after = -1,.close_code = -1,
    .delete_after = -1
  };
  g_autoptr (SoupMessage) msg = NULL;
  gint i, ret;

  if (!parse_options (&peer, &argc, &argv)) {
    peer_clear (&peer);
    return EXIT_USAGE;
  }
  GST_DEBUG_CATEGORY_INIT (peer_debug, "ferry-test-peer", 0, "Ferry test peer");
  if (peer.wheps != NULL) {
    ret = run_whep (&peer);
    peer_clear (&peer);
    gst_deinit ();
    return ret;
  }
  msg = soup_message_new (SOUP_METHOD_GET, peer.url);
  if (msg == NULL) {
    g_printerr ("invalid --url %s\n", peer.url);
    peer_clear (&peer);
    return EXIT_USAGE;
  }

  peer.start_us = g_get_monotonic_time ();
  peer.ctx = g_main_context_ref_thread_default ();
  peer.loop = g_main_loop_new (peer.ctx, FALSE);
  peer.cancel = g_cancellable_new ();
  peer.streams = g_ptr_array_new_with_free_func (
      (GDestroyNotify) peer_stream_unref);
  peer.stop_timers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
      (GDestroyNotify) g_source_unref);
  for (i = 0; peer.names[i] != NULL; i++)
    g_ptr_array_add (peer.streams, peer_stream_new (peer.names[i]));

  peer.session = soup_session_new ();
  /* the server is always reached directly; this also keeps libproxy (C++,
   * which trips ASan's __cxa_throw interceptor when dlopen'ed) out */
  soup_session_set_proxy_resolver (peer.session, NULL);
  apply_tls_ca (peer.session, peer.tls_ca);
  soup_session_websocket_connect_async (peer.session, msg, peer.origin, NULL,
      G_PRIORITY_DEFAULT, peer.cancel, on_connected, &peer);
  peer.deadline = attach_timeout (&peer, (guint) (peer.seconds * 1000),
      on_deadline, &peer, NULL);
  {
    GSource *sig = g_unix_signal_source_new (SIGTERM);
    g_source_set_callback (sig, on_sigterm, &peer, NULL);
    g_source_attach (sig, peer.ctx);
    g_source_unref (sig);
  }
  if (peer.progress_ms > 0) {
    GSource *progress = attach_timeout (&peer, (guint) peer.progress_ms,
        print_progress, &peer, NULL);
    g_source_unref (progress);
  }
  if (peer.until_decoded)
    peer.until_check = attach_timeout (&peer, UNTIL_CHECK_MS, on_until_check,
        &peer, NULL);

  g_main_loop_run (peer.loop);

  if (peer.until_check != NULL) {
    g_source_destroy (peer.until_check);
    g_clear_pointer (&peer.until_check, g_source_unref);
  }

  /* pending stop timers hold stream refs: drop them before the drain */
  {
    GHashTableIter iter;
    gpointer value;

    g_hash_table_iter_init (&iter, peer.stop_timers);
    while (g_hash_table_iter_next (&iter, NULL, &value))
      g_source_destroy (value);
    g_hash_table_remove_all (peer.stop_timers);
  }
  g_source_destroy (peer.deadline);
  g_clear_pointer (&peer.deadline, g_source_unref);
  if (peer.end_grace != NULL) {
    g_source_destroy (peer.end_grace);
    g_clear_pointer (&peer.end_grace, g_source_unref);
  }
  g_cancellable_cancel (peer.cancel);
  trace (&peer, "-", "closing the socket");
  close_socket (&peer);
  trace (&peer, "-", "tearing down");
  for (i = 0; i < (gint) peer.streams->len; i++)
    peer_stream_teardown (peer.streams->pdata[i]);
  trace (&peer, "-", "done");
  /* let queued hops and the cancelled connect run and drop their refs */
  while (g_main_context_iteration (peer.ctx, FALSE));

  print_report (&peer);
  ret = peer.error != NULL ? EXIT_CONNECT : EXIT_SUCCESS;
  if (peer.conn != NULL)
    g_signal_handlers_disconnect_by_data (peer.conn, &peer);
  peer_clear (&peer);
  gst_deinit ();
  return ret;
}

/* ferry-signalling.c — see ferry-signalling.h. Main context only. */
#include "ferry-signalling.h"
#include "ferry-invoke.h"
#include "ferry-auth.h"
#include "ferry-json.h"
#include "ferry-metrics.h"
#include "ferry-pull.h"
#include "ferry-rest.h"
#include "ferry-errors.h"
#include "ferry-registry.h"
#include "ferry-viewer.h"
#include "ferry-wcs.h"

#include <gst/gst.h>
#include <string.h>

GST_DEBUG_CATEGORY_STATIC (ferry_signalling_debug);
#define GST_CAT_DEFAULT ferry_signalling_debug

struct _FerrySignalling
{
  FerryApp *app;                /* borrowed */
  SoupServer *server;           /* owned ref */
  GHashTable *clients;          /* Client* set, owned */
  GSource *ping;
};

typedef struct
{
  FerryViewer *viewer;          /* owned */
  char *name;                   /* the requested stream name, echoed in statuses */
  gboolean has_audio, has_video;
} Play;

typedef struct
{
  FerrySignalling *sig;
  SoupWebsocketConnection *conn;        /* owned */
  char *id;
  GHashTable *plays;            /* mediaSessionId → Play*, owned */
  gboolean closing;
  /* Keep-alive: a ping is outstanding until a pong comes; a run of ping-misses
   * unanswered pings means the client is gone even if TCP never said so. */
  gboolean awaiting_pong;
  guint missed_pings;
  const char *close_reason;     /* static; sent in our close frame */
  gushort close_code;           /* … with this code */
  char *token;                  /* play token from `connection` (authToken/custom.token) */
  char *address;                /* the client's IP, for [limits] ws-per-address */
  double tokens;                /* [limits] ws-messages-per-second: a token bucket */
  gint64 tokens_us;             /* monotonic time it was last filled */
} Client;

static void
play_free (gpointer data)
{
  Play *p = data;
  g_clear_object (&p->viewer);
  g_free (p->name);
  g_free (p);
}

static void
client_send (Client *c, char *text)
{
  if (!c->closing && soup_websocket_connection_get_state (c->conn) ==
      SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_send_text (c->conn, text);
  g_free (text);
}

static void
send_status (Client *c, const char *msid, const char *name,
    gboolean has_audio, gboolean has_video, const char *status,
    const char *info)
{
  FerryWcsStatus st = {
    .media_session_id = msid,
    .name = name,
    .status = status,
    .info = info,
    .has_audio = has_audio,
    .has_video = has_video,
  };
  GST_DEBUG ("client %s: %s → %s%s%s", c->id, msid, status, info ? " " : "",
      info ? info : "");
  client_send (c, ferry_wcs_stream_status (&st));
}

/* FerryViewerEvents, main context. */
static void
viewer_answer (gpointer user_data, FerryViewer *viewer, const char *sdp)
{
  Client *c = user_data;
  client_send (c, ferry_wcs_set_remote_sdp (ferry_viewer_get_id (viewer),
          sdp));
}

static void
viewer_status (gpointer user_data, FerryViewer *viewer, const char *status,
    const char *info)
{
  Client *c = user_data;
  Play *p = g_hash_table_lookup (c->plays, ferry_viewer_get_id (viewer));

  send_status (c, ferry_viewer_get_id (viewer), p ? p->name : NULL,
      p ? p->has_audio : TRUE, p ? p->has_video : TRUE, status, info);
}

static void
viewer_closed (gpointer user_data, FerryViewer *viewer)
{
  Client *c = user_data;
  Play *p = g_hash_table_lookup (c->plays, ferry_viewer_get_id (viewer));

  if (p && p->viewer == viewer)
    g_hash_table_remove (c->plays, ferry_viewer_get_id (viewer));
}

static const FerryViewerEvents viewer_events = {
  .answer = viewer_answer,
  .status = viewer_status,
  .closed = viewer_closed,
};

static void
handle_connection (Client *c, const FerryWcsRequest *req)
{
  if (req->has_payload) {
    g_free (c->token);
    c->token = g_strdup (req->token);
  }
  client_send (c, ferry_wcs_get_user_data (c->id, req->app_key,
          req->client_version));
}

static void
handle_play (Client *c, const FerryWcsRequest *req)
{
  const char *msid = req->media_session_id, *name = req->name;
  const char *sdp = req->sdp, *provider = req->media_provider;
  g_autoptr (FerryStream) stream = NULL;
  g_autoptr (GError) error = NULL;
  gboolean on_demand = FALSE;
  FerryViewer *viewer;
  Play *play;

  if (!req->has_payload)
    return;

  /* An id the client sent with the wrong JSON type is as unusable as none. */
  if (msid == NULL || *msid == '\0') {
    send_status (c, NULL, name, TRUE, TRUE, "FAILED", "MediaSessionId is null");
    return;
  }
  if (g_hash_table_contains (c->plays, msid)) {
    send_status (c, msid, name, TRUE, TRUE, "FAILED",
        "MediaSessionId is already in use");
    return;
  }
  {
    const char *token = req->token;
    if (!ferry_auth_play_token (ferry_app_get_config (c->sig->app),
            token ? token : c->token)) {
      GST_INFO ("client %s: play %s: %s", c->id, name, (token || c->token)
          ? "play token refused" : "no play token");
      send_status (c, msid, name, TRUE, TRUE, "FAILED", (token || c->token)
          ? "Unauthorized: the play token is not valid"
          : "Unauthorized: a play token is required (authToken or custom.token)");
      return;
    }
  }
  /* MSE and WSPlayer send a placeholder SDP Ferry cannot answer: the SDK's own
   * "unusable SDP" text (wcs-websocket-protocol.md §7, §8). */
  if (provider != NULL && g_strcmp0 (provider, "WebRTC") != 0) {
    GST_INFO ("client %s: play %s: media provider %s is not supported", c->id,
        name, provider);
    send_status (c, msid, name, TRUE, TRUE, "FAILED",
        "Failed to add stream to proxy");
    return;
  }
  /* A name that is an rtmp:// uri nobody pulls yet is pulled on demand (below, once the
   * viewer is known to be acceptable). */
  stream = ferry_pull_for_viewer (c->sig->app, name, &on_demand, &error);
  if (stream == NULL && !on_demand) {
    GST_INFO ("client %s: play %s: %s", c->id, name, error->message);
    send_status (c, msid, name, TRUE, TRUE, "FAILED", error->message);
    return;
  }
  viewer = ferry_viewer_new (c->sig->app, msid, sdp, &viewer_events, c,
      &error);
  if (viewer == NULL) {
    GST_INFO ("client %s: play %s: %s", c->id, name, error->message);
    send_status (c, msid, name, TRUE, TRUE, "FAILED",
        "Failed to add stream to proxy");
    return;
  }
  /* Said now rather than when the stream plays: a viewer of a PENDING pull would
   * otherwise wait for media it can never take. */
  if (!ferry_viewer_offers_codec (viewer)) {
    GST_INFO ("client %s: play %s: the offer has neither Opus nor H.264 "
        "(packetization-mode 1)", c->id, name);
    g_object_unref (viewer);
    send_status (c, msid, name, TRUE, TRUE, "FAILED", "No common codecs");
    return;
  }
  play = g_new0 (Play, 1);
  play->viewer = viewer;
  play->name = g_strdup (name);
  play->has_audio = req->has_audio;
  play->has_video = req->has_video;
  if (on_demand
      && !(stream = ferry_pull_start_on_demand (c->sig->app, name, &error))) {
    GST_INFO ("client %s: play %s: %s", c->id, name, error->message);
    play_free (play);
    send_status (c, msid, name, TRUE, TRUE, "FAILED", error->message);
    return;
  }
  g_hash_table_insert (c->plays, g_strdup (msid), play);
  GST_INFO ("client %s: viewer %s plays %s%s", c->id, msid, name,
      on_demand ? " (pulled on demand)" : "");
  ferry_stream_add_viewer (stream, viewer);
}

static void
handle_stop (Client *c, const FerryWcsRequest *req)
{
  const char *msid = req->media_session_id;
  Play *p;

  if (!req->has_payload)
    return;
  p = msid ? g_hash_table_lookup (c->plays, msid) : NULL;
  /* A second stop, or a stop for an id we never saw, is ignored (§5.3). */
  if (p == NULL)
    return;
  ferry_viewer_close (p->viewer, "STOPPED", "Stopped by user");
}

/* stream.available() (§6.2): the SDK resolves only on the string "true" (it compares
 * with ==, so a JSON true would reject). Available means playStream would be
 * accepted now: a pull of that name that is PENDING or PLAYING. */
static void
handle_available (Client *c, const FerryWcsRequest *req)
{
  FerryRegistry *registry = ferry_app_get_registry (c->sig->app);
  const char *msid = req->media_session_id, *name = req->name;
  g_autoptr (FerryStream) stream = NULL;
  gboolean available;

  if (!req->has_payload)
    return;
  if (name != NULL)
    stream = ferry_registry_lookup_name (registry, name);
  available = stream != NULL && ferry_stream_is_active (stream);
  GST_DEBUG ("client %s: %s available: %s", c->id, name,
      available ? "yes" : "no");
  client_send (c, ferry_wcs_available_stream (msid, name, available,
          available ? NULL : "Stream not found"));
}

static void
handle_pong (Client *c)
{
  c->awaiting_pong = FALSE;
  c->missed_pings = 0;
}

/* A token bucket of [limits] ws-messages-per-second, holding up to two seconds' worth:
 * the SDK sends a few messages at once (connection, playStream) and then one per play,
 * stop or pong. Returns: FALSE when the client is over its rate. */
static gboolean
take_token (Client *c)
{
  guint rate = ferry_app_get_config (c->sig->app)->max_ws_rate;
  gint64 now = g_get_monotonic_time ();

  c->tokens = MIN (2.0 * rate, c->tokens + (now - c->tokens_us) * rate / 1e6);
  c->tokens_us = now;
  if (c->tokens < 1.0)
    return FALSE;
  c->tokens -= 1.0;
  return TRUE;
}

/* Main context (libsoup). Unknown messages, bad JSON and binary frames are ignored:
 * the protocol says never to close the socket over them. */
static void
message_cb (SoupWebsocketConnection *conn, gint type, GBytes *message,
    gpointer user_data)
{
  Client *c = user_data;
  g_auto (FerryWcsRequest) req = { 0 };
  g_autoptr (GError) error = NULL;
  gsize len;
  const char *text;

  if (!take_token (c)) {
    GST_WARNING ("client %s (%s): more than %u messages a second; closing it",
        c->id, c->address, ferry_app_get_config (c->sig->app)->max_ws_rate);
    ferry_metrics_count (ferry_app_get_metrics (c->sig->app),
        FERRY_METRIC_LIMITED);
    c->close_code = SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION;
    c->close_reason = "message rate limit";
    g_hash_table_remove (c->sig->clients, c);   /* frees c */
    return;
  }
  if (type != SOUP_WEBSOCKET_DATA_TEXT)
    return;
  text = g_bytes_get_data (message, &len);
  if (!ferry_wcs_request_parse (text, len,
          ferry_app_get_config (c->sig->app)->max_json_depth, &req, &error)) {
    GST_INFO ("client %s: ignoring a malformed message: %s", c->id,
        error->message);
    return;
  }
  if (req.type == FERRY_WCS_MSG_NONE)
    return;

  GST_LOG ("client %s: %s", c->id, req.message);
  switch (req.type) {
    case FERRY_WCS_MSG_CONNECTION:
      handle_connection (c, &req);
      break;
    case FERRY_WCS_MSG_PLAY_STREAM:
      handle_play (c, &req);
      break;
    case FERRY_WCS_MSG_STOP_STREAM:
      handle_stop (c, &req);
      break;
    case FERRY_WCS_MSG_AVAILABLE_STREAM:
      handle_available (c, &req);
      break;
    case FERRY_WCS_MSG_PONG:
      handle_pong (c);
      break;
    case FERRY_WCS_MSG_PING:
      break;                    /* the SDK expects no answer (§10) */
    default:
      GST_DEBUG ("client %s: ignoring message %s", c->id, req.message);
      break;
  }
}

/* Frees the client's viewers without reporting (nobody to report to). */
static void
client_free (gpointer data)
{
  Client *c = data;
  GList *plays = g_hash_table_get_values (c->plays);
  GList *viewers = NULL;

  c->closing = TRUE;
  for (GList *l = plays; l; l = l->next)
    viewers = g_list_prepend (viewers, g_object_ref (((Play *) l->data)->viewer));
  g_list_free (plays);
  for (GList *l = viewers; l; l = l->next)
    ferry_viewer_close (l->data, NULL, NULL);
  g_list_free_full (viewers, g_object_unref);

  g_signal_handlers_disconnect_by_data (c->conn, c);
  if (soup_websocket_connection_get_state (c->conn) ==
      SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_close (c->conn, c->close_code, c->close_reason);
  g_object_unref (c->conn);
  g_hash_table_unref (c->plays);
  GST_INFO ("client %s: gone", c->id);
  g_free (c->address);
  if (c->token)
    memset (c->token, 0, strlen (c->token));
  g_free (c->token);
  g_free (c->id);
  g_free (c);
}

static void
closed_cb (SoupWebsocketConnection *conn, gpointer user_data)
{
  Client *c = user_data;
  GST_INFO ("client %s: socket closed (code %u)", c->id,
      soup_websocket_connection_get_close_code (conn));
  g_hash_table_remove (c->sig->clients, c);
}

/* Main context (libsoup): a new WebSocket. The connection is borrowed: keep a ref. */
static void
websocket_cb (SoupServer *server, SoupServerMessage *msg, const char *path,
    SoupWebsocketConnection *conn, gpointer user_data)
{
  FerrySignalling *self = user_data;
  Client *c = g_new0 (Client, 1);
  const FerryConfig *config = ferry_app_get_config (self->app);

  c->sig = self;
  c->conn = g_object_ref (conn);
  c->close_reason = "server shutdown";
  c->close_code = SOUP_WEBSOCKET_CLOSE_GOING_AWAY;
  c->address = ferry_rest_remote_address (msg);
  c->tokens = 2.0 * config->max_ws_rate;
  c->tokens_us = g_get_monotonic_time ();
  c->id = g_uuid_string_random ();
  c->plays = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
      play_free);
  /* SDP offers are a few KiB; anything near the default 128 KiB cap is abuse. */
  soup_websocket_connection_set_max_incoming_payload_size (conn,
      (guint64) config->max_ws_message_kb * 1024);
  g_signal_connect (conn, "message", G_CALLBACK (message_cb), c);
  g_signal_connect (conn, "closed", G_CALLBACK (closed_cb), c);
  g_hash_table_add (self->clients, c);
  ferry_metrics_count (ferry_app_get_metrics (self->app),
      FERRY_METRIC_WS_SESSIONS);
  GST_INFO ("client %s: connected from %s", c->id, c->address);
}

/* Main context, after the upgrade request's headers: [limits] ws-per-address. A status
 * set here answers the request instead of upgrading it. */
static void
ws_early_cb (SoupServer *server, SoupServerMessage *msg, const char *path,
    GHashTable *query, gpointer user_data)
{
  FerrySignalling *self = user_data;
  guint limit = ferry_app_get_config (self->app)->max_ws_per_address;
  g_autofree char *address = ferry_rest_remote_address (msg);
  GHashTableIter it;
  gpointer key;
  guint n = 0;
  g_autofree char *text = NULL;

  g_hash_table_iter_init (&it, self->clients);
  while (g_hash_table_iter_next (&it, &key, NULL))
    n += g_str_equal (((Client *) key)->address, address);
  if (n < limit)
    return;
  GST_WARNING ("refusing a WebSocket from %s: it has %u open ([limits] "
      "ws-per-address)", address, n);
  ferry_metrics_count (ferry_app_get_metrics (self->app), FERRY_METRIC_LIMITED);
  text = g_strdup_printf ("too many WebSocket connections from %s (limit %u)",
      address, limit);
  ferry_rest_reply_error_literal (msg, FERRY_ERROR_TOO_MANY, text);
}

/* Main context, every ping-interval. A client that left ping-misses pings in a row
 * unanswered is dropped like a closed socket: a half-open TCP connection (a peer that
 * vanished without FIN or RST) would otherwise keep its viewers until the kernel gives
 * up, which can take hours. Only pongs count: the WCS SDK answers every ping (§10). */
static gboolean
ping_cb (gpointer user_data)
{
  FerrySignalling *self = user_data;
  guint misses = ferry_app_get_config (self->app)->ping_misses;
  GHashTableIter it;
  gpointer key;

  g_hash_table_iter_init (&it, self->clients);
  while (g_hash_table_iter_next (&it, &key, NULL)) {
    Client *c = key;

    if (c->awaiting_pong && misses > 0 && ++c->missed_pings >= misses) {
      GST_INFO ("client %s: no pong to %u pings in a row; dropping it", c->id,
          c->missed_pings);
      c->close_reason = "no pong";
      /* client_free touches only this client's own tables. */
      g_hash_table_iter_remove (&it);
      continue;
    }
    c->awaiting_pong = TRUE;
    client_send (c, ferry_wcs_ping ());
  }
  return G_SOURCE_CONTINUE;
}

/**
 * ferry_signalling_new:
 * @server: (transfer none): the server for the WebSocket port; every path is accepted,
 *   as the SDK connects to whatever URL the page gives it (usually "/").
 */
FerrySignalling *
ferry_signalling_new (FerryApp *app, SoupServer *server)
{
  FerrySignalling *self = g_new0 (FerrySignalling, 1);
  guint interval = ferry_app_get_config (app)->ping_interval_s;

  if (ferry_signalling_debug == NULL)
    GST_DEBUG_CATEGORY_INIT (ferry_signalling_debug, "ferry-signalling", 0,
        "Ferry WCS WebSocket signalling");
  self->app = app;
  self->server = g_object_ref (server);
  self->clients = g_hash_table_new_full (NULL, NULL, client_free, NULL);
  soup_server_add_early_handler (server, NULL, ws_early_cb, self, NULL);
  soup_server_add_websocket_handler (server, NULL, NULL, NULL, websocket_cb,
      self, NULL);
  if (interval > 0) {
    self->ping = g_timeout_source_new_seconds (interval);
    g_source_set_callback (self->ping, ping_cb, self, NULL);
    g_source_attach (self->ping, ferry_app_get_context (app));
  }
  return self;
}

void
ferry_signalling_free (FerrySignalling *self)
{
  if (self == NULL)
    return;
  ferry_clear_source (&self->ping);
  soup_server_remove_handler (self->server, NULL);
  g_hash_table_unref (self->clients);
  g_object_unref (self->server);
  g_free (self);
}

/* The WebSocket connections open now (0 for NULL: before start, after stop). */
guint
ferry_signalling_get_n_clients (FerrySignalling *self)
{
  return self ? g_hash_table_size (self->clients) : 0;
}

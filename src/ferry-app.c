/* ferry-app.c — see ferry-app.h. Main context only. */
#include "ferry-app.h"
#include "ferry-auth.h"
#include "ferry-conns.h"
#include "ferry-errors.h"
#include "ferry-ice.h"
#include "ferry-metrics.h"
#include "ferry-registry.h"
#include "ferry-rest.h"
#include "ferry-signalling.h"
#include "ferry-whep.h"

#include <gst/gst.h>
#include <libsoup/soup.h>

#include "ferry-build-config.h"

GST_DEBUG_CATEGORY_STATIC (ferry_app_debug);
#define GST_CAT_DEFAULT ferry_app_debug

struct _FerryApp
{
  GObject parent;

  FerryConfig *config;          /* owned */
  GMainContext *ctx;            /* the context everything runs on */
  GThread *main_thread;
  SoupServer *rest_server;
  SoupServer *ws_server;
  FerryRegistry *registry;
  FerrySignalling *signalling;
  guint rest_port, ws_port;     /* as bound (a configured 0 picks a free port) */
  guint https_port, wss_port;   /* as bound; 0 without [tls] */
  char **public_ips;            /* [webrtc] public-addresses, resolved */
  FerryWhep *whep;
  FerryMetrics *metrics;        /* owned */
  FerryConns *conns;            /* owned: open connections per client address */
};

G_DEFINE_TYPE (FerryApp, ferry_app, G_TYPE_OBJECT)

static void
ferry_app_dispose (GObject *object)
{
  FerryApp *self = FERRY_APP (object);

  ferry_app_stop (self);
  G_OBJECT_CLASS (ferry_app_parent_class)->dispose (object);
}

static void
ferry_app_finalize (GObject *object)
{
  FerryApp *self = FERRY_APP (object);

  ferry_config_free (self->config);
  ferry_metrics_free (self->metrics);
  g_clear_pointer (&self->conns, ferry_conns_free);
  g_strfreev (self->public_ips);
  g_main_context_unref (self->ctx);
  G_OBJECT_CLASS (ferry_app_parent_class)->finalize (object);
}

static void
ferry_app_class_init (FerryAppClass *klass)
{
  GObjectClass *oclass = G_OBJECT_CLASS (klass);

  oclass->dispose = ferry_app_dispose;
  oclass->finalize = ferry_app_finalize;
  GST_DEBUG_CATEGORY_INIT (ferry_app_debug, "ferry-app", 0, "Ferry app");
}

static void
ferry_app_init (FerryApp *self)
{
}

/**
 * ferry_app_new:
 * @config: (transfer full)
 * Returns: (transfer full): an app bound to the calling thread's thread-default context.
 */
FerryApp *
ferry_app_new (FerryConfig *config)
{
  FerryApp *self = g_object_new (FERRY_TYPE_APP, NULL);

  self->config = config;
  self->ctx = g_main_context_ref_thread_default ();
  self->main_thread = g_thread_self ();
  self->registry = ferry_registry_new ();
  self->metrics = ferry_metrics_new (self);
  self->conns = ferry_conns_new (self->ctx);
  return self;
}

static guint
listen_one (FerryApp *self, SoupServer *server, guint port,
    SoupServerListenOptions options, GError **error)
{
  g_autoptr (GInetAddress) addr =
      g_inet_address_new_from_string (self->config->listen_address);
  g_autoptr (GSocketAddress) sa = NULL;
  GSList *uris;
  guint bound = port;

  if (addr == NULL) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
        "listen address '%s' is not an IP address",
        self->config->listen_address);
    return 0;
  }
  sa = g_inet_socket_address_new (addr, port);
  if (!soup_server_listen (server, sa, options, error)) {
    g_prefix_error (error, "cannot listen on %s:%u: ",
        self->config->listen_address, port);
    return 0;
  }
  /* the server may listen twice (plain and TLS): the newest listener of this scheme */
  uris = soup_server_get_uris (server);
  for (GSList *l = uris; l; l = l->next)
    if (g_str_equal (g_uri_get_scheme (l->data),
            (options & SOUP_SERVER_LISTEN_HTTPS) ? "https" : "http")
        && (port == 0 || (guint) g_uri_get_port (l->data) == port))
      bound = g_uri_get_port (l->data);
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
  return bound;
}

#define REQUEST_TIMER "ferry-request-timer"

/* Main context: a request (or a kept-alive connection waiting for its next one) took
 * longer than [limits] request-timeout to arrive: a slow or stalled client, or one that
 * holds connections open on purpose (slowloris). The socket is shut down; libsoup sees
 * the end of the stream and frees the connection. */
static gboolean
request_timeout_cb (gpointer data)
{
  SoupServerMessage *msg = data;
  FerryApp *self = g_object_get_data (G_OBJECT (msg), "ferry-app");
  GSocket *socket = soup_server_message_get_socket (msg);
  g_autofree char *peer = ferry_rest_remote_address (msg);

  GST_INFO ("closing a connection from %s: no whole request within %u s "
      "([limits] request-timeout)", peer, self->config->request_timeout_s);
  ferry_metrics_count (self->metrics, FERRY_METRIC_LIMITED);
  if (socket)
    g_socket_shutdown (socket, TRUE, TRUE, NULL);
  /* drops this source's last ref once it returns */
  g_object_set_data (G_OBJECT (msg), REQUEST_TIMER, NULL);
  return G_SOURCE_REMOVE;
}

static void
destroy_timer (gpointer source)
{
  g_source_destroy (source);
  g_source_unref (source);
}

/* Main context: a new connection is one more than [limits] connections-per-address
 * allows. A status set before the headers are read answers the request without running
 * any handler (libsoup skips them once a status is set). */
static void
refuse_connection (FerryApp *self, SoupServerMessage *msg, const char *address,
    guint open)
{
  g_autofree char *text = g_strdup_printf ("too many connections from %s: %u "
      "open ([limits] connections-per-address = %u)", address, open,
      self->config->max_conns_per_address);

  /* INFO, not WARNING: a client hammering the limit must not flood the log */
  GST_INFO ("refusing a connection: %s", text);
  ferry_metrics_count (self->metrics, FERRY_METRIC_LIMITED);
  ferry_rest_reply_error_literal (msg, FERRY_ERROR_TOO_MANY, text);
  soup_message_headers_replace (soup_server_message_get_response_headers (msg),
      "Connection", "close");
}

/* Main context, for each piece of a request body libsoup has read (and appended).
 * libsoup keeps a whole body in memory before any handler runs, and only a
 * Content-Length body can be refused unread (in the early handlers): a chunked body,
 * or one sent to a path without an early handler, grew the process by its full size
 * (200 MB chunked: +500 MB RSS). Once it is over [limits] body-kb it is dropped and no
 * longer kept; the rest is still read (request-timeout bounds how long) and the handler
 * answers 413 (ferry_rest_refuse_large_body). */
static void
body_chunk_cb (SoupServerMessage *msg, GBytes *chunk, gpointer data)
{
  FerryApp *self = data;
  SoupMessageBody *body = soup_server_message_get_request_body (msg);

  if (body->length <= (goffset) self->config->max_body_kb * 1024)
    return;
  soup_message_body_set_accumulate (body, FALSE);
  soup_message_body_truncate (body);
  g_object_set_data (G_OBJECT (msg), FERRY_BODY_TOO_LARGE, GINT_TO_POINTER (1));
}

/* Main context: libsoup starts reading a request (a new connection, or the next request
 * on a kept-alive one). The timer lives as long as the message or until it is read. */
static void
request_started_cb (SoupServer *server, SoupServerMessage *msg, gpointer data)
{
  FerryApp *self = data;
  g_autofree char *address = ferry_rest_remote_address (msg);
  GSource *timer = g_timeout_source_new_seconds
      (self->config->request_timeout_s);
  guint open;

  if (!ferry_conns_admit (self->conns, msg, address,
          self->config->max_conns_per_address, &open))
    refuse_connection (self, msg, address, open);

  g_signal_connect (msg, "got-chunk", G_CALLBACK (body_chunk_cb), self);

  g_object_set_data (G_OBJECT (msg), "ferry-app", self);
  g_source_set_callback (timer, request_timeout_cb, msg, NULL);
  g_source_attach (timer, self->ctx);
  g_object_set_data_full (G_OBJECT (msg), REQUEST_TIMER, timer, destroy_timer);
}

static void
request_read_cb (SoupServer *server, SoupServerMessage *msg, gpointer data)
{
  g_object_set_data (G_OBJECT (msg), REQUEST_TIMER, NULL);
}

static void
watch_requests (FerryApp *self, SoupServer *server)
{
  g_signal_connect (server, "request-started", G_CALLBACK (request_started_cb),
      self);
  g_signal_connect (server, "request-read", G_CALLBACK (request_read_cb), self);
}

/**
 * ferry_app_start:
 * Binds the REST and WebSocket ports (from the thread-default context, so that libsoup
 * serves them there) and installs the handlers.
 */
gboolean
ferry_app_start (FerryApp *self, GError **error)
{
  FERRY_ASSERT_MAIN_VAL (self, FALSE);

  self->rest_server = soup_server_new ("server-header", "ferry/"
      FERRY_VERSION " ", NULL);
  self->ws_server = soup_server_new ("server-header", "ferry/"
      FERRY_VERSION " ", NULL);
  if (!ferry_auth_check_config (self->config, error))
    return FALSE;
  self->public_ips = ferry_ice_resolve_public (self->config->public_addresses,
      error);
  if (self->config->public_addresses && self->public_ips == NULL)
    return FALSE;
  ferry_metrics_install (self->metrics, self->rest_server, self->ws_server);
  watch_requests (self, self->rest_server);
  watch_requests (self, self->ws_server);
  ferry_rest_install (self, self->rest_server);
  self->whep = ferry_whep_new (self, self->rest_server);
  self->signalling = ferry_signalling_new (self, self->ws_server);

  self->rest_port = listen_one (self, self->rest_server,
      self->config->rest_port, 0, error);
  if (self->rest_port == 0)
    return FALSE;
  self->ws_port = listen_one (self, self->ws_server, self->config->ws_port,
      0, error);
  if (self->ws_port == 0)
    return FALSE;
  if (self->config->tls_cert_file) {
    g_autoptr (GTlsCertificate) cert =
        ferry_config_load_certificate (self->config, error);
    if (cert == NULL)
      return FALSE;
    soup_server_set_tls_certificate (self->rest_server, cert);
    soup_server_set_tls_certificate (self->ws_server, cert);
    self->https_port = listen_one (self, self->rest_server,
        self->config->https_port, SOUP_SERVER_LISTEN_HTTPS, error);
    if (self->https_port == 0)
      return FALSE;
    self->wss_port = listen_one (self, self->ws_server,
        self->config->wss_port, SOUP_SERVER_LISTEN_HTTPS, error);
    if (self->wss_port == 0)
      return FALSE;
    GST_INFO ("TLS: REST API on https://%s:%u/, WebSocket on wss://%s:%u/",
        self->config->listen_address, self->https_port,
        self->config->listen_address, self->wss_port);
  }
  ferry_ice_log_report (self->config, self->public_ips);
  if (!self->config->tls_verify)
    GST_WARNING ("[pull] tls-verify = false: rtmps:// origins are not authenticated");
  GST_INFO ("REST API and player on http://%s:%u/, WebSocket on ws://%s:%u/",
      self->config->listen_address, self->rest_port,
      self->config->listen_address, self->ws_port);
  return TRUE;
}

static gboolean
deadline_cb (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Recordings finalise asynchronously (EOS through the muxer): keep the main context
 * turning until every stream's pipeline is down, bounded by the finalise timeout. */
static void
wait_for_streams (FerryApp *self, GPtrArray *streams)
{
  gboolean expired = FALSE;
  GSource *deadline = g_timeout_source_new_seconds
      (self->config->record_finalize_s + 1);

  g_source_set_callback (deadline, deadline_cb, &expired, NULL);
  g_source_attach (deadline, self->ctx);
  for (;;) {
    gboolean busy = FALSE;
    for (guint i = 0; i < streams->len; i++)
      busy |= !ferry_stream_is_finished (g_ptr_array_index (streams, i));
    if (!busy || expired)
      break;
    g_main_context_iteration (self->ctx, TRUE);
  }
  if (expired)
    GST_WARNING ("some streams did not finish in time");
  g_source_destroy (deadline);
  g_source_unref (deadline);
}

/**
 * ferry_app_stop:
 * Ends every stream (viewers get STOPPED), closes every client and stops listening.
 * Idempotent.
 */
void
ferry_app_stop (FerryApp *self)
{
  if (self->registry) {
    g_autoptr (GPtrArray) streams = ferry_registry_list (self->registry);
    for (guint i = 0; i < streams->len; i++)
      ferry_stream_shutdown (g_ptr_array_index (streams, i),
          FERRY_STREAM_STOPPED, "server shutting down", "STOPPED",
          "Stopped by server shutdown");
    wait_for_streams (self, streams);
  }
  g_clear_pointer (&self->signalling, ferry_signalling_free);
  g_clear_pointer (&self->whep, ferry_whep_free);
  if (self->rest_server)
    soup_server_disconnect (self->rest_server);
  if (self->ws_server)
    soup_server_disconnect (self->ws_server);
  g_clear_object (&self->rest_server);
  g_clear_object (&self->ws_server);
  g_clear_pointer (&self->registry, ferry_registry_free);
}

#define TAKE_STR(field) \
  G_STMT_START { g_free (self->config->field); \
    self->config->field = g_steal_pointer (&fresh->field); } G_STMT_END
#define TAKE_STRV(field) \
  G_STMT_START { g_strfreev (self->config->field); \
    self->config->field = g_steal_pointer (&fresh->field); } G_STMT_END

/**
 * ferry_app_reload:
 * @fresh: (transfer none): the configuration read again (SIGHUP)
 *
 * Takes over from @fresh what can change under running streams and clients without
 * surprising them (docs/configuration.md#reloading): [auth], [limits], [server]
 * cors-origins and the TLS certificate (new connections get the new one). Everything else
 * (ports, addresses, pull and WebRTC settings) needs a restart and is left as it was.
 * Nothing changes when @fresh is not usable.
 */
gboolean
ferry_app_reload (FerryApp *self, FerryConfig *fresh, GError **error)
{
  g_autoptr (GTlsCertificate) cert = NULL;

  FERRY_ASSERT_MAIN_VAL (self, FALSE);
  /* the new file decides on auth, the running sockets on whether auth is needed */
  g_free (fresh->listen_address);
  fresh->listen_address = g_strdup (self->config->listen_address);
  if (!ferry_auth_check_config (fresh, error))
    return FALSE;
  if (self->https_port != 0) {
    if (fresh->tls_cert_file == NULL) {
      g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
          "[tls] cannot be turned off by a reload (restart Ferry)");
      return FALSE;
    }
    cert = ferry_config_load_certificate (fresh, error);
    if (cert == NULL)
      return FALSE;
  } else if (fresh->tls_cert_file != NULL)
    GST_WARNING ("reload: [tls] is new; it takes a restart to listen with TLS");

  if (cert) {
    soup_server_set_tls_certificate (self->rest_server, cert);
    soup_server_set_tls_certificate (self->ws_server, cert);
    TAKE_STR (tls_cert_file);
    TAKE_STR (tls_key_file);
  }
  TAKE_STR (auth_rest);
  TAKE_STR (auth_play);
  TAKE_STRV (rest_tokens);
  TAKE_STRV (rest_users);
  TAKE_STRV (play_tokens);
  TAKE_STRV (cors_origins);
  TAKE_STRV (source_schemes);
  TAKE_STRV (source_hosts);
  TAKE_STRV (source_ports);
  TAKE_STR (allow_private);
  self->config->max_body_kb = fresh->max_body_kb;
  self->config->max_json_depth = fresh->max_json_depth;
  self->config->max_pulls = fresh->max_pulls;
  self->config->max_viewers = fresh->max_viewers;
  self->config->max_stream_viewers = fresh->max_stream_viewers;
  self->config->max_ws_message_kb = fresh->max_ws_message_kb;
  self->config->max_ws_rate = fresh->max_ws_rate;
  self->config->max_ws_per_address = fresh->max_ws_per_address;
  self->config->request_timeout_s = fresh->request_timeout_s;
  self->config->max_conns_per_address = fresh->max_conns_per_address;
  GST_INFO ("reloaded [auth], [limits], [sources], cors-origins%s", cert
      ? " and the TLS certificate" : "");
  return TRUE;
}

guint
ferry_app_get_https_port (FerryApp *self)
{
  return self->https_port;
}

guint
ferry_app_get_wss_port (FerryApp *self)
{
  return self->wss_port;
}

GMainContext *
ferry_app_get_context (FerryApp *self)
{
  return self->ctx;
}

GThread *
ferry_app_get_main_thread (FerryApp *self)
{
  return self->main_thread;
}

const FerryConfig *
ferry_app_get_config (FerryApp *self)
{
  return self->config;
}

FerryRegistry *
ferry_app_get_registry (FerryApp *self)
{
  return self->registry;
}

guint
ferry_app_get_rest_port (FerryApp *self)
{
  return self->rest_port;
}

/* Returns: (transfer none) (nullable): the resolved public addresses. */
char **
ferry_app_get_public_ips (FerryApp *self)
{
  return self->public_ips;
}

guint
ferry_app_get_ws_port (FerryApp *self)
{
  return self->ws_port;
}

/* Returns: (transfer none) */
FerryMetrics *
ferry_app_get_metrics (FerryApp *self)
{
  return self->metrics;
}

/* Returns: (transfer none) (nullable): NULL before start and after stop. */
FerrySignalling *
ferry_app_get_signalling (FerryApp *self)
{
  return self->signalling;
}

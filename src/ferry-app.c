/* ferry-app.c — see ferry-app.h. Main context only. */
#include "ferry-app.h"
#include "ferry-auth.h"
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
  char **public_ips;            /* [webrtc] public-addresses, resolved */
  FerryWhep *whep;
  FerryMetrics *metrics;        /* owned */
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
  return self;
}

static guint
listen_one (FerryApp *self, SoupServer *server, guint port, GError **error)
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
  if (!soup_server_listen (server, sa, 0, error)) {
    g_prefix_error (error, "cannot listen on %s:%u: ",
        self->config->listen_address, port);
    return 0;
  }
  uris = soup_server_get_uris (server);
  if (uris)
    bound = g_uri_get_port (uris->data);
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
  return bound;
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
  ferry_rest_install (self, self->rest_server);
  self->whep = ferry_whep_new (self, self->rest_server);
  self->signalling = ferry_signalling_new (self, self->ws_server);

  self->rest_port = listen_one (self, self->rest_server,
      self->config->rest_port, error);
  if (self->rest_port == 0)
    return FALSE;
  self->ws_port = listen_one (self, self->ws_server, self->config->ws_port,
      error);
  if (self->ws_port == 0)
    return FALSE;
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

/* ferry-webrtc.c — see ferry-webrtc.h. */
#include "ferry-webrtc.h"
#include "ferry-log.h"
#include "ferry-invoke.h"

#define GST_USE_UNSTABLE_API
#include <gst/webrtc/webrtc.h>

FERRY_DEBUG_CATEGORY_LAZY (ferry_webrtc_debug, "ferry-webrtc", "Ferry webrtcbin helpers");
#define GST_CAT_DEFAULT ferry_webrtc_debug

typedef struct
{
  GObject *target;              /* strong ref: its owner may drop it meanwhile */
  FerryWebrtcStep step;
  gboolean replied;             /* FALSE: a promise that got no answer */
  GstStructure *reply;          /* copied: the promise owns the original */
} Hop;

static void
hop_free (gpointer data)
{
  Hop *hop = data;
  g_object_unref (hop->target);
  if (hop->reply)
    gst_structure_free (hop->reply);
  g_free (hop);
}

/* Main context. */
static gboolean
hop_run (gpointer data)
{
  Hop *hop = data;

  if (!hop->replied) {
    GError *e = g_error_new_literal (GST_CORE_ERROR, GST_CORE_ERROR_FAILED,
        "webrtcbin did not reply");
    hop->reply = gst_structure_new ("ferry-no-reply", "error", G_TYPE_ERROR, e,
        NULL);
    g_error_free (e);
  }
  hop->step (hop->target, hop->reply);
  return G_SOURCE_REMOVE;
}

static void
hop_full (GMainContext *ctx, gpointer target, FerryWebrtcStep step,
    gboolean replied, const GstStructure *reply)
{
  Hop *hop = g_new0 (Hop, 1);

  hop->target = g_object_ref (target);
  hop->step = step;
  hop->replied = replied;
  hop->reply = reply ? gst_structure_copy (reply) : NULL;
  ferry_invoke (ctx, hop_run, hop, hop_free);
}

/**
 * ferry_webrtc_hop:
 * Any thread: runs @step (with a NULL reply) on @ctx later.
 */
void
ferry_webrtc_hop (GMainContext *ctx, gpointer target, FerryWebrtcStep step)
{
  hop_full (ctx, target, step, TRUE, NULL);
}

typedef struct
{
  GMainContext *ctx;
  GObject *target;
  FerryWebrtcStep step;
} PromiseData;

static void
promise_data_free (gpointer data)
{
  PromiseData *p = data;
  g_main_context_unref (p->ctx);
  g_object_unref (p->target);
  g_free (p);
}

/* webrtcbin pc thread (or wherever the promise is answered): copy and hop. */
static void
promise_cb (GstPromise *promise, gpointer user_data)
{
  PromiseData *p = user_data;
  const GstStructure *reply = NULL;
  gboolean replied = gst_promise_wait (promise) == GST_PROMISE_RESULT_REPLIED;

  if (replied)
    reply = gst_promise_get_reply (promise);
  hop_full (p->ctx, p->target, p->step, replied, reply);
}

/**
 * ferry_webrtc_emit:
 * Emits the action @signal on @webrtc with @arg and a promise whose reply continues with
 * @step on @ctx. The action signals take their own promise ref.
 */
void
ferry_webrtc_emit (GstElement *webrtc, const char *signal, gpointer arg,
    GMainContext *ctx, gpointer target, FerryWebrtcStep step)
{
  PromiseData *p = g_new0 (PromiseData, 1);
  GstPromise *promise;

  p->ctx = g_main_context_ref (ctx);
  p->target = g_object_ref (target);
  p->step = step;
  promise = gst_promise_new_with_change_func (promise_cb, p, promise_data_free);
  g_signal_emit_by_name (webrtc, signal, arg, promise);
  gst_promise_unref (promise);
}

/**
 * ferry_webrtc_reply_error:
 * Returns: TRUE when @reply carries an "error" (webrtcbin closed, bad SDP, no reply).
 */
gboolean
ferry_webrtc_reply_error (const GstStructure *reply, GError **error)
{
  if (reply == NULL || !gst_structure_has_field (reply, "error"))
    return FALSE;
  gst_structure_get (reply, "error", G_TYPE_ERROR, error, NULL);
  return TRUE;
}

/**
 * ferry_webrtc_configure_ice:
 * Applies the [webrtc] settings to a new webrtcbin, before it leaves NULL: which
 * addresses to gather on, the media port range, ICE-TCP, STUN and TURN servers.
 */
void
ferry_webrtc_configure_ice (GstElement *webrtc, const FerryConfig *config)
{
  GstWebRTCICE *ice = NULL;
  GObject *agent = NULL;

  init_debug ();
  g_object_get (webrtc, "ice-agent", &ice, NULL);
  if (ice == NULL)
    return;
  for (char **a = config->ice_addresses; a && *a; a++) {
    gboolean ok = FALSE;
    g_signal_emit_by_name (ice, "add-local-ip-address", *a, &ok);
    if (!ok)
      GST_WARNING_OBJECT (webrtc, "cannot restrict ICE to %s", *a);
  }
  /* ICE-TCP delays gathering-complete by seconds on multi-homed hosts, and the WCS SDK
   * cannot use it anyway without transport=TCP (wcs-websocket-protocol.md §9.4). */
  g_object_set (ice, "ice-tcp", config->ice_tcp, NULL);
  if (config->port_min > 0)
    /* max first: setting a min above the current max is refused. */
    g_object_set (ice, "max-rtp-port", config->port_max, "min-rtp-port",
        config->port_min, NULL);
  g_object_get (ice, "agent", &agent, NULL);
  /* UPnP is on by default in libnice: it multicasts SSDP on every interface and costs a
   * thread per viewer (pitfalls.md). */
  if (agent && g_object_class_find_property (G_OBJECT_GET_CLASS (agent),
          "upnp"))
    g_object_set (agent, "upnp", FALSE, NULL);
  g_clear_object (&agent);
  gst_object_unref (ice);

  if (config->stun_server)
    g_object_set (webrtc, "stun-server", config->stun_server, NULL);
  for (char **t = config->turn_servers; t && *t; t++) {
    gboolean ok = FALSE;
    g_signal_emit_by_name (webrtc, "add-turn-server", *t, &ok);
    if (!ok)
      GST_WARNING_OBJECT (webrtc, "TURN server not accepted");
  }
}

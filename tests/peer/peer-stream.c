/* Ferry test peer: one receive-only webrtcbin per played stream.
 *
 * Owns: the stream's pipeline (webrtcbin, plus the decode chains that
 * peer-media.c adds on pad-added), what the server said about the stream,
 * and a PeerMedia with the counters.
 *
 * Threads:
 *  - main context: everything public in peer-stream.h, state changes, the
 *    bus watch and the JSON snapshot;
 *  - webrtcbin's pc thread: on-negotiation-needed, on-ice-candidate, the
 *    promise change-funcs and the state notifications. They copy what they
 *    need and hop to the main context with an idle GSource (never inline,
 *    never waiting). Idle sources of one priority run in the order they
 *    were attached, so hops from the pc thread keep their order;
 *  - streaming threads: pad-added, handed to peer_media_link_pad.
 *
 * Lifecycle: new → start (PLAYING, offer hops back through offer_ready) →
 * set_answer → teardown (NULL, main context only) → unref. Teardown is
 * idempotent; the counters and statuses survive it for the final report.
 */
#define GST_USE_UNSTABLE_API    /* gst/webrtc is "unstable" API in 1.22 */
#include "peer-stream.h"
#include "peer-media.h"

#include <gst/gst.h>
#include <gst/sdp/sdp.h>
#include <gst/webrtc/webrtc.h>

GST_DEBUG_CATEGORY_STATIC (peer_stream_debug);
#define GST_CAT_DEFAULT peer_stream_debug

#define VIDEO_CAPS "application/x-rtp,media=video,encoding-name=H264," \
    "clock-rate=90000,payload=%d,packetization-mode=(string)1," \
    "profile-level-id=(string)42e01f"
#define AUDIO_CAPS "application/x-rtp,media=audio,encoding-name=OPUS," \
    "clock-rate=48000,payload=%d"

struct _PeerStream
{
  gchar *name;
  gchar *id;

  /* main context only */
  GMainContext *ctx;
  PeerStreamOfferFunc offer_ready;
  PeerStreamCandidateFunc candidate;
  PeerStreamStateFunc state_changed;
  gpointer user_data;
  GstElement *pipeline;
  GstElement *webrtc;
  GSource *bus_source;
  GPtrArray *statuses;          /* JsonNode objects, in arrival order */
  gchar *answer_sdp;
  gchar *local_sdp;             /* the offer, once set as local description */
  gboolean got_answer;
  gboolean offer_sent;
  gboolean stop_sent;
  gboolean ended;               /* server said FAILED, STOPPED, ... */

  /* atomics, written from webrtcbin's threads */
  gint closed;                  /* teardown started: drop late hops */
  gint offer_requested;
  gint gathering_done;          /* the NULL candidate hop was queued */
  gint ice_connected;           /* ever reached connected/completed */
  gint ice_state;
  gint pc_state;

  PeerMedia *media;             /* thread-safe itself */
};

/* A result carried from webrtcbin's pc thread to the main context. */
typedef struct
{
  PeerStream *stream;
  gchar *sdp;                   /* or the candidate */
  gchar *error;
  guint mline;
} Hop;

typedef struct
{
  PeerStream *stream;
  GstElement *webrtc;
} OfferOp;

static void
ensure_debug (void)
{
  static gsize once = 0;

  if (g_once_init_enter (&once)) {
    GST_DEBUG_CATEGORY_INIT (peer_stream_debug, "ferry-test-peer-stream", 0,
        "Ferry test peer: webrtcbin per stream");
    g_once_init_leave (&once, 1);
  }
}

static void
peer_stream_free (gpointer data)
{
  PeerStream *self = data;

  /* teardown is the owner's job; this is only a safety net for early exits */
  g_warn_if_fail (self->pipeline == NULL);
  g_free (self->name);
  g_free (self->id);
  g_clear_pointer (&self->ctx, g_main_context_unref);
  g_clear_pointer (&self->statuses, g_ptr_array_unref);
  g_clear_pointer (&self->media, peer_media_unref);
  g_free (self->answer_sdp);
  g_free (self->local_sdp);
}

PeerStream *
peer_stream_new (const gchar * name)
{
  PeerStream *self = g_atomic_rc_box_new0 (PeerStream);

  ensure_debug ();
  self->name = g_strdup (name);
  self->id = g_uuid_string_random ();
  self->statuses = g_ptr_array_new_with_free_func (
      (GDestroyNotify) json_node_unref);
  self->media = peer_media_new (self->id);
  return self;
}

PeerStream *
peer_stream_ref (PeerStream * stream)
{
  return g_atomic_rc_box_acquire (stream);
}

void
peer_stream_unref (PeerStream * stream)
{
  g_atomic_rc_box_release_full (stream, peer_stream_free);
}

const gchar *
peer_stream_get_name (PeerStream * stream)
{
  return stream->name;
}

const gchar *
peer_stream_get_id (PeerStream * stream)
{
  return stream->id;
}

/* any thread */
void
peer_stream_add_error (PeerStream * self, const gchar * what)
{
  peer_media_add_error (self->media, what);
}

static void
hop_free (gpointer data)
{
  Hop *hop = data;

  peer_stream_unref (hop->stream);
  g_free (hop->sdp);
  g_free (hop->error);
  g_free (hop);
}

/* Always an idle source, never inline: the pc thread must not run main
 * context code, and nothing here may wait for the main context. */
static void
hop_to_main_full (PeerStream * self, GSourceFunc func, gchar * sdp,
    gchar * error, guint mline)
{
  Hop *hop = g_new0 (Hop, 1);
  GSource *source = g_idle_source_new ();

  hop->stream = peer_stream_ref (self);
  hop->sdp = sdp;
  hop->error = error;
  hop->mline = mline;
  g_source_set_callback (source, func, hop, hop_free);
  g_source_attach (source, self->ctx);
  g_source_unref (source);
}

static void
hop_to_main (PeerStream * self, GSourceFunc func, gchar * sdp, gchar * error)
{
  hop_to_main_full (self, func, sdp, error, 0);
}

/* main context */
static gboolean
offer_ready_on_main (gpointer data)
{
  Hop *hop = data;
  PeerStream *self = hop->stream;

  if (g_atomic_int_get (&self->closed))
    return G_SOURCE_REMOVE;
  if (hop->error != NULL) {
    peer_stream_add_error (self, hop->error);
    return G_SOURCE_REMOVE;
  }
  self->offer_sent = TRUE;
  g_free (self->local_sdp);
  self->local_sdp = g_strdup (hop->sdp);
  self->offer_ready (self, hop->sdp, self->user_data);
  return G_SOURCE_REMOVE;
}

/* Returns the error a webrtcbin promise carries, or NULL on success.
 * pc thread */
static gchar *
promise_error (GstPromise * promise, const gchar * what)
{
  const GstStructure *reply;
  g_autoptr (GError) error = NULL;

  if (gst_promise_wait (promise) != GST_PROMISE_RESULT_REPLIED)
    return g_strdup_printf ("%s: promise not replied", what);
  reply = gst_promise_get_reply (promise);
  if (reply == NULL || !gst_structure_has_field (reply, "error"))
    return NULL;
  if (gst_structure_get (reply, "error", G_TYPE_ERROR, &error, NULL)
      && error != NULL)
    return g_strdup_printf ("%s: %s", what, error->message);
  return g_strdup_printf ("%s: failed", what);
}

/* The SDK sends playStream only once setLocalDescription resolved; do the
 * same so a failing local description is reported instead of sent.
 * pc thread */
static void
on_local_description_set (GstPromise * promise, gpointer data)
{
  Hop *pending = data;
  gchar *error = promise_error (promise, "set-local-description");

  hop_to_main (pending->stream, offer_ready_on_main,
      error ? NULL : g_strdup (pending->sdp), error);
}

static void
offer_op_free (gpointer data)
{
  OfferOp *op = data;

  peer_stream_unref (op->stream);
  gst_object_unref (op->webrtc);
  g_free (op);
}

/* pc thread */
static void
on_offer_created (GstPromise * promise, gpointer data)
{
  OfferOp *op = data;
  GstWebRTCSessionDescription *offer = NULL;
  const GstStructure *reply;
  GstPromise *local;
  Hop *pending;
  gchar *error;

  error = promise_error (promise, "create-offer");
  if (error != NULL) {
    hop_to_main (op->stream, offer_ready_on_main, NULL, error);
    return;
  }
  reply = gst_promise_get_reply (promise);
  if (reply == NULL || !gst_structure_get (reply, "offer",
          GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &offer, NULL) || !offer) {
    hop_to_main (op->stream, offer_ready_on_main, NULL,
        g_strdup ("create-offer: no offer in the reply"));
    return;
  }

  /* the browser SDK does not wait for ICE gathering: the offer goes out
   * without candidates, and so does ours */
  pending = g_new0 (Hop, 1);
  pending->stream = peer_stream_ref (op->stream);
  pending->sdp = gst_sdp_message_as_text (offer->sdp);
  local = gst_promise_new_with_change_func (on_local_description_set,
      pending, hop_free);
  g_signal_emit_by_name (op->webrtc, "set-local-description", offer, local);
  gst_promise_unref (local);
  gst_webrtc_session_description_free (offer);
}

/* pc thread */
static void
on_negotiation_needed (GstElement * webrtc, PeerStream * self)
{
  OfferOp *op;
  GstPromise *promise;

  /* one offer per stream; later renegotiation requests are not part of
   * what the SDK does for play */
  if (!g_atomic_int_compare_and_exchange (&self->offer_requested, 0, 1))
    return;
  op = g_new0 (OfferOp, 1);
  op->stream = peer_stream_ref (self);
  op->webrtc = gst_object_ref (webrtc);
  promise = gst_promise_new_with_change_func (on_offer_created, op,
      offer_op_free);
  g_signal_emit_by_name (webrtc, "create-offer", NULL, promise);
  gst_promise_unref (promise);
}

/* main context */
static gboolean
candidate_on_main (gpointer data)
{
  Hop *hop = data;
  PeerStream *self = hop->stream;

  if (!g_atomic_int_get (&self->closed) && self->candidate != NULL)
    self->candidate (self, hop->mline, hop->sdp, self->user_data);
  return G_SOURCE_REMOVE;
}

/* Only connected when the owner asked for candidates.
 * pc thread */
static void
on_ice_candidate (GstElement * webrtc, guint mline, const gchar * candidate,
    PeerStream * self)
{
  /* newer webrtcbin versions announce the end of candidates with an empty
   * one; gathering-state COMPLETE already says that */
  if (candidate == NULL || *candidate == '\0')
    return;
  hop_to_main_full (self, candidate_on_main, g_strdup (candidate), NULL, mline);
}

/* pc thread */
static void
on_gathering_state (GstElement * webrtc, GParamSpec * pspec, PeerStream * self)
{
  GstWebRTCICEGatheringState state;

  g_object_get (webrtc, "ice-gathering-state", &state, NULL);
  GST_INFO ("%s: ice-gathering-state %d", self->id, state);
  /* queued behind the candidate hops of the same pc thread */
  if (state == GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE &&
      g_atomic_int_compare_and_exchange (&self->gathering_done, 0, 1))
    hop_to_main_full (self, candidate_on_main, NULL, NULL, 0);
}

/* main context */
static gboolean
state_on_main (gpointer data)
{
  Hop *hop = data;
  PeerStream *self = hop->stream;

  if (!g_atomic_int_get (&self->closed) && self->state_changed != NULL)
    self->state_changed (self, self->user_data);
  return G_SOURCE_REMOVE;
}

/* pc thread */
static void
on_ice_state (GstElement * webrtc, GParamSpec * pspec, PeerStream * self)
{
  GstWebRTCICEConnectionState state;

  g_object_get (webrtc, "ice-connection-state", &state, NULL);
  GST_INFO ("%s: ice-connection-state %d", self->id, state);
  g_atomic_int_set (&self->ice_state, state);
  if (state == GST_WEBRTC_ICE_CONNECTION_STATE_CONNECTED ||
      state == GST_WEBRTC_ICE_CONNECTION_STATE_COMPLETED)
    g_atomic_int_set (&self->ice_connected, 1);
  if (self->state_changed != NULL)
    hop_to_main (self, state_on_main, NULL, NULL);
}

/* pc thread */
static void
on_pc_state (GstElement * webrtc, GParamSpec * pspec, PeerStream * self)
{
  GstWebRTCPeerConnectionState state;

  g_object_get (webrtc, "connection-state", &state, NULL);
  GST_INFO ("%s: connection-state %d", self->id, state);
  g_atomic_int_set (&self->pc_state, state);
  if (self->state_changed != NULL)
    hop_to_main (self, state_on_main, NULL, NULL);
}

/* streaming thread */
static void
on_pad_added (GstElement * webrtc, GstPad * pad, PeerStream * self)
{
  g_autoptr (GstObject) parent = NULL;

  if (GST_PAD_DIRECTION (pad) != GST_PAD_SRC)
    return;
  /* the parent, not self->pipeline: that field belongs to the main context */
  parent = gst_object_get_parent (GST_OBJECT (webrtc));
  if (parent != NULL)
    peer_media_link_pad (self->media, GST_BIN (parent), pad);
}

/* main context */
static gboolean
on_bus_message (GstBus * bus, GstMessage * message, gpointer data)
{
  PeerStream *self = data;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *debug = NULL;
  g_autofree gchar *msg = NULL;

  switch (GST_MESSAGE_TYPE (message)) {
    case GST_MESSAGE_ERROR:
      gst_message_parse_error (message, &error, &debug);
      msg = g_strdup_printf ("pipeline error from %s: %s",
          GST_OBJECT_NAME (GST_MESSAGE_SRC (message)), error->message);
      GST_DEBUG ("%s: %s", self->id, debug ? debug : "");
      peer_stream_add_error (self, msg);
      break;
    case GST_MESSAGE_WARNING:
      gst_message_parse_warning (message, &error, &debug);
      GST_WARNING ("%s: warning from %s: %s", self->id,
          GST_OBJECT_NAME (GST_MESSAGE_SRC (message)), error->message);
      break;
    default:
      break;
  }
  return G_SOURCE_CONTINUE;
}

/* Keeps ICE on one address: tests run in a lo-only namespace, and the ICE
 * agent ignores loopback unless it is named explicitly. */
static gboolean
restrict_ice (GstElement * webrtc, const gchar * address, GError ** error)
{
  g_autoptr (GObject) ice = NULL;
  g_autoptr (GObject) agent = NULL;
  gboolean added = FALSE;

  g_object_get (webrtc, "ice-agent", &ice, NULL);
  if (ice == NULL) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "webrtcbin has no "
        "ice-agent");
    return FALSE;
  }
  g_signal_emit_by_name (ice, "add-local-ip-address", address, &added);
  if (!added) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
        "ICE agent refused local address %s", address);
    return FALSE;
  }
  /* ICE-TCP delays gathering for seconds and is never used here */
  g_object_set (ice, "ice-tcp", FALSE, NULL);
  /* UPnP is on by default in NiceAgent and multicasts SSDP */
  if (g_object_class_find_property (G_OBJECT_GET_CLASS (ice), "agent"))
    g_object_get (ice, "agent", &agent, NULL);
  if (agent != NULL &&
      g_object_class_find_property (G_OBJECT_GET_CLASS (agent), "upnp"))
    g_object_set (agent, "upnp", FALSE, NULL);
  else
    GST_WARNING ("no NiceAgent upnp property to turn off");
  return TRUE;
}

static gboolean
add_recv_transceiver (GstElement * webrtc, const gchar * caps_str,
    gboolean nack, GError ** error)
{
  g_autoptr (GstCaps) caps = gst_caps_from_string (caps_str);
  g_autoptr (GstWebRTCRTPTransceiver) trans = NULL;

  g_signal_emit_by_name (webrtc, "add-transceiver",
      GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_RECVONLY, caps, &trans);
  if (trans == NULL) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
        "add-transceiver failed for %s", caps_str);
    return FALSE;
  }
  /* as a browser does for video: NACK lost packets, take the resends as RTX, and the
   * jitterbuffer waits for them (webrtcbin turns on its do-retransmission) */
  if (nack)
    g_object_set (trans, "do-nack", TRUE, NULL);
  return TRUE;
}

static gboolean
bundle_policy_from_nick (const gchar * nick, GstWebRTCBundlePolicy * policy)
{
  GEnumClass *klass;
  GEnumValue *v;

  if (nick == NULL) {
    *policy = GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE;
    return TRUE;
  }
  klass = g_type_class_ref (GST_TYPE_WEBRTC_BUNDLE_POLICY);
  v = g_enum_get_value_by_nick (klass, nick);
  if (v != NULL)
    *policy = v->value;
  g_type_class_unref (klass);
  return v != NULL;
}

gboolean
peer_stream_bundle_policy_is_valid (const gchar * nick)
{
  GstWebRTCBundlePolicy policy;

  return bundle_policy_from_nick (nick, &policy);
}

/* main context */
gboolean
peer_stream_start (PeerStream * self, const PeerStreamConfig * config,
    GError ** error)
{
  g_autoptr (GstElement) pipeline = NULL;
  g_autoptr (GstBus) bus = NULL;
  GstWebRTCBundlePolicy policy;
  GstElement *webrtc;
  g_autofree gchar *audio_caps = g_strdup_printf (AUDIO_CAPS,
      config->audio_pt > 0 ? config->audio_pt : 111);
  g_autofree gchar *video_caps = g_strdup_printf (VIDEO_CAPS,
      config->video_pt > 0 ? config->video_pt : 102);

  g_return_val_if_fail (self->pipeline == NULL, FALSE);
  self->ctx = g_main_context_ref (config->ctx);
  self->offer_ready = config->offer_ready;
  self->candidate = config->candidate;
  self->state_changed = config->state_changed;
  self->user_data = config->user_data;

  pipeline = gst_object_ref_sink (gst_pipeline_new (NULL));
  webrtc = gst_element_factory_make ("webrtcbin", NULL);
  if (webrtc == NULL) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
        "webrtcbin is not available");
    return FALSE;
  }
  gst_bin_add (GST_BIN (pipeline), webrtc);
  if (!bundle_policy_from_nick (config->bundle_policy, &policy)) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
        "unknown bundle policy %s", config->bundle_policy);
    return FALSE;
  }
  g_object_set (webrtc, "bundle-policy", policy, NULL);
  if (config->latency_ms > 0)
    g_object_set (webrtc, "latency", config->latency_ms, NULL);
  if (!restrict_ice (webrtc, config->ice_address, error))
    return FALSE;
  /* audio first, then video: the m-line order Chromium and Firefox offer */
  if (config->video_first && config->video &&
      !add_recv_transceiver (webrtc, video_caps, !config->no_nack, error))
    return FALSE;
  if (config->audio && !add_recv_transceiver (webrtc, audio_caps, FALSE, error))
    return FALSE;
  if (!config->video_first && config->video &&
      !add_recv_transceiver (webrtc, video_caps, !config->no_nack, error))
    return FALSE;

  /* connected before the state change, or the first negotiation-needed
   * (and with it the offer) is missed */
  g_signal_connect (webrtc, "on-negotiation-needed",
      G_CALLBACK (on_negotiation_needed), self);
  g_signal_connect (webrtc, "pad-added", G_CALLBACK (on_pad_added), self);
  peer_media_watch_lip_sync (self->media, pipeline, webrtc);
  if (config->drop_video_every > 0)
    peer_media_drop_video (self->media, webrtc, config->drop_video_every,
        config->video_pt > 0 ? config->video_pt : 102);
  /* before PLAYING: pad-added reads it on a streaming thread */
  peer_media_set_decode (self->media, !config->no_decode);
  peer_media_set_prompt_nack (self->media, config->video && !config->no_nack);
  g_signal_connect (webrtc, "notify::ice-connection-state",
      G_CALLBACK (on_ice_state), self);
  g_signal_connect (webrtc, "notify::connection-state",
      G_CALLBACK (on_pc_state), self);
  if (self->candidate != NULL) {
    g_signal_connect (webrtc, "on-ice-candidate",
        G_CALLBACK (on_ice_candidate), self);
    g_signal_connect (webrtc, "notify::ice-gathering-state",
        G_CALLBACK (on_gathering_state), self);
  }

  bus = gst_pipeline_get_bus (GST_PIPELINE (pipeline));
  self->bus_source = gst_bus_create_watch (bus);
  g_source_set_callback (self->bus_source, G_SOURCE_FUNC (on_bus_message),
      self, NULL);
  g_source_attach (self->bus_source, self->ctx);

  self->webrtc = gst_object_ref (webrtc);
  self->pipeline = g_steal_pointer (&pipeline);
  if (gst_element_set_state (self->pipeline, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
        "pipeline refused PLAYING");
    peer_stream_teardown (self);
    return FALSE;
  }
  return TRUE;
}

/* pc thread */
static void
on_remote_description_set (GstPromise * promise, gpointer data)
{
  PeerStream *self = data;
  g_autofree gchar *error = promise_error (promise, "set-remote-description");

  if (error != NULL)
    peer_stream_add_error (self, error);
}

/* main context */
void
peer_stream_set_answer (PeerStream * self, const gchar * text)
{
  GstSDPMessage *sdp = NULL;
  GstWebRTCSessionDescription *answer;
  GstPromise *promise;

  g_free (self->answer_sdp);
  self->answer_sdp = g_strdup (text);
  self->got_answer = TRUE;
  if (self->webrtc == NULL || g_atomic_int_get (&self->closed)) {
    GST_INFO ("%s: answer for a closed stream ignored", self->id);
    return;
  }
  if (gst_sdp_message_new_from_text (text, &sdp) != GST_SDP_OK) {
    peer_stream_add_error (self, "unparsable SDP answer");
    return;
  }
  /* the answer carries every server candidate inline: nothing remote is
   * ever trickled to us */
  answer = gst_webrtc_session_description_new (GST_WEBRTC_SDP_TYPE_ANSWER, sdp);
  promise = gst_promise_new_with_change_func (on_remote_description_set,
      peer_stream_ref (self), (GDestroyNotify) peer_stream_unref);
  g_signal_emit_by_name (self->webrtc, "set-remote-description", answer,
      promise);
  gst_promise_unref (promise);
  gst_webrtc_session_description_free (answer);
}

/* main context */
void
peer_stream_add_status (PeerStream * self, const gchar * status,
    const gchar * info, const gchar * via)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "status");
  json_builder_add_string_value (b, status);
  json_builder_set_member_name (b, "info");
  if (info != NULL)
    json_builder_add_string_value (b, info);
  else
    json_builder_add_null_value (b);
  if (via != NULL) {
    json_builder_set_member_name (b, "via");
    json_builder_add_string_value (b, via);
  }
  json_builder_end_object (b);
  g_ptr_array_add (self->statuses, json_builder_get_root (b));

  /* the statuses after which the SDK forgets the stream */
  if (g_strcmp0 (status, "FAILED") == 0 || g_strcmp0 (status, "STOPPED") == 0
      || g_strcmp0 (status, "UNPUBLISHED") == 0)
    self->ended = TRUE;
}

void
peer_stream_set_stop_sent (PeerStream * self)
{
  self->stop_sent = TRUE;
}

gboolean
peer_stream_is_ended (PeerStream * self)
{
  return self->ended;
}

/* Disconnect first (signals keep coming during teardown), then NULL. NULL
 * waits for webrtcbin's pc thread, so this must never run on it: main
 * context only.
 * main context */
void
peer_stream_teardown (PeerStream * self)
{
  g_atomic_int_set (&self->closed, 1);
  if (self->pipeline == NULL)
    return;
  GST_INFO ("%s: teardown", self->id);
  g_signal_handlers_disconnect_by_data (self->webrtc, self);
  /* the jitterbuffers' figures, before NULL takes the elements apart */
  peer_media_collect (self->media);
  if (self->bus_source != NULL) {
    g_source_destroy (self->bus_source);
    g_clear_pointer (&self->bus_source, g_source_unref);
  }
  gst_element_set_state (self->pipeline, GST_STATE_NULL);
  gst_clear_object (&self->webrtc);
  gst_clear_object (&self->pipeline);
}

const gchar *
peer_stream_get_local_sdp (PeerStream * self)
{
  return self->local_sdp;
}

/* any thread */
gboolean
peer_stream_is_ice_connected (PeerStream * self)
{
  return g_atomic_int_get (&self->ice_connected);
}

/* any thread */
gboolean
peer_stream_is_connected (PeerStream * self)
{
  return g_atomic_int_get (&self->pc_state) ==
      GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTED;
}

/* any thread */
gboolean
peer_stream_has_failed (PeerStream * self)
{
  return g_atomic_int_get (&self->pc_state) ==
      GST_WEBRTC_PEER_CONNECTION_STATE_FAILED;
}

/* any thread */
void
peer_stream_get_counts (PeerStream * self, guint64 * video_frames,
    guint64 * audio_samples)
{
  peer_media_get_counts (self->media, video_frames, audio_samples);
}

static const gchar *
enum_nick (GType type, gint value)
{
  GEnumClass *klass = g_type_class_ref (type);
  GEnumValue *v = g_enum_get_value (klass, value);
  const gchar *nick = v ? v->value_nick : "unknown";

  /* nicks are static strings owned by the type, which stays registered */
  g_type_class_unref (klass);
  return nick;
}

/* main context */
JsonNode *
peer_stream_to_json (PeerStream * self)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  guint i;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, self->name);
  json_builder_set_member_name (b, "mediaSessionId");
  json_builder_add_string_value (b, self->id);
  json_builder_set_member_name (b, "statuses");
  json_builder_begin_array (b);
  for (i = 0; i < self->statuses->len; i++)
    json_builder_add_value (b, json_node_copy (self->statuses->pdata[i]));
  json_builder_end_array (b);

  peer_media_add_to_json (self->media, b);

  json_builder_set_member_name (b, "gotAnswer");
  json_builder_add_boolean_value (b, self->got_answer);
  json_builder_set_member_name (b, "answerSdp");
  if (self->answer_sdp != NULL)
    json_builder_add_string_value (b, self->answer_sdp);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "offerSent");
  json_builder_add_boolean_value (b, self->offer_sent);
  json_builder_set_member_name (b, "stopSent");
  json_builder_add_boolean_value (b, self->stop_sent);
  json_builder_set_member_name (b, "iceConnected");
  json_builder_add_boolean_value (b, g_atomic_int_get (&self->ice_connected));
  json_builder_set_member_name (b, "iceState");
  json_builder_add_string_value (b,
      enum_nick (GST_TYPE_WEBRTC_ICE_CONNECTION_STATE,
          g_atomic_int_get (&self->ice_state)));
  json_builder_set_member_name (b, "connectionState");
  json_builder_add_string_value (b,
      enum_nick (GST_TYPE_WEBRTC_PEER_CONNECTION_STATE,
          g_atomic_int_get (&self->pc_state)));
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

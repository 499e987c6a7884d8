/* ferry-viewer.c — see ferry-viewer.h.
 *
 * Negotiation, all steps on the main context (each webrtcbin reply hops back here):
 *   attach: build bin, add to pipeline, sync state, link to tees
 *   → set-remote-description(offer) → create-answer → set-local-description(answer)
 *   → ICE gathering complete (or gather timeout) → answer with candidates to the client
 *   → connection-state CONNECTED → PLAYING      (ICE timeout / FAILED → FAILED)
 */
#include "ferry-viewer.h"
#include "ferry-branch.h"
#include "ferry-errors.h"
#include "ferry-gop-cache.h"
#include "ferry-ingest.h"
#include "ferry-invoke.h"
#include "ferry-metrics.h"
#include "ferry-sdp.h"
#include "ferry-transit.h"
#include "ferry-webrtc.h"

#define GST_USE_UNSTABLE_API
#include <gst/webrtc/webrtc.h>

GST_DEBUG_CATEGORY_STATIC (ferry_viewer_debug);
#define GST_CAT_DEFAULT ferry_viewer_debug

struct _FerryViewer
{
  GObject parent;

  FerryApp *app;                /* borrowed: outlives every viewer */
  char *id;                     /* the client's mediaSessionId */
  GstSDPMessage *offer;
  FerryOfferInfo info;
  const FerryViewerEvents *events;
  gpointer events_data;

  FerryStream *stream;          /* owned ref while not closed */
  GstElement *bin;              /* owned ref; in the stream's pipeline while attached */
  GstElement *webrtc;           /* borrowed from bin */
  GstElement *rtpbin;           /* owned ref: webrtcbin's, for the client's RTCP */
  gpointer last_rtcp_us;        /* atomic: monotonic µs of the client's last RTCP;
                                 * 0 = none yet, 1 = it said BYE */
  GSource *liveness;
  GPtrArray *tee_pads;          /* GstPad*, owned */

  gboolean closed;
  gboolean sends_video, sends_audio;    /* the branch has that track */
  gboolean answer_sent;
  guint32 answer_plid;          /* profile-level-id for the answer's H.264, 0 = none */
  gboolean playing_sent;
  GSource *gather_timeout;
  GSource *ice_timeout;
  GstPad *audio_sink;           /* owned: webrtcbin's audio sink pad, or NULL */
  FerryGate *video_gate;        /* owned: video starts when connected (fast start) */
  FerryGate *audio_gate;        /* owned: audio starts when connected, live */
  FerryTransitMeter *transit;   /* owned, or NULL: [debug] transit-stats */
  GSource *caps_wait;           /* polls for its caps before the answer is made */
  gint64 caps_wait_until;       /* monotonic µs */
  guint64 *bytes_out;           /* GAtomicRcBox, one ref each here and in the probes:
                                 * RTP bytes the payloaders handed to webrtcbin */
};

G_DEFINE_TYPE (FerryViewer, ferry_viewer, G_TYPE_OBJECT)

static void
ferry_viewer_dispose (GObject *object)
{
  FerryViewer *self = FERRY_VIEWER (object);

  ferry_clear_source (&self->gather_timeout);
  ferry_clear_source (&self->ice_timeout);
  ferry_clear_source (&self->caps_wait);
  g_clear_object (&self->audio_sink);
  g_clear_pointer (&self->video_gate, ferry_gate_unref);
  g_clear_pointer (&self->audio_gate, ferry_gate_unref);
  g_clear_pointer (&self->transit, ferry_transit_meter_unref);
  g_clear_pointer (&self->bytes_out, g_atomic_rc_box_release);
  g_clear_object (&self->stream);
  g_clear_object (&self->rtpbin);
  g_clear_object (&self->bin);
  g_clear_pointer (&self->tee_pads, g_ptr_array_unref);
  G_OBJECT_CLASS (ferry_viewer_parent_class)->dispose (object);
}

static void
ferry_viewer_finalize (GObject *object)
{
  FerryViewer *self = FERRY_VIEWER (object);

  g_free (self->id);
  g_clear_pointer (&self->offer, gst_sdp_message_free);
  G_OBJECT_CLASS (ferry_viewer_parent_class)->finalize (object);
}

static void
ferry_viewer_class_init (FerryViewerClass *klass)
{
  GObjectClass *oclass = G_OBJECT_CLASS (klass);

  oclass->dispose = ferry_viewer_dispose;
  oclass->finalize = ferry_viewer_finalize;
  GST_DEBUG_CATEGORY_INIT (ferry_viewer_debug, "ferry-viewer", 0,
      "Ferry WebRTC viewer");
}

static void
ferry_viewer_init (FerryViewer *self)
{
  self->tee_pads = g_ptr_array_new_with_free_func (gst_object_unref);
  self->bytes_out = g_atomic_rc_box_new0 (guint64);
}

/**
 * ferry_viewer_new:
 * @offer: the client's SDP offer
 * @events: (transfer none): must stay valid for the viewer's lifetime (a static table)
 *
 * Returns: (transfer full) (nullable): a viewer not yet attached, or NULL when @offer is
 * not an SDP.
 */
FerryViewer *
ferry_viewer_new (FerryApp *app, const char *id, const char *offer,
    const FerryViewerEvents *events, gpointer user_data, GError **error)
{
  g_autoptr (FerryViewer) self = g_object_new (FERRY_TYPE_VIEWER, NULL);

  self->app = app;
  self->id = g_strdup (id);
  self->events = events;
  self->events_data = user_data;
  if (!ferry_sdp_parse_offer (offer, &self->info, &self->offer, error))
    return NULL;
  return g_steal_pointer (&self);
}

const char *
ferry_viewer_get_id (FerryViewer *self)
{
  return self->id;
}

/**
 * ferry_viewer_offers_codec:
 * Whether the offer has something Ferry can send at all: Opus on an audio m-line or
 * H.264 packetization-mode 1 on a video m-line. Which of those the stream has is only
 * known at attach time.
 */
gboolean
ferry_viewer_offers_codec (FerryViewer *self)
{
  return ferry_viewer_offers_track (self, "audio")
      || ferry_viewer_offers_track (self, "video");
}

/**
 * ferry_viewer_lacks_track:
 * @kind: "video" or "audio"
 * Whether the viewer is attached without @kind although its offer would take it: the
 * stream had no such track when the answer was made. Its session cannot get it now
 * (the answer set that m-line inactive, and neither protocol lets the server offer anew).
 */
gboolean
ferry_viewer_lacks_track (FerryViewer *self, const char *kind)
{
  if (self->closed || self->bin == NULL)
    return FALSE;
  return ferry_viewer_offers_track (self, kind)
      && !ferry_viewer_sends_track (self, kind);
}

/* Whether the attached viewer's branch has @kind. */
gboolean
ferry_viewer_sends_track (FerryViewer *self, const char *kind)
{
  if (self->closed || self->bin == NULL)
    return FALSE;
  return g_str_equal (kind, "video") ? self->sends_video : self->sends_audio;
}

/* Whether the offer takes @kind ("video": H.264 packetization-mode 1, "audio": Opus). */
gboolean
ferry_viewer_offers_track (FerryViewer *self, const char *kind)
{
  if (g_str_equal (kind, "video"))
    return self->info.video_mline >= 0 && self->info.h264_pt >= 0;
  return self->info.audio_mline >= 0 && self->info.opus_pt >= 0;
}

/* Returns: (transfer none) (nullable) */
GstElement *
ferry_viewer_get_bin (FerryViewer *self)
{
  return self->bin;
}

void
ferry_viewer_set_stream (FerryViewer *self, FerryStream *stream)
{
  g_set_object (&self->stream, stream);
}

/**
 * ferry_viewer_get_transit:
 * Returns: (transfer none) (nullable): the viewer's transit meter ([debug] transit-stats).
 */
FerryTransitMeter *
ferry_viewer_get_transit (FerryViewer *self)
{
  return self->transit;
}

/* The RTP bytes sent to the client so far (before SRTP; retransmissions not counted). */
guint64
ferry_viewer_get_bytes_out (FerryViewer *self)
{
  return __atomic_load_n (self->bytes_out, __ATOMIC_RELAXED);
}

/* Streaming thread (the payloader's): counts what goes to webrtcbin. A relaxed atomic
 * add per packet: /metrics reads it from the main context. */
static GstPadProbeReturn
count_bytes_cb (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  guint64 *counter = data;
  gsize size = 0;

  if (GST_PAD_PROBE_INFO_TYPE (info) & GST_PAD_PROBE_TYPE_BUFFER)
    size = gst_buffer_get_size (GST_PAD_PROBE_INFO_BUFFER (info));
  else if (GST_PAD_PROBE_INFO_TYPE (info) & GST_PAD_PROBE_TYPE_BUFFER_LIST)
    size = gst_buffer_list_calculate_size (GST_PAD_PROBE_INFO_BUFFER_LIST
        (info));
  __atomic_fetch_add (counter, size, __ATOMIC_RELAXED);
  return GST_PAD_PROBE_OK;
}

/* A reply carrying "error" (webrtcbin closed, bad SDP, no reply) ends the viewer. */
static gboolean
reply_failed (FerryViewer *self, const GstStructure *reply, const char *what)
{
  g_autoptr (GError) error = NULL;

  if (!ferry_webrtc_reply_error (reply, &error))
    return FALSE;
  GST_WARNING ("viewer %s: %s failed: %s", self->id, what,
      error ? error->message : "?");
  ferry_viewer_close (self, "FAILED", "Failed to add stream to proxy");
  return TRUE;
}

/* Continues the negotiation with @step on the main context when webrtcbin replies. */
static void
emit_with_promise (FerryViewer *self, const char *signal, gpointer arg,
    FerryWebrtcStep step)
{
  ferry_webrtc_emit (self->webrtc, signal, arg,
      ferry_app_get_context (self->app), self, step);
}

/* ------------------------------------------------------------------------- */
/* Negotiation steps (main context).                                         */

static void
send_answer (FerryViewer *self)
{
  GstWebRTCSessionDescription *desc = NULL;
  GstSDPMessage *sdp = NULL;
  g_autofree char *text = NULL;

  if (self->answer_sent || self->closed)
    return;
  ferry_clear_source (&self->gather_timeout);
  g_object_get (self->webrtc, "local-description", &desc, NULL);
  if (desc == NULL) {
    ferry_viewer_close (self, "FAILED", "Failed to add stream to proxy");
    return;
  }
  gst_sdp_message_copy (desc->sdp, &sdp);
  gst_webrtc_session_description_free (desc);
  if (self->answer_plid)
    ferry_sdp_set_h264_plid (sdp, self->info.h264_pt, self->answer_plid);
  ferry_sdp_add_msid (sdp, "ferry");
  ferry_sdp_add_public_candidates (sdp, ferry_app_get_public_ips (self->app));
  text = gst_sdp_message_as_text (sdp);
  gst_sdp_message_free (sdp);

  self->answer_sent = TRUE;
  GST_DEBUG ("viewer %s: answer:\n%s", self->id, text);
  self->events->answer (self->events_data, self, text);
}

static gboolean
ice_timeout_cb (gpointer user_data)
{
  FerryViewer *self = user_data;
  g_clear_pointer (&self->ice_timeout, g_source_unref);
  GST_INFO ("viewer %s: ICE did not connect in time", self->id);
  ferry_viewer_close (self, "FAILED", "Failed by ICE timeout");
  return G_SOURCE_REMOVE;
}

static void
start_ice_timeout (FerryViewer *self)
{
  const FerryConfig *config = ferry_app_get_config (self->app);

  ferry_clear_source (&self->ice_timeout);
  if (self->playing_sent)
    return;
  self->ice_timeout = g_timeout_source_new_seconds (config->ice_timeout_s);
  g_source_set_callback (self->ice_timeout, ice_timeout_cb, self, NULL);
  g_source_attach (self->ice_timeout, ferry_app_get_context (self->app));
}

static gboolean
gather_timeout_cb (gpointer user_data)
{
  FerryViewer *self = user_data;
  g_clear_pointer (&self->gather_timeout, g_source_unref);
  GST_INFO ("viewer %s: ICE gathering not complete in time; answering with "
      "the candidates found so far", self->id);
  send_answer (self);
  start_ice_timeout (self);
  return G_SOURCE_REMOVE;
}

/* Main context (a FerryWebrtcStep). */
static void
maybe_send_answer (gpointer data, const GstStructure *unused)
{
  FerryViewer *self = data;
  GstWebRTCICEGatheringState state;
  GstWebRTCSessionDescription *desc = NULL;

  if (self->closed || self->answer_sent)
    return;
  g_object_get (self->webrtc, "ice-gathering-state", &state,
      "local-description", &desc, NULL);
  if (desc == NULL)
    return;                     /* gathering finished before the answer was set */
  gst_webrtc_session_description_free (desc);
  if (state == GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE) {
    send_answer (self);
    start_ice_timeout (self);
  }
}

/* Main context: sender reports about once a second. A receiver lines audio up with
 * video only once it has an SR of each track; rtpsession's default minimum interval is
 * 5 s (the first SR after about half of it), and CI saw the C peer's lip sync come 9.4 s
 * into a session. RTCP is tiny next to the media (RFC 3550 §6.2 allows a smaller minimum
 * for senders with the bandwidth to spare). Under SAVPF rtpsession uses this as
 * T_rr_interval (RFC 4585 §3.5.3). Measured: the first SRs reach the C peer within
 * 1.2-2.4 s; later ones mostly every 0.6-1.5 s, but one run had gaps of 4-7 s (cause not
 * found yet). Returns how many sessions were set. */
static guint
fast_sender_reports (FerryViewer *self)
{
  guint n = 0;

  for (guint i = 0; self->rtpbin && i < 2; i++) {
    GstElement *session = NULL;

    g_signal_emit_by_name (self->rtpbin, "get-session", i, &session);
    if (session == NULL)
      continue;
    g_object_set (session, "rtcp-min-interval", (guint64) GST_SECOND, NULL);
    gst_object_unref (session);
    n++;
  }
  return n;
}

/* Main context (a FerryWebrtcStep). */
static void
on_local_set (gpointer data, const GstStructure *reply)
{
  FerryViewer *self = data;
  const FerryConfig *config = ferry_app_get_config (self->app);

  if (self->closed || reply_failed (self, reply, "set-local-description"))
    return;
  GST_DEBUG ("viewer %s: 1 s RTCP interval on %u session(s)", self->id,
      fast_sender_reports (self));
  /* Candidates must all be in the answer: the WCS SDK does not trickle (§9.4). */
  self->gather_timeout = g_timeout_source_new (config->gather_timeout_ms);
  g_source_set_callback (self->gather_timeout, gather_timeout_cb, self, NULL);
  g_source_attach (self->gather_timeout, ferry_app_get_context (self->app));
  maybe_send_answer (self, NULL);
}

/* Main context (a FerryWebrtcStep). */
static void
on_answer_created (gpointer data, const GstStructure *reply)
{
  FerryViewer *self = data;
  GstWebRTCSessionDescription *answer = NULL;

  if (self->closed || reply_failed (self, reply, "create-answer"))
    return;
  if (reply != NULL)
    gst_structure_get (reply, "answer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION,
        &answer, NULL);
  if (answer == NULL) {
    GST_WARNING ("viewer %s: create-answer gave no answer", self->id);
    ferry_viewer_close (self, "FAILED", "Failed to add stream to proxy");
    return;
  }
  emit_with_promise (self, "set-local-description", answer, on_local_set);
  gst_webrtc_session_description_free (answer);
}

/* Main context, every 10 ms from the remote description on: webrtcbin writes a track's
 * a=ssrc into the answer only if its sink pad has caps (they carry the payloader's SSRC)
 * when the answer is made. Without it Chromium sometimes dropped every audio packet of an
 * audio-only session (seen: 2-5 of 11 sessions in a row got no RTP, and were then ended
 * "Failed by RTP activity"). Audio caps come with the first Opus frame after the branch
 * was linked, within tens of ms; the wait is bounded all the same. Video is not waited
 * for: its caps come with the next keyframe, and Chromium takes an unsignalled video
 * SSRC. */
static gboolean
answer_when_ready_cb (gpointer user_data)
{
  FerryViewer *self = user_data;
  g_autoptr (GstCaps) caps = self->audio_sink ?
      gst_pad_get_current_caps (self->audio_sink) : NULL;

  if (self->audio_sink && caps == NULL
      && g_get_monotonic_time () < self->caps_wait_until)
    return G_SOURCE_CONTINUE;
  if (self->audio_sink && caps == NULL)
    GST_WARNING ("viewer %s: no audio caps yet: answering without its SSRC",
        self->id);
  g_clear_pointer (&self->caps_wait, g_source_unref);
  emit_with_promise (self, "create-answer", NULL, on_answer_created);
  return G_SOURCE_REMOVE;
}

/* Main context (a FerryWebrtcStep). */
static void
on_remote_set (gpointer data, const GstStructure *reply)
{
  FerryViewer *self = data;

  if (self->closed || reply_failed (self, reply, "set-remote-description"))
    return;
  self->caps_wait_until = g_get_monotonic_time () + G_USEC_PER_SEC;
  if (answer_when_ready_cb (self) == G_SOURCE_REMOVE)
    return;
  self->caps_wait = g_timeout_source_new (10);
  g_source_set_callback (self->caps_wait, answer_when_ready_cb, self, NULL);
  g_source_attach (self->caps_wait, ferry_app_get_context (self->app));
}

static gboolean liveness_cb (gpointer user_data);

/* Whether every DTLS transport's peer certificate is the one the offer's a=fingerprint
 * names (ferry_sdp_fingerprint_matches says why webrtcbin needs the help). Runs once on
 * CONNECTED, before PLAYING; media may have flowed for the length of the hop here, but
 * only to the holder of the offer's ICE credentials. */
static gboolean
remote_certificate_ok (FerryViewer *self)
{
  GArray *transceivers = NULL;
  guint checked = 0;
  gboolean ok = TRUE;

  g_signal_emit_by_name (self->webrtc, "get-transceivers", &transceivers);
  for (guint i = 0; ok && transceivers && i < transceivers->len; i++) {
    GstWebRTCRTPTransceiver *trans = g_array_index (transceivers,
        GstWebRTCRTPTransceiver *, i);
    g_autoptr (GstWebRTCRTPSender) sender = NULL;
    g_autoptr (GstWebRTCDTLSTransport) dtls = NULL;
    g_autofree char *pem = NULL;

    g_object_get (trans, "sender", &sender, NULL);
    if (sender)
      g_object_get (sender, "transport", &dtls, NULL);
    if (dtls)
      g_object_get (dtls, "remote-certificate", &pem, NULL);
    if (pem == NULL)
      continue;                 /* an unused m-line: no transport, no handshake */
    checked++;
    ok = ferry_sdp_fingerprint_matches (self->offer, pem);
  }
  if (transceivers)
    g_array_unref (transceivers);
  /* Connected with no certificate seen: nothing was verified. */
  return ok && checked > 0;
}

/* Main context (a FerryWebrtcStep). */
static void
on_connection_state (gpointer data, const GstStructure *unused)
{
  FerryViewer *self = data;
  GstWebRTCPeerConnectionState state;
  GstWebRTCICEConnectionState ice;

  if (self->closed)
    return;
  g_object_get (self->webrtc, "connection-state", &state,
      "ice-connection-state", &ice, NULL);
  GST_DEBUG ("viewer %s: connection state %d, ice %d", self->id, state, ice);
  if (state == GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTED
      && !self->playing_sent) {
    if (!remote_certificate_ok (self)) {
      GST_WARNING ("viewer %s: the client's DTLS certificate does not match "
          "the offer's fingerprint", self->id);
      ferry_viewer_close (self, "FAILED", "Failed by DTLS fingerprint error");
      return;
    }
    self->playing_sent = TRUE;
    /* Video from now on, from the cached keyframe (ferry-gop-cache.h). */
    if (self->video_gate)
      ferry_gate_open (self->video_gate);
    if (self->audio_gate)
      ferry_gate_open (self->audio_gate);
    ferry_clear_source (&self->ice_timeout);
    /* Connecting counts as the first sign of life: a client that dies before its first
     * RTCP must time out too (the ICE timeout no longer covers it). */
    g_atomic_pointer_compare_and_exchange (&self->last_rtcp_us, NULL,
        GSIZE_TO_POINTER ((gsize) g_get_monotonic_time ()));
    self->liveness = g_timeout_source_new_seconds (1);
    g_source_set_callback (self->liveness, liveness_cb, self, NULL);
    g_source_attach (self->liveness, ferry_app_get_context (self->app));
    GST_INFO ("viewer %s: connected", self->id);
    self->events->status (self->events_data, self, "PLAYING", NULL);
  } else if (state == GST_WEBRTC_PEER_CONNECTION_STATE_FAILED) {
    ferry_viewer_close (self, "FAILED",
        ice == GST_WEBRTC_ICE_CONNECTION_STATE_FAILED ? "Failed by ICE error"
        : "Failed by DTLS error");
  }
}

/* rtpbin's RTCP thread: the client sent RTCP (receiver reports, feedback). Only a
 * timestamp is written; the liveness timer reads it on the main context. */
static void
client_rtcp_cb (GstElement *rtpbin, guint session, guint ssrc,
    gpointer user_data)
{
  FerryViewer *self = user_data;
  g_atomic_pointer_set (&self->last_rtcp_us,
      GSIZE_TO_POINTER ((gsize) g_get_monotonic_time ()));
}

/* rtpbin's RTCP thread: the client said BYE (a closed RTCPeerConnection). */
static void
client_bye_cb (GstElement *rtpbin, guint session, guint ssrc,
    gpointer user_data)
{
  FerryViewer *self = user_data;
  g_atomic_pointer_set (&self->last_rtcp_us, GSIZE_TO_POINTER (1));
}

/* Main context, every second once connected: a client that stopped sending RTCP is
 * gone (a closed tab, a crash, a lost network). WHEP has no socket to notice that; over
 * the WebSocket the socket's close usually does it sooner. */
static gboolean
liveness_cb (gpointer user_data)
{
  FerryViewer *self = user_data;
  guint timeout_s = ferry_app_get_config (self->app)->rtcp_timeout_s;
  gint64 last = (gint64) GPOINTER_TO_SIZE (g_atomic_pointer_get
      (&self->last_rtcp_us));

  if (self->closed)
    return G_SOURCE_CONTINUE;
  if (last != 1 && g_get_monotonic_time () - last < (gint64) timeout_s *
      G_USEC_PER_SEC)
    return G_SOURCE_CONTINUE;
  GST_INFO ("viewer %s: the client %s", self->id, last == 1 ? "said BYE"
      : "stopped sending RTCP");
  g_clear_pointer (&self->liveness, g_source_unref);
  ferry_viewer_close (self, "FAILED", "Failed by RTP activity");
  return G_SOURCE_REMOVE;
}

/* webrtcbin threads: only hop. */
static void
notify_gathering_cb (GObject *webrtc, GParamSpec *pspec, gpointer user_data)
{
  FerryViewer *self = user_data;
  ferry_webrtc_hop (ferry_app_get_context (self->app), self, maybe_send_answer);
}

static void
notify_connection_cb (GObject *webrtc, GParamSpec *pspec, gpointer user_data)
{
  FerryViewer *self = user_data;
  ferry_webrtc_hop (ferry_app_get_context (self->app), self,
      on_connection_state);
}

/* ------------------------------------------------------------------------- */
/* Branch construction (main context).                                       */

/*   [bin viewer-ID:  <kind>_sink (ghost; video: the fast-start gate) → queue → pay(pt from the offer)
 *                    → webrtc.sink_N] */
static gboolean
add_track (FerryViewer *self, const char *kind, GstElement *tee,
    GError **error)
{
  gboolean video = g_str_equal (kind, "video");
  gint pt = video ? self->info.h264_pt : self->info.opus_pt;
  g_autofree char *qname = g_strdup_printf ("%s-queue", kind);
  g_autofree char *pname = g_strdup_printf ("%s-pay", kind);
  g_autofree char *ghost_name = g_strdup_printf ("%s_sink", kind);
  g_autoptr (GstCaps) prefs = NULL;
  GstElement *queue, *pay;
  GstPad *src, *sink;
  GstWebRTCRTPTransceiver *trans = NULL;

  queue = ferry_make ("queue", qname, error);
  if (queue == NULL)
    return FALSE;
  pay = ferry_make (video ? "rtph264pay" : "rtpopuspay", pname, error);
  if (pay == NULL) {
    gst_object_unref (gst_object_ref_sink (queue));
    return FALSE;
  }
  /* Leaky: webrtcbin holds its sink pads until negotiation is done, and one viewer that
   * never answers must not stall the tee for everyone (pitfalls.md). Bounded by buffers
   * (one per frame here), not by time: queue measures time as the distance between the
   * last buffer in and the last one out, so after a source outage the first keyframe of
   * the returning source "fills" an empty queue by the length of the outage, and the
   * next buffer of the burst that follows a reconnect leaked it. Chromium then waited a
   * whole GOP for the next IDR (seen: 2.6 s instead of 0.5 s to resume). Video is gated
   * until the viewer is connected and then starts with the cached GOP in one go, which
   * must fit whole: 12 s at 60 fps, plus room. */
  g_object_set (queue, "leaky", 2, "max-size-buffers", video ? 1024 : 100,
      "max-size-bytes", 0, "max-size-time", (guint64) 0, NULL);
  g_object_set (pay, "pt", pt, NULL);
  if (video && ferry_app_get_config (self->app)->transit_stats) {
    /* an offset we know, so that the meter can map RTP time back to running time;
     * no perfect-rtptime, so that it is the frame's PTS that counts */
    guint32 offset = g_random_int ();

    self->transit = ferry_transit_meter_new (tee, pt, offset);
    if (self->transit)
      g_object_set (pay, "timestamp-offset", offset, "perfect-rtptime", FALSE,
          NULL);
  }
  gst_bin_add_many (GST_BIN (self->bin), queue, pay, NULL);
  gst_element_link (queue, pay);

  if (video)
    ferry_branch_drop_until_keyframe (pay);

  sink = gst_element_request_pad_simple (self->webrtc, "sink_%u");
  src = gst_element_get_static_pad (pay, "src");
  gst_pad_add_probe (src, GST_PAD_PROBE_TYPE_BUFFER
      | GST_PAD_PROBE_TYPE_BUFFER_LIST, count_bytes_cb,
      g_atomic_rc_box_acquire (self->bytes_out), g_atomic_rc_box_release);
  if (gst_pad_link (src, sink) != GST_PAD_LINK_OK) {
    gst_object_unref (src);
    gst_object_unref (sink);
    g_set_error (error, FERRY_ERROR, FERRY_ERROR_INTERNAL,
        "could not link the %s payloader to webrtcbin", kind);
    return FALSE;
  }
  gst_object_unref (src);

  /* Send-only, and only the payload type the browser offered: webrtcbin matches this
   * transceiver to the offer's m-line by kind and answers with these caps. */
  if (video)
    prefs = gst_caps_new_simple ("application/x-rtp", "media", G_TYPE_STRING,
        "video", "encoding-name", G_TYPE_STRING, "H264", "clock-rate",
        G_TYPE_INT, 90000, "payload", G_TYPE_INT, pt, "packetization-mode",
        G_TYPE_STRING, "1", NULL);
  else
    prefs = gst_caps_new_simple ("application/x-rtp", "media", G_TYPE_STRING,
        "audio", "encoding-name", G_TYPE_STRING, "OPUS", "clock-rate",
        G_TYPE_INT, 48000, "payload", G_TYPE_INT, pt, NULL);
  /* No profile-level-id here: rtph264pay would then refuse a source of another profile.
   * send_answer() writes the stream's own into the answer where the offer allows it,
   * otherwise the offer's: browsers decode any profile without B-frames whatever the
   * answer says (wcs-websocket-protocol.md §9.6). */
  g_object_get (sink, "transceiver", &trans, NULL);
  if (trans) {
    g_object_set (trans, "direction",
        GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDONLY, "codec-preferences",
        prefs, NULL);
    /* NACK: webrtcbin then answers "nack" and the offer's RTX payload type, and puts an
     * rtprtxsend before the sender (its history sized in on_deep_element_added). Loss
     * on a viewer's path, or a receiver whose socket overflows while the cached GOP
     * arrives, then costs a resent packet instead of a broken picture until the next
     * keyframe, which for a passthrough stream may be seconds away. Video only: audio
     * conceals a lost packet, and Chromium offers no NACK for Opus. */
    if (video && ferry_app_get_config (self->app)->nack_history > 0)
      g_object_set (trans, "do-nack", TRUE, NULL);
    gst_object_unref (trans);
  }
  if (!video)
    g_set_object (&self->audio_sink, sink);
  gst_object_unref (sink);

  ferry_branch_add_sink (self->bin, ghost_name, queue);
  {
    g_autoptr (GstPad) ghost = gst_element_get_static_pad (self->bin, ghost_name);
    g_autoptr (GstPad) target = gst_element_get_static_pad (queue, "sink");
    g_autoptr (GstPad) queue_src = gst_element_get_static_pad (queue, "src");

    if (video) {
      self->video_gate = ferry_gate_new (ferry_gop_cache_get (tee),
          ghost, target);
      ferry_gate_pace (self->video_gate, queue_src,
          ferry_app_get_config (self->app)->gop_cache_send_kbps);
    } else {
      /* Audio too waits for the connection, then starts live. Let through, it piled
       * up in the queue during the DTLS handshake and left in a burst up to 2 s stale:
       * the first sender report (taken before the handshake) and the later ones then
       * mapped RTP time 2.3 s apart, and the C peer dropped its jitterbuffer's sync
       * until the mapping came back (A/V offsets of 50-100 ms for up to 7 s). */
      self->audio_gate = ferry_gate_new (NULL, ghost, target);
    }
  }
  return TRUE;
}

/* Whichever thread adds it (webrtcbin's, while it applies the answer): the history of
 * the retransmission sender. Its default, 100 packets, is half a second at 2 Mbit/s
 * and a few milliseconds of a cached-GOP burst; by RTP time (max-size-time) it would be
 * worse, since the burst spans seconds of RTP time in a few hundred milliseconds. */
static void
on_deep_element_added (GstBin *bin, GstBin *sub, GstElement *element,
    gpointer data)
{
  GstElementFactory *f = gst_element_get_factory (element);

  /* the size comes as the data, so that this thread touches no viewer */
  if (f && g_str_equal (GST_OBJECT_NAME (f), "rtprtxsend"))
    g_object_set (element, "max-size-packets", GPOINTER_TO_UINT (data),
        "max-size-time", 0, NULL);
}

/* Whichever thread adds it: the socket end of the viewer's transport, where the meter
 * (the data) reads each packet's departure. */
static void
on_transport_element_added (GstBin *bin, GstBin *sub, GstElement *element,
    gpointer data)
{
  GstElementFactory *f = gst_element_get_factory (element);

  if (f && g_str_equal (GST_OBJECT_NAME (f), "nicesink"))
    ferry_transit_meter_watch (data, element);
}

/* main context: what NACK cost this viewer, for the log */
static void
log_retransmissions (FerryViewer *self)
{
  g_autoptr (GstIterator) it = NULL;
  GValue v = G_VALUE_INIT;

  if (self->bin == NULL)
    return;
  it = gst_bin_iterate_all_by_element_factory_name (GST_BIN (self->bin),
      "rtprtxsend");
  while (gst_iterator_next (it, &v) == GST_ITERATOR_OK) {
    guint requests = 0, packets = 0, history = 0;

    g_object_get (g_value_get_object (&v), "num-rtx-requests", &requests,
        "num-rtx-packets", &packets, "max-size-packets", &history, NULL);
    GST_INFO ("viewer %s: %u packets resent for %u NACKed (history %u)",
        self->id, packets, requests, history);
    g_value_reset (&v);
  }
  g_value_unset (&v);
}

static void
attach_failed (FerryViewer *self, const char *info, GError *error,
    GError **out)
{
  GST_WARNING ("viewer %s: %s", self->id, error ? error->message : info);
  if (error)
    g_propagate_error (out, error);
  else
    g_set_error_literal (out, FERRY_ERROR, FERRY_ERROR_UNSUPPORTED_MEDIA_TYPE,
        info);
  ferry_viewer_close (self, "FAILED", info);
}

/**
 * ferry_viewer_attach:
 * Builds the branch for the tracks both the stream has and the offer accepts, hangs it on
 * the stream's tees and starts answering. On failure the viewer is closed with FAILED and
 * the reason, and FALSE is returned.
 */
gboolean
ferry_viewer_attach (FerryViewer *self, FerryStream *stream, GError **error)
{
  GstElement *pipeline = ferry_stream_get_pipeline (stream);
  GstElement *vtee = ferry_stream_get_tee (stream, "video");
  GstElement *atee = ferry_stream_get_tee (stream, "audio");
  gboolean video = vtee && ferry_viewer_offers_track (self, "video");
  gboolean audio = atee && ferry_viewer_offers_track (self, "audio");
  /* The serial keeps bin names unique in the pipeline: mediaSessionIds come from
   * clients, and two sockets may well send the same one. */
  static gint serial;
  g_autofree char *name = g_strdup_printf ("viewer-%d-%s",
      g_atomic_int_add (&serial, 1), self->id);
  GError *local = NULL;
  GstPad *pad;

  FERRY_ASSERT_MAIN_VAL (self->app, FALSE);
  g_return_val_if_fail (self->bin == NULL, FALSE);

  if (self->closed || pipeline == NULL) {
    g_set_error (error, FERRY_ERROR, FERRY_ERROR_NOT_FOUND, "stream ended");
    return FALSE;
  }
  if (!video && !audio) {
    attach_failed (self, "No common codecs", NULL, error);
    return FALSE;
  }

  /* The answer names the stream's real profile-level-id when the offer has a payload
   * type of that profile (known once a keyframe passed the tee, as it has for a PLAYING
   * stream), else the offer's. */
  if (video)
    self->answer_plid = ferry_sdp_choose_h264 (&self->info,
        ferry_stream_get_h264_plid (stream));

  self->bin = gst_object_ref_sink (gst_bin_new (name));
  self->webrtc = ferry_make ("webrtcbin", "webrtc", &local);
  if (self->webrtc == NULL) {
    attach_failed (self, "Failed to add stream to proxy", local, error);
    return FALSE;
  }
  gst_bin_add (GST_BIN (self->bin), self->webrtc);
  g_object_set (self->webrtc, "bundle-policy",
      GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE, NULL);
  ferry_webrtc_configure_ice (self->webrtc, ferry_app_get_config (self->app));

  /* Tracks in the offer's order, so the transceivers line up with its m-lines. */
  if (audio && (!video || self->info.audio_mline < self->info.video_mline)) {
    if (!add_track (self, "audio", atee, &local) || (video
            && !add_track (self, "video", vtee, &local)))
      goto fail;
  } else if (!add_track (self, "video", vtee, &local) || (audio
          && !add_track (self, "audio", atee, &local)))
    goto fail;

  g_signal_connect (self->bin, "deep-element-added",
      G_CALLBACK (on_deep_element_added),
      GUINT_TO_POINTER (ferry_app_get_config (self->app)->nack_history));
  if (self->transit)
    g_signal_connect_data (self->bin, "deep-element-added",
        G_CALLBACK (on_transport_element_added),
        ferry_transit_meter_ref (self->transit),
        (GClosureNotify) (void (*)(void)) ferry_transit_meter_unref, 0);
  g_signal_connect (self->webrtc, "notify::ice-gathering-state",
      G_CALLBACK (notify_gathering_cb), self);
  g_signal_connect (self->webrtc, "notify::connection-state",
      G_CALLBACK (notify_connection_cb), self);
  {
    /* webrtcbin's internal rtpbin sees the client's RTCP. */
    GstElement *rtpbin = gst_bin_get_by_name (GST_BIN (self->webrtc), "rtpbin");
    if (rtpbin) {
      g_signal_connect (rtpbin, "on-ssrc-active", G_CALLBACK (client_rtcp_cb),
          self);
      g_signal_connect (rtpbin, "on-bye-ssrc", G_CALLBACK (client_bye_cb),
          self);
      self->rtpbin = rtpbin;
    }
  }

  gst_bin_add (GST_BIN (pipeline), self->bin);
  gst_element_sync_state_with_parent (self->bin);

  if (video) {
    pad = ferry_branch_attach (pipeline, self->bin, vtee, "video_sink", &local);
    if (pad == NULL)
      goto fail;
    g_ptr_array_add (self->tee_pads, pad);
  }
  if (audio) {
    pad = ferry_branch_attach (pipeline, self->bin, atee, "audio_sink", &local);
    if (pad == NULL)
      goto fail;
    g_ptr_array_add (self->tee_pads, pad);
  }

  {
    GstWebRTCSessionDescription *offer;
    GstSDPMessage *copy = NULL;
    gst_sdp_message_copy (self->offer, &copy);
    offer = gst_webrtc_session_description_new (GST_WEBRTC_SDP_TYPE_OFFER,
        copy);
    emit_with_promise (self, "set-remote-description", offer, on_remote_set);
    gst_webrtc_session_description_free (offer);
  }
  self->sends_video = video;
  self->sends_audio = audio;
  GST_INFO ("viewer %s: attached (video %s pt %d, audio %s pt %d)", self->id,
      video ? "yes" : "no", self->info.h264_pt, audio ? "yes" : "no",
      self->info.opus_pt);
  return TRUE;

fail:
  attach_failed (self, "Failed to add stream to proxy", local, error);
  return FALSE;
}

/**
 * ferry_viewer_add_remote_candidate:
 * @mid: (nullable): the m-section the candidate belongs to; NULL = the first
 * @candidate: "candidate:…" as in an a= line, without "a="
 *
 * Adds a trickled remote candidate (WHEP PATCH). webrtcbin queues candidates that come
 * before the descriptions are applied. Returns FALSE when the viewer is not attached.
 */
gboolean
ferry_viewer_add_remote_candidate (FerryViewer *self, const char *mid,
    const char *candidate)
{
  if (self->closed || self->webrtc == NULL)
    return FALSE;
  g_signal_emit_by_name (self->webrtc, "add-ice-candidate",
      ferry_sdp_mline_of_mid (self->offer, mid), candidate);
  return TRUE;
}

/**
 * ferry_viewer_close:
 * @status: (nullable): the WCS status to report (STOPPED, FAILED), or NULL to report
 *   nothing (the client is gone)
 *
 * Ends the viewer once: reports @status, detaches its branch (asynchronously, see
 * ferry-branch.c), and tells its owner through the closed event. Idempotent.
 */
void
ferry_viewer_close (FerryViewer *self, const char *status, const char *info)
{
  g_autoptr (FerryViewer) keep = NULL;

  FERRY_ASSERT_MAIN (self->app);
  if (self->closed)
    return;
  keep = g_object_ref (self);
  self->closed = TRUE;
  GST_INFO ("viewer %s: closing%s%s%s%s", self->id, status ? " with " : "",
      status ? status : "", info ? ": " : "", info ? info : "");

  ferry_clear_source (&self->gather_timeout);
  ferry_clear_source (&self->ice_timeout);
  ferry_clear_source (&self->caps_wait);
  ferry_clear_source (&self->liveness);
  log_retransmissions (self);
  /* Signals keep coming during teardown: disconnect first (webrtcbin's own test).
   * (on_deep_element_added needs none: it touches nothing but the element.) */
  if (self->webrtc)
    g_signal_handlers_disconnect_by_data (self->webrtc, self);
  if (self->rtpbin)
    g_signal_handlers_disconnect_by_data (self->rtpbin, self);

  if (g_strcmp0 (status, "FAILED") == 0)
    ferry_metrics_count (ferry_app_get_metrics (self->app),
        FERRY_METRIC_VIEWER_FAILURES);
  if (status != NULL)
    self->events->status (self->events_data, self, status, info);

  if (self->stream) {
    GstElement *pipeline = ferry_stream_get_pipeline (self->stream);
    /* A stopping stream sets its whole pipeline to NULL right after; detaching each
     * viewer first would only add work. */
    if (self->bin && pipeline && !ferry_stream_is_stopping (self->stream)
        && GST_OBJECT_PARENT (self->bin) == GST_OBJECT (pipeline))
      ferry_branch_detach (ferry_app_get_context (self->app), pipeline,
          self->bin, self->tee_pads);
    ferry_stream_forget_viewer (self->stream, self);
    g_clear_object (&self->stream);
  }
  self->webrtc = NULL;

  self->events->closed (self->events_data, self);
}

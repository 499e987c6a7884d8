/* Ferry test peer: decode chains for webrtcbin's src pads, and counters.
 *
 *   webrtcbin src_%u ─► queue ─► rtph264depay ─► avdec_h264 ─► fakesink  (video)
 *                    └► queue ─► rtpopusdepay ─► opusdec    ─► fakesink  (audio)
 *                                       counting probe on each sink pad ─┘
 *   and an RTP probe on each webrtcbin src pad: sequence numbers and timestamps
 *   (after webrtcbin's jitterbuffer), to tell whether they run on monotonically
 *   across a source outage on the server.
 *
 * Without decoding (peer_media_set_decode FALSE, --no-decode):
 *
 *   webrtcbin src_%u ─► fakesink        with only the RTP probe on the src pad
 *
 *   so a stream costs ICE, DTLS, SRTP and the jitterbuffer and nothing more: the
 *   benchmark (bench/) runs dozens of streams in one process, and H.264 decoding
 *   would cost more per stream than the server it measures.
 *
 * Threads: peer_media_link_pad runs on the streaming thread that announced
 * the pad; adding, linking and syncing new downstream elements there is
 * fine, only the pipeline's own state changes belong to the main context.
 * The probes run on the fakesinks' streaming threads. Everything shared is
 * behind one mutex.
 *
 * No decodebin on purpose: an explicit chain fails loudly when the server
 * sends something other than H.264 or Opus instead of quietly decoding it.
 */
#include "peer-media.h"
#include "peer-sync.h"

GST_DEBUG_CATEGORY_STATIC (peer_media_debug);
#define GST_CAT_DEFAULT peer_media_debug

/* What one track's RTP looked like: gaps and jumps between consecutive packets. */
typedef struct
{
  gboolean have;
  guint64 packets;
  guint32 ssrc;
  guint16 seq;
  guint32 ts;
  guint64 seq_gaps;             /* packets missing between consecutive ones */
  guint seq_backwards;          /* a sequence number at or before the last one */
  guint ts_backwards;           /* a timestamp before the last one */
  guint32 max_ts_jump;          /* largest forward timestamp step, in clock units */
  guint ssrc_changes;
} RtpTrack;

struct _PeerMedia
{
  gchar *id;                    /* for log lines */
  gint64 created_us;            /* monotonic; firstVideoRtpMs counts from here */
  gboolean decode;              /* set before the pipeline runs, then only read */
  gboolean prompt_nack;         /* likewise */

  GMutex lock;                  /* protects everything below */
  guint64 video_frames;
  guint64 video_keyframes;      /* access units the depayloader marked as keyframes */
  guint64 audio_samples;
  gint video_width;
  gint video_height;
  GPtrArray *errors;            /* gchar* */
  RtpTrack rtp[2];              /* [0] video, [1] audio */
  gint64 first_video_rtp_us;    /* monotonic; 0 = no video packet yet */
  PeerSync *sync;               /* sync marks seen by both chains */
  GPtrArray *jitterbuffers;     /* refs until peer_media_collect, then NULL */
  guint64 rtx_requested, rtx_recovered, lost;   /* summed by peer_media_collect */
  guint64 dropped;              /* by peer_media_drop_video */
};

/* Probe state for one decode chain; only the fakesink's streaming thread
 * touches its fields, the media ref keeps the counters alive. */
typedef struct
{
  PeerMedia *media;
  gboolean video;
  guint bpf;                    /* audio bytes per sample frame, 0 = unknown */
  gint rate;
  gint channels;
  gboolean s16;                 /* audio is S16LE: sync onsets can be looked for */
  gint width, height;
  PeerSyncVideo flash;
  PeerSyncAudio onset;
} ChainProbe;

static void
peer_media_free (gpointer data)
{
  PeerMedia *self = data;

  g_free (self->id);
  g_ptr_array_unref (self->errors);
  g_clear_pointer (&self->jitterbuffers, g_ptr_array_unref);
  peer_sync_free (self->sync);
  g_mutex_clear (&self->lock);
}

PeerMedia *
peer_media_new (const gchar * id)
{
  static gsize once = 0;
  PeerMedia *self = g_atomic_rc_box_new0 (PeerMedia);

  if (g_once_init_enter (&once)) {
    GST_DEBUG_CATEGORY_INIT (peer_media_debug, "ferry-test-peer-media", 0,
        "Ferry test peer: decode chains and counters");
    g_once_init_leave (&once, 1);
  }
  self->id = g_strdup (id);
  self->created_us = g_get_monotonic_time ();
  self->decode = TRUE;
  self->errors = g_ptr_array_new_with_free_func (g_free);
  self->sync = peer_sync_new ();
  self->jitterbuffers = g_ptr_array_new_with_free_func (gst_object_unref);
  g_mutex_init (&self->lock);
  return self;
}

PeerMedia *
peer_media_ref (PeerMedia * media)
{
  return g_atomic_rc_box_acquire (media);
}

void
peer_media_unref (PeerMedia * media)
{
  g_atomic_rc_box_release_full (media, peer_media_free);
}

void
peer_media_set_decode (PeerMedia * self, gboolean decode)
{
  self->decode = decode;
}

void
peer_media_add_error (PeerMedia * self, const gchar * what)
{
  GST_WARNING ("%s: %s", self->id, what);
  g_mutex_lock (&self->lock);
  g_ptr_array_add (self->errors, g_strdup (what));
  g_mutex_unlock (&self->lock);
}

static guint
audio_format_width (const gchar * format)
{
  /* opusdec only outputs S16LE; knowing a few more keeps this honest without
   * pulling in gstreamer-audio just for GstAudioInfo */
  if (format == NULL)
    return 0;
  if (g_str_has_prefix (format, "S8") || g_str_has_prefix (format, "U8"))
    return 1;
  if (g_str_has_prefix (format, "S16") || g_str_has_prefix (format, "U16"))
    return 2;
  if (g_str_has_prefix (format, "S24_32") || g_str_has_prefix (format,
          "U24_32"))
    return 4;
  if (g_str_has_prefix (format, "S24") || g_str_has_prefix (format, "U24"))
    return 3;
  if (g_str_has_prefix (format, "S32") || g_str_has_prefix (format, "U32")
      || g_str_has_prefix (format, "F32"))
    return 4;
  if (g_str_has_prefix (format, "F64"))
    return 8;
  return 0;
}

static void
chain_probe_caps (ChainProbe * cp, GstCaps * caps)
{
  const GstStructure *s = gst_caps_get_structure (caps, 0);
  gint width = 0, height = 0, channels = 0;

  if (cp->video) {
    if (gst_structure_get_int (s, "width", &width) &&
        gst_structure_get_int (s, "height", &height)) {
      cp->width = width;
      cp->height = height;
      g_mutex_lock (&cp->media->lock);
      cp->media->video_width = width;
      cp->media->video_height = height;
      g_mutex_unlock (&cp->media->lock);
    }
    return;
  }
  cp->rate = 0;
  gst_structure_get_int (s, "rate", &cp->rate);
  if (!gst_structure_get_int (s, "channels", &channels))
    channels = 1;
  cp->channels = channels;
  cp->s16 = g_strcmp0 (gst_structure_get_string (s, "format"), "S16LE") == 0;
  cp->bpf = audio_format_width (gst_structure_get_string (s, "format")) *
      channels;
}

/* streaming thread (the fakesink's): a flash or a tone onset of a source with sync marks
 * is recorded at its running time (the receiver's lip sync is in the timestamps). */
static void
look_for_sync_mark (ChainProbe * cp, GstPad * pad, GstBuffer * buf)
{
  GstClockTime pts = GST_BUFFER_PTS (buf), running;
  g_autoptr (GstEvent) ev = NULL;
  const GstSegment *seg = NULL;

  if (cp->video) {
    if (!peer_sync_video_flash (&cp->flash, buf, cp->width, cp->height))
      return;
  } else {
    gint64 at;
    if (!cp->s16 || (at = peer_sync_audio_onset (&cp->onset, buf, cp->rate,
                cp->channels)) < 0)
      return;
    if (GST_CLOCK_TIME_IS_VALID (pts))
      pts += gst_util_uint64_scale (at, GST_SECOND, cp->rate);
  }
  ev = gst_pad_get_sticky_event (pad, GST_EVENT_SEGMENT, 0);
  if (ev == NULL || !GST_CLOCK_TIME_IS_VALID (pts))
    return;
  gst_event_parse_segment (ev, &seg);
  running = gst_segment_to_running_time (seg, GST_FORMAT_TIME, pts);
  g_mutex_lock (&cp->media->lock);
  peer_sync_add_mark (cp->media->sync, cp->video, running);
  g_mutex_unlock (&cp->media->lock);
}

/* streaming thread (the fakesink's) */
static GstPadProbeReturn
on_sink_data (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  ChainProbe *cp = data;
  PeerMedia *self = cp->media;
  GstBuffer *buf;
  guint64 samples = 0;

  if (info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
    GstEvent *event = GST_PAD_PROBE_INFO_EVENT (info);
    GstCaps *caps = NULL;

    if (GST_EVENT_TYPE (event) == GST_EVENT_CAPS) {
      gst_event_parse_caps (event, &caps);
      chain_probe_caps (cp, caps);
    }
    return GST_PAD_PROBE_OK;
  }

  buf = GST_PAD_PROBE_INFO_BUFFER (info);
  if (buf == NULL)
    return GST_PAD_PROBE_OK;
  if (!cp->video) {
    /* count sample frames (per channel), so 1 s of audio is `rate` */
    if (cp->bpf > 0)
      samples = gst_buffer_get_size (buf) / cp->bpf;
    else if (GST_BUFFER_DURATION_IS_VALID (buf) && cp->rate > 0)
      samples = gst_util_uint64_scale (GST_BUFFER_DURATION (buf), cp->rate,
          GST_SECOND);
  }
  g_mutex_lock (&self->lock);
  if (cp->video)
    self->video_frames++;
  else
    self->audio_samples += samples;
  g_mutex_unlock (&self->lock);
  look_for_sync_mark (cp, pad, buf);
  return GST_PAD_PROBE_OK;
}

static void
chain_probe_free (gpointer data)
{
  ChainProbe *cp = data;

  peer_media_unref (cp->media);
  g_free (cp);
}

static GstElement *
make (PeerMedia * self, const gchar * factory)
{
  GstElement *e = gst_element_factory_make (factory, NULL);

  if (e == NULL) {
    g_autofree gchar *msg = g_strdup_printf ("missing element %s", factory);
    peer_media_add_error (self, msg);
  }
  return e;
}

/* streaming thread (webrtcbin's src pad): RTP header fields, read from the bytes so
 * that the peer needs no gstreamer-rtp (RFC 3550 §5.1: seq at 2, ts at 4, ssrc at 8). */
static GstPadProbeReturn
on_rtp (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  ChainProbe *cp = data;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  guint8 h[12];
  RtpTrack *t;
  guint16 seq;
  guint32 ts, ssrc;

  if (buf == NULL || gst_buffer_extract (buf, 0, h, sizeof h) != sizeof h)
    return GST_PAD_PROBE_OK;
  seq = GST_READ_UINT16_BE (h + 2);
  ts = GST_READ_UINT32_BE (h + 4);
  ssrc = GST_READ_UINT32_BE (h + 8);
  g_mutex_lock (&cp->media->lock);
  t = &cp->media->rtp[cp->video ? 0 : 1];
  if (cp->video && cp->media->first_video_rtp_us == 0)
    cp->media->first_video_rtp_us = g_get_monotonic_time ();
  if (t->have && ssrc != t->ssrc) {
    t->ssrc_changes++;
  } else if (t->have) {
    gint16 dseq = (gint16) (seq - t->seq);
    gint32 dts = (gint32) (ts - t->ts);
    if (dseq <= 0)
      t->seq_backwards++;
    else
      t->seq_gaps += dseq - 1;
    if (dts < 0)
      t->ts_backwards++;
    else if ((guint32) dts > t->max_ts_jump)
      t->max_ts_jump = dts;
  }
  t->have = TRUE;
  t->packets++;
  t->ssrc = ssrc;
  t->seq = seq;
  t->ts = ts;
  g_mutex_unlock (&cp->media->lock);
  return GST_PAD_PROBE_OK;
}

/* streaming thread (the decoder's sink pad): keyframes as received */
static GstPadProbeReturn
on_access_unit (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  PeerMedia *self = data;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);

  if (buf && !GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_DELTA_UNIT)) {
    g_mutex_lock (&self->lock);
    self->video_keyframes++;
    g_mutex_unlock (&self->lock);
  }
  return GST_PAD_PROBE_OK;
}

/* Builds queue ! depay ! dec ! fakesink in @bin and links @pad to it.
 * streaming thread */
static void
link_decode_chain (PeerMedia * self, GstBin * bin, GstPad * pad, gboolean video)
{
  const gchar *names[4] = { "queue", video ? "rtph264depay" : "rtpopusdepay",
    video ? "avdec_h264" : "opusdec", "fakesink"
  };
  GstElement *el[4] = { NULL, };
  g_autoptr (GstPad) sinkpad = NULL;
  g_autoptr (GstPad) fakepad = NULL;
  ChainProbe *cp;
  gint i;

  for (i = 0; i < 4; i++) {
    el[i] = make (self, names[i]);
    if (el[i] == NULL)
      goto fail;
  }
  /* added into a running pipeline: no preroll wait, no clock sync */
  g_object_set (el[3], "sync", FALSE, "async", FALSE, NULL);
  for (i = 0; i < 4; i++)
    gst_bin_add (bin, el[i]);
  if (!gst_element_link_many (el[0], el[1], el[2], el[3], NULL)) {
    peer_media_add_error (self, "could not link the decode chain");
    return;
  }

  cp = g_new0 (ChainProbe, 1);
  cp->media = peer_media_ref (self);
  cp->video = video;
  fakepad = gst_element_get_static_pad (el[3], "sink");
  gst_pad_add_probe (fakepad, GST_PAD_PROBE_TYPE_BUFFER |
      GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, on_sink_data, cp, chain_probe_free);

  cp = g_new0 (ChainProbe, 1);
  cp->media = peer_media_ref (self);
  cp->video = video;
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, on_rtp, cp,
      chain_probe_free);
  if (video) {
    g_autoptr (GstPad) decpad = gst_element_get_static_pad (el[2], "sink");
    gst_pad_add_probe (decpad, GST_PAD_PROBE_TYPE_BUFFER, on_access_unit,
        peer_media_ref (self), (GDestroyNotify) peer_media_unref);
  }

  /* downstream first, so data never hits a flushing pad */
  for (i = 3; i >= 0; i--)
    gst_element_sync_state_with_parent (el[i]);
  sinkpad = gst_element_get_static_pad (el[0], "sink");
  if (GST_PAD_LINK_FAILED (gst_pad_link (pad, sinkpad)))
    peer_media_add_error (self, "could not link a webrtcbin src pad");
  return;

fail:
  for (i = 0; i < 4; i++)
    if (el[i] != NULL)
      gst_object_unref (gst_object_ref_sink (el[i]));
}

/* Without decoding: @pad straight into a fakesink, counted by the RTP probe
 * alone (no queue: the fakesink does nothing that could hold webrtcbin up).
 * streaming thread */
static void
link_count_only (PeerMedia * self, GstBin * bin, GstPad * pad, gboolean video)
{
  GstElement *sink = make (self, "fakesink");
  g_autoptr (GstPad) sinkpad = NULL;
  ChainProbe *cp;

  if (sink == NULL)
    return;
  /* added into a running pipeline: no preroll wait, no clock sync; and no
   * last-sample ref kept on a buffer nobody looks at */
  g_object_set (sink, "sync", FALSE, "async", FALSE, "enable-last-sample",
      FALSE, NULL);
  gst_bin_add (bin, sink);
  cp = g_new0 (ChainProbe, 1);
  cp->media = peer_media_ref (self);
  cp->video = video;
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, on_rtp, cp,
      chain_probe_free);
  gst_element_sync_state_with_parent (sink);
  sinkpad = gst_element_get_static_pad (sink, "sink");
  if (GST_PAD_LINK_FAILED (gst_pad_link (pad, sinkpad)))
    peer_media_add_error (self, "could not link a webrtcbin src pad");
}

/* Pads we have no decoder for go to a fakesink, so they cannot stall
 * webrtcbin with not-linked.
 * streaming thread */
static void
link_fakesink (PeerMedia * self, GstBin * bin, GstPad * pad)
{
  GstElement *sink = make (self, "fakesink");
  g_autoptr (GstPad) sinkpad = NULL;

  if (sink == NULL)
    return;
  g_object_set (sink, "sync", FALSE, "async", FALSE, NULL);
  gst_bin_add (bin, sink);
  gst_element_sync_state_with_parent (sink);
  sinkpad = gst_element_get_static_pad (sink, "sink");
  gst_pad_link (pad, sinkpad);
}

void
peer_media_link_pad (PeerMedia * self, GstBin * bin, GstPad * pad)
{
  g_autoptr (GstCaps) caps = NULL;
  const GstStructure *s;
  const gchar *media, *encoding;

  caps = gst_pad_get_current_caps (pad);
  if (caps == NULL)
    caps = gst_pad_query_caps (pad, NULL);
  if (caps == NULL || gst_caps_is_empty (caps) || gst_caps_is_any (caps)) {
    peer_media_add_error (self, "webrtcbin src pad without caps");
    link_fakesink (self, bin, pad);
    return;
  }
  s = gst_caps_get_structure (caps, 0);
  media = gst_structure_get_string (s, "media");
  encoding = gst_structure_get_string (s, "encoding-name");
  GST_INFO ("%s: pad %s media %s encoding %s", self->id,
      GST_PAD_NAME (pad), media, encoding);

  if (g_strcmp0 (media, "video") == 0 && encoding != NULL &&
      g_ascii_strcasecmp (encoding, "H264") == 0) {
    if (self->decode)
      link_decode_chain (self, bin, pad, TRUE);
    else
      link_count_only (self, bin, pad, TRUE);
  } else if (g_strcmp0 (media, "audio") == 0 && encoding != NULL &&
      g_ascii_strcasecmp (encoding, "OPUS") == 0) {
    if (self->decode)
      link_decode_chain (self, bin, pad, FALSE);
    else
      link_count_only (self, bin, pad, FALSE);
  } else {
    g_autofree gchar *msg = g_strdup_printf ("unexpected media %s/%s",
        media ? media : "?", encoding ? encoding : "?");
    peer_media_add_error (self, msg);
    link_fakesink (self, bin, pad);
  }
}

/* One jitterbuffer's watch: when its first sender report arrived. */
typedef struct
{
  PeerMedia *media;
  GstElement *pipeline;         /* not a ref: the pipeline owns the jitterbuffers */
  gboolean seen;                /* only the handle-sync thread touches it */
} LipSyncWatch;

static void
lip_sync_watch_free (gpointer data, GClosure * closure)
{
  LipSyncWatch *w = data;

  peer_media_unref (w->media);
  g_free (w);
}

/* the thread that handles RTCP: rtpbin associates the streams of one sender (its lip
 * sync) from this very signal, once each has had a sender report */
static void
on_handle_sync (GstElement * jitterbuffer, GstStructure * s, gpointer data)
{
  LipSyncWatch *w = data;
  GstClock *clock;
  GstClockTime running = GST_CLOCK_TIME_NONE;

  if (w->seen)
    return;
  w->seen = TRUE;
  if ((clock = gst_element_get_clock (w->pipeline)) != NULL) {
    running = gst_clock_get_time (clock) -
        gst_element_get_base_time (w->pipeline);
    gst_object_unref (clock);
  }
  g_mutex_lock (&w->media->lock);
  peer_sync_add_sender_report (w->media->sync, running);
  g_mutex_unlock (&w->media->lock);
}

/* the streaming thread that created the jitterbuffer */
static void
on_new_jitterbuffer (GstElement * rtpbin, GstElement * jitterbuffer,
    guint session, guint ssrc, gpointer data)
{
  LipSyncWatch *w = data, *copy = g_new0 (LipSyncWatch, 1);

  /* Mode "synced": output timestamps are the first packet's arrival plus the RTP
   * timestamps, with no skew estimate. The default mode's estimate takes seconds to
   * settle, and until it has, rtpbin's lip sync (which maps sender reports through the
   * first packet's arrival only) left pairs off by 38-103 ms for up to 7 s on a loaded
   * box: a figure of this receiver, not of what the server sent. ("none" would be
   * wrong: its timestamps start at 0 on each track, which the lip sync does not know.) */
  g_object_set (jitterbuffer, "mode", 3, NULL);
  if (w->media->prompt_nack) {
    GstElement *rtpsession = NULL;

    /* Ask for what is missing (a sequence gap), as browsers do, not for what is merely
     * later than the packet spacing predicts: this peer runs under ASan next to the
     * server, its jitterbuffer's thread fell 50-300 ms behind the arrivals during a
     * cached-GOP start, and the predictive requests (rtx-next-seqnum) then asked for
     * hundreds of packets that had arrived, and declared them lost. */
    g_object_set (jitterbuffer, "rtx-next-seqnum", FALSE, NULL);

    /* NACKs go out in RTCP, and under AVPF's timing rules (RFC 4585 §3.5) a receiver
     * may send one early RTCP packet per regular interval, which rtpsession derives
     * from the RTCP bandwidth: by default about half a second here, so that the peer
     * asked for one lost packet in three before its jitterbuffer gave up (measured:
     * 14 NACKed of 28 lost). Browsers send a NACK at once. An RTCP share of 5000 B/s
     * makes the interval ~50 ms, and every request leaves within the jitterbuffer's
     * 200 ms. */
    g_signal_emit_by_name (rtpbin, "get-session", session, &rtpsession);
    if (rtpsession != NULL) {
      g_object_set (rtpsession, "rtcp-fraction", 5000.0, NULL);
      gst_object_unref (rtpsession);
    }
  }
  g_mutex_lock (&w->media->lock);
  if (w->media->jitterbuffers != NULL)
    g_ptr_array_add (w->media->jitterbuffers, gst_object_ref (jitterbuffer));
  g_mutex_unlock (&w->media->lock);
  copy->media = peer_media_ref (w->media);
  copy->pipeline = w->pipeline;
  g_signal_connect_data (jitterbuffer, "handle-sync",
      G_CALLBACK (on_handle_sync), copy, lip_sync_watch_free, 0);
}

void
peer_media_set_prompt_nack (PeerMedia * self, gboolean prompt)
{
  self->prompt_nack = prompt;
}

void
peer_media_watch_lip_sync (PeerMedia * self, GstElement * pipeline,
    GstElement * webrtc)
{
  /* webrtcbin names its rtpbin "rtpbin" (1.22: gstwebrtcbin.c) */
  g_autoptr (GstElement) rtpbin = gst_bin_get_by_name (GST_BIN (webrtc),
      "rtpbin");
  LipSyncWatch *w;

  if (rtpbin == NULL) {
    peer_media_add_error (self, "webrtcbin has no rtpbin child");
    return;
  }
  w = g_new0 (LipSyncWatch, 1);
  w->media = peer_media_ref (self);
  w->pipeline = pipeline;
  g_signal_connect_data (rtpbin, "new-jitterbuffer",
      G_CALLBACK (on_new_jitterbuffer), w, lip_sync_watch_free, 0);
}

/* adds the jitterbuffer's retransmission figures to *requested, *recovered, *lost */
static void
add_jitterbuffer_stats (GstElement * jitterbuffer, guint64 * requested,
    guint64 * recovered, guint64 * lost)
{
  GstStructure *stats = NULL;
  guint64 v;

  g_object_get (jitterbuffer, "stats", &stats, NULL);
  if (stats == NULL)
    return;
  if (gst_structure_get_uint64 (stats, "rtx-count", &v))
    *requested += v;
  if (gst_structure_get_uint64 (stats, "rtx-success-count", &v))
    *recovered += v;
  if (gst_structure_get_uint64 (stats, "num-lost", &v))
    *lost += v;
  gst_structure_free (stats);
}

/* The jitterbuffers' figures summed, plus what was collected before. Their "stats" take
 * each jitterbuffer's own lock, so never under the media lock (a jitterbuffer's threads
 * take that one in the probes): @steal lets the refs go (peer_media_collect), else they
 * are copied. */
static gpointer
ref_copy (gconstpointer src, gpointer data)
{
  return gst_object_ref ((gpointer) src);
}

static void
sum_rtx (PeerMedia * self, gboolean steal, guint64 * requested,
    guint64 * recovered, guint64 * lost)
{
  g_autoptr (GPtrArray) jbs = NULL;

  g_mutex_lock (&self->lock);
  if (self->jitterbuffers != NULL)
    jbs = steal ? g_steal_pointer (&self->jitterbuffers) :
        g_ptr_array_copy (self->jitterbuffers, ref_copy, NULL);
  *requested = self->rtx_requested;
  *recovered = self->rtx_recovered;
  *lost = self->lost;
  g_mutex_unlock (&self->lock);
  if (jbs != NULL) {
    if (!steal)
      g_ptr_array_set_free_func (jbs, gst_object_unref);
    for (guint i = 0; i < jbs->len; i++)
      add_jitterbuffer_stats (jbs->pdata[i], requested, recovered, lost);
  }
}

void
peer_media_collect (PeerMedia * self)
{
  guint64 requested, recovered, lost;

  sum_rtx (self, TRUE, &requested, &recovered, &lost);
  g_mutex_lock (&self->lock);
  self->rtx_requested = requested;
  self->rtx_recovered = recovered;
  self->lost = lost;
  g_mutex_unlock (&self->lock);
}

typedef struct
{
  PeerMedia *media;
  guint every;
  gint pt;
  guint seen;                   /* the one streaming thread of the pad */
} DropProbe;

static void
drop_probe_free (gpointer data)
{
  DropProbe *d = data;

  peer_media_unref (d->media);
  g_free (d);
}

/* whether to drop this packet; RTP payload type at byte 1 (RFC 3550 §5.1), RTCP
 * (200-204 there, rtcp-mux) never */
static gboolean
drop_one (DropProbe * d, GstBuffer * buf)
{
  guint8 h[2];

  if (gst_buffer_extract (buf, 0, h, 2) != 2 || (h[1] & 0x7f) != d->pt
      || h[1] >= 200)
    return FALSE;
  if (++d->seen % d->every != 0)
    return FALSE;
  g_mutex_lock (&d->media->lock);
  d->media->dropped++;
  g_mutex_unlock (&d->media->lock);
  return TRUE;
}

static gboolean
list_drop_cb (GstBuffer ** buf, guint idx, gpointer data)
{
  if (drop_one (data, *buf))
    gst_clear_buffer (buf);
  return TRUE;
}

/* the streaming thread of rtpbin's recv_rtp_sink pad */
static GstPadProbeReturn
on_drop_probe (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  DropProbe *d = data;

  if (info->type & GST_PAD_PROBE_TYPE_BUFFER)
    return drop_one (d, GST_PAD_PROBE_INFO_BUFFER (info)) ?
        GST_PAD_PROBE_DROP : GST_PAD_PROBE_OK;
  if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST) {
    GstBufferList *list = gst_buffer_list_make_writable
        (GST_PAD_PROBE_INFO_BUFFER_LIST (info));

    GST_PAD_PROBE_INFO_DATA (info) = list;
    gst_buffer_list_foreach (list, list_drop_cb, d);
  }
  return GST_PAD_PROBE_OK;
}

/* the thread that requests rtpbin's pad (webrtcbin's, while it sets a description) */
static void
on_rtpbin_pad_added (GstElement * rtpbin, GstPad * pad, gpointer data)
{
  DropProbe *d = data, *copy;

  if (!g_str_has_prefix (GST_PAD_NAME (pad), "recv_rtp_sink_"))
    return;
  copy = g_new0 (DropProbe, 1);
  copy->media = peer_media_ref (d->media);
  copy->every = d->every;
  copy->pt = d->pt;
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER |
      GST_PAD_PROBE_TYPE_BUFFER_LIST, on_drop_probe, copy, drop_probe_free);
}

static void
drop_closure_free (gpointer data, GClosure * closure)
{
  drop_probe_free (data);
}

void
peer_media_drop_video (PeerMedia * self, GstElement * webrtc, guint every,
    gint pt)
{
  g_autoptr (GstElement) rtpbin = gst_bin_get_by_name (GST_BIN (webrtc),
      "rtpbin");
  DropProbe *d;

  g_return_if_fail (every > 0);
  if (rtpbin == NULL) {
    peer_media_add_error (self, "webrtcbin has no rtpbin child");
    return;
  }
  d = g_new0 (DropProbe, 1);
  d->media = peer_media_ref (self);
  d->every = every;
  d->pt = pt;
  g_signal_connect_data (rtpbin, "pad-added", G_CALLBACK (on_rtpbin_pad_added),
      d, drop_closure_free, 0);
}

void
peer_media_get_counts (PeerMedia * self, guint64 * video_frames,
    guint64 * audio_samples)
{
  g_mutex_lock (&self->lock);
  *video_frames = self->video_frames;
  *audio_samples = self->audio_samples;
  g_mutex_unlock (&self->lock);
}

static void
add_int (JsonBuilder * b, const gchar * name, gint64 value)
{
  json_builder_set_member_name (b, name);
  json_builder_add_int_value (b, value);
}

void
peer_media_add_to_json (PeerMedia * self, JsonBuilder * b)
{
  guint i;
  guint64 requested, recovered, lost;

  sum_rtx (self, FALSE, &requested, &recovered, &lost);
  g_mutex_lock (&self->lock);
  add_int (b, "videoFrames", self->video_frames);
  add_int (b, "videoKeyframes", self->video_keyframes);
  add_int (b, "audioSamples", self->audio_samples);
  add_int (b, "videoWidth", self->video_width);
  add_int (b, "videoHeight", self->video_height);
  /* ms from the stream's creation (the peer's start) to its first video packet
   * out of the jitterbuffer (so including its latency): join to first video */
  json_builder_set_member_name (b, "firstVideoRtpMs");
  if (self->first_video_rtp_us != 0)
    json_builder_add_double_value (b,
        (self->first_video_rtp_us - self->created_us) / 1000.0);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "rtp");
  json_builder_begin_object (b);
  for (i = 0; i < 2; i++) {
    const RtpTrack *t = &self->rtp[i];
    json_builder_set_member_name (b, i == 0 ? "video" : "audio");
    json_builder_begin_object (b);
    add_int (b, "packets", t->packets);
    add_int (b, "seqGaps", t->seq_gaps);
    add_int (b, "seqBackwards", t->seq_backwards);
    add_int (b, "tsBackwards", t->ts_backwards);
    add_int (b, "maxTsJump", t->max_ts_jump);
    add_int (b, "ssrcChanges", t->ssrc_changes);
    json_builder_end_object (b);
  }
  json_builder_end_object (b);
  json_builder_set_member_name (b, "rtx");
  json_builder_begin_object (b);
  add_int (b, "requested", requested);
  add_int (b, "recovered", recovered);
  add_int (b, "lost", lost);
  add_int (b, "dropped", self->dropped);
  json_builder_end_object (b);
  json_builder_set_member_name (b, "sync");
  json_builder_begin_object (b);
  peer_sync_add_to_json (self->sync, b);
  json_builder_end_object (b);
  json_builder_set_member_name (b, "errors");
  json_builder_begin_array (b);
  for (i = 0; i < self->errors->len; i++)
    json_builder_add_string_value (b, self->errors->pdata[i]);
  json_builder_end_array (b);
  g_mutex_unlock (&self->lock);
}

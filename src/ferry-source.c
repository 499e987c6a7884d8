/* ferry-source.c — see ferry-source.h. */
#include "ferry-source.h"
#include "ferry-errors.h"
#include "ferry-log.h"

#include <gio/gio.h>
#include <string.h>

FERRY_DEBUG_CATEGORY_LAZY (ferry_source_debug, "ferry-source",
    "Ferry RTMP source sessions");
#define GST_CAT_DEFAULT ferry_source_debug

/* Two consecutive sessions never overlap in running time by less than this. */
#define MIN_STEP (20 * GST_MSECOND)
/* Media may run at most this far ahead of the pipeline clock (see hold_back). */
#define MAX_LEAD (1 * GST_SECOND)

struct _FerryTimeline
{
  gint refs;
  GMutex lock;
  GstClockTime end;             /* highest running time handed out (+ duration) */
  FerryIngestTotals totals;
};

FerryTimeline *
ferry_timeline_new (void)
{
  FerryTimeline *self = g_new0 (FerryTimeline, 1);
  self->refs = 1;
  g_mutex_init (&self->lock);
  return self;
}

/* Any thread. */
void
ferry_timeline_get_totals (FerryTimeline *self, FerryIngestTotals *out)
{
  g_mutex_lock (&self->lock);
  *out = self->totals;
  g_mutex_unlock (&self->lock);
}

static FerryTimeline *
timeline_ref (FerryTimeline *self)
{
  g_atomic_int_inc (&self->refs);
  return self;
}

void
ferry_timeline_unref (FerryTimeline *self)
{
  if (!g_atomic_int_dec_and_test (&self->refs))
    return;
  g_mutex_clear (&self->lock);
  g_free (self);
}

/* State the streaming thread's probes share; freed with the last probe or the source. */
typedef struct
{
  gint refs;
  guint session;
  GstElement *pipeline;         /* owned: for its clock and base time */
  FerryTimeline *timeline;      /* owned */
  GstElement *video_in, *audio_in;      /* owned: the chains' first elements */
  GstElement *audio_raw_in;     /* owned: where decoded non-AAC audio goes */
  gboolean want_video, want_audio;
  char *id;

  /* streaming thread (rtmp2src's: flvdemux pushes both tracks from it) */
  gboolean offset_set;
  GstClockTimeDiff offset;      /* added to every PTS/DTS of this session */
  gboolean need_keyframe;
  gboolean held_back;           /* hold_back() acted (logged once) */
  gboolean video_announced;     /* the FLV metadata has a non-zero videocodecid */
  gboolean audio_free;          /* audio tags pass (video came, or waited long enough) */
  gint64 first_audio_ms;        /* FLV timestamp of the first audio tag, -1 = none yet */
  guint audio_dropped;          /* audio tags dropped while waiting for video */
  /* any thread */
  gint media;                   /* atomic: a buffer went through */
  gint video, audio;            /* atomic: a buffer of that track went through */
  GMutex lock;
  gint64 first_media_us;        /* monotonic time of the first buffer, under @lock */
  gint64 last_media_us;         /* monotonic time of the last buffer, under @lock */
} Shared;

static Shared *
shared_ref (Shared *s)
{
  g_atomic_int_inc (&s->refs);
  return s;
}

static void
shared_unref (gpointer data)
{
  Shared *s = data;
  if (!g_atomic_int_dec_and_test (&s->refs))
    return;
  g_mutex_clear (&s->lock);
  gst_object_unref (s->pipeline);
  ferry_timeline_unref (s->timeline);
  g_clear_object (&s->video_in);
  g_clear_object (&s->audio_in);
  g_clear_object (&s->audio_raw_in);
  g_free (s->id);
  g_free (s);
}

static void
shared_closure_unref (gpointer data, GClosure *closure)
{
  shared_unref (data);
}

struct _FerrySource
{
  GstElement *pipeline;         /* owned */
  GstElement *bin;              /* owned; in @pipeline until freed */
  Shared *shared;               /* owned ref */
};

static void
post (GstElement *from, const char *name, guint session)
{
  gst_element_post_message (from, gst_message_new_element (GST_OBJECT (from),
          gst_structure_new (name, "session", G_TYPE_UINT, session, NULL)));
}

/* Streaming thread: fixes this session's offset at its first buffer. Running time then
 * continues from where the pipeline's clock is now, and never steps back behind what an
 * earlier session handed out (a burst of cached GOP from the origin can run ahead). */
static void
set_offset (Shared *s, GstBuffer *buf)
{
  GstClockTime ts = GST_BUFFER_DTS_IS_VALID (buf) ? GST_BUFFER_DTS (buf)
      : GST_BUFFER_PTS (buf);
  GstClockTime now = gst_element_get_current_running_time (s->pipeline);
  GstClockTime anchor = GST_CLOCK_TIME_IS_VALID (now) ? now : 0;

  g_mutex_lock (&s->timeline->lock);
  if (s->timeline->end > 0)
    anchor = MAX (anchor, s->timeline->end + MIN_STEP);
  g_mutex_unlock (&s->timeline->lock);
  s->offset = GST_CLOCK_TIME_IS_VALID (ts) ? GST_CLOCK_DIFF (ts, anchor) : 0;
  s->offset_set = TRUE;
  GST_INFO ("%s: session %u starts at running time %" GST_TIME_FORMAT
      " (offset %" GST_STIME_FORMAT ")", s->id, s->session,
      GST_TIME_ARGS (anchor), GST_STIME_ARGS (s->offset));
}

static GstClockTime
shift (GstClockTime t, GstClockTimeDiff offset)
{
  if (!GST_CLOCK_TIME_IS_VALID (t))
    return t;
  if (offset < 0 && (GstClockTime) (-offset) > t)
    return 0;
  return t + offset;
}

/* Streaming thread: an origin that sends faster than real time (a publisher that stalled
 * and then sends the seconds it missed in a burst) would put the stream seconds ahead of
 * the clock for good, and receivers that pace by RTP time stalled on it (measured: a few
 * frames in 15 s). Live viewers want now, not the backlog: the offset is taken back so that
 * no buffer runs more than MAX_LEAD ahead; the burst is squeezed into that second. */
static void
hold_back (Shared *s, GstBuffer *buf)
{
  GstClockTime ts = GST_BUFFER_DTS_IS_VALID (buf) ? GST_BUFFER_DTS (buf)
      : GST_BUFFER_PTS (buf);
  GstClockTime now, out;

  if (!GST_CLOCK_TIME_IS_VALID (ts))
    return;
  now = gst_element_get_current_running_time (s->pipeline);
  out = shift (ts, s->offset);
  if (!GST_CLOCK_TIME_IS_VALID (now) || out <= now + MAX_LEAD)
    return;
  if (!s->held_back)
    GST_INFO ("%s: session %u: the origin sends faster than real time "
        "(%" GST_TIME_FORMAT " ahead); holding it to %" GST_TIME_FORMAT,
        s->id, s->session, GST_TIME_ARGS (out - now), GST_TIME_ARGS (MAX_LEAD));
  s->held_back = TRUE;
  s->offset -= (GstClockTimeDiff) (out - now - MAX_LEAD);
}

/* Streaming thread. */
static GstPadProbeReturn
buffer_cb (GstPad *pad, GstPadProbeInfo *info, Shared *s)
{
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  gboolean video = GST_PAD_NAME (pad)[0] == 'v';
  GstClockTime end;

  g_mutex_lock (&s->lock);
  s->last_media_us = g_get_monotonic_time ();
  if (s->first_media_us == 0)
    s->first_media_us = s->last_media_us;
  g_mutex_unlock (&s->lock);
  g_atomic_int_set (video ? &s->video : &s->audio, 1);
  if (video && s->need_keyframe) {
    if (GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_DELTA_UNIT))
      return GST_PAD_PROBE_DROP;
    s->need_keyframe = FALSE;
  }
  if (!s->offset_set)
    set_offset (s, buf);
  else
    hold_back (s, buf);
  buf = gst_buffer_make_writable (buf);
  GST_BUFFER_PTS (buf) = shift (GST_BUFFER_PTS (buf), s->offset);
  GST_BUFFER_DTS (buf) = shift (GST_BUFFER_DTS (buf), s->offset);
  GST_PAD_PROBE_INFO_DATA (info) = buf;

  end = GST_BUFFER_PTS_IS_VALID (buf) ? GST_BUFFER_PTS (buf) : 0;
  if (GST_BUFFER_DURATION_IS_VALID (buf))
    end += GST_BUFFER_DURATION (buf);
  g_mutex_lock (&s->timeline->lock);
  s->timeline->end = MAX (s->timeline->end, end);
  s->timeline->totals.bytes += gst_buffer_get_size (buf);
  if (video)
    s->timeline->totals.video_frames++;
  else
    s->timeline->totals.audio_frames++;
  g_mutex_unlock (&s->timeline->lock);

  if (g_atomic_int_compare_and_exchange (&s->media, 0, 1)) {
    GstElement *parent = gst_pad_get_parent_element (pad);
    if (parent) {
      post (parent, "ferry-source-media", s->session);
      gst_object_unref (parent);
    }
  }
  return GST_PAD_PROBE_OK;
}

/* Streaming thread. */
static GstPadProbeReturn
event_cb (GstPad *pad, GstPadProbeInfo *info, Shared *s)
{
  GstEvent *event = GST_PAD_PROBE_INFO_EVENT (info);

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_EOS:
      /* Reported from rtmp2src's pad (source_eos_cb). */
      return GST_PAD_PROBE_DROP;
    case GST_EVENT_SEGMENT:{
      /* Buffers carry running time already (buffer_cb): one plain segment for all. */
      GstSegment seg;
      GstEvent *plain;
      gst_segment_init (&seg, GST_FORMAT_TIME);
      plain = gst_event_new_segment (&seg);
      gst_event_set_seqnum (plain, gst_event_get_seqnum (event));
      gst_event_unref (event);
      GST_PAD_PROBE_INFO_DATA (info) = plain;
      return GST_PAD_PROBE_OK;
    }
    case GST_EVENT_STREAM_START:{
      /* The chain keeps its first stream-start: to the encoder, the payloaders and
       * webrtcbin this is still the same stream. */
      GstPad *peer = gst_pad_get_peer (pad);
      GstEvent *had = peer ? gst_pad_get_sticky_event (peer,
          GST_EVENT_STREAM_START, 0) : NULL;
      g_clear_object (&peer);
      if (had) {
        gst_event_unref (had);
        return GST_PAD_PROBE_DROP;
      }
      return GST_PAD_PROBE_OK;
    }
    default:
      return GST_PAD_PROBE_OK;
  }
}

/* Streaming thread (rtmp2src): the origin ended the stream, or rtmp2src's idle-timeout
 * ended a wait for a name nobody publishes. Reported here rather than after flvdemux,
 * which turns an EOS before any data into an error ("Got EOS before any data"). */
static GstPadProbeReturn
source_eos_cb (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  Shared *s = data;
  GstElement *src;

  if (GST_EVENT_TYPE (GST_PAD_PROBE_INFO_EVENT (info)) != GST_EVENT_EOS)
    return GST_PAD_PROBE_OK;
  src = gst_pad_get_parent_element (pad);
  if (src != NULL) {
    post (src, "ferry-source-eos", s->session);
    gst_object_unref (src);
  }
  return GST_PAD_PROBE_OK;
}

static GstPadProbeReturn
probe_cb (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  if (GST_PAD_PROBE_INFO_TYPE (info) & GST_PAD_PROBE_TYPE_BUFFER)
    return buffer_cb (pad, info, data);
  return event_cb (pad, info, data);
}

/* How long (FLV stream time) audio waits for the first video tag of a source whose
 * metadata announces video: longer than any GOP Ferry supports (10 s is tested). */
#define FIRST_VIDEO_WAIT_MS 12000

/* Whether the AMF0 onMetaData in @data has "videocodecid" set to a non-zero number.
 * nginx-rtmp rewrites the metadata of every stream it serves (codec module, `meta on`) and
 * always writes the key: an audio-only publisher gets videocodecid 0. */
static gboolean
metadata_announces_video (const guint8 *data, gsize size)
{
  static const char key[] = "videocodecid";
  gsize len = sizeof key - 1;

  for (gsize i = 0; i + len + 9 <= size; i++) {
    if (memcmp (data + i, key, len) == 0 && data[i + len] == 0) {
      guint64 bits = 0;
      gdouble v;
      /* byte by byte: the number is not aligned (GST_READ_UINT64_BE may load it whole) */
      for (guint b = 0; b < 8; b++)
        bits = (bits << 8) | data[i + len + 1 + b];
      memcpy (&v, &bits, sizeof v);
      return v > 0;
    }
  }
  return FALSE;
}

/* Streaming thread (rtmp2src's; one buffer is one FLV tag). flvdemux gives up on a track
 * that has not shown up within 6 s of stream time of the other (NO_MORE_PADS_THRESHOLD)
 * and ignores it for good, and nginx-rtmp starts a new player's video at the next
 * keyframe: with a GOP longer than 6 s a pull lost its video for the whole session
 * (measured with a 10 s GOP: audio only, flvdemux "Signaled no-more-pads already but had
 * no video pad"). So while the metadata announces video and none came yet, audio tags
 * (not the AAC sequence header, which comes only once) are dropped, for at most
 * FIRST_VIDEO_WAIT_MS: audio then starts with the video, as the player would show it. */
static GstPadProbeReturn
flv_tag_cb (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  Shared *s = user_data;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  guint8 h[13];
  gsize n;
  gint64 ts;

  if (s->audio_free || buf == NULL)
    return GST_PAD_PROBE_OK;
  n = gst_buffer_extract (buf, 0, h, sizeof h);
  if (n < 11)
    return GST_PAD_PROBE_OK;
  if (h[0] == 9) {
    if (s->audio_dropped > 0)
      GST_INFO ("%s: session %u: video came; %u audio tags were dropped while "
          "waiting for it", s->id, s->session, s->audio_dropped);
    s->audio_free = TRUE;
  } else if (h[0] == 18) {
    GstMapInfo map;
    if (gst_buffer_map (buf, &map, GST_MAP_READ)) {
      s->video_announced = metadata_announces_video (map.data, map.size);
      gst_buffer_unmap (buf, &map);
    }
  } else if (h[0] == 8 && s->video_announced) {
    if (n == 13 && (h[11] >> 4) == 10 && h[12] == 0)
      return GST_PAD_PROBE_OK;  /* AAC sequence header */
    ts = ((gint64) h[7] << 24) | (h[4] << 16) | (h[5] << 8) | h[6];
    if (s->first_audio_ms < 0)
      s->first_audio_ms = ts;
    if (ts - s->first_audio_ms > FIRST_VIDEO_WAIT_MS) {
      GST_INFO ("%s: session %u: no video within %d ms of audio although the "
          "metadata announces it; audio goes on alone", s->id, s->session,
          FIRST_VIDEO_WAIT_MS);
      s->audio_free = TRUE;
      return GST_PAD_PROBE_OK;
    }
    s->audio_dropped++;
    return GST_PAD_PROBE_DROP;
  }
  return GST_PAD_PROBE_OK;
}

/* Streaming thread: a pad nobody serves still has to be linked, or flvdemux errors out
 * with not-linked and takes the wanted track down with it (pitfalls.md). */
static void
link_to_fakesink (GstElement *demux, GstPad *pad)
{
  GstElement *bin = GST_ELEMENT (gst_element_get_parent (demux));
  GstElement *sink = gst_element_factory_make ("fakesink", NULL);
  GstPad *sinkpad;

  g_object_set (sink, "sync", FALSE, "async", FALSE, NULL);
  gst_bin_add (GST_BIN (bin), sink);
  sinkpad = gst_element_get_static_pad (sink, "sink");
  gst_pad_link (pad, sinkpad);
  gst_object_unref (sinkpad);
  gst_element_sync_state_with_parent (sink);
  gst_object_unref (bin);
}

/* FLV audio that is not AAC, and its decoder(s) (flvdemux's caps names). It is decoded in
 * the source bin and joins the AAC→Opus leg after its AAC decoder (ferry-ingest.h). */
static const struct
{
  const char *media;
  const char *elements[2];
} audio_decoders[] = {
  {"audio/mpeg", {"mpegaudioparse", "mpg123audiodec"}},    /* MP3 (mpegversion 1) */
  {"audio/x-speex", {"speexdec", NULL}},
  {"audio/x-nellymoser", {"avdec_nellymoser", NULL}},
  {"audio/x-alaw", {"alawdec", NULL}},
  {"audio/x-mulaw", {"mulawdec", NULL}},
  {"audio/x-adpcm", {"avdec_adpcm_swf", NULL}},
  {"audio/x-raw", {"audioconvert", NULL}},  /* PCM: nothing to decode */
};

static gboolean
is_aac (GstStructure *st)
{
  gint mpegversion = 0;
  return st && gst_structure_has_name (st, "audio/mpeg")
      && gst_structure_get_int (st, "mpegversion", &mpegversion)
      && mpegversion == 4;
}

/* The decoders for @caps, or -1: AAC (no decoder here) and unknown codecs. */
static gint
find_audio_decoder (GstCaps *caps)
{
  GstStructure *st = caps ? gst_caps_get_structure (caps, 0) : NULL;

  if (st == NULL || is_aac (st))
    return -1;
  for (guint i = 0; i < G_N_ELEMENTS (audio_decoders); i++)
    if (gst_structure_has_name (st, audio_decoders[i].media))
      return (gint) i;
  return -1;
}

/* Streaming thread: builds @demux's decoder chain for @pad in the source bin. Returns:
 * (transfer full) the chain's source pad, or NULL when an element is missing. */
static GstPad *
build_audio_decoder (GstElement *demux, GstPad *pad, gint which)
{
  g_autoptr (GstElement) bin = GST_ELEMENT (gst_element_get_parent (demux));
  GstElement *first = NULL, *last = NULL;
  GstPad *sinkpad;

  for (guint i = 0; i < 2 && audio_decoders[which].elements[i]; i++) {
    GstElement *e = gst_element_factory_make (audio_decoders[which].elements[i],
        NULL);
    if (e == NULL) {
      GST_WARNING ("no %s for %s", audio_decoders[which].elements[i],
          audio_decoders[which].media);
      return NULL;
    }
    gst_bin_add (GST_BIN (bin), e);
    if (last && !gst_element_link (last, e))
      return NULL;
    if (first == NULL)
      first = e;
    last = e;
  }
  /* downstream first, so that nothing is pushed into a flushing pad */
  gst_element_sync_state_with_parent (last);
  if (first != last)
    gst_element_sync_state_with_parent (first);
  sinkpad = gst_element_get_static_pad (first, "sink");
  if (gst_pad_link (pad, sinkpad) != GST_PAD_LINK_OK) {
    gst_object_unref (sinkpad);
    return NULL;
  }
  gst_object_unref (sinkpad);
  return gst_element_get_static_pad (last, "src");
}

static gboolean
is_supported (gboolean video, GstCaps *caps)
{
  GstStructure *st = caps ? gst_caps_get_structure (caps, 0) : NULL;

  if (video)
    return st && gst_structure_has_name (st, "video/x-h264");
  return is_aac (st) || find_audio_decoder (caps) >= 0;
}

/* Streaming thread (flvdemux): @pad carries a codec Ferry cannot play; it still has to
 * be linked (link_to_fakesink), and the stream is told. */
static void
refuse_codec (GstElement *demux, GstPad *pad, gboolean video, GstCaps *caps)
{
  g_autofree char *desc = caps ? gst_caps_to_string (caps) : g_strdup ("?");

  if (!gst_pad_is_linked (pad))
    link_to_fakesink (demux, pad);
  gst_element_post_message (demux, gst_message_new_element (GST_OBJECT (demux),
          gst_structure_new ("ferry-unsupported-codec", "kind", G_TYPE_STRING,
              video ? "video" : "audio", "caps", G_TYPE_STRING, desc, NULL)));
}

/* Streaming thread (flvdemux). */
static void
demux_pad_added_cb (GstElement *demux, GstPad *pad, gpointer user_data)
{
  Shared *s = user_data;
  g_autoptr (GstCaps) caps = gst_pad_get_current_caps (pad);
  gboolean video = g_str_has_prefix (GST_PAD_NAME (pad), "video");
  GstElement *target = video ? s->video_in : s->audio_in;
  GstElement *bin;
  GstPad *ghost, *sinkpad;
  GstPadLinkReturn ret;

  GST_INFO_OBJECT (demux, "%s: session %u: new %s pad with caps %"
      GST_PTR_FORMAT, s->id, s->session, video ? "video" : "audio", caps);
  if (target == NULL) {
    link_to_fakesink (demux, pad);
    return;
  }
  if (!is_supported (video, caps)) {
    refuse_codec (demux, pad, video, caps);
    return;
  }

  {
    gint which = video ? -1 : find_audio_decoder (caps);
    if (which >= 0) {
      GstPad *decoded = s->audio_raw_in ? build_audio_decoder (demux, pad,
          which) : NULL;
      if (decoded == NULL) {
        refuse_codec (demux, pad, FALSE, caps);
        return;
      }
      pad = decoded;
      target = s->audio_raw_in;
    } else {
      gst_object_ref (pad);
    }
  }
  bin = GST_ELEMENT (gst_element_get_parent (demux));
  ghost = gst_ghost_pad_new (video ? "video" : "audio", pad);
  gst_object_unref (pad);
  gst_pad_add_probe (ghost, GST_PAD_PROBE_TYPE_BUFFER
      | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, probe_cb, shared_ref (s),
      shared_unref);
  gst_pad_set_active (ghost, TRUE);
  gst_element_add_pad (bin, ghost);
  sinkpad = gst_element_get_static_pad (target, "sink");
  ret = gst_pad_link (ghost, sinkpad);
  if (ret != GST_PAD_LINK_OK)
    GST_WARNING_OBJECT (demux, "%s: linking %s failed: %s", s->id,
        GST_PAD_NAME (pad), gst_pad_link_get_name (ret));
  gst_object_unref (sinkpad);
  gst_object_unref (bin);
}

/**
 * ferry_source_new:
 * @ingest: the chains to feed (video_in/audio_in); they must not be linked to another
 *   source any more
 * @timeline: the stream's; the source keeps a reference
 *
 * Builds the bin and adds it to @pipeline, not started yet.
 */
FerrySource *
ferry_source_new (GstElement *pipeline, const char *id, guint session,
    const FerryIngestOptions *opts, const FerryIngest *ingest,
    FerryTimeline *timeline, GError **error)
{
  g_autofree char *bin_name = g_strdup_printf ("%s-source-%u", id, session);
  GstElement *src, *demux;
  FerrySource *self;
  Shared *s;

  init_debug ();
  src = ferry_make ("rtmp2src", "rtmp2src", error);
  if (src == NULL)
    return NULL;
  demux = ferry_make ("flvdemux", "flvdemux", error);
  if (demux == NULL) {
    gst_object_unref (gst_object_ref_sink (src));
    return NULL;
  }
  /* idle-timeout: nginx-rtmp lets a player wait forever for a name nobody publishes; the
   * timeout turns that into an end of stream in bounded time (pitfalls.md). */
  g_object_set (src, "location", opts->uri, "timeout", opts->rtmp_timeout_s,
      "idle-timeout", opts->idle_timeout_s, NULL);
  /* rtmps:// only. GLib checks the certificate against the system's trust store
   * (/etc/ssl/certs); rtmp2src offers no way to add a CA of one's own. */
  if (!opts->tls_verify)
    g_object_set (src, "tls-validation-flags", (GTlsCertificateFlags) 0, NULL);

  s = g_new0 (Shared, 1);
  s->refs = 1;
  g_mutex_init (&s->lock);
  s->session = session;
  s->pipeline = gst_object_ref (pipeline);
  s->timeline = timeline_ref (timeline);
  s->video_in = ingest->video_in ? gst_object_ref (ingest->video_in) : NULL;
  s->audio_in = ingest->audio_in ? gst_object_ref (ingest->audio_in) : NULL;
  s->audio_raw_in = ingest->audio_raw_in ?
      gst_object_ref (ingest->audio_raw_in) : NULL;
  s->id = g_strdup (id);
  s->need_keyframe = session > 0;

  self = g_new0 (FerrySource, 1);
  self->pipeline = gst_object_ref (pipeline);
  self->bin = gst_object_ref_sink (gst_bin_new (bin_name));
  self->shared = s;
  gst_bin_add_many (GST_BIN (self->bin), src, demux, NULL);
  if (!gst_element_link (src, demux)) {
    g_set_error (error, FERRY_ERROR, FERRY_ERROR_INTERNAL,
        "could not link rtmp2src to flvdemux");
    ferry_source_free (self);
    return NULL;
  }
  g_signal_connect_data (demux, "pad-added", G_CALLBACK (demux_pad_added_cb),
      shared_ref (s), shared_closure_unref, 0);
  {
    GstPad *srcpad = gst_element_get_static_pad (src, "src");
    gst_pad_add_probe (srcpad, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM,
        source_eos_cb, shared_ref (s), shared_unref);
    /* Only a wanted video track can be lost to flvdemux's wait (flv_tag_cb). */
    s->first_audio_ms = -1;
    s->audio_free = s->video_in == NULL;
    if (!s->audio_free)
      gst_pad_add_probe (srcpad, GST_PAD_PROBE_TYPE_BUFFER, flv_tag_cb,
          shared_ref (s), shared_unref);
    gst_object_unref (srcpad);
  }
  gst_bin_add (GST_BIN (pipeline), self->bin);
  return self;
}

/* Main context: connects (the pipeline is PLAYING). */
gboolean
ferry_source_start (FerrySource *self)
{
  return gst_element_sync_state_with_parent (self->bin);
}

/**
 * ferry_source_free:
 * Main context. Stops the connection (joins rtmp2src's thread) and takes the bin out of
 * the pipeline, which unlinks it from the chains. Messages it posted before may still be
 * on the bus: ferry_source_is_source_object() tells them apart.
 */
void
ferry_source_free (FerrySource *self)
{
  if (self == NULL)
    return;
  gst_element_set_locked_state (self->bin, TRUE);
  gst_element_set_state (self->bin, GST_STATE_NULL);
  if (GST_OBJECT_PARENT (self->bin) == GST_OBJECT (self->pipeline))
    gst_bin_remove (GST_BIN (self->pipeline), self->bin);
  gst_object_unref (self->bin);
  gst_object_unref (self->pipeline);
  shared_unref (self->shared);
  g_free (self);
}

guint
ferry_source_get_session (FerrySource *self)
{
  return self->shared->session;
}

/* Whether a buffer of this session went into the chains. */
gboolean
ferry_source_has_media (FerrySource *self)
{
  return g_atomic_int_get (&self->shared->media) != 0;
}

/* Microseconds since the last buffer (0 before the first). */
gint64
ferry_source_get_idle_us (FerrySource *self)
{
  gint64 last;

  g_mutex_lock (&self->shared->lock);
  last = self->shared->last_media_us;
  g_mutex_unlock (&self->shared->lock);
  return last == 0 ? 0 : g_get_monotonic_time () - last;
}

/* Whether a buffer of @kind ("video" or "audio") went into the chains. */
gboolean
ferry_source_has_track (FerrySource *self, const char *kind)
{
  return g_atomic_int_get (g_str_equal (kind, "video") ? &self->shared->video
      : &self->shared->audio) != 0;
}

/* Microseconds since the first buffer (0 before it). */
gint64
ferry_source_get_media_age_us (FerrySource *self)
{
  gint64 first;

  g_mutex_lock (&self->shared->lock);
  first = self->shared->first_media_us;
  g_mutex_unlock (&self->shared->lock);
  return first == 0 ? 0 : g_get_monotonic_time () - first;
}

/* Whether @object is this source's bin or inside it. */
gboolean
ferry_source_contains (FerrySource *self, GstObject *object)
{
  return object == GST_OBJECT (self->bin)
      || gst_object_has_as_ancestor (object, GST_OBJECT (self->bin));
}

/* Whether @object belongs to a source bin of stream @id, current or already removed
 * (its messages can still be on the bus). */
gboolean
ferry_source_is_source_object (GstObject *object, const char *id)
{
  g_autoptr (GstObject) o = gst_object_ref (object);
  g_autofree char *prefix = g_strdup_printf ("%s-source-", id);

  while (o != NULL) {
    GstObject *parent;
    if (GST_IS_BIN (o) && g_str_has_prefix (GST_OBJECT_NAME (o), prefix))
      return TRUE;
    parent = gst_object_get_parent (o);
    gst_object_unref (g_steal_pointer (&o));
    o = parent;
  }
  return FALSE;
}

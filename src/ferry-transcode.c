/* ferry-transcode.c — see ferry-transcode.h. */
#include "ferry-transcode.h"
#include "ferry-errors.h"
#include "ferry-ingest.h"
#include "ferry-log.h"

#include <gst/video/video.h>

FERRY_DEBUG_CATEGORY_LAZY (ferry_transcode_debug, "ferry-transcode",
    "Ferry B-frame detection and video re-encoding");
#define GST_CAT_DEFAULT ferry_transcode_debug

enum
{
  STATE_PASS,                   /* viewers get the source's H.264 */
  STATE_WANTED,                 /* re-encoding from the next keyframe */
  STATE_ACTIVE,                 /* viewers get the re-encoded H.264 */
};

/* Shared by the probes (all on the ingest's streaming thread, the tee pushes both legs
 * from it); freed with the last of them. */
typedef struct
{
  gint refs;
  FerryTranscodePolicy policy;
  gint state;                   /* atomic */
  gboolean bframes;             /* B-frames seen */
  GstClockTime last_pts;
  GstClockTime last_key_pts;    /* the last source keyframe announced to the encoder */
} Switch;

static Switch *
switch_ref (Switch *s)
{
  g_atomic_int_inc (&s->refs);
  return s;
}

static void
switch_unref (gpointer data)
{
  Switch *s = data;
  if (g_atomic_int_dec_and_test (&s->refs))
    g_free (s);
}

static const char *const policy_names[] = { "auto", "always", "never" };

gboolean
ferry_transcode_policy_from_string (const char *s, FerryTranscodePolicy *out)
{
  for (guint i = 0; s && i < G_N_ELEMENTS (policy_names); i++) {
    if (g_ascii_strcasecmp (s, policy_names[i]) == 0) {
      *out = (FerryTranscodePolicy) i;
      return TRUE;
    }
  }
  return FALSE;
}

const char *
ferry_transcode_policy_to_string (FerryTranscodePolicy policy)
{
  g_return_val_if_fail (policy <= FERRY_TRANSCODE_NEVER, "auto");
  return policy_names[policy];
}

static void
post (GstPad *pad, GstStructure *s)
{
  GstElement *e = gst_pad_get_parent_element (pad);

  if (e == NULL) {
    gst_structure_free (s);
    return;
  }
  gst_element_post_message (e, gst_message_new_element (GST_OBJECT (e), s));
  gst_object_unref (e);
}

/* Streaming thread, the "h264" tee's sink pad: every buffer passes here before the tee
 * hands it to either leg, so both legs' probes see one decision per buffer. */
static GstPadProbeReturn
detect_cb (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  Switch *s = user_data;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  GstClockTime pts = GST_BUFFER_PTS (buf), dts = GST_BUFFER_DTS (buf);
  gboolean key = !GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_DELTA_UNIT);

  /* flvdemux gives PTS = DTS + the FLV composition time offset, which only reordered
   * frames need; an encoder that sends a constant offset without reordering is caught
   * by the second test only if its PTS ever goes back. */
  if (!s->bframes && GST_CLOCK_TIME_IS_VALID (pts)
      && ((GST_CLOCK_TIME_IS_VALID (dts) && pts != dts)
          || (GST_CLOCK_TIME_IS_VALID (s->last_pts) && pts < s->last_pts))) {
    s->bframes = TRUE;
    GST_INFO_OBJECT (pad, "B-frames: PTS %" GST_TIME_FORMAT " DTS %"
        GST_TIME_FORMAT, GST_TIME_ARGS (pts), GST_TIME_ARGS (dts));
    post (pad, gst_structure_new_empty ("ferry-bframes"));
    if (s->policy == FERRY_TRANSCODE_AUTO)
      g_atomic_int_compare_and_exchange (&s->state, STATE_PASS, STATE_WANTED);
  }
  if (GST_CLOCK_TIME_IS_VALID (pts))
    s->last_pts = pts;
  if (key && g_atomic_int_compare_and_exchange (&s->state, STATE_WANTED,
          STATE_ACTIVE)) {
    const char *reason = s->policy == FERRY_TRANSCODE_ALWAYS
        ? "transcode policy is always" : "the source has B-frames";
    GST_INFO_OBJECT (pad, "viewers get re-encoded video from %"
        GST_TIME_FORMAT ": %s", GST_TIME_ARGS (pts), reason);
    post (pad, gst_structure_new ("ferry-transcoding", "reason", G_TYPE_STRING,
            reason, NULL));
  }
  return GST_PAD_PROBE_OK;
}

/* Streaming thread: whether a leg that is not the one viewers get passes an event. Sticky
 * events (caps, segment) pass: the funnel keeps them for when it switches to that leg.
 * Other serialized ones (a gap, say) would make the funnel switch to it. */
static GstPadProbeReturn
idle_leg_event (GstPadProbeInfo *info)
{
  GstEvent *ev = GST_PAD_PROBE_INFO_EVENT (info);

  if (GST_EVENT_IS_STICKY (ev) || !GST_EVENT_IS_SERIALIZED (ev))
    return GST_PAD_PROBE_OK;
  return GST_PAD_PROBE_DROP;
}

/* Streaming thread: the passthrough leg stops where the re-encoded one starts. */
static GstPadProbeReturn
pass_cb (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  Switch *s = user_data;

  if (g_atomic_int_get (&s->state) != STATE_ACTIVE)
    return GST_PAD_PROBE_OK;
  if (info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM)
    return idle_leg_event (info);
  return GST_PAD_PROBE_DROP;
}

/* Streaming thread: the re-encoding leg sees buffers only once it is active, from a
 * keyframe on. Each source keyframe is announced to the encoder (through the decoder,
 * which passes serialized events on in order) so that the re-encoded GOP follows the
 * source's: viewers joining get a keyframe as soon as they would have without it. FLV
 * flags scene-cut I-frames as keyframes too: one that comes within KEY_MIN_GAP of the
 * last announced keyframe is not announced (a flash each second right after the IDR
 * doubled the keyframes viewers got, and the bitrate they cost). */
#define KEY_MIN_GAP (500 * GST_MSECOND)
static GstPadProbeReturn
encode_cb (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  Switch *s = user_data;
  GstBuffer *buf;
  GstClockTime rt = GST_CLOCK_TIME_NONE;
  GstEvent *seg;

  if (info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM)
    return g_atomic_int_get (&s->state) == STATE_ACTIVE ? GST_PAD_PROBE_OK
        : idle_leg_event (info);
  if (g_atomic_int_get (&s->state) != STATE_ACTIVE)
    return GST_PAD_PROBE_DROP;
  buf = GST_PAD_PROBE_INFO_BUFFER (info);
  if (GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_DELTA_UNIT))
    return GST_PAD_PROBE_OK;
  if (GST_BUFFER_PTS_IS_VALID (buf) && GST_CLOCK_TIME_IS_VALID (s->last_key_pts)
      && GST_BUFFER_PTS (buf) >= s->last_key_pts
      && GST_BUFFER_PTS (buf) - s->last_key_pts < KEY_MIN_GAP)
    return GST_PAD_PROBE_OK;
  s->last_key_pts = GST_BUFFER_PTS (buf);
  seg = gst_pad_get_sticky_event (pad, GST_EVENT_SEGMENT, 0);
  if (seg) {
    const GstSegment *segment;
    gst_event_parse_segment (seg, &segment);
    rt = gst_segment_to_running_time (segment, GST_FORMAT_TIME,
        GST_BUFFER_PTS (buf));
    gst_event_unref (seg);
  }
  gst_pad_push_event (pad, gst_video_event_new_downstream_force_key_unit
      (GST_BUFFER_PTS (buf), GST_CLOCK_TIME_NONE, rt, TRUE, 0));
  return GST_PAD_PROBE_OK;
}

static gboolean
link_tee (GstElement *tee, GstElement *sink, const char *sink_pad,
    GstPadProbeCallback cb, Switch *s, GError **error)
{
  g_autoptr (GstPad) src = gst_element_request_pad_simple (tee, "src_%u");
  g_autoptr (GstPad) dst = sink_pad ?
      gst_element_request_pad_simple (sink, sink_pad) :
      gst_element_get_static_pad (sink, "sink");

  if (src == NULL || dst == NULL || gst_pad_link (src, dst) != GST_PAD_LINK_OK) {
    g_set_error (error, FERRY_ERROR, FERRY_ERROR_INTERNAL,
        "could not link %s to %s", GST_ELEMENT_NAME (tee),
        GST_ELEMENT_NAME (sink));
    return FALSE;
  }
  gst_pad_add_probe (src, GST_PAD_PROBE_TYPE_BUFFER
      | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, cb, switch_ref (s), switch_unref);
  return TRUE;
}

GstElement *
ferry_transcode_build (GstBin *bin, const char *id, GstElement *h264_tee,
    const FerryTranscodeOptions *opts, GError **error)
{
  static const char *factories[] = { "queue", "avdec_h264", "videoconvert",
    "x264enc", "h264parse", "capsfilter"
  };
  GstElement *e[G_N_ELEMENTS (factories)] = { NULL };
  g_autofree char *fname = g_strdup_printf ("%s-video-funnel", id);
  g_autoptr (GstCaps) caps = NULL;
  GstElement *funnel;
  Switch *s;
  GstPad *pad;

  init_debug ();
  for (guint i = 0; i < G_N_ELEMENTS (factories); i++) {
    g_autofree char *name = g_strdup_printf ("%s-transcode-%s", id,
        factories[i]);
    e[i] = ferry_make (factories[i], name, error);
    if (e[i] == NULL) {
      for (guint j = 0; j < i; j++)
        gst_object_unref (gst_object_ref_sink (e[j]));
      return NULL;
    }
  }
  funnel = ferry_make ("funnel", fname, error);
  if (funnel == NULL) {
    for (guint j = 0; j < G_N_ELEMENTS (e); j++)
      gst_object_unref (gst_object_ref_sink (e[j]));
    return NULL;
  }
  /* Leaky by frames: an encoder that cannot keep up drops input (the picture breaks up
   * until the next keyframe) rather than stalling the ingest thread, which also carries
   * the audio and the recording. */
  g_object_set (e[0], "leaky", 2, "max-size-buffers", 120, "max-size-time",
      (guint64) 0, "max-size-bytes", 0, NULL);
  /* zerolatency: no B-frames, no lookahead, no frame threading delay. In "qual" mode
   * x264enc's bitrate is the VBV cap. key-int-max is a safety net: keyframes follow the
   * source's (encode_cb). */
  gst_util_set_object_arg (G_OBJECT (e[3]), "tune", "zerolatency");
  gst_util_set_object_arg (G_OBJECT (e[3]), "speed-preset", opts->preset);
  gst_util_set_object_arg (G_OBJECT (e[3]), "pass", "qual");
  g_object_set (e[3], "bframes", 0, "quantizer", opts->quality, "bitrate",
      opts->max_bitrate_kbps, "key-int-max", 300, NULL);
  g_object_set (e[4], "config-interval", -1, NULL);
  caps = gst_caps_from_string ("video/x-h264,stream-format=byte-stream,"
      "alignment=au");
  g_object_set (e[5], "caps", caps, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (e); i++)
    gst_bin_add (bin, e[i]);
  gst_bin_add (bin, funnel);
  for (guint i = 0; i + 1 < G_N_ELEMENTS (e); i++) {
    if (!gst_element_link (e[i], e[i + 1])) {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_INTERNAL,
          "could not link %s to %s", GST_ELEMENT_NAME (e[i]),
          GST_ELEMENT_NAME (e[i + 1]));
      return NULL;
    }
  }

  s = g_new0 (Switch, 1);
  s->refs = 1;
  s->policy = opts->policy;
  s->last_pts = GST_CLOCK_TIME_NONE;
  s->last_key_pts = GST_CLOCK_TIME_NONE;
  s->state = opts->policy == FERRY_TRANSCODE_ALWAYS ? STATE_WANTED : STATE_PASS;
  /* The passthrough leg is linked first: the tee pushes to it first, so a switch never
   * hands a frame to both legs or to neither. */
  if (!link_tee (h264_tee, funnel, "sink_%u", pass_cb, s, error)
      || !link_tee (h264_tee, e[0], NULL, encode_cb, s, error)) {
    switch_unref (s);
    return NULL;
  }
  if (!gst_element_link_pads (e[G_N_ELEMENTS (e) - 1], "src", funnel,
          "sink_%u")) {
    switch_unref (s);
    g_set_error (error, FERRY_ERROR, FERRY_ERROR_INTERNAL,
        "could not link the re-encoded video to the funnel");
    return NULL;
  }
  pad = gst_element_get_static_pad (h264_tee, "sink");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, detect_cb, s,
      switch_unref);
  gst_object_unref (pad);
  /* The funnel forwards the sticky events of the leg it switches to, STREAM_START
   * included; downstream sees one stream. */
  pad = gst_element_get_static_pad (funnel, "src");
  ferry_pad_keep_one_stream_start (pad);
  gst_object_unref (pad);
  return funnel;
}

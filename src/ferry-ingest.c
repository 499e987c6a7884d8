/* ferry-ingest.c — see ferry-ingest.h. */
#include "ferry-ingest.h"
#include "ferry-log.h"
#include "ferry-errors.h"
#include "ferry-json.h"

#include <string.h>

FERRY_DEBUG_CATEGORY_LAZY (ferry_ingest_debug, "ferry-ingest", "Ferry RTMP ingest");
#define GST_CAT_DEFAULT ferry_ingest_debug

/**
 * ferry_make:
 * Returns: (transfer floating) (nullable): a new element, or NULL with @error set when
 * the plugin that provides @factory is missing.
 */
GstElement *
ferry_make (const char *factory, const char *name, GError **error)
{
  GstElement *e = gst_element_factory_make (factory, name);
  if (e == NULL)
    g_set_error (error, FERRY_ERROR, FERRY_ERROR_MISSING_PLUGIN,
        "GStreamer element '%s' is missing", factory);
  return e;
}

/* Whether rtmp2src of this GStreamer build knows the "rtmps" scheme. */
static gboolean
rtmps_supported (void)
{
  GEnumClass *klass;
  gboolean ok = FALSE;
  GType t = g_type_from_name ("GstRtmpScheme");

  if (t == 0) {
    /* The enum type is registered with the element class. */
    GstElement *e = gst_element_factory_make ("rtmp2src", NULL);
    if (e != NULL)
      gst_object_unref (e);
    t = g_type_from_name ("GstRtmpScheme");
  }
  if (t == 0)
    return FALSE;
  klass = g_type_class_ref (t);
  ok = g_enum_get_value_by_nick (klass, "rtmps") != NULL;
  g_type_class_unref (klass);
  return ok;
}

/**
 * ferry_ingest_uri_is_supported:
 * Accepts rtmp://host[:port]/app/stream (and rtmps:// where rtmp2src supports TLS).
 */
gboolean
ferry_ingest_uri_is_supported (const char *uri, GError **error)
{
  g_autoptr (GUri) parsed = NULL;
  const char *scheme, *path;

  if (ferry_json_has_control_chars (uri)) {
    g_set_error (error, FERRY_ERROR, FERRY_ERROR_INVALID_PARAMETER,
        "uri must not contain control characters");
    return FALSE;
  }
  parsed = g_uri_parse (uri, G_URI_FLAGS_NONE, NULL);
  if (parsed == NULL) {
    g_set_error (error, FERRY_ERROR, FERRY_ERROR_INVALID_PARAMETER,
        "uri is not a valid URI");
    return FALSE;
  }
  scheme = g_uri_get_scheme (parsed);
  if (g_ascii_strcasecmp (scheme, "rtmp") != 0
      && !(g_ascii_strcasecmp (scheme, "rtmps") == 0 && rtmps_supported ())) {
    g_set_error (error, FERRY_ERROR, FERRY_ERROR_UNSUPPORTED_SCHEME,
        "uri scheme '%s' is not supported: use rtmp://%s", scheme,
        rtmps_supported ()? " or rtmps://" : "");
    return FALSE;
  }
  path = g_uri_get_path (parsed);
  if (g_uri_get_host (parsed) == NULL || *g_uri_get_host (parsed) == '\0'
      || path == NULL || strchr (path + (path[0] == '/'), '/') == NULL) {
    g_set_error (error, FERRY_ERROR, FERRY_ERROR_INVALID_PARAMETER,
        "uri must look like rtmp://host[:port]/application/stream");
    return FALSE;
  }
  return TRUE;
}

/* Streaming thread: the first buffer on a tee means media flows on that track. */
static GstPadProbeReturn
first_buffer_cb (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  const char *kind = user_data;
  GstElement *tee = gst_pad_get_parent_element (pad);

  if (tee != NULL) {
    gst_element_post_message (tee, gst_message_new_element (GST_OBJECT (tee),
            gst_structure_new ("ferry-media-flowing", "kind", G_TYPE_STRING,
                kind, NULL)));
    gst_object_unref (tee);
  }
  return GST_PAD_PROBE_REMOVE;
}

/* Builds elements[0..n) in @bin, linked in order. Returns the first and last. */
static gboolean
add_chain (GstBin *bin, GstElement **elements, guint n, GError **error)
{
  for (guint i = 0; i < n; i++)
    gst_bin_add (bin, elements[i]);
  for (guint i = 0; i + 1 < n; i++) {
    if (!gst_element_link (elements[i], elements[i + 1])) {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_INTERNAL,
          "could not link %s to %s", GST_ELEMENT_NAME (elements[i]),
          GST_ELEMENT_NAME (elements[i + 1]));
      return FALSE;
    }
  }
  return TRUE;
}

static GstElement *
make_queue (const char *name, GError **error)
{
  GstElement *q = ferry_make ("queue", name, error);
  /* Bounded by bytes, not time: neither RTMP source is live and the first video keyframe
   * may come seconds after the first audio (pitfalls.md, preroll deadlock). */
  if (q)
    g_object_set (q, "max-size-time", (guint64) 0, "max-size-buffers", 0,
        "max-size-bytes", 8 * 1024 * 1024, NULL);
  return q;
}

/* The tee after @upstream, its keep-alive branch and the first-buffer probe that says
 * @flowing ("video", "audio") flows, if not NULL. */
static gboolean
add_tee (GstBin *bin, const char *id, const char *kind, GstElement *upstream,
    const char *flowing, GError **error)
{
  g_autofree char *tname = g_strdup_printf ("%s-%s-tee", id, kind);
  g_autofree char *qname = g_strdup_printf ("%s-%s-keepalive-queue", id, kind);
  g_autofree char *sname = g_strdup_printf ("%s-%s-keepalive-sink", id, kind);
  GstElement *tee, *q, *sink;
  GstPad *pad;

  tee = ferry_make ("tee", tname, error);
  q = tee ? ferry_make ("queue", qname, error) : NULL;
  sink = q ? ferry_make ("fakesink", sname, error) : NULL;
  if (sink == NULL) {
    g_clear_object (&tee);
    g_clear_object (&q);
    return FALSE;
  }
  g_object_set (tee, "allow-not-linked", TRUE, NULL);
  g_object_set (q, "leaky", 2, "max-size-buffers", 16, "max-size-time",
      (guint64) 0, "max-size-bytes", 0, NULL);
  /* async=false: a branch that never prerolls must not hold the pipeline back. */
  g_object_set (sink, "sync", FALSE, "async", FALSE, NULL);
  gst_bin_add_many (bin, tee, q, sink, NULL);
  if (!gst_element_link_many (upstream, tee, q, sink, NULL)) {
    g_set_error (error, FERRY_ERROR, FERRY_ERROR_INTERNAL,
        "could not link the %s tee", kind);
    return FALSE;
  }
  if (flowing) {
    pad = gst_element_get_static_pad (tee, "sink");
    gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, first_buffer_cb,
        (gpointer) flowing, NULL);
    gst_object_unref (pad);
  }
  return TRUE;
}

/* Streaming thread: the profile-level-id (profile_idc, constraint flags, level_idc: the
 * three bytes after an SPS NAL header) of what viewers get, read from each keyframe and
 * posted when it changes, so that answers can name the stream's real one (a reconnect or
 * the re-encoder may change it). @data: the last value posted, owned by the probe. */
static GstPadProbeReturn
sps_probe_cb (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  guint32 *last = data;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  GstMapInfo map;
  guint32 plid = 0;

  if (buf == NULL || GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_DELTA_UNIT)
      || !gst_buffer_map (buf, &map, GST_MAP_READ))
    return GST_PAD_PROBE_OK;
  /* Byte-stream: 00 00 01 start codes; the SPS (type 7) comes first in a keyframe AU.
   * Its first three bytes cannot hold an emulation-prevention byte (profile_idc and
   * level_idc are never zero). */
  for (gsize i = 0; i + 6 < map.size; i++) {
    if (map.data[i] == 0 && map.data[i + 1] == 0 && map.data[i + 2] == 1) {
      if ((map.data[i + 3] & 0x1f) == 7) {
        plid = ((guint32) map.data[i + 4] << 16) | ((guint32) map.data[i + 5] << 8)
            | map.data[i + 6];
        break;
      }
      i += 2;
    }
  }
  gst_buffer_unmap (buf, &map);
  if (plid != 0 && plid != *last) {
    GstElement *tee = gst_pad_get_parent_element (pad);

    *last = plid;
    if (tee != NULL) {
      gst_element_post_message (tee, gst_message_new_element (GST_OBJECT (tee),
              gst_structure_new ("ferry-h264-sps", "profile-level-id",
                  G_TYPE_UINT, plid, NULL)));
      gst_object_unref (tee);
    }
  }
  return GST_PAD_PROBE_OK;
}

/*   queue → h264parse → capsfilter → tee "h264" (original H.264: recordings)
 *   ─▶ passthrough or re-encoded (ferry-transcode.h) → funnel → tee "video" (viewers) */
static GstElement *
build_video (GstBin *bin, const char *id, const FerryTranscodeOptions *tc,
    GError **error)
{
  g_autofree char *n1 = g_strdup_printf ("%s-video-queue", id);
  g_autofree char *n2 = g_strdup_printf ("%s-h264parse", id);
  g_autofree char *n3 = g_strdup_printf ("%s-video-caps", id);
  GstElement *e[3] = { make_queue (n1, error), NULL, NULL };
  g_autoptr (GstCaps) caps = NULL;

  if (e[0] == NULL || !(e[1] = ferry_make ("h264parse", n2, error))
      || !(e[2] = ferry_make ("capsfilter", n3, error)))
    goto fail;
  /* SPS/PPS before every IDR: encoders put them only in the FLV sequence header, and a
   * browser that joins later decodes nothing without them (pitfalls.md). */
  g_object_set (e[1], "config-interval", -1, NULL);
  caps = gst_caps_from_string ("video/x-h264,stream-format=byte-stream,"
      "alignment=au");
  g_object_set (e[2], "caps", caps, NULL);
  if (!add_chain (bin, e, 3, error))
    return NULL;
  if (!add_tee (bin, id, "h264", e[2], NULL, error))
    return NULL;
  {
    g_autofree char *tname = g_strdup_printf ("%s-h264-tee", id);
    g_autoptr (GstElement) h264_tee = gst_bin_get_by_name (bin, tname);
    GstElement *funnel = ferry_transcode_build (bin, id, h264_tee, tc, error);
    g_autofree char *vname = g_strdup_printf ("%s-video-tee", id);
    g_autoptr (GstElement) video_tee = NULL;
    g_autoptr (GstPad) pad = NULL;

    if (funnel == NULL || !add_tee (bin, id, "video", funnel, "video", error))
      return NULL;
    video_tee = gst_bin_get_by_name (bin, vname);
    pad = gst_element_get_static_pad (video_tee, "sink");
    gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, sps_probe_cb,
        g_new0 (guint32, 1), g_free);
  }
  return e[0];

fail:
  for (guint i = 0; i < 3; i++)
    if (e[i])
      gst_object_unref (gst_object_ref_sink (e[i]));
  return NULL;
}

/*   queue → aacparse → tee "aac" (original AAC: recordings) ─▶ queue → avdec_aac ─┐
 *   queue "audio-raw" (decoded in the source bin: MP3, Speex, PCM, …) ───────────────┴→ funnel
 *   → audioconvert → audioresample → capsfilter(48 kHz stereo) → opusenc → tee "audio"
 * Returns the first element; @raw_in: (out) (transfer none) the "audio-raw" queue. */
static GstElement *
build_audio (GstBin *bin, const char *id, guint bitrate, GstElement **raw_in,
    GError **error)
{
  static const char *factories[] = { "queue", "aacparse", "queue", "avdec_aac",
    "funnel", "audioconvert", "audioresample", "capsfilter", "opusenc", "queue"
  };
  enum
  { AAC_QUEUE, AACPARSE, DEC_QUEUE, AVDEC, FUNNEL, CONVERT, RESAMPLE, CAPS, OPUSENC,
    RAW_QUEUE, N
  };
  GstElement *e[N] = { NULL };
  g_autoptr (GstCaps) caps = NULL;
  GstPad *pad;

  G_STATIC_ASSERT (G_N_ELEMENTS (factories) == N);
  for (guint i = 0; i < N; i++) {
    g_autofree char *name = i == RAW_QUEUE ?
        g_strdup_printf ("%s-audio-raw-queue", id) :
        g_strdup_printf ("%s-audio-%s%u", id, factories[i], i);
    e[i] = g_str_equal (factories[i], "queue") ? make_queue (name, error)
        : ferry_make (factories[i], name, error);
    if (e[i] == NULL) {
      for (guint j = 0; j < i; j++)
        gst_object_unref (gst_object_ref_sink (e[j]));
      return NULL;
    }
  }
  caps = gst_caps_from_string ("audio/x-raw,rate=48000,channels=2");
  g_object_set (e[CAPS], "caps", caps, NULL);
  /* perfect-timestamp: without it Chromium conceals a third of 48 kHz sources'
   * audio (pitfalls.md). */
  g_object_set (e[OPUSENC], "bitrate", bitrate, "frame-size", 20,
      "perfect-timestamp", TRUE, NULL);
  if (!add_chain (bin, e, 2, error)
      || !add_tee (bin, id, "aac", e[AACPARSE], "aac", error))
    return NULL;
  if (!add_chain (bin, e + DEC_QUEUE, OPUSENC - DEC_QUEUE + 1, error))
    return NULL;
  gst_bin_add (bin, e[RAW_QUEUE]);
  if (!gst_element_link (e[RAW_QUEUE], e[FUNNEL])) {
    g_set_error (error, FERRY_ERROR, FERRY_ERROR_INTERNAL,
        "could not link the decoded-audio input");
    return NULL;
  }
  {
    g_autofree char *tname = g_strdup_printf ("%s-aac-tee", id);
    GstElement *aac_tee = gst_bin_get_by_name (bin, tname);
    gboolean ok = gst_element_link (aac_tee, e[DEC_QUEUE]);
    gst_object_unref (aac_tee);
    if (!ok) {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_INTERNAL,
          "could not link the AAC→Opus leg");
      return NULL;
    }
  }
  /* A reconnect to a source of the other kind makes the funnel switch inputs and send
   * that input's sticky events, STREAM_START included: the encoder and payloaders must
   * see one stream. */
  pad = gst_element_get_static_pad (e[FUNNEL], "src");
  ferry_pad_keep_one_stream_start (pad);
  gst_object_unref (pad);
  if (!add_tee (bin, id, "audio", e[OPUSENC], "audio", error))
    return NULL;
  *raw_in = e[RAW_QUEUE];
  return e[AAC_QUEUE];
}

/* Streaming threads: drops every STREAM_START after the first. */
static GstPadProbeReturn
one_stream_start_cb (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  gint *seen = user_data;
  GstEvent *ev = GST_PAD_PROBE_INFO_EVENT (info);

  if (GST_EVENT_TYPE (ev) != GST_EVENT_STREAM_START)
    return GST_PAD_PROBE_OK;
  return g_atomic_int_add (seen, 1) == 0 ? GST_PAD_PROBE_OK
      : GST_PAD_PROBE_DROP;
}

/* For a funnel's source pad: downstream sees the first STREAM_START only. */
void
ferry_pad_keep_one_stream_start (GstPad *pad)
{
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM,
      one_stream_start_cb, g_new0 (gint, 1), g_free);
}

/**
 * ferry_ingest_build:
 * @pipeline: the stream's pipeline, empty
 * @out: (out caller-allocates): the tees, owned by @pipeline
 */
gboolean
ferry_ingest_build (GstBin *pipeline, const char *id,
    const FerryIngestOptions *opts, FerryIngest *out, GError **error)
{
  init_debug ();
  memset (out, 0, sizeof *out);

  if (opts->want_video) {
    out->video_in = build_video (pipeline, id, &opts->transcode, error);
    if (out->video_in == NULL)
      return FALSE;
  }
  if (opts->want_audio) {
    out->audio_in = build_audio (pipeline, id, opts->opus_bitrate,
        &out->audio_raw_in, error);
    if (out->audio_in == NULL)
      return FALSE;
  }
  {
    g_autofree char *vt = g_strdup_printf ("%s-video-tee", id);
    g_autofree char *ht = g_strdup_printf ("%s-h264-tee", id);
    g_autofree char *at = g_strdup_printf ("%s-audio-tee", id);
    g_autofree char *aact = g_strdup_printf ("%s-aac-tee", id);
    GstElement *t;
    /* The pipeline holds the tees; hand out borrowed pointers. */
    if (opts->want_video && (t = gst_bin_get_by_name (pipeline, vt))) {
      out->video_tee = t;
      gst_object_unref (t);
    }
    if (opts->want_video && (t = gst_bin_get_by_name (pipeline, ht))) {
      out->h264_tee = t;
      gst_object_unref (t);
    }
    if (opts->want_audio && (t = gst_bin_get_by_name (pipeline, at))) {
      out->audio_tee = t;
      gst_object_unref (t);
    }
    if (opts->want_audio && (t = gst_bin_get_by_name (pipeline, aact))) {
      out->aac_tee = t;
      gst_object_unref (t);
    }
  }
  return TRUE;
}

/* ferry-recorder.c — see ferry-recorder.h. Main context unless noted. */
#include "ferry-recorder.h"
#include "ferry-branch.h"
#include "ferry-errors.h"
#include "ferry-ingest.h"
#include "ferry-invoke.h"

#include <errno.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <string.h>

GST_DEBUG_CATEGORY_STATIC (ferry_recorder_debug);
#define GST_CAT_DEFAULT ferry_recorder_debug

#define MAX_BASE_NAME 64

struct _FerryRecorder
{
  GObject parent;

  FerryApp *app;                /* borrowed */
  FerryRecorderDone done;
  gpointer done_data;

  /* Fixed at start; read by splitmuxsink's streaming thread (format-location). */
  char *dir;
  char *base;                   /* "<stream>_<start>[-N]" */
  char *orig_base;              /* "<stream>_<start>" */

  FerryRecorderState state;
  char *info;
  char *current_file;           /* basename of the segment being written */

  GstElement *pipeline;         /* owned ref while attached */
  GstElement *bin;              /* owned ref */
  GPtrArray *tee_pads;          /* GstPad*, owned */
  GSource *timeout;
};

G_DEFINE_TYPE (FerryRecorder, ferry_recorder, G_TYPE_OBJECT)

static void
ferry_recorder_dispose (GObject *object)
{
  FerryRecorder *self = FERRY_RECORDER (object);

  ferry_clear_source (&self->timeout);
  g_clear_object (&self->bin);
  g_clear_object (&self->pipeline);
  g_clear_pointer (&self->tee_pads, g_ptr_array_unref);
  G_OBJECT_CLASS (ferry_recorder_parent_class)->dispose (object);
}

static void
ferry_recorder_finalize (GObject *object)
{
  FerryRecorder *self = FERRY_RECORDER (object);

  g_free (self->dir);
  g_free (self->base);
  g_free (self->orig_base);
  g_free (self->info);
  g_free (self->current_file);
  G_OBJECT_CLASS (ferry_recorder_parent_class)->finalize (object);
}

static void
ferry_recorder_class_init (FerryRecorderClass *klass)
{
  GObjectClass *oclass = G_OBJECT_CLASS (klass);

  oclass->dispose = ferry_recorder_dispose;
  oclass->finalize = ferry_recorder_finalize;
  GST_DEBUG_CATEGORY_INIT (ferry_recorder_debug, "ferry-recorder", 0,
      "Ferry recorder");
}

static void
ferry_recorder_init (FerryRecorder *self)
{
  self->tee_pads = g_ptr_array_new_with_free_func (gst_object_unref);
}

/**
 * ferry_recorder_sanitize_name:
 * Returns: (transfer full): @name reduced to [A-Za-z0-9._-] (anything else, including
 * '/', NUL-free unicode and control bytes, becomes one '_'), no leading '.', at most 64
 * bytes, never empty. No stream name or uri can point a file outside the records dir.
 */
char *
ferry_recorder_sanitize_name (const char *name)
{
  GString *out = g_string_new (NULL);

  for (const char *p = name ? name : ""; *p && out->len < MAX_BASE_NAME; p++) {
    char c = *p;
    gboolean ok = g_ascii_isalnum (c) || c == '-' || c == '_' || c == '.';
    if (!ok)
      c = '_';
    if (c == '_' && out->len > 0 && out->str[out->len - 1] == '_')
      continue;
    g_string_append_c (out, c);
  }
  while (out->len > 0 && (out->str[out->len - 1] == '_'
          || out->str[out->len - 1] == '.'))
    g_string_truncate (out, out->len - 1);
  /* No leading '.' (hidden files, "..") or '_'. */
  while (out->len > 0 && (out->str[0] == '_' || out->str[0] == '.'))
    g_string_erase (out, 0, 1);
  if (out->len == 0)
    g_string_append (out, "stream");
  return g_string_free (out, FALSE);
}

/**
 * ferry_recorder_file_name:
 * Returns: (transfer full): "<sanitized stream>_<YYYYmmdd-HHMMSS>_<segment, 3 digits>.mp4",
 * the documented naming template (UTC start time).
 */
char *
ferry_recorder_file_name (const char *stream_name, GDateTime *start,
    guint segment)
{
  g_autofree char *clean = ferry_recorder_sanitize_name (stream_name);
  g_autofree char *stamp = g_date_time_format (start, "%Y%m%d-%H%M%S");
  return g_strdup_printf ("%s_%s_%03u.mp4", clean, stamp, segment);
}

/**
 * ferry_recorder_new:
 * Returns: (transfer full)
 */
FerryRecorder *
ferry_recorder_new (FerryApp *app, const char *stream_name,
    FerryRecorderDone done, gpointer user_data)
{
  FerryRecorder *self = g_object_new (FERRY_TYPE_RECORDER, NULL);
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *first = ferry_recorder_file_name (stream_name, now, 0);

  self->app = app;
  self->done = done;
  self->done_data = user_data;
  self->dir = g_strdup (ferry_app_get_config (app)->records_dir);
  /* The base is the first file name without "_000.mp4". */
  self->base = g_strndup (first, strlen (first) - strlen ("_000.mp4"));
  self->orig_base = g_strdup (self->base);
  return self;
}

/* splitmuxsink's streaming thread: the path of segment @id. Uses only fields fixed
 * before the branch started. */
static char *
format_location_cb (GstElement *splitmux, guint id, gpointer user_data)
{
  FerryRecorder *self = user_data;
  g_autofree char *name = g_strdup_printf ("%s_%03u.mp4", self->base, id);
  return g_build_filename (self->dir, name, NULL);
}

/* Finds a base name whose first segment does not exist yet (two recordings of one stream
 * in the same second). */
static void
pick_free_base (FerryRecorder *self)
{
  for (guint n = 1; n < 1000; n++) {
    g_autofree char *name = g_strdup_printf ("%s_000.mp4", self->base);
    g_autofree char *path = g_build_filename (self->dir, name, NULL);
    g_autofree char *base = NULL;
    if (!g_file_test (path, G_FILE_TEST_EXISTS))
      return;
    base = g_strdup_printf ("%s-%u", self->orig_base, n);
    g_free (self->base);
    self->base = g_steal_pointer (&base);
  }
}

static GstElement *
make_splitmux (FerryRecorder *self, GError **error)
{
  const FerryConfig *config = ferry_app_get_config (self->app);
  GstElement *splitmux, *mux, *sink;

  splitmux = ferry_make ("splitmuxsink", "splitmux", error);
  if (splitmux == NULL)
    return NULL;
  mux = ferry_make ("mp4mux", NULL, error);
  sink = mux ? ferry_make ("filesink", NULL, error) : NULL;
  if (sink == NULL) {
    g_clear_object (&mux);
    gst_object_unref (gst_object_ref_sink (splitmux));
    return NULL;
  }
  /* Fragmented MP4: a moof+mdat pair every fragment-duration ms, so a killed process
   * leaves a file playable up to its last complete fragment. */
  g_object_set (mux, "fragment-duration", config->record_fragment_ms, NULL);
  /* async=false: a sink added to a playing pipeline must not send it back to preroll.
   * Unbuffered: with filesink's default 64 KiB buffer, kill -9 cut the last complete
   * fragment short every time (it sat in the process's memory). */
  g_object_set (sink, "async", FALSE, "sync", FALSE, "buffer-mode", 2, NULL);
  g_object_set (splitmux, "muxer", mux, "sink", sink,
      "max-size-time", (guint64) config->record_segment_s * GST_SECOND,
      "max-size-bytes", (guint64) config->record_segment_mb * 1024 * 1024, NULL);
  g_signal_connect (splitmux, "format-location",
      G_CALLBACK (format_location_cb), self);
  return splitmux;
}

/* Shared by the recorder's two entry probes (streaming threads). Video starts at its
 * first keyframe; audio waits for it and drops what is older, so that both tracks start
 * together in the first segment (without it the audio of up to one GOP before the first
 * keyframe landed at time 0 too: measured 1.2 s of drift in a 2 s-GOP recording). */
typedef struct
{
  gint started;                 /* atomic: the first video keyframe went through */
  GstClockTime start_pts;       /* its PTS, written before @started is set */
} StartGate;

static GstPadProbeReturn
video_gate_cb (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  StartGate *gate = data;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);

  if (GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_DELTA_UNIT))
    return GST_PAD_PROBE_DROP;
  gate->start_pts = GST_BUFFER_PTS (buf);
  g_atomic_int_set (&gate->started, 1);
  return GST_PAD_PROBE_REMOVE;
}

static GstPadProbeReturn
audio_gate_cb (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  StartGate *gate = data;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);

  if (!g_atomic_int_get (&gate->started))
    return GST_PAD_PROBE_DROP;
  if (GST_CLOCK_TIME_IS_VALID (gate->start_pts)
      && GST_BUFFER_PTS_IS_VALID (buf) && GST_BUFFER_PTS (buf) < gate->start_pts)
    return GST_PAD_PROBE_DROP;
  return GST_PAD_PROBE_REMOVE;
}

static void
add_gate (GstElement *video_queue, GstElement *audio_queue)
{
  StartGate *gate = g_rc_box_new0 (StartGate);
  GstPad *vpad = gst_element_get_static_pad (video_queue, "sink");
  GstPad *apad = gst_element_get_static_pad (audio_queue, "sink");

  gate->start_pts = GST_CLOCK_TIME_NONE;
  gst_pad_add_probe (vpad, GST_PAD_PROBE_TYPE_BUFFER, video_gate_cb,
      g_rc_box_acquire (gate), (GDestroyNotify) g_rc_box_release);
  gst_pad_add_probe (apad, GST_PAD_PROBE_TYPE_BUFFER, audio_gate_cb,
      g_rc_box_acquire (gate), (GDestroyNotify) g_rc_box_release);
  g_rc_box_release (gate);
  gst_object_unref (vpad);
  gst_object_unref (apad);
}

/*   [bin recorder: video_sink → queue → h264parse ─▶ splitmuxsink.video
 *                  audio_sink → queue ───────────▶ splitmuxsink.audio_0 ]  */
static gboolean
build_bin (FerryRecorder *self, gboolean video, gboolean audio,
    GError **error)
{
  GstElement *splitmux = make_splitmux (self, error);
  GstElement *vq = NULL, *aq = NULL;

  if (splitmux == NULL)
    return FALSE;
  {
    /* Unique: a previous recording's bin may still be on its way out. */
    g_autofree char *name = g_strdup_printf ("recorder-%s", self->base);
    self->bin = gst_object_ref_sink (gst_bin_new (name));
  }
  /* Forward the children's EOS: it tells that the muxer finalised the file. */
  g_object_set (self->bin, "message-forward", TRUE, NULL);
  gst_bin_add (GST_BIN (self->bin), splitmux);

  if (video) {
    GstElement *q = ferry_make ("queue", "video-queue", error);
    GstElement *parse = q ? ferry_make ("h264parse", NULL, error) : NULL;
    if (parse == NULL)
      return FALSE;
    gst_bin_add_many (GST_BIN (self->bin), q, parse, NULL);
    if (!gst_element_link (q, parse)
        || !gst_element_link_pads (parse, "src", splitmux, "video")) {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_INTERNAL,
          "could not link the recorder's video");
      return FALSE;
    }
    ferry_branch_add_sink (self->bin, "video_sink", q);
    vq = q;
  }
  if (audio) {
    GstElement *q = ferry_make ("queue", "audio-queue", error);
    if (q == NULL)
      return FALSE;
    gst_bin_add (GST_BIN (self->bin), q);
    if (!gst_element_link_pads (q, "src", splitmux, "audio_%u")) {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_INTERNAL,
          "could not link the recorder's audio");
      return FALSE;
    }
    ferry_branch_add_sink (self->bin, "audio_sink", q);
    aq = q;
  }
  if (vq && aq)
    add_gate (vq, aq);
  else if (vq)
    ferry_branch_drop_until_keyframe (vq);
  return TRUE;
}

/**
 * ferry_recorder_start:
 * @video_tee: (nullable): the stream's H.264 tee
 * @aac_tee: (nullable): the stream's AAC tee
 *
 * Creates the records directory if needed and hangs the recorder on the tees. An error
 * here (unwritable directory, missing plugin) leaves nothing attached.
 */
gboolean
ferry_recorder_start (FerryRecorder *self, GstElement *pipeline,
    GstElement *video_tee, GstElement *aac_tee, GError **error)
{
  g_return_val_if_fail (self->bin == NULL, FALSE);

  if (video_tee == NULL && aac_tee == NULL) {
    g_set_error (error, FERRY_ERROR, FERRY_ERROR_INTERNAL,
        "the stream has no track to record");
    return FALSE;
  }
  if (g_mkdir_with_parents (self->dir, 0755) != 0
      || g_access (self->dir, W_OK) != 0) {
    int e = errno;
    g_set_error (error, FERRY_ERROR, FERRY_ERROR_STORAGE,
        "records directory %s is not writable: %s", self->dir, g_strerror (e));
    return FALSE;
  }
  pick_free_base (self);
  if (!build_bin (self, video_tee != NULL, aac_tee != NULL, error)) {
    g_clear_object (&self->bin);
    return FALSE;
  }

  self->pipeline = gst_object_ref (pipeline);
  gst_bin_add (GST_BIN (pipeline), self->bin);
  gst_element_sync_state_with_parent (self->bin);
  for (guint i = 0; i < 2; i++) {
    GstElement *tee = i == 0 ? video_tee : aac_tee;
    GstPad *pad;
    if (tee == NULL)
      continue;
    pad = ferry_branch_attach (pipeline, self->bin, tee,
        i == 0 ? "video_sink" : "audio_sink", error);
    if (pad == NULL) {
      ferry_branch_detach (ferry_app_get_context (self->app), pipeline,
          self->bin, self->tee_pads);
      return FALSE;
    }
    g_ptr_array_add (self->tee_pads, pad);
  }
  self->state = FERRY_RECORDER_RECORDING;
  GST_INFO ("recorder %s: recording into %s", self->base, self->dir);
  return TRUE;
}

/* Detaches the bin (it is finalised or broken) and reports. */
static void
finish (FerryRecorder *self, FerryRecorderState state, const char *info)
{
  g_autoptr (FerryRecorder) keep G_GNUC_UNUSED = g_object_ref (self);

  if (self->state == FERRY_RECORDER_STOPPED
      || self->state == FERRY_RECORDER_FAILED)
    return;
  ferry_clear_source (&self->timeout);
  self->state = state;
  g_free (self->info);
  self->info = g_strdup (info);
  GST_INFO ("recorder %s: %s%s%s", self->base,
      ferry_recorder_state_to_string (state), info ? ": " : "",
      info ? info : "");
  if (self->bin && self->pipeline)
    ferry_branch_detach (ferry_app_get_context (self->app), self->pipeline,
        self->bin, self->tee_pads);
  g_clear_object (&self->pipeline);
  if (self->done)
    self->done (self, self->done_data);
}

static gboolean
timeout_cb (gpointer user_data)
{
  FerryRecorder *self = user_data;

  g_clear_pointer (&self->timeout, g_source_unref);
  GST_WARNING ("recorder %s: the muxer did not finish within the timeout",
      self->base);
  /* Its streaming threads may be blocked inside splitmuxsink (seen: its sinks waiting for
   * preroll): without a flush, setting the bin or the pipeline to NULL waited for their
   * stream locks for ever. FLUSH_START unblocks them; nothing more is written. */
  if (self->bin) {
    GstIterator *it = gst_element_iterate_sink_pads (self->bin);
    GValue v = G_VALUE_INIT;
    while (gst_iterator_next (it, &v) == GST_ITERATOR_OK) {
      gst_pad_send_event (g_value_get_object (&v), gst_event_new_flush_start ());
      g_value_reset (&v);
    }
    g_value_unset (&v);
    gst_iterator_free (it);
  }
  finish (self, FERRY_RECORDER_STOPPED,
      "the file was not finalised in time; it is playable up to its last "
      "fragment");
  return G_SOURCE_REMOVE;
}

/* Streaming thread or inline: the tee pad is idle. Unlink it and end the recorder's
 * input with EOS, so that the muxer writes out what it holds (house-style E7). */
static GstPadProbeReturn
unlink_and_eos_cb (GstPad *tee_pad, GstPadProbeInfo *info, gpointer data)
{
  GstPad *peer = gst_pad_get_peer (tee_pad);

  if (peer != NULL) {
    gst_pad_unlink (tee_pad, peer);
    /* Tests stand in for a muxer that never finishes by withholding the EOS; the
     * finalise timeout must then end the recording anyway. */
    if (g_getenv ("FERRY_TEST_WITHHOLD_RECORDER_EOS") == NULL)
      gst_pad_send_event (peer, gst_event_new_eos ());
    gst_object_unref (peer);
  }
  return GST_PAD_PROBE_REMOVE;
}

/**
 * ferry_recorder_stop:
 * Finalises the current file and detaches: EOS into the branch, then (on the forwarded
 * EOS, or after the finalise timeout) removal. Returns at once; the done callback tells
 * when it is over. Idempotent.
 */
void
ferry_recorder_stop (FerryRecorder *self)
{
  const FerryConfig *config = ferry_app_get_config (self->app);

  if (self->state != FERRY_RECORDER_RECORDING)
    return;
  self->state = FERRY_RECORDER_STOPPING;
  GST_INFO ("recorder %s: stopping", self->base);
  self->timeout = g_timeout_source_new_seconds (config->record_finalize_s);
  g_source_set_callback (self->timeout, timeout_cb, self, NULL);
  g_source_attach (self->timeout, ferry_app_get_context (self->app));
  for (guint i = 0; i < self->tee_pads->len; i++)
    gst_pad_add_probe (g_ptr_array_index (self->tee_pads, i),
        GST_PAD_PROBE_TYPE_IDLE, unlink_and_eos_cb, NULL, NULL);
}

static gboolean
is_ours (FerryRecorder *self, GstObject *src)
{
  return self->bin && (src == GST_OBJECT (self->bin)
      || gst_object_has_as_ancestor (src, GST_OBJECT (self->bin)));
}

/**
 * ferry_recorder_handle_message:
 * Main context (the stream's bus watch). Returns: TRUE if @msg came from this recorder.
 */
gboolean
ferry_recorder_handle_message (FerryRecorder *self, GstMessage *msg)
{
  const GstStructure *s;

  if (!is_ours (self, GST_MESSAGE_SRC (msg)))
    return FALSE;

  switch (GST_MESSAGE_TYPE (msg)) {
    case GST_MESSAGE_ERROR:{
      g_autoptr (GError) error = NULL;
      g_autofree char *debug = NULL;
      gst_message_parse_error (msg, &error, &debug);
      GST_WARNING ("recorder %s: %s (%s)", self->base, error->message, debug);
      /* The stream keeps playing: ferry-branch.c's fuse keeps the error from the tee. */
      finish (self, FERRY_RECORDER_FAILED, error->message);
      break;
    }
    case GST_MESSAGE_ELEMENT:
      s = gst_message_get_structure (msg);
      if (gst_structure_has_name (s, "GstBinForwarded")) {
        GstMessage *inner = NULL;
        gst_structure_get (s, "message", GST_TYPE_MESSAGE, &inner, NULL);
        if (inner && GST_MESSAGE_TYPE (inner) == GST_MESSAGE_EOS
            && self->state == FERRY_RECORDER_STOPPING)
          finish (self, FERRY_RECORDER_STOPPED, NULL);
        gst_clear_message (&inner);
      } else if (gst_structure_has_name (s, "splitmuxsink-fragment-opened")) {
        const char *location = gst_structure_get_string (s, "location");
        g_free (self->current_file);
        self->current_file = location ? g_path_get_basename (location) : NULL;
        GST_INFO ("recorder %s: writing %s", self->base, self->current_file);
      }
      break;
    default:
      break;
  }
  return TRUE;
}

FerryRecorderState
ferry_recorder_get_state (FerryRecorder *self)
{
  return self->state;
}

const char *
ferry_recorder_state_to_string (FerryRecorderState state)
{
  switch (state) {
    case FERRY_RECORDER_RECORDING:
      return "RECORDING";
    case FERRY_RECORDER_STOPPING:
      return "STOPPING";
    case FERRY_RECORDER_STOPPED:
      return "STOPPED";
    case FERRY_RECORDER_FAILED:
      return "FAILED";
  }
  return "FAILED";
}

const char *
ferry_recorder_get_info (FerryRecorder *self)
{
  return self->info;
}

/* Returns: (nullable): the basename of the segment being (or last) written. */
const char *
ferry_recorder_get_current_file (FerryRecorder *self)
{
  return self->current_file;
}

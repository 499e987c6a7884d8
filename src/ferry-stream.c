/* ferry-stream.c — see ferry-stream.h. Main context only. */
#include "ferry-stream.h"
#include "ferry-errors.h"
#include "ferry-ingest.h"
#include "ferry-invoke.h"
#include "ferry-recorder.h"
#include "ferry-source.h"
#include "ferry-viewer.h"

GST_DEBUG_CATEGORY_STATIC (ferry_stream_debug);
#define GST_CAT_DEFAULT ferry_stream_debug

struct _FerryStream
{
  GObject parent;

  FerryApp *app;                /* borrowed: the app outlives its streams */
  char *id;                     /* localMediaSessionId */
  char *name;                   /* localStreamName */
  char *uri;
  gboolean has_audio, has_video, record;

  FerryStreamStatus status;
  char *info;                   /* why FAILED/STOPPED, in words */
  gboolean stopping;

  GstElement *pipeline;
  FerryIngest ingest;
  GSource *bus_source;
  GSource *connect_timeout;     /* the current attempt has no media yet */

  /* Reconnects (docs/reconnect.md): the chains, tees and branches stay; only the source
   * is replaced. */
  FerryTimeline *timeline;      /* owned: running time across sources */
  FerrySource *source;          /* owned: the current connection; NULL between attempts */
  guint session;                /* number of the next source */
  guint attempt;                /* failed connections in a row */
  guint reconnects;             /* outages recovered from */
  char *last_error;             /* why the source was last lost */
  char *outage_error;           /* why the playing source was lost (the outage began) */
  gboolean outage_clean;        /* … and whether the origin ended the stream cleanly */
  gint64 lost_us;               /* monotonic time the playing source was lost */
  gint64 retry_us;              /* monotonic time of the next attempt */
  GSource *retry_timer;
  GSource *grace_timer;         /* viewers are held until it fires */
  GSource *watchdog;            /* stall detection */

  FerryRecorder *recorder;      /* owned: the current or last recording, or NULL */
  char *record_info;            /* why recording could not start */
  gboolean finishing;           /* shutdown waits for the recorder to finalise */

  GList *viewers;               /* FerryViewer*, owned: attached to the tees */
  GList *waiting;               /* FerryViewer*, owned: waiting for PLAYING */
};

G_DEFINE_TYPE (FerryStream, ferry_stream, G_TYPE_OBJECT)

static void
ferry_stream_dispose (GObject *object)
{
  FerryStream *self = FERRY_STREAM (object);

  /* Normally already done by shutdown; this covers a stream dropped while active. */
  ferry_clear_source (&self->bus_source);
  ferry_clear_source (&self->connect_timeout);
  ferry_clear_source (&self->retry_timer);
  ferry_clear_source (&self->grace_timer);
  ferry_clear_source (&self->watchdog);
  if (self->pipeline)
    gst_element_set_state (self->pipeline, GST_STATE_NULL);
  g_clear_pointer (&self->source, ferry_source_free);
  g_clear_object (&self->pipeline);
  g_clear_pointer (&self->timeline, ferry_timeline_unref);
  g_list_free_full (g_steal_pointer (&self->viewers), g_object_unref);
  g_list_free_full (g_steal_pointer (&self->waiting), g_object_unref);
  g_clear_object (&self->recorder);
  G_OBJECT_CLASS (ferry_stream_parent_class)->dispose (object);
}

static void
ferry_stream_finalize (GObject *object)
{
  FerryStream *self = FERRY_STREAM (object);

  g_free (self->id);
  g_free (self->name);
  g_free (self->uri);
  g_free (self->info);
  g_free (self->record_info);
  g_free (self->last_error);
  g_free (self->outage_error);
  G_OBJECT_CLASS (ferry_stream_parent_class)->finalize (object);
}

static void
ferry_stream_class_init (FerryStreamClass *klass)
{
  GObjectClass *oclass = G_OBJECT_CLASS (klass);

  oclass->dispose = ferry_stream_dispose;
  oclass->finalize = ferry_stream_finalize;
  GST_DEBUG_CATEGORY_INIT (ferry_stream_debug, "ferry-stream", 0,
      "Ferry pulled stream");
}

static void
ferry_stream_init (FerryStream *self)
{
}

/**
 * ferry_stream_new:
 * Returns: (transfer full): a PENDING stream; nothing runs until ferry_stream_start().
 */
FerryStream *
ferry_stream_new (FerryApp *app, const char *uri, const char *name,
    gboolean has_audio, gboolean has_video, gboolean record)
{
  FerryStream *self = g_object_new (FERRY_TYPE_STREAM, NULL);

  self->app = app;
  self->id = g_uuid_string_random ();
  self->uri = g_strdup (uri);
  self->name = g_strdup (name);
  self->has_audio = has_audio;
  self->has_video = has_video;
  self->record = record;
  self->status = FERRY_STREAM_PENDING;
  return self;
}

const char *
ferry_stream_status_to_string (FerryStreamStatus status)
{
  switch (status) {
    case FERRY_STREAM_PENDING:
      return "PENDING";
    case FERRY_STREAM_RECONNECTING:
      /* WCS knows no such status; its clients read a pull that is not up as PENDING.
       * "reconnecting" and "info" in the pull object tell the rest. */
      return "PENDING";
    case FERRY_STREAM_PLAYING:
      return "PLAYING";
    case FERRY_STREAM_FAILED:
      return "FAILED";
    case FERRY_STREAM_STOPPED:
      return "STOPPED";
  }
  return "FAILED";
}

static void
set_status (FerryStream *self, FerryStreamStatus status, const char *info)
{
  GST_INFO ("stream %s (%s): %s → %s%s%s", self->name, self->id,
      ferry_stream_status_to_string (self->status),
      ferry_stream_status_to_string (status), info ? ": " : "",
      info ? info : "");
  self->status = status;
  g_free (self->info);
  self->info = g_strdup (info);
}

static void finish_shutdown (FerryStream *self);

/* Main context: the recorder is detached (finalised, timed out or failed). */
static void
recorder_done_cb (FerryRecorder *recorder, gpointer user_data)
{
  FerryStream *self = user_data;

  GST_INFO ("stream %s: recording %s", self->name,
      ferry_recorder_state_to_string (ferry_recorder_get_state (recorder)));
  if (ferry_recorder_get_state (recorder) == FERRY_RECORDER_FAILED)
    self->record = FALSE;
  if (self->finishing)
    finish_shutdown (self);
}

static gboolean
recording (FerryStream *self)
{
  FerryRecorderState st = self->recorder ?
      ferry_recorder_get_state (self->recorder) : FERRY_RECORDER_STOPPED;
  return st == FERRY_RECORDER_RECORDING || st == FERRY_RECORDER_STOPPING;
}

static gboolean
start_recording (FerryStream *self, GError **error)
{
  g_autoptr (GError) local = NULL;

  g_clear_object (&self->recorder);
  g_clear_pointer (&self->record_info, g_free);
  self->recorder = ferry_recorder_new (self->app, self->name, recorder_done_cb,
      self);
  if (!ferry_recorder_start (self->recorder, self->pipeline,
          self->ingest.video_tee, self->ingest.aac_tee, &local)) {
    GST_WARNING ("stream %s: cannot record: %s", self->name, local->message);
    self->record_info = g_strdup (local->message);
    self->record = FALSE;
    g_clear_object (&self->recorder);
    g_propagate_error (error, g_steal_pointer (&local));
    return FALSE;
  }
  return TRUE;
}

/**
 * ferry_stream_record_start:
 * Records from now (or from when media arrives, for a PENDING pull) until stopped.
 */
gboolean
ferry_stream_record_start (FerryStream *self, GError **error)
{
  if (!ferry_stream_is_active (self)) {
    g_set_error (error, FERRY_ERROR, FERRY_ERROR_CONFLICT,
        "the pull has ended");
    return FALSE;
  }
  if (self->record && (recording (self)
          || self->status == FERRY_STREAM_PENDING)) {
    g_set_error (error, FERRY_ERROR, FERRY_ERROR_CONFLICT,
        "the stream is already being recorded");
    return FALSE;
  }
  if (recording (self)) {
    /* Stopping: its file is still being finalised and its branch removed. */
    g_set_error (error, FERRY_ERROR, FERRY_ERROR_CONFLICT,
        "the previous recording is still being finalised; try again");
    return FALSE;
  }
  self->record = TRUE;
  if (self->status == FERRY_STREAM_PLAYING)
    return start_recording (self, error);
  return TRUE;
}

/**
 * ferry_stream_record_stop:
 * Finalises the current recording; returns at once.
 */
gboolean
ferry_stream_record_stop (FerryStream *self, GError **error)
{
  if (!self->record) {
    g_set_error (error, FERRY_ERROR, FERRY_ERROR_CONFLICT,
        "the stream is not being recorded");
    return FALSE;
  }
  self->record = FALSE;
  if (self->recorder)
    ferry_recorder_stop (self->recorder);
  return TRUE;
}

static gpointer
ref_copy (gconstpointer src, gpointer unused)
{
  return g_object_ref ((gpointer) src);
}

static void
close_viewers (GList **list, const char *status, const char *info)
{
  GList *copy = g_list_copy_deep (*list, ref_copy, NULL);
  for (GList *l = copy; l; l = l->next)
    ferry_viewer_close (l->data, status, info);
  g_list_free_full (copy, g_object_unref);
}

/* Main context: viewers held for the stream attach now that media flows. */
static void
attach_waiting (FerryStream *self)
{
  GList *waiting = g_steal_pointer (&self->waiting);

  for (GList *l = waiting; l; l = l->next) {
    FerryViewer *v = l->data;
    g_autoptr (GError) error = NULL;

    self->viewers = g_list_append (self->viewers, g_object_ref (v));
    if (!ferry_viewer_attach (v, self, &error)) {
      GST_WARNING ("stream %s: viewer %s: %s", self->name,
          ferry_viewer_get_id (v), error->message);
      ferry_viewer_close (v, "FAILED", "Failed to add stream to proxy");
    }
  }
  g_list_free_full (waiting, g_object_unref);
}

/* Main context: media reached a tee for the first time. */
static void
on_playing (FerryStream *self)
{
  if (self->status != FERRY_STREAM_PENDING)
    return;
  set_status (self, FERRY_STREAM_PLAYING, NULL);
  ferry_clear_source (&self->grace_timer);
  if (self->record)
    start_recording (self, NULL);
  attach_waiting (self);
}

/* Main context: the current source delivers media. After an outage the viewers, whose
 * branches stayed attached, resume with it. */
static void
on_source_media (FerryStream *self, guint session)
{
  if (self->source == NULL || ferry_source_get_session (self->source) != session)
    return;
  ferry_clear_source (&self->connect_timeout);
  self->attempt = 0;
  if (self->status != FERRY_STREAM_RECONNECTING)
    return;
  self->reconnects++;
  GST_INFO ("stream %s: the source is back after %" G_GINT64_FORMAT " ms",
      self->name, (g_get_monotonic_time () - self->lost_us) / 1000);
  set_status (self, FERRY_STREAM_PLAYING, NULL);
  ferry_clear_source (&self->grace_timer);
  attach_waiting (self);
}

/* Main context: the grace period of an outage ran out. Viewers are told how the source
 * went (what began the outage, not the failed attempts after it); the pull itself goes
 * on retrying. */
static gboolean
grace_cb (gpointer user_data)
{
  FerryStream *self = user_data;
  gboolean clean = self->outage_error ? self->outage_clean : FALSE;
  const char *status = clean ? "STOPPED" : "FAILED";
  const char *info = clean ? "Stopped by publisher stop"
      : self->outage_error ? self->outage_error : self->last_error;

  g_clear_pointer (&self->grace_timer, g_source_unref);
  GST_INFO ("stream %s: the grace period ran out; %u viewer(s) get %s", self->name,
      ferry_stream_get_n_viewers (self), status);
  close_viewers (&self->waiting, status, info);
  close_viewers (&self->viewers, status, info);
  return G_SOURCE_REMOVE;
}

/* Main context: viewers are waiting through an outage (or for a source that failed
 * already): bound the wait. */
static void
hold_viewers (FerryStream *self)
{
  guint grace = ferry_app_get_config (self->app)->grace_s;

  if (self->grace_timer != NULL || ferry_stream_get_n_viewers (self) == 0)
    return;
  self->grace_timer = g_timeout_source_new_seconds (grace);
  g_source_set_callback (self->grace_timer, grace_cb, self, NULL);
  g_source_attach (self->grace_timer, ferry_app_get_context (self->app));
}

/**
 * ferry_backoff_delay_ms:
 * @attempt: 1 for the first retry
 * @r: a random number in [0, 1)
 * Returns: the wait before @attempt: @initial_ms doubled per attempt up to @max_ms, with
 * "equal jitter" (the upper half is random), so that many pulls of one origin that went
 * down together do not all come back at the same instant.
 */
guint
ferry_backoff_delay_ms (guint initial_ms, guint max_ms, guint attempt, double r)
{
  guint64 d = initial_ms;

  for (guint i = 1; i < attempt && d < max_ms; i++)
    d *= 2;
  d = MIN (d, (guint64) MAX (max_ms, initial_ms));
  return (guint) (d / 2 + (guint64) (r * (double) (d - d / 2)));
}

static gboolean start_source (FerryStream *self, GError **error);
static void source_lost (FerryStream *self, const char *reason,
    gboolean clean);

static gboolean
retry_cb (gpointer user_data)
{
  FerryStream *self = user_data;
  g_autoptr (GError) error = NULL;

  g_clear_pointer (&self->retry_timer, g_source_unref);
  GST_INFO ("stream %s: reconnecting, attempt %u", self->name, self->attempt);
  if (!start_source (self, &error))
    source_lost (self, error->message, FALSE);
  return G_SOURCE_REMOVE;
}

/* Main context: the current source is gone (error, end of stream, stall, no media in
 * time). Drop it and try again after the backoff, or give up. */
static void
source_lost (FerryStream *self, const char *reason, gboolean clean)
{
  const FerryConfig *config = ferry_app_get_config (self->app);
  guint delay;
  g_autofree char *info = NULL;

  if (self->stopping)
    return;
  ferry_clear_source (&self->connect_timeout);
  g_clear_pointer (&self->source, ferry_source_free);
  g_free (self->last_error);
  self->last_error = g_strdup (reason);
  if (self->status == FERRY_STREAM_PLAYING) {
    g_free (self->outage_error);
    self->outage_error = g_strdup (reason);
    self->outage_clean = clean;
  }
  self->attempt++;
  GST_WARNING ("stream %s: source lost (%s), %u failed attempt(s) in a row",
      self->name, reason, self->attempt);

  if (!config->reconnect
      || (config->reconnect_attempts > 0
          && self->attempt > config->reconnect_attempts)) {
    if (config->reconnect)
      info = g_strdup_printf ("%s (gave up after %u attempts)", reason,
          config->reconnect_attempts);
    ferry_stream_shutdown (self, clean ? FERRY_STREAM_STOPPED :
        FERRY_STREAM_FAILED, info ? info : reason, clean ? "STOPPED" : "FAILED",
        clean ? "Stopped by publisher stop" : reason);
    return;
  }

  delay = ferry_backoff_delay_ms (config->reconnect_initial_ms,
      config->reconnect_max_ms, self->attempt, g_random_double ());
  if (self->status == FERRY_STREAM_PLAYING) {
    self->lost_us = g_get_monotonic_time ();
    self->status = FERRY_STREAM_RECONNECTING;
  }
  info = g_strdup_printf ("reconnecting (attempt %u in %u ms): %s",
      self->attempt, delay, reason);
  set_status (self, self->status, info);
  self->retry_us = g_get_monotonic_time () + (gint64) delay * 1000;
  self->retry_timer = g_timeout_source_new (delay);
  g_source_set_callback (self->retry_timer, retry_cb, self, NULL);
  g_source_attach (self->retry_timer, ferry_app_get_context (self->app));
  hold_viewers (self);
}

/* The source ended. After media it is an unpublish; before any media it is rtmp2src's
 * idle-timeout on a name nobody publishes (nginx-rtmp keeps such players waiting). */
static void
on_source_eos (FerryStream *self, guint session)
{
  g_autofree char *info = NULL;

  if (self->source == NULL || ferry_source_get_session (self->source) != session)
    return;
  if (ferry_source_has_media (self->source)) {
    source_lost (self, "the origin ended the stream (unpublished)", TRUE);
    return;
  }
  info = g_strdup_printf ("stream not found on origin: no media within %u s "
      "(is it published?)", ferry_app_get_config (self->app)->idle_timeout_s);
  source_lost (self, info, FALSE);
}

/* Main context, every second: a source that had media and went quiet is stalled (a
 * publisher paused with its connection open: nothing errors, nothing ends). */
static gboolean
watchdog_cb (gpointer user_data)
{
  FerryStream *self = user_data;
  guint limit = ferry_app_get_config (self->app)->stall_timeout_s;
  g_autofree char *info = NULL;

  if (self->source == NULL || !ferry_source_has_media (self->source)
      || ferry_source_get_idle_us (self->source) < (gint64) limit * G_USEC_PER_SEC)
    return G_SOURCE_CONTINUE;
  info = g_strdup_printf ("the source stalled: no media for %u s", limit);
  source_lost (self, info, FALSE);
  return G_SOURCE_CONTINUE;
}

static FerryViewer *
find_viewer_of (FerryStream *self, GstObject *src)
{
  for (GList *l = self->viewers; l; l = l->next) {
    GstElement *bin = ferry_viewer_get_bin (l->data);
    if (bin && (src == GST_OBJECT (bin)
            || gst_object_has_as_ancestor (src, GST_OBJECT (bin))))
      return l->data;
  }
  return NULL;
}

/* Whether @src lives in a branch ("viewer-<id>" or "recorder-<name>" bins), attached or
 * already being detached: an error there must never fail the whole stream. */
static gboolean
is_in_viewer_branch (GstObject *src)
{
  g_autoptr (GstObject) o = gst_object_ref (src);

  while (o != NULL) {
    GstObject *parent;
    if (GST_IS_BIN (o) && (g_str_has_prefix (GST_OBJECT_NAME (o), "viewer-")
            || g_str_has_prefix (GST_OBJECT_NAME (o), "recorder-")))
      return TRUE;
    parent = gst_object_get_parent (o);
    gst_object_unref (g_steal_pointer (&o));
    o = parent;
  }
  return FALSE;
}

/* rtmp2src's messages are precise but technical; keep them, and say whether the origin
 * answered "no such stream" or could not be reached. */
static char *
describe_error (GError *error)
{
  if (error->domain == GST_RESOURCE_ERROR
      && error->code == GST_RESOURCE_ERROR_NOT_FOUND)
    return g_strdup_printf ("stream not found on origin: %s", error->message);
  return g_strdup_printf ("origin connection failed: %s", error->message);
}

static void
handle_element_message (FerryStream *self, GstMessage *msg)
{
  const GstStructure *s = gst_message_get_structure (msg);
  guint session = 0;

  if (s == NULL)
    return;
  gst_structure_get_uint (s, "session", &session);
  if (gst_structure_has_name (s, "ferry-media-flowing")) {
    GST_DEBUG ("stream %s: %s flowing", self->name,
        gst_structure_get_string (s, "kind"));
    on_playing (self);
  } else if (gst_structure_has_name (s, "ferry-source-media")) {
    on_source_media (self, session);
  } else if (gst_structure_has_name (s, "ferry-source-eos")) {
    on_source_eos (self, session);
  } else if (gst_structure_has_name (s, "ferry-unsupported-codec")) {
    const char *kind = gst_structure_get_string (s, "kind");
    g_autofree char *info = g_strdup_printf ("unsupported %s codec: %s",
        kind, gst_structure_get_string (s, "caps"));
    if (self->source && !ferry_source_contains (self->source,
            GST_MESSAGE_SRC (msg)))
      return;
    /* A missing track is not fatal as long as the other one plays; a wanted but
     * unplayable track is, because viewers would get a black or silent picture. Retrying
     * would not change the codec. */
    ferry_stream_shutdown (self, FERRY_STREAM_FAILED, info, "FAILED", info);
  }
}

static void
handle_error (FerryStream *self, GstMessage *msg)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *debug = NULL;
  g_autofree char *info = NULL;
  GstObject *src = GST_MESSAGE_SRC (msg);
  FerryViewer *viewer;

  gst_message_parse_error (msg, &error, &debug);
  viewer = find_viewer_of (self, src);
  if (viewer != NULL) {
    GST_WARNING ("stream %s: viewer %s failed: %s (%s)", self->name,
        ferry_viewer_get_id (viewer), error->message, debug);
    ferry_viewer_close (viewer, "FAILED", "Failed by error");
    return;
  }
  if (is_in_viewer_branch (src)) {
    GST_INFO ("stream %s: error from a closed viewer's branch: %s",
        self->name, error->message);
    return;
  }
  if (ferry_source_is_source_object (src, self->id)) {
    if (self->source == NULL || !ferry_source_contains (self->source, src)) {
      GST_DEBUG ("stream %s: error from a source already replaced: %s",
          self->name, error->message);
      return;
    }
    GST_WARNING ("stream %s: %s (%s)", self->name, error->message, debug);
    info = describe_error (error);
    source_lost (self, info, FALSE);
    return;
  }
  /* The chains themselves failed: nothing a reconnect would mend. */
  GST_WARNING ("stream %s: %s (%s)", self->name, error->message, debug);
  GST_DEBUG_BIN_TO_DOT_FILE_WITH_TS (GST_BIN (self->pipeline),
      GST_DEBUG_GRAPH_SHOW_ALL, "ferry-error");
  ferry_stream_shutdown (self, FERRY_STREAM_FAILED, error->message, "FAILED",
      error->message);
}

/* Main context (the watch is attached to the app's context). */
static gboolean
bus_cb (GstBus *bus, GstMessage *msg, gpointer user_data)
{
  FerryStream *self = user_data;

  if (self->recorder && (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR
          || GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ELEMENT
          || GST_MESSAGE_TYPE (msg) == GST_MESSAGE_WARNING)
      && ferry_recorder_handle_message (self->recorder, msg))
    return G_SOURCE_CONTINUE;

  switch (GST_MESSAGE_TYPE (msg)) {
    case GST_MESSAGE_ERROR:
      handle_error (self, msg);
      break;
    case GST_MESSAGE_WARNING:{
      g_autoptr (GError) error = NULL;
      g_autofree char *debug = NULL;
      gst_message_parse_warning (msg, &error, &debug);
      GST_WARNING ("stream %s: %s: %s (%s)", self->name,
          GST_MESSAGE_SRC_NAME (msg), error->message, debug);
      break;
    }
    case GST_MESSAGE_LATENCY:
      gst_bin_recalculate_latency (GST_BIN (self->pipeline));
      break;
    case GST_MESSAGE_ELEMENT:
      handle_element_message (self, msg);
      break;
    default:
      break;
  }
  return G_SOURCE_CONTINUE;
}

/* Main context: the current attempt brought no media in time. */
static gboolean
connect_timeout_cb (gpointer user_data)
{
  FerryStream *self = user_data;
  g_autofree char *info = g_strdup_printf ("no media from the source within "
      "%u s", ferry_app_get_config (self->app)->connect_timeout_s);

  g_clear_pointer (&self->connect_timeout, g_source_unref);
  source_lost (self, info, FALSE);
  return G_SOURCE_REMOVE;
}

static FerryIngestOptions
ingest_options (FerryStream *self)
{
  const FerryConfig *config = ferry_app_get_config (self->app);
  FerryIngestOptions opts = {
    .uri = self->uri,
    .want_audio = self->has_audio,
    .want_video = self->has_video,
    .rtmp_timeout_s = config->rtmp_timeout_s,
    .idle_timeout_s = config->idle_timeout_s,
    .opus_bitrate = config->opus_bitrate,
  };
  return opts;
}

/* Main context: a new connection to the origin, feeding the existing chains. */
static gboolean
start_source (FerryStream *self, GError **error)
{
  const FerryConfig *config = ferry_app_get_config (self->app);
  FerryIngestOptions opts = ingest_options (self);

  g_return_val_if_fail (self->source == NULL, FALSE);
  self->source = ferry_source_new (self->pipeline, self->id, self->session++,
      &opts, &self->ingest, self->timeline, error);
  if (self->source == NULL)
    return FALSE;
  self->connect_timeout = g_timeout_source_new_seconds
      (config->connect_timeout_s);
  g_source_set_callback (self->connect_timeout, connect_timeout_cb, self,
      NULL);
  g_source_attach (self->connect_timeout, ferry_app_get_context (self->app));
  if (!ferry_source_start (self->source)) {
    g_set_error (error, FERRY_ERROR, FERRY_ERROR_INTERNAL,
        "the RTMP source refused to start");
    return FALSE;
  }
  return TRUE;
}

/**
 * ferry_stream_start:
 * Builds the pipeline and starts connecting. Status stays PENDING until media reaches a
 * tee; a source that fails is retried with backoff (docs/reconnect.md).
 */
gboolean
ferry_stream_start (FerryStream *self, GError **error)
{
  g_autofree char *pname = g_strdup_printf ("ferry-%s", self->id);
  FerryIngestOptions opts = ingest_options (self);
  g_autoptr (GstBus) bus = NULL;

  g_return_val_if_fail (self->pipeline == NULL, FALSE);

  self->pipeline = gst_object_ref_sink (gst_pipeline_new (pname));
  self->timeline = ferry_timeline_new ();
  if (!ferry_ingest_build (GST_BIN (self->pipeline), self->id, &opts,
          &self->ingest, error))
    return FALSE;

  bus = gst_pipeline_get_bus (GST_PIPELINE (self->pipeline));
  self->bus_source = gst_bus_create_watch (bus);
  g_source_set_callback (self->bus_source, (GSourceFunc) G_CALLBACK (bus_cb),
      g_object_ref (self), g_object_unref);
  g_source_attach (self->bus_source, ferry_app_get_context (self->app));

  self->watchdog = g_timeout_source_new_seconds (1);
  g_source_set_callback (self->watchdog, watchdog_cb, self, NULL);
  g_source_attach (self->watchdog, ferry_app_get_context (self->app));

  /* The chains first: their sinks do not preroll, so the pipeline plays at once, and
   * the source joins it like every later one will. */
  if (gst_element_set_state (self->pipeline,
          GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    g_set_error (error, FERRY_ERROR, FERRY_ERROR_INTERNAL,
        "the pipeline refused to start");
    return FALSE;
  }
  if (!start_source (self, error))
    return FALSE;
  GST_INFO ("stream %s (%s): pulling %s", self->name, self->id, self->uri);
  return TRUE;
}

/**
 * ferry_stream_shutdown:
 * Ends the stream for good: every viewer gets @viewer_status/@viewer_info, the pipeline
 * goes to NULL (from the main context, so webrtcbins may stop their threads), and the
 * stream keeps only its final @status and @info for find_all. Idempotent.
 */
void
ferry_stream_shutdown (FerryStream *self, FerryStreamStatus status,
    const char *info, const char *viewer_status, const char *viewer_info)
{
  g_autoptr (FerryStream) keep = g_object_ref (self);

  if (self->stopping)
    return;
  self->stopping = TRUE;
  set_status (self, status, info);

  ferry_clear_source (&self->connect_timeout);
  ferry_clear_source (&self->retry_timer);
  ferry_clear_source (&self->grace_timer);
  ferry_clear_source (&self->watchdog);
  close_viewers (&self->waiting, viewer_status, viewer_info);
  close_viewers (&self->viewers, viewer_status, viewer_info);

  /* A recording is finalised with EOS before the pipeline stops (house-style E7); the
   * recorder's done callback (or its timeout) continues here. */
  if (recording (self)) {
    self->finishing = TRUE;
    ferry_recorder_stop (self->recorder);
    return;
  }
  finish_shutdown (self);
}

static void
finish_shutdown (FerryStream *self)
{
  self->finishing = FALSE;
  ferry_clear_source (&self->bus_source);
  if (self->pipeline)
    gst_element_set_state (self->pipeline, GST_STATE_NULL);
  g_clear_pointer (&self->source, ferry_source_free);
  g_clear_object (&self->pipeline);
  memset (&self->ingest, 0, sizeof self->ingest);
  self->ingest.video_tee = self->ingest.audio_tee = NULL;
  self->ingest.aac_tee = NULL;
  GST_INFO ("stream %s: pipeline stopped", self->name);
}

/* Whether the pipeline is gone (shutdown finished, recordings finalised). */
gboolean
ferry_stream_is_finished (FerryStream *self)
{
  return self->pipeline == NULL;
}

/**
 * ferry_stream_add_viewer:
 * @viewer: (transfer none)
 * Attaches @viewer now if the stream plays, holds it until it does if it is PENDING, and
 * fails it otherwise.
 */
void
ferry_stream_add_viewer (FerryStream *self, FerryViewer *viewer)
{
  g_autoptr (GError) error = NULL;

  ferry_viewer_set_stream (viewer, self);
  switch (self->status) {
    case FERRY_STREAM_PENDING:
    case FERRY_STREAM_RECONNECTING:
      GST_INFO ("stream %s: viewer %s waits for media", self->name,
          ferry_viewer_get_id (viewer));
      self->waiting = g_list_append (self->waiting, g_object_ref (viewer));
      /* A source that failed already may stay away: bound the wait. */
      if (self->attempt > 0)
        hold_viewers (self);
      break;
    case FERRY_STREAM_PLAYING:
      self->viewers = g_list_append (self->viewers, g_object_ref (viewer));
      if (!ferry_viewer_attach (viewer, self, &error)) {
        GST_WARNING ("stream %s: viewer %s: %s", self->name,
            ferry_viewer_get_id (viewer), error->message);
        ferry_viewer_close (viewer, "FAILED", "Failed to add stream to proxy");
      }
      break;
    default:
      ferry_viewer_close (viewer, "FAILED", "Stream not found");
      break;
  }
}

/* Called by a closing viewer: drop the stream's reference. */
void
ferry_stream_forget_viewer (FerryStream *self, FerryViewer *viewer)
{
  GList *l;

  if ((l = g_list_find (self->viewers, viewer))) {
    self->viewers = g_list_delete_link (self->viewers, l);
    g_object_unref (viewer);
  } else if ((l = g_list_find (self->waiting, viewer))) {
    self->waiting = g_list_delete_link (self->waiting, l);
    g_object_unref (viewer);
  }
}

guint
ferry_stream_get_n_viewers (FerryStream *self)
{
  return g_list_length (self->viewers) + g_list_length (self->waiting);
}

/**
 * ferry_stream_to_json:
 * Returns: (transfer full): the WCS pull object.
 */
JsonNode *
ferry_stream_to_json (FerryStream *self)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "localMediaSessionId");
  json_builder_add_string_value (b, self->id);
  json_builder_set_member_name (b, "localStreamName");
  json_builder_add_string_value (b, self->name);
  json_builder_set_member_name (b, "uri");
  json_builder_add_string_value (b, self->uri);
  json_builder_set_member_name (b, "status");
  json_builder_add_string_value (b,
      ferry_stream_status_to_string (self->status));
  if (self->info) {
    json_builder_set_member_name (b, "info");
    json_builder_add_string_value (b, self->info);
  }
  json_builder_set_member_name (b, "reconnecting");
  json_builder_add_boolean_value (b, self->retry_timer != NULL
      || (self->attempt > 0 && self->source != NULL));
  json_builder_set_member_name (b, "reconnectAttempt");
  json_builder_add_int_value (b, self->attempt);
  json_builder_set_member_name (b, "reconnects");
  json_builder_add_int_value (b, self->reconnects);
  json_builder_set_member_name (b, "lastError");
  if (self->last_error)
    json_builder_add_string_value (b, self->last_error);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "hasAudio");
  json_builder_add_boolean_value (b, self->has_audio);
  json_builder_set_member_name (b, "hasVideo");
  json_builder_add_boolean_value (b, self->has_video);
  json_builder_set_member_name (b, "record");
  json_builder_add_boolean_value (b, self->record);
  json_builder_set_member_name (b, "recordName");
  if (self->recorder && ferry_recorder_get_current_file (self->recorder))
    json_builder_add_string_value (b,
        ferry_recorder_get_current_file (self->recorder));
  else
    json_builder_add_null_value (b);
  if (self->recorder || self->record_info) {
    const char *info = self->recorder ? ferry_recorder_get_info (self->recorder)
        : self->record_info;
    json_builder_set_member_name (b, "recordStatus");
    json_builder_add_string_value (b, self->recorder ?
        ferry_recorder_state_to_string (ferry_recorder_get_state
            (self->recorder)) : "FAILED");
    if (info) {
      json_builder_set_member_name (b, "recordInfo");
      json_builder_add_string_value (b, info);
    }
  }
  json_builder_set_member_name (b, "viewers");
  json_builder_add_int_value (b, ferry_stream_get_n_viewers (self));
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

const char *
ferry_stream_get_id (FerryStream *self)
{
  return self->id;
}

const char *
ferry_stream_get_name (FerryStream *self)
{
  return self->name;
}

const char *
ferry_stream_get_uri (FerryStream *self)
{
  return self->uri;
}
/* PENDING or PLAYING: the uri and the name are taken. */
gboolean
ferry_stream_is_active (FerryStream *self)
{
  return self->status == FERRY_STREAM_PENDING
      || self->status == FERRY_STREAM_PLAYING
      || self->status == FERRY_STREAM_RECONNECTING;
}

gboolean
ferry_stream_is_stopping (FerryStream *self)
{
  return self->stopping;
}
/* Returns: (transfer none) (nullable) */
GstElement *
ferry_stream_get_pipeline (FerryStream *self)
{
  return self->pipeline;
}

/* Returns: (transfer none) (nullable): the "video" or "audio" tee. */
GstElement *
ferry_stream_get_tee (FerryStream *self, const char *kind)
{
  if (g_str_equal (kind, "video"))
    return self->ingest.video_tee;
  if (g_str_equal (kind, "aac"))
    return self->ingest.aac_tee;
  return self->ingest.audio_tee;
}

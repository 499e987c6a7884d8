/* ferry-stream.c — see ferry-stream.h: the stream's lifecycle, viewers, recording and
 * pull object. Its connection to the origin is in ferry-stream-source.c. Main context
 * only. */
#include "ferry-stream-private.h"
#include "ferry-debug.h"
#include "ferry-gop-cache.h"
#include "ferry-transit.h"
#include "ferry-errors.h"
#include "ferry-invoke.h"
#include "ferry-metrics.h"
#include "ferry-registry.h"

GST_DEBUG_CATEGORY (ferry_stream_debug);
#define GST_CAT_DEFAULT ferry_stream_debug


G_DEFINE_TYPE (FerryStream, ferry_stream, G_TYPE_OBJECT)

static void
ferry_stream_dispose (GObject *object)
{
  FerryStream *self = FERRY_STREAM (object);

  /* Normally already done by shutdown; this covers a stream dropped while active. */
  ferry_clear_source (&self->bus_source);
  ferry_clear_source (&self->connect_timeout);
  ferry_stream_cancel_resolve (self);
  ferry_outage_cancel (&self->outage);
  ferry_clear_source (&self->watchdog);
  ferry_clear_source (&self->linger_timer);
  ferry_clear_source (&self->track_wait);
  if (self->pipeline)
    gst_element_set_state (self->pipeline, GST_STATE_NULL);
  g_clear_pointer (&self->source, ferry_source_free);
  if (self->pipeline)
    ferry_debug_forget_pipeline (self->pipeline);
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
  g_free (self->resolve_host);
  g_free (self->info);
  g_free (self->transcode_info);
  g_free (self->record_info);
  ferry_outage_clear (&self->outage);
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
  gboolean valid;

  self->app = app;
  self->id = g_uuid_string_random ();
  self->uri = g_strdup (uri);
  self->name = g_strdup (name);
  self->has_audio = has_audio;
  self->has_video = has_video;
  self->record = record;
  self->status = FERRY_STREAM_PENDING;
  valid = ferry_transcode_policy_from_string (ferry_app_get_config
      (app)->transcode_policy, &self->transcode);
  g_warn_if_fail (valid);       /* checked when the config was loaded */
  ferry_outage_init (&self->outage, ferry_app_get_context (app));
  return self;
}

/* Before ferry_stream_start(): the pull's own policy instead of the server's. */
void
ferry_stream_set_transcode (FerryStream *self, FerryTranscodePolicy policy)
{
  g_return_if_fail (self->pipeline == NULL);
  self->transcode = policy;
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

void
ferry_stream_set_status (FerryStream *self, FerryStreamStatus status, const char *info)
{
  GST_INFO ("stream %s (%s): %s → %s%s%s", self->name, self->id,
      ferry_stream_status_to_string (self->status),
      ferry_stream_status_to_string (status), info ? ": " : "",
      info ? info : "");
  if (status == FERRY_STREAM_FAILED && self->status != FERRY_STREAM_FAILED)
    ferry_metrics_count (ferry_app_get_metrics (self->app),
        FERRY_METRIC_PULL_FAILURES);
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

gboolean
ferry_stream_start_recording (FerryStream *self, GError **error)
{
  g_autoptr (GError) local = NULL;

  g_clear_object (&self->recorder);
  g_clear_pointer (&self->record_info, g_free);
  self->recorder = ferry_recorder_new (self->app, self->name, recorder_done_cb,
      self);
  if (!ferry_recorder_start (self->recorder, self->pipeline,
          ferry_stream_get_tee (self, "h264"), ferry_stream_get_tee (self, "aac"),
          &local)) {
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
    return ferry_stream_start_recording (self, error);
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

void
ferry_stream_close_viewers (GList **list, const char *status, const char *info)
{
  GList *copy = g_list_copy_deep (*list, ref_copy, NULL);
  for (GList *l = copy; l; l = l->next)
    ferry_viewer_close (l->data, status, info);
  g_list_free_full (copy, g_object_unref);
}

/* Main context: @viewer (already in self->viewers) gets its branch, or FAILED. A source
 * with B-frames whose video may not be re-encoded would freeze in browsers: as WCS does,
 * viewers that take video are refused. */
void
ferry_stream_attach_viewer (FerryStream *self, FerryViewer *viewer)
{
  g_autoptr (GError) error = NULL;

  if (self->bframes && self->transcode == FERRY_TRANSCODE_NEVER
      && ferry_viewer_offers_track (viewer, "video")
      && ferry_stream_get_tee (self, "video") != NULL) {
    ferry_viewer_close (viewer, "FAILED", FERRY_TRANSCODING_DISABLED);
    return;
  }
  if (!ferry_viewer_attach (viewer, self, &error)) {
    GST_WARNING ("stream %s: viewer %s: %s", self->name,
        ferry_viewer_get_id (viewer), error->message);
    ferry_viewer_close (viewer, "FAILED", "Failed to add stream to proxy");
  }
}

/* Main context: the source has B-frames and the policy forbids re-encoding: viewers who
 * get its video are ended (new ones are refused by ferry_stream_attach_viewer). */
void
ferry_stream_refuse_untranscoded (FerryStream *self)
{
  GList *refused = NULL;

  for (GList *l = self->viewers; l; l = l->next)
    if (ferry_viewer_sends_track (l->data, "video"))
      refused = g_list_prepend (refused, g_object_ref (l->data));
  ferry_stream_close_viewers (&refused, "FAILED", FERRY_TRANSCODING_DISABLED);
  g_list_free_full (refused, g_object_unref);
}

/* Main context: viewers held for the stream attach now that media flows. */
void
ferry_stream_attach_waiting (FerryStream *self)
{
  GList *waiting = g_steal_pointer (&self->waiting);

  for (GList *l = waiting; l; l = l->next) {
    FerryViewer *v = l->data;

    self->viewers = g_list_append (self->viewers, g_object_ref (v));
    ferry_stream_attach_viewer (self, v);
  }
  g_list_free_full (waiting, g_object_unref);
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
  FerryIngestOptions opts = ferry_stream_ingest_options (self);
  g_autoptr (GstBus) bus = NULL;

  g_return_val_if_fail (self->pipeline == NULL, FALSE);

  self->pipeline = gst_object_ref_sink (gst_pipeline_new (pname));
  self->timeline = ferry_timeline_new ();
  if (!ferry_ingest_build (GST_BIN (self->pipeline), self->id, &opts,
          &self->ingest, error))
    return FALSE;
  {
    const FerryConfig *config = ferry_app_get_config (self->app);
    /* Fast start (ferry-gop-cache.h): on what viewers get, re-encoded or not. */
    if (self->ingest.video_tee && config->gop_cache_kb > 0)
      ferry_gop_cache_install (self->ingest.video_tee,
          (gsize) config->gop_cache_kb * 1024,
          (GstClockTime) config->gop_cache_ms * GST_MSECOND);
    /* Transit delay, measured from the video chain's input (ferry-transit.h). */
    if (self->ingest.video_tee && self->ingest.video_in && config->transit_stats) {
      g_autoptr (GstPad) in = gst_element_get_static_pad (self->ingest.video_in,
          "sink");

      ferry_transit_install (self->ingest.video_tee, in);
    }
  }

  bus = gst_pipeline_get_bus (GST_PIPELINE (self->pipeline));
  self->bus_source = gst_bus_create_watch (bus);
  g_source_set_callback (self->bus_source, (GSourceFunc) G_CALLBACK (ferry_stream_bus_cb),
      g_object_ref (self), g_object_unref);
  g_source_attach (self->bus_source, ferry_app_get_context (self->app));

  self->watchdog = g_timeout_source_new_seconds (1);
  g_source_set_callback (self->watchdog, ferry_stream_watchdog_cb, self, NULL);
  g_source_attach (self->watchdog, ferry_app_get_context (self->app));

  /* The chains first: their sinks do not preroll, so the pipeline plays at once, and
   * the source joins it like every later one will. */
  if (gst_element_set_state (self->pipeline,
          GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    g_set_error (error, FERRY_ERROR, FERRY_ERROR_INTERNAL,
        "the pipeline refused to start");
    return FALSE;
  }
  if (!ferry_stream_start_source (self, error))
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
  g_autoptr (FerryStream) keep G_GNUC_UNUSED = g_object_ref (self);

  if (self->stopping)
    return;
  self->stopping = TRUE;
  ferry_stream_set_status (self, status, info);

  ferry_clear_source (&self->connect_timeout);
  ferry_stream_cancel_resolve (self);
  ferry_outage_cancel (&self->outage);
  ferry_clear_source (&self->watchdog);
  ferry_clear_source (&self->track_wait);
  ferry_stream_close_viewers (&self->waiting, viewer_status, viewer_info);
  ferry_stream_close_viewers (&self->viewers, viewer_status, viewer_info);

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
  if (self->pipeline)
    ferry_debug_forget_pipeline (self->pipeline);
  g_clear_object (&self->pipeline);
  memset (&self->ingest, 0, sizeof self->ingest);
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
  ferry_metrics_count (ferry_app_get_metrics (self->app),
      FERRY_METRIC_VIEWERS);
  ferry_viewer_set_stream (viewer, self);
  ferry_clear_source (&self->linger_timer);
  switch (self->status) {
    case FERRY_STREAM_PENDING:
    case FERRY_STREAM_RECONNECTING:
      GST_INFO ("stream %s: viewer %s waits for media", self->name,
          ferry_viewer_get_id (viewer));
      self->waiting = g_list_append (self->waiting, g_object_ref (viewer));
      /* A source that failed already may stay away: bound the wait. */
      if (self->outage.attempt > 0)
        ferry_stream_hold_viewers (self);
      break;
    case FERRY_STREAM_PLAYING:
      self->viewers = g_list_append (self->viewers, g_object_ref (viewer));
      ferry_stream_attach_viewer (self, viewer);
      break;
    default:
      ferry_viewer_close (viewer, "FAILED", "Stream not found");
      break;
  }
}

/* Main context: an on-demand pull's last viewer left a while ago (or it ended): it goes,
 * from the list too, since nobody would terminate it. */
static gboolean
linger_cb (gpointer user_data)
{
  FerryStream *self = user_data;
  g_autoptr (FerryStream) keep G_GNUC_UNUSED = g_object_ref (self);
  g_autofree char *info = g_strdup_printf ("on-demand pull without viewers "
      "for %u s", ferry_app_get_config (self->app)->on_demand_linger_s);

  g_clear_pointer (&self->linger_timer, g_source_unref);
  GST_INFO ("stream %s: %s", self->name, info);
  ferry_stream_shutdown (self, FERRY_STREAM_STOPPED, info, "STOPPED",
      "Stopped by publisher stop");
  ferry_registry_remove (ferry_app_get_registry (self->app), self);
  return G_SOURCE_REMOVE;
}

/**
 * ferry_stream_set_on_demand:
 * Marks a pull that a viewer started by playing its rtmp:// uri: `startedBy` "play", and it
 * ends `[pull] on-demand-linger` seconds after its last viewer left (REST pulls never do).
 */
void
ferry_stream_set_on_demand (FerryStream *self)
{
  self->on_demand = TRUE;
}

/* Called by a closing viewer: drop the stream's reference. */
void
ferry_stream_forget_viewer (FerryStream *self, FerryViewer *viewer)
{
  GList *l;

  if ((l = g_list_find (self->viewers, viewer))) {
    self->bytes_out_gone += ferry_viewer_get_bytes_out (viewer);
    self->viewers = g_list_delete_link (self->viewers, l);
    g_object_unref (viewer);
  } else if ((l = g_list_find (self->waiting, viewer))) {
    self->waiting = g_list_delete_link (self->waiting, l);
    g_object_unref (viewer);
  }
  if (self->on_demand && ferry_stream_get_n_viewers (self) == 0
      && self->linger_timer == NULL) {
    /* An ended one goes at once (its viewers were just told). */
    guint linger = self->stopping ? 0
        : ferry_app_get_config (self->app)->on_demand_linger_s;
    self->linger_timer = g_timeout_source_new_seconds (linger);
    g_source_set_callback (self->linger_timer, linger_cb, self, NULL);
    g_source_attach (self->linger_timer, ferry_app_get_context (self->app));
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
  ferry_outage_add_json (&self->outage, b, self->source != NULL);
  json_builder_set_member_name (b, "startedBy");
  json_builder_add_string_value (b, self->on_demand ? "play" : "rest");
  json_builder_set_member_name (b, "hasAudio");
  json_builder_add_boolean_value (b, self->has_audio && !self->audio_absent);
  json_builder_set_member_name (b, "hasVideo");
  json_builder_add_boolean_value (b, self->has_video && !self->video_absent);
  if (self->has_video) {
    /* Ferry extensions (docs/transcoding.md) */
    json_builder_set_member_name (b, "videoCodec");
    if (self->h264_plid) {
      g_autofree char *codec = g_strdup_printf ("avc1.%06x", self->h264_plid);
      json_builder_add_string_value (b, codec);
    } else
      json_builder_add_null_value (b);
    json_builder_set_member_name (b, "transcode");
    json_builder_add_string_value (b,
        ferry_transcode_policy_to_string (self->transcode));
    json_builder_set_member_name (b, "bFrames");
    json_builder_add_boolean_value (b, self->bframes);
    json_builder_set_member_name (b, "transcoding");
    json_builder_add_boolean_value (b, self->transcode_info != NULL);
    if (self->transcode_info) {
      json_builder_set_member_name (b, "transcodeInfo");
      json_builder_add_string_value (b, self->transcode_info);
    } else if (self->bframes && self->transcode == FERRY_TRANSCODE_NEVER) {
      json_builder_set_member_name (b, "transcodeInfo");
      json_builder_add_string_value (b, "the source has B-frames; "
          FERRY_TRANSCODING_DISABLED);
    }
  }
  {
    FerryGopCache *gop = ferry_gop_cache_get (self->ingest.video_tee);
    FerryGopCacheStats st;

    if (gop != NULL && self->pipeline != NULL) {
      /* Ferry extension (docs/api.md): what a joining viewer starts from */
      ferry_gop_cache_get_stats (gop, &st);
      json_builder_set_member_name (b, "gopCache");
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "frames");
      json_builder_add_int_value (b, st.frames);
      json_builder_set_member_name (b, "bytes");
      json_builder_add_int_value (b, st.bytes);
      json_builder_set_member_name (b, "durationMs");
      json_builder_add_int_value (b, st.duration / GST_MSECOND);
      json_builder_set_member_name (b, "fastStarts");
      json_builder_add_int_value (b, st.starts);
      json_builder_end_object (b);
    }
  }
  if (self->pipeline != NULL && ferry_transit_get (self->ingest.video_tee)) {
    /* Ferry extension ([debug] transit-stats): over the viewers attached now */
    g_autoptr (FerryTransitSum) sum = ferry_transit_sum_new ();
    FerryTransitStats st;

    for (GList *l = self->viewers; l; l = l->next)
      if (ferry_viewer_get_transit (l->data))
        ferry_transit_sum_add (sum, ferry_viewer_get_transit (l->data));
    ferry_transit_sum_get (sum, &st);
    json_builder_set_member_name (b, "transit");
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "video");
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "packets");
    json_builder_add_int_value (b, st.packets);
    json_builder_set_member_name (b, "meanMs");
    json_builder_add_double_value (b, st.mean_ms);
    json_builder_set_member_name (b, "p50Ms");
    json_builder_add_double_value (b, st.p50_ms);
    json_builder_set_member_name (b, "p99Ms");
    json_builder_add_double_value (b, st.p99_ms);
    json_builder_set_member_name (b, "maxMs");
    json_builder_add_double_value (b, st.max_ms);
    json_builder_end_object (b);
    json_builder_end_object (b);
  }
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

/* Main context, once a second (the watchdog): the ingest bitrate over the last tick. */
void
ferry_stream_sample_bitrate (FerryStream *self)
{
  FerryIngestTotals t;
  gint64 now = g_get_monotonic_time ();

  ferry_timeline_get_totals (self->timeline, &t);
  if (self->rate_us > 0 && now > self->rate_us)
    self->bitrate_in = (t.bytes - self->rate_bytes) * 8 * G_USEC_PER_SEC
        / (now - self->rate_us);
  self->rate_bytes = t.bytes;
  self->rate_us = now;
}

/**
 * ferry_stream_get_stats:
 * Main context. What /metrics shows of a stream.
 */
void
ferry_stream_get_stats (FerryStream *self, FerryStreamStats *out)
{
  FerryIngestTotals t = { 0 };

  if (self->timeline)
    ferry_timeline_get_totals (self->timeline, &t);
  out->status = self->status;
  out->bytes_in = t.bytes;
  out->video_frames_in = t.video_frames;
  out->audio_frames_in = t.audio_frames;
  /* a stream that ended or lost its source takes in nothing */
  out->bitrate_in = self->status == FERRY_STREAM_PLAYING ? self->bitrate_in : 0;
  out->reconnects = self->outage.reconnects;
  out->viewers = ferry_stream_get_n_viewers (self);
  out->bytes_out = self->bytes_out_gone;
  for (GList *l = self->viewers; l; l = l->next)
    out->bytes_out += ferry_viewer_get_bytes_out (l->data);
  out->transcoding = self->transcode_info != NULL;
  out->recording = self->recorder != NULL && ferry_recorder_get_state
      (self->recorder) == FERRY_RECORDER_RECORDING;
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

/* The H.264 profile-level-id viewers get (0xPPCCLL: profile_idc, constraint flags,
 * level_idc, from the latest SPS), or 0 before the first keyframe. */
guint32
ferry_stream_get_h264_plid (FerryStream *self)
{
  return self->h264_plid;
}

/* Returns: (transfer none) (nullable): the "video" (for viewers), "h264" (the source's), "audio"
 * (Opus) or "aac" (the source's) tee. */
GstElement *
ferry_stream_get_tee (FerryStream *self, const char *kind)
{
  if (g_str_equal (kind, "video"))
    return self->video_absent ? NULL : self->ingest.video_tee;
  if (g_str_equal (kind, "h264"))
    return self->video_absent ? NULL : self->ingest.h264_tee;
  if (self->audio_absent)
    return NULL;
  /* Recordings take the source's AAC; other codecs (MP3, Speex, PCM…) are decoded at
   * ingest and recorded as the Opus the viewers get. */
  if (g_str_equal (kind, "aac"))
    return self->aac_flowing ? self->ingest.aac_tee : self->ingest.audio_tee;
  return self->ingest.audio_tee;
}

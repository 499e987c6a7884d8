/* ferry-stream-source.c — a FerryStream's connection to the origin (docs/reconnect.md):
 * its bus watch, starting a FerrySource per attempt, turning errors, ends, stalls and
 * connect timeouts into losses, the backoff before the next attempt, and the grace period
 * that bounds how long viewers are held. Main context only (the bus watch and every timer
 * are attached to the app's context).
 */
#include "ferry-stream-private.h"
#include "ferry-errors.h"
#include "ferry-invoke.h"
#include "ferry-sources.h"

#define GST_CAT_DEFAULT ferry_stream_debug

/* Main context: the stream is PLAYING once every wanted track flows, or once one does and
 * the other stayed away for `[pull] track-wait-ms` (an audio-only or video-only source). */
static void
on_playing (FerryStream *self)
{
  if (self->status != FERRY_STREAM_PENDING)
    return;
  ferry_clear_source (&self->track_wait);
  ferry_stream_set_status (self, FERRY_STREAM_PLAYING, NULL);
  ferry_outage_release (&self->outage);
  if (self->record)
    ferry_stream_start_recording (self, NULL);
  ferry_stream_attach_waiting (self);
}

/* Main context: a wanted track did not come with the other one: the source has none. It
 * is no longer handed out (viewers answer its m-line inactive, recordings leave it out) and
 * the pull says so (hasAudio/hasVideo). */
static gboolean
track_wait_cb (gpointer user_data)
{
  FerryStream *self = user_data;

  g_clear_pointer (&self->track_wait, g_source_unref);
  if (self->ingest.video_tee && !self->video_flowing) {
    GST_INFO ("stream %s: the source has no video", self->name);
    self->video_absent = TRUE;
  }
  if (self->ingest.audio_tee && !self->audio_flowing) {
    GST_INFO ("stream %s: the source has no audio", self->name);
    self->audio_absent = TRUE;
  }
  on_playing (self);
  return G_SOURCE_REMOVE;
}

/* Main context: a track the stream did not hand out is back (or there for the first
 * time) with a later source. Viewers answered without it would play on without it for
 * good — a picture that never comes — since neither the WCS protocol nor WHEP lets the
 * server offer anew: they are ended with the reason, and a new play gets every track. */
static void
track_added (FerryStream *self, const char *kind)
{
  g_autofree char *info = g_strdup_printf ("the source now has %s: play the "
      "stream again to receive it", kind);
  GList *lacking = NULL;

  for (GList *l = self->viewers; l; l = l->next)
    if (ferry_viewer_lacks_track (l->data, kind))
      lacking = g_list_prepend (lacking, g_object_ref (l->data));
  if (lacking)
    GST_WARNING ("stream %s: %s; %u viewer(s) without it are ended", self->name,
        info, g_list_length (lacking));
  ferry_stream_close_viewers (&lacking, "FAILED", info);
  g_list_free_full (lacking, g_object_unref);
}

/* Main context: the first buffer of @kind reached its tee. */
static void
on_track_flowing (FerryStream *self, const char *kind)
{
  guint wait_ms = ferry_app_get_config (self->app)->track_wait_ms;
  gboolean was_absent;

  if (g_strcmp0 (kind, "aac") == 0) {
    self->aac_flowing = TRUE;
    return;
  }
  if (g_strcmp0 (kind, "video") == 0) {
    was_absent = self->video_absent;
    self->video_flowing = TRUE;
    self->video_absent = FALSE;
  } else {
    was_absent = self->audio_absent;
    self->audio_flowing = TRUE;
    self->audio_absent = FALSE;
  }
  if (was_absent)
    track_added (self, kind);
  if (self->status != FERRY_STREAM_PENDING)
    return;
  if ((self->ingest.video_tee == NULL || self->video_flowing)
      && (self->ingest.audio_tee == NULL || self->audio_flowing)) {
    on_playing (self);
    return;
  }
  if (self->track_wait == NULL) {
    self->track_wait = g_timeout_source_new (wait_ms);
    g_source_set_callback (self->track_wait, track_wait_cb, self, NULL);
    g_source_attach (self->track_wait, ferry_app_get_context (self->app));
  }
}

/* Main context: the current source delivers media. After an outage the viewers, whose
 * branches stayed attached, resume with it. */
static void
on_source_media (FerryStream *self, guint session)
{
  if (self->source == NULL || ferry_source_get_session (self->source) != session)
    return;
  gint64 away_ms;

  ferry_clear_source (&self->connect_timeout);
  away_ms = ferry_outage_recovered (&self->outage,
      self->status == FERRY_STREAM_RECONNECTING);
  if (self->status != FERRY_STREAM_RECONNECTING)
    return;
  GST_INFO ("stream %s: the source is back after %" G_GINT64_FORMAT " ms",
      self->name, away_ms);
  ferry_stream_set_status (self, FERRY_STREAM_PLAYING, NULL);
  ferry_stream_attach_waiting (self);
}

/* Main context: the grace period of an outage ran out. Viewers are told how the source
 * went (what began the outage, not the failed attempts after it); the pull itself goes
 * on retrying. */
static gboolean
grace_cb (gpointer user_data)
{
  FerryStream *self = user_data;
  const char *info = NULL;
  const char *status = ferry_outage_viewer_end (&self->outage, &info);

  ferry_outage_grace_fired (&self->outage);
  GST_INFO ("stream %s: the grace period ran out; %u viewer(s) get %s", self->name,
      ferry_stream_get_n_viewers (self), status);
  ferry_stream_close_viewers (&self->waiting, status, info);
  ferry_stream_close_viewers (&self->viewers, status, info);
  return G_SOURCE_REMOVE;
}

/* Main context: viewers are waiting through an outage (or for a source that failed
 * already): bound the wait. */
void
ferry_stream_hold_viewers (FerryStream *self)
{
  if (ferry_stream_get_n_viewers (self) > 0)
    ferry_outage_hold (&self->outage,
        ferry_app_get_config (self->app)->grace_s, grace_cb, self);
}

static void source_lost (FerryStream *self, const char *reason,
    gboolean clean);

static gboolean
retry_cb (gpointer user_data)
{
  FerryStream *self = user_data;
  g_autoptr (GError) error = NULL;

  ferry_outage_retry_fired (&self->outage);
  GST_INFO ("stream %s: reconnecting, attempt %u", self->name,
      self->outage.attempt);
  if (!ferry_stream_start_source (self, &error))
    source_lost (self, error->message, FALSE);
  return G_SOURCE_REMOVE;
}

/* A failure that took its own time (the origin answered and held the player until
 * rtmp2src's idle-timeout) is retried at once: the wait itself paced it, and a publisher
 * that appears in a backoff window would otherwise be joined mid-GOP, costing up to a GOP
 * before the picture is back (measured: Chromium 4.6 s after a 20 s outage, under ASan). */
#define PACED_RETRY_MS 20

/* Main context: the current source is gone (error, end of stream, stall, no media in
 * time). Drop it and try again after the backoff (or at once when @paced), or give up. */
static void
source_lost_full (FerryStream *self, const char *reason, gboolean clean,
    gboolean paced)
{
  const FerryConfig *config = ferry_app_get_config (self->app);
  gboolean was_playing = self->status == FERRY_STREAM_PLAYING;
  gint delay;
  g_autofree char *info = NULL;

  if (self->stopping)
    return;
  ferry_clear_source (&self->connect_timeout);
  g_clear_pointer (&self->source, ferry_source_free);
  delay = ferry_outage_lost (&self->outage, config, reason, clean,
      was_playing);
  GST_WARNING ("stream %s: source lost (%s), %u failed attempt(s) in a row",
      self->name, reason, self->outage.attempt);
  if (paced && delay > PACED_RETRY_MS)
    delay = PACED_RETRY_MS;

  if (delay < 0) {
    if (config->reconnect)
      info = g_strdup_printf ("%s (gave up after %u attempts)", reason,
          config->reconnect_attempts);
    ferry_stream_shutdown (self, clean ? FERRY_STREAM_STOPPED :
        FERRY_STREAM_FAILED, info ? info : reason, clean ? "STOPPED" : "FAILED",
        clean ? "Stopped by publisher stop" : reason);
    return;
  }
  info = ferry_outage_describe (&self->outage, delay);
  ferry_stream_set_status (self, was_playing ? FERRY_STREAM_RECONNECTING : self->status,
      info);
  ferry_outage_schedule (&self->outage, delay, retry_cb, self);
  ferry_stream_hold_viewers (self);
}

static void
source_lost (FerryStream *self, const char *reason, gboolean clean)
{
  source_lost_full (self, reason, clean, FALSE);
}

/* rtmp2src's idle-timeout counts from the last RTMP packet, the watchdog from the last
 * media buffer: an EOS this long after the last media is that timeout ending a stall the
 * once-a-second watchdog had not reported yet, not an unpublish (which nginx-rtmp sends
 * at once). */
#define IDLE_EOS_MARGIN_US (500 * G_TIME_SPAN_MILLISECOND)

/* The source ended. After media it is an unpublish, or a stall that rtmp2src's
 * idle-timeout ended first; before any media it is that idle-timeout on a name nobody
 * publishes (nginx-rtmp keeps such players waiting). */
static void
on_source_eos (FerryStream *self, guint session)
{
  guint idle_s = ferry_app_get_config (self->app)->idle_timeout_s;
  g_autofree char *info = NULL;

  if (self->source == NULL || ferry_source_get_session (self->source) != session)
    return;
  if (ferry_source_has_media (self->source)) {
    gint64 idle_us = ferry_source_get_idle_us (self->source);

    if (idle_s > 0 && idle_us + IDLE_EOS_MARGIN_US >= (gint64) idle_s * G_USEC_PER_SEC) {
      info = g_strdup_printf ("the source stalled: no media for %u s", idle_s);
      source_lost (self, info, FALSE);
      return;
    }
    source_lost (self, "the origin ended the stream (unpublished)", TRUE);
    return;
  }
  info = g_strdup_printf ("stream not found on origin: no media within %u s "
      "(is it published?)", idle_s);
  source_lost_full (self, info, FALSE, TRUE);
}

/* Main context: whether the current source (after a reconnect) has a wanted track the
 * stream hands out, or brings back one it had lost. Returns TRUE when @kind went missing. */
static gboolean
recheck_track (FerryStream *self, const char *kind, gboolean wanted,
    gboolean *absent)
{
  gboolean has = ferry_source_has_track (self->source, kind);

  if (!wanted || has == !*absent)
    return FALSE;
  *absent = !has;
  GST_INFO ("stream %s: the source came back %s %s", self->name,
      has ? "with" : "without", kind);
  if (has)
    track_added (self, kind);
  return !has;
}

/* Main context: a source that came back with a track less than before (the publisher now
 * sends only audio, say) would leave its viewers with a black picture or silence: once the
 * new source has delivered for @limit s without it, they are ended with the reason, and the
 * track is no longer handed out (as for a source that never had it). The pull plays on
 * with what it has; viewers who join now get what is there, a track that is back too. */
static void
check_tracks (FerryStream *self, guint limit)
{
  guint session = ferry_source_get_session (self->source);
  const char *missing = NULL;
  g_autofree char *info = NULL;

  if (self->track_checked == session + 1 || session == 0
      || ferry_source_get_media_age_us (self->source)
      < (gint64) limit * G_USEC_PER_SEC)
    return;
  self->track_checked = session + 1;
  if (recheck_track (self, "video", self->ingest.video_tee != NULL,
          &self->video_absent))
    missing = "video";
  if (recheck_track (self, "audio", self->ingest.audio_tee != NULL,
          &self->audio_absent))
    missing = missing ? "video and audio" : "audio";
  if (missing == NULL)
    return;
  info = g_strdup_printf ("the source came back without %s", missing);
  GST_WARNING ("stream %s: %s; its %u viewer(s) are ended", self->name, info,
      ferry_stream_get_n_viewers (self));
  ferry_stream_close_viewers (&self->viewers, "FAILED", info);
}

/* Main context, every second: a source that had media and went quiet is stalled (a
 * publisher paused with its connection open: nothing errors, nothing ends). */
gboolean
ferry_stream_watchdog_cb (gpointer user_data)
{
  FerryStream *self = user_data;
  guint limit = ferry_app_get_config (self->app)->stall_timeout_s;
  g_autofree char *info = NULL;

  ferry_stream_sample_bitrate (self);
  if (self->source == NULL || !ferry_source_has_media (self->source))
    return G_SOURCE_CONTINUE;
  if (ferry_source_get_idle_us (self->source) >= (gint64) limit * G_USEC_PER_SEC) {
    info = g_strdup_printf ("the source stalled: no media for %u s", limit);
    source_lost (self, info, FALSE);
    return G_SOURCE_CONTINUE;
  }
  check_tracks (self, limit);
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
  return g_strdup_printf (FERRY_OUTAGE_CONNECTION_FAILED "%s", error->message);
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
    on_track_flowing (self, gst_structure_get_string (s, "kind"));
  } else if (gst_structure_has_name (s, "ferry-bframes")) {
    self->bframes = TRUE;
    GST_INFO ("stream %s: the source has B-frames (transcode policy %s)",
        self->name, ferry_transcode_policy_to_string (self->transcode));
    if (self->transcode == FERRY_TRANSCODE_NEVER) {
      GST_WARNING ("stream %s: the source has B-frames and transcoding is "
          "disabled: viewers of its video are refused", self->name);
      ferry_stream_refuse_untranscoded (self);
    }
  } else if (gst_structure_has_name (s, "ferry-h264-sps")) {
    gst_structure_get_uint (s, "profile-level-id", &self->h264_plid);
    GST_INFO ("stream %s: viewers get H.264 avc1.%06x", self->name,
        self->h264_plid);
  } else if (gst_structure_has_name (s, "ferry-transcoding")) {
    g_free (self->transcode_info);
    self->transcode_info = g_strdup (gst_structure_get_string (s, "reason"));
    GST_INFO ("stream %s: viewers get re-encoded video: %s", self->name,
        self->transcode_info);
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
gboolean
ferry_stream_bus_cb (GstBus *bus, GstMessage *msg, gpointer user_data)
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

FerryIngestOptions
ferry_stream_ingest_options (FerryStream *self)
{
  const FerryConfig *config = ferry_app_get_config (self->app);
  FerryIngestOptions opts = {
    .uri = self->uri,
    .want_audio = self->has_audio,
    .want_video = self->has_video,
    .rtmp_timeout_s = config->rtmp_timeout_s,
    .idle_timeout_s = config->idle_timeout_s,
    .tls_verify = config->tls_verify,
    .opus_bitrate = config->opus_bitrate,
    .transcode = {
          .policy = self->transcode,
          .preset = config->transcode_preset,
          .quality = config->transcode_quality,
          .max_bitrate_kbps = config->transcode_max_kbps,
        },
  };
  return opts;
}

/* Main context: the connection itself, once [sources] agrees. */
static gboolean
connect_source (FerryStream *self, GError **error)
{
  const FerryConfig *config = ferry_app_get_config (self->app);
  FerryIngestOptions opts = ferry_stream_ingest_options (self);

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

/* Main context: a uri [sources] forbids (after a reload, or by what its host resolves
 * to now) ends the pull: trying again would only ask the same question. */
static void
source_forbidden (FerryStream *self, const char *reason)
{
  GST_WARNING ("stream %s: %s", self->name, reason);
  ferry_stream_shutdown (self, FERRY_STREAM_FAILED, reason, "FAILED", reason);
}

/* Main context: the origin's name resolved (or not) for [sources]. Holds a ref on the
 * stream until it runs. */
static void
resolved_cb (GObject *resolver, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (FerryStream) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autolist (GInetAddress) addresses = g_resolver_lookup_by_name_finish
      (G_RESOLVER (resolver), result, &error);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  g_clear_object (&self->resolving);
  if (self->stopping)
    return;
  if (addresses == NULL) {
    g_autofree char *info = g_strdup_printf ("cannot resolve %s: %s",
        self->uri, error->message);
    source_lost (self, info, FALSE);
    return;
  }
  if (!ferry_sources_check_addresses (ferry_app_get_config (self->app),
          self->resolve_host, addresses, &error)) {
    source_forbidden (self, error->message);
    return;
  }
  if (!connect_source (self, &error))
    source_lost (self, error->message, FALSE);
}

/* Main context: a new connection to the origin, feeding the existing chains. With a
 * host name that [sources] must see the addresses of, the connection waits for the
 * resolution (GResolver's thread; the main loop goes on). */
gboolean
ferry_stream_start_source (FerryStream *self, GError **error)
{
  g_autoptr (GResolver) resolver = NULL;
  g_autoptr (GError) local = NULL;

  g_return_val_if_fail (self->source == NULL && self->resolving == NULL, FALSE);
  g_clear_pointer (&self->resolve_host, g_free);
  if (!ferry_sources_check_uri (ferry_app_get_config (self->app), self->uri,
          &self->resolve_host, &local)) {
    if (g_error_matches (local, FERRY_ERROR, FERRY_ERROR_SOURCE_FORBIDDEN)) {
      /* the caller's error path retries: this one must not be retried */
      source_forbidden (self, local->message);
      return TRUE;
    }
    g_propagate_error (error, g_steal_pointer (&local));
    return FALSE;
  }
  if (self->resolve_host == NULL)
    return connect_source (self, error);
  resolver = g_resolver_get_default ();
  self->resolving = g_cancellable_new ();
  g_resolver_lookup_by_name_async (resolver, self->resolve_host, self->resolving,
      resolved_cb, g_object_ref (self));
  return TRUE;
}

/* Main context: stops a resolution in flight (shutdown, dispose). */
void
ferry_stream_cancel_resolve (FerryStream *self)
{
  if (self->resolving)
    g_cancellable_cancel (self->resolving);
  g_clear_object (&self->resolving);
}


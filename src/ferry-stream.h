/* ferry-stream.h — FerryStream: one pulled RTMP stream.
 *
 * Owns: the GstPipeline (RTMP source → flvdemux → H.264 parse / AAC→Opus → tees), its bus
 * watch, the status (PENDING → PLAYING → FAILED/STOPPED) and the viewers attached to its
 * tees or waiting for it to play.
 * Runs on: the main context. Streaming threads only post bus messages (ferry-ingest.c).
 * Lifecycle: new → start → (media flows: PLAYING) → shutdown (terminate, source end or
 * error) → unref. A shut-down stream never restarts; a new pull makes a new stream.
 */
#pragma once

#include <gst/gst.h>
#include <json-glib/json-glib.h>
#include "ferry-app.h"
#include "ferry-transcode.h"

G_BEGIN_DECLS

typedef enum
{
  FERRY_STREAM_PENDING,         /* connecting, no media yet */
  FERRY_STREAM_PLAYING,
  FERRY_STREAM_RECONNECTING,    /* was playing, the source is lost: viewers are held */
  FERRY_STREAM_FAILED,
  FERRY_STREAM_STOPPED,
} FerryStreamStatus;

#define FERRY_TYPE_STREAM (ferry_stream_get_type ())
G_DECLARE_FINAL_TYPE (FerryStream, ferry_stream, FERRY, STREAM, GObject)

typedef struct _FerryViewer FerryViewer;

FerryStream *ferry_stream_new (FerryApp *app, const char *uri,
    const char *name, gboolean has_audio, gboolean has_video, gboolean record);
gboolean ferry_stream_start (FerryStream *self, GError **error);
void ferry_stream_set_on_demand (FerryStream *self);
void ferry_stream_set_transcode (FerryStream *self,
    FerryTranscodePolicy policy);
void ferry_stream_shutdown (FerryStream *self, FerryStreamStatus status,
    const char *info, const char *viewer_status, const char *viewer_info);

gboolean ferry_stream_is_finished (FerryStream *self);
gboolean ferry_stream_record_start (FerryStream *self, GError **error);
gboolean ferry_stream_record_stop (FerryStream *self, GError **error);

const char *ferry_stream_get_id (FerryStream *self);
const char *ferry_stream_get_name (FerryStream *self);
const char *ferry_stream_get_uri (FerryStream *self);
gboolean ferry_stream_is_active (FerryStream *self);
const char *ferry_stream_status_to_string (FerryStreamStatus status);
JsonNode *ferry_stream_to_json (FerryStream *self);

/* Counters for /metrics (ferry-metrics.c). */
typedef struct
{
  FerryStreamStatus status;
  guint64 bytes_in, video_frames_in, audio_frames_in;
  guint64 bitrate_in;           /* bit/s, over the last second */
  guint reconnects;             /* outages recovered from */
  guint viewers;                /* attached and waiting */
  guint64 bytes_out;            /* RTP bytes to every viewer, gone ones included */
  gboolean transcoding, recording;
} FerryStreamStats;

void ferry_stream_get_stats (FerryStream *self, FerryStreamStats *out);

/* For viewers (ferry-viewer.c). */
GstElement *ferry_stream_get_pipeline (FerryStream *self);
GstElement *ferry_stream_get_tee (FerryStream *self, const char *kind);
guint32 ferry_stream_get_h264_plid (FerryStream *self);
gboolean ferry_stream_is_stopping (FerryStream *self);
void ferry_stream_add_viewer (FerryStream *self, FerryViewer *viewer);
void ferry_stream_forget_viewer (FerryStream *self, FerryViewer *viewer);
guint ferry_stream_get_n_viewers (FerryStream *self);

G_END_DECLS

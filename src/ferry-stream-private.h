/* ferry-stream-private.h — FerryStream's fields and the functions its two files share:
 * ferry-stream.c (lifecycle, viewers, recording, the pull object) and ferry-stream-source.c
 * (the connection to the origin: bus watch, losses, retries, grace period, stall
 * watchdog). Main context only. Not for other modules.
 */
#pragma once

#include "ferry-stream.h"
#include "ferry-ingest.h"
#include "ferry-outage.h"
#include "ferry-recorder.h"
#include "ferry-source.h"
#include "ferry-viewer.h"

G_BEGIN_DECLS

GST_DEBUG_CATEGORY_EXTERN (ferry_stream_debug);

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
  GCancellable *resolving;      /* the origin's name is being resolved ([sources]) */
  char *resolve_host;           /* … that name */

  /* Reconnects (docs/reconnect.md): the chains, tees and branches stay; only the source
   * is replaced. */
  FerryTimeline *timeline;      /* owned: running time across sources */
  FerrySource *source;          /* owned: the current connection; NULL between attempts */
  guint session;                /* number of the next source */
  FerryOutage outage;           /* attempts, backoff and grace timers */
  gboolean video_flowing, audio_flowing;        /* first buffer reached the tee */
  gboolean aac_flowing;         /* the source's audio is AAC (else: decoded, Opus only) */
  /* A wanted track the source does not have (found at start or after a reconnect): its
   * tee is not handed out (ferry_stream_get_tee), the pull object says so. Sources are
   * still built wanting it, so that it can come back. */
  gboolean video_absent, audio_absent;
  GSource *track_wait;          /* one track flows: how long to wait for the other */

  /* Video for viewers (docs/transcoding.md) */
  FerryTranscodePolicy transcode;
  gboolean bframes;             /* the source has had B-frames */
  char *transcode_info;         /* why viewers get re-encoded video; NULL = they do not */
  guint32 h264_plid;            /* profile-level-id viewers get (0xPPCCLL), 0 = not seen yet */

  /* On-demand pulls (a viewer played an rtmp:// name): they end by themselves. */
  gboolean on_demand;
  GSource *linger_timer;        /* no viewers: ends the pull when it fires */
  guint track_checked;          /* session + 1 whose tracks were compared */
  GSource *watchdog;            /* stall detection */

  FerryRecorder *recorder;      /* owned: the current or last recording, or NULL */
  char *record_info;            /* why recording could not start */
  gboolean finishing;           /* shutdown waits for the recorder to finalise */

  /* /metrics (ferry_stream_get_stats) */
  guint64 bytes_out_gone;       /* what viewers that left were sent */
  guint64 rate_bytes;           /* ingest bytes at the last watchdog tick… */
  gint64 rate_us;               /* … and its monotonic time */
  guint64 bitrate_in;           /* bit/s over the last tick */

  GList *viewers;               /* FerryViewer*, owned: attached to the tees */
  GList *waiting;               /* FerryViewer*, owned: waiting for PLAYING */
};

/* ferry-stream.c */
void ferry_stream_set_status (FerryStream *self, FerryStreamStatus status,
    const char *info);
void ferry_stream_close_viewers (GList **list, const char *status,
    const char *info);
void ferry_stream_attach_waiting (FerryStream *self);
void ferry_stream_attach_viewer (FerryStream *self, FerryViewer *viewer);
void ferry_stream_refuse_untranscoded (FerryStream *self);
gboolean ferry_stream_start_recording (FerryStream *self, GError **error);
void ferry_stream_sample_bitrate (FerryStream *self);

/* ferry-stream-source.c */
gboolean ferry_stream_bus_cb (GstBus *bus, GstMessage *msg,
    gpointer user_data);
gboolean ferry_stream_watchdog_cb (gpointer user_data);
FerryIngestOptions ferry_stream_ingest_options (FerryStream *self);
gboolean ferry_stream_start_source (FerryStream *self, GError **error);
void ferry_stream_hold_viewers (FerryStream *self);
void ferry_stream_cancel_resolve (FerryStream *self);

G_END_DECLS

/* ferry-source.h — one connection to the origin: a bin "<id>-source-<n>" holding
 * rtmp2src → flvdemux, whose tracks leave through ghost pads into the ingest chains
 * (ferry-ingest.h). A stream makes a new source for every (re)connect attempt; the chains,
 * the tees and every branch after them (viewers, recorder) stay as they are.
 *
 *   [source-n: rtmp2src → flvdemux ─video─▶ ghost "video"] ─▶ video chain → tee
 *                                 └─audio─▶ ghost "audio"] ─▶ audio chain → tees
 *
 * The ghost pads' probes (streaming thread, rtmp2src's) make sessions follow each other
 * as one stream downstream:
 *   - every buffer is retimed onto the pipeline's running time (FerryTimeline): running
 *     time, and the RTP timestamps the payloaders derive from it, keep growing across
 *     sessions, and the outage shows as a gap of its real length (A/V stay together);
 *   - SEGMENT becomes one plain TIME segment, a second STREAM_START is dropped;
 *   - EOS never reaches the chains (a tee would pass it to every viewer): it is posted as
 *     "ferry-source-eos" session=(uint)n;
 *   - in sessions after the first, video starts at a keyframe (h264parse then puts
 *     SPS/PPS in front of it);
 *   - the first buffer posts "ferry-source-media" session=(uint)n; every buffer stamps
 *     the time of the last media (stall detection).
 * Tracks the stream does not want, or cannot play, end in a fakesink inside the bin
 * ("ferry-unsupported-codec" kind caps, as before).
 *
 * Everything else runs on the main context. */
#pragma once

#include <gst/gst.h>
#include "ferry-ingest.h"

G_BEGIN_DECLS

/* Running time handed out so far, and what came in, shared by a stream's successive
 * sources. */
typedef struct _FerryTimeline FerryTimeline;

/* What a stream's sources delivered into the chains, over all sessions (/metrics). */
typedef struct
{
  guint64 bytes;                /* demuxed media bytes (FLV tag payloads) */
  guint64 video_frames, audio_frames;
} FerryIngestTotals;

FerryTimeline *ferry_timeline_new (void);
void ferry_timeline_unref (FerryTimeline *self);
void ferry_timeline_get_totals (FerryTimeline *self, FerryIngestTotals *out);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FerryTimeline, ferry_timeline_unref)

typedef struct _FerrySource FerrySource;

FerrySource *ferry_source_new (GstElement *pipeline, const char *id,
    guint session, const FerryIngestOptions *opts, const FerryIngest *ingest,
    FerryTimeline *timeline, GError **error);
gboolean ferry_source_start (FerrySource *self);
void ferry_source_free (FerrySource *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FerrySource, ferry_source_free)

guint ferry_source_get_session (FerrySource *self);
gboolean ferry_source_has_media (FerrySource *self);
gint64 ferry_source_get_idle_us (FerrySource *self);
gint64 ferry_source_get_media_age_us (FerrySource *self);
gboolean ferry_source_has_track (FerrySource *self, const char *kind);
gboolean ferry_source_contains (FerrySource *self, GstObject *object);
gboolean ferry_source_is_source_object (GstObject *object, const char *id);

G_END_DECLS

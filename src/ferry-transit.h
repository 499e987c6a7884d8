/* ferry-transit.h — transit delay of video through Ferry: from a frame's arrival from the
 * RTMP source to each of its RTP packets leaving for a viewer. Off unless
 * [debug] transit-stats is set (docs/performance.md): it costs one probe per packet and
 * viewer.
 *
 *   rtmp2src → flvdemux ─▶ [video chain input: arrival probe] → … → tee "video"
 *       └─ viewer: … → pay (timestamp-offset known) → webrtcbin … → nicesink [egress probe]
 *
 * FerryTransit (one per stream, owned by its "video" tee like the GOP cache) remembers,
 * for the last frames, their running time in 90 kHz units and when they arrived. A
 * FerryTransitMeter (one per viewer) reads the RTP header of each video packet at the
 * viewer's nicesink (SRTP leaves it in clear), turns its timestamp back into the frame's
 * running time (timestamp - the payloader's offset), finds the arrival and counts the
 * difference in a histogram. Frames sent from the GOP cache are re-timed (fast start) and
 * so find no arrival: they are not counted.
 *
 * Threads: the arrival probe runs on the source's streaming thread, the egress probes on
 * each viewer's sending thread; both take only the transit's own lock. Install, meter
 * creation and reading happen on the main context.
 */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

typedef struct _FerryTransit FerryTransit;
typedef struct _FerryTransitMeter FerryTransitMeter;

typedef struct
{
  guint64 packets;              /* video packets measured */
  double mean_ms, p50_ms, p99_ms, max_ms;
} FerryTransitStats;

/* Records arrivals at @arrival_pad (the video chain's first sink pad); @video_tee owns the
 * result (and frees it with itself). */
void ferry_transit_install (GstElement *video_tee, GstPad *arrival_pad);

/* (transfer none) @video_tee's transit, or NULL when it has none. */
FerryTransit *ferry_transit_get (GstElement *video_tee);

/* (transfer full) A meter for video packets of payload type @pt whose payloader adds
 * @ts_offset to the running time, taken from @video_tee; NULL if the tee has no transit. */
FerryTransitMeter *ferry_transit_meter_new (GstElement *video_tee, guint pt,
    guint32 ts_offset);
FerryTransitMeter *ferry_transit_meter_ref (FerryTransitMeter *meter);
void ferry_transit_meter_unref (FerryTransitMeter *meter);

/* Any thread: measures what leaves through @nicesink (once per element). */
void ferry_transit_meter_watch (FerryTransitMeter *meter, GstElement *nicesink);

/* The sum of several meters' histograms. */
typedef struct _FerryTransitSum FerryTransitSum;
FerryTransitSum *ferry_transit_sum_new (void);
void ferry_transit_sum_add (FerryTransitSum *sum, FerryTransitMeter *meter);
void ferry_transit_sum_get (FerryTransitSum *sum, FerryTransitStats *out);
void ferry_transit_sum_free (FerryTransitSum *sum);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FerryTransitSum, ferry_transit_sum_free)

G_END_DECLS

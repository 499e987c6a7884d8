/* ferry-gop-cache.h — fast start: each stream keeps the video frames since its last
 * keyframe, and a viewer that connects starts from that keyframe at once instead of
 * waiting for the source's next one (up to a whole GOP: 4-10 s with common encoders).
 *
 *   … → tee "video" ─┬─ (cache probe on the tee's sink pad: keyframe … latest frame)
 *                    └─src_N─▶ [viewer bin: video_sink (gate probe) → queue → pay → webrtcbin]
 *
 * The cache is bounded in bytes and in duration; a GOP longer than either is not cached
 * (viewers then wait for the next keyframe, as without a cache). The frames are shared
 * (buffer refs), never copied.
 *
 * A gate on a viewer's branch drops video until the viewer's DTLS is up (frames sent
 * before that are lost anyway), then, on the next live frame, sends the cached frames
 * ahead of it: the decoder gets the keyframe and every frame that depends on it at once,
 * and the picture catches up to live in a fraction of a second. A pacer on the branch's
 * queue spreads the cached frames over time ([webrtc] gop-cache-send-kbps) so that they
 * are not one burst a receiver's socket overflows with, and they are re-timed to when
 * the pacer sends them (ending just before the live frame), so that their RTP timestamps
 * agree with their arrival. Unpaced, they are squeezed into the last
 * FERRY_GOP_CACHE_SQUEEZE before the live frame. A gate without a cache (audio, or
 * gop-cache-kb = 0) only holds its track back until the viewer is connected.
 *
 * Threads: the cache probe runs on the thread that feeds the tee, the gate probe on the
 * tee's (the same one); both take the cache's lock only to add or copy refs. Install
 * and gate creation happen on the main context; ferry_gate_open on any thread.
 */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

/* How much time the cached frames are squeezed into before the first live frame. */
#define FERRY_GOP_CACHE_SQUEEZE (30 * GST_MSECOND)

typedef struct _FerryGopCache FerryGopCache;
typedef struct _FerryGate FerryGate;

typedef struct
{
  guint frames;                 /* frames cached now, the keyframe first; 0 = none */
  gsize bytes;
  GstClockTime duration;        /* from the keyframe to the latest frame */
  guint64 starts;               /* viewers started from the cache so far */
} FerryGopCacheStats;

/* Caches what passes @tee's sink pad, within @max_bytes and @max_duration; @tee owns the
 * cache (and frees it with itself). Returns (transfer none) the cache. */
FerryGopCache *ferry_gop_cache_install (GstElement *tee, gsize max_bytes,
    GstClockTime max_duration);

/* (transfer none) @tee's cache, or NULL when it has none (fast start off). */
FerryGopCache *ferry_gop_cache_get (GstElement *tee);

void ferry_gop_cache_get_stats (FerryGopCache *cache, FerryGopCacheStats *out);

/* A closed gate on @pad (a branch's video sink pad). When opened, the cached frames (if
 * @cache is not NULL and holds a GOP) go to @target, which must be where @pad's data
 * goes next (its ghost target). Returns (transfer full) the gate. */
FerryGate *ferry_gate_new (FerryGopCache *cache, GstPad *pad, GstPad *target);

/* Lets video through from the next frame on, the cached GOP first. Any thread. */
void ferry_gate_open (FerryGate *gate);

/* The cached frames leave @pad (the src pad of the branch's queue, after the gate) at
 * most at @kbps (the first at once), so that a whole GOP is not one burst that a
 * receiver's socket buffer cannot hold: measured, the C peer lost 200 of 470 packets of
 * a 143-frame burst on loopback. 0 = no pacing. Main context, before data flows. */
void ferry_gate_pace (FerryGate *gate, GstPad *pad, guint kbps);

/* How many cached frames the gate sent when it opened (0 = none or not yet). */
guint ferry_gate_get_cached_frames (FerryGate *gate);

FerryGate *ferry_gate_ref (FerryGate *gate);
void ferry_gate_unref (FerryGate *gate);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FerryGate, ferry_gate_unref)

G_END_DECLS

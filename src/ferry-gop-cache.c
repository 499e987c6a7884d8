/* ferry-gop-cache.c — see ferry-gop-cache.h. */
#include "ferry-gop-cache.h"
#include "ferry-log.h"

FERRY_DEBUG_CATEGORY_LAZY (ferry_gop_debug, "ferry-gop-cache",
    "Ferry GOP cache and viewer gates");
#define GST_CAT_DEFAULT ferry_gop_debug

#define CACHE_QDATA "ferry-gop-cache"

struct _FerryGopCache
{
  gsize max_bytes;
  GstClockTime max_duration;

  GMutex lock;                  /* protects everything below */
  GPtrArray *frames;            /* GstBuffer*, owned; empty = nothing to start from */
  gsize bytes;
  guint64 starts;
};

static FerryGopCache *
cache_ref (FerryGopCache *self)
{
  return g_atomic_rc_box_acquire (self);
}

static void
cache_clear (gpointer data)
{
  FerryGopCache *self = data;

  g_ptr_array_unref (self->frames);
  g_mutex_clear (&self->lock);
}

static void
cache_unref (gpointer data)
{
  g_atomic_rc_box_release_full (data, cache_clear);
}

static GstClockTime
frame_time (GstBuffer *buf)
{
  return GST_BUFFER_DTS_IS_VALID (buf) ? GST_BUFFER_DTS (buf) :
      GST_BUFFER_PTS (buf);
}

/* Streaming thread (the one that feeds the tee): a keyframe starts a new GOP; the frames
 * after it are added while the GOP stays within the bounds, and the GOP is dropped as a
 * whole when it outgrows them (half a GOP is of no use to a decoder). */
static GstPadProbeReturn
cache_probe_cb (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  FerryGopCache *self = data;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  gboolean key = !GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_DELTA_UNIT);
  gsize size = gst_buffer_get_size (buf);

  g_mutex_lock (&self->lock);
  if (key) {
    g_ptr_array_set_size (self->frames, 0);
    self->bytes = 0;
  }
  if (self->frames->len > 0 || key) {
    GstBuffer *first = self->frames->len ?
        g_ptr_array_index (self->frames, 0) : buf;
    GstClockTime t0 = frame_time (first), t = frame_time (buf);
    gboolean too_long = GST_CLOCK_TIME_IS_VALID (t0)
        && GST_CLOCK_TIME_IS_VALID (t) && t > t0 && t - t0 > self->max_duration;

    if (self->bytes + size > self->max_bytes || too_long) {
      GST_DEBUG_OBJECT (pad, "GOP over %" G_GSIZE_FORMAT " bytes or %"
          GST_TIME_FORMAT ": not cached", self->max_bytes,
          GST_TIME_ARGS (self->max_duration));
      g_ptr_array_set_size (self->frames, 0);
      self->bytes = 0;
    } else {
      g_ptr_array_add (self->frames, gst_buffer_ref (buf));
      self->bytes += size;
    }
  }
  g_mutex_unlock (&self->lock);
  return GST_PAD_PROBE_OK;
}

FerryGopCache *
ferry_gop_cache_install (GstElement *tee, gsize max_bytes,
    GstClockTime max_duration)
{
  FerryGopCache *self = g_atomic_rc_box_new0 (FerryGopCache);
  GstPad *pad = gst_element_get_static_pad (tee, "sink");

  init_debug ();
  self->max_bytes = max_bytes;
  self->max_duration = max_duration;
  g_mutex_init (&self->lock);
  self->frames = g_ptr_array_new_with_free_func ((GDestroyNotify)
      gst_buffer_unref);
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, cache_probe_cb,
      cache_ref (self), cache_unref);
  gst_object_unref (pad);
  g_object_set_data_full (G_OBJECT (tee), CACHE_QDATA, self, cache_unref);
  return self;
}

FerryGopCache *
ferry_gop_cache_get (GstElement *tee)
{
  return tee ? g_object_get_data (G_OBJECT (tee), CACHE_QDATA) : NULL;
}

void
ferry_gop_cache_get_stats (FerryGopCache *self, FerryGopCacheStats *out)
{
  memset (out, 0, sizeof *out);
  g_mutex_lock (&self->lock);
  out->frames = self->frames->len;
  out->bytes = self->bytes;
  out->starts = self->starts;
  if (self->frames->len > 0) {
    GstClockTime t0 = frame_time (g_ptr_array_index (self->frames, 0));
    GstClockTime t = frame_time (g_ptr_array_index (self->frames,
            self->frames->len - 1));
    if (GST_CLOCK_TIME_IS_VALID (t0) && GST_CLOCK_TIME_IS_VALID (t) && t > t0)
      out->duration = t - t0;
  }
  g_mutex_unlock (&self->lock);
}

/* The cached frames before @live (which the cache probe has just added, or not), re-timed
 * to end just before it: (transfer full) a list, or NULL when there is nothing to send —
 * no GOP cached, or @live is the keyframe itself.
 *
 * Paced at @bytes_per_s, each frame is timed when the pacer will send it: the keyframe
 * as long before @live as the whole cache takes to send, each next one later by the
 * time its predecessors take. The RTP timestamps then say what the arrival times say,
 * and a receiver sees packets arriving on time. Squeezed into a fixed 30 ms instead
 * while the pacer took 300 ms to send a 3 s GOP, the later frames looked up to 270 ms
 * late: GStreamer's jitterbuffer, retransmitting, asked for hundreds of packets that
 * were on their way and then dropped them as lost (216 of 807). Unpaced (0), the old
 * squeeze: at most 1 ms a frame, FERRY_GOP_CACHE_SQUEEZE in all. */
static GstBufferList *
take_start (FerryGopCache *self, GstBuffer *live, guint64 bytes_per_s)
{
  GstClockTime at = GST_BUFFER_PTS (live), step = 0, span = 0;
  GstBufferList *list = NULL;
  guint n = 0;
  guint64 total = 0, sent = 0;
  gboolean paced;

  if (!GST_CLOCK_TIME_IS_VALID (at))
    return NULL;
  g_mutex_lock (&self->lock);
  /* The frames before @live: the cache probe has just added it, unless the GOP outgrew
   * the bounds (then the cache is empty and the viewer waits for the next keyframe). */
  while (n < self->frames->len) {
    GstBuffer *b = g_ptr_array_index (self->frames, n);
    if (b == live || (GST_CLOCK_TIME_IS_VALID (frame_time (live))
            && frame_time (b) >= frame_time (live)))
      break;
    n++;
  }
  for (guint i = 0; i < n; i++)
    total += gst_buffer_get_size (g_ptr_array_index (self->frames, i));
  paced = bytes_per_s > 0 && total > 0;
  if (paced)                    /* never before the stream's start: then compressed */
    span = MIN (gst_util_uint64_scale (total, GST_SECOND, bytes_per_s), at);
  else if (n > 0)
    step = MIN (MIN (GST_MSECOND, FERRY_GOP_CACHE_SQUEEZE / n), at / (n + 1));
  if (n > 0) {
    list = gst_buffer_list_new_sized (n);
    for (guint i = 0; i < n; i++) {
      GstBuffer *copy = gst_buffer_copy (g_ptr_array_index (self->frames, i));
      GstClockTime t, end;

      if (paced) {
        t = at - span + gst_util_uint64_scale (sent, span, total);
        sent += gst_buffer_get_size (copy);
        end = at - span + gst_util_uint64_scale (sent, span, total);
      } else {
        t = at - (n - i) * step;
        end = t + step;
      }
      GST_BUFFER_PTS (copy) = GST_BUFFER_DTS (copy) = t;
      GST_BUFFER_DURATION (copy) = end - t;
      gst_buffer_list_add (list, copy);
    }
    self->starts++;
  }
  g_mutex_unlock (&self->lock);
  return list;
}

/* ------------------------------------------------------------------------- */

enum
{
  GATE_CLOSED,                  /* drop: the viewer cannot receive yet */
  GATE_OPENING,                 /* the next frame brings the cached GOP along */
  GATE_OPEN,
};

struct _FerryGate
{
  FerryGopCache *cache;         /* owned ref, or NULL */
  GstPad *target;               /* owned ref */
  gint state;                   /* atomic */
  guint cached_frames;          /* atomic */
  gint unpaced;                 /* atomic: cached frames the pacer has still to pass */
  /* the pacer's, on the branch queue's thread only */
  guint64 pace_bytes_per_s;
  gint64 pace_start_us;
  guint64 paced_bytes;
};

FerryGate *
ferry_gate_ref (FerryGate *self)
{
  return g_atomic_rc_box_acquire (self);
}

static void
gate_clear (gpointer data)
{
  FerryGate *self = data;

  if (self->cache)
    cache_unref (self->cache);
  gst_object_unref (self->target);
}

void
ferry_gate_unref (FerryGate *self)
{
  g_atomic_rc_box_release_full (self, gate_clear);
}

/* Streaming thread (the tee's). */
static GstPadProbeReturn
gate_probe_cb (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  FerryGate *self = data;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  GstBufferList *start;

  switch (g_atomic_int_get (&self->state)) {
    case GATE_CLOSED:
      return GST_PAD_PROBE_DROP;
    case GATE_OPENING:
      g_atomic_int_set (&self->state, GATE_OPEN);
      if (self->cache && (start = take_start (self->cache, buf,
                  self->pace_bytes_per_s)) != NULL) {
        guint n = gst_buffer_list_length (start);
        GstFlowReturn ret;

        g_atomic_int_set (&self->cached_frames, n);
        g_atomic_int_set (&self->unpaced, n);
        /* Same thread and order as the live frames; the pad's stream lock is held, the
         * target's is taken here before the live frame takes it too. */
        ret = gst_pad_chain_list (self->target, start);
        GST_DEBUG_OBJECT (pad, "started from %u cached frames: %s", n,
            gst_flow_get_name (ret));
      }
      return GST_PAD_PROBE_REMOVE;
    default:
      return GST_PAD_PROBE_REMOVE;
  }
}

FerryGate *
ferry_gate_new (FerryGopCache *cache, GstPad *pad, GstPad *target)
{
  FerryGate *self = g_atomic_rc_box_new0 (FerryGate);

  init_debug ();
  self->cache = cache ? cache_ref (cache) : NULL;
  self->target = gst_object_ref (target);
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, gate_probe_cb,
      ferry_gate_ref (self), (GDestroyNotify) ferry_gate_unref);
  return self;
}

void
ferry_gate_open (FerryGate *self)
{
  g_atomic_int_compare_and_exchange (&self->state, GATE_CLOSED, GATE_OPENING);
}

/* The branch queue's thread: the cached frames leave at the pace's rate, the first at
 * once. Only this viewer's queue waits; the tee and the other viewers do not. */
static GstPadProbeReturn
pace_probe_cb (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  FerryGate *self = data;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  gint64 now = g_get_monotonic_time (), due;

  /* The gate sets unpaced before the cached frames enter the queue, and nothing enters
   * it before them: a frame seen here with none left to pace is live, and so is all
   * that follows. */
  if (g_atomic_int_get (&self->unpaced) <= 0)
    return GST_PAD_PROBE_REMOVE;
  if (self->pace_start_us == 0)
    self->pace_start_us = now;
  due = self->pace_start_us + (gint64) (self->paced_bytes * G_USEC_PER_SEC /
      self->pace_bytes_per_s);
  /* bounded, so that a branch being torn down never waits long for this thread */
  if (due > now)
    g_usleep (MIN (due - now, 50 * G_TIME_SPAN_MILLISECOND));
  self->paced_bytes += gst_buffer_get_size (buf);
  g_atomic_int_add (&self->unpaced, -1);
  return GST_PAD_PROBE_OK;
}

void
ferry_gate_pace (FerryGate *self, GstPad *pad, guint kbps)
{
  if (kbps == 0)
    return;
  self->pace_bytes_per_s = (guint64) kbps * 1000 / 8;
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, pace_probe_cb,
      ferry_gate_ref (self), (GDestroyNotify) ferry_gate_unref);
}

guint
ferry_gate_get_cached_frames (FerryGate *self)
{
  return g_atomic_int_get (&self->cached_frames);
}

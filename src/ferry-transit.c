/* ferry-transit.c — see ferry-transit.h. */
#include "ferry-transit.h"

GST_DEBUG_CATEGORY_STATIC (ferry_transit_debug);
#define GST_CAT_DEFAULT ferry_transit_debug

/* Arrivals remembered: 17 s at 30 fps, far more than a frame spends inside Ferry. */
#define RING 512

/* Histogram in µs: 10 µs steps below 1 ms, 100 µs below 10 ms, 1 ms below 100 ms, 10 ms
 * below 3 s, then one bucket for the rest. Percentiles are read at the bucket's middle. */
#define N_BUCKETS 571

typedef struct
{
  guint32 rt90k;                /* running time in 90 kHz units, as the payloader's */
  gint64 arrival_us;            /* monotonic */
} Arrival;

struct _FerryTransit
{
  GMutex lock;
  Arrival ring[RING];
  guint next, len;
};

struct _FerryTransitMeter
{
  gint ref;
  FerryTransit *transit;        /* borrowed from video_tee */
  GstElement *video_tee;        /* owned ref: keeps @transit alive */
  guint pt;
  guint32 ts_offset;
  /* the egress thread's own */
  gboolean have_last;
  guint32 last_ts;
  gint64 last_arrival_us;       /* of last_ts's frame; -1 = not found */
  /* read by the main context */
  GMutex lock;
  guint64 packets, sum_us, max_us;
  guint32 buckets[N_BUCKETS];
};

struct _FerryTransitSum
{
  guint64 packets, sum_us, max_us;
  guint64 buckets[N_BUCKETS];
};

static void
init_debug (void)
{
  static gsize once;

  if (g_once_init_enter (&once)) {
    GST_DEBUG_CATEGORY_INIT (ferry_transit_debug, "ferry-transit", 0,
        "Ferry transit delay");
    g_once_init_leave (&once, 1);
  }
}

static guint
bucket_of (guint64 us)
{
  if (us < 1000)
    return us / 10;
  if (us < 10000)
    return 100 + (us - 1000) / 100;
  if (us < 100000)
    return 190 + (us - 10000) / 1000;
  if (us < 3000000)
    return 280 + (us - 100000) / 10000;
  return N_BUCKETS - 1;
}

/* the middle of bucket @b, in µs */
static double
bucket_mid (guint b)
{
  if (b < 100)
    return b * 10 + 5;
  if (b < 190)
    return 1000 + (b - 100) * 100 + 50;
  if (b < 280)
    return 10000 + (b - 190) * 1000 + 500;
  if (b < N_BUCKETS - 1)
    return 100000 + (b - 280) * 10000 + 5000;
  return 3000000;
}

static guint32
to_90k (GstClockTime rt)
{
  /* exactly what GstRTPBasePayload does with a buffer's running time */
  return (guint32) gst_util_uint64_scale_int (rt, 90000, GST_SECOND);
}

/* source streaming thread */
static GstPadProbeReturn
arrival_probe (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  FerryTransit *self = data;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  g_autoptr (GstEvent) ev = NULL;
  const GstSegment *seg;
  GstClockTime rt;

  if (!GST_BUFFER_PTS_IS_VALID (buf))
    return GST_PAD_PROBE_OK;
  ev = gst_pad_get_sticky_event (pad, GST_EVENT_SEGMENT, 0);
  if (ev == NULL)
    return GST_PAD_PROBE_OK;
  gst_event_parse_segment (ev, &seg);
  if (seg->format != GST_FORMAT_TIME)
    return GST_PAD_PROBE_OK;
  rt = gst_segment_to_running_time (seg, GST_FORMAT_TIME, GST_BUFFER_PTS (buf));
  if (!GST_CLOCK_TIME_IS_VALID (rt))
    return GST_PAD_PROBE_OK;
  g_mutex_lock (&self->lock);
  self->ring[self->next].rt90k = to_90k (rt);
  self->ring[self->next].arrival_us = g_get_monotonic_time ();
  self->next = (self->next + 1) % RING;
  self->len = MIN (self->len + 1, RING);
  g_mutex_unlock (&self->lock);
  return GST_PAD_PROBE_OK;
}

static void
transit_free (gpointer data)
{
  FerryTransit *self = data;

  g_mutex_clear (&self->lock);
  g_free (self);
}

void
ferry_transit_install (GstElement *video_tee, GstPad *arrival_pad)
{
  FerryTransit *self = g_new0 (FerryTransit, 1);

  init_debug ();
  g_mutex_init (&self->lock);
  g_object_set_data_full (G_OBJECT (video_tee), "ferry-transit", self,
      transit_free);
  gst_pad_add_probe (arrival_pad, GST_PAD_PROBE_TYPE_BUFFER, arrival_probe,
      self, NULL);
}

FerryTransit *
ferry_transit_get (GstElement *video_tee)
{
  return video_tee ? g_object_get_data (G_OBJECT (video_tee), "ferry-transit")
      : NULL;
}

/* egress thread: when the frame with running time @rt90k arrived, or -1 */
static gint64
lookup (FerryTransit *self, guint32 rt90k)
{
  gint64 found = -1;

  g_mutex_lock (&self->lock);
  /* newest first: a frame on its way out is one of the last few */
  for (guint i = 1; i <= self->len; i++) {
    const Arrival *a = &self->ring[(self->next + RING - i) % RING];

    if (a->rt90k == rt90k) {
      found = a->arrival_us;
      break;
    }
  }
  g_mutex_unlock (&self->lock);
  return found;
}

/* The meter keeps the tee (the transit's owner): its egress probe may run until the
 * viewer's bin is NULL, and the stream's pipeline may drop the tee first. */
FerryTransitMeter *
ferry_transit_meter_new (GstElement *video_tee, guint pt, guint32 ts_offset)
{
  FerryTransit *transit = ferry_transit_get (video_tee);
  FerryTransitMeter *self;

  if (transit == NULL)
    return NULL;
  self = g_new0 (FerryTransitMeter, 1);
  self->ref = 1;
  self->transit = transit;
  self->video_tee = gst_object_ref (video_tee);
  self->pt = pt;
  self->ts_offset = ts_offset;
  self->last_arrival_us = -1;
  g_mutex_init (&self->lock);
  return self;
}

FerryTransitMeter *
ferry_transit_meter_ref (FerryTransitMeter *self)
{
  g_atomic_int_inc (&self->ref);
  return self;
}

void
ferry_transit_meter_unref (FerryTransitMeter *self)
{
  if (!g_atomic_int_dec_and_test (&self->ref))
    return;
  gst_clear_object (&self->video_tee);
  g_mutex_clear (&self->lock);
  g_free (self);
}

static void
meter_packet (FerryTransitMeter *self, GstBuffer *buf, gint64 now_us)
{
  guint8 h[8];
  guint32 ts;
  guint64 us;

  if (gst_buffer_extract (buf, 0, h, sizeof h) < sizeof h)
    return;
  /* RTP version 2 with the video payload type (RTCP's 200-206 never match a dynamic
   * one; RTX packets have their own) */
  if ((h[0] >> 6) != 2 || (h[1] & 0x7f) != self->pt)
    return;
  ts = GST_READ_UINT32_BE (h + 4);
  if (!self->have_last || ts != self->last_ts) {
    self->have_last = TRUE;
    self->last_ts = ts;
    self->last_arrival_us = lookup (self->transit, ts - self->ts_offset);
  }
  if (self->last_arrival_us < 0 || now_us < self->last_arrival_us)
    return;
  us = now_us - self->last_arrival_us;
  g_mutex_lock (&self->lock);
  self->packets++;
  self->sum_us += us;
  self->max_us = MAX (self->max_us, us);
  self->buckets[bucket_of (us)]++;
  g_mutex_unlock (&self->lock);
}

static gboolean
meter_list_item (GstBuffer **buf, guint idx, gpointer data)
{
  gpointer *args = data;

  meter_packet (args[0], *buf, *(gint64 *) args[1]);
  return TRUE;
}

/* a viewer's sending thread, just before the packet goes to the socket */
static GstPadProbeReturn
egress_probe (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  gint64 now = g_get_monotonic_time ();

  if (info->type & GST_PAD_PROBE_TYPE_BUFFER)
    meter_packet (data, GST_PAD_PROBE_INFO_BUFFER (info), now);
  else if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST) {
    gpointer args[2] = { data, &now };

    gst_buffer_list_foreach (GST_PAD_PROBE_INFO_BUFFER_LIST (info),
        meter_list_item, args);
  }
  return GST_PAD_PROBE_OK;
}

void
ferry_transit_meter_watch (FerryTransitMeter *self, GstElement *nicesink)
{
  g_autoptr (GstPad) sink = gst_element_get_static_pad (nicesink, "sink");

  if (sink == NULL || g_object_get_data (G_OBJECT (nicesink), "ferry-transit"))
    return;
  g_object_set_data (G_OBJECT (nicesink), "ferry-transit", self);
  gst_pad_add_probe (sink, GST_PAD_PROBE_TYPE_BUFFER |
      GST_PAD_PROBE_TYPE_BUFFER_LIST, egress_probe,
      ferry_transit_meter_ref (self), (GDestroyNotify) ferry_transit_meter_unref);
  GST_DEBUG ("measuring transit at %" GST_PTR_FORMAT, nicesink);
}

FerryTransitSum *
ferry_transit_sum_new (void)
{
  return g_new0 (FerryTransitSum, 1);
}

void
ferry_transit_sum_add (FerryTransitSum *sum, FerryTransitMeter *meter)
{
  g_mutex_lock (&meter->lock);
  sum->packets += meter->packets;
  sum->sum_us += meter->sum_us;
  sum->max_us = MAX (sum->max_us, meter->max_us);
  for (guint i = 0; i < N_BUCKETS; i++)
    sum->buckets[i] += meter->buckets[i];
  g_mutex_unlock (&meter->lock);
}

static double
percentile_ms (const FerryTransitSum *sum, double p)
{
  guint64 want = (guint64) ((double) sum->packets * p), seen = 0;

  for (guint i = 0; i < N_BUCKETS; i++) {
    seen += sum->buckets[i];
    if (seen > want)
      return MIN (bucket_mid (i), (double) sum->max_us) / 1000.0;
  }
  return sum->max_us / 1000.0;
}

void
ferry_transit_sum_get (FerryTransitSum *sum, FerryTransitStats *out)
{
  out->packets = sum->packets;
  out->mean_ms = sum->packets ? (double) sum->sum_us / sum->packets / 1000.0 : 0;
  out->p50_ms = sum->packets ? percentile_ms (sum, 0.50) : 0;
  out->p99_ms = sum->packets ? percentile_ms (sum, 0.99) : 0;
  out->max_ms = sum->max_us / 1000.0;
}

void
ferry_transit_sum_free (FerryTransitSum *sum)
{
  g_free (sum);
}

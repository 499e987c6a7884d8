/* Ferry test peer: A/V sync from marks in the decoded content (see peer-sync.h). */
#include "peer-sync.h"

#define MAX_MARKS 1024
/* A flash and a tone onset further apart than this are not the same mark. */
#define PAIR_WINDOW (400 * GST_MSECOND)

struct _PeerSync
{
  GArray *marks[2];             /* GstClockTime running times: [0] video, [1] audio */
  GArray *sender_reports;       /* GstClockTime: each jitterbuffer's first SR */
};

#define MAX_SENDER_REPORTS 32

PeerSync *
peer_sync_new (void)
{
  PeerSync *self = g_new0 (PeerSync, 1);

  for (guint i = 0; i < 2; i++)
    self->marks[i] = g_array_new (FALSE, FALSE, sizeof (GstClockTime));
  self->sender_reports = g_array_new (FALSE, FALSE, sizeof (GstClockTime));
  return self;
}

void
peer_sync_free (PeerSync * self)
{
  for (guint i = 0; i < 2; i++)
    g_array_unref (self->marks[i]);
  g_array_unref (self->sender_reports);
  g_free (self);
}

gboolean
peer_sync_video_flash (PeerSyncVideo * st, GstBuffer * buf, gint width,
    gint height)
{
  GstMapInfo map;
  guint stride = GST_ROUND_UP_4 (width), sum = 0, n = 0;
  gboolean flash = FALSE;

  if (width <= 0 || height <= 0 || !gst_buffer_map (buf, &map, GST_MAP_READ))
    return FALSE;
  if (map.size >= (gsize) stride * height) {
    /* an 8×8 grid of luma samples is plenty for a full-frame flash */
    for (gint r = 0; r < 8; r++)
      for (gint c = 0; c < 8; c++) {
        sum += map.data[(gsize) ((2 * r + 1) * height / 16) * stride
            + (2 * c + 1) * width / 16];
        n++;
      }
  }
  gst_buffer_unmap (buf, &map);
  if (n == 0)
    return FALSE;
  if (sum / n > 180) {
    flash = st->dark;
    st->dark = FALSE;
  } else if (sum / n < 60) {
    st->dark = TRUE;
  }
  return flash;
}

gint64
peer_sync_audio_onset (PeerSyncAudio * st, GstBuffer * buf, gint rate,
    gint channels)
{
  GstMapInfo map;
  gint64 onset = -1;
  gsize frames;

  if (rate <= 0 || channels <= 0 || !gst_buffer_map (buf, &map, GST_MAP_READ))
    return -1;
  frames = map.size / (2 * channels);
  for (gsize i = 0; i < frames; i++) {
    gint v = ABS ((gint) (gint16) GST_READ_UINT16_LE (map.data + 2 * channels * i));
    if (v < 300) {
      st->quiet++;
    } else if (v > 6000) {
      if (onset < 0 && st->quiet >= (guint64) rate * 3 / 10)
        onset = i;
      st->quiet = 0;
    }
    /* in between: the codec's ramp into the tone, neither silence nor the tone */
  }
  gst_buffer_unmap (buf, &map);
  return onset;
}

void
peer_sync_add_mark (PeerSync * self, gboolean video, GstClockTime running)
{
  GArray *a = self->marks[video ? 0 : 1];

  if (GST_CLOCK_TIME_IS_VALID (running) && a->len < MAX_MARKS)
    g_array_append_val (a, running);
}

void
peer_sync_add_sender_report (PeerSync * self, GstClockTime running)
{
  if (GST_CLOCK_TIME_IS_VALID (running)
      && self->sender_reports->len < MAX_SENDER_REPORTS)
    g_array_append_val (self->sender_reports, running);
}

void
peer_sync_add_to_json (PeerSync * self, JsonBuilder * b)
{
  GArray *v = self->marks[0], *a = self->marks[1];
  g_autoptr (GArray) offsets = g_array_new (FALSE, FALSE, sizeof (gdouble));
  g_autoptr (GArray) times = g_array_new (FALSE, FALSE, sizeof (gdouble));
  gdouble sum = 0, min = G_MAXDOUBLE, max = -G_MAXDOUBLE;

  for (guint i = 0; i < v->len; i++) {
    GstClockTime vt = g_array_index (v, GstClockTime, i);
    GstClockTimeDiff best = G_MAXINT64;
    for (guint j = 0; j < a->len; j++) {
      GstClockTimeDiff d = GST_CLOCK_DIFF (vt, g_array_index (a, GstClockTime,
              j));
      if (ABS (d) < ABS (best))
        best = d;
    }
    if (best != G_MAXINT64 && ABS (best) <= (GstClockTimeDiff) PAIR_WINDOW) {
      gdouble ms = (gdouble) best / GST_MSECOND;
      gdouble at = (gdouble) vt / GST_SECOND;
      g_array_append_val (offsets, ms);
      g_array_append_val (times, at);
      sum += ms;
      min = MIN (min, ms);
      max = MAX (max, ms);
    }
  }
  json_builder_set_member_name (b, "videoMarks");
  json_builder_add_int_value (b, v->len);
  json_builder_set_member_name (b, "audioMarks");
  json_builder_add_int_value (b, a->len);
  json_builder_set_member_name (b, "pairs");
  json_builder_add_int_value (b, offsets->len);
  json_builder_set_member_name (b, "offsetMs");
  if (offsets->len == 0) {
    json_builder_add_null_value (b);
  } else {
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "mean");
    json_builder_add_double_value (b, sum / offsets->len);
    json_builder_set_member_name (b, "min");
    json_builder_add_double_value (b, min);
    json_builder_set_member_name (b, "max");
    json_builder_add_double_value (b, max);
    json_builder_end_object (b);
  }
  json_builder_set_member_name (b, "offsetsMs");
  json_builder_begin_array (b);
  for (guint i = 0; i < offsets->len; i++)
    json_builder_add_double_value (b, g_array_index (offsets, gdouble, i));
  json_builder_end_array (b);
  /* when each pair was seen (the flash's running time): a test tells the pairs before
   * and after an outage apart by the gap */
  json_builder_set_member_name (b, "pairsAtS");
  json_builder_begin_array (b);
  for (guint i = 0; i < times->len; i++)
    json_builder_add_double_value (b, g_array_index (times, gdouble, i));
  json_builder_end_array (b);
  /* pairs before the later of the audio and video entries are not lip-synced yet:
   * the receiver had no sender report of both tracks */
  json_builder_set_member_name (b, "senderReportAtS");
  json_builder_begin_array (b);
  for (guint i = 0; i < self->sender_reports->len; i++)
    json_builder_add_double_value (b,
        (gdouble) g_array_index (self->sender_reports, GstClockTime,
            i) / GST_SECOND);
  json_builder_end_array (b);
}

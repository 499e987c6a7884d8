/* Unit tests for ferry-gop-cache.c: what the cache keeps, and what a gate sends when it
 * opens. Buffers are pushed straight into a tee in a playing pipeline (no source), and a
 * fakesink behind the gate collects what a viewer would get. */
#include <gst/gst.h>
#include "ferry-gop-cache.h"

#define FRAME (GST_SECOND / 30)

typedef struct
{
  GstElement *pipeline, *tee, *sink;
  GstPad *tee_sink;
  FerryGopCache *cache;
  FerryGate *gate;
  GPtrArray *got;               /* GstBuffer* the sink received */
} Fixture;

static void
on_handoff (GstElement *sink, GstBuffer *buf, GstPad *pad, gpointer data)
{
  Fixture *f = data;
  g_ptr_array_add (f->got, gst_buffer_ref (buf));
}

static void
fixture_init (Fixture *f, gsize max_bytes, GstClockTime max_duration)
{
  GstElement *bin = gst_bin_new ("viewer");
  GstPad *target, *ghost;
  GstSegment seg;
  g_autoptr (GstCaps) caps = gst_caps_from_string ("video/x-h264");

  f->got = g_ptr_array_new_with_free_func ((GDestroyNotify) gst_buffer_unref);
  f->pipeline = gst_pipeline_new (NULL);
  f->tee = gst_element_factory_make ("tee", NULL);
  f->sink = gst_element_factory_make ("fakesink", NULL);
  g_object_set (f->sink, "sync", FALSE, "signal-handoffs", TRUE, NULL);
  g_signal_connect (f->sink, "handoff", G_CALLBACK (on_handoff), f);
  gst_bin_add (GST_BIN (bin), f->sink);
  target = gst_element_get_static_pad (f->sink, "sink");
  ghost = gst_ghost_pad_new ("video_sink", target);
  gst_element_add_pad (bin, ghost);
  gst_bin_add_many (GST_BIN (f->pipeline), f->tee, bin, NULL);
  g_assert_true (gst_element_link (f->tee, bin));
  f->cache = ferry_gop_cache_install (f->tee, max_bytes, max_duration);
  f->gate = ferry_gate_new (f->cache, ghost, target);
  gst_object_unref (target);
  g_assert_cmpint (gst_element_set_state (f->pipeline, GST_STATE_PLAYING), !=,
      GST_STATE_CHANGE_FAILURE);
  f->tee_sink = gst_element_get_static_pad (f->tee, "sink");
  g_assert_true (gst_pad_send_event (f->tee_sink,
          gst_event_new_stream_start ("s")));
  g_assert_true (gst_pad_send_event (f->tee_sink, gst_event_new_caps (caps)));
  gst_segment_init (&seg, GST_FORMAT_TIME);
  g_assert_true (gst_pad_send_event (f->tee_sink, gst_event_new_segment (&seg)));
}

static void
fixture_clear (Fixture *f)
{
  gst_element_set_state (f->pipeline, GST_STATE_NULL);
  gst_object_unref (f->tee_sink);
  ferry_gate_unref (f->gate);
  gst_object_unref (f->pipeline);
  g_ptr_array_unref (f->got);
}

/* Pushes frame @i (at i × 1/30 s), a keyframe when @key, of @size bytes. */
static void
push (Fixture *f, guint i, gboolean key, gsize size)
{
  GstBuffer *buf = gst_buffer_new_allocate (NULL, size, NULL);

  GST_BUFFER_PTS (buf) = GST_BUFFER_DTS (buf) = GST_SECOND + i * FRAME;
  GST_BUFFER_DURATION (buf) = FRAME;
  if (!key)
    GST_BUFFER_FLAG_SET (buf, GST_BUFFER_FLAG_DELTA_UNIT);
  g_assert_cmpint (gst_pad_chain (f->tee_sink, buf), ==, GST_FLOW_OK);
}

static FerryGopCacheStats
stats (Fixture *f)
{
  FerryGopCacheStats st;
  ferry_gop_cache_get_stats (f->cache, &st);
  return st;
}

/* The cache holds the frames from the last keyframe; before the first keyframe nothing. */
static void
test_keeps_gop (void)
{
  Fixture f;

  fixture_init (&f, 1 << 20, 10 * GST_SECOND);
  push (&f, 0, FALSE, 100);
  g_assert_cmpuint (stats (&f).frames, ==, 0);
  push (&f, 1, TRUE, 1000);
  for (guint i = 2; i < 10; i++)
    push (&f, i, FALSE, 100);
  g_assert_cmpuint (stats (&f).frames, ==, 9);
  g_assert_cmpuint (stats (&f).bytes, ==, 1800);
  g_assert_cmpuint (stats (&f).duration, ==, 8 * FRAME);
  push (&f, 10, TRUE, 1000);
  g_assert_cmpuint (stats (&f).frames, ==, 1);
  /* the gate is closed: nothing reached the viewer */
  g_assert_cmpuint (f.got->len, ==, 0);
  fixture_clear (&f);
}

/* A GOP over the byte or time bound is dropped whole, until the next keyframe. */
static void
test_bounds (void)
{
  Fixture f;

  fixture_init (&f, 1000, 10 * GST_SECOND);
  push (&f, 0, TRUE, 500);
  push (&f, 1, FALSE, 400);
  g_assert_cmpuint (stats (&f).frames, ==, 2);
  push (&f, 2, FALSE, 400);
  g_assert_cmpuint (stats (&f).frames, ==, 0);
  push (&f, 3, FALSE, 10);
  g_assert_cmpuint (stats (&f).frames, ==, 0);
  push (&f, 4, TRUE, 10);
  g_assert_cmpuint (stats (&f).frames, ==, 1);
  fixture_clear (&f);

  fixture_init (&f, 1 << 20, 10 * FRAME);
  push (&f, 0, TRUE, 10);
  for (guint i = 1; i <= 10; i++)
    push (&f, i, FALSE, 10);
  g_assert_cmpuint (stats (&f).frames, ==, 11);
  push (&f, 11, FALSE, 10);
  g_assert_cmpuint (stats (&f).frames, ==, 0);
  fixture_clear (&f);
}

/* Opened mid-GOP, the gate sends the cached GOP (keyframe first) ahead of the next live
 * frame, squeezed into the FERRY_GOP_CACHE_SQUEEZE before it, in order; then live frames as they come. */
static void
test_gate_starts_from_keyframe (void)
{
  Fixture f;
  GstClockTime live_pts = GST_SECOND + 40 * FRAME, prev = 0;

  fixture_init (&f, 1 << 20, 10 * GST_SECOND);
  push (&f, 0, TRUE, 1000);
  for (guint i = 1; i < 40; i++)
    push (&f, i, FALSE, 100);
  g_assert_cmpuint (f.got->len, ==, 0);
  ferry_gate_open (f.gate);
  push (&f, 40, FALSE, 100);
  g_assert_cmpuint (f.got->len, ==, 41);
  g_assert_cmpuint (ferry_gate_get_cached_frames (f.gate), ==, 40);
  g_assert_cmpuint (stats (&f).starts, ==, 1);
  g_assert_false (GST_BUFFER_FLAG_IS_SET (g_ptr_array_index (f.got, 0),
          GST_BUFFER_FLAG_DELTA_UNIT));
  g_assert_cmpuint (gst_buffer_get_size (g_ptr_array_index (f.got, 0)), ==,
      1000);
  for (guint i = 0; i < f.got->len; i++) {
    GstBuffer *b = g_ptr_array_index (f.got, i);
    g_assert_true (i == 0 || GST_BUFFER_PTS (b) > prev);
    g_assert_cmpuint (GST_BUFFER_PTS (b), >=,
        live_pts - FERRY_GOP_CACHE_SQUEEZE);
    prev = GST_BUFFER_PTS (b);
  }
  g_assert_cmpuint (GST_BUFFER_PTS (g_ptr_array_index (f.got, 40)), ==,
      live_pts);
  push (&f, 41, FALSE, 100);
  g_assert_cmpuint (f.got->len, ==, 42);
  fixture_clear (&f);
}

/* Opened on a keyframe or with nothing cached, the gate just lets live frames through. */
static void
test_gate_without_cache (void)
{
  Fixture f;

  fixture_init (&f, 1 << 20, 10 * GST_SECOND);
  push (&f, 0, TRUE, 1000);
  ferry_gate_open (f.gate);
  push (&f, 1, TRUE, 1000);
  g_assert_cmpuint (f.got->len, ==, 1);
  g_assert_cmpuint (ferry_gate_get_cached_frames (f.gate), ==, 0);
  fixture_clear (&f);

  fixture_init (&f, 100, 10 * GST_SECOND);
  push (&f, 0, TRUE, 1000);     /* over the bound: not cached */
  push (&f, 1, FALSE, 10);
  ferry_gate_open (f.gate);
  push (&f, 2, FALSE, 10);
  g_assert_cmpuint (f.got->len, ==, 1);
  g_assert_cmpuint (stats (&f).starts, ==, 0);
  fixture_clear (&f);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/gop-cache/keeps-gop", test_keeps_gop);
  g_test_add_func ("/gop-cache/bounds", test_bounds);
  g_test_add_func ("/gop-cache/gate-starts-from-keyframe",
      test_gate_starts_from_keyframe);
  g_test_add_func ("/gop-cache/gate-without-cache", test_gate_without_cache);
  return g_test_run ();
}

/* Unit tests for ferry-mp4.c: probing recordings made by mp4mux in-process,
 * the same files cut short at many points, and hostile files. */
#include <gio/gio.h>
#include <gst/gst.h>
#include <glib/gstdio.h>
#include "ferry-errors.h"
#include "ferry-mp4.h"

#include <string.h>

#define VIDEO "videotestsrc num-buffers=150 ! video/x-raw,framerate=30/1," \
  "width=320,height=240 ! x264enc key-int-max=30 bframes=0 " \
  "speed-preset=ultrafast ! h264parse ! m. "
/* 215 buffers of 1024 samples at 44.1 kHz: 4.99 s */
#define AUDIO "audiotestsrc num-buffers=215 ! avenc_aac ! aacparse ! m. "
#define FRAGMENTED "mp4mux name=m fragment-duration=1000"

static char *tmp_dir;

/* Runs @launch to EOS, with "filesink location=@name" appended; returns the
 * file's path. Each file is made once per run. (transfer none) */
static const char *
sample (const char *name, const char *launch)
{
  static GHashTable *made;
  g_autoptr (GstElement) pipeline = NULL;
  g_autoptr (GstBus) bus = NULL;
  g_autoptr (GstMessage) msg = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *desc = NULL;
  char *path;

  if (made == NULL)
    made = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  path = g_hash_table_lookup (made, name);
  if (path != NULL)
    return path;

  path = g_build_filename (tmp_dir, name, NULL);
  desc = g_strdup_printf ("%s ! filesink location=\"%s\"", launch, path);
  pipeline = gst_parse_launch (desc, &error);
  g_assert_no_error (error);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  bus = gst_element_get_bus (pipeline);
  msg = gst_bus_timed_pop_filtered (bus, 30 * GST_SECOND,
      GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  g_assert_nonnull (msg);
  g_assert_cmpint (GST_MESSAGE_TYPE (msg), ==, GST_MESSAGE_EOS);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  g_hash_table_insert (made, g_strdup (name), path);
  return path;
}

static const char *
fragmented_av (void)
{
  return sample ("av.mp4", VIDEO AUDIO FRAGMENTED);
}

/* Writes @len bytes of @data to a new file in the temp dir. (transfer full) */
static char *
write_file (const char *name, const void *data, gsize len)
{
  char *path = g_build_filename (tmp_dir, name, NULL);
  g_autoptr (GError) error = NULL;

  g_assert_true (g_file_set_contents (path, data, len, &error));
  g_assert_no_error (error);
  return path;
}

static void
probe_ok (const char *path, FerryMp4Info * info)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (ferry_mp4_probe (path, info, &error));
  g_assert_no_error (error);
}

static void
test_fragmented_av (void)
{
  FerryMp4Info info;

  probe_ok (fragmented_av (), &info);
  /* ffprobe says 5.015510: the audio track, 216 AAC frames of 1024 samples
   * (mp4mux adds one for the encoder delay). */
  g_assert_cmpfloat_with_epsilon (info.duration_s, 5.0, 0.2);
  g_assert_true (info.has_video);
  g_assert_true (info.has_audio);
  g_assert_cmpstr (info.video_codec, ==, "avc1");
  g_assert_cmpstr (info.audio_codec, ==, "mp4a");
  g_assert_cmpuint (info.n_fragments, >=, 4);
  g_assert_false (info.truncated);
  g_assert_true (info.finalized);       /* ends with mfra / complete moov */
}

/* Cross-check with ffprobe when it is installed; the test does not need it. */
static void
test_ffprobe (void)
{
  g_autofree char *ffprobe = g_find_program_in_path ("ffprobe");
  g_autofree char *out = NULL;
  g_autoptr (GError) error = NULL;
  FerryMp4Info info;
  gint status;

  if (ffprobe == NULL) {
    g_test_skip ("ffprobe is not installed");
    return;
  }
  {
    const char *argv[] = { ffprobe, "-v", "error", "-show_entries",
      "format=duration", "-of", "csv=p=0", fragmented_av (), NULL
    };
    g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL,
            G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out, NULL, &status,
            &error));
  }
  g_assert_no_error (error);
  probe_ok (fragmented_av (), &info);
  g_test_message ("ferry_mp4_probe %.6f s, ffprobe %s", info.duration_s, out);
  g_assert_cmpfloat_with_epsilon (info.duration_s, g_ascii_strtod (out, NULL),
      0.001);
}

static void
test_video_only (void)
{
  FerryMp4Info info;

  probe_ok (sample ("v.mp4", VIDEO FRAGMENTED), &info);
  g_assert_cmpfloat_with_epsilon (info.duration_s, 5.0, 0.001);
  g_assert_true (info.has_video);
  g_assert_false (info.has_audio);
  g_assert_cmpstr (info.video_codec, ==, "avc1");
  g_assert_cmpstr (info.audio_codec, ==, "");
  g_assert_cmpuint (info.n_fragments, ==, 5);
  g_assert_false (info.truncated);
  g_assert_true (info.finalized);       /* ends with mfra / complete moov */
}

static void
test_audio_only (void)
{
  FerryMp4Info info;

  probe_ok (sample ("a.mp4", AUDIO FRAGMENTED), &info);
  g_assert_cmpfloat_with_epsilon (info.duration_s, 5.0, 0.2);
  g_assert_false (info.has_video);
  g_assert_true (info.has_audio);
  g_assert_cmpstr (info.audio_codec, ==, "mp4a");
  g_assert_cmpuint (info.n_fragments, >=, 4);
  g_assert_false (info.truncated);
  g_assert_true (info.finalized);       /* ends with mfra / complete moov */
}

/* fragment-duration=0: classic layout, mdat then a moov with sample tables. */
static void
test_not_fragmented (void)
{
  FerryMp4Info info;

  probe_ok (sample ("nf.mp4", VIDEO AUDIO "mp4mux name=m"), &info);
  g_assert_cmpfloat_with_epsilon (info.duration_s, 5.0, 0.2);
  g_assert_true (info.has_video);
  g_assert_true (info.has_audio);
  g_assert_cmpuint (info.n_fragments, ==, 0);
  g_assert_false (info.truncated);
  g_assert_true (info.finalized);       /* ends with mfra / complete moov */
}

typedef struct
{
  char type[5];
  gsize off, size;
} Box;

/* The test's own top-level walk, to find where to cut. */
static GArray *
top_boxes (const guint8 * d, gsize len)
{
  GArray *boxes = g_array_new (FALSE, TRUE, sizeof (Box));

  for (gsize off = 0; off + 8 <= len;) {
    Box b = { "", off, 0 };
    guint32 be;

    memcpy (&be, d + off, 4);
    b.size = GUINT32_FROM_BE (be);
    memcpy (b.type, d + off + 4, 4);
    g_assert_cmpuint (b.size, >=, 8);   /* mp4mux uses no largesize here */
    g_array_append_val (boxes, b);
    off += b.size;
  }
  return boxes;
}

static const Box *
last_box (GArray * boxes, const char *type)
{
  for (guint i = boxes->len; i > 0; i--) {
    const Box *b = &g_array_index (boxes, Box, i - 1);
    if (strcmp (b->type, type) == 0)
      return b;
  }
  g_assert_not_reached ();
}

static void
probe_cut (const guint8 * d, gsize len, FerryMp4Info * info)
{
  g_autofree char *path = write_file ("cut.mp4", d, len);

  probe_ok (path, info);
  g_unlink (path);
}

/* Cuts the recording at named points, as kill -9 would. */
static void
test_truncated (void)
{
  g_autofree guint8 *d = NULL;
  g_autoptr (GArray) boxes = NULL;
  FerryMp4Info full, info;
  const Box *moov, *moof, *mdat;
  gsize len;

  probe_ok (fragmented_av (), &full);
  g_assert_true (g_file_get_contents (fragmented_av (), (char **) &d, &len,
          NULL));
  boxes = top_boxes (d, len);
  moov = last_box (boxes, "moov");
  moof = last_box (boxes, "moof");
  mdat = last_box (boxes, "mdat");

  /* Inside the last mdat: its moof does not count. */
  probe_cut (d, mdat->off + mdat->size / 2, &info);
  g_assert_true (info.truncated);
  g_assert_false (info.finalized);
  g_assert_cmpuint (info.n_fragments, ==, full.n_fragments - 1);
  g_assert_cmpfloat (info.duration_s, <=, full.duration_s);
  g_assert_cmpfloat (info.duration_s, >=, full.duration_s - 1.1);

  /* Right after the last moof, before its mdat. */
  probe_cut (d, moof->off + moof->size, &info);
  g_assert_true (info.truncated);
  g_assert_false (info.finalized);
  g_assert_cmpuint (info.n_fragments, ==, full.n_fragments - 1);
  g_assert_cmpfloat (info.duration_s, <=, full.duration_s);

  /* Inside the last moof. */
  probe_cut (d, moof->off + moof->size / 2, &info);
  g_assert_true (info.truncated);
  g_assert_false (info.finalized);
  g_assert_cmpuint (info.n_fragments, ==, full.n_fragments - 1);

  /* Mid-moov: nothing playable, but still recognisably an MP4. */
  probe_cut (d, moov->off + moov->size / 2, &info);
  g_assert_true (info.truncated);
  g_assert_false (info.finalized);
  g_assert_cmpuint (info.n_fragments, ==, 0);
  g_assert_cmpfloat (info.duration_s, ==, 0);

  /* At 60 % of 5 s, fragments of 1 s up to at least 2 s are complete. */
  probe_cut (d, len * 6 / 10, &info);
  g_assert_true (info.truncated);
  g_assert_false (info.finalized);
  g_assert_true (info.has_video && info.has_audio);
  g_assert_cmpfloat (info.duration_s, >=, 2.0);
  g_assert_cmpfloat (info.duration_s, <=, full.duration_s);
}

/* Cuts around every top-level box: the duration and the fragment count only
 * grow with the cut, and never pass the full file's. */
static void
test_truncated_sweep (void)
{
  g_autofree guint8 *d = NULL;
  g_autoptr (GArray) boxes = NULL;
  FerryMp4Info full, info;
  gdouble last_duration = 0;
  guint last_fragments = 0;
  gsize len;

  probe_ok (fragmented_av (), &full);
  g_assert_true (g_file_get_contents (fragmented_av (), (char **) &d, &len,
          NULL));
  boxes = top_boxes (d, len);
  for (guint i = 0; i < boxes->len; i++) {
    const Box *b = &g_array_index (boxes, Box, i);
    gsize cuts[] = { 3, 8, 12, b->size / 2, b->size - 1 };

    for (guint j = 0; j < G_N_ELEMENTS (cuts); j++) {
      if (cuts[j] >= b->size || b->off + cuts[j] < 8)
        continue;
      probe_cut (d, b->off + cuts[j], &info);
      g_assert_true (info.truncated);
      g_assert_false (info.finalized);
      g_assert_cmpfloat (info.duration_s, >=, last_duration);
      g_assert_cmpfloat (info.duration_s, <=, full.duration_s);
      g_assert_cmpuint (info.n_fragments, >=, last_fragments);
      g_assert_cmpuint (info.n_fragments, <=, full.n_fragments);
      last_duration = info.duration_s;
      last_fragments = info.n_fragments;
    }
  }
  g_assert_cmpfloat (last_duration, ==, full.duration_s);
}

/* Probes @data; an error must be FERRY_ERROR_INVALID_PARAMETER. Returns whether
 * @info was filled. */
static gboolean
probe_garbage (const char *name, const void *data, gsize len,
    FerryMp4Info * info)
{
  g_autofree char *path = write_file (name, data, len);
  g_autoptr (GError) error = NULL;
  gboolean ok = ferry_mp4_probe (path, info, &error);

  if (ok)
    g_assert_no_error (error);
  else
    g_assert_error (error, FERRY_ERROR, FERRY_ERROR_INVALID_PARAMETER);
  g_unlink (path);
  return ok;
}

static const guint8 ftyp[] = {
  0, 0, 0, 16, 'f', 't', 'y', 'p', 'i', 's', 'o', 'm', 0, 0, 2, 0
};

static void
put_box (GByteArray * a, guint32 size, const char *type)
{
  guint32 be = GUINT32_TO_BE (size);

  g_byte_array_append (a, (guint8 *) & be, 4);
  g_byte_array_append (a, (const guint8 *) type, 4);
}

static void
test_garbage (void)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (42);
  g_autoptr (GByteArray) a = g_byte_array_new ();
  guint8 random[65536];
  guint64 huge = GUINT64_TO_BE (G_GUINT64_CONSTANT (1) << 63);
  g_autoptr (GError) error = NULL;
  g_autofree char *empty = write_file ("empty.mp4", "", 0);
  FerryMp4Info info;

  for (guint i = 0; i < sizeof random; i++)
    random[i] = g_rand_int_range (rand, 0, 256);
  g_assert_false (probe_garbage ("random.mp4", random, sizeof random, &info));

  g_assert_false (ferry_mp4_probe (empty, &info, &error));
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_INVALID_PARAMETER);
  g_unlink (empty);

  /* A moov claiming 2^63 bytes through largesize. */
  g_byte_array_append (a, ftyp, sizeof ftyp);
  put_box (a, 1, "moov");
  g_byte_array_append (a, (guint8 *) & huge, 8);
  g_byte_array_append (a, random, 1000);
  g_assert_true (probe_garbage ("huge.mp4", a->data, a->len, &info));
  g_assert_true (info.truncated);

  /* A box smaller than its own header. */
  g_byte_array_set_size (a, sizeof ftyp);
  put_box (a, 4, "moov");
  g_assert_true (probe_garbage ("tiny.mp4", a->data, a->len, &info));
  g_assert_true (info.truncated);
}

/* 100 000 nested boxes of each container type the parser knows, at the top
 * level and inside moov or moof, then 100 000 top-level boxes: bounded work,
 * no recursion blow-up, nothing playable. */
static void
test_nested (void)
{
  const char *types[] = { "moov", "trak", "mdia", "minf", "stbl", "mvex",
    "moof", "traf"
  };
  const char *parents[] = { NULL, "moov", "moof" };
  const guint n = 100000;
  g_autoptr (GByteArray) a = g_byte_array_new ();
  FerryMp4Info info;

  for (guint t = 0; t < G_N_ELEMENTS (types); t++) {
    for (guint p = 0; p < G_N_ELEMENTS (parents); p++) {
      g_byte_array_set_size (a, 0);
      g_byte_array_append (a, ftyp, sizeof ftyp);
      if (parents[p] != NULL)
        put_box (a, 8 * n + 8, parents[p]);
      for (guint i = 0; i < n; i++)
        put_box (a, 8 * (n - i), types[t]);
      if (probe_garbage ("nested.mp4", a->data, a->len, &info)) {
        g_assert_cmpfloat (info.duration_s, ==, 0);
        g_assert_false (info.has_video || info.has_audio);
      }
    }
  }

  g_byte_array_set_size (a, 0);
  g_byte_array_append (a, ftyp, sizeof ftyp);
  for (guint i = 0; i < n; i++)
    put_box (a, 8, "free");
  g_assert_true (probe_garbage ("flat.mp4", a->data, a->len, &info));
  g_assert_true (info.truncated);       /* no moov ever came */
}

/* A real header followed by a moof whose trun claims 2^32-1 samples in a few
 * bytes, and one whose tfhd names no track: no crash, no time added. */
static void
test_hostile_moof (void)
{
  g_autofree guint8 *d = NULL;
  g_autoptr (GArray) boxes = NULL;
  g_autoptr (GByteArray) a = g_byte_array_new ();
  g_autofree char *path = NULL;
  guint8 traf[] = {
    0, 0, 0, 72, 't', 'r', 'a', 'f',
    0, 0, 0, 20, 't', 'f', 'h', 'd', 0, 0, 0, 0x08, 0, 0, 0, 1, 0, 0, 0, 1,
    0, 0, 0, 16, 't', 'f', 'd', 't', 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 28, 't', 'r', 'u', 'n', 0, 0, 0x01, 0x00, 0xff, 0xff, 0xff, 0xff,
    0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3,
  };
  FerryMp4Info info;
  gsize len;

  g_assert_true (g_file_get_contents (fragmented_av (), (char **) &d, &len,
          NULL));
  boxes = top_boxes (d, len);
  len = last_box (boxes, "moov")->off + last_box (boxes, "moov")->size;
  g_byte_array_append (a, d, len);
  put_box (a, 8 + sizeof traf, "moof");
  g_byte_array_append (a, traf, sizeof traf);
  put_box (a, 8, "mdat");
  traf[23] = 99;                /* a track that does not exist */
  put_box (a, 8 + sizeof traf, "moof");
  g_byte_array_append (a, traf, sizeof traf);
  put_box (a, 8, "mdat");

  path = write_file ("hostile.mp4", a->data, a->len);
  probe_ok (path, &info);
  g_assert_cmpuint (info.n_fragments, ==, 2);
  g_assert_cmpfloat (info.duration_s, ==, 0);
  g_assert_false (info.truncated);
  g_unlink (path);
}

static void
test_not_a_file (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *missing = g_build_filename (tmp_dir, "missing.mp4", NULL);
  FerryMp4Info info;

  g_assert_false (ferry_mp4_probe (tmp_dir, &info, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_REGULAR_FILE);
  g_clear_error (&error);
  g_assert_false (ferry_mp4_probe (missing, &info, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
}

static void
remove_tmp_dir (void)
{
  g_autoptr (GDir) dir = g_dir_open (tmp_dir, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL) {
    g_autofree char *path = g_build_filename (tmp_dir, name, NULL);
    g_unlink (path);
  }
  g_rmdir (tmp_dir);
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  int ret;

  g_test_init (&argc, &argv, NULL);
  gst_init (&argc, &argv);
  tmp_dir = g_dir_make_tmp ("ferry-mp4-XXXXXX", &error);
  g_assert_no_error (error);

  g_test_add_func ("/mp4/fragmented-av", test_fragmented_av);
  g_test_add_func ("/mp4/ffprobe", test_ffprobe);
  g_test_add_func ("/mp4/video-only", test_video_only);
  g_test_add_func ("/mp4/audio-only", test_audio_only);
  g_test_add_func ("/mp4/not-fragmented", test_not_fragmented);
  g_test_add_func ("/mp4/truncated", test_truncated);
  g_test_add_func ("/mp4/truncated-sweep", test_truncated_sweep);
  g_test_add_func ("/mp4/garbage", test_garbage);
  g_test_add_func ("/mp4/nested", test_nested);
  g_test_add_func ("/mp4/hostile-moof", test_hostile_moof);
  g_test_add_func ("/mp4/not-a-file", test_not_a_file);
  ret = g_test_run ();

  remove_tmp_dir ();
  g_free (tmp_dir);
  return ret;
}

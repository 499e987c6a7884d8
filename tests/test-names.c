/* Unit tests for recording names: no stream name, uri or request may lead Ferry to
 * write or read outside the records directory (ferry-recorder.c, ferry-records.c). */
#include <gst/gst.h>
#include <string.h>
#include "ferry-recorder.h"
#include "ferry-records.h"

static gboolean
safe_chars (const char *s)
{
  for (; *s; s++)
    if (!(g_ascii_isalnum (*s) || *s == '.' || *s == '_' || *s == '-'))
      return FALSE;
  return TRUE;
}

static void
test_sanitize (void)
{
  struct
  {
    const char *in, *out;
  } cases[] = {
    {"cam1", "cam1"},
    {"../cam/1", "cam_1"},
    {"../../etc/passwd", "etc_passwd"},
    {"/abs/path", "abs_path"},
    {"rtmp://origin:1935/live/cam?token=x", "rtmp_origin_1935_live_cam_token_x"},
    {"камера ✓", "stream"},
    {"cam ✓ 2", "cam_2"},
    {"...", "stream"},
    {"", "stream"},
    {".hidden", "hidden"},
    {"a..b", "a..b"},
    {"x\x01y\x7f", "x_y"},
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autofree char *got = ferry_recorder_sanitize_name (cases[i].in);
    g_assert_cmpstr (got, ==, cases[i].out);
  }
  {
    g_autofree char *null_name = ferry_recorder_sanitize_name (NULL);
    g_autofree char *longname = g_strnfill (300, 'a');
    g_autofree char *got = ferry_recorder_sanitize_name (longname);
    g_assert_cmpstr (null_name, ==, "stream");
    g_assert_cmpuint (strlen (got), <=, 64);
    g_assert_true (safe_chars (got));
  }
}

static void
test_file_name (void)
{
  g_autoptr (GDateTime) t = g_date_time_new_utc (2026, 11, 23, 9, 8, 7);
  g_autofree char *a = ferry_recorder_file_name ("../cam/1", t, 0);
  g_autofree char *b = ferry_recorder_file_name ("cam1", t, 12);

  g_assert_cmpstr (a, ==, "cam_1_20261123-090807_000.mp4");
  g_assert_cmpstr (b, ==, "cam1_20261123-090807_012.mp4");
  /* Whatever Ferry names a file, it can serve it back. */
  g_assert_true (ferry_records_name_is_valid (a));
  g_assert_true (ferry_records_name_is_valid (b));
}

static void
test_download_names (void)
{
  const char *bad[] = { "", "..", "../x.mp4", "/etc/passwd", "a/b.mp4",
    ".hidden.mp4", "x.txt", "x.mp4.txt", "x .mp4", "x%2F.mp4", "x\\y.mp4",
    "кам.mp4", NULL
  };
  g_autofree char *longname = g_strnfill (300, 'a');
  g_autofree char *too_long = g_strconcat (longname, ".mp4", NULL);

  for (const char **p = bad; *p; p++)
    g_assert_false (ferry_records_name_is_valid (*p));
  g_assert_false (ferry_records_name_is_valid (NULL));
  g_assert_false (ferry_records_name_is_valid (too_long));
  g_assert_true (ferry_records_name_is_valid ("cam1_20261123-090807_000.mp4"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  gst_init (&argc, &argv);
  g_test_add_func ("/names/sanitize", test_sanitize);
  g_test_add_func ("/names/file-name", test_file_name);
  g_test_add_func ("/names/download", test_download_names);
  return g_test_run ();
}

/* fuzz-uri — a uri or stream name as a client gives it (a pull's uri and
 * localStreamName, a playStream or WHEP name, a /records/<name> download):
 *
 *   ferry_pull_name_is_uri()          is a viewer's name an rtmp(s):// uri (on demand)?
 *   ferry_ingest_uri_is_supported()   the one uri check before anything is pulled
 *   rtmp2src "location"               what ferry-source.c then sets (GStreamer parses it)
 *   ferry_recorder_sanitize_name(), ferry_recorder_file_name()
 *                                     recording file names from the stream name: always
 *                                     inside the records dir and servable back
 *   ferry_records_name_is_valid()     which download names are accepted
 */
#include "fuzz-common.h"
#include "ferry-ingest.h"
#include "ferry-pull.h"
#include "ferry-recorder.h"
#include "ferry-records.h"

static GstElement *rtmp2src;
static GDateTime *start;

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  fuzz_init ();
  /* Process lifetime, as the registry's: made once, never freed. */
  rtmp2src = gst_object_ref_sink (gst_element_factory_make ("rtmp2src", NULL));
  start = g_date_time_new_utc (2026, 12, 7, 16, 0, 0);
  return 0;
}

static gboolean
safe_chars (const char *s)
{
  for (; *s; s++)
    if (!(g_ascii_isalnum (*s) || *s == '.' || *s == '_' || *s == '-'))
      return FALSE;
  return TRUE;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  /* JSON strings and paths reach these as C strings: up to the first NUL. */
  g_autofree char *s = g_strndup ((const char *) data, size);
  g_autofree char *clean = ferry_recorder_sanitize_name (s);
  g_autofree char *file = ferry_recorder_file_name (s, start, size % 1000);
  gboolean is_uri = ferry_pull_name_is_uri (s);

  if (ferry_ingest_uri_is_supported (s, NULL)) {
    g_assert_true (is_uri);
    if (rtmp2src)
      g_object_set (rtmp2src, "location", s, NULL);
  }

  g_assert_true (*clean != '\0' && clean[0] != '.' && clean[0] != '_');
  g_assert_cmpuint (strlen (clean), <=, 64);
  g_assert_true (safe_chars (clean));
  g_assert_true (ferry_records_name_is_valid (file));

  if (ferry_records_name_is_valid (s)) {
    g_assert_null (strchr (s, '/'));
    g_assert_true (s[0] != '.' && g_str_has_suffix (s, ".mp4"));
  }
  return 0;
}

/* ferry-records.c — see ferry-records.h. Main context. */
#include "ferry-auth.h"
#include "ferry-records.h"
#include "ferry-log.h"
#include "ferry-json.h"
#include "ferry-errors.h"
#include "ferry-mp4.h"
#include "ferry-rest.h"

#include <gst/gst.h>
#include <glib/gstdio.h>
#include <string.h>

FERRY_DEBUG_CATEGORY_LAZY (ferry_records_debug, "ferry-records", "Ferry recordings on disk");
#define GST_CAT_DEFAULT ferry_records_debug

/**
 * ferry_records_name_is_valid:
 * Whether @name could be a recording Ferry wrote: [A-Za-z0-9._-], ending ".mp4", not
 * starting with '.', at most 255 bytes. Rules out "..", '/', NUL and absolute paths.
 */
gboolean
ferry_records_name_is_valid (const char *name)
{
  gsize len = name ? strlen (name) : 0;

  if (len < 5 || len > 255 || name[0] == '.' || !g_str_has_suffix (name,
          ".mp4"))
    return FALSE;
  for (const char *p = name; *p; p++)
    if (!(g_ascii_isalnum (*p) || *p == '.' || *p == '_' || *p == '-'))
      return FALSE;
  return TRUE;
}

/* "<stream>_<YYYYmmdd-HHMMSS>[-N]_<segment>.mp4" → stream, ISO start, segment. */
static void
parse_name (const char *name, char **stream, char **start, gint *segment)
{
  g_autoptr (GRegex) re = g_regex_new ("^(.*)_(\\d{8})-(\\d{6})(?:-\\d+)?_"
      "(\\d+)\\.mp4$", 0, 0, NULL);
  g_autoptr (GMatchInfo) m = NULL;

  *stream = *start = NULL;
  *segment = -1;
  if (!g_regex_match (re, name, 0, &m))
    return;
  {
    g_autofree char *d = g_match_info_fetch (m, 2);
    g_autofree char *t = g_match_info_fetch (m, 3);
    g_autofree char *seg = g_match_info_fetch (m, 4);
    *stream = g_match_info_fetch (m, 1);
    *start = g_strdup_printf ("%.4s-%.2s-%.2sT%.2s:%.2s:%.2sZ", d, d + 4,
        d + 6, t, t + 2, t + 4);
    *segment = (gint) g_ascii_strtoll (seg, NULL, 10);
  }
}

static void
add_track (JsonBuilder *b, const char *type, const char *codec)
{
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, type);
  json_builder_set_member_name (b, "codec");
  json_builder_add_string_value (b, codec);
  json_builder_end_object (b);
}

static JsonNode *
describe (const char *dir, const char *name)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *stream = NULL, *start = NULL, *url = NULL;
  GStatBuf st;
  FerryMp4Info info;
  gboolean probed;
  gint segment;

  if (g_lstat (path, &st) != 0 || !S_ISREG (st.st_mode))
    return NULL;
  parse_name (name, &stream, &start, &segment);
  probed = ferry_mp4_probe (path, &info, &error);
  if (!probed)
    GST_DEBUG ("%s: %s", name, error->message);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, name);
  /* a file whose name Ferry did not make (copied in by hand) has no stream, start or
   * segment: all three null (the segment was -1), as docs/openapi.yaml says */
  json_builder_set_member_name (b, "stream");
  if (stream)
    json_builder_add_string_value (b, stream);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "start");
  if (start)
    json_builder_add_string_value (b, start);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "segment");
  if (segment >= 0)
    json_builder_add_int_value (b, segment);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "size");
  json_builder_add_int_value (b, st.st_size);
  json_builder_set_member_name (b, "duration");
  if (probed)
    json_builder_add_double_value (b, info.duration_s);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "tracks");
  json_builder_begin_array (b);
  if (probed && info.has_video)
    add_track (b, "video", info.video_codec);
  if (probed && info.has_audio)
    add_track (b, "audio", info.audio_codec);
  json_builder_end_array (b);
  /* complete: finalised by a clean stop; otherwise (killed process, or the segment
   * being written now) playable up to its last complete fragment. */
  json_builder_set_member_name (b, "complete");
  json_builder_add_boolean_value (b, probed && info.finalized);
  url = g_strconcat ("/records/", name, NULL);
  json_builder_set_member_name (b, "url");
  json_builder_add_string_value (b, url);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

/* g_ptr_array_sort passes pointers to the elements. */
static gint
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/**
 * ferry_records_list:
 * Returns: (transfer full): an array describing each recording, sorted by name.
 */
JsonNode *
ferry_records_list (FerryApp *app)
{
  const char *dir = ferry_app_get_config (app)->records_dir;
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  JsonArray *array = json_array_new ();
  JsonNode *root = json_node_new (JSON_NODE_ARRAY);
  const char *name;

  init_debug ();
  while (d && (name = g_dir_read_name (d)) != NULL)
    if (ferry_records_name_is_valid (name))
      g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);
  for (guint i = 0; i < names->len; i++) {
    JsonNode *n = describe (dir, g_ptr_array_index (names, i));
    if (n)
      json_array_add_element (array, n);
  }
  json_node_take_array (root, array);
  return root;
}

/**
 * ferry_records_download_cb:
 * GET /records/<name>: the file, memory-mapped (no copy, any size). libsoup answers
 * Range requests itself for a complete body, so a <video> element can seek.
 */
void
ferry_records_download_cb (SoupServer *server, SoupServerMessage *msg,
    const char *path, GHashTable *query, gpointer user_data)
{
  FerryApp *app = user_data;
  const char *method = soup_server_message_get_method (msg);
  const char *name = path + strlen ("/records");
  g_autofree char *file = NULL;
  g_autoptr (GMappedFile) mapped = NULL;
  g_autoptr (GBytes) bytes = NULL;
  GStatBuf st;

  init_debug ();
  if (!g_str_equal (method, "GET") && !g_str_equal (method, "HEAD")) {
    soup_message_headers_replace (soup_server_message_get_response_headers
        (msg), "Allow", "GET, HEAD");
    ferry_rest_reply_error_literal (msg, FERRY_ERROR_METHOD_NOT_ALLOWED,
        "only GET is allowed here");
    return;
  }
  if (!ferry_auth_rest (ferry_app_get_config (app), msg))
    return;
  if (*name == '/')
    name++;
  if (!ferry_records_name_is_valid (name)) {
    ferry_rest_reply_error_literal (msg, FERRY_ERROR_NOT_FOUND,
        "no such recording");
    return;
  }
  file = g_build_filename (ferry_app_get_config (app)->records_dir, name, NULL);
  if (g_lstat (file, &st) != 0 || !S_ISREG (st.st_mode)) {
    ferry_rest_reply_error_literal (msg, FERRY_ERROR_NOT_FOUND,
        "no such recording");
    return;
  }
  if (st.st_size > 0) {
    mapped = g_mapped_file_new (file, FALSE, NULL);
    if (mapped == NULL) {
      ferry_rest_reply_error_literal (msg, FERRY_ERROR_INTERNAL,
          "the recording cannot be read");
      return;
    }
    bytes = g_mapped_file_get_bytes (mapped);
  } else {
    bytes = g_bytes_new (NULL, 0);
  }
  soup_server_message_set_status (msg, 200, NULL);
  soup_message_headers_replace (soup_server_message_get_response_headers
      (msg), "Accept-Ranges", "bytes");
  soup_message_headers_set_content_type
      (soup_server_message_get_response_headers (msg), "video/mp4", NULL);
  soup_message_body_append_bytes (soup_server_message_get_response_body (msg),
      bytes);
}

/* fuzz-rest-json — a REST request body, as POST /rest-api/... hands it over:
 * ferry_json_parse_object_depth() with the default [limits] json-depth, then every
 * validator a body meets: ferry_rest_parse_pull() (/pull/rtmp/pull, which includes
 * ferry_ingest_uri_is_supported()), ferry_rest_parse_selector() (terminate,
 * record/start, record/stop) and ferry_debug_parse_log() (/debug/log). What Ferry echoes
 * from a body (the error message, a pull's uri and name as find_all lists them) must
 * serialise to JSON that parses. (The body as a whole is never echoed: json-glib 1.6
 * writes the number 2.e53 back as 2e+53.0, which is not JSON.) */
#include "fuzz-common.h"
#include "ferry-debug.h"
#include "ferry-errors.h"
#include "ferry-ingest.h"
#include "ferry-json.h"
#include "ferry-rest.h"

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  fuzz_init ();
  FUZZ_WARM_UP ("{\"uri\":\"rtmp://127.0.0.1:1935/live/cam1\","
      "\"localStreamName\":\"cam1\",\"level\":\"debug\",\"transcode\":\"auto\"}");
  return 0;
}

/* {"a": @a, "b": @b} as ferry_rest_reply_error() and ferry_stream_to_json() build it. */
static void
assert_echo (const char *a, const char *b)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autofree char *text = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "a");
  json_builder_add_string_value (builder, a);
  json_builder_set_member_name (builder, "b");
  json_builder_add_string_value (builder, b);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  text = ferry_json_to_string (root);
  FUZZ_ASSERT_JSON_OBJECT (text);
}

/* A refused request is answered 400 (never 500: the body was the problem). */
static void
assert_bad_request (const GError *error)
{
  g_assert_nonnull (error);
  g_assert_true (error->domain == FERRY_ERROR);
  g_assert_cmpuint (ferry_error_http_status (error), ==, 400);
  assert_echo (ferry_error_code_name (error), error->message);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) body = ferry_json_parse_object_depth ((const char *)
      data, size, FERRY_JSON_MAX_DEPTH, &error);

  if (body == NULL) {
    /* not JSON, too deep, not UTF-8 (invalid_json), or a NUL in a string (invalid_parameter) */
    g_assert_true (g_error_matches (error, FERRY_ERROR, FERRY_ERROR_INVALID_JSON)
        || g_error_matches (error, FERRY_ERROR, FERRY_ERROR_INVALID_PARAMETER));
    return 0;
  }

  {
    g_autoptr (GError) e = NULL;
    FerryPullRequest req;

    if (ferry_rest_parse_pull (body, &req, &e)) {
      g_assert_no_error (e);
      g_assert_true (req.uri != NULL && *req.uri != '\0');
      g_assert_true (req.name != NULL && *req.name != '\0');
      g_assert_cmpuint (strlen (req.uri), <=, 4096);
      g_assert_cmpuint (strlen (req.name), <=, 1024);
      g_assert_true (req.has_audio || req.has_video);
      g_assert_true (ferry_ingest_uri_is_supported (req.uri, NULL));
      assert_echo (req.uri, req.name);
    } else {
      assert_bad_request (e);
    }
  }
  {
    g_autoptr (GError) e = NULL;
    FerryRestSelector sel;

    if (ferry_rest_parse_selector (body, &sel, &e))
      g_assert_true (sel.uri || sel.id || sel.name);
    else
      assert_bad_request (e);
  }
  {
    g_autoptr (GError) e = NULL;
    const char *name;
    GstDebugLevel level;

    if (ferry_debug_parse_log (body, &name, &level, &e)) {
      g_assert_nonnull (name);
      g_assert_cmpint (level, >=, GST_LEVEL_NONE);
      g_assert_cmpint (level, <=, GST_LEVEL_MEMDUMP);
    } else {
      assert_bad_request (e);
    }
  }
  return 0;
}

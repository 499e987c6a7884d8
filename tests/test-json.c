/* Unit tests for ferry-json.c, ferry-errors.c and ferry-wcs.c. */
#include "ferry-errors.h"
#include "ferry-json.h"
#include "ferry-wcs.h"

#include <gio/gio.h>
#include <string.h>

static JsonObject *
parse (const char *text)
{
  g_autoptr (GError) error = NULL;
  JsonObject *o = ferry_json_parse_object (text, -1, &error);
  g_assert_no_error (error);
  return o;
}

static void
test_parse_object (void)
{
  const char *bad[] = { "", "{", "[1,2]", "\"uri\"", "42", "null", "{\"a\":}" };
  g_autoptr (JsonObject) ok = parse ("{\"uri\":\"rtmp://h/a/s\"}");

  g_assert_true (json_object_has_member (ok, "uri"));
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autoptr (GError) error = NULL;
    JsonObject *o = ferry_json_parse_object (bad[i], strlen (bad[i]), &error);
    g_assert_null (o);
    g_assert_error (error, FERRY_ERROR, FERRY_ERROR_INVALID_JSON);
  }
}

/* Deep nesting is refused before json-glib recurses into it (it overflowed the stack). */
static void
test_nesting (void)
{
  g_autoptr (GString) deep = g_string_new (NULL);
  g_autoptr (GString) ok = g_string_new (NULL);
  g_autoptr (GError) error = NULL;
  JsonObject *o;

  for (guint i = 0; i < 250000; i++)
    g_string_append_c (deep, '[');
  o = ferry_json_parse_object (deep->str, deep->len, &error);
  g_assert_null (o);
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_INVALID_JSON);
  g_clear_error (&error);

  /* Brackets inside strings do not count; FERRY_JSON_MAX_DEPTH levels are fine. */
  g_string_append (ok, "{\"s\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\\"\",\"a\":");
  for (guint i = 1; i < FERRY_JSON_MAX_DEPTH; i++)
    g_string_append_c (ok, '[');
  for (guint i = 1; i < FERRY_JSON_MAX_DEPTH; i++)
    g_string_append_c (ok, ']');
  g_string_append_c (ok, '}');
  o = ferry_json_parse_object (ok->str, ok->len, &error);
  g_assert_no_error (error);
  g_assert_nonnull (o);
  json_object_unref (o);
}

/* json-glib would cut "a\u0000b" to "a": refused; a \\u0000 (an escaped backslash, then
 * "u0000") and a NUL escape outside a string are not NULs in a string. */
static void
test_nul (void)
{
  const char *bad[] = { "{\"n\":\"a\\u0000b/../c\"}", "{\"n\":\"\\u0000\"}" };
  g_autoptr (JsonObject) ok = parse ("{\"n\":\"x\\\\u0000\"}");

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autoptr (GError) error = NULL;
    g_assert_null (ferry_json_parse_object (bad[i], -1, &error));
    g_assert_error (error, FERRY_ERROR, FERRY_ERROR_INVALID_PARAMETER);
  }
  g_assert_cmpstr (json_object_get_string_member (ok, "n"), ==, "x\\u0000");
}

static void
test_control_chars (void)
{
  g_assert_false (ferry_json_has_control_chars ("cam 1/../ü✓~"));
  g_assert_false (ferry_json_has_control_chars (""));
  g_assert_true (ferry_json_has_control_chars ("a\nb"));
  g_assert_true (ferry_json_has_control_chars ("a\x1f"));
  g_assert_true (ferry_json_has_control_chars ("\x7f"));
  g_assert_true (ferry_json_has_control_chars ("\x01"));
}

static void
test_bools (void)
{
  g_autoptr (JsonObject) o = parse ("{\"a\":true,\"b\":\"false\",\"c\":\"TRUE\","
      "\"d\":\"maybe\",\"e\":1,\"f\":null}");
  gboolean v;
  g_autoptr (GError) error = NULL;

  v = FALSE;
  g_assert_true (ferry_json_get_bool (o, "a", &v, NULL) && v);
  v = TRUE;
  g_assert_true (ferry_json_get_bool (o, "b", &v, NULL) && !v);
  v = FALSE;
  g_assert_true (ferry_json_get_bool (o, "c", &v, NULL) && v);
  /* Absent and null leave the default alone. */
  v = TRUE;
  g_assert_true (ferry_json_get_bool (o, "missing", &v, NULL) && v);
  g_assert_true (ferry_json_get_bool (o, "f", &v, NULL) && v);
  g_assert_false (ferry_json_get_bool (o, "d", &v, &error));
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_INVALID_PARAMETER);
  g_clear_error (&error);
  g_assert_false (ferry_json_get_bool (o, "e", &v, &error));
  g_assert_nonnull (strstr (error->message, "'e'"));
}

static void
test_strings (void)
{
  g_autoptr (JsonObject) o = parse ("{\"s\":\"x\",\"n\":5,\"o\":{},\"a\":[]}");
  const char *s = NULL;
  const char *members[] = { "n", "o", "a" };

  g_assert_true (ferry_json_get_string (o, "s", &s, NULL));
  g_assert_cmpstr (s, ==, "x");
  for (guint i = 0; i < G_N_ELEMENTS (members); i++) {
    g_autoptr (GError) error = NULL;
    g_assert_false (ferry_json_get_string (o, members[i], &s, &error));
    g_assert_error (error, FERRY_ERROR, FERRY_ERROR_INVALID_PARAMETER);
  }
}

static void
test_error_table (void)
{
  struct
  {
    FerryErrorCode code;
    guint status;
    const char *name;
  } cases[] = {
    {FERRY_ERROR_INVALID_JSON, 400, "invalid_json"},
    {FERRY_ERROR_MISSING_PARAMETER, 400, "missing_parameter"},
    {FERRY_ERROR_UNSUPPORTED_SCHEME, 400, "unsupported_scheme"},
    {FERRY_ERROR_BODY_TOO_LARGE, 413, "body_too_large"},
    {FERRY_ERROR_NOT_FOUND, 404, "not_found"},
    {FERRY_ERROR_METHOD_NOT_ALLOWED, 405, "method_not_allowed"},
    {FERRY_ERROR_CONFLICT, 409, "conflict"},
    {FERRY_ERROR_STORAGE, 507, "storage"},
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autoptr (GError) e = g_error_new_literal (FERRY_ERROR, cases[i].code, "x");
    g_assert_cmpuint (ferry_error_http_status (e), ==, cases[i].status);
    g_assert_cmpstr (ferry_error_code_name (e), ==, cases[i].name);
  }
  {
    g_autoptr (GError) e = g_error_new_literal (G_IO_ERROR, 1, "x");
    g_assert_cmpuint (ferry_error_http_status (e), ==, 500);
  }
}

/* Every server message must carry a data array: the SDK reads data[0] of each. */
static void
test_wcs_messages (void)
{
  g_autofree char *ping = ferry_wcs_ping ();
  g_autofree char *gud = ferry_wcs_get_user_data ("sid", NULL, "2.0");
  g_autofree char *sdp = ferry_wcs_set_remote_sdp ("m1", "v=0\r\n");
  FerryWcsStatus st = { "m1", "cam1", "FAILED", "Stream not found", TRUE,
    FALSE
  };
  g_autofree char *status = ferry_wcs_stream_status (&st);
  g_autoptr (JsonObject) o = NULL;
  JsonObject *d;
  JsonArray *a;

  g_assert_cmpstr (ping, ==, "{\"message\":\"ping\",\"data\":[]}");

  o = parse (gud);
  d = json_array_get_object_element (json_object_get_array_member (o, "data"),
      0);
  g_assert_cmpstr (json_object_get_string_member (d, "status"), ==,
      "ESTABLISHED");
  g_assert_false (json_object_has_member (d, "webRTCMetricsServerDescription"));
  json_object_unref (g_steal_pointer (&o));

  o = parse (sdp);
  a = json_object_get_array_member (o, "data");
  g_assert_cmpstr (json_array_get_string_element (a, 0), ==, "m1");
  g_assert_cmpstr (json_array_get_string_element (a, 1), ==, "v=0\r\n");
  json_object_unref (g_steal_pointer (&o));

  o = parse (status);
  g_assert_cmpstr (json_object_get_string_member (o, "message"), ==,
      "notifyStreamStatusEvent");
  d = json_array_get_object_element (json_object_get_array_member (o, "data"),
      0);
  g_assert_cmpstr (json_object_get_string_member (d, "mediaSessionId"), ==,
      "m1");
  g_assert_cmpstr (json_object_get_string_member (d, "status"), ==, "FAILED");
  g_assert_cmpstr (json_object_get_string_member (d, "info"), ==,
      "Stream not found");
  g_assert_false (json_object_get_boolean_member (d, "hasVideo"));
}

/* json-glib decodes a lone surrogate escape into bytes that are not UTF-8; Ferry echoed
 * them into replies and WebSocket text frames (found by fuzz-rest-json and fuzz-wcs). */
static void
test_lone_surrogates (void)
{
  const char *bad[] = {
    "{\"localStreamName\":\"\\udc00\"}",
    "{\"uri\":\"rtmp://h/a/\\ud83dx\"}",
    "{\"loc\\ud800alStreamName\":\"cam1\"}",
    "{\"message\":\"playStream\",\"data\":[{\"name\":[\"\\udfff\"]}]}",
  };
  g_autoptr (JsonObject) pair = parse ("{\"name\":\"\\ud83d\\ude00\"}");

  g_assert_cmpstr (json_object_get_string_member (pair, "name"), ==, "\xf0\x9f\x98\x80");
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autoptr (GError) error = NULL;
    JsonObject *o = ferry_json_parse_object (bad[i], -1, &error);
    g_assert_null (o);
    g_assert_error (error, FERRY_ERROR, FERRY_ERROR_INVALID_JSON);
  }
}

/* What the WebSocket handler reads from a client message (ferry_wcs_request_parse). */
static void
test_wcs_request (void)
{
  g_autoptr (GError) error = NULL;

  {
    g_auto (FerryWcsRequest) r = { 0 };
    const char *text = "{\"message\":\"playStream\",\"data\":[{\"mediaSessionId\":\"m1\","
        "\"name\":5,\"sdp\":\"v=0\",\"hasVideo\":\"false\",\"hasAudio\":\"maybe\","
        "\"custom\":{\"token\":\"c\"},\"authToken\":\"a\"}, 7]}";
    g_assert_true (ferry_wcs_request_parse (text, strlen (text), 32, &r, &error));
    g_assert_cmpint (r.type, ==, FERRY_WCS_MSG_PLAY_STREAM);
    g_assert_true (r.has_payload);
    g_assert_cmpstr (r.media_session_id, ==, "m1");
    g_assert_null (r.name);     /* not a string: as if absent */
    g_assert_cmpstr (r.sdp, ==, "v=0");
    g_assert_false (r.has_video);
    g_assert_true (r.has_audio);        /* unreadable: the default */
    g_assert_cmpstr (r.token, ==, "c");
  }
  {
    g_auto (FerryWcsRequest) r = { 0 };
    const char *text = "{\"message\":\"connection\",\"data\":[{\"authToken\":\"a\","
        "\"appKey\":\"k\"}]}";
    g_assert_true (ferry_wcs_request_parse (text, strlen (text), 32, &r, NULL));
    g_assert_cmpint (r.type, ==, FERRY_WCS_MSG_CONNECTION);
    g_assert_cmpstr (r.token, ==, "a");
    g_assert_cmpstr (r.app_key, ==, "k");
  }
  {
    g_auto (FerryWcsRequest) r = { 0 };
    const char *text = "{\"message\":\"stopStream\",\"data\":{\"mediaSessionId\":\"m1\"}}";
    g_assert_true (ferry_wcs_request_parse (text, strlen (text), 32, &r, NULL));
    g_assert_cmpint (r.type, ==, FERRY_WCS_MSG_STOP_STREAM);
    g_assert_false (r.has_payload);
    g_assert_null (r.media_session_id);
  }
  {
    g_auto (FerryWcsRequest) r = { 0 };
    const char *text = "{\"message\":1,\"data\":[{}]}";
    g_assert_true (ferry_wcs_request_parse (text, strlen (text), 32, &r, NULL));
    g_assert_cmpint (r.type, ==, FERRY_WCS_MSG_NONE);
  }
  {
    g_auto (FerryWcsRequest) r = { 0 };
    const char *text = "{\"message\":\"webRTCMetricsBatch\",\"data\":[]}";
    g_assert_true (ferry_wcs_request_parse (text, strlen (text), 32, &r, NULL));
    g_assert_cmpint (r.type, ==, FERRY_WCS_MSG_UNKNOWN);
    g_assert_cmpstr (r.message, ==, "webRTCMetricsBatch");
  }
  {
    g_auto (FerryWcsRequest) r = { 0 };
    g_assert_false (ferry_wcs_request_parse ("[[[", 3, 32, &r, &error));
    g_assert_error (error, FERRY_ERROR, FERRY_ERROR_INVALID_JSON);
    g_assert_null (r.root);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/json/parse-object", test_parse_object);
  g_test_add_func ("/json/nesting", test_nesting);
  g_test_add_func ("/json/nul", test_nul);
  g_test_add_func ("/json/control-chars", test_control_chars);
  g_test_add_func ("/json/bools", test_bools);
  g_test_add_func ("/json/strings", test_strings);
  g_test_add_func ("/errors/table", test_error_table);
  g_test_add_func ("/wcs/messages", test_wcs_messages);
  g_test_add_func ("/json/lone-surrogates", test_lone_surrogates);
  g_test_add_func ("/wcs/request", test_wcs_request);
  return g_test_run ();
}

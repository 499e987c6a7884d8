/* ferry-json.c — see ferry-json.h. */
#include "ferry-json.h"
#include "ferry-errors.h"

#include <string.h>

/* json-glib 1.6 parses recursively, so deeply nested input overflows the stack (a
 * WebSocket message of 250 000 '[' crashed the server). No Ferry message nests more than a
 * few levels: measure the depth before parsing, outside strings. */
static gboolean
nesting_within (const char *data, gsize len, guint max_depth)
{
  guint depth = 0;
  gboolean in_string = FALSE;

  for (gsize i = 0; i < len; i++) {
    char c = data[i];
    if (in_string) {
      if (c == '\\')
        i++;
      else if (c == '"')
        in_string = FALSE;
    } else if (c == '"') {
      in_string = TRUE;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth)
        return FALSE;
    } else if ((c == ']' || c == '}') && depth > 0) {
      depth--;
    }
  }
  return TRUE;
}

/* json-glib 1.6 keeps its strings NUL-terminated: "a\u0000b/../c" reads back as "a", so
 * a name or uri would be silently cut short (a client asking for one thing, getting
 * another). A raw NUL byte is refused by the parser itself; the escape is found here. */
static gboolean
has_escaped_nul (const char *data, gsize len)
{
  gboolean in_string = FALSE;

  for (gsize i = 0; i < len; i++) {
    if (!in_string) {
      in_string = data[i] == '"';
    } else if (data[i] == '\\') {
      if (i + 5 < len && data[i + 1] == 'u' && memcmp (data + i + 2, "0000",
              4) == 0)
        return TRUE;
      i++;
    } else if (data[i] == '"') {
      in_string = FALSE;
    }
  }
  return FALSE;
}

/**
 * ferry_json_has_control_chars:
 * Whether @text has a control character (U+0000..U+001F, U+007F). No name or uri
 * needs one; json-glib 1.6 drops "\u001f" when parsing and writes U+001F unescaped,
 * so one pull so named made find_all invalid JSON for every client; and a newline in
 * a name forges lines in the log.
 */
gboolean
ferry_json_has_control_chars (const char *text)
{
  for (const guchar *p = (const guchar *) text; p && *p; p++)
    if (*p < 0x20 || *p == 0x7f)
      return TRUE;
  return FALSE;
}

/* json-glib 1.6 decodes a lone surrogate escape ("\udc00", or "\ud83d" not followed by
 * its pair) into CESU bytes that are not UTF-8. Such a string, echoed back (a stream name
 * in a WCS status, find_all), made invalid JSON, and a WebSocket text frame libsoup
 * refuses with a critical (fuzz-rest-json, fuzz-wcs): every string and member name must
 * be valid UTF-8. The depth is already bounded, so recursion is safe. */
static gboolean
node_is_utf8 (JsonNode *node)
{
  switch (JSON_NODE_TYPE (node)) {
    case JSON_NODE_OBJECT:{
      JsonObjectIter it;
      const char *name;
      JsonNode *member;

      json_object_iter_init (&it, json_node_get_object (node));
      while (json_object_iter_next (&it, &name, &member))
        if (!g_utf8_validate (name, -1, NULL) || !node_is_utf8 (member))
          return FALSE;
      return TRUE;
    }
    case JSON_NODE_ARRAY:{
      JsonArray *array = json_node_get_array (node);

      for (guint i = 0; i < json_array_get_length (array); i++)
        if (!node_is_utf8 (json_array_get_element (array, i)))
          return FALSE;
      return TRUE;
    }
    case JSON_NODE_VALUE:
      return json_node_get_value_type (node) != G_TYPE_STRING
          || g_utf8_validate (json_node_get_string (node), -1, NULL);
    default:
      return TRUE;
  }
}

/**
 * ferry_json_parse_object:
 * As ferry_json_parse_object_depth() with FERRY_JSON_MAX_DEPTH.
 */
JsonObject *
ferry_json_parse_object (const char *data, gssize len, GError **error)
{
  return ferry_json_parse_object_depth (data, len, FERRY_JSON_MAX_DEPTH, error);
}

/**
 * ferry_json_parse_object_depth:
 * Returns: (transfer full) (nullable): the root object, or NULL with @error when the text
 * is not JSON, nests deeper than @max_depth, has a NUL in a string (invalid_parameter),
 * its root is not an object or a string in it is not UTF-8.
 */
JsonObject *
ferry_json_parse_object_depth (const char *data, gssize len, guint max_depth,
    GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  g_autoptr (GError) local = NULL;
  JsonNode *root;

  if (data == NULL || len == 0) {
    g_set_error (error, FERRY_ERROR, FERRY_ERROR_INVALID_JSON,
        "the request body is empty; a JSON object is expected");
    return NULL;
  }
  if (len < 0)
    len = strlen (data);
  if (!nesting_within (data, len, max_depth)) {
    g_set_error (error, FERRY_ERROR, FERRY_ERROR_INVALID_JSON,
        "the JSON nests deeper than %u levels", max_depth);
    return NULL;
  }
  if (has_escaped_nul (data, len)) {
    g_set_error (error, FERRY_ERROR, FERRY_ERROR_INVALID_PARAMETER,
        "a string in the JSON has a NUL character (\\u0000)");
    return NULL;
  }
  if (!json_parser_load_from_data (parser, data, len, &local)) {
    g_set_error (error, FERRY_ERROR, FERRY_ERROR_INVALID_JSON,
        "the request body is not valid JSON: %s", local->message);
    return NULL;
  }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root)) {
    g_set_error (error, FERRY_ERROR, FERRY_ERROR_INVALID_JSON,
        "the request body must be a JSON object");
    return NULL;
  }
  if (!node_is_utf8 (root)) {
    g_set_error (error, FERRY_ERROR, FERRY_ERROR_INVALID_JSON,
        "the JSON has a string that is not valid UTF-8 (a lone surrogate escape)");
    return NULL;
  }
  return json_object_ref (json_node_get_object (root));
}

/** Returns: (transfer full): compact JSON text. */
char *
ferry_json_to_string (JsonNode *node)
{
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  json_generator_set_root (gen, node);
  return json_generator_to_data (gen, NULL);
}

static JsonNode *
value_member (JsonObject *obj, const char *member)
{
  JsonNode *node = json_object_get_member (obj, member);
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return NULL;
  return node;
}

/* @out: (out) (transfer none): borrowed from @obj. A JSON null counts as absent. */
gboolean
ferry_json_get_string (JsonObject *obj, const char *member, const char **out,
    GError **error)
{
  JsonNode *node = value_member (obj, member);

  if (node == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (node)
      || json_node_get_value_type (node) != G_TYPE_STRING) {
    g_set_error (error, FERRY_ERROR, FERRY_ERROR_INVALID_PARAMETER,
        "'%s' must be a string", member);
    return FALSE;
  }
  *out = json_node_get_string (node);
  return TRUE;
}

/* Accepts true/false and the strings "true"/"false": WCS documents both forms. */
gboolean
ferry_json_get_bool (JsonObject *obj, const char *member, gboolean *out,
    GError **error)
{
  JsonNode *node = value_member (obj, member);

  if (node == NULL)
    return TRUE;
  if (JSON_NODE_HOLDS_VALUE (node)) {
    GType t = json_node_get_value_type (node);
    if (t == G_TYPE_BOOLEAN) {
      *out = json_node_get_boolean (node);
      return TRUE;
    }
    if (t == G_TYPE_STRING) {
      const char *s = json_node_get_string (node);
      if (g_ascii_strcasecmp (s, "true") == 0) {
        *out = TRUE;
        return TRUE;
      }
      if (g_ascii_strcasecmp (s, "false") == 0) {
        *out = FALSE;
        return TRUE;
      }
    }
  }
  g_set_error (error, FERRY_ERROR, FERRY_ERROR_INVALID_PARAMETER,
      "'%s' must be true or false", member);
  return FALSE;
}

/* Ferry test peer: WCS WebSocket message building and defensive reads.
 *
 * The payloads follow what @flashphoner/websdk 2.0.276 sends for play (see
 * docs/wcs-websocket-protocol.md §5-§6): field names, order and the values
 * it hard-codes, such as hasVideo/hasAudio true even without that m-line.
 * Pure functions; callable from any thread.
 */
#include "peer-wcs.h"

#include <gio/gio.h>

static void
add_bool (JsonBuilder * b, const gchar * name, gboolean value)
{
  json_builder_set_member_name (b, name);
  json_builder_add_boolean_value (b, value);
}

static void
add_string (JsonBuilder * b, const gchar * name, const gchar * value)
{
  json_builder_set_member_name (b, name);
  json_builder_add_string_value (b, value);
}

static void
add_int (JsonBuilder * b, const gchar * name, gint64 value)
{
  json_builder_set_member_name (b, name);
  json_builder_add_int_value (b, value);
}

gchar *
peer_wcs_envelope (const gchar * message, JsonNode * payload)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;

  json_builder_begin_object (b);
  add_string (b, "message", message);
  json_builder_set_member_name (b, "data");
  json_builder_begin_array (b);
  if (payload != NULL)
    json_builder_add_value (b, payload);
  else
    json_builder_add_null_value (b);
  json_builder_end_array (b);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  return json_generator_to_data (gen, NULL);
}

JsonNode *
peer_wcs_connection (void)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  add_string (b, "appKey", "defaultApp");
  json_builder_set_member_name (b, "mediaProviders");
  json_builder_begin_array (b);
  json_builder_add_string_value (b, "WebRTC");
  json_builder_end_array (b);
  add_string (b, "clientVersion", "2.0");
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

/* the SDK's stream identity and flags, shared by play and stop */
static void
add_stream_head (JsonBuilder * b, const gchar * id, const gchar * name)
{
  add_string (b, "mediaSessionId", id);
  add_string (b, "name", name);
  add_bool (b, "published", FALSE);
  add_bool (b, "hasVideo", TRUE);
  add_bool (b, "hasAudio", TRUE);
}

JsonNode *
peer_wcs_play_stream (const gchar * id, const gchar * name, const gchar * sdp)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  add_stream_head (b, id, name);
  add_string (b, "status", "PENDING");
  add_bool (b, "record", FALSE);
  add_int (b, "width", 0);
  add_int (b, "height", 0);
  add_string (b, "mediaProvider", "WebRTC");
  add_string (b, "sdp", sdp);
  add_int (b, "bitrate", 0);
  add_int (b, "minBitrate", 0);
  add_int (b, "maxBitrate", 0);
  add_int (b, "quality", 0);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

JsonNode *
peer_wcs_stop_stream (const gchar * id, const gchar * name)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  add_stream_head (b, id, name);
  /* stop() only sends from PLAYING (or STOPPED); the peer stops a playing
   * stream */
  add_string (b, "status", "PLAYING");
  add_bool (b, "record", FALSE);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

gboolean
peer_wcs_parse (JsonParser * parser, const gchar * text, gsize size,
    const gchar ** message, JsonArray ** data, GError ** error)
{
  JsonNode *root, *node;
  JsonObject *obj;

  if (!json_parser_load_from_data (parser, text, size, error))
    return FALSE;
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root)) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
        "not a JSON object");
    return FALSE;
  }
  obj = json_node_get_object (root);
  *message = peer_wcs_get_string (obj, "message");
  if (*message == NULL) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
        "no \"message\" string");
    return FALSE;
  }
  /* the SDK reads data[0] of everything and throws without an array */
  node = json_object_get_member (obj, "data");
  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node)) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
        "%s without a \"data\" array", *message);
    return FALSE;
  }
  *data = json_node_get_array (node);
  return TRUE;
}

const gchar *
peer_wcs_get_string (JsonObject * obj, const gchar * name)
{
  JsonNode *node = obj ? json_object_get_member (obj, name) : NULL;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

JsonObject *
peer_wcs_element_object (JsonArray * arr, guint i)
{
  JsonNode *node;

  if (arr == NULL || i >= json_array_get_length (arr))
    return NULL;
  node = json_array_get_element (arr, i);
  return JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

const gchar *
peer_wcs_element_string (JsonArray * arr, guint i)
{
  JsonNode *node;

  if (arr == NULL || i >= json_array_get_length (arr))
    return NULL;
  node = json_array_get_element (arr, i);
  if (!JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

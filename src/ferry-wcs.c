/* ferry-wcs.c — see ferry-wcs.h. */
#include "ferry-wcs.h"
#include "ferry-json.h"

#include <string.h>

static const struct
{
  const char *name;
  FerryWcsMessageType type;
} message_types[] = {
  {"connection", FERRY_WCS_MSG_CONNECTION},
  {"playStream", FERRY_WCS_MSG_PLAY_STREAM},
  {"stopStream", FERRY_WCS_MSG_STOP_STREAM},
  {"availableStream", FERRY_WCS_MSG_AVAILABLE_STREAM},
  {"ping", FERRY_WCS_MSG_PING},
  {"pong", FERRY_WCS_MSG_PONG},
};

/* The play token a WCS message carries: custom.token (createSession({custom}) and
 * play({custom}) in the SDK), else authToken (createSession({authToken})).
 * Returns: (transfer none) (nullable) */
static const char *
token_of (JsonObject *payload)
{
  const char *token = NULL;
  JsonNode *custom = json_object_get_member (payload, "custom");

  if (custom && JSON_NODE_HOLDS_OBJECT (custom))
    ferry_json_get_string (json_node_get_object (custom), "token", &token, NULL);
  if (token == NULL)
    ferry_json_get_string (payload, "authToken", &token, NULL);
  return token;
}

/**
 * ferry_wcs_request_parse:
 * @text: a text frame as received (need not be NUL-terminated)
 * @req: (out caller-allocates): clear it with ferry_wcs_request_clear()
 *
 * Decodes `{"message": name, "data": [payload, …]}`. Only an unparsable frame fails:
 * a missing name gives FERRY_WCS_MSG_NONE, a missing or non-object data[0] a request
 * without payload, and members of the wrong type read as absent, because the
 * protocol never closes the socket over a bad message.
 * Returns: FALSE with @error when @text is not a JSON object within @max_depth.
 */
gboolean
ferry_wcs_request_parse (const char *text, gsize len, guint max_depth,
    FerryWcsRequest *req, GError **error)
{
  JsonObject *payload = NULL;
  JsonNode *data;

  memset (req, 0, sizeof *req);
  req->has_audio = req->has_video = TRUE;
  req->root = ferry_json_parse_object_depth (text, len, max_depth, error);
  if (req->root == NULL)
    return FALSE;
  if (!ferry_json_get_string (req->root, "message", &req->message, NULL)
      || req->message == NULL) {
    req->message = NULL;
    return TRUE;
  }
  req->type = FERRY_WCS_MSG_UNKNOWN;
  for (guint i = 0; i < G_N_ELEMENTS (message_types); i++)
    if (g_str_equal (req->message, message_types[i].name))
      req->type = message_types[i].type;

  data = json_object_get_member (req->root, "data");
  if (data && JSON_NODE_HOLDS_ARRAY (data)
      && json_array_get_length (json_node_get_array (data)) > 0) {
    JsonNode *first = json_array_get_element (json_node_get_array (data), 0);
    if (JSON_NODE_HOLDS_OBJECT (first))
      payload = json_node_get_object (first);
  }
  if (payload == NULL)
    return TRUE;
  req->has_payload = TRUE;
  ferry_json_get_string (payload, "mediaSessionId", &req->media_session_id,
      NULL);
  ferry_json_get_string (payload, "name", &req->name, NULL);
  ferry_json_get_string (payload, "sdp", &req->sdp, NULL);
  ferry_json_get_string (payload, "mediaProvider", &req->media_provider, NULL);
  ferry_json_get_string (payload, "appKey", &req->app_key, NULL);
  ferry_json_get_string (payload, "clientVersion", &req->client_version, NULL);
  ferry_json_get_bool (payload, "hasAudio", &req->has_audio, NULL);
  ferry_json_get_bool (payload, "hasVideo", &req->has_video, NULL);
  req->token = token_of (payload);
  return TRUE;
}

void
ferry_wcs_request_clear (FerryWcsRequest *req)
{
  g_clear_pointer (&req->root, json_object_unref);
}

/* {"message": name, "data": [payload]}; takes @payload. */
static char *
envelope (const char *name, JsonNode *payload)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "message");
  json_builder_add_string_value (b, name);
  json_builder_set_member_name (b, "data");
  json_builder_begin_array (b);
  if (payload)
    json_builder_add_value (b, payload);
  json_builder_end_array (b);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  return ferry_json_to_string (root);
}

static void
add_string (JsonBuilder *b, const char *name, const char *value)
{
  json_builder_set_member_name (b, name);
  if (value)
    json_builder_add_string_value (b, value);
  else
    json_builder_add_null_value (b);
}

static void
add_bool (JsonBuilder *b, const char *name, gboolean value)
{
  json_builder_set_member_name (b, name);
  json_builder_add_boolean_value (b, value);
}

/* No webRTCMetricsServerDescription: with it the SDK starts sending metrics (§7). */
char *
ferry_wcs_get_user_data (const char *session_id, const char *app_key,
    const char *client_version)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  add_string (b, "status", "ESTABLISHED");
  add_string (b, "sessionId", session_id);
  add_string (b, "authToken", session_id);
  json_builder_set_member_name (b, "mediaProviders");
  json_builder_begin_array (b);
  json_builder_add_string_value (b, "WebRTC");
  json_builder_end_array (b);
  add_string (b, "appKey", app_key ? app_key : "defaultApp");
  if (client_version)
    add_string (b, "clientVersion", client_version);
  add_string (b, "server", "ferry");
  add_bool (b, "useWsTunnel", FALSE);
  json_builder_end_object (b);
  return envelope ("getUserData", json_builder_get_root (b));
}

/* data is [mediaSessionId, sdp]: the one message whose data[0] is not an object. */
char *
ferry_wcs_set_remote_sdp (const char *media_session_id, const char *sdp)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "message");
  json_builder_add_string_value (b, "setRemoteSDP");
  json_builder_set_member_name (b, "data");
  json_builder_begin_array (b);
  json_builder_add_string_value (b, media_session_id);
  json_builder_add_string_value (b, sdp);
  json_builder_end_array (b);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  return ferry_json_to_string (root);
}

char *
ferry_wcs_stream_status (const FerryWcsStatus *st)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  add_string (b, "mediaSessionId", st->media_session_id);
  add_string (b, "name", st->name ? st->name : "");
  add_bool (b, "published", FALSE);
  add_bool (b, "hasVideo", st->has_video);
  add_bool (b, "hasAudio", st->has_audio);
  add_string (b, "status", st->status);
  if (st->info)
    add_string (b, "info", st->info);
  add_bool (b, "record", FALSE);
  json_builder_end_object (b);
  return envelope ("notifyStreamStatusEvent", json_builder_get_root (b));
}

/* {"message":"availableStream","data":[{"id", "status": "true"|"false", "info"?}]}: the
 * SDK routes it by `id` (not mediaSessionId) and resolves only on the *string* "true". */
char *
ferry_wcs_available_stream (const char *media_session_id, const char *name,
    gboolean available, const char *info)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  add_string (b, "id", media_session_id);
  add_string (b, "name", name ? name : "");
  add_string (b, "status", available ? "true" : "false");
  if (info)
    add_string (b, "info", info);
  json_builder_end_object (b);
  return envelope ("availableStream", json_builder_get_root (b));
}

/* {"message":"ping","data":[]}: without the array the SDK throws and never pongs. */
char *
ferry_wcs_ping (void)
{
  return envelope ("ping", NULL);
}

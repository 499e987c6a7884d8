/* ferry-wcs.c — see ferry-wcs.h. */
#include "ferry-wcs.h"
#include "ferry-json.h"

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

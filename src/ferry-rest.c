/* ferry-rest.c — see ferry-rest.h. Main context only. */
#include "ferry-rest.h"
#include "ferry-auth.h"
#include "ferry-debug.h"
#include "ferry-errors.h"
#include "ferry-ice.h"
#include "ferry-ingest.h"
#include "ferry-json.h"
#include "ferry-records.h"
#include "ferry-pull.h"
#include "ferry-registry.h"

#include <gst/gst.h>
#include <string.h>

GST_DEBUG_CATEGORY_STATIC (ferry_rest_debug);
#define GST_CAT_DEFAULT ferry_rest_debug

#define API_PREFIX "/rest-api"

static void
reply_json (SoupServerMessage *msg, guint status, JsonNode *node)
{
  char *text = ferry_json_to_string (node);
  gsize len = strlen (text);

  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, "application/json",
      SOUP_MEMORY_TAKE, text, len);
}

/**
 * ferry_rest_reply_error:
 * Sets @msg's response to `{"error": code, "message": text}` with the status of the
 * single table in ferry-errors.c. Used by every HTTP handler.
 */
void
ferry_rest_reply_error (SoupServerMessage *msg, const GError *error)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;
  guint status = ferry_error_http_status (error);
  g_autofree char *text = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "error");
  json_builder_add_string_value (b, ferry_error_code_name (error));
  json_builder_set_member_name (b, "message");
  json_builder_add_string_value (b, error->message);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  /* refused before its headers were read (connections-per-address): no method, no uri */
  GST_INFO ("%s %s → %u %s", soup_server_message_get_method (msg)
      ? soup_server_message_get_method (msg) : "-",
      soup_server_message_get_uri (msg)
      ? g_uri_get_path (soup_server_message_get_uri (msg)) : "-", status,
      error->message);
  text = ferry_json_to_string (root);
  /* libsoup 3.2 has no phrase for 429 ("Unknown") */
  soup_server_message_set_status (msg, status, status == 429
      ? "Too Many Requests" : NULL);
  /* a handler that allows other methods says so before */
  if (status == 405 && soup_message_headers_get_one
      (soup_server_message_get_response_headers (msg), "Allow") == NULL)
    soup_message_headers_replace (soup_server_message_get_response_headers
        (msg), "Allow", "POST");
  soup_server_message_set_response (msg, "application/json",
      SOUP_MEMORY_COPY, text, strlen (text));
}

/* Returns: (transfer full): the client's IP address as text, or "?". */
char *
ferry_rest_remote_address (SoupServerMessage *msg)
{
  GSocketAddress *remote = soup_server_message_get_remote_address (msg);

  if (!G_IS_INET_SOCKET_ADDRESS (remote))
    return g_strdup ("?");
  return g_inet_address_to_string (g_inet_socket_address_get_address
      (G_INET_SOCKET_ADDRESS (remote)));
}

void
ferry_rest_reply_error_literal (SoupServerMessage *msg, gint code,
    const char *text)
{
  g_autoptr (GError) error = g_error_new_literal (FERRY_ERROR, code, text);
  ferry_rest_reply_error (msg, error);
}

/**
 * ferry_rest_refuse_large_body:
 * Answers 413 when the body is, or is announced to be, over the limit. Called from the
 * early handlers (after the headers: a Content-Length body is refused unread) and again
 * once the body is in (a chunked body has no Content-Length; one over the limit was
 * dropped while it was read, see body_chunk_cb in ferry-app.c).
 * Returns: TRUE when @msg was refused.
 */
gboolean
ferry_rest_refuse_large_body (SoupServerMessage *msg,
    const FerryConfig *config)
{
  goffset announced =
      soup_message_headers_get_content_length
      (soup_server_message_get_request_headers (msg));
  goffset received = soup_server_message_get_request_body (msg)->length;

  if (MAX (announced, received) <= (goffset) config->max_body_kb * 1024
      && g_object_get_data (G_OBJECT (msg), FERRY_BODY_TOO_LARGE) == NULL)
    return FALSE;
  ferry_rest_reply_error_literal (msg, FERRY_ERROR_BODY_TOO_LARGE,
      "the request body is too large");
  return TRUE;
}

/**
 * ferry_rest_no_content:
 * Answers 204. libsoup 3.2 closes the connection after a 204 without saying so, and a
 * client that reuses the socket then gets a hang-up on its next request (seen with
 * Node's keep-alive agent after an OPTIONS): say it.
 */
void
ferry_rest_no_content (SoupServerMessage *msg)
{
  soup_server_message_set_status (msg, 204, NULL);
  soup_message_headers_replace (soup_server_message_get_response_headers (msg),
      "Connection", "close");
}

/**
 * ferry_rest_add_cors:
 * CORS for pages on other origins ([server] cors-origins): "*" allows any origin,
 * otherwise the request's Origin is echoed when it is listed.
 */
void
ferry_rest_add_cors (SoupServerMessage *msg, const FerryConfig *config)
{
  SoupMessageHeaders *h = soup_server_message_get_response_headers (msg);
  const char *origin =
      soup_message_headers_get_one (soup_server_message_get_request_headers
      (msg), "Origin");
  const char *allow = NULL;

  for (char **o = config->cors_origins; o && *o && !allow; o++) {
    if (g_str_equal (*o, "*"))
      allow = "*";
    else if (origin && g_str_equal (*o, origin))
      allow = origin;
  }
  if (allow == NULL)
    return;
  soup_message_headers_replace (h, "Access-Control-Allow-Origin", allow);
  if (!g_str_equal (allow, "*"))
    soup_message_headers_append (h, "Vary", "Origin");
  soup_message_headers_replace (h, "Access-Control-Allow-Methods",
      "GET, POST, PATCH, DELETE, OPTIONS");
  soup_message_headers_replace (h, "Access-Control-Allow-Headers",
      "Content-Type, Authorization, If-Match");
  soup_message_headers_replace (h, "Access-Control-Expose-Headers",
      "Location, Link, ETag, Accept-Patch, Accept-Post");
  soup_message_headers_replace (h, "Access-Control-Max-Age", "600");
}

/* ---- request parsing (pure: no server, no registry) ---------------------- */

/**
 * ferry_rest_parse_pull:
 * @body: a /pull/rtmp/pull body
 * @req: (out caller-allocates): its strings are borrowed from @body
 *
 * Validates a pull request the way the handler answers it: uri required and pullable
 * (ferry_ingest_uri_is_supported()), the name defaulting to the uri, length limits,
 * not both tracks off, a known transcode policy.
 * Returns: FALSE with @error (FERRY_ERROR_MISSING_PARAMETER, _INVALID_PARAMETER,
 *   _UNSUPPORTED_SCHEME) for a request that is answered 400.
 */
gboolean
ferry_rest_parse_pull (JsonObject *body, FerryPullRequest *req, GError **error)
{
  const char *transcode = NULL;

  req->uri = req->name = NULL;
  req->record = req->on_demand = FALSE;
  req->has_audio = req->has_video = TRUE;
  req->has_transcode = FALSE;

  if (!ferry_json_get_string (body, "uri", &req->uri, error)
      || !ferry_json_get_string (body, "transcode", &transcode, error)
      || !ferry_json_get_string (body, "localStreamName", &req->name, error)
      || !ferry_json_get_bool (body, "record", &req->record, error)
      || !ferry_json_get_bool (body, "hasAudio", &req->has_audio, error)
      || !ferry_json_get_bool (body, "hasVideo", &req->has_video, error))
    return FALSE;
  if (req->uri == NULL || *req->uri == '\0') {
    g_set_error (error, FERRY_ERROR, FERRY_ERROR_MISSING_PARAMETER,
        "'uri' is required");
    return FALSE;
  }
  if (!ferry_ingest_uri_is_supported (req->uri, error))
    return FALSE;
  /* WCS names a pull by its uri when no name is given. */
  if (req->name == NULL || *req->name == '\0')
    req->name = req->uri;
  if (ferry_json_has_control_chars (req->name)) {
    g_set_error (error, FERRY_ERROR, FERRY_ERROR_INVALID_PARAMETER,
        "'localStreamName' must not contain control characters");
    return FALSE;
  }
  if (strlen (req->name) > 1024 || strlen (req->uri) > 4096) {
    g_set_error (error, FERRY_ERROR, FERRY_ERROR_INVALID_PARAMETER,
        "'uri' or 'localStreamName' is too long");
    return FALSE;
  }
  if (!req->has_audio && !req->has_video) {
    g_set_error (error, FERRY_ERROR, FERRY_ERROR_INVALID_PARAMETER,
        "'hasAudio' and 'hasVideo' cannot both be false");
    return FALSE;
  }
  if (transcode) {
    if (!ferry_transcode_policy_from_string (transcode, &req->transcode)) {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_INVALID_PARAMETER,
          "'transcode' must be \"auto\", \"always\" or \"never\"");
      return FALSE;
    }
    req->has_transcode = TRUE;
  }
  return TRUE;
}

/* ---- handlers ----------------------------------------------------------- */

static void
handle_pull (FerryApp *app, SoupServerMessage *msg, JsonObject *body)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (FerryStream) stream = NULL;
  g_autoptr (JsonNode) node = NULL;
  FerryPullRequest req;

  if (!ferry_rest_parse_pull (body, &req, &error)
      || !(stream = ferry_pull_start (app, &req, &error))) {
    ferry_rest_reply_error (msg, error);
    return;
  }
  node = ferry_stream_to_json (stream);
  reply_json (msg, 200, node);
}

static void
handle_find_all (FerryApp *app, SoupServerMessage *msg)
{
  g_autoptr (GPtrArray) streams =
      ferry_registry_list (ferry_app_get_registry (app));
  g_autoptr (JsonArray) array = json_array_new ();
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_ARRAY);

  for (guint i = 0; i < streams->len; i++)
    json_array_add_element (array,
        ferry_stream_to_json (g_ptr_array_index (streams, i)));
  json_node_set_array (node, array);
  reply_json (msg, 200, node);
}

/**
 * ferry_rest_parse_selector:
 * @sel: (out caller-allocates): its strings are borrowed from @body
 *
 * Which pull a terminate or record request names: by localMediaSessionId, else uri,
 * else localStreamName (the first given, in that order, is the one looked up).
 * Returns: FALSE with @error when a member is not a string or none is given.
 */
gboolean
ferry_rest_parse_selector (JsonObject *body, FerryRestSelector *sel,
    GError **error)
{
  sel->uri = sel->id = sel->name = NULL;
  if (!ferry_json_get_string (body, "uri", &sel->uri, error)
      || !ferry_json_get_string (body, "localMediaSessionId", &sel->id, error)
      || !ferry_json_get_string (body, "localStreamName", &sel->name, error))
    return FALSE;
  if (sel->uri == NULL && sel->id == NULL && sel->name == NULL) {
    g_set_error (error, FERRY_ERROR, FERRY_ERROR_MISSING_PARAMETER,
        "one of 'uri', 'localMediaSessionId' or 'localStreamName' is required");
    return FALSE;
  }
  return TRUE;
}

/* The pull a request names (ferry_rest_parse_selector()).
 * Returns: (transfer full) (nullable) */
static FerryStream *
lookup_pull (FerryApp *app, JsonObject *body, GError **error)
{
  FerryRegistry *reg = ferry_app_get_registry (app);
  FerryRestSelector sel;
  FerryStream *stream;

  if (!ferry_rest_parse_selector (body, &sel, error))
    return NULL;
  if (sel.id)
    stream = ferry_registry_lookup_id (reg, sel.id);
  else if (sel.uri)
    stream = ferry_registry_lookup_uri (reg, sel.uri);
  else
    stream = ferry_registry_lookup_name (reg, sel.name);
  if (stream == NULL)
    g_set_error (error, FERRY_ERROR, FERRY_ERROR_NOT_FOUND,
        "no pull matches the request");
  return stream;
}

static void
handle_terminate (FerryApp *app, SoupServerMessage *msg, JsonObject *body)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) node = NULL;
  g_autoptr (FerryStream) stream = lookup_pull (app, body, &error);

  if (stream == NULL) {
    ferry_rest_reply_error (msg, error);
    return;
  }
  ferry_stream_shutdown (stream, FERRY_STREAM_STOPPED, "terminated by REST",
      "STOPPED", "Stopped by rest /terminate");
  ferry_registry_remove (ferry_app_get_registry (app), stream);
  node = ferry_stream_to_json (stream);
  reply_json (msg, 200, node);
}

static void
handle_record (FerryApp *app, SoupServerMessage *msg, JsonObject *body,
    gboolean start)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) node = NULL;
  g_autoptr (FerryStream) stream = lookup_pull (app, body, &error);

  if (stream == NULL || !(start ? ferry_stream_record_start (stream, &error)
          : ferry_stream_record_stop (stream, &error))) {
    ferry_rest_reply_error (msg, error);
    return;
  }
  node = ferry_stream_to_json (stream);
  reply_json (msg, 200, node);
}

typedef enum
{
  ROUTE_PULL, ROUTE_FIND_ALL, ROUTE_TERMINATE, ROUTE_RECORD_START,
  ROUTE_RECORD_STOP, ROUTE_RECORDS, ROUTE_ICE, ROUTE_DEBUG_LOG
} Route;

static const struct
{
  const char *path;
  Route route;
  gboolean allow_get;
} routes[] = {
  {API_PREFIX "/pull/rtmp/pull", ROUTE_PULL, FALSE},
  {API_PREFIX "/pull/rtmp/find_all", ROUTE_FIND_ALL, TRUE},
  {API_PREFIX "/pull/rtmp/terminate", ROUTE_TERMINATE, FALSE},
  {API_PREFIX "/pull/rtmp/record/start", ROUTE_RECORD_START, FALSE},
  {API_PREFIX "/pull/rtmp/record/stop", ROUTE_RECORD_STOP, FALSE},
  {API_PREFIX "/records/find_all", ROUTE_RECORDS, TRUE},
  {API_PREFIX "/ice", ROUTE_ICE, TRUE},
  {API_PREFIX "/debug/log", ROUTE_DEBUG_LOG, FALSE},
};

#define DEBUG_PIPELINE_PREFIX API_PREFIX "/debug/pipeline/"

static void api_route (FerryApp *app, SoupServerMessage *msg,
    const char *path, const char *method, SoupMessageBody *req_body,
    GHashTable *query);

/* Main context (libsoup), after the body was read. */
static void
api_cb (SoupServer *server, SoupServerMessage *msg, const char *path,
    GHashTable *query, gpointer user_data)
{
  FerryApp *app = user_data;
  const char *method = soup_server_message_get_method (msg);
  SoupMessageBody *req_body = soup_server_message_get_request_body (msg);

  ferry_rest_add_cors (msg, ferry_app_get_config (app));
  if (g_str_equal (method, "OPTIONS")) {
    ferry_rest_no_content (msg);
    return;
  }
  if (!ferry_auth_rest (ferry_app_get_config (app), msg))
    return;
  api_route (app, msg, path, method, req_body, query);
}

static void
api_route (FerryApp *app, SoupServerMessage *msg, const char *path,
    const char *method, SoupMessageBody *req_body, GHashTable *query)
{
  g_autoptr (JsonObject) body = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *clean = g_strdup (path);
  gsize len;
  gint r = -1;

  /* Tolerate a trailing slash, as curl users type one. */
  len = strlen (clean);
  if (len > 1 && clean[len - 1] == '/')
    clean[len - 1] = '\0';
  if (g_str_has_prefix (clean, DEBUG_PIPELINE_PREFIX)) {
    /* libsoup hands the path %-decoded: any stream name fits after the prefix */
    if (!g_str_equal (method, "GET") && !g_str_equal (method, "HEAD")) {
      soup_message_headers_replace (soup_server_message_get_response_headers
          (msg), "Allow", "GET, HEAD, OPTIONS");
      ferry_rest_reply_error_literal (msg, FERRY_ERROR_METHOD_NOT_ALLOWED,
          "use GET for this path");
    } else
      ferry_debug_pipeline (app, msg, clean + strlen (DEBUG_PIPELINE_PREFIX),
          query);
    return;
  }
  for (guint i = 0; i < G_N_ELEMENTS (routes); i++)
    if (g_str_equal (clean, routes[i].path))
      r = i;
  if (r < 0) {
    ferry_rest_reply_error_literal (msg, FERRY_ERROR_NOT_FOUND, "unknown API path");
    return;
  }
  if (!(g_str_equal (method, "POST") || (routes[r].allow_get
              && (g_str_equal (method, "GET")
                  || g_str_equal (method, "HEAD"))))) {
    /* Allow names every method the path takes (RFC 9110 §10.2.1), GET too where it is */
    soup_message_headers_replace (soup_server_message_get_response_headers
        (msg), "Allow", routes[r].allow_get ? "GET, HEAD, POST, OPTIONS"
        : "POST, OPTIONS");
    ferry_rest_reply_error_literal (msg, FERRY_ERROR_METHOD_NOT_ALLOWED,
        routes[r].allow_get ? "use GET or POST for this path"
        : "use POST for this path");
    return;
  }
  if (ferry_rest_refuse_large_body (msg, ferry_app_get_config (app)))
    return;

  if (routes[r].route == ROUTE_FIND_ALL) {
    handle_find_all (app, msg);
    return;
  }
  if (routes[r].route == ROUTE_ICE) {
    g_autoptr (JsonNode) report = ferry_ice_report (ferry_app_get_config (app),
        ferry_app_get_public_ips (app));
    reply_json (msg, 200, report);
    return;
  }
  if (routes[r].route == ROUTE_RECORDS) {
    g_autoptr (JsonNode) list = ferry_records_list (app);
    reply_json (msg, 200, list);
    return;
  }
  body = ferry_json_parse_object_depth (req_body->data, req_body->length,
      ferry_app_get_config (app)->max_json_depth, &error);
  if (body == NULL) {
    ferry_rest_reply_error (msg, error);
    return;
  }
  switch (routes[r].route) {
    case ROUTE_PULL:
      handle_pull (app, msg, body);
      break;
    case ROUTE_TERMINATE:
      handle_terminate (app, msg, body);
      break;
    case ROUTE_DEBUG_LOG:
      ferry_debug_log (app, msg, body);
      break;
    default:
      handle_record (app, msg, body, routes[r].route == ROUTE_RECORD_START);
      break;
  }
}

/* Main context, after the headers and before the body: refuse a body that is announced
 * too large without reading it (setting a status here skips the body and the handler). */
static void
api_early_cb (SoupServer *server, SoupServerMessage *msg, const char *path,
    GHashTable *query, gpointer user_data)
{
  FerryApp *app = user_data;

  ferry_rest_refuse_large_body (msg, ferry_app_get_config (app));
}

static void
config_cb (SoupServer *server, SoupServerMessage *msg, const char *path,
    GHashTable *query, gpointer user_data)
{
  FerryApp *app = user_data;
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "wsPort");
  json_builder_add_int_value (b, ferry_app_get_ws_port (app));
  json_builder_set_member_name (b, "iceServers");
  json_builder_add_value (b, ferry_ice_servers_json (ferry_app_get_config
          (app)));
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  reply_json (msg, 200, root);
}

/* The player page, compiled in: the binary works from any directory. */
static void
static_cb (SoupServer *server, SoupServerMessage *msg, const char *path,
    GHashTable *query, gpointer user_data)
{
  const char *method = soup_server_message_get_method (msg);
  g_autofree char *res_path = NULL;
  g_autoptr (GBytes) bytes = NULL;
  const char *type = "application/octet-stream";

  if (!g_str_equal (method, "GET") && !g_str_equal (method, "HEAD")) {
    soup_message_headers_replace (soup_server_message_get_response_headers
        (msg), "Allow", "GET, HEAD");
    ferry_rest_reply_error_literal (msg, FERRY_ERROR_METHOD_NOT_ALLOWED,
        "only GET is allowed here");
    return;
  }
  if (g_str_equal (path, "/"))
    path = "/index.html";
  if (strstr (path, "..") == NULL)
    res_path = g_strconcat ("/org/ferry/www", path, NULL);
  if (res_path)
    bytes = g_resources_lookup_data (res_path, G_RESOURCE_LOOKUP_FLAGS_NONE,
        NULL);
  if (bytes == NULL) {
    ferry_rest_reply_error_literal (msg, FERRY_ERROR_NOT_FOUND, "no such page");
    return;
  }
  if (g_str_has_suffix (path, ".html"))
    type = "text/html; charset=utf-8";
  else if (g_str_has_suffix (path, ".js"))
    type = "text/javascript; charset=utf-8";
  else if (g_str_has_suffix (path, ".css"))
    type = "text/css; charset=utf-8";
  soup_server_message_set_status (msg, 200, NULL);
  soup_message_headers_replace (soup_server_message_get_response_headers
      (msg), "Cache-Control", "no-cache");
  soup_server_message_set_response (msg, type, SOUP_MEMORY_COPY,
      g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
}

/**
 * ferry_rest_install:
 * Adds the REST API, /config.json and the player page to @server.
 */
void
ferry_rest_install (FerryApp *app, SoupServer *server)
{
  if (ferry_rest_debug == NULL)
    GST_DEBUG_CATEGORY_INIT (ferry_rest_debug, "ferry-rest", 0,
        "Ferry REST API");
  soup_server_add_early_handler (server, API_PREFIX, api_early_cb, app, NULL);
  soup_server_add_handler (server, API_PREFIX, api_cb, app, NULL);
  soup_server_add_handler (server, "/config.json", config_cb, app, NULL);
  soup_server_add_handler (server, "/records", ferry_records_download_cb,
      app, NULL);
  soup_server_add_handler (server, "/", static_cb, app, NULL);
}

/* ferry-whep.c — see ferry-whep.h. Main context only. */
#include "ferry-whep.h"
#include "ferry-auth.h"
#include "ferry-errors.h"
#include "ferry-ice.h"
#include "ferry-log.h"
#include "ferry-pull.h"
#include "ferry-registry.h"
#include "ferry-rest.h"
#include "ferry-sdp.h"
#include "ferry-viewer.h"

#include <string.h>

FERRY_DEBUG_CATEGORY_LAZY (ferry_whep_debug, "ferry-whep", "Ferry WHEP");
#define GST_CAT_DEFAULT ferry_whep_debug

#define WHEP_PREFIX "/whep/"

struct _FerryWhep
{
  FerryApp *app;                /* borrowed */
  SoupServer *server;           /* owned ref */
  GHashTable *sessions;         /* id → Session*, owned */
};

typedef struct
{
  FerryWhep *whep;
  char *id;
  char *name;
  FerryViewer *viewer;          /* owned */
  SoupServerMessage *pending;   /* owned while the POST waits for the answer */
} Session;

static void
session_unpause (Session *s)
{
  if (s->pending == NULL)
    return;
  g_signal_handlers_disconnect_by_data (s->pending, s);
  soup_server_message_unpause (s->pending);
  g_clear_object (&s->pending);
}

static void
session_free (gpointer data)
{
  Session *s = data;

  if (s->pending) {
    ferry_rest_reply_error_literal (s->pending, FERRY_ERROR_INTERNAL,
        "the viewer ended before it could answer");
    session_unpause (s);
  }
  g_clear_object (&s->viewer);
  g_free (s->id);
  g_free (s->name);
  g_free (s);
}

/* FerryViewerEvents (main context). */
static void
viewer_answer (gpointer user_data, FerryViewer *viewer, const char *sdp)
{
  Session *s = user_data;
  SoupMessageHeaders *h;
  g_autofree char *escaped = NULL, *location = NULL, *etag = NULL;
  g_autoptr (GPtrArray) links = NULL;

  if (s->pending == NULL)
    return;
  h = soup_server_message_get_response_headers (s->pending);
  escaped = g_uri_escape_string (s->name, NULL, FALSE);
  location = g_strconcat (WHEP_PREFIX, escaped, "/", s->id, NULL);
  etag = g_strdup_printf ("\"%s\"", s->id);
  soup_message_headers_replace (h, "Location", location);
  soup_message_headers_replace (h, "ETag", etag);
  soup_message_headers_replace (h, "Accept-Patch",
      "application/trickle-ice-sdpfrag");
  links = ferry_ice_link_headers (ferry_app_get_config (s->whep->app));
  for (guint i = 0; i < links->len; i++)
    soup_message_headers_append (h, "Link", g_ptr_array_index (links, i));
  soup_server_message_set_status (s->pending, 201, NULL);
  soup_server_message_set_response (s->pending, "application/sdp",
      SOUP_MEMORY_COPY, sdp, strlen (sdp));
  GST_INFO ("session %s: answered (%s)", s->id, location);
  session_unpause (s);
}

/* Before the answer, a status can only be a failure: it becomes the POST's reply. */
static void
viewer_status (gpointer user_data, FerryViewer *viewer, const char *status,
    const char *info)
{
  Session *s = user_data;
  FerryErrorCode code = FERRY_ERROR_INTERNAL;

  if (s->pending == NULL || g_str_equal (status, "PLAYING"))
    return;
  if (g_strcmp0 (info, "Stream not found") == 0)
    code = FERRY_ERROR_NOT_FOUND;
  else if (g_strcmp0 (info, "No common codecs") == 0
      || g_strcmp0 (info, "Failed to add stream to proxy") == 0)
    /* the second is WCS's status for an offer that cannot be applied (a truncated
     * m-line, webrtcbin refusing the description): the client's fault, not a 500 */
    code = FERRY_ERROR_INVALID_PARAMETER;
  ferry_rest_reply_error_literal (s->pending, code, info ? info : status);
  session_unpause (s);
}

static void
viewer_closed (gpointer user_data, FerryViewer *viewer)
{
  Session *s = user_data;
  GST_INFO ("session %s: closed", s->id);
  g_hash_table_remove (s->whep->sessions, s->id);
}

static const FerryViewerEvents whep_events = {
  .answer = viewer_answer,
  .status = viewer_status,
  .closed = viewer_closed,
};

/* The client left before the answer: end the viewer. */
static void
post_finished_cb (SoupServerMessage *msg, gpointer user_data)
{
  Session *s = user_data;

  g_signal_handlers_disconnect_by_data (msg, s);
  g_clear_object (&s->pending);
  ferry_viewer_close (s->viewer, NULL, NULL);
}

static gboolean
has_content_type (SoupServerMessage *msg, const char *type)
{
  const char *ct = soup_message_headers_get_content_type
      (soup_server_message_get_request_headers (msg), NULL);
  return ct && g_ascii_strcasecmp (ct, type) == 0;
}

static void
handle_post (FerryWhep *self, SoupServerMessage *msg, const char *name)
{
  SoupMessageBody *body = soup_server_message_get_request_body (msg);
  g_autoptr (FerryStream) stream = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *offer = NULL;
  gboolean on_demand = FALSE;
  FerryViewer *viewer;
  Session *s;

  if (!ferry_auth_play_header (ferry_app_get_config (self->app), msg))
    return;
  if (ferry_rest_refuse_large_body (msg, ferry_app_get_config (self->app)))
    return;
  if (!has_content_type (msg, "application/sdp")) {
    ferry_rest_reply_error_literal (msg, FERRY_ERROR_UNSUPPORTED_MEDIA_TYPE,
        "the offer must be sent as application/sdp");
    return;
  }
  /* As over the WebSocket: an rtmp:// name nobody pulls yet is pulled on demand. */
  stream = ferry_pull_for_viewer (self->app, name, &on_demand, &error);
  if (stream == NULL && !on_demand) {
    ferry_rest_reply_error (msg, error);
    return;
  }
  offer = g_strndup (body->data, body->length);
  s = g_new0 (Session, 1);
  s->whep = self;
  s->id = g_uuid_string_random ();
  s->name = g_strdup (name);
  viewer = ferry_viewer_new (self->app, s->id, offer, &whep_events, s, &error);
  if (viewer == NULL) {
    ferry_rest_reply_error_literal (msg, FERRY_ERROR_INVALID_PARAMETER,
        error->message);
    g_free (s->id);
    g_free (s->name);
    g_free (s);
    return;
  }
  if (on_demand
      && !(stream = ferry_pull_start_on_demand (self->app, name, &error))) {
    ferry_rest_reply_error (msg, error);
    g_object_unref (viewer);
    g_free (s->id);
    g_free (s->name);
    g_free (s);
    return;
  }
  s->viewer = viewer;
  s->pending = g_object_ref (msg);
  g_signal_connect (msg, "finished", G_CALLBACK (post_finished_cb), s);
  soup_server_message_pause (msg);
  g_hash_table_insert (self->sessions, g_strdup (s->id), s);
  GST_INFO ("session %s: viewer of %s", s->id, name);
  ferry_stream_add_viewer (stream, viewer);
}

/* RFC 8840 fragment: candidates under the m-section whose a=mid they follow. */
static void
handle_patch (FerryWhep *self, SoupServerMessage *msg, Session *s)
{
  SoupMessageBody *body = soup_server_message_get_request_body (msg);
  g_autoptr (GPtrArray) candidates = NULL;

  if (!has_content_type (msg, "application/trickle-ice-sdpfrag")) {
    ferry_rest_reply_error_literal (msg, FERRY_ERROR_UNSUPPORTED_MEDIA_TYPE,
        "use application/trickle-ice-sdpfrag");
    return;
  }
  candidates = ferry_sdp_parse_trickle (body->data, body->length);
  for (guint i = 0; i < candidates->len; i++) {
    FerrySdpCandidate *c = g_ptr_array_index (candidates, i);
    if (!ferry_viewer_add_remote_candidate (s->viewer, c->mid, c->candidate)) {
      ferry_rest_reply_error_literal (msg, FERRY_ERROR_CONFLICT,
          "the session is not ready for candidates");
      return;
    }
  }
  GST_DEBUG ("session %s: %u remote candidates", s->id, candidates->len);
  ferry_rest_no_content (msg);
}

/* Main context (libsoup).
 *
 * libsoup decodes the whole path, %2F included, so a stream name may hold '/' here
 * (names that are uris do). POST and OPTIONS take everything after /whep/ as the name;
 * PATCH and DELETE take the last segment as the session id and the rest as the name. */
static void
whep_cb (SoupServer *server, SoupServerMessage *msg, const char *path,
    GHashTable *query, gpointer user_data)
{
  FerryWhep *self = user_data;
  const char *method = soup_server_message_get_method (msg);
  const char *rest = path + strlen (WHEP_PREFIX);
  gboolean on_session = g_str_equal (method, "PATCH")
      || g_str_equal (method, "DELETE");
  g_autofree char *name = NULL;
  const char *sid = NULL;
  Session *s = NULL;

  ferry_rest_add_cors (msg, ferry_app_get_config (self->app));
  if (!g_str_has_prefix (path, WHEP_PREFIX) || *rest == '\0') {
    ferry_rest_reply_error_literal (msg, FERRY_ERROR_NOT_FOUND,
        "use /whep/{stream name}");
    return;
  }
  if (on_session) {
    const char *slash = strrchr (rest, '/');
    if (slash == NULL || slash == rest) {
      ferry_rest_reply_error_literal (msg, FERRY_ERROR_NOT_FOUND,
          "no such WHEP session");
      return;
    }
    name = g_strndup (rest, slash - rest);
    sid = slash + 1;
    s = g_hash_table_lookup (self->sessions, sid);
    if (s == NULL || !g_str_equal (s->name, name)) {
      ferry_rest_reply_error_literal (msg, FERRY_ERROR_NOT_FOUND,
          "no such WHEP session");
      return;
    }
  } else {
    name = g_strdup (rest);
  }

  if (g_str_equal (method, "OPTIONS")) {
    SoupMessageHeaders *h = soup_server_message_get_response_headers (msg);
    soup_message_headers_replace (h, "Accept-Post", "application/sdp");
    soup_message_headers_replace (h, "Accept-Patch",
        "application/trickle-ice-sdpfrag");
    ferry_rest_no_content (msg);
  } else if (g_str_equal (method, "POST")) {
    handle_post (self, msg, name);
  } else if (g_str_equal (method, "DELETE")) {
    ferry_viewer_close (s->viewer, "STOPPED", "Stopped by WHEP DELETE");
    soup_server_message_set_status (msg, 200, NULL);
  } else if (g_str_equal (method, "PATCH")) {
    handle_patch (self, msg, s);
  } else {
    /* the methods of the resource: a session's URL (/whep/{name}/{session}) or a
     * stream's (/whep/{name}) */
    const char *slash = strrchr (rest, '/');
    Session *target = slash ? g_hash_table_lookup (self->sessions, slash + 1)
        : NULL;
    gboolean is_session = target && strlen (target->name) == (gsize) (slash
        - rest) && strncmp (target->name, rest, slash - rest) == 0;

    soup_message_headers_replace (soup_server_message_get_response_headers
        (msg), "Allow", is_session ? "PATCH, DELETE, OPTIONS"
        : "POST, OPTIONS");
    ferry_rest_reply_error_literal (msg, FERRY_ERROR_METHOD_NOT_ALLOWED,
        "use POST on /whep/{name}, PATCH or DELETE on its session");
  }
}

/* Main context, after the headers: refuse oversized offers before reading them. */
static void
whep_early_cb (SoupServer *server, SoupServerMessage *msg, const char *path,
    GHashTable *query, gpointer user_data)
{
  FerryWhep *self = user_data;
  const FerryConfig *config = ferry_app_get_config (self->app);

  if (ferry_rest_refuse_large_body (msg, config))
    ferry_rest_add_cors (msg, config);
}

FerryWhep *
ferry_whep_new (FerryApp *app, SoupServer *server)
{
  FerryWhep *self = g_new0 (FerryWhep, 1);

  init_debug ();
  self->app = app;
  self->server = g_object_ref (server);
  self->sessions = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
      session_free);
  /* "/whep/", not "/whep": libsoup matches handler paths as string prefixes, and
   * "/whep" would swallow the page /whep.html. */
  soup_server_add_early_handler (server, WHEP_PREFIX, whep_early_cb, self,
      NULL);
  soup_server_add_handler (server, WHEP_PREFIX, whep_cb, self, NULL);
  return self;
}

void
ferry_whep_free (FerryWhep *self)
{
  GList *sessions;

  if (self == NULL)
    return;
  soup_server_remove_handler (self->server, WHEP_PREFIX);
  /* Closing a viewer removes its session from the table: iterate over a copy. */
  sessions = g_hash_table_get_values (self->sessions);
  for (GList *l = sessions; l; l = l->next) {
    Session *s = l->data;
    g_autoptr (FerryViewer) v = g_object_ref (s->viewer);
    ferry_viewer_close (v, NULL, NULL);
  }
  g_list_free (sessions);
  g_hash_table_unref (self->sessions);
  g_object_unref (self->server);
  g_free (self);
}

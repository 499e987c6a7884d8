/* Ferry test peer: one WHEP playback (see peer-whep-session.h).
 *
 * Owns: one PeerStream, the HTTP exchanges for it (one POST, then at most
 * one PATCH and one DELETE) and the timers in between.
 *
 *   offer set locally ─► POST (no candidates, as in the WCS mode)
 *   201 ─► set-remote-description (the answer has all server candidates)
 *       ─► [trickle] one PATCH once the answer is in and gathering is
 *          complete, or PATCH_FALLBACK_MS after the answer at the latest
 *   connection-state connected ─► status PLAYING
 *   ICE connected + delete_after s ─► DELETE ─► watch AFTER_DELETE_MS ─► end
 *   HTTP error or connection failed ─► status FAILED ─► end
 *
 * Threads: main context only. Each request and timer holds a reference on
 * the session, so a late libsoup callback never sees freed memory; stop()
 * drops the timers, and the owner cancels and drains the requests.
 */
#include "peer-whep-session.h"
#include "peer-stream.h"
#include "peer-whep.h"

#include <string.h>

#include <gst/gst.h>

GST_DEBUG_CATEGORY_STATIC (peer_whep_debug);
#define GST_CAT_DEFAULT peer_whep_debug

/* longest wait for ICE gathering after the answer before PATCHing anyway */
#define PATCH_FALLBACK_MS 3000
/* how long media is still counted after the DELETE answer */
#define AFTER_DELETE_MS 1000
/* cap on the HTTP body quoted in a FAILED status or an error */
#define MAX_QUOTED_BODY 1000

typedef enum
{
  REQ_POST,
  REQ_PATCH,
  REQ_DELETE,
} RequestKind;

static const gchar *const request_names[] = { "POST", "PATCH", "DELETE" };

struct _PeerWhepSession
{
  gchar *url;                   /* the POST URL, as given */
  PeerStream *stream;
  PeerWhepConfig config;
  gboolean stopped;             /* no new request, no timer */
  gboolean ended;
  guint pending;

  /* the POST answer */
  gint http_status;             /* 0: no HTTP answer (yet) */
  gchar *location;              /* the header, as sent */
  gchar *resource;              /* Location resolved against url */
  gchar *etag;
  gchar *accept_patch;
  gchar *answer_type;
  GPtrArray *links;             /* gchar*, one per link-value */
  gboolean answered;            /* 201 with an answer applied */

  /* --trickle */
  GArray *candidates;           /* PeerWhepCandidate, strings owned */
  gboolean gathering_done;
  gboolean patch_sent;
  guint candidates_sent;
  gint patch_status;
  GSource *patch_fallback;

  /* --delete-after */
  gboolean playing;
  GSource *delete_timer;
  gboolean delete_sent;
  gint delete_status;
  GSource *watch_timer;
  guint64 frames_at_delete;
  guint64 samples_at_delete;
  gint64 frames_after_delete;   /* -1: not measured */
  gint64 samples_after_delete;
};

typedef struct
{
  PeerWhepSession *self;
  SoupMessage *msg;
  RequestKind kind;
} Request;

static void
peer_whep_session_free (gpointer data)
{
  PeerWhepSession *self = data;

  /* stop() owns the timers; each of them holds a reference on us */
  g_warn_if_fail (self->patch_fallback == NULL && self->delete_timer == NULL
      && self->watch_timer == NULL);
  g_free (self->url);
  g_clear_pointer (&self->stream, peer_stream_unref);
  g_free (self->location);
  g_free (self->resource);
  g_free (self->etag);
  g_free (self->accept_patch);
  g_free (self->answer_type);
  g_ptr_array_unref (self->links);
  g_array_unref (self->candidates);
}

static void
clear_candidate (gpointer data)
{
  PeerWhepCandidate *c = data;

  g_free ((gchar *) c->candidate);
}

PeerWhepSession *
peer_whep_session_new (const gchar * url, GError ** error)
{
  static gsize once = 0;
  g_autofree gchar *name = peer_whep_name_from_url (url, error);
  PeerWhepSession *self;

  if (g_once_init_enter (&once)) {
    GST_DEBUG_CATEGORY_INIT (peer_whep_debug, "ferry-test-peer-whep", 0,
        "Ferry test peer: WHEP sessions");
    g_once_init_leave (&once, 1);
  }
  if (name == NULL)
    return NULL;
  self = g_atomic_rc_box_new0 (PeerWhepSession);
  self->url = g_strdup (url);
  self->stream = peer_stream_new (name);
  self->links = g_ptr_array_new_with_free_func (g_free);
  self->candidates = g_array_new (FALSE, FALSE, sizeof (PeerWhepCandidate));
  g_array_set_clear_func (self->candidates, clear_candidate);
  self->frames_after_delete = -1;
  self->samples_after_delete = -1;
  return self;
}

PeerWhepSession *
peer_whep_session_ref (PeerWhepSession * self)
{
  return g_atomic_rc_box_acquire (self);
}

void
peer_whep_session_unref (PeerWhepSession * self)
{
  g_atomic_rc_box_release_full (self, peer_whep_session_free);
}

gboolean
peer_whep_session_is_ended (PeerWhepSession * self)
{
  return self->ended;
}

guint
peer_whep_session_pending (PeerWhepSession * self)
{
  return self->pending;
}

static void
trace (PeerWhepSession * self, const gchar * dir, const gchar * text)
{
  if (self->config.trace != NULL)
    self->config.trace (dir, text, self->config.user_data);
}

static void
clear_source (GSource ** source)
{
  if (*source != NULL) {
    g_source_destroy (*source);
    g_clear_pointer (source, g_source_unref);
  }
}

static GSource *
add_timer (PeerWhepSession * self, guint ms, GSourceFunc func)
{
  GSource *source = g_timeout_source_new (ms);

  g_source_set_callback (source, func, peer_whep_session_ref (self),
      (GDestroyNotify) peer_whep_session_unref);
  g_source_attach (source, self->config.ctx);
  return source;
}

void
peer_whep_session_stop (PeerWhepSession * self)
{
  self->stopped = TRUE;
  clear_source (&self->patch_fallback);
  clear_source (&self->delete_timer);
  clear_source (&self->watch_timer);
  peer_stream_teardown (self->stream);
}

/* @status NULL ends without a status entry. */
static void
end_session (PeerWhepSession * self, const gchar * status, const gchar * info)
{
  if (self->ended)
    return;
  if (status != NULL)
    peer_stream_add_status (self->stream, status, info, NULL);
  self->ended = TRUE;
  peer_whep_session_stop (self);
  self->config.ended (self, self->config.user_data);
}

/* A body for the report: valid UTF-8 (the JSON must stay valid), trimmed,
 * capped. */
static gchar *
quote_body (const gchar * text)
{
  g_autofree gchar *copy = g_strstrip (g_strdup (text ? text : ""));
  glong len = g_utf8_strlen (copy, -1);

  if (len <= MAX_QUOTED_BODY)
    return g_steal_pointer (&copy);
  return g_strdup_printf ("%.*s…", (gint) (g_utf8_offset_to_pointer (copy,
              MAX_QUOTED_BODY) - copy), copy);
}

static void on_response (GObject * source, GAsyncResult * result,
    gpointer data);

/* main context */
static void
send_request (PeerWhepSession * self, RequestKind kind,
    const gchar * content_type, const gchar * body)
{
  const gchar *method = request_names[kind];
  const gchar *url = kind == REQ_POST ? self->url : self->resource;
  g_autofree gchar *line = NULL;
  Request *req;
  SoupMessage *msg;

  /* the URL was checked already; a resolved Location may still be odd */
  msg = soup_message_new (method, url);
  if (msg == NULL) {
    g_autofree gchar *what = g_strdup_printf ("%s: unusable URL %s", method,
        url);
    peer_stream_add_error (self->stream, what);
    return;
  }
  if (body != NULL) {
    g_autoptr (GBytes) bytes = g_bytes_new (body, strlen (body));

    soup_message_set_request_body_from_bytes (msg, content_type, bytes);
  }
  line = g_strdup_printf ("%s %s%s%s", method, url, body ? "\n" : "",
      body ? body : "");
  trace (self, ">", line);

  req = g_new0 (Request, 1);
  req->self = peer_whep_session_ref (self);
  req->msg = msg;
  req->kind = kind;
  self->pending++;
  soup_session_send_and_read_async (self->config.session, msg,
      G_PRIORITY_DEFAULT, self->config.cancel, on_response, req);
}

/* main context */
static void
maybe_patch (PeerWhepSession * self, gboolean force)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *frag = NULL;

  if (!self->config.trickle || self->patch_sent || self->stopped ||
      !self->answered || (!self->gathering_done && !force))
    return;
  self->patch_sent = TRUE;
  clear_source (&self->patch_fallback);
  if (self->resource == NULL) {
    peer_stream_add_error (self->stream, "PATCH: no Location to send it to");
    return;
  }
  frag = peer_whep_sdpfrag (peer_stream_get_local_sdp (self->stream),
      (const PeerWhepCandidate *) self->candidates->data,
      self->candidates->len, &error);
  if (frag == NULL) {
    g_autofree gchar *what = g_strdup_printf ("PATCH: %s", error->message);
    peer_stream_add_error (self->stream, what);
    return;
  }
  self->candidates_sent = self->candidates->len;
  send_request (self, REQ_PATCH, "application/trickle-ice-sdpfrag", frag);
}

/* main context */
static gboolean
on_patch_fallback (gpointer data)
{
  PeerWhepSession *self = data;
  g_autofree gchar *what = NULL;

  g_clear_pointer (&self->patch_fallback, g_source_unref);
  what = g_strdup_printf ("ICE gathering not complete %d ms after the "
      "answer; PATCH sent with %u candidates", PATCH_FALLBACK_MS,
      self->candidates->len);
  peer_stream_add_error (self->stream, what);
  maybe_patch (self, TRUE);
  return G_SOURCE_REMOVE;
}

static void
collect_link (const char *name, const char *value, gpointer data)
{
  PeerWhepSession *self = data;

  if (g_ascii_strcasecmp (name, "Link") == 0)
    peer_whep_split_links (value, self->links);
}

/* main context */
static void
on_post_response (PeerWhepSession * self, SoupMessage * msg, guint status,
    const gchar * text)
{
  SoupMessageHeaders *headers = soup_message_get_response_headers (msg);
  g_autoptr (GError) error = NULL;
  const gchar *type;

  self->http_status = status;
  self->location = g_strdup (soup_message_headers_get_one (headers,
          "Location"));
  self->etag = g_strdup (soup_message_headers_get_one (headers, "ETag"));
  self->accept_patch = g_strdup (soup_message_headers_get_one (headers,
          "Accept-Patch"));
  self->answer_type = g_strdup (soup_message_headers_get_one (headers,
          "Content-Type"));
  soup_message_headers_foreach (headers, collect_link, self);

  if (status != SOUP_STATUS_CREATED) {
    g_autofree gchar *body = quote_body (text);
    g_autofree gchar *info = g_strdup_printf ("HTTP %u: %s", status, body);

    end_session (self, "FAILED", info);
    return;
  }
  if (self->stopped)
    return;
  type = soup_message_headers_get_content_type (headers, NULL);
  if (g_strcmp0 (type, "application/sdp") != 0) {
    g_autofree gchar *what = g_strdup_printf ("answer Content-Type is %s",
        self->answer_type ? self->answer_type : "missing");
    peer_stream_add_error (self->stream, what);
  }
  if (text == NULL || *text == '\0') {
    end_session (self, "FAILED", "HTTP 201 without an SDP answer");
    return;
  }
  peer_stream_set_answer (self->stream, text);
  self->answered = TRUE;

  if (self->location == NULL) {
    peer_stream_add_error (self->stream, "HTTP 201 without Location");
  } else {
    self->resource = peer_whep_resolve (self->url, self->location, &error);
    if (self->resource == NULL) {
      g_autofree gchar *what = g_strdup_printf ("Location %s: %s",
          self->location, error->message);
      peer_stream_add_error (self->stream, what);
    }
  }

  if (self->config.trickle) {
    if (self->gathering_done)
      maybe_patch (self, FALSE);
    else
      self->patch_fallback = add_timer (self, PATCH_FALLBACK_MS,
          on_patch_fallback);
  }
}

/* main context */
static gboolean
on_watch_done (gpointer data)
{
  PeerWhepSession *self = data;
  guint64 frames, samples;

  g_clear_pointer (&self->watch_timer, g_source_unref);
  peer_stream_get_counts (self->stream, &frames, &samples);
  self->frames_after_delete = frames - self->frames_at_delete;
  self->samples_after_delete = samples - self->samples_at_delete;
  end_session (self, NULL, NULL);
  return G_SOURCE_REMOVE;
}

/* A failed request (HTTP error or none at all) that is not the POST is an
 * error entry: the run goes on. */
static void
add_request_error (PeerWhepSession * self, RequestKind kind, guint status,
    const gchar * text, GError * error)
{
  g_autofree gchar *what = NULL;

  if (status == 0) {
    what = g_strdup_printf ("%s: %s", request_names[kind], error->message);
  } else {
    g_autofree gchar *body = quote_body (text);

    what = g_strdup_printf ("%s: HTTP %u: %s", request_names[kind], status,
        body);
  }
  peer_stream_add_error (self->stream, what);
}

/* main context */
static void
on_response (GObject * source, GAsyncResult * result, gpointer data)
{
  Request *req = data;
  PeerWhepSession *self = req->self;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes = NULL;
  g_autofree gchar *text = NULL;
  g_autofree gchar *line = NULL;
  guint status = 0;

  bytes = soup_session_send_and_read_finish (SOUP_SESSION (source), result,
      &error);
  self->pending--;
  if (bytes != NULL) {
    gsize size = 0;
    const gchar *raw = g_bytes_get_data (bytes, &size);

    status = soup_message_get_status (req->msg);
    text = g_utf8_make_valid (raw ? raw : "", size);
    line = g_strdup_printf ("%s %u%s%s", request_names[req->kind], status,
        size ? "\n" : "", text);
  } else {
    line = g_strdup_printf ("%s failed: %s", request_names[req->kind],
        error->message);
  }
  trace (self, "<", line);

  if (bytes == NULL && g_error_matches (error, G_IO_ERROR,
          G_IO_ERROR_CANCELLED)) {
    /* the run ended first: not the server's fault, but worth knowing */
    g_autofree gchar *what = g_strdup_printf ("%s: no answer before the end "
        "of the run", request_names[req->kind]);
    peer_stream_add_error (self->stream, what);
    goto done;
  }

  switch (req->kind) {
    case REQ_POST:
      if (status == 0) {
        g_autofree gchar *info = g_strdup_printf ("POST: %s", error->message);

        end_session (self, "FAILED", info);
      } else {
        on_post_response (self, req->msg, status, text);
      }
      break;
    case REQ_PATCH:
      self->patch_status = status;
      if (!SOUP_STATUS_IS_SUCCESSFUL (status))
        add_request_error (self, req->kind, status, text, error);
      break;
    case REQ_DELETE:
      self->delete_status = status;
      if (!SOUP_STATUS_IS_SUCCESSFUL (status))
        add_request_error (self, req->kind, status, text, error);
      if (self->stopped)
        break;
      /* from here on the server should send nothing: count what still
       * arrives (the jitterbuffer drains a few frames) */
      peer_stream_get_counts (self->stream, &self->frames_at_delete,
          &self->samples_at_delete);
      self->watch_timer = add_timer (self, AFTER_DELETE_MS, on_watch_done);
      break;
  }

done:
  g_object_unref (req->msg);
  peer_whep_session_unref (req->self);
  g_free (req);
}

/* main context */
static gboolean
on_delete_timer (gpointer data)
{
  PeerWhepSession *self = data;

  g_clear_pointer (&self->delete_timer, g_source_unref);
  self->delete_sent = TRUE;
  if (self->resource == NULL) {
    peer_stream_add_error (self->stream, "DELETE: no Location to send it to");
    return G_SOURCE_REMOVE;
  }
  send_request (self, REQ_DELETE, NULL, NULL);
  return G_SOURCE_REMOVE;
}

/* PeerStream offer_ready. main context */
static void
on_offer (PeerStream * stream, const gchar * sdp, gpointer data)
{
  PeerWhepSession *self = data;

  if (!self->stopped)
    send_request (self, REQ_POST, "application/sdp", sdp);
}

/* PeerStream candidate. main context */
static void
on_candidate (PeerStream * stream, guint mline, const gchar * candidate,
    gpointer data)
{
  PeerWhepSession *self = data;

  if (candidate == NULL) {
    GST_INFO ("%s: gathering complete, %u candidates", self->url,
        self->candidates->len);
    self->gathering_done = TRUE;
    maybe_patch (self, FALSE);
    return;
  }
  GST_DEBUG ("%s: local candidate %u %s", self->url, mline, candidate);
  /* a PATCH already sent is the only one; later candidates are not sent */
  if (!self->patch_sent) {
    PeerWhepCandidate c = { mline, g_strdup (candidate) };

    g_array_append_val (self->candidates, c);
  }
}

/* PeerStream state_changed. main context */
static void
on_state (PeerStream * stream, gpointer data)
{
  PeerWhepSession *self = data;

  if (self->stopped)
    return;
  if (!self->playing && peer_stream_is_connected (stream)) {
    self->playing = TRUE;
    peer_stream_add_status (stream, "PLAYING", NULL, NULL);
  }
  if (self->config.delete_after >= 0 && self->delete_timer == NULL &&
      !self->delete_sent && peer_stream_is_ice_connected (stream))
    self->delete_timer = add_timer (self,
        (guint) (self->config.delete_after * 1000), on_delete_timer);
  /* after DELETE a failure is the expected outcome, not news */
  if (!self->delete_sent && peer_stream_has_failed (stream))
    end_session (self, "FAILED", "connection-state failed");
}

/* main context */
void
peer_whep_session_start (PeerWhepSession * self, const PeerWhepConfig * config)
{
  PeerStreamConfig sc = {
    .ctx = config->ctx,
    .ice_address = config->ice_address,
    .audio = config->audio,
    .video = config->video,
    .bundle_policy = config->bundle_policy,
    .no_decode = config->no_decode,
    .offer_ready = on_offer,
    .candidate = config->trickle ? on_candidate : NULL,
    .state_changed = on_state,
    .user_data = self,
  };
  g_autoptr (GError) error = NULL;

  self->config = *config;
  if (!peer_stream_start (self->stream, &sc, &error)) {
    peer_stream_add_error (self->stream, error->message);
    end_session (self, NULL, NULL);
  }
}

static void
set_string_or_null (JsonObject * obj, const gchar * name, const gchar * value)
{
  if (value != NULL)
    json_object_set_string_member (obj, name, value);
  else
    json_object_set_null_member (obj, name);
}

static void
set_int_or_null (JsonObject * obj, const gchar * name, gint64 value,
    gboolean valid)
{
  if (valid)
    json_object_set_int_member (obj, name, value);
  else
    json_object_set_null_member (obj, name);
}

/* main context */
JsonNode *
peer_whep_session_to_json (PeerWhepSession * self)
{
  JsonNode *node = peer_stream_to_json (self->stream);
  JsonObject *obj = json_node_get_object (node);
  JsonArray *links = json_array_new ();
  guint i;

  json_object_set_string_member (obj, "protocol", "whep");
  json_object_set_string_member (obj, "url", self->url);
  set_int_or_null (obj, "httpStatus", self->http_status,
      self->http_status != 0);
  set_string_or_null (obj, "location", self->location);
  for (i = 0; i < self->links->len; i++)
    json_array_add_string_element (links, self->links->pdata[i]);
  json_object_set_array_member (obj, "links", links);
  set_string_or_null (obj, "etag", self->etag);
  set_string_or_null (obj, "acceptPatch", self->accept_patch);
  set_string_or_null (obj, "contentType", self->answer_type);
  json_object_set_int_member (obj, "candidatesSent", self->candidates_sent);
  set_int_or_null (obj, "patchStatus", self->patch_status,
      self->patch_status != 0);
  set_int_or_null (obj, "deleteStatus", self->delete_status,
      self->delete_status != 0);
  set_int_or_null (obj, "framesAfterDelete", self->frames_after_delete,
      self->frames_after_delete >= 0);
  set_int_or_null (obj, "audioSamplesAfterDelete", self->samples_after_delete,
      self->samples_after_delete >= 0);
  return node;
}

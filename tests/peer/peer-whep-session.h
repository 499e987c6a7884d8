/* Ferry test peer: one WHEP playback (draft-ietf-wish-whep) around one
 * PeerStream: POST the offer, apply the 201 answer, optionally PATCH the
 * gathered candidates and DELETE the session, and report what the server
 * answered each time.
 *
 * Main context only (the context in the config): libsoup delivers there
 * and PeerStream hops there.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

typedef struct _PeerWhepSession PeerWhepSession;

/* The session ended: an HTTP failure, a failed connection, or the end of
 * the watch after DELETE. Called once. */
typedef void (*PeerWhepEndedFunc) (PeerWhepSession * session,
    gpointer user_data);

/* -v tracing: @dir is ">" (sent) or "<" (received). */
typedef void (*PeerWhepTraceFunc) (const gchar * dir, const gchar * text,
    gpointer user_data);

/* Everything borrowed must outlive every session started with it. */
typedef struct
{
  GMainContext *ctx;
  SoupSession *session;
  GCancellable *cancel;         /* cancels every request of the run */
  const gchar *ice_address;
  gboolean audio;
  gboolean video;
  const gchar *bundle_policy;
  gboolean trickle;             /* PATCH the gathered candidates */
  gdouble delete_after;         /* s after ICE connected; < 0: never */
  gboolean no_decode;           /* count RTP only (PeerStreamConfig) */
  PeerWhepEndedFunc ended;
  PeerWhepTraceFunc trace;      /* optional */
  gpointer user_data;
} PeerWhepConfig;

PeerWhepSession *peer_whep_session_new (const gchar * url, GError ** error);
PeerWhepSession *peer_whep_session_ref (PeerWhepSession * session);
void peer_whep_session_unref (PeerWhepSession * session);

void peer_whep_session_start (PeerWhepSession * session,
    const PeerWhepConfig * config);
gboolean peer_whep_session_is_ended (PeerWhepSession * session);
/* requests sent whose callback has not run yet */
guint peer_whep_session_pending (PeerWhepSession * session);
/* Timers off, no new request, webrtcbin torn down; idempotent. Requests in
 * flight finish (or get cancelled by the owner) and are still recorded. */
void peer_whep_session_stop (PeerWhepSession * session);
JsonNode *peer_whep_session_to_json (PeerWhepSession * session);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PeerWhepSession, peer_whep_session_unref)

G_END_DECLS

/* Ferry test peer: one receive-only webrtcbin per played stream.
 *
 * A PeerStream owns one pipeline (webrtcbin plus the decode chains added on
 * pad-added), the statuses the server reported for it and the media counters.
 * Everything in this header runs on the main context except where a comment
 * says otherwise; webrtcbin's own threads only copy data and hop back.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef struct _PeerStream PeerStream;

/* Called on the main context once the local offer is set; @sdp is borrowed. */
typedef void (*PeerStreamOfferFunc) (PeerStream * stream, const gchar * sdp,
    gpointer user_data);

/* Called on the main context for every local candidate webrtcbin gathers
 * (@candidate is "candidate:…", borrowed), then once with NULL when
 * gathering is complete. */
typedef void (*PeerStreamCandidateFunc) (PeerStream * stream, guint mline,
    const gchar * candidate, gpointer user_data);

/* Called on the main context after the ICE or the peer connection state
 * changed; read the new state with the getters below. */
typedef void (*PeerStreamStateFunc) (PeerStream * stream, gpointer user_data);

typedef struct
{
  GMainContext *ctx;            /* where hops land; the thread running it */
  const gchar *ice_address;     /* the only local address ICE may use */
  gboolean audio;               /* add the audio m-line */
  gboolean video;               /* add the video m-line */
  const gchar *bundle_policy;   /* webrtcbin nick; NULL = max-bundle */
  gint audio_pt;                /* Opus payload type offered; 0 = 111 */
  gint video_pt;                /* H.264 payload type offered; 0 = 102 */
  gboolean video_first;         /* video m-line before audio */
  gboolean no_decode;           /* count RTP only, decode nothing (peer-media.h) */
  gboolean no_nack;             /* offer no NACK/RTX for video (browsers do) */
  guint drop_video_every;       /* drop every Nth video RTP packet on arrival; 0 = none */
  guint latency_ms;             /* webrtcbin's jitterbuffer latency; 0 = its 200 ms */
  PeerStreamOfferFunc offer_ready;
  PeerStreamCandidateFunc candidate;    /* optional: NULL gathers silently */
  PeerStreamStateFunc state_changed;    /* optional */
  gpointer user_data;           /* for the callbacks; must outlive the stream */
} PeerStreamConfig;

PeerStream *peer_stream_new (const gchar * name);
PeerStream *peer_stream_ref (PeerStream * stream);
void peer_stream_unref (PeerStream * stream);

const gchar *peer_stream_get_name (PeerStream * stream);
const gchar *peer_stream_get_id (PeerStream * stream);

gboolean peer_stream_bundle_policy_is_valid (const gchar * nick);
gboolean peer_stream_start (PeerStream * stream,
    const PeerStreamConfig * config, GError ** error);
void peer_stream_set_answer (PeerStream * stream, const gchar * sdp);
void peer_stream_add_status (PeerStream * stream, const gchar * status,
    const gchar * info, const gchar * via);
void peer_stream_add_error (PeerStream * stream, const gchar * what);
void peer_stream_set_stop_sent (PeerStream * stream);
void peer_stream_teardown (PeerStream * stream);

gboolean peer_stream_is_ended (PeerStream * stream);
const gchar *peer_stream_get_local_sdp (PeerStream * stream);
gboolean peer_stream_is_ice_connected (PeerStream * stream);
gboolean peer_stream_is_connected (PeerStream * stream);
gboolean peer_stream_has_failed (PeerStream * stream);
void peer_stream_get_counts (PeerStream * stream, guint64 * video_frames,
    guint64 * audio_samples);
JsonNode *peer_stream_to_json (PeerStream * stream);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PeerStream, peer_stream_unref)

G_END_DECLS

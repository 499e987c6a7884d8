/* Ferry test peer: the pure parts of WHEP (draft-ietf-wish-whep): the stream
 * name a URL plays, the RFC 8840 trickle fragment, Link header splitting
 * and Location resolution.
 *
 * No I/O, no threads; callable from any thread.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The stream name @url plays: its last non-empty path segment,
 * percent-decoded. NULL (and @error) unless @url is an absolute http(s)
 * URL with a path segment. */
gchar *peer_whep_name_from_url (const gchar * url, GError ** error);

/* A local candidate and the m-line webrtcbin gathered it for. */
typedef struct
{
  guint mline;
  const gchar *candidate;       /* "candidate:…"; a leading "a=" is fine */
} PeerWhepCandidate;

/* The application/trickle-ice-sdpfrag body (RFC 8840) for @candidates:
 * a=ice-ufrag and a=ice-pwd of @offer_sdp's first m-section, then that
 * m-section (its m= line with port 9 and format 0, its a=mid) with its
 * a=candidate lines. With BUNDLE that is all: every candidate belongs to
 * the first m-section. Without, every other m-line that has candidates
 * follows the same way, with its own a=ice-ufrag / a=ice-pwd when they
 * differ from the first one's. Lines end in CRLF. NULL (and @error) when
 * the offer has no m-section, no ICE credentials, or a candidate names an
 * m-line the offer does not have. */
gchar *peer_whep_sdpfrag (const gchar * offer_sdp,
    const PeerWhepCandidate * candidates, guint n_candidates, GError ** error);

/* Appends to @out (gchar*, owned) every link-value of a Link header value,
 * trimmed: commas inside <…> or "…" do not split. */
void peer_whep_split_links (const gchar * value, GPtrArray * out);

/* @location resolved against @base (the POST URL), as a string; NULL (and
 * @error) unless the result is an http(s) URL. */
gchar *peer_whep_resolve (const gchar * base, const gchar * location,
    GError ** error);

G_END_DECLS

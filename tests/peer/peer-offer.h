/* Ferry test peer: rewriting the offer text before it is sent, to play like
 * clients that are not webrtcbin (a Firefox-shaped offer from a template) or
 * to send a deliberately wrong DTLS fingerprint. Only the text sent to the
 * server changes; webrtcbin keeps its own local description, so the template
 * must describe the same transceivers (kinds, order, payload types).
 *
 * Pure functions; any thread.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

gchar *peer_offer_fill_template (const gchar * template_text,
    const gchar * local_sdp, GError ** error);
gchar *peer_offer_break_fingerprint (const gchar * sdp);

G_END_DECLS

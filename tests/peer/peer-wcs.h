/* Ferry test peer: the WCS WebSocket messages, as the browser SDK sends
 * them, and defensive reads of what the server sends back.
 *
 * Pure functions on json-glib values; no I/O, no threads.
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* {"message":@message,"data":[@payload]}; a NULL payload becomes null.
 * Takes ownership of @payload. Returns (transfer full) text. */
gchar *peer_wcs_envelope (const gchar * message, JsonNode * payload);

/* Payloads (transfer full) for "connection", "playStream", "stopStream". */
JsonNode *peer_wcs_connection (void);
JsonNode *peer_wcs_play_stream (const gchar * id, const gchar * name,
    const gchar * sdp);
JsonNode *peer_wcs_stop_stream (const gchar * id, const gchar * name);

/* Splits a server frame into its message name and data array, both
 * borrowed from @parser. FALSE (and a reason in @error) for anything the
 * SDK would drop: invalid JSON, no object, no name, no data array. */
gboolean peer_wcs_parse (JsonParser * parser, const gchar * text, gsize size,
    const gchar ** message, JsonArray ** data, GError ** error);

/* Typed reads that return NULL instead of raising a critical on a missing
 * member or a wrong type (tests run with G_DEBUG=fatal-criticals). */
const gchar *peer_wcs_get_string (JsonObject * obj, const gchar * name);
JsonObject *peer_wcs_element_object (JsonArray * arr, guint i);
const gchar *peer_wcs_element_string (JsonArray * arr, guint i);

G_END_DECLS

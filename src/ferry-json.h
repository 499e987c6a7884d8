/* ferry-json.h — small json-glib helpers shared by the REST API and the WCS signalling:
 * parsing a body into an object, typed member reads that never raise criticals on
 * missing or mistyped members (json-glib's getters do, house-style §6.4), serialising.
 * Pure; any thread.
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* Deeper input is refused before parsing (json-glib recurses per level). */
#define FERRY_JSON_MAX_DEPTH 32

JsonObject *ferry_json_parse_object_depth (const char *data, gssize len,
    guint max_depth, GError **error);
JsonObject *ferry_json_parse_object (const char *data, gssize len,
    GError **error);
char *ferry_json_to_string (JsonNode *node);
gboolean ferry_json_has_control_chars (const char *text);

/* Each returns TRUE when the member is absent (leaving *out untouched) or well-typed,
 * FALSE with @error when it has another type. */
gboolean ferry_json_get_string (JsonObject *obj, const char *member,
    const char **out, GError **error);
gboolean ferry_json_get_bool (JsonObject *obj, const char *member,
    gboolean *out, GError **error);

G_END_DECLS

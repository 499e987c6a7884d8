/* ferry-debug.h — debugging a stream the way GStreamer developers do (docs/debugging.md):
 *   GET  /rest-api/debug/pipeline/{localStreamName}[?format=svg]  the pipeline graph
 *        (what GST_DEBUG_DUMP_DOT_DIR would write; SVG through graphviz's dot)
 *   POST /rest-api/debug/log {"localStreamName", "level"}          raise GST_DEBUG for
 *        the elements of one stream at run time ("level": 0-9 or a name; "none" ends it)
 *
 * Owns: the set of streams whose log level is raised and the log function that filters
 * for them (FerryDebugLog, global: GStreamer's log functions are process-wide).
 * The handlers run on the main context; the log filter on whichever thread logs.
 */
#pragma once

#include <libsoup/soup.h>
#include <gst/gst.h>
#include <json-glib/json-glib.h>
#include "ferry-app.h"

G_BEGIN_DECLS

void ferry_debug_pipeline (FerryApp *app, SoupServerMessage *msg,
    const char *name, GHashTable *query);
void ferry_debug_log (FerryApp *app, SoupServerMessage *msg,
    JsonObject *body);
void ferry_debug_forget_pipeline (GstElement *pipeline);
gboolean ferry_debug_parse_log (JsonObject *body, const char **name,
    GstDebugLevel *level, GError **error);

G_END_DECLS

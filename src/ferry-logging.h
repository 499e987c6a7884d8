/* ferry-logging.h — where GStreamer's log (Ferry's own categories included) goes.
 *
 * On a terminal or a file: GStreamer's own format, one line per message, as every
 * GStreamer developer reads it. Under systemd (stderr connected to the journal): one
 * journal entry per message with structured fields — PRIORITY mapped from the GStreamer
 * level, GST_CATEGORY, GST_LEVEL, GST_OBJECT, CODE_FILE/LINE/FUNC, and FERRY_STREAM_ID /
 * FERRY_VIEWER from the element's place in a stream's pipeline (docs/debugging.md).
 * Any thread (GStreamer calls the writer from streaming threads).
 */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

typedef gboolean (*FerryLogFilter) (GstDebugCategory *category,
    GstDebugLevel level, GObject *object);

void ferry_logging_init (void);
void ferry_logging_set_filter (FerryLogFilter filter);

G_END_DECLS

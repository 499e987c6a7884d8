/* ferry-plugins.h — the startup check that every GStreamer element Ferry uses exists.
 * webrtcbin's NULL→READY just fails when nice or dtls is missing, which would otherwise
 * show up as a vague per-viewer error (house-style E4). Main thread, once.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

gboolean ferry_plugins_check (GError **error);

G_END_DECLS

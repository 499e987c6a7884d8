/* ferry-webrtc.h — helpers around webrtcbin that are not about one viewer:
 * continuing on the main context when webrtcbin replies or changes state, and ICE set-up.
 *
 * webrtcbin answers promises and emits notify:: signals on its own pc thread, which must
 * never touch the WebSocket or change pipeline state (house-style E3, E9, §6.2). These
 * helpers copy the reply and hop to the main context with a strong ref on the target; the
 * step then runs there. Callable from any thread; steps run on @ctx.
 */
#pragma once

#include <gst/gst.h>
#include "ferry-config.h"

G_BEGIN_DECLS

/* Main context. @target is the GObject the hop was made for (kept alive until the step
 * ran). @reply is NULL for a promise answered with nothing (set-*-description success);
 * a promise that was never answered arrives as a reply with an "error" field. */
typedef void (*FerryWebrtcStep) (gpointer target, const GstStructure *reply);

void ferry_webrtc_hop (GMainContext *ctx, gpointer target,
    FerryWebrtcStep step);
void ferry_webrtc_emit (GstElement *webrtc, const char *signal, gpointer arg,
    GMainContext *ctx, gpointer target, FerryWebrtcStep step);
gboolean ferry_webrtc_reply_error (const GstStructure *reply, GError **error);
void ferry_webrtc_configure_ice (GstElement *webrtc,
    const FerryConfig *config);

G_END_DECLS

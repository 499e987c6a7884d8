/* ferry-viewer.h — FerryViewer: one WebRTC playback of one stream.
 *
 * Owns: its branch bin on the stream's tees (queue → payloader → webrtcbin per track),
 * the WebRTC negotiation (browser offers, Ferry answers with every candidate inline) and
 * the viewer's timers (ICE timeout, gathering timeout).
 * Does not own: the signalling connection. It reports answers and statuses through the
 * FerryViewerEvents its creator passes in (ferry-signalling.c for the WCS WebSocket).
 * Runs on: the main context. webrtcbin's pc thread only copies promise replies and state
 * changes and hops here (house-style E3, E9); the pipeline is never set to NULL from it.
 * Lifecycle: new (offer parsed) → ferry_stream_add_viewer → attach (when the stream plays)
 * → answer sent → PLAYING (ICE+DTLS connected) → close (once; idempotent) → unref.
 */
#pragma once

#include <gst/gst.h>
#include "ferry-stream.h"
#include "ferry-transit.h"

G_BEGIN_DECLS

#define FERRY_TYPE_VIEWER (ferry_viewer_get_type ())
G_DECLARE_FINAL_TYPE (FerryViewer, ferry_viewer, FERRY, VIEWER, GObject)

typedef struct
{
  /* The SDP answer to send to the client. */
  void (*answer) (gpointer user_data, FerryViewer *viewer, const char *sdp);
  /* A WCS status (PLAYING, STOPPED, FAILED) with an optional info text. */
  void (*status) (gpointer user_data, FerryViewer *viewer,
      const char *status, const char *info);
  /* The viewer is closed; drop every reference to it. Called exactly once. */
  void (*closed) (gpointer user_data, FerryViewer *viewer);
} FerryViewerEvents;

FerryViewer *ferry_viewer_new (FerryApp *app, const char *id,
    const char *offer, const FerryViewerEvents *events, gpointer user_data,
    GError **error);

const char *ferry_viewer_get_id (FerryViewer *self);
gboolean ferry_viewer_offers_codec (FerryViewer *self);
gboolean ferry_viewer_offers_track (FerryViewer *self, const char *kind);
gboolean ferry_viewer_lacks_track (FerryViewer *self, const char *kind);
gboolean ferry_viewer_sends_track (FerryViewer *self, const char *kind);
GstElement *ferry_viewer_get_bin (FerryViewer *self);
FerryTransitMeter *ferry_viewer_get_transit (FerryViewer *self);
guint64 ferry_viewer_get_bytes_out (FerryViewer *self);

/* Called by FerryStream. */
gboolean ferry_viewer_attach (FerryViewer *self, FerryStream *stream,
    GError **error);
void ferry_viewer_set_stream (FerryViewer *self, FerryStream *stream);

gboolean ferry_viewer_add_remote_candidate (FerryViewer *self,
    const char *mid, const char *candidate);

void ferry_viewer_close (FerryViewer *self, const char *status,
    const char *info);

G_END_DECLS

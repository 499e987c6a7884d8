/* ferry-signalling.h — the WCS WebSocket endpoint (wcs-websocket-protocol.md).
 *
 * Owns: one client per WebSocket connection (a ref on the connection and its viewers, by
 * mediaSessionId) and the keep-alive ping timer.
 * Runs on: the main context; libsoup delivers every message there because the server
 * listens from it. Viewers report back through FerryViewerEvents, also on the main context.
 * Lifecycle: new (installs the handler on a SoupServer) → free (closes every client).
 */
#pragma once

#include <libsoup/soup.h>
#include "ferry-app.h"

G_BEGIN_DECLS

typedef struct _FerrySignalling FerrySignalling;

FerrySignalling *ferry_signalling_new (FerryApp *app, SoupServer *server);
void ferry_signalling_free (FerrySignalling *self);
guint ferry_signalling_get_n_clients (FerrySignalling *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FerrySignalling, ferry_signalling_free)

G_END_DECLS

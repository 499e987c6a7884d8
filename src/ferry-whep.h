/* ferry-whep.h — WHEP (WebRTC-HTTP Egress Protocol, RFC 9725) on the REST port:
 *
 *   POST   /whep/{name}            offer (application/sdp) → 201 answer, Location, Link
 *   PATCH  /whep/{name}/{session}  trickle-ice-sdpfrag → remote candidates, 204
 *   DELETE /whep/{name}/{session}  ends the viewer, 200
 *   OPTIONS                        CORS pre-flight, 204
 *
 * Owns: one session per WHEP viewer (a ref on its FerryViewer and, until the answer is
 * ready, on the paused POST). The viewer is the same FerryViewer the WCS WebSocket uses:
 * one implementation of the WebRTC branch. Runs on: the main context.
 */
#pragma once

#include <libsoup/soup.h>
#include "ferry-app.h"

G_BEGIN_DECLS

typedef struct _FerryWhep FerryWhep;

FerryWhep *ferry_whep_new (FerryApp *app, SoupServer *server);
void ferry_whep_free (FerryWhep *self);

G_END_DECLS

/* ferry-conns.h — FerryConns: the open HTTP connections per client address, for [limits]
 * connections-per-address (REST, WHEP, the player, WebSockets before and after the
 * upgrade; plain and TLS ports alike).
 *
 * A connection is known by its GSocket from the first request libsoup starts on it until
 * the socket is closed. (Not until it is finalised: libsoup 3.2 keeps server sockets
 * alive after their connection is gone, so a weak ref would never fire.) The table holds
 * a ref on each socket and drops closed ones when it counts, and every few seconds.
 * Main context only.
 */
#pragma once

#include <libsoup/soup.h>

G_BEGIN_DECLS

typedef struct _FerryConns FerryConns;

FerryConns *ferry_conns_new (GMainContext *ctx);
void ferry_conns_free (FerryConns *self);
gboolean ferry_conns_admit (FerryConns *self, SoupServerMessage *msg,
    const char *address, guint limit, guint *open);
guint ferry_conns_count (FerryConns *self, const char *address);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FerryConns, ferry_conns_free)

G_END_DECLS

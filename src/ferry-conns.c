/* ferry-conns.c — see ferry-conns.h. */
#include "ferry-conns.h"

struct _FerryConns
{
  GHashTable *per_address;      /* char* address → GPtrArray of GSocket (refs) */
  GSource *prune;               /* drops closed sockets of quiet addresses */
};

/* Closed sockets of @sockets are dropped. */
static void
prune_array (GPtrArray *sockets)
{
  for (guint i = sockets->len; i > 0; i--)
    if (g_socket_is_closed (g_ptr_array_index (sockets, i - 1)))
      g_ptr_array_remove_index_fast (sockets, i - 1);
}

static gboolean
prune_cb (gpointer data)
{
  FerryConns *self = data;
  GHashTableIter it;
  gpointer value;

  g_hash_table_iter_init (&it, self->per_address);
  while (g_hash_table_iter_next (&it, NULL, &value)) {
    prune_array (value);
    if (((GPtrArray *) value)->len == 0)
      g_hash_table_iter_remove (&it);
  }
  return G_SOURCE_CONTINUE;
}

/**
 * ferry_conns_new:
 * Returns: (transfer full): an empty table, pruned every few seconds in @ctx
 */
FerryConns *
ferry_conns_new (GMainContext *ctx)
{
  FerryConns *self = g_new0 (FerryConns, 1);

  self->per_address = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
      (GDestroyNotify) g_ptr_array_unref);
  self->prune = g_timeout_source_new_seconds (5);
  g_source_set_callback (self->prune, prune_cb, self, NULL);
  g_source_attach (self->prune, ctx);
  return self;
}

void
ferry_conns_free (FerryConns *self)
{
  if (self == NULL)
    return;
  g_source_destroy (self->prune);
  g_source_unref (self->prune);
  g_hash_table_unref (self->per_address);
  g_free (self);
}

/* The open connections of @address (closed ones dropped first), or NULL. */
static GPtrArray *
open_of (FerryConns *self, const char *address)
{
  GPtrArray *sockets = g_hash_table_lookup (self->per_address, address);

  if (sockets)
    prune_array (sockets);
  return sockets;
}

guint
ferry_conns_count (FerryConns *self, const char *address)
{
  GPtrArray *sockets = open_of (self, address);

  return sockets ? sockets->len : 0;
}

/**
 * ferry_conns_admit:
 * @address: the client's address (ferry_rest_remote_address())
 * @open: (out): the connections @address has open, this one included if admitted
 *
 * Called for every request libsoup starts; a connection seen before passes at once.
 * Returns: FALSE when a new connection would be one more than @limit.
 */
gboolean
ferry_conns_admit (FerryConns *self, SoupServerMessage *msg,
    const char *address, guint limit, guint *open)
{
  GSocket *socket = soup_server_message_get_socket (msg);
  GPtrArray *sockets = open_of (self, address);

  *open = sockets ? sockets->len : 0;
  if (socket == NULL || (sockets && g_ptr_array_find (sockets, socket, NULL)))
    return TRUE;
  if (*open >= limit)
    return FALSE;
  if (sockets == NULL) {
    sockets = g_ptr_array_new_with_free_func (g_object_unref);
    g_hash_table_insert (self->per_address, g_strdup (address), sockets);
  }
  g_ptr_array_add (sockets, g_object_ref (socket));
  *open = sockets->len;
  return TRUE;
}

/* ferry-registry.c — see ferry-registry.h. Main context only.
 * A linear list: pulls number in the tens, and the order of find_all is the pull order. */
#include "ferry-registry.h"

struct _FerryRegistry
{
  GPtrArray *streams;           /* FerryStream*, owned */
};

FerryRegistry *
ferry_registry_new (void)
{
  FerryRegistry *self = g_new0 (FerryRegistry, 1);
  self->streams = g_ptr_array_new_with_free_func (g_object_unref);
  return self;
}

void
ferry_registry_free (FerryRegistry *self)
{
  if (self == NULL)
    return;
  g_ptr_array_unref (self->streams);
  g_free (self);
}

/* @stream: (transfer none) */
void
ferry_registry_add (FerryRegistry *self, FerryStream *stream)
{
  g_ptr_array_add (self->streams, g_object_ref (stream));
}

void
ferry_registry_remove (FerryRegistry *self, FerryStream *stream)
{
  g_ptr_array_remove (self->streams, stream);
}

typedef const char *(*Getter) (FerryStream *);

static FerryStream *
lookup (FerryRegistry *self, Getter get, const char *value)
{
  /* Newest first: an ended pull and its replacement may share a name for a moment. */
  for (guint i = self->streams->len; i > 0; i--) {
    FerryStream *s = g_ptr_array_index (self->streams, i - 1);
    if (g_strcmp0 (get (s), value) == 0)
      return g_object_ref (s);
  }
  return NULL;
}

/** Returns: (transfer full) (nullable) */
FerryStream *
ferry_registry_lookup_name (FerryRegistry *self, const char *name)
{
  return lookup (self, ferry_stream_get_name, name);
}

/** Returns: (transfer full) (nullable) */
FerryStream *
ferry_registry_lookup_uri (FerryRegistry *self, const char *uri)
{
  return lookup (self, ferry_stream_get_uri, uri);
}

/** Returns: (transfer full) (nullable) */
FerryStream *
ferry_registry_lookup_id (FerryRegistry *self, const char *id)
{
  return lookup (self, ferry_stream_get_id, id);
}

/** Returns: (transfer container): a snapshot; each element is a new ref. */
GPtrArray *
ferry_registry_list (FerryRegistry *self)
{
  GPtrArray *out = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < self->streams->len; i++)
    g_ptr_array_add (out, g_object_ref (g_ptr_array_index (self->streams, i)));
  return out;
}

/* ferry-registry.h — FerryRegistry: the pulled streams, by id, name and uri.
 *
 * Owns: a strong ref on every listed FerryStream (active or ended: FAILED and STOPPED
 * pulls stay listed until terminated or pulled again). Main context only.
 */
#pragma once

#include "ferry-stream.h"

G_BEGIN_DECLS

FerryRegistry *ferry_registry_new (void);
void ferry_registry_free (FerryRegistry *self);

void ferry_registry_add (FerryRegistry *self, FerryStream *stream);
void ferry_registry_remove (FerryRegistry *self, FerryStream *stream);
FerryStream *ferry_registry_lookup_name (FerryRegistry *self,
    const char *name);
FerryStream *ferry_registry_lookup_uri (FerryRegistry *self,
    const char *uri);
FerryStream *ferry_registry_lookup_id (FerryRegistry *self, const char *id);
GPtrArray *ferry_registry_list (FerryRegistry *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FerryRegistry, ferry_registry_free)

G_END_DECLS

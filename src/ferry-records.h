/* ferry-records.h — the recordings on disk: the REST list and HTTP download.
 *
 * Reads the records directory; owns nothing between requests. Names are only ever taken
 * from the directory listing or checked against the characters Ferry itself writes
 * (ferry_recorder_sanitize_name), so no request can reach outside the directory.
 * Runs on: the main context (libsoup handlers). Probing reads box headers only.
 */
#pragma once

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include "ferry-app.h"

G_BEGIN_DECLS

JsonNode *ferry_records_list (FerryApp *app);
void ferry_records_download_cb (SoupServer *server, SoupServerMessage *msg,
    const char *path, GHashTable *query, gpointer user_data);
gboolean ferry_records_name_is_valid (const char *name);

G_END_DECLS

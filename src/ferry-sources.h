/* ferry-sources.h — [sources]: which origins Ferry may pull from (docs/security.md#sources).
 *
 * A pull's uri is checked twice: when it is asked for (REST, an on-demand play), on what
 * the uri says (scheme, port, a host that is an address or matches [sources] hosts), and
 * before every connection, on the addresses a host name resolves to, so that a name
 * pointing inside the operator's network ("localhost", "127.1", a private DNS entry) is
 * caught too. The checks are pure functions of the configuration; any thread.
 */
#pragma once

#include "ferry-config.h"

G_BEGIN_DECLS

gboolean ferry_sources_check_config (const FerryConfig *config, GError **error);
gboolean ferry_sources_allow_private (const FerryConfig *config);
gboolean ferry_sources_check_uri (const FerryConfig *config, const char *uri,
    char **resolve_host, GError **error);
gboolean ferry_sources_check_addresses (const FerryConfig *config,
    const char *host, GList *addresses, GError **error);
gboolean ferry_sources_address_is_private (GInetAddress *address);

G_END_DECLS

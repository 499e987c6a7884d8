/* ferry-auth.h — who may use the REST API and who may play (docs/security.md).
 *
 * [auth] rest / play = auto | on | off; auto means on unless [server] listen is a loopback
 * address. REST requests (the API, /metrics, recordings) carry `Authorization: Bearer
 * <rest-token>` or HTTP Basic (rest-users); viewers carry a play token: WHEP in
 * `Authorization: Bearer`, WCS in the `connection` message (authToken or custom.token) or
 * in playStream's custom.token. Comparisons take the same time whatever the input; no
 * credential is ever logged.
 * Pure functions over the config and the request; main context (libsoup handlers).
 */
#pragma once

#include <libsoup/soup.h>
#include "ferry-config.h"

G_BEGIN_DECLS

gboolean ferry_auth_rest_required (const FerryConfig *config);
gboolean ferry_auth_play_required (const FerryConfig *config);
gboolean ferry_auth_check_config (const FerryConfig *config, GError **error);
gboolean ferry_auth_rest (const FerryConfig *config, SoupServerMessage *msg);
gboolean ferry_auth_play_header (const FerryConfig *config,
    SoupServerMessage *msg);
gboolean ferry_auth_play_token (const FerryConfig *config, const char *token);

G_END_DECLS

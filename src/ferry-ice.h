/* ferry-ice.h — what Ferry will advertise to WebRTC clients, for the startup log and
 * GET /rest-api/ice: the local addresses ICE gathers on, the public (NAT 1:1) addresses,
 * the port range, STUN/TURN (without secrets), and warnings when clients outside this
 * host could not reach any of it — every peer's top support problem.
 * Also the ICE servers offered to clients (WHEP Link headers, the pages' /config.json).
 * Main context.
 */
#pragma once

#include <json-glib/json-glib.h>
#include "ferry-config.h"

G_BEGIN_DECLS

char **ferry_ice_resolve_public (char **names, GError **error);
JsonNode *ferry_ice_report (const FerryConfig *config, char **public_ips);
void ferry_ice_log_report (const FerryConfig *config, char **public_ips);
JsonNode *ferry_ice_servers_json (const FerryConfig *config);
GPtrArray *ferry_ice_link_headers (const FerryConfig *config);

G_END_DECLS

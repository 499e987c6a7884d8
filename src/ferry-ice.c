/* ferry-ice.c — see ferry-ice.h. */
#include "ferry-ice.h"
#include "ferry-errors.h"
#include "ferry-log.h"

#include <gio/gio.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>

FERRY_DEBUG_CATEGORY_LAZY (ferry_ice_debug, "ferry-ice",
    "Ferry advertised ICE addresses");
#define GST_CAT_DEFAULT ferry_ice_debug

/**
 * ferry_ice_resolve_public:
 * Resolves each configured public address (an IP or a host name) to IP addresses once,
 * at startup: candidates must carry IPs (browsers do not resolve names in them).
 * Returns: (transfer full) (nullable): NULL when nothing is configured.
 */
char **
ferry_ice_resolve_public (char **names, GError **error)
{
  g_autoptr (GStrvBuilder) out = g_strv_builder_new ();
  g_autoptr (GResolver) resolver = g_resolver_get_default ();

  if (names == NULL || names[0] == NULL)
    return NULL;
  for (char **n = names; *n; n++) {
    g_autoptr (GInetAddress) ip = g_inet_address_new_from_string (*n);
    GList *list;
    if (ip) {
      g_strv_builder_add (out, *n);
      continue;
    }
    list = g_resolver_lookup_by_name (resolver, *n, NULL, error);
    if (list == NULL) {
      g_prefix_error (error, "public address %s: ", *n);
      return NULL;
    }
    for (GList *l = list; l; l = l->next) {
      g_autofree char *s = g_inet_address_to_string (l->data);
      g_strv_builder_add (out, s);
    }
    g_resolver_free_addresses (list);
  }
  return g_strv_builder_end (out);
}

/* Loopback, link-local and private ranges: reachable from this host or LAN only. */
static gboolean
is_local_only (const char *text)
{
  g_autoptr (GInetAddress) a = g_inet_address_new_from_string (text);

  if (a == NULL)
    return FALSE;
  return g_inet_address_get_is_loopback (a)
      || g_inet_address_get_is_link_local (a)
      || g_inet_address_get_is_site_local (a)
      || (g_inet_address_get_family (a) == G_SOCKET_FAMILY_IPV6
      && (g_inet_address_to_bytes (a)[0] & 0xfe) == 0xfc);     /* ULA fc00::/7 */
}

/* The addresses ICE gathers on: the configured ones, or every up, non-loopback
 * interface address (what libnice uses when it is not told). */
static GPtrArray *
local_addresses (const FerryConfig *config)
{
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
  struct ifaddrs *ifa = NULL;

  if (config->ice_addresses) {
    for (char **a = config->ice_addresses; *a; a++)
      g_ptr_array_add (out, g_strdup (*a));
    return out;
  }
  if (getifaddrs (&ifa) != 0)
    return out;
  for (struct ifaddrs *i = ifa; i; i = i->ifa_next) {
    g_autoptr (GSocketAddress) sa = NULL;
    GInetAddress *ip;
    gsize len;

    if (i->ifa_addr == NULL || !(i->ifa_flags & IFF_UP)
        || (i->ifa_flags & IFF_LOOPBACK))
      continue;
    if (i->ifa_addr->sa_family == AF_INET)
      len = sizeof (struct sockaddr_in);
    else if (i->ifa_addr->sa_family == AF_INET6)
      len = sizeof (struct sockaddr_in6);
    else
      continue;
    sa = g_socket_address_new_from_native (i->ifa_addr, len);
    if (!G_IS_INET_SOCKET_ADDRESS (sa))
      continue;
    ip = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (sa));
    if (g_inet_address_get_is_link_local (ip))
      continue;
    g_ptr_array_add (out, g_inet_address_to_string (ip));
  }
  freeifaddrs (ifa);
  return out;
}

/* "turn://user:secret@host:port" → "turn://user@host:port" for reports and logs. */
static char *
redact (const char *uri)
{
  const char *at = strrchr (uri, '@');
  const char *scheme_end = strstr (uri, "://");
  const char *colon;

  if (at == NULL || scheme_end == NULL)
    return g_strdup (uri);
  colon = memchr (scheme_end + 3, ':', at - (scheme_end + 3));
  if (colon == NULL)
    return g_strdup (uri);
  return g_strdup_printf ("%.*s%s", (int) (colon - uri), uri, at);
}

/**
 * ferry_ice_report:
 * Returns: (transfer full): the report object (see ferry-ice.h).
 */
JsonNode *
ferry_ice_report (const FerryConfig *config, char **public_ips)
{
  g_autoptr (GPtrArray) local = local_addresses (config);
  g_autoptr (JsonBuilder) b = json_builder_new ();
  gboolean reachable = FALSE;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "addresses");
  json_builder_begin_array (b);
  for (guint i = 0; i < local->len; i++) {
    json_builder_add_string_value (b, g_ptr_array_index (local, i));
    reachable |= !is_local_only (g_ptr_array_index (local, i));
  }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "publicAddresses");
  json_builder_begin_array (b);
  for (char **p = public_ips; p && *p; p++) {
    json_builder_add_string_value (b, *p);
    reachable |= !is_local_only (*p);
  }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "portRange");
  if (config->port_min > 0) {
    json_builder_begin_array (b);
    json_builder_add_int_value (b, config->port_min);
    json_builder_add_int_value (b, config->port_max);
    json_builder_end_array (b);
  } else {
    json_builder_add_null_value (b);
  }
  json_builder_set_member_name (b, "iceTcp");
  json_builder_add_boolean_value (b, config->ice_tcp);
  json_builder_set_member_name (b, "stunServer");
  if (config->stun_server)
    json_builder_add_string_value (b, config->stun_server);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "turnServers");
  json_builder_begin_array (b);
  for (char **t = config->turn_servers; t && *t; t++) {
    g_autofree char *r = redact (*t);
    json_builder_add_string_value (b, r);
  }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "warnings");
  json_builder_begin_array (b);
  if (local->len == 0 && (public_ips == NULL || public_ips[0] == NULL))
    json_builder_add_string_value (b, "no address to gather ICE candidates "
        "on: WebRTC clients cannot connect");
  else if (!reachable)
    json_builder_add_string_value (b, "only private or loopback addresses are "
        "advertised: clients outside this host or its network cannot connect; "
        "set [webrtc] public-addresses (NAT 1:1) or a TURN server");
  json_builder_end_array (b);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

/* Main context, at startup: one line per fact, a WARNING per warning. */
void
ferry_ice_log_report (const FerryConfig *config, char **public_ips)
{
  g_autoptr (JsonNode) report = ferry_ice_report (config, public_ips);
  JsonObject *o = json_node_get_object (report);
  JsonArray *warnings = json_object_get_array_member (o, "warnings");
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autofree char *text = NULL;

  init_debug ();
  json_generator_set_root (gen, report);
  text = json_generator_to_data (gen, NULL);
  GST_INFO ("advertised ICE: %s", text);
  g_printerr ("ferry-ice: %s\n", text);
  for (guint i = 0; i < json_array_get_length (warnings); i++) {
    GST_WARNING ("%s", json_array_get_string_element (warnings, i));
    g_printerr ("ferry-ice: WARNING: %s\n",
        json_array_get_string_element (warnings, i));
  }
}

/* One configured server → "stun:host:port" / "turn:host:port" plus credentials. */
static gboolean
split_server (const char *uri, char **url, char **user, char **pass)
{
  g_autoptr (GUri) u = g_uri_parse (uri, G_URI_FLAGS_HAS_PASSWORD, NULL);
  const char *scheme;

  *url = *user = *pass = NULL;
  if (u == NULL || g_uri_get_host (u) == NULL)
    return FALSE;
  scheme = g_uri_get_scheme (u);
  if (g_uri_get_port (u) > 0)
    *url = g_strdup_printf ("%s:%s:%d", scheme, g_uri_get_host (u),
        g_uri_get_port (u));
  else
    *url = g_strdup_printf ("%s:%s", scheme, g_uri_get_host (u));
  *user = g_strdup (g_uri_get_user (u));
  *pass = g_strdup (g_uri_get_password (u));
  return TRUE;
}

static void
each_server (const FerryConfig *config, void (*fn) (const char *url,
        const char *user, const char *pass, gpointer data), gpointer data)
{
  if (config->stun_server) {
    g_autofree char *url = NULL, *user = NULL, *pass = NULL;
    if (split_server (config->stun_server, &url, &user, &pass))
      fn (url, NULL, NULL, data);
  }
  for (char **t = config->turn_servers; t && *t; t++) {
    g_autofree char *url = NULL, *user = NULL, *pass = NULL;
    if (split_server (*t, &url, &user, &pass))
      fn (url, user, pass, data);
  }
}

static void
add_server_json (const char *url, const char *user, const char *pass,
    gpointer data)
{
  JsonBuilder *b = data;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "urls");
  json_builder_begin_array (b);
  json_builder_add_string_value (b, url);
  json_builder_end_array (b);
  if (user) {
    json_builder_set_member_name (b, "username");
    json_builder_add_string_value (b, user);
    json_builder_set_member_name (b, "credential");
    json_builder_add_string_value (b, pass ? pass : "");
  }
  json_builder_end_object (b);
}

/**
 * ferry_ice_servers_json:
 * Returns: (transfer full): an RTCIceServer[] for the pages.
 */
JsonNode *
ferry_ice_servers_json (const FerryConfig *config)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();

  json_builder_begin_array (b);
  each_server (config, add_server_json, b);
  json_builder_end_array (b);
  return json_builder_get_root (b);
}

static void
add_link (const char *url, const char *user, const char *pass, gpointer data)
{
  GPtrArray *links = data;

  if (user)
    g_ptr_array_add (links, g_strdup_printf ("<%s>; rel=\"ice-server\"; "
            "username=\"%s\"; credential=\"%s\"; credential-type=\"password\"",
            url, user, pass ? pass : ""));
  else
    g_ptr_array_add (links, g_strdup_printf ("<%s>; rel=\"ice-server\"", url));
}

/**
 * ferry_ice_link_headers:
 * Returns: (transfer full): WHEP `Link` header values, one per ICE server (RFC 9725).
 */
GPtrArray *
ferry_ice_link_headers (const FerryConfig *config)
{
  GPtrArray *links = g_ptr_array_new_with_free_func (g_free);
  each_server (config, add_link, links);
  return links;
}

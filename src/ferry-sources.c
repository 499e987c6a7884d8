/* ferry-sources.c — see ferry-sources.h. */
#include "ferry-sources.h"
#include "ferry-errors.h"

#include <string.h>

/* Where a pull must not go unless the operator says so: the addresses of "this host", of
 * private and shared (CGNAT) networks, link-local (cloud metadata services live at
 * 169.254.169.254), benchmarking, multicast and reserved space. IPv6 addresses that carry
 * an IPv4 address (mapped, compatible, NAT64) are judged by that address. */
static const char *const private_ranges[] = {
  "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
  "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16",
  "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4",
  "240.0.0.0/4",
  "::/128", "::1/128", "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8",
  "100::/64", "2001:db8::/32",
};

/* The IPv4 address inside ::ffff:a.b.c.d, ::a.b.c.d and 64:ff9b::a.b.c.d, or NULL. */
static GInetAddress *
embedded_ipv4 (GInetAddress *address)
{
  static const guint8 mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
  static const guint8 compat[12] = { 0 };
  static const guint8 nat64[12] = { 0, 0x64, 0xff, 0x9b };
  const guint8 *b;

  if (g_inet_address_get_family (address) != G_SOCKET_FAMILY_IPV6)
    return NULL;
  b = g_inet_address_to_bytes (address);
  /* ::/96 holds :: and ::1 themselves, which are judged as IPv6 */
  if (memcmp (b, compat, 12) == 0 && (b[12] | b[13] | b[14]) == 0 && b[15] <= 1)
    return NULL;
  if (memcmp (b, mapped, 12) == 0 || memcmp (b, compat, 12) == 0
      || memcmp (b, nat64, 12) == 0)
    return g_inet_address_new_from_bytes (b + 12, G_SOCKET_FAMILY_IPV4);
  return NULL;
}

/* Whether @address is in the range written @range ("10.0.0.0/8"); both families. */
static gboolean
in_range (GInetAddress *address, const char *range)
{
  g_autoptr (GInetAddressMask) mask = g_inet_address_mask_new_from_string (range,
      NULL);

  return mask != NULL && g_inet_address_mask_get_family (mask)
      == g_inet_address_get_family (address)
      && g_inet_address_mask_matches (mask, address);
}

/**
 * ferry_sources_address_is_private:
 * Whether @address belongs to the ranges a pull may not reach with allow-private = false.
 */
gboolean
ferry_sources_address_is_private (GInetAddress *address)
{
  g_autoptr (GInetAddress) v4 = embedded_ipv4 (address);

  if (v4 != NULL)
    return ferry_sources_address_is_private (v4);
  for (guint i = 0; i < G_N_ELEMENTS (private_ranges); i++)
    if (in_range (address, private_ranges[i]))
      return TRUE;
  return FALSE;
}

/**
 * ferry_sources_allow_private:
 * allow-private = auto is true for a Ferry that listens on loopback only (a developer's or
 * a fronted one: who can ask it to pull can reach the box anyway), false otherwise.
 */
gboolean
ferry_sources_allow_private (const FerryConfig *config)
{
  g_autoptr (GInetAddress) listen = NULL;

  if (g_strcmp0 (config->allow_private, "true") == 0)
    return TRUE;
  if (g_strcmp0 (config->allow_private, "false") == 0)
    return FALSE;
  listen = g_inet_address_new_from_string (config->listen_address);
  return listen != NULL && g_inet_address_get_is_loopback (listen);
}

/* An entry of [sources] hosts: an address or range ("10.1.2.3", "10.0.0.0/8", "::1"),
 * a host name ("origin.example.com"), or every name under a domain ("*.example.com"). */
static gboolean
entry_is_range (const char *entry)
{
  g_autoptr (GInetAddressMask) mask = g_inet_address_mask_new_from_string (entry,
      NULL);
  return mask != NULL;
}

static gboolean
name_matches (const char *entry, const char *host)
{
  if (g_str_has_prefix (entry, "*."))
    return g_str_has_suffix (host, entry + 1) && strlen (host) > strlen (entry + 1);
  return g_ascii_strcasecmp (entry, host) == 0;
}

static gboolean
entry_is_valid_name (const char *entry)
{
  const char *p = g_str_has_prefix (entry, "*.") ? entry + 2 : entry;

  if (*p == '\0' || strlen (entry) > 253)
    return FALSE;
  for (; *p; p++)
    if (!(g_ascii_isalnum (*p) || *p == '-' || *p == '.' || *p == '_'))
      return FALSE;
  return TRUE;
}

/* "1935" or "1935-1940" → [lo, hi]; FALSE when it is neither. */
static gboolean
parse_port_entry (const char *entry, guint64 *lo, guint64 *hi)
{
  g_auto (GStrv) parts = g_strsplit (entry, "-", 2);

  if (!g_ascii_string_to_unsigned (parts[0], 10, 1, 65535, lo, NULL))
    return FALSE;
  *hi = *lo;
  if (parts[1] != NULL
      && !g_ascii_string_to_unsigned (parts[1], 10, *lo, 65535, hi, NULL))
    return FALSE;
  return TRUE;
}

/**
 * ferry_sources_check_config:
 * The [sources] values, checked once every source of configuration is read.
 */
gboolean
ferry_sources_check_config (const FerryConfig *config, GError **error)
{
  guint64 lo, hi;

  if (!(g_strcmp0 (config->allow_private, "auto") == 0
          || g_strcmp0 (config->allow_private, "true") == 0
          || g_strcmp0 (config->allow_private, "false") == 0)) {
    g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
        "[sources] allow-private must be auto, true or false");
    return FALSE;
  }
  for (char **s = config->source_schemes; s && *s; s++)
    if (g_ascii_strcasecmp (*s, "rtmp") != 0 && g_ascii_strcasecmp (*s, "rtmps") != 0) {
      g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
          "[sources] schemes: '%s' is not rtmp or rtmps", *s);
      return FALSE;
    }
  for (char **h = config->source_hosts; h && *h; h++)
    if (!entry_is_range (*h) && !entry_is_valid_name (*h)) {
      g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
          "[sources] hosts: '%s' is not an address, a range (10.0.0.0/8), a "
          "host name or *.domain", *h);
      return FALSE;
    }
  for (char **p = config->source_ports; p && *p; p++)
    if (!parse_port_entry (*p, &lo, &hi)) {
      g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
          "[sources] ports: '%s' is not a port (1-65535) or a range (1935-1940)",
          *p);
      return FALSE;
    }
  return TRUE;
}

static gboolean
scheme_allowed (const FerryConfig *config, const char *scheme)
{
  if (config->source_schemes == NULL)
    return TRUE;
  for (char **s = config->source_schemes; *s; s++)
    if (g_ascii_strcasecmp (*s, scheme) == 0)
      return TRUE;
  return FALSE;
}

static gboolean
port_allowed (const FerryConfig *config, guint port)
{
  guint64 lo, hi;

  if (config->source_ports == NULL)
    return TRUE;
  for (char **p = config->source_ports; *p; p++)
    if (parse_port_entry (*p, &lo, &hi) && port >= lo && port <= hi)
      return TRUE;
  return FALSE;
}

/* Whether [sources] hosts names @host (a name entry) or holds @address (a range entry);
 * @any_range says whether the list has ranges at all. */
static gboolean
hosts_list (const FerryConfig *config, const char *host, GInetAddress *address,
    gboolean *any_range)
{
  gboolean listed = FALSE;

  *any_range = FALSE;
  for (char **h = config->source_hosts; h && *h; h++) {
    if (entry_is_range (*h)) {
      *any_range = TRUE;
      listed |= address != NULL && in_range (address, *h);
    } else
      listed |= host != NULL && name_matches (*h, host);
  }
  return listed;
}

static gboolean
forbid (GError **error, const char *format, ...) G_GNUC_PRINTF (2, 3);

static gboolean
forbid (GError **error, const char *format, ...)
{
  va_list args;
  g_autofree char *text = NULL;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, FERRY_ERROR, FERRY_ERROR_SOURCE_FORBIDDEN,
      "source not allowed: %s", text);
  return FALSE;
}

/* One address @host stands for (the host itself when it is an address). */
static gboolean
check_address (const FerryConfig *config, const char *host,
    GInetAddress *address, GError **error)
{
  g_autofree char *text = g_inet_address_to_string (address);
  gboolean any_range;
  gboolean listed = hosts_list (config, NULL, address, &any_range);

  if (config->source_hosts != NULL && !listed)
    return forbid (error, "%s%s%s is not in [sources] hosts", host,
        g_str_equal (host, text) ? "" : " resolves to ",
        g_str_equal (host, text) ? "" : text);
  if (!listed && !ferry_sources_allow_private (config)
      && ferry_sources_address_is_private (address))
    return forbid (error, "%s%s%s is a private or loopback address "
        "([sources] allow-private = false)", host,
        g_str_equal (host, text) ? "" : " resolves to ",
        g_str_equal (host, text) ? "" : text);
  return TRUE;
}

/**
 * ferry_sources_check_uri:
 * @uri: a uri ferry_ingest_uri_is_supported() accepts
 * @resolve_host: (out) (transfer full) (optional): set to the host name whose addresses must pass
 *   ferry_sources_check_addresses() before a connection, or NULL when the uri alone
 *   decides
 *
 * Returns: FALSE with FERRY_ERROR_SOURCE_FORBIDDEN (403) when [sources] forbids @uri.
 */
gboolean
ferry_sources_check_uri (const FerryConfig *config, const char *uri,
    char **resolve_host, GError **error)
{
  g_autoptr (GUri) parsed = g_uri_parse (uri, G_URI_FLAGS_NONE, NULL);
  g_autoptr (GInetAddress) address = NULL;
  g_autofree char *host = NULL;
  const char *scheme;
  gboolean any_range;
  gint port;
  gsize len;

  if (resolve_host)
    *resolve_host = NULL;
  if (parsed == NULL || g_uri_get_host (parsed) == NULL) {
    g_set_error (error, FERRY_ERROR, FERRY_ERROR_INVALID_PARAMETER,
        "uri is not a valid URI");
    return FALSE;
  }
  scheme = g_uri_get_scheme (parsed);
  if (!scheme_allowed (config, scheme)) {
    g_autofree char *allowed = g_strjoinv (", ", config->source_schemes);
    return forbid (error, "scheme %s is not in [sources] schemes (%s)", scheme,
        allowed);
  }
  port = g_uri_get_port (parsed);
  if (port <= 0)
    port = g_ascii_strcasecmp (scheme, "rtmps") == 0 ? 443 : 1935;
  if (!port_allowed (config, port))
    return forbid (error, "port %d is not in [sources] ports", port);

  /* "Origin.Example.COM." and "origin.example.com" are one host */
  host = g_ascii_strdown (g_uri_get_host (parsed), -1);
  len = strlen (host);
  if (len > 1 && host[len - 1] == '.')
    host[len - 1] = '\0';
  address = g_inet_address_new_from_string (host);
  if (address != NULL)
    return check_address (config, host, address, error);

  if (hosts_list (config, host, NULL, &any_range))
    return TRUE;                /* named by the operator: no further question */
  if (config->source_hosts != NULL && !any_range)
    return forbid (error, "%s is not in [sources] hosts", host);
  /* Ranges to match, or private ranges to keep out: it depends on what the name
   * resolves to, asked again before every connection. */
  if (resolve_host
      && (config->source_hosts != NULL || !ferry_sources_allow_private (config)))
    *resolve_host = g_steal_pointer (&host);
  return TRUE;
}

/**
 * ferry_sources_check_addresses:
 * @addresses: (element-type GInetAddress): what @host resolved to
 *
 * Every address must pass: rtmp2src resolves the name again and may take any of them.
 */
gboolean
ferry_sources_check_addresses (const FerryConfig *config, const char *host,
    GList *addresses, GError **error)
{
  if (addresses == NULL)
    return forbid (error, "%s resolves to no address", host);
  for (GList *l = addresses; l; l = l->next)
    if (!check_address (config, host, l->data, error))
      return FALSE;
  return TRUE;
}

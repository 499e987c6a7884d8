/* ferry-config.c — defaults and GKeyFile loading for FerryConfig. Main thread. */
#include "ferry-config.h"
#include "ferry-sources.h"
#include "ferry-transcode.h"

#include <gst/gst.h>
#include <string.h>

GST_DEBUG_CATEGORY_STATIC (ferry_config_debug);
#define GST_CAT_DEFAULT ferry_config_debug

/**
 * ferry_config_new_default:
 * Returns: (transfer full): a config holding the built-in defaults.
 */
FerryConfig *
ferry_config_new_default (void)
{
  FerryConfig *self = g_new0 (FerryConfig, 1);

  if (ferry_config_debug == NULL)
    GST_DEBUG_CATEGORY_INIT (ferry_config_debug, "ferry-config", 0,
        "Ferry configuration");

  /* Loopback by default: the REST API can make the server connect anywhere, so exposing
   * it is an explicit choice (listen = 0.0.0.0 in the config file). */
  self->listen_address = g_strdup ("127.0.0.1");
  self->rest_port = 8081;
  self->ws_port = 8080;
  self->connect_timeout_s = 15;
  self->rtmp_timeout_s = 5;
  self->idle_timeout_s = 10;
  self->reconnect = TRUE;
  self->tls_verify = TRUE;
  self->reconnect_initial_ms = 500;
  self->reconnect_max_ms = 30000;
  self->reconnect_attempts = 0;
  self->stall_timeout_s = 5;
  self->grace_s = 10;
  self->on_demand_linger_s = 10;
  self->track_wait_ms = 2000;
  self->opus_bitrate = 64000;
  self->transcode_policy = g_strdup ("auto");
  self->transcode_preset = g_strdup ("veryfast");
  self->transcode_quality = 23;
  self->transcode_max_kbps = 6000;
  self->records_dir = g_strdup ("records");
  self->record_segment_s = 600;
  self->record_segment_mb = 0;
  self->record_fragment_ms = 1000;
  self->record_finalize_s = 5;
  self->ice_addresses = NULL;
  self->cors_origins = g_strsplit ("*", ";", -1);
  self->ice_timeout_s = 15;
  self->rtcp_timeout_s = 10;
  self->gather_timeout_ms = 3000;
  self->gop_cache_kb = 8192;
  self->gop_cache_ms = 12000;
  self->gop_cache_send_kbps = 20000;
  self->nack_history = 512;
  self->ping_interval_s = 10;
  self->ping_misses = 3;
  self->https_port = 8444;
  self->wss_port = 8443;
  self->auth_rest = g_strdup ("auto");
  self->allow_private = g_strdup ("auto");
  self->auth_play = g_strdup ("auto");
  self->max_body_kb = 64;
  self->max_json_depth = 32;
  self->max_pulls = 100;
  self->max_viewers = 1000;
  self->max_stream_viewers = 1000;
  self->max_ws_message_kb = 256;
  self->max_ws_rate = 50;
  self->max_ws_per_address = 64;
  self->max_conns_per_address = 256;
  self->request_timeout_s = 30;
  return self;
}

void
ferry_config_free (FerryConfig *self)
{
  if (self == NULL)
    return;
  g_free (self->listen_address);
  g_free (self->records_dir);
  g_free (self->transcode_policy);
  g_free (self->transcode_preset);
  g_strfreev (self->cors_origins);
  g_strfreev (self->public_addresses);
  g_strfreev (self->turn_servers);
  g_free (self->stun_server);
  g_strfreev (self->ice_addresses);
  g_free (self->tls_cert_file);
  g_free (self->tls_key_file);
  g_free (self->auth_rest);
  g_free (self->allow_private);
  g_strfreev (self->source_schemes);
  g_strfreev (self->source_hosts);
  g_strfreev (self->source_ports);
  g_free (self->auth_play);
  g_strfreev (self->rest_tokens);
  g_strfreev (self->rest_users);
  g_strfreev (self->play_tokens);
  g_free (self);
}

typedef enum
{ KEY_UINT, KEY_STRING, KEY_STRV, KEY_BOOL } KeyType;

typedef struct
{
  const char *group;
  const char *key;
  KeyType type;
  gsize offset;
  guint min, max;
} KeySpec;

#define UINT_KEY(g, k, field, lo, hi) \
  { g, k, KEY_UINT, G_STRUCT_OFFSET (FerryConfig, field), lo, hi }

static const KeySpec keys[] = {
  {"server", "listen", KEY_STRING, G_STRUCT_OFFSET (FerryConfig,
          listen_address), 0, 0},
  UINT_KEY ("server", "rest-port", rest_port, 0, 65535),
  UINT_KEY ("server", "ws-port", ws_port, 0, 65535),
  {"server", "cors-origins", KEY_STRV, G_STRUCT_OFFSET (FerryConfig,
          cors_origins), 0, 0},
  UINT_KEY ("pull", "connect-timeout", connect_timeout_s, 1, 3600),
  UINT_KEY ("pull", "rtmp-timeout", rtmp_timeout_s, 1, 3600),
  UINT_KEY ("pull", "idle-timeout", idle_timeout_s, 0, 3600),
  UINT_KEY ("pull", "opus-bitrate", opus_bitrate, 6000, 510000),
  {"pull", "tls-verify", KEY_BOOL, G_STRUCT_OFFSET (FerryConfig, tls_verify),
      0, 0},
  {"pull", "reconnect", KEY_BOOL, G_STRUCT_OFFSET (FerryConfig, reconnect), 0,
      0},
  UINT_KEY ("pull", "reconnect-initial-ms", reconnect_initial_ms, 10, 600000),
  UINT_KEY ("pull", "reconnect-max-ms", reconnect_max_ms, 10, 3600000),
  UINT_KEY ("pull", "reconnect-attempts", reconnect_attempts, 0, 1000000),
  UINT_KEY ("pull", "stall-timeout", stall_timeout_s, 1, 3600),
  UINT_KEY ("pull", "grace-period", grace_s, 0, 3600),
  UINT_KEY ("pull", "on-demand-linger", on_demand_linger_s, 0, 86400),
  UINT_KEY ("pull", "track-wait-ms", track_wait_ms, 0, 60000),
  {"sources", "schemes", KEY_STRV, G_STRUCT_OFFSET (FerryConfig,
          source_schemes), 0, 0},
  {"sources", "hosts", KEY_STRV, G_STRUCT_OFFSET (FerryConfig, source_hosts),
      0, 0},
  {"sources", "ports", KEY_STRV, G_STRUCT_OFFSET (FerryConfig, source_ports),
      0, 0},
  {"sources", "allow-private", KEY_STRING, G_STRUCT_OFFSET (FerryConfig,
          allow_private), 0, 0},
  {"transcode", "policy", KEY_STRING, G_STRUCT_OFFSET (FerryConfig,
          transcode_policy), 0, 0},
  {"transcode", "preset", KEY_STRING, G_STRUCT_OFFSET (FerryConfig,
          transcode_preset), 0, 0},
  UINT_KEY ("transcode", "quality", transcode_quality, 0, 50),
  UINT_KEY ("transcode", "max-bitrate-kbps", transcode_max_kbps, 100, 100000),
  {"record", "dir", KEY_STRING, G_STRUCT_OFFSET (FerryConfig, records_dir),
      0, 0},
  UINT_KEY ("record", "segment-duration", record_segment_s, 1, 86400),
  UINT_KEY ("record", "segment-size-mb", record_segment_mb, 0, 1048576),
  UINT_KEY ("record", "fragment-duration-ms", record_fragment_ms, 100, 60000),
  UINT_KEY ("record", "finalize-timeout", record_finalize_s, 1, 600),
  {"webrtc", "ice-addresses", KEY_STRV, G_STRUCT_OFFSET (FerryConfig,
          ice_addresses), 0, 0},
  UINT_KEY ("webrtc", "ice-timeout", ice_timeout_s, 1, 3600),
  UINT_KEY ("webrtc", "gop-cache-kb", gop_cache_kb, 0, 1048576),
  UINT_KEY ("webrtc", "gop-cache-ms", gop_cache_ms, 100, 600000),
  UINT_KEY ("webrtc", "gop-cache-send-kbps", gop_cache_send_kbps, 0, 10000000),
  UINT_KEY ("webrtc", "nack-history", nack_history, 0, 32767),
  UINT_KEY ("webrtc", "rtcp-timeout", rtcp_timeout_s, 2, 3600),
  UINT_KEY ("webrtc", "port-min", port_min, 0, 65535),
  UINT_KEY ("webrtc", "port-max", port_max, 0, 65535),
  {"webrtc", "ice-tcp", KEY_BOOL, G_STRUCT_OFFSET (FerryConfig, ice_tcp), 0,
      0},
  {"webrtc", "public-addresses", KEY_STRV, G_STRUCT_OFFSET (FerryConfig,
          public_addresses), 0, 0},
  {"webrtc", "stun-server", KEY_STRING, G_STRUCT_OFFSET (FerryConfig,
          stun_server), 0, 0},
  {"webrtc", "turn-servers", KEY_STRV, G_STRUCT_OFFSET (FerryConfig,
          turn_servers), 0, 0},
  UINT_KEY ("webrtc", "gather-timeout-ms", gather_timeout_ms, 100, 60000),
  UINT_KEY ("webrtc", "ping-interval", ping_interval_s, 0, 3600),
  UINT_KEY ("webrtc", "ping-misses", ping_misses, 0, 1000),
  {"tls", "cert-file", KEY_STRING, G_STRUCT_OFFSET (FerryConfig,
          tls_cert_file), 0, 0},
  {"tls", "key-file", KEY_STRING, G_STRUCT_OFFSET (FerryConfig, tls_key_file),
      0, 0},
  UINT_KEY ("tls", "https-port", https_port, 0, 65535),
  UINT_KEY ("tls", "wss-port", wss_port, 0, 65535),
  {"auth", "rest", KEY_STRING, G_STRUCT_OFFSET (FerryConfig, auth_rest), 0, 0},
  {"auth", "play", KEY_STRING, G_STRUCT_OFFSET (FerryConfig, auth_play), 0, 0},
  {"auth", "rest-tokens", KEY_STRV, G_STRUCT_OFFSET (FerryConfig,
          rest_tokens), 0, 0},
  {"auth", "rest-users", KEY_STRV, G_STRUCT_OFFSET (FerryConfig, rest_users),
      0, 0},
  {"auth", "play-tokens", KEY_STRV, G_STRUCT_OFFSET (FerryConfig,
          play_tokens), 0, 0},
  UINT_KEY ("limits", "body-kb", max_body_kb, 1, 1048576),
  UINT_KEY ("limits", "json-depth", max_json_depth, 2, 256),
  UINT_KEY ("limits", "pulls", max_pulls, 1, 100000),
  UINT_KEY ("limits", "viewers", max_viewers, 1, 1000000),
  UINT_KEY ("limits", "viewers-per-stream", max_stream_viewers, 1, 1000000),
  UINT_KEY ("limits", "ws-message-kb", max_ws_message_kb, 8, 65536),
  UINT_KEY ("limits", "ws-messages-per-second", max_ws_rate, 1, 100000),
  UINT_KEY ("limits", "ws-per-address", max_ws_per_address, 1, 100000),
  UINT_KEY ("limits", "connections-per-address", max_conns_per_address, 1,
      100000),
  UINT_KEY ("limits", "request-timeout", request_timeout_s, 1, 3600),
  {"debug", "transit-stats", KEY_BOOL, G_STRUCT_OFFSET (FerryConfig,
          transit_stats), 0, 0},
};

static const KeySpec *
find_key (const char *group, const char *key)
{
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    if (g_str_equal (keys[i].group, group) && g_str_equal (keys[i].key, key))
      return &keys[i];
  return NULL;
}

/* The key's value, trimmed; "" when it has none. (transfer full) */
static char *
get_text (GKeyFile *kf, const KeySpec *spec)
{
  char *text = g_key_file_get_value (kf, spec->group, spec->key, NULL);
  return text ? g_strstrip (text) : g_strdup ("");
}

static gboolean
load_key (FerryConfig *self, GKeyFile *kf, const char *where,
    const KeySpec *spec, GError **error)
{
  gpointer field = G_STRUCT_MEMBER_P (self, spec->offset);
  g_autoptr (GError) local = NULL;

  switch (spec->type) {
    case KEY_UINT:{
      g_autofree char *text = get_text (kf, spec);
      guint64 v;
      if (!g_ascii_string_to_unsigned (text, 10,
              spec->min, spec->max, &v, NULL)) {
        g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
            "%s: [%s] %s must be a whole number from %u to %u", where,
            spec->group, spec->key, spec->min, spec->max);
        return FALSE;
      }
      *(guint *) field = (guint) v;
      return TRUE;
    }
    case KEY_BOOL:{
      g_autofree char *text = get_text (kf, spec);
      if (g_ascii_strcasecmp (text, "true") == 0)
        *(gboolean *) field = TRUE;
      else if (g_ascii_strcasecmp (text, "false") == 0)
        *(gboolean *) field = FALSE;
      else {
        g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
            "%s: [%s] %s must be true or false", where, spec->group, spec->key);
        return FALSE;
      }
      return TRUE;
    }
    case KEY_STRING:{
      char *v = g_key_file_get_string (kf, spec->group, spec->key, &local);
      if (v == NULL) {
        g_propagate_prefixed_error (error, g_steal_pointer (&local), "%s: ",
            where);
        return FALSE;
      }
      g_free (*(char **) field);
      *(char **) field = g_strstrip (v);
      /* An empty value means "none" (stun-server =). */
      if (**(char **) field == '\0' && spec->offset != G_STRUCT_OFFSET
          (FerryConfig, listen_address))
        g_clear_pointer ((char **) field, g_free);
      return TRUE;
    }
    case KEY_STRV:{
      char **v = g_key_file_get_string_list (kf, spec->group, spec->key, NULL,
          &local);
      if (v == NULL) {
        g_propagate_prefixed_error (error, g_steal_pointer (&local), "%s: ",
            where);
        return FALSE;
      }
      for (char **p = v; *p != NULL; p++)
        g_strstrip (*p);
      g_strfreev (*(char ***) field);
      /* An empty list means "no restriction". */
      if (v[0] == NULL) {
        g_strfreev (v);
        v = NULL;
      }
      *(char ***) field = v;
      return TRUE;
    }
  }
  return FALSE;
}

static gboolean
transcode_preset_is_valid (const char *preset)
{
  static const char *const presets[] = { "ultrafast", "superfast", "veryfast",
    "faster", "fast", "medium", "slow", "slower", "veryslow"
  };
  for (guint i = 0; preset && i < G_N_ELEMENTS (presets); i++)
    if (g_str_equal (preset, presets[i]))
      return TRUE;
  return FALSE;
}

/* The 1-based line of @key in [@group] of the key-file @text (or of [@group] itself when
 * @key is NULL), 0 when not found: GKeyFile keeps no line numbers. */
static guint
find_line (const char *text, const char *group, const char *key)
{
  g_auto (GStrv) lines = g_strsplit (text ? text : "", "\n", -1);
  g_autofree char *header = g_strdup_printf ("[%s]", group);
  gboolean in_group = FALSE;

  for (guint i = 0; lines[i] != NULL; i++) {
    char *l = g_strstrip (lines[i]);
    gsize len;

    if (l[0] == '[') {
      in_group = g_str_equal (l, header);
      if (in_group && key == NULL)
        return i + 1;
      continue;
    }
    if (!in_group || key == NULL || !g_str_has_prefix (l, key))
      continue;
    len = strlen (key);
    while (l[len] == ' ' || l[len] == '\t')
      len++;
    if (l[len] == '=')
      return i + 1;
  }
  return 0;
}

/* "@name:LINE" where [@group] @key is in @text, or @name when it cannot be found.
 * (transfer full) */
static char *
where_is (const char *name, const char *text, const char *group,
    const char *key)
{
  guint line = find_line (text, group, key);

  return line ? g_strdup_printf ("%s:%u", name, line) : g_strdup (name);
}

/* Reads every key of @kf over the current values; @text is the key file as written, for
 * line numbers in the messages, which start with @name. */
static gboolean
load_keys (FerryConfig *self, GKeyFile *kf, const char *name, const char *text,
    GError **error)
{
  g_auto (GStrv) groups = g_key_file_get_groups (kf, NULL);

  for (char **g = groups; *g != NULL; g++) {
    g_auto (GStrv) names = g_key_file_get_keys (kf, *g, NULL, NULL);
    for (char **k = names; k != NULL && *k != NULL; k++) {
      const KeySpec *spec = find_key (*g, *k);
      g_autofree char *where = where_is (name, text, *g, *k);

      if (spec == NULL) {
        g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_KEY_NOT_FOUND,
            "%s: unknown key [%s] %s", where, *g, *k);
        return FALSE;
      }
      if (!load_key (self, kf, where, spec, error))
        return FALSE;
    }
  }
  return TRUE;
}

/**
 * ferry_config_validate:
 * @name: what the values came from, for the message
 *
 * Checks the rules that tie keys together, once all sources are read.
 */
gboolean
ferry_config_validate (FerryConfig *self, const char *name, GError **error)
{
  FerryTranscodePolicy policy;
  g_autoptr (GError) local = NULL;

  if ((self->port_min == 0) != (self->port_max == 0)
      || self->port_min > self->port_max) {
    g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
        "%s: [webrtc] port-min and port-max must both be set, min <= max",
        name);
    return FALSE;
  }
  if (!ferry_transcode_policy_from_string (self->transcode_policy, &policy)) {
    g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
        "%s: [transcode] policy must be auto, always or never", name);
    return FALSE;
  }
  if ((self->tls_cert_file == NULL) != (self->tls_key_file == NULL)) {
    g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
        "%s: [tls] cert-file and key-file go together", name);
    return FALSE;
  }
  for (guint i = 0; i < 2; i++) {
    const char *v = i == 0 ? self->auth_rest : self->auth_play;
    if (v == NULL || !(g_str_equal (v, "auto") || g_str_equal (v, "on")
            || g_str_equal (v, "off"))) {
      g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
          "%s: [auth] %s must be auto, on or off", name,
          i == 0 ? "rest" : "play");
      return FALSE;
    }
  }
  for (char **u = self->rest_users; u && *u; u++) {
    const char *colon = strchr (*u, ':');
    if (colon == NULL || colon == *u || colon[1] == '\0') {
      g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
          "%s: [auth] rest-users takes user:password entries", name);
      return FALSE;
    }
  }
  if (!ferry_sources_check_config (self, &local)) {
    g_propagate_prefixed_error (error, g_steal_pointer (&local), "%s: ", name);
    return FALSE;
  }
  if (!transcode_preset_is_valid (self->transcode_preset)) {
    g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
        "%s: [transcode] preset must be one of ultrafast, superfast, "
        "veryfast, faster, fast, medium, slow, slower, veryslow", name);
    return FALSE;
  }
  return TRUE;
}

/**
 * ferry_config_load_certificate:
 * Reads [tls] cert-file and key-file as one certificate (at start, by --check-config and
 * on SIGHUP). Returns: (transfer full) (nullable)
 */
GTlsCertificate *
ferry_config_load_certificate (const FerryConfig *self, GError **error)
{
  GTlsCertificate *cert = g_tls_certificate_new_from_files
      (self->tls_cert_file, self->tls_key_file, error);

  if (cert == NULL)
    g_prefix_error (error, "[tls] %s / %s: ", self->tls_cert_file,
        self->tls_key_file);
  return cert;
}

/**
 * ferry_config_load_file:
 * Reads @path over the current values and validates the result. Unknown groups or keys
 * are errors, so that a misspelt key never silently falls back to a default; messages
 * name the file and line ("ferry.conf:12: [pull] idle-timeout must be …").
 */
gboolean
ferry_config_load_file (FerryConfig *self, const char *path, GError **error)
{
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autofree char *text = NULL;

  if (!g_file_get_contents (path, &text, NULL, error)
      || !g_key_file_load_from_data (kf, text, -1, G_KEY_FILE_NONE, error)) {
    g_prefix_error (error, "%s: ", path);
    return FALSE;
  }
  if (!load_keys (self, kf, path, text, error)
      || !ferry_config_validate (self, path, error))
    return FALSE;
  GST_INFO ("loaded %s", path);
  return TRUE;
}

/**
 * ferry_config_set:
 * @assignment: "group.key=value", as given to `--set`
 *
 * Sets one key over the current values, checked as in a file (ferry_config_validate()
 * is left to the caller, once every assignment is in).
 */
gboolean
ferry_config_set (FerryConfig *self, const char *assignment, GError **error)
{
  const char *eq = strchr (assignment, '=');
  const char *dot = strchr (assignment, '.');
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autofree char *text = NULL;
  g_autofree char *name = NULL;

  if (eq == NULL || dot == NULL || dot > eq || dot == assignment || eq == dot + 1) {
    g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_PARSE,
        "--set %s: expected GROUP.KEY=VALUE (e.g. pull.idle-timeout=10)",
        assignment);
    return FALSE;
  }
  text = g_strdup_printf ("[%.*s]\n%.*s=%s\n", (int) (dot - assignment), assignment,
      (int) (eq - dot - 1), dot + 1, eq + 1);
  name = g_strdup_printf ("--set %.*s", (int) (eq - assignment), assignment);
  if (!g_key_file_load_from_data (kf, text, -1, G_KEY_FILE_NONE, error)) {
    g_prefix_error (error, "%s: ", name);
    return FALSE;
  }
  return load_keys (self, kf, name, NULL, error);
}

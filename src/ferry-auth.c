/* ferry-auth.c — see ferry-auth.h. */
#include "ferry-auth.h"
#include "ferry-errors.h"
#include "ferry-log.h"
#include "ferry-rest.h"

#include <string.h>

FERRY_DEBUG_CATEGORY_LAZY (ferry_auth_debug, "ferry-auth", "Ferry authentication");
#define GST_CAT_DEFAULT ferry_auth_debug

static gboolean
is_loopback (const char *address)
{
  g_autoptr (GInetAddress) a = g_inet_address_new_from_string (address);
  return a != NULL && g_inet_address_get_is_loopback (a);
}

static gboolean
required (const char *mode, const FerryConfig *config)
{
  if (g_strcmp0 (mode, "on") == 0)
    return TRUE;
  if (g_strcmp0 (mode, "off") == 0)
    return FALSE;
  return !is_loopback (config->listen_address);
}

gboolean
ferry_auth_rest_required (const FerryConfig *config)
{
  return required (config->auth_rest, config);
}

gboolean
ferry_auth_play_required (const FerryConfig *config)
{
  return required (config->auth_play, config);
}

/**
 * ferry_auth_check_config:
 * Fails when authentication is required but no credential is configured: such a server
 * could be used by nobody, and the operator should hear it at start, not from users.
 */
gboolean
ferry_auth_check_config (const FerryConfig *config, GError **error)
{
  const char *why = g_strcmp0 (config->auth_rest, "on") == 0 ? "rest = on"
      : "listen is not a loopback address and rest = auto";

  if (ferry_auth_rest_required (config) && config->rest_tokens == NULL
      && config->rest_users == NULL) {
    g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
        "the REST API needs authentication ([auth] %s): set [auth] "
        "rest-tokens or rest-users, or [auth] rest = off", why);
    return FALSE;
  }
  why = g_strcmp0 (config->auth_play, "on") == 0 ? "play = on"
      : "listen is not a loopback address and play = auto";
  if (ferry_auth_play_required (config) && config->play_tokens == NULL) {
    g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
        "playback needs authentication ([auth] %s): set [auth] play-tokens, "
        "or [auth] play = off for open playback", why);
    return FALSE;
  }
  return TRUE;
}

/* Whether @given is one of @list, in a time that depends on neither: both sides are
 * hashed (equal lengths) and compared without an early exit, and every entry is tried. */
static gboolean
in_list (char **list, const char *given, gsize given_len)
{
  g_autoptr (GChecksum) h = g_checksum_new (G_CHECKSUM_SHA256);
  guint8 want[32], got[32];
  gsize len = sizeof got;
  guint8 match = 0;

  if (given == NULL)
    return FALSE;
  g_checksum_update (h, (const guchar *) given, given_len);
  g_checksum_get_digest (h, got, &len);
  for (char **e = list; e && *e; e++) {
    guint8 diff = 0;
    g_checksum_reset (h);
    g_checksum_update (h, (const guchar *) *e, strlen (*e));
    len = sizeof want;
    g_checksum_get_digest (h, want, &len);
    for (guint i = 0; i < sizeof want; i++)
      diff |= want[i] ^ got[i];
    match |= diff == 0;
  }
  return match != 0;
}

typedef enum
{ CRED_NONE, CRED_BEARER, CRED_BASIC, CRED_OTHER } CredKind;

/* The request's Authorization: its scheme and, for Bearer the token, for Basic the
 * decoded "user:password" (transfer full). */
static CredKind
credentials (SoupServerMessage *msg, char **out, gsize *out_len)
{
  const char *h = soup_message_headers_get_one
      (soup_server_message_get_request_headers (msg), "Authorization");

  *out = NULL;
  *out_len = 0;
  if (h == NULL)
    return CRED_NONE;
  while (*h == ' ')
    h++;
  if (g_ascii_strncasecmp (h, "Bearer ", 7) == 0) {
    *out = g_strstrip (g_strdup (h + 7));
    *out_len = strlen (*out);
    return CRED_BEARER;
  }
  if (g_ascii_strncasecmp (h, "Basic ", 6) == 0) {
    g_autofree char *b64 = g_strstrip (g_strdup (h + 6));
    *out = (char *) g_base64_decode (b64, out_len);
    return CRED_BASIC;
  }
  return CRED_OTHER;
}

static void
refuse (SoupServerMessage *msg, gboolean presented, const char *challenge,
    const char *what)
{
  g_autofree char *text = NULL;

  soup_message_headers_replace (soup_server_message_get_response_headers (msg),
      "WWW-Authenticate", challenge);
  /* 401: authenticate; 403: the credentials were wrong (RFC 9110 allows 401 again, but a
   * distinct status tells a misconfigured client from an anonymous one) */
  text = presented ? g_strdup_printf ("the credentials for %s are not valid",
      what) : g_strdup_printf ("%s needs authentication (Authorization: "
      "Bearer <token>%s)", what, g_str_has_prefix (challenge, "Basic")
      ? " or Basic" : "");
  ferry_rest_reply_error_literal (msg, presented ? FERRY_ERROR_FORBIDDEN
      : FERRY_ERROR_UNAUTHORIZED, text);
}

/**
 * ferry_auth_rest:
 * Returns: TRUE when @msg may use the REST API; otherwise it is answered 401 or 403.
 */
gboolean
ferry_auth_rest (const FerryConfig *config, SoupServerMessage *msg)
{
  g_autofree char *cred = NULL;
  gsize len;
  CredKind kind;
  gboolean ok;

  if (!ferry_auth_rest_required (config))
    return TRUE;
  init_debug ();
  kind = credentials (msg, &cred, &len);
  ok = (kind == CRED_BEARER && in_list (config->rest_tokens, cred, len))
      || (kind == CRED_BASIC && in_list (config->rest_users, cred, len));
  if (cred)
    memset (cred, 0, len);
  if (ok)
    return TRUE;
  GST_INFO ("%s %s: %s", soup_server_message_get_method (msg),
      g_uri_get_path (soup_server_message_get_uri (msg)),
      kind == CRED_NONE ? "no credentials" : "credentials refused");
  refuse (msg, kind != CRED_NONE, config->rest_users
      ? "Bearer realm=\"ferry\", Basic realm=\"ferry\", charset=\"UTF-8\""
      : "Bearer realm=\"ferry\"", "the REST API");
  return FALSE;
}

/**
 * ferry_auth_play_token:
 * Returns: whether a viewer with @token (nullable) may play.
 */
gboolean
ferry_auth_play_token (const FerryConfig *config, const char *token)
{
  if (!ferry_auth_play_required (config))
    return TRUE;
  return token != NULL && in_list (config->play_tokens, token, strlen (token));
}

/**
 * ferry_auth_play_header:
 * WHEP: Returns: TRUE when @msg's Bearer token may play; otherwise it is answered.
 */
gboolean
ferry_auth_play_header (const FerryConfig *config, SoupServerMessage *msg)
{
  g_autofree char *cred = NULL;
  gsize len;
  CredKind kind;

  if (!ferry_auth_play_required (config))
    return TRUE;
  init_debug ();
  kind = credentials (msg, &cred, &len);
  if (kind == CRED_BEARER && in_list (config->play_tokens, cred, len))
    return TRUE;
  GST_INFO ("WHEP %s: %s", g_uri_get_path (soup_server_message_get_uri (msg)),
      kind == CRED_NONE ? "no token" : "token refused");
  refuse (msg, kind != CRED_NONE, "Bearer realm=\"ferry\"", "playback");
  return FALSE;
}

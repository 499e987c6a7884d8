/* Ferry test peer: pure WHEP helpers (see peer-whep.h).
 *
 * URLs are parsed with the path kept percent-encoded, as libsoup does for
 * HTTP (SOUP_HTTP_URI_FLAGS), so what we request is exactly what was given.
 */
#include "peer-whep.h"

#include <string.h>

#include <gio/gio.h>
#include <gst/sdp/sdp.h>

#define URI_FLAGS (G_URI_FLAGS_ENCODED_PATH | G_URI_FLAGS_ENCODED_QUERY | \
    G_URI_FLAGS_ENCODED_FRAGMENT | G_URI_FLAGS_SCHEME_NORMALIZE)

static GUri *
parse_http (const gchar * url, GError ** error)
{
  g_autoptr (GUri) uri = g_uri_parse (url, URI_FLAGS, error);
  const gchar *scheme;

  if (uri == NULL)
    return NULL;
  scheme = g_uri_get_scheme (uri);
  if (g_ascii_strcasecmp (scheme, "http") != 0 &&
      g_ascii_strcasecmp (scheme, "https") != 0) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
        "%s is not an http(s) URL", url);
    return NULL;
  }
  if (g_uri_get_host (uri) == NULL || *g_uri_get_host (uri) == '\0') {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
        "%s has no host", url);
    return NULL;
  }
  return g_steal_pointer (&uri);
}

gchar *
peer_whep_name_from_url (const gchar * url, GError ** error)
{
  g_autoptr (GUri) uri = parse_http (url, error);
  g_autofree gchar *path = NULL;
  gchar *slash, *decoded;
  gsize len;

  if (uri == NULL)
    return NULL;
  path = g_strdup (g_uri_get_path (uri));
  len = strlen (path);
  while (len > 0 && path[len - 1] == '/')
    path[--len] = '\0';
  slash = strrchr (path, '/');
  if (len == 0 || slash == NULL || slash[1] == '\0') {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
        "%s has no stream name in its path", url);
    return NULL;
  }
  /* encodeURIComponent never yields %00 or a broken escape, but a hand-made
   * URL may: keep such a segment as it was written */
  decoded = g_uri_unescape_string (slash + 1, NULL);
  return decoded != NULL ? decoded : g_strdup (slash + 1);
}

static const gchar *
ice_attribute (const GstSDPMessage * sdp, const GstSDPMedia * media,
    const gchar * key)
{
  const gchar *v = gst_sdp_media_get_attribute_val (media, key);

  /* media level wins over session level (RFC 8839 §5.4) */
  return v != NULL ? v : gst_sdp_message_get_attribute_val (sdp, key);
}

static void
append_candidates (GString * out, guint mline,
    const PeerWhepCandidate * candidates, guint n)
{
  guint i;

  for (i = 0; i < n; i++) {
    const gchar *c = candidates[i].candidate;
    gsize len;

    if (candidates[i].mline != mline || c == NULL)
      continue;
    if (g_str_has_prefix (c, "a="))
      c += 2;
    len = strcspn (c, "\r\n");
    if (len == 0)
      continue;
    g_string_append (out, "a=");
    g_string_append_len (out, c, len);
    g_string_append (out, "\r\n");
  }
}

/* RFC 8840 §9: the m= line only identifies the section; port and format
 * are placeholders. */
static void
append_section (GString * out, const GstSDPMedia * media)
{
  const gchar *mid = gst_sdp_media_get_attribute_val (media, "mid");

  g_string_append_printf (out, "m=%s 9 %s 0\r\n",
      gst_sdp_media_get_media (media), gst_sdp_media_get_proto (media));
  if (mid != NULL)
    g_string_append_printf (out, "a=mid:%s\r\n", mid);
}

gchar *
peer_whep_sdpfrag (const gchar * offer_sdp,
    const PeerWhepCandidate * candidates, guint n_candidates, GError ** error)
{
  GstSDPMessage *sdp = NULL;
  const GstSDPMedia *media;
  const gchar *ufrag, *pwd;
  GString *out = NULL;
  guint i, m, n_medias;

  if (offer_sdp == NULL || gst_sdp_message_new_from_text (offer_sdp,
          &sdp) != GST_SDP_OK) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
        "the local description does not parse");
    goto done;
  }
  n_medias = gst_sdp_message_medias_len (sdp);
  if (n_medias == 0) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
        "the local description has no m-section");
    goto done;
  }
  for (i = 0; i < n_candidates; i++) {
    if (candidates[i].mline >= n_medias) {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
          "candidate for m-line %u, the offer has %u", candidates[i].mline,
          n_medias);
      goto done;
    }
  }
  media = gst_sdp_message_get_media (sdp, 0);
  ufrag = ice_attribute (sdp, media, "ice-ufrag");
  pwd = ice_attribute (sdp, media, "ice-pwd");
  if (ufrag == NULL || pwd == NULL) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
        "the local description has no ICE credentials");
    goto done;
  }

  out = g_string_new (NULL);
  g_string_append_printf (out, "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\n", ufrag,
      pwd);
  append_section (out, media);
  append_candidates (out, 0, candidates, n_candidates);

  /* only without BUNDLE do other m-lines gather candidates of their own */
  for (m = 1; m < n_medias; m++) {
    const gchar *u, *p;

    for (i = 0; i < n_candidates && candidates[i].mline != m; i++);
    if (i == n_candidates)
      continue;
    media = gst_sdp_message_get_media (sdp, m);
    append_section (out, media);
    u = ice_attribute (sdp, media, "ice-ufrag");
    p = ice_attribute (sdp, media, "ice-pwd");
    if (u != NULL && p != NULL && (g_strcmp0 (u, ufrag) != 0 ||
            g_strcmp0 (p, pwd) != 0))
      g_string_append_printf (out, "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\n", u, p);
    append_candidates (out, m, candidates, n_candidates);
  }

done:
  if (sdp != NULL)
    gst_sdp_message_free (sdp);
  return out != NULL ? g_string_free (out, FALSE) : NULL;
}

void
peer_whep_split_links (const gchar * value, GPtrArray * out)
{
  const gchar *start = value, *p;
  gboolean in_quotes = FALSE, in_angle = FALSE;

  if (value == NULL)
    return;
  for (p = value;; p++) {
    if (*p == '\0' || (*p == ',' && !in_quotes && !in_angle)) {
      g_autofree gchar *item = g_strndup (start, p - start);

      g_strstrip (item);
      if (*item != '\0')
        g_ptr_array_add (out, g_steal_pointer (&item));
      if (*p == '\0')
        break;
      start = p + 1;
    } else if (in_quotes && *p == '\\' && p[1] != '\0') {
      p++;
    } else if (*p == '"' && !in_angle) {
      in_quotes = !in_quotes;
    } else if (*p == '<' && !in_quotes) {
      in_angle = TRUE;
    } else if (*p == '>' && !in_quotes) {
      in_angle = FALSE;
    }
  }
}

gchar *
peer_whep_resolve (const gchar * base, const gchar * location, GError ** error)
{
  g_autoptr (GUri) base_uri = parse_http (base, error);
  g_autoptr (GUri) resolved = NULL;
  g_autofree gchar *text = NULL;

  if (base_uri == NULL)
    return NULL;
  if (location == NULL || *location == '\0') {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "no Location");
    return NULL;
  }
  resolved = g_uri_parse_relative (base_uri, location, URI_FLAGS, error);
  if (resolved == NULL)
    return NULL;
  text = g_uri_to_string (resolved);
  /* a Location pointing at another scheme is a server bug worth reporting */
  g_clear_pointer (&resolved, g_uri_unref);
  resolved = parse_http (text, error);
  return resolved != NULL ? g_steal_pointer (&text) : NULL;
}

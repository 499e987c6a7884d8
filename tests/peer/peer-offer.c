/* Ferry test peer: offer rewriting. See peer-offer.h. */
#include "peer-offer.h"

#include <gio/gio.h>
#include <gst/sdp/sdp.h>
#include <string.h>

typedef struct
{
  const gchar *placeholder;
  const gchar *value;           /* borrowed from the parsed local offer */
} Subst;

/* @key from the first media that has it, else from the session. (transfer none) */
static const gchar *
find_attr (const GstSDPMessage * sdp, const gchar * key)
{
  guint i;

  for (i = 0; i < gst_sdp_message_medias_len (sdp); i++) {
    const gchar *v =
        gst_sdp_media_get_attribute_val (gst_sdp_message_get_media (sdp, i),
        key);

    if (v != NULL)
      return v;
  }
  return gst_sdp_message_get_attribute_val (sdp, key);
}

/* The a=mid of the first m-line of @kind, or NULL. (transfer none) */
static const gchar *
find_mid (const GstSDPMessage * sdp, const gchar * kind)
{
  guint i;

  for (i = 0; i < gst_sdp_message_medias_len (sdp); i++) {
    const GstSDPMedia *m = gst_sdp_message_get_media (sdp, i);

    if (g_strcmp0 (gst_sdp_media_get_media (m), kind) == 0)
      return gst_sdp_media_get_attribute_val (m, "mid");
  }
  return NULL;
}

/**
 * peer_offer_fill_template:
 * @template_text: an SDP with placeholders: {{ice-ufrag}}, {{ice-pwd}},
 *   {{fingerprint}} (the whole value, e.g. "sha-256 AB:…"), {{mid:audio}},
 *   {{mid:video}}; any line ending
 * @local_sdp: webrtcbin's own offer, where the values come from
 *
 * Returns: (transfer full) (nullable): the filled template with CRLF line
 * ends, or NULL when @local_sdp lacks a value the template uses.
 */
gchar *
peer_offer_fill_template (const gchar * template_text,
    const gchar * local_sdp, GError ** error)
{
  GstSDPMessage *sdp = NULL;
  g_autoptr (GString) out = g_string_new (NULL);
  g_auto (GStrv) lines = NULL;
  guint i;

  if (gst_sdp_message_new_from_text (local_sdp, &sdp) != GST_SDP_OK) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
        "the local offer does not parse");
    return NULL;
  }
  {
    const Subst table[] = {
      {"{{ice-ufrag}}", find_attr (sdp, "ice-ufrag")},
      {"{{ice-pwd}}", find_attr (sdp, "ice-pwd")},
      {"{{fingerprint}}", find_attr (sdp, "fingerprint")},
      {"{{mid:audio}}", find_mid (sdp, "audio")},
      {"{{mid:video}}", find_mid (sdp, "video")},
      {NULL, NULL}
    };
    g_autofree gchar *text = g_strdup (template_text);
    const Subst *p;

    for (p = table; p->placeholder != NULL; p++) {
      g_auto (GStrv) parts = NULL;

      if (strstr (text, p->placeholder) == NULL)
        continue;
      if (p->value == NULL) {
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
            "the template uses %s but the local offer has no value for it",
            p->placeholder);
        gst_sdp_message_free (sdp);
        return NULL;
      }
      parts = g_strsplit (text, p->placeholder, -1);
      g_free (text);
      text = g_strjoinv (p->value, parts);
    }
    lines = g_strsplit_set (text, "\r\n", -1);
  }
  gst_sdp_message_free (sdp);

  for (i = 0; lines[i] != NULL; i++) {
    if (*lines[i] == '\0')
      continue;
    g_string_append (out, lines[i]);
    g_string_append (out, "\r\n");
  }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/**
 * peer_offer_break_fingerprint:
 *
 * Returns: (transfer full): @sdp with every hex digit of every
 * a=fingerprint value replaced by its complement (0↔F, 1↔E, …), so the
 * fingerprint no longer names the certificate webrtcbin will present.
 */
gchar *
peer_offer_break_fingerprint (const gchar * sdp)
{
  gchar *copy = g_strdup (sdp);
  gchar *line = copy;

  while ((line = strstr (line, "a=fingerprint:")) != NULL) {
    gchar *value = strchr (line, ' ');
    gchar *end = strpbrk (line, "\r\n");

    if (value == NULL || (end != NULL && value > end)) {
      line += strlen ("a=fingerprint:");
      continue;
    }
    for (; *value != '\0' && *value != '\r' && *value != '\n'; value++) {
      if (g_ascii_isxdigit (*value))
        *value = "FEDCBA9876543210"[g_ascii_xdigit_value (*value)];
    }
    line = value;
  }
  return copy;
}

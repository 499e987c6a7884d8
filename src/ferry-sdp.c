/* ferry-sdp.c — see ferry-sdp.h. Pure functions. */
#include "ferry-sdp.h"
#include "ferry-errors.h"

#include <string.h>

/* Returns the value of @param in an fmtp parameter list ("a=1;b=2"), or NULL. */
static char *
fmtp_param (const char *params, const char *param)
{
  g_auto (GStrv) parts = g_strsplit (params, ";", -1);
  gsize len = strlen (param);

  for (char **p = parts; *p != NULL; p++) {
    const char *s = *p;
    while (g_ascii_isspace (*s))
      s++;
    if (g_ascii_strncasecmp (s, param, len) == 0 && s[len] == '=')
      return g_strstrip (g_strdup (s + len + 1));
  }
  return NULL;
}

/* fmtp parameters of payload @pt in @media, or NULL. (transfer none) */
static const char *
find_fmtp (const GstSDPMedia *media, gint pt)
{
  for (guint i = 0; i < gst_sdp_media_attributes_len (media); i++) {
    const GstSDPAttribute *a = gst_sdp_media_get_attribute (media, i);
    char *end = NULL;
    gint64 v;

    if (g_strcmp0 (a->key, "fmtp") != 0 || a->value == NULL)
      continue;
    v = g_ascii_strtoll (a->value, &end, 10);
    if (end != a->value && v == pt && *end == ' ')
      return end + 1;
  }
  return NULL;
}

/* Ranks an H.264 profile-level-id: constrained baseline 42e01f is what Chromium decodes
 * everywhere (wcs-websocket-protocol.md §9.6); any other profile still works for
 * receiving, since browsers do not enforce the profile on receive. */
static gint
h264_rank (const char *plid)
{
  if (plid == NULL)
    return 1;
  if (g_ascii_strcasecmp (plid, "42e01f") == 0)
    return 4;
  if (g_ascii_strncasecmp (plid, "42e0", 4) == 0)
    return 3;
  if (g_ascii_strncasecmp (plid, "42", 2) == 0)
    return 2;
  return 1;
}

/* Six hex digits, nothing else: strtoull alone also takes a sign and leading blanks,
 * and "-d001f" became 0xfff2ffe1 in the answer (fuzz-sdp). */
static gboolean
is_plid (const char *plid)
{
  if (plid == NULL || strlen (plid) != 6)
    return FALSE;
  for (guint i = 0; i < 6; i++)
    if (!g_ascii_isxdigit (plid[i]))
      return FALSE;
  return TRUE;
}

static guint32
parse_plid (const char *plid)
{
  return is_plid (plid) ? (guint32) g_ascii_strtoull (plid, NULL, 16) : 0;
}

static void
scan_media (const GstSDPMedia *media, gint *opus_pt, gint *h264_pt,
    char *plid_out, FerryOfferInfo *info)
{
  gint best_rank = 0;

  for (guint i = 0; i < gst_sdp_media_attributes_len (media); i++) {
    const GstSDPAttribute *a = gst_sdp_media_get_attribute (media, i);
    g_auto (GStrv) words = NULL;
    g_auto (GStrv) enc = NULL;
    gint64 pt;
    char *end = NULL;

    if (g_strcmp0 (a->key, "rtpmap") != 0 || a->value == NULL)
      continue;
    words = g_strsplit (a->value, " ", 2);
    if (words[0] == NULL || words[1] == NULL)
      continue;
    pt = g_ascii_strtoll (words[0], &end, 10);
    if (end == words[0] || *end != '\0' || pt < 0 || pt > 127)
      continue;
    enc = g_strsplit (words[1], "/", 3);
    if (enc[0] == NULL || enc[1] == NULL)
      continue;

    if (opus_pt && *opus_pt < 0 && g_ascii_strcasecmp (enc[0], "opus") == 0
        && g_str_equal (enc[1], "48000"))
      *opus_pt = (gint) pt;

    if (h264_pt && g_ascii_strcasecmp (enc[0], "H264") == 0
        && g_str_equal (enc[1], "90000")) {
      const char *fmtp = find_fmtp (media, (gint) pt);
      g_autofree char *mode = fmtp ? fmtp_param (fmtp, "packetization-mode")
          : NULL;
      g_autofree char *plid = fmtp ? fmtp_param (fmtp, "profile-level-id")
          : NULL;
      gint rank;

      /* Mode 0 would need single-NAL packets of at most one MTU; Ferry passes the
       * source's NAL units through, so it needs FU-A (mode 1). */
      if (g_strcmp0 (mode, "1") != 0)
        continue;
      if (info->n_h264 < G_N_ELEMENTS (info->h264)) {
        info->h264[info->n_h264].pt = (gint) pt;
        info->h264[info->n_h264].plid = parse_plid (plid);
        info->n_h264++;
      }
      rank = h264_rank (plid);
      if (rank > best_rank) {
        best_rank = rank;
        *h264_pt = (gint) pt;
        g_strlcpy (plid_out, is_plid (plid) ? plid : "", 7);
      }
    }
  }
}

/**
 * ferry_sdp_parse_offer:
 * @text: the offer as received
 * @info: (out caller-allocates): what Ferry can send for this offer
 * @msg: (out) (transfer full) (optional): the parsed offer
 *
 * Fails only when @text is not an SDP with at least one m-line; an offer without a
 * usable codec parses fine and says so with -1 payload types.
 */
gboolean
ferry_sdp_parse_offer (const char *text, FerryOfferInfo *info,
    GstSDPMessage **msg, GError **error)
{
  GstSDPMessage *sdp = NULL;

  memset (info, 0, sizeof *info);
  info->audio_mline = info->video_mline = -1;
  info->opus_pt = info->h264_pt = -1;

  if (text == NULL || !g_str_has_prefix (text, "v=0")
      || gst_sdp_message_new_from_text (text, &sdp) != GST_SDP_OK) {
    g_set_error (error, FERRY_ERROR, FERRY_ERROR_INVALID_PARAMETER,
        "the offer is not an SDP");
    return FALSE;
  }
  if (gst_sdp_message_medias_len (sdp) == 0) {
    gst_sdp_message_free (sdp);
    g_set_error (error, FERRY_ERROR, FERRY_ERROR_INVALID_PARAMETER,
        "the offer has no media section");
    return FALSE;
  }

  for (guint i = 0; i < gst_sdp_message_medias_len (sdp); i++) {
    const GstSDPMedia *m = gst_sdp_message_get_media (sdp, i);
    const char *kind = gst_sdp_media_get_media (m);

    if (gst_sdp_media_get_port (m) == 0 && !gst_sdp_media_get_attribute_val (m,
            "bundle-only"))
      continue;
    if (g_strcmp0 (kind, "audio") == 0 && info->audio_mline < 0) {
      info->audio_mline = i;
      scan_media (m, &info->opus_pt, NULL, NULL, info);
    } else if (g_strcmp0 (kind, "video") == 0 && info->video_mline < 0) {
      info->video_mline = i;
      scan_media (m, NULL, &info->h264_pt, info->profile_level_id, info);
    }
  }

  if (msg)
    *msg = sdp;
  else
    gst_sdp_message_free (sdp);
  return TRUE;
}

/* One profile_idc and a pattern of constraint flags (bit 7 = constraint_set0): @mask
 * says which bits must equal @value. The profiles an H.264 receiver tells apart when it
 * matches an answer to its offer (RFC 6184 §8.1 and how libwebrtc reads it). */
static const struct
{
  guint8 idc, mask, value;
  FerryH264Profile profile;
} h264_patterns[] = {
  {0x42, 0x4f, 0x40, FERRY_H264_PROFILE_CONSTRAINED_BASELINE},    /* x1xx0000 */
  {0x4d, 0x8f, 0x80, FERRY_H264_PROFILE_CONSTRAINED_BASELINE},    /* 1xxx0000 */
  {0x58, 0xcf, 0xc0, FERRY_H264_PROFILE_CONSTRAINED_BASELINE},    /* 11xx0000 */
  {0x42, 0x4f, 0x00, FERRY_H264_PROFILE_BASELINE},      /* x0xx0000 */
  {0x58, 0xcf, 0x80, FERRY_H264_PROFILE_BASELINE},      /* 10xx0000 */
  {0x4d, 0xaf, 0x00, FERRY_H264_PROFILE_MAIN},  /* 0x0x0000 */
  {0x58, 0xcf, 0x00, FERRY_H264_PROFILE_EXTENDED},      /* 00xx0000 */
  {0x64, 0xff, 0x00, FERRY_H264_PROFILE_HIGH},  /* 00000000 */
  {0x64, 0xff, 0x0c, FERRY_H264_PROFILE_CONSTRAINED_HIGH},        /* 00001100 */
};

/**
 * ferry_h264_profile:
 * @plid: a profile-level-id, 0xPPCCLL
 *
 * Returns: the profile @plid names, OTHER for one this table does not know.
 */
FerryH264Profile
ferry_h264_profile (guint32 plid)
{
  guint8 idc = plid >> 16, flags = (plid >> 8) & 0xff;

  for (guint i = 0; i < G_N_ELEMENTS (h264_patterns); i++)
    if (h264_patterns[i].idc == idc
        && (flags & h264_patterns[i].mask) == h264_patterns[i].value)
      return h264_patterns[i].profile;
  return FERRY_H264_PROFILE_OTHER;
}

/**
 * ferry_sdp_choose_h264:
 * @stream_plid: the profile-level-id of what the viewer will get
 *
 * Picks the offered payload type of the stream's own profile, if the offer has one, so
 * that the answer can name the stream's real profile-level-id (its level may differ from
 * the offer's: Ferry only sends). Otherwise keeps the choice made at parse time (the most
 * widely decodable profile: browsers decode any profile on receive).
 *
 * Returns: the profile-level-id the answer names for the chosen payload type: the
 * stream's when it is of the offered profile, else the offer's (webrtcbin's answer has
 * none of its own); 0 when neither is known.
 */
guint32
ferry_sdp_choose_h264 (FerryOfferInfo *info, guint32 stream_plid)
{
  FerryH264Profile want = ferry_h264_profile (stream_plid);

  for (guint i = 0; stream_plid != 0 && want != FERRY_H264_PROFILE_OTHER
      && i < info->n_h264; i++) {
    if (info->h264[i].plid != 0 && ferry_h264_profile (info->h264[i].plid) == want) {
      info->h264_pt = info->h264[i].pt;
      g_snprintf (info->profile_level_id, sizeof info->profile_level_id,
          "%06x", info->h264[i].plid);
      return stream_plid;
    }
  }
  return parse_plid (info->profile_level_id);
}

/**
 * ferry_sdp_set_h264_plid:
 *
 * Sets profile-level-id in the a=fmtp of payload type @pt of @answer's video m-lines to
 * @plid (0xPPCCLL), adding it when the fmtp has none.
 */
void
ferry_sdp_set_h264_plid (GstSDPMessage *answer, gint pt, guint32 plid)
{
  for (guint i = 0; i < gst_sdp_message_medias_len (answer); i++) {
    GstSDPMedia *m = (GstSDPMedia *) gst_sdp_message_get_media (answer, i);

    if (g_strcmp0 (gst_sdp_media_get_media (m), "video") != 0)
      continue;
    for (guint j = 0; j < gst_sdp_media_attributes_len (m); j++) {
      const GstSDPAttribute *a = gst_sdp_media_get_attribute (m, j);
      g_auto (GStrv) params = NULL;
      g_autoptr (GString) out = NULL;
      GstSDPAttribute repl;
      char *end = NULL;
      gboolean found = FALSE;

      if (g_strcmp0 (a->key, "fmtp") != 0 || a->value == NULL
          || g_ascii_strtoll (a->value, &end, 10) != pt || *end != ' ')
        continue;
      params = g_strsplit (end + 1, ";", -1);
      out = g_string_new (NULL);
      g_string_append_printf (out, "%d ", pt);
      for (guint k = 0; params[k] != NULL; k++) {
        const char *p = params[k];

        while (g_ascii_isspace (*p))
          p++;
        if (*p == '\0')
          continue;
        if (out->str[out->len - 1] != ' ')
          g_string_append_c (out, ';');
        if (g_ascii_strncasecmp (p, "profile-level-id=", 17) == 0) {
          g_string_append_printf (out, "profile-level-id=%06x", plid);
          found = TRUE;
        } else
          g_string_append (out, p);
      }
      if (!found)
        g_string_append_printf (out, "%sprofile-level-id=%06x",
            out->str[out->len - 1] == ' ' ? "" : ";", plid);
      gst_sdp_attribute_set (&repl, "fmtp", out->str);
      gst_sdp_media_replace_attribute (m, j, &repl);
    }
  }
}

/* The DER bytes of the first certificate in @pem, or NULL. GLib's base64 decoder skips
 * the line breaks. */
static GBytes *
pem_to_der (const char *pem)
{
  static const char begin_tag[] = "-----BEGIN CERTIFICATE-----";
  const char *begin = pem ? strstr (pem, begin_tag) : NULL;
  const char *end;
  g_autofree char *b64 = NULL;
  guchar *der;
  gsize len = 0;

  if (begin == NULL)
    return NULL;
  begin += strlen (begin_tag);
  end = strstr (begin, "-----END CERTIFICATE-----");
  if (end == NULL)
    return NULL;
  b64 = g_strndup (begin, end - begin);
  der = g_base64_decode (b64, &len);
  if (len == 0) {
    g_free (der);
    return NULL;
  }
  return g_bytes_new_take (der, len);
}

/* Whether one `a=fingerprint:<hash> <hex>` value is the fingerprint of @der. A hash
 * GLib cannot compute never matches. */
static gboolean
fingerprint_is_of (const char *value, GBytes *der)
{
  g_auto (GStrv) f = g_strsplit (value, " ", 2);
  g_autoptr (GChecksum) sum = NULL;
  g_autoptr (GString) hex = NULL;
  GChecksumType type;
  guint8 digest[64];
  gsize len = sizeof digest;

  if (f[0] == NULL || f[1] == NULL)
    return FALSE;
  if (g_ascii_strcasecmp (f[0], "sha-1") == 0)
    type = G_CHECKSUM_SHA1;
  else if (g_ascii_strcasecmp (f[0], "sha-256") == 0)
    type = G_CHECKSUM_SHA256;
  else if (g_ascii_strcasecmp (f[0], "sha-384") == 0)
    type = G_CHECKSUM_SHA384;
  else if (g_ascii_strcasecmp (f[0], "sha-512") == 0)
    type = G_CHECKSUM_SHA512;
  else
    return FALSE;

  sum = g_checksum_new (type);
  g_checksum_update (sum, g_bytes_get_data (der, NULL), g_bytes_get_size (der));
  g_checksum_get_digest (sum, digest, &len);
  hex = g_string_new (NULL);
  for (gsize i = 0; i < len; i++)
    g_string_append_printf (hex, "%s%02X", i ? ":" : "", digest[i]);
  return g_ascii_strcasecmp (g_strstrip (f[1]), hex->str) == 0;
}

/**
 * ferry_sdp_fingerprint_matches:
 * @offer: the client's offer
 * @pem: the certificate the client presented in the DTLS handshake
 *
 * RFC 8122 §5 / RFC 8842 §5.1: the DTLS peer must present the certificate whose
 * fingerprint the offer carries (at session or media level). webrtcbin 1.22 accepts any
 * certificate, so without this check whoever completes ICE first gets the media.
 * Returns FALSE when @pem is unusable or the offer has no matching fingerprint (none at
 * all included).
 */
gboolean
ferry_sdp_fingerprint_matches (const GstSDPMessage *offer, const char *pem)
{
  g_autoptr (GBytes) der = pem_to_der (pem);
  const char *v;

  if (der == NULL)
    return FALSE;
  for (guint i = 0; (v = gst_sdp_message_get_attribute_val_n (offer,
              "fingerprint", i)) != NULL; i++)
    if (fingerprint_is_of (v, der))
      return TRUE;
  for (guint m = 0; m < gst_sdp_message_medias_len (offer); m++) {
    const GstSDPMedia *media = gst_sdp_message_get_media (offer, m);
    for (guint i = 0; (v = gst_sdp_media_get_attribute_val_n (media,
                "fingerprint", i)) != NULL; i++)
      if (fingerprint_is_of (v, der))
        return TRUE;
  }
  return FALSE;
}

static void
candidate_free (gpointer data)
{
  FerrySdpCandidate *c = data;
  g_free (c->mid);
  g_free (c->candidate);
  g_free (c);
}

/**
 * ferry_sdp_parse_trickle:
 * @text: an application/trickle-ice-sdpfrag body (need not be NUL-terminated; it ends
 *   at a NUL)
 *
 * The candidates of an RFC 8840 fragment, each under the a=mid line it follows; every
 * other line is ignored.
 * Returns: (transfer full) (element-type FerrySdpCandidate): possibly empty.
 */
GPtrArray *
ferry_sdp_parse_trickle (const char *text, gsize len)
{
  GPtrArray *out = g_ptr_array_new_with_free_func (candidate_free);
  /* An empty body may come with no data at all */
  g_autofree char *copy = text ? g_strndup (text, len) : g_strdup ("");
  g_auto (GStrv) lines = g_strsplit_set (copy, "\r\n", -1);
  const char *mid = NULL;

  for (char **l = lines; *l; l++) {
    if (g_str_has_prefix (*l, "a=mid:")) {
      mid = *l + 6;
    } else if (g_str_has_prefix (*l, "a=candidate:")) {
      FerrySdpCandidate *c = g_new0 (FerrySdpCandidate, 1);
      c->mid = g_strdup (mid);
      c->candidate = g_strdup (*l + 2);
      g_ptr_array_add (out, c);
    }
  }
  return out;
}

/**
 * ferry_sdp_mline_of_mid:
 * @mid: (nullable)
 * Returns: the index of the (last) m-line of @offer whose a=mid is @mid; 0 when none is
 *   or @mid is NULL.
 */
guint
ferry_sdp_mline_of_mid (const GstSDPMessage *offer, const char *mid)
{
  guint mline = 0;

  for (guint i = 0; mid && i < gst_sdp_message_medias_len (offer); i++) {
    const char *m = gst_sdp_media_get_attribute_val
        (gst_sdp_message_get_media (offer, i), "mid");
    if (g_strcmp0 (m, mid) == 0)
      mline = i;
  }
  return mline;
}

/**
 * ferry_sdp_add_msid:
 * Puts every sending m-section of @answer into one MediaStream (`a=msid:<id> <track>`).
 * Without it Chromium may split audio and video into two MediaStreams and the WCS SDK
 * then attaches only the video one (pitfalls.md: 4 of 10 viewers had no sound).
 */
void
ferry_sdp_add_msid (GstSDPMessage *answer, const char *stream_id)
{
  for (guint i = 0; i < gst_sdp_message_medias_len (answer); i++) {
    GstSDPMedia *m = (GstSDPMedia *) gst_sdp_message_get_media (answer, i);
    g_autofree char *value = NULL;

    if (gst_sdp_media_get_attribute_val (m, "msid") != NULL
        || gst_sdp_media_get_port (m) == 0
        || gst_sdp_media_get_attribute_val (m, "inactive") != NULL)
      continue;
    value = g_strdup_printf ("%s %s-%s", stream_id, stream_id,
        gst_sdp_media_get_media (m));
    gst_sdp_media_add_attribute (m, "msid", value);
  }
}

/**
 * ferry_sdp_add_public_candidates:
 * @public_ips: (nullable): addresses the server is reachable at through a 1:1 NAT
 *
 * For every host candidate of @answer, adds one per public address with the same port
 * and transport (WCS's ip/ip_local, MediaMTX's additional hosts): behind a NAT the local
 * address is unreachable, and the WCS SDK does not trickle, so the answer must carry it.
 * Foundations differ from the original's, and priorities are a little lower so that a
 * client on the local network still prefers the direct path.
 */
void
ferry_sdp_add_public_candidates (GstSDPMessage *answer, char **public_ips)
{
  if (public_ips == NULL || public_ips[0] == NULL)
    return;
  for (guint i = 0; i < gst_sdp_message_medias_len (answer); i++) {
    GstSDPMedia *m = (GstSDPMedia *) gst_sdp_message_get_media (answer, i);
    g_autoptr (GPtrArray) extra = g_ptr_array_new_with_free_func (g_free);

    for (guint a = 0; a < gst_sdp_media_attributes_len (m); a++) {
      const GstSDPAttribute *attr = gst_sdp_media_get_attribute (m, a);
      g_auto (GStrv) f = NULL;
      gint64 priority;

      if (g_strcmp0 (attr->key, "candidate") != 0 || attr->value == NULL)
        continue;
      /* foundation component transport priority address port typ host … */
      f = g_strsplit (attr->value, " ", -1);
      if (g_strv_length (f) < 8 || g_strcmp0 (f[6], "typ") != 0
          || g_strcmp0 (f[7], "host") != 0)
        continue;
      /* An ICE priority is 32 bits (RFC 8445 §5.1.2); clamping keeps the arithmetic
       * below defined whatever the text says (fuzz-sdp: -2^63 - 1 overflowed). */
      priority = CLAMP (g_ascii_strtoll (f[3], NULL, 10), 1, G_MAXUINT32);
      for (guint p = 0; public_ips[p]; p++) {
        g_autofree char *rest = g_strjoinv (" ", f + 5);
        g_ptr_array_add (extra, g_strdup_printf ("%s%u %s %s %" G_GINT64_FORMAT
                " %s %s", f[0], 90 + p, f[1], f[2], MAX (priority - 1 - p, 1),
                public_ips[p], rest));
      }
    }
    for (guint e = 0; e < extra->len; e++)
      gst_sdp_media_add_attribute (m, "candidate", g_ptr_array_index (extra,
              e));
  }
}

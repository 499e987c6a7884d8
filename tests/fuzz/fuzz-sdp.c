/* fuzz-sdp — an SDP offer, as WHEP's POST body or a playStream's sdp: what Ferry itself
 * does with it, not webrtcbin (GStreamer's, fuzzed upstream).
 *
 *   ferry_sdp_parse_offer()          ferry_viewer_new(): m-lines, Opus and H.264 choice
 *   ferry_sdp_choose_h264()          ferry_viewer_attach(), for several stream profiles
 *   ferry_sdp_fingerprint_matches()  the DTLS check, against a fixed certificate
 *   ferry_sdp_set_h264_plid(), ferry_sdp_add_msid(), ferry_sdp_add_public_candidates()
 *                                    the answer edits (here on the hostile offer itself,
 *                                    a harsher input than webrtcbin's answers)
 *   ferry_sdp_parse_trickle(), ferry_sdp_mline_of_mid()
 *                                    the same bytes as a WHEP PATCH fragment
 */
#include "fuzz-common.h"
#include "ferry-sdp.h"

/* Self-signed P-256, CN=ferry-fuzz; sha-256 fingerprint
 * 56:C9:3A:91:BA:3E:8F:EC:58:4A:58:E0:C8:71:65:29:6C:8B:F1:B6:48:E3:0E:60:14:5F:D4:CF:FA:46:43:59
 * (the seeds carry it, so the matching path is covered too). */
static const char *pem =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBgTCCASegAwIBAgIUe/ssjusemMN9tqW3jhhTnnEPQvIwCgYIKoZIzj0EAwIw\n"
    "FTETMBEGA1UEAwwKZmVycnktZnV6ejAgFw0yNjEyMDcxNTQ5MThaGA8yMTI2MTEx\n"
    "MzE1NDkxOFowFTETMBEGA1UEAwwKZmVycnktZnV6ejBZMBMGByqGSM49AgEGCCqG\n"
    "SM49AwEHA0IABIu0GxV1rETZTO2lFhm9s1ESGMgnmSku+MvIYaQTDzFvOr/l3lXF\n"
    "THVZNxj/FEMux50eP6yNDLJA7up4VrkqO3SjUzBRMB0GA1UdDgQWBBT+oJL7n4JB\n"
    "hm210AwkJOEIaXw2/DAfBgNVHSMEGDAWgBT+oJL7n4JBhm210AwkJOEIaXw2/DAP\n"
    "BgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0gAMEUCIHJiBGf4nCQbxsOGZARo\n"
    "CyyJMID8Q1OdJd9Pogd2GFgdAiEAsj6uk4MkijWzC6b79n98+lpUEoIL2OMTWq4M\n"
    "3CwNUxY=\n"
    "-----END CERTIFICATE-----\n";

static const char *warmup_offer =
    "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
    "a=fingerprint:sha-256 56:C9:3A:91:BA:3E:8F:EC:58:4A:58:E0:C8:71:65:29:"
    "6C:8B:F1:B6:48:E3:0E:60:14:5F:D4:CF:FA:46:43:59\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 102\r\na=mid:0\r\n"
    "a=rtpmap:102 H264/90000\r\n"
    "a=fmtp:102 packetization-mode=1;profile-level-id=42e01f\r\n"
    "a=candidate:1 1 udp 2122260223 192.0.2.1 50000 typ host\r\n";

static char *public_ips[] = { "203.0.113.7", "2001:db8::7", NULL };

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  fuzz_init ();
  FUZZ_WARM_UP (warmup_offer);
  return 0;
}

static void
check_info (const FerryOfferInfo *info)
{
  g_assert_cmpint (info->opus_pt, >=, -1);
  g_assert_cmpint (info->opus_pt, <=, 127);
  g_assert_cmpint (info->h264_pt, >=, -1);
  g_assert_cmpint (info->h264_pt, <=, 127);
  g_assert_cmpuint (info->n_h264, <=, G_N_ELEMENTS (info->h264));
  g_assert_cmpuint (strlen (info->profile_level_id), <=, 6);
  if (info->h264_pt >= 0)
    g_assert_cmpint (info->video_mline, >=, 0);
  if (info->opus_pt >= 0)
    g_assert_cmpint (info->audio_mline, >=, 0);
}

static void
answer_edits (const GstSDPMessage *offer, const FerryOfferInfo *info,
    guint32 plid)
{
  GstSDPMessage *copy = NULL;
  g_autofree char *text = NULL;

  gst_sdp_message_copy (offer, &copy);
  if (plid != 0)
    ferry_sdp_set_h264_plid (copy, info->h264_pt, plid);
  ferry_sdp_add_msid (copy, "ferry");
  ferry_sdp_add_public_candidates (copy, public_ips);
  text = gst_sdp_message_as_text (copy);
  g_assert_nonnull (text);
  gst_sdp_message_free (copy);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static const guint32 stream_plids[] = { 0, 0x42e01f, 0x42c01f, 0x4d401f,
    0x640028, 0x640c1f, 0xf4001f
  };
  /* As handle_post() reads the body: up to the first NUL. */
  g_autofree char *text = g_strndup ((const char *) data, size);
  g_autoptr (GPtrArray) frag = NULL;
  GstSDPMessage *offer = NULL;
  FerryOfferInfo info;

  if (ferry_sdp_parse_offer (text, &info, &offer, NULL)) {
    g_assert_nonnull (offer);
    check_info (&info);
    for (guint i = 0; i < G_N_ELEMENTS (stream_plids); i++) {
      FerryOfferInfo chosen = info;
      guint32 plid = ferry_sdp_choose_h264 (&chosen, stream_plids[i]);

      check_info (&chosen);
      g_assert_true (plid == 0 || plid == stream_plids[i]
          || g_ascii_strtoull (chosen.profile_level_id, NULL, 16) == plid);
      if (i < 2)
        answer_edits (offer, &chosen, plid);
    }
    (void) ferry_sdp_fingerprint_matches (offer, pem);
  } else {
    g_assert_null (offer);
  }

  frag = ferry_sdp_parse_trickle ((const char *) data, size);
  for (guint i = 0; i < frag->len; i++) {
    FerrySdpCandidate *c = g_ptr_array_index (frag, i);
    g_assert_true (g_str_has_prefix (c->candidate, "candidate:"));
    if (offer)
      g_assert_cmpuint (ferry_sdp_mline_of_mid (offer, c->mid), <,
          MAX (1, gst_sdp_message_medias_len (offer)));
  }
  if (offer)
    gst_sdp_message_free (offer);
  return 0;
}

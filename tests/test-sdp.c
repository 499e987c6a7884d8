/* Unit tests for ferry-sdp.c: choosing payload types from browser offers. */
#include <gst/gst.h>
#include "ferry-errors.h"
#include "ferry-sdp.h"

#include <string.h>

/* Shaped like Debian Chromium 156's recvonly offer (wcs-websocket-protocol.md §9.2). */
static const char *chromium_offer =
    "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
    "a=group:BUNDLE 0 1\r\na=extmap-allow-mixed\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126\r\n"
    "c=IN IP4 0.0.0.0\r\na=mid:0\r\na=recvonly\r\na=rtcp-mux\r\n"
    "a=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\n"
    "a=rtpmap:63 red/48000/2\r\na=rtpmap:9 G722/8000\r\na=rtpmap:0 PCMU/8000\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 96 102 104 108 116 41\r\n"
    "c=IN IP4 0.0.0.0\r\na=mid:1\r\na=recvonly\r\na=rtcp-mux\r\n"
    "a=rtpmap:96 VP8/90000\r\n"
    "a=rtpmap:102 H264/90000\r\n"
    "a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f\r\n"
    "a=rtpmap:104 H264/90000\r\n"
    "a=fmtp:104 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f\r\n"
    "a=rtpmap:108 H264/90000\r\n"
    "a=fmtp:108 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n"
    "a=rtpmap:116 H264/90000\r\n"
    "a=fmtp:116 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=4d001f\r\n"
    "a=rtpmap:41 H264/90000\r\n"
    "a=fmtp:41 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=f4001f\r\n";

static void
test_chromium_offer (void)
{
  FerryOfferInfo info;
  g_autoptr (GError) error = NULL;

  g_assert_true (ferry_sdp_parse_offer (chromium_offer, &info, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (info.audio_mline, ==, 0);
  g_assert_cmpint (info.video_mline, ==, 1);
  g_assert_cmpint (info.opus_pt, ==, 111);
  /* 42e01f with packetization-mode=1 wins; 104 is 42e01f but mode 0. */
  g_assert_cmpint (info.h264_pt, ==, 108);
  g_assert_cmpstr (info.profile_level_id, ==, "42e01f");
}

/* The profiles a receiver tells apart, from what encoders write into their SPS. */
static void
test_h264_profiles (void)
{
  g_assert_cmpint (ferry_h264_profile (0x42e01f), ==, FERRY_H264_PROFILE_CONSTRAINED_BASELINE);
  g_assert_cmpint (ferry_h264_profile (0x42c01f), ==, FERRY_H264_PROFILE_CONSTRAINED_BASELINE); /* x264 */
  g_assert_cmpint (ferry_h264_profile (0x42001f), ==, FERRY_H264_PROFILE_BASELINE);
  g_assert_cmpint (ferry_h264_profile (0x4d401f), ==, FERRY_H264_PROFILE_MAIN);     /* x264 */
  g_assert_cmpint (ferry_h264_profile (0x4d001f), ==, FERRY_H264_PROFILE_MAIN);
  g_assert_cmpint (ferry_h264_profile (0x640028), ==, FERRY_H264_PROFILE_HIGH);
  g_assert_cmpint (ferry_h264_profile (0x640c1f), ==, FERRY_H264_PROFILE_CONSTRAINED_HIGH);
  g_assert_cmpint (ferry_h264_profile (0xf4001f), ==, FERRY_H264_PROFILE_OTHER);
  g_assert_cmpint (ferry_h264_profile (0x6e001f), ==, FERRY_H264_PROFILE_OTHER);
}

/* The stream's profile picks the payload type; a profile the offer lacks keeps the
 * parse-time choice. */
static void
test_choose_h264 (void)
{
  FerryOfferInfo info;

  g_assert_true (ferry_sdp_parse_offer (chromium_offer, &info, NULL, NULL));
  g_assert_cmpuint (info.n_h264, ==, 4);        /* 104 is mode 0 */
  g_assert_cmpuint (ferry_sdp_choose_h264 (&info, 0x4d401f), ==, 0x4d401f);
  g_assert_cmpint (info.h264_pt, ==, 116);
  g_assert_cmpuint (ferry_sdp_choose_h264 (&info, 0x42c01e), ==, 0x42c01e);
  g_assert_cmpint (info.h264_pt, ==, 108);
  g_assert_cmpuint (ferry_sdp_choose_h264 (&info, 0x420028), ==, 0x420028);
  g_assert_cmpint (info.h264_pt, ==, 102);
  g_assert_cmpstr (info.profile_level_id, ==, "42001f");
  /* No High in this offer, or unknown before the first keyframe: the offer's value of
   * the payload type already chosen. */
  g_assert_cmpuint (ferry_sdp_choose_h264 (&info, 0x640028), ==, 0x42001f);
  g_assert_cmpint (info.h264_pt, ==, 102);
  g_assert_cmpuint (ferry_sdp_choose_h264 (&info, 0), ==, 0x42001f);
}

static void
test_set_h264_plid (void)
{
  GstSDPMessage *sdp = NULL;
  g_autofree char *text = NULL;

  g_assert_cmpint (gst_sdp_message_new_from_text ("v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\n"
          "s=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 116 117\r\n"
          "a=rtpmap:116 H264/90000\r\n"
          "a=fmtp:116 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=4d001f\r\n"
          "a=rtpmap:117 H264/90000\r\na=fmtp:117 packetization-mode=1\r\n", &sdp), ==, GST_SDP_OK);
  ferry_sdp_set_h264_plid (sdp, 116, 0x4d4028);
  ferry_sdp_set_h264_plid (sdp, 117, 0x42c01f);
  text = gst_sdp_message_as_text (sdp);
  g_assert_nonnull (strstr (text, "a=fmtp:116 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=4d4028\r\n"));
  g_assert_nonnull (strstr (text, "a=fmtp:117 packetization-mode=1;profile-level-id=42c01f\r\n"));
  gst_sdp_message_free (sdp);
}

/* Firefox-style: video first, other payload numbers, upper-case encoding names. */
static void
test_video_first_offer (void)
{
  const char *offer = "v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
      "m=video 9 UDP/TLS/RTP/SAVPF 126 97\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n"
      "a=rtpmap:126 H264/90000\r\n"
      "a=fmtp:126 profile-level-id=42e01f;level-asymmetry-allowed=1;packetization-mode=1\r\n"
      "a=rtpmap:97 H264/90000\r\n"
      "a=fmtp:97 profile-level-id=42e01f;level-asymmetry-allowed=1\r\n"
      "m=audio 9 UDP/TLS/RTP/SAVPF 109\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\n"
      "a=rtpmap:109 OPUS/48000/2\r\n";
  FerryOfferInfo info;

  g_assert_true (ferry_sdp_parse_offer (offer, &info, NULL, NULL));
  g_assert_cmpint (info.video_mline, ==, 0);
  g_assert_cmpint (info.audio_mline, ==, 1);
  g_assert_cmpint (info.h264_pt, ==, 126);
  g_assert_cmpint (info.opus_pt, ==, 109);
}

static void
test_no_common_codec (void)
{
  const char *offer = "v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
      "m=audio 9 UDP/TLS/RTP/SAVPF 0\r\nc=IN IP4 0.0.0.0\r\n"
      "a=rtpmap:0 PCMU/8000\r\n"
      "m=video 9 UDP/TLS/RTP/SAVPF 96 104\r\nc=IN IP4 0.0.0.0\r\n"
      "a=rtpmap:96 VP8/90000\r\na=rtpmap:104 H264/90000\r\n"
      "a=fmtp:104 packetization-mode=0;profile-level-id=42e01f\r\n";
  FerryOfferInfo info;

  g_assert_true (ferry_sdp_parse_offer (offer, &info, NULL, NULL));
  g_assert_cmpint (info.audio_mline, ==, 0);
  g_assert_cmpint (info.video_mline, ==, 1);
  g_assert_cmpint (info.opus_pt, ==, -1);
  g_assert_cmpint (info.h264_pt, ==, -1);
}

static void
test_audio_only_offer (void)
{
  const char *offer = "v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
      "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\n"
      "a=rtpmap:111 opus/48000/2\r\n";
  FerryOfferInfo info;

  g_assert_true (ferry_sdp_parse_offer (offer, &info, NULL, NULL));
  g_assert_cmpint (info.video_mline, ==, -1);
  g_assert_cmpint (info.h264_pt, ==, -1);
  g_assert_cmpint (info.opus_pt, ==, 111);
}

static void
test_not_sdp (void)
{
  const char *bad[] = { "", "hello", "{\"sdp\":1}", "v=0\r\n" };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    FerryOfferInfo info;
    g_autoptr (GError) error = NULL;
    g_assert_false (ferry_sdp_parse_offer (bad[i], &info, NULL, &error));
    g_assert_error (error, FERRY_ERROR, FERRY_ERROR_INVALID_PARAMETER);
  }
  {
    FerryOfferInfo info;
    g_autoptr (GError) error = NULL;
    g_assert_false (ferry_sdp_parse_offer (NULL, &info, NULL, &error));
    g_assert_nonnull (error);
  }
}

static void
test_add_msid (void)
{
  GstSDPMessage *msg = NULL;
  FerryOfferInfo info;
  g_autofree char *text = NULL;

  g_assert_true (ferry_sdp_parse_offer (chromium_offer, &info, &msg, NULL));
  ferry_sdp_add_msid (msg, "ferry");
  text = gst_sdp_message_as_text (msg);
  g_assert_nonnull (strstr (text, "a=msid:ferry ferry-audio\r\n"));
  g_assert_nonnull (strstr (text, "a=msid:ferry ferry-video\r\n"));
  /* Idempotent: a second pass adds nothing. */
  ferry_sdp_add_msid (msg, "other");
  g_free (text);
  text = gst_sdp_message_as_text (msg);
  g_assert_null (strstr (text, "a=msid:other"));
  gst_sdp_message_free (msg);
}

/* NAT 1:1: each host candidate is also advertised at the public address, same port. */
static void
test_public_candidates (void)
{
  const char *answer = "v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
      "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\n"
      "a=candidate:1 1 UDP 2015363327 10.0.0.5 40100 typ host\r\n"
      "a=candidate:2 1 TCP 1015023359 10.0.0.5 9 typ host tcptype active\r\n"
      "a=candidate:3 1 UDP 1679819007 198.51.100.1 5000 typ srflx raddr 10.0.0.5 rport 40100\r\n"
      "m=video 0 UDP/TLS/RTP/SAVPF 102\r\nc=IN IP4 0.0.0.0\r\n";
  char *pub[] = { (char *) "203.0.113.7", (char *) "203.0.113.8", NULL };
  GstSDPMessage *msg = NULL;
  g_autofree char *text = NULL;

  g_assert_cmpint (gst_sdp_message_new_from_text (answer, &msg), ==, GST_SDP_OK);
  ferry_sdp_add_public_candidates (msg, NULL);
  ferry_sdp_add_public_candidates (msg, pub);
  text = gst_sdp_message_as_text (msg);
  g_assert_nonnull (strstr (text,
          "a=candidate:190 1 UDP 2015363326 203.0.113.7 40100 typ host\r\n"));
  g_assert_nonnull (strstr (text,
          "a=candidate:191 1 UDP 2015363325 203.0.113.8 40100 typ host\r\n"));
  g_assert_nonnull (strstr (text,
          "a=candidate:290 1 TCP 1015023358 203.0.113.7 9 typ host tcptype active\r\n"));
  /* Only host candidates are mapped; a srflx one already is public. */
  g_assert_null (strstr (text, "198.51.100.1 5000 typ srflx raddr 203"));
  g_assert_null (strstr (text, "a=candidate:390"));
  gst_sdp_message_free (msg);
}

/* A WHEP PATCH body (RFC 8840): candidates under the a=mid they follow. */
static void
test_trickle (void)
{
  const char *frag = "a=ice-ufrag:x\r\na=candidate:0 1 udp 1 192.0.2.1 9 typ host\r\n"
      "m=audio 9 RTP/AVP 0\r\na=mid:1\r\n"
      "a=candidate:1 1 udp 2 192.0.2.2 9 typ host\na=end-of-candidates\r\n";
  g_autoptr (GPtrArray) c = ferry_sdp_parse_trickle (frag, strlen (frag));
  g_autoptr (GPtrArray) empty = ferry_sdp_parse_trickle (NULL, 0);
  GstSDPMessage *offer = NULL;
  FerrySdpCandidate *first, *second;

  g_assert_cmpuint (c->len, ==, 2);
  first = g_ptr_array_index (c, 0);
  second = g_ptr_array_index (c, 1);
  g_assert_null (first->mid);
  g_assert_cmpstr (first->candidate, ==, "candidate:0 1 udp 1 192.0.2.1 9 typ host");
  g_assert_cmpstr (second->mid, ==, "1");
  /* libsoup may hand an empty body over without data */
  g_assert_cmpuint (empty->len, ==, 0);

  g_assert_true (ferry_sdp_parse_offer (chromium_offer, &(FerryOfferInfo) { 0 },
          &offer, NULL));
  g_assert_cmpuint (ferry_sdp_mline_of_mid (offer, "1"), ==, 1);
  g_assert_cmpuint (ferry_sdp_mline_of_mid (offer, "0"), ==, 0);
  g_assert_cmpuint (ferry_sdp_mline_of_mid (offer, "7"), ==, 0);
  g_assert_cmpuint (ferry_sdp_mline_of_mid (offer, NULL), ==, 0);
  gst_sdp_message_free (offer);
}

/* A priority out of range must not overflow (found by fuzz-sdp, UBSan). */
static void
test_public_candidates_priority (void)
{
  const char *text = "v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
      "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\n"
      "a=candidate:1 1 UDP -99999999999999999999 192.0.2.1 50000 typ host\r\n"
      "a=candidate:2 1 UDP 99999999999999999999 192.0.2.1 50002 typ host\r\n";
  char *ips[] = { "203.0.113.7", NULL };
  GstSDPMessage *msg = NULL;
  g_autofree char *out = NULL;

  g_assert_cmpint (gst_sdp_message_new_from_text (text, &msg), ==, GST_SDP_OK);
  ferry_sdp_add_public_candidates (msg, ips);
  out = gst_sdp_message_as_text (msg);
  g_assert_nonnull (strstr (out, "a=candidate:190 1 UDP 1 203.0.113.7 50000 typ host\r\n"));
  g_assert_nonnull (strstr (out, "a=candidate:290 1 UDP 4294967294 203.0.113.7 50002 typ host\r\n"));
  gst_sdp_message_free (msg);
}

/* A profile-level-id is six hex digits: a sign or blanks made strtoull produce a value
 * that was not one (found by fuzz-sdp). */
static void
test_bad_plid (void)
{
  const char *bad[] = { "-d001f", "+42e01", " 42e01", "42e01g", "0x42e0" };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autofree char *offer = g_strdup_printf ("v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\n"
        "s=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 102\r\n"
        "a=rtpmap:102 H264/90000\r\n"
        "a=fmtp:102 packetization-mode=1;profile-level-id=%s\r\n", bad[i]);
    FerryOfferInfo info;

    g_assert_true (ferry_sdp_parse_offer (offer, &info, NULL, NULL));
    g_assert_cmpint (info.h264_pt, ==, 102);
    g_assert_cmpstr (info.profile_level_id, ==, "");
    g_assert_cmpuint (info.h264[0].plid, ==, 0);
    g_assert_cmphex (ferry_sdp_choose_h264 (&info, 0x4d001f), ==, 0);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  gst_init (&argc, &argv);
  g_test_add_func ("/sdp/chromium-offer", test_chromium_offer);
  g_test_add_func ("/sdp/video-first-offer", test_video_first_offer);
  g_test_add_func ("/sdp/h264-profiles", test_h264_profiles);
  g_test_add_func ("/sdp/choose-h264", test_choose_h264);
  g_test_add_func ("/sdp/set-h264-plid", test_set_h264_plid);
  g_test_add_func ("/sdp/no-common-codec", test_no_common_codec);
  g_test_add_func ("/sdp/audio-only-offer", test_audio_only_offer);
  g_test_add_func ("/sdp/not-sdp", test_not_sdp);
  g_test_add_func ("/sdp/add-msid", test_add_msid);
  g_test_add_func ("/sdp/public-candidates", test_public_candidates);
  g_test_add_func ("/sdp/trickle", test_trickle);
  g_test_add_func ("/sdp/bad-profile-level-id", test_bad_plid);
  g_test_add_func ("/sdp/public-candidates-priority",
      test_public_candidates_priority);
  return g_test_run ();
}

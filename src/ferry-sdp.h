/* ferry-sdp.h — pure SDP helpers for answering a browser's offer.
 *
 * The browser offers and Ferry answers (wcs-websocket-protocol.md §9): payload types and
 * the order of m-lines come from the offer, never from constants. No state; any thread.
 */
#pragma once

#include <gst/sdp/sdp.h>

G_BEGIN_DECLS

typedef struct
{
  gint audio_mline;             /* index of the first usable audio m-line, or -1 */
  gint video_mline;             /* index of the first usable video m-line, or -1 */
  gint opus_pt;                 /* Opus/48000/2 payload type offered, or -1 */
  gint h264_pt;                 /* H.264 packetization-mode=1 payload type, or -1 */
  char profile_level_id[7];     /* of @h264_pt, "" when the offer gives none */
  /* Every H.264 packetization-mode=1 payload type of the video m-line, in offer order,
   * with its profile-level-id (0xPPCCLL, 0 when none): ferry_sdp_choose_h264(). */
  guint n_h264;
  struct
  {
    gint pt;
    guint32 plid;
  } h264[16];
} FerryOfferInfo;

typedef enum
{
  FERRY_H264_PROFILE_OTHER,
  FERRY_H264_PROFILE_CONSTRAINED_BASELINE,
  FERRY_H264_PROFILE_BASELINE,
  FERRY_H264_PROFILE_MAIN,
  FERRY_H264_PROFILE_EXTENDED,
  FERRY_H264_PROFILE_CONSTRAINED_HIGH,
  FERRY_H264_PROFILE_HIGH,
} FerryH264Profile;

gboolean ferry_sdp_parse_offer (const char *text, FerryOfferInfo *info,
    GstSDPMessage **msg, GError **error);

FerryH264Profile ferry_h264_profile (guint32 plid);
guint32 ferry_sdp_choose_h264 (FerryOfferInfo *info, guint32 stream_plid);
void ferry_sdp_set_h264_plid (GstSDPMessage *answer, gint pt, guint32 plid);

gboolean ferry_sdp_fingerprint_matches (const GstSDPMessage *offer,
    const char *pem);

/* One trickled candidate of an RFC 8840 fragment (WHEP PATCH). */
typedef struct
{
  char *mid;                    /* the a=mid it follows, NULL before any */
  char *candidate;              /* "candidate:…", the a= line without "a=" */
} FerrySdpCandidate;

GPtrArray *ferry_sdp_parse_trickle (const char *text, gsize len);
guint ferry_sdp_mline_of_mid (const GstSDPMessage *offer, const char *mid);

void ferry_sdp_add_msid (GstSDPMessage *answer, const char *stream_id);
void ferry_sdp_add_public_candidates (GstSDPMessage *answer,
    char **public_ips);

G_END_DECLS

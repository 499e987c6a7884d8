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
} FerryOfferInfo;

gboolean ferry_sdp_parse_offer (const char *text, FerryOfferInfo *info,
    GstSDPMessage **msg, GError **error);

gboolean ferry_sdp_fingerprint_matches (const GstSDPMessage *offer,
    const char *pem);

void ferry_sdp_add_msid (GstSDPMessage *answer, const char *stream_id);
void ferry_sdp_add_public_candidates (GstSDPMessage *answer,
    char **public_ips);

G_END_DECLS

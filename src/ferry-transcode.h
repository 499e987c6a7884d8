/* ferry-transcode.h — the video leg between a stream's original H.264 and what its WebRTC
 * viewers get (docs/transcoding.md):
 *
 *   tee "h264" ─┬─ (passthrough) ────────────────────────────────────────────────┐
 *   (original:  └─ queue → avdec_h264 → videoconvert → x264enc(zerolatency, no    ├─ funnel → tee "video"
 *    recordings)    B-frames) → h264parse → capsfilter ───────────────────────────┘   (viewers)
 *
 * Browsers' WebRTC H.264 decoders play streams with B-frames badly (frames out of order:
 * freezes, a fraction decoded). Probes on the "h264" tee detect B-frames (a composition
 * time offset, PTS ≠ DTS, or a PTS going backwards) and, under the policy, switch the
 * viewers' tee from the passthrough to the re-encoded leg at the next keyframe. Both legs
 * are always built; the decoder and encoder see no buffer until the switch, so they cost
 * nothing while the source needs no transcoding. The switch is one way: a stream that
 * was transcoded stays so (a later source without B-frames included).
 *
 * The re-encoded video keeps the source's timestamps, keyframes (a downstream
 * force-key-unit event goes in front of every source keyframe) and resolution.
 *
 * Threads: built on the main context. The probes run on the ingest's streaming thread and
 * only flip atomics and post element messages to the bus:
 *   "ferry-bframes"      the source has B-frames (once)
 *   "ferry-transcoding"  reason=(string)   viewers now get the re-encoded video (once)
 */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

/* What viewers of a B-frame source get when the policy is never (WCS's words). */
#define FERRY_TRANSCODING_DISABLED "Transcoding required, but disabled"

typedef enum
{
  FERRY_TRANSCODE_AUTO,         /* re-encode when the source has B-frames */
  FERRY_TRANSCODE_ALWAYS,       /* always re-encode */
  FERRY_TRANSCODE_NEVER,        /* never: viewers of a B-frame source are refused */
} FerryTranscodePolicy;

typedef struct
{
  FerryTranscodePolicy policy;
  char *preset;                 /* x264 speed preset name */
  guint quality;                /* x264 constant quality (CRF), 0..50 */
  guint max_bitrate_kbps;       /* cap of the re-encoded bitrate */
} FerryTranscodeOptions;

gboolean ferry_transcode_policy_from_string (const char *s,
    FerryTranscodePolicy *out);
const char *ferry_transcode_policy_to_string (FerryTranscodePolicy policy);

/* Builds the leg in @bin after @h264_tee. Returns: (transfer none) the "video" tee's
 * upstream element (the funnel), to which the caller adds the tee, or NULL with @error. */
GstElement *ferry_transcode_build (GstBin *bin, const char *id,
    GstElement *h264_tee, const FerryTranscodeOptions *opts, GError **error);

G_END_DECLS

/* Ferry test peer: decoding what a webrtcbin receives, and counting it.
 *
 * A PeerMedia is the receive side of one played stream: it builds a decode
 * chain for every src pad webrtcbin adds and keeps the counters (decoded
 * video frames, decoded audio sample frames, the video size) plus the
 * errors seen on the way. It is reference counted and thread-safe: the
 * probes that count run on streaming threads and hold a reference, so the
 * numbers outlive the pipeline for the final report.
 */
#pragma once

#include <gst/gst.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef struct _PeerMedia PeerMedia;

PeerMedia *peer_media_new (const gchar * id);
PeerMedia *peer_media_ref (PeerMedia * media);
void peer_media_unref (PeerMedia * media);

/* main context, before the pipeline runs: FALSE links every H.264/Opus pad
 * straight to a fakesink with only the RTP counters (no depayloader, no
 * decoder: videoFrames, audioSamples, the video size and sync stay 0).
 * Default TRUE. */
void peer_media_set_decode (PeerMedia * media, gboolean decode);

/* main context, before the pipeline runs: TRUE gives each RTP session an RTCP share
 * large enough that NACKs leave at once, as browsers send them. Default FALSE. */
void peer_media_set_prompt_nack (PeerMedia * media, gboolean prompt);

/* any thread */
void peer_media_add_error (PeerMedia * media, const gchar * what);

/* streaming thread that announced @pad (webrtcbin's pad-added) */
void peer_media_link_pad (PeerMedia * media, GstBin * bin, GstPad * pad);

/* main context, before PLAYING: records when each of @webrtc's jitterbuffers has its
 * first sender report (from then on rtpbin can lip-sync that track), at the running
 * time of @pipeline, reported as sync.senderReportAtS */
void peer_media_watch_lip_sync (PeerMedia * media, GstElement * pipeline,
    GstElement * webrtc);

/* main context, before PLAYING: drops every @every-th RTP packet of payload type @pt
 * as it arrives (decrypted, before the jitterbuffer), as a lossy network would;
 * retransmissions (their own payload type) pass. Counted as rtx.dropped. */
void peer_media_drop_video (PeerMedia * media, GstElement * webrtc,
    guint every, gint pt);

/* main context: takes the jitterbuffers' retransmission figures (rtx in the JSON) and
 * lets them go; call before the pipeline goes to NULL. Later calls change nothing. */
void peer_media_collect (PeerMedia * media);

/* the counters so far; any thread */
void peer_media_get_counts (PeerMedia * media, guint64 * video_frames,
    guint64 * audio_samples);

/* adds videoFrames, audioSamples, videoWidth, videoHeight, firstVideoRtpMs (ms from
 * peer_media_new to the first video RTP packet, or null), rtp (per track: packets,
 * seqGaps, seqBackwards, tsBackwards, maxTsJump, ssrcChanges), rtx (requested,
 * recovered, lost: the jitterbuffers' rtx-count, rtx-success-count, num-lost summed over
 * the tracks; dropped: by peer_media_drop_video) and errors to the
 * object being built in @b; any thread */
void peer_media_add_to_json (PeerMedia * media, JsonBuilder * b);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PeerMedia, peer_media_unref)

G_END_DECLS

/* Ferry test peer: audio/video sync measured on the content.
 *
 * A source that carries sync marks (a white video frame and the onset of a tone at the
 * same instant, once a second, after dark frames and silence: lib/rtmp.mjs `syncMarks`)
 * lets the receiver measure the A/V offset from what it decoded: the running time of each
 * flash against the nearest tone onset. Streams without marks report no pairs.
 *
 * The detectors (PeerSyncVideo, PeerSyncAudio) belong to one decode chain and are used on
 * its streaming thread only; PeerSync collects the marks of both chains and is not
 * locked itself: its owner (PeerMedia) holds its own lock around every call.
 */
#pragma once

#include <gst/gst.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef struct _PeerSync PeerSync;

typedef struct
{
  gboolean dark;                /* the last frame was dark */
} PeerSyncVideo;

typedef struct
{
  guint64 quiet;                /* sample frames of silence so far */
} PeerSyncAudio;

PeerSync *peer_sync_new (void);
void peer_sync_free (PeerSync * sync);

/* TRUE when @buf (8-bit luma first, as avdec_h264 writes I420 into a fakesink) is the
 * first bright frame after a dark one. */
gboolean peer_sync_video_flash (PeerSyncVideo * st, GstBuffer * buf,
    gint width, gint height);

/* The index of the sample frame where a tone starts after at least 0.3 s of silence
 * in @buf (interleaved S16), or -1. */
gint64 peer_sync_audio_onset (PeerSyncAudio * st, GstBuffer * buf, gint rate,
    gint channels);

void peer_sync_add_mark (PeerSync * sync, gboolean video, GstClockTime running);

/* a jitterbuffer had its first sender report at @running */
void peer_sync_add_sender_report (PeerSync * sync, GstClockTime running);

/* adds {"videoMarks","audioMarks","pairs","offsetMs":{mean,min,max}|null,
 * "offsetsMs":[…],"pairsAtS":[…],"senderReportAtS":[…]} (offset = audio − video;
 * pairsAtS: the running time of each pair's flash; senderReportAtS: when each
 * jitterbuffer had its first sender report) to the object being built in @b */
void peer_sync_add_to_json (PeerSync * sync, JsonBuilder * b);

G_END_DECLS

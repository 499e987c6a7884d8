/* ferry-ingest.h — builds a stream's ingest in code:
 *
 *   [source (ferry-source.h)] ─┬─ queue → h264parse(config-interval=-1) → capsfilter → tee "h264"
 *                              │    ─▶ passthrough or re-encoded (ferry-transcode.h) → tee "video"
 *                              └─ queue → aacparse → tee "aac" ─▶ queue → avdec_aac ─┬─ funnel → audioconvert
 *                                                                 queue "audio-raw" ─┘  → audioresample
 *                                   → capsfilter(48 kHz stereo) → opusenc → tee "audio"
 *
 * MP3, Speex, Nellymoser, G.711, ADPCM and PCM sources are decoded in the source bin
 * (ferry-source.c) and enter at "audio-raw"; only AAC reaches the "aac" tee.
 *
 * The "h264" and "aac" tees carry the source's own H.264 and AAC (recordings); "video"
 * and "audio" carry what WebRTC viewers get: H.264 without B-frames, and Opus.
 *
 * Everything expensive (parsing, AAC→Opus) happens here, once per stream, before the
 * tees; viewers only add cheap elements after them. Each tee has a keep-alive
 * queue → fakesink branch so the pipeline runs without viewers.
 *
 * The chains outlive the sources that feed them: a reconnect replaces the source only.
 *
 * Threads: built on the main context. The first-buffer probes run on streaming threads
 * and only post an element message to the bus:
 *   "ferry-media-flowing"    kind=(string)video|audio|aac   first buffer reached a tee
 *                            ("aac": the source's audio is AAC)
 *   "ferry-h264-sps"         profile-level-id=(uint)0xPPCCLL   of what viewers get, on the
 *                            first keyframe and whenever it changes
 * The stream's bus watch (main context) turns it into PLAYING.
 */
#pragma once

#include <gst/gst.h>
#include "ferry-transcode.h"

G_BEGIN_DECLS

typedef struct
{
  const char *uri;
  gboolean want_audio;
  gboolean want_video;
  guint rtmp_timeout_s;
  guint idle_timeout_s;
  gboolean tls_verify;          /* FALSE: rtmps:// accepts any certificate */
  guint opus_bitrate;
  FerryTranscodeOptions transcode;      /* borrowed strings */
} FerryIngestOptions;

typedef struct
{
  GstElement *video_in;         /* (transfer none): first element of the video chain, or NULL */
  GstElement *audio_in;         /* (transfer none): first element of the audio chain, or NULL */
  GstElement *audio_raw_in;     /* (transfer none): where decoded non-AAC audio joins it */
  GstElement *h264_tee;         /* (transfer none), the source's H.264; NULL if !want_video */
  GstElement *video_tee;        /* (transfer none), H.264 for viewers; NULL if !want_video */
  GstElement *audio_tee;        /* (transfer none), Opus; NULL if !want_audio */
  GstElement *aac_tee;          /* (transfer none), original AAC; NULL if !want_audio */
} FerryIngest;

gboolean ferry_ingest_uri_is_supported (const char *uri, GError **error);
gboolean ferry_ingest_build (GstBin *pipeline, const char *id,
    const FerryIngestOptions *opts, FerryIngest *out, GError **error);
GstElement *ferry_make (const char *factory, const char *name,
    GError **error);
void ferry_pad_keep_one_stream_start (GstPad *pad);

G_END_DECLS

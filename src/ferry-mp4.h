/* ferry-mp4.h — probe an MP4 recording (duration, tracks, fragments) without
 * GStreamer, for the REST listing of recordings.
 *
 * Recordings are fragmented MP4 from splitmuxsink + mp4mux
 * fragment-duration=1000 and may be cut anywhere when the server is killed
 * mid-write, so the probe reports what is playable: the duration up to the
 * last moof whose mdat is complete. It reads box headers and small boxes only,
 * never media data, and bounds its work and memory on hostile input.
 *
 * Owns no state; any thread.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct
{
  gdouble duration_s;   /* longest track, from its fragments when the moov
                         * has no duration; 0 if nothing is playable */
  gboolean has_video;
  gboolean has_audio;
  char video_codec[5];  /* first video sample entry fourcc, e.g. "avc1"; "" */
  char audio_codec[5];  /* e.g. "mp4a"; "" if none */
  guint n_fragments;    /* complete moof boxes followed by a complete mdat */
  gboolean finalized;    /* written to the end by a clean stop: a fragmented file
                         * ends with mp4mux's mfra index; a killed one does not */
  gboolean truncated;   /* the file ends inside a box, after a moof whose
                         * mdat never came, or without a moov; also set when
                         * a box size is inconsistent, since nothing after
                         * it is reachable */
} FerryMp4Info;

gboolean ferry_mp4_probe (const char *path, FerryMp4Info *info, GError **error);

G_END_DECLS

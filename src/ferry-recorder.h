/* ferry-recorder.h — FerryRecorder: one recording of one stream.
 *
 * Owns: its branch bin on the stream's "video" (H.264) and "aac" tees:
 *   video_sink → queue → h264parse → splitmuxsink(video)
 *   audio_sink → queue ─────────────→ splitmuxsink(audio_0)
 * with splitmuxsink writing fragmented MP4 (mp4mux fragment-duration) segments rotated by
 * time/size into the records directory. The source's own H.264 and AAC are written: no
 * re-encoding. Fragmented MP4 stays playable up to its last fragment if the process dies.
 * Runs on: the main context. splitmuxsink names segments from its streaming thread using
 * only data fixed at start; everything else arrives as bus messages the stream routes here.
 * Lifecycle: new → start → RECORDING → stop (EOS in, wait for the file to be finalised,
 * bounded by a timeout) or a write error (FAILED) → detached → the done callback → unref.
 */
#pragma once

#include <gst/gst.h>
#include "ferry-app.h"

G_BEGIN_DECLS

typedef enum
{
  FERRY_RECORDER_RECORDING,
  FERRY_RECORDER_STOPPING,
  FERRY_RECORDER_STOPPED,
  FERRY_RECORDER_FAILED,
} FerryRecorderState;

#define FERRY_TYPE_RECORDER (ferry_recorder_get_type ())
G_DECLARE_FINAL_TYPE (FerryRecorder, ferry_recorder, FERRY, RECORDER, GObject)

/* Main context: the recorder is detached from the pipeline (stopped or failed). */
typedef void (*FerryRecorderDone) (FerryRecorder *recorder, gpointer user_data);

FerryRecorder *ferry_recorder_new (FerryApp *app, const char *stream_name,
    FerryRecorderDone done, gpointer user_data);
gboolean ferry_recorder_start (FerryRecorder *self, GstElement *pipeline,
    GstElement *video_tee, GstElement *aac_tee, GError **error);
void ferry_recorder_stop (FerryRecorder *self);
gboolean ferry_recorder_handle_message (FerryRecorder *self, GstMessage *msg);

FerryRecorderState ferry_recorder_get_state (FerryRecorder *self);
const char *ferry_recorder_state_to_string (FerryRecorderState state);
const char *ferry_recorder_get_info (FerryRecorder *self);
const char *ferry_recorder_get_current_file (FerryRecorder *self);

char *ferry_recorder_sanitize_name (const char *name);
char *ferry_recorder_file_name (const char *stream_name, GDateTime *start,
    guint segment);

G_END_DECLS

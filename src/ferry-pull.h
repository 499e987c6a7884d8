/* ferry-pull.h — starting a pull, whoever asks: the REST API (`/pull/rtmp/pull`) or a viewer
 * that plays an rtmp:// name nobody pulls yet (an on-demand pull). One place decides name
 * and uri conflicts and how a pull that cannot even build its pipeline ends. Main context.
 */
#pragma once

#include "ferry-app.h"
#include "ferry-stream.h"

G_BEGIN_DECLS

typedef struct
{
  const char *uri;
  const char *name;             /* the uri when NULL or empty (as WCS does) */
  gboolean record, has_audio, has_video;
  gboolean on_demand;           /* started by a viewer: ends after its last viewer */
  gboolean has_transcode;       /* transcode is the pull's own; else [transcode] policy */
  FerryTranscodePolicy transcode;
} FerryPullRequest;

FerryStream *ferry_pull_start (FerryApp *app, const FerryPullRequest *req,
    GError **error);
FerryStream *ferry_pull_for_viewer (FerryApp *app, const char *name,
    gboolean *on_demand, GError **error);
FerryStream *ferry_pull_start_on_demand (FerryApp *app, const char *uri,
    GError **error);
gboolean ferry_pull_name_is_uri (const char *name);

G_END_DECLS

/* ferry-wcs.h — the WCS WebSocket messages Ferry sends, built as text
 * (wcs-websocket-protocol.md §6.2). Every server message carries a `data` array, since
 * the SDK reads data[0] of each one. Pure; any thread.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct
{
  const char *media_session_id;
  const char *name;
  const char *status;
  const char *info;             /* nullable */
  gboolean has_audio;
  gboolean has_video;
} FerryWcsStatus;

char *ferry_wcs_get_user_data (const char *session_id, const char *app_key,
    const char *client_version);
char *ferry_wcs_set_remote_sdp (const char *media_session_id, const char *sdp);
char *ferry_wcs_stream_status (const FerryWcsStatus *status);
char *ferry_wcs_available_stream (const char *media_session_id,
    const char *name, gboolean available, const char *info);
char *ferry_wcs_ping (void);

G_END_DECLS

/* ferry-wcs.h — the WCS WebSocket messages: those Ferry sends, built as text
 * (wcs-websocket-protocol.md §6.2; every server message carries a `data` array, since
 * the SDK reads data[0] of each one), and those it reads, decoded into a
 * FerryWcsRequest. Pure; any thread.
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef enum
{
  FERRY_WCS_MSG_NONE,           /* no "message" string: ignored without a word */
  FERRY_WCS_MSG_UNKNOWN,        /* a name Ferry does not handle: ignored */
  FERRY_WCS_MSG_CONNECTION,
  FERRY_WCS_MSG_PLAY_STREAM,
  FERRY_WCS_MSG_STOP_STREAM,
  FERRY_WCS_MSG_AVAILABLE_STREAM,
  FERRY_WCS_MSG_PING,
  FERRY_WCS_MSG_PONG,
} FerryWcsMessageType;

/* A client message. The strings are borrowed from @root; each is NULL when data[0]
 * lacks it or has it with another JSON type (as unusable as none). */
typedef struct
{
  FerryWcsMessageType type;
  const char *message;          /* the name as sent */
  gboolean has_payload;         /* data[0] is an object */
  const char *media_session_id;
  const char *name;
  const char *sdp;
  const char *media_provider;
  const char *token;            /* custom.token, else authToken */
  const char *app_key;
  const char *client_version;
  gboolean has_audio, has_video;        /* TRUE unless false or "false" */
  JsonObject *root;             /* owned */
} FerryWcsRequest;

gboolean ferry_wcs_request_parse (const char *text, gsize len,
    guint max_depth, FerryWcsRequest *req, GError **error);
void ferry_wcs_request_clear (FerryWcsRequest *req);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (FerryWcsRequest, ferry_wcs_request_clear)

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

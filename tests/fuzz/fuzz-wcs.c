/* fuzz-wcs — one WebSocket text frame, as the WCS endpoint's message handler gets it:
 * ferry_wcs_request_parse() with the default [limits] json-depth, then, per message,
 * what the handler does with the client's fields that needs no server: the offer of a
 * playStream through ferry_sdp_parse_offer() (ferry_viewer_new()), an rtmp:// name
 * through ferry_ingest_uri_is_supported() (an on-demand pull), and every reply that
 * echoes client strings (getUserData, notifyStreamStatusEvent, availableStream,
 * setRemoteSDP), each of which must be valid JSON. */
#include "fuzz-common.h"
#include "ferry-errors.h"
#include "ferry-ingest.h"
#include "ferry-json.h"
#include "ferry-pull.h"
#include "ferry-sdp.h"
#include "ferry-wcs.h"

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  fuzz_init ();
  FUZZ_WARM_UP ("{\"message\":\"playStream\",\"data\":[{\"mediaSessionId\":\"m1\","
      "\"name\":\"rtmp://h/a/s\",\"sdp\":\"v=0\\r\\no=- 1 2 IN IP4 0.0.0.0\\r\\n"
      "s=-\\r\\nt=0 0\\r\\nm=audio 9 UDP/TLS/RTP/SAVPF 111\\r\\n"
      "a=rtpmap:111 opus/48000/2\\r\\n\"}]}");
  return 0;
}

static void
reply (char *text)
{
  FUZZ_ASSERT_JSON_OBJECT (text);
  g_free (text);
}

static void
play (const FerryWcsRequest *req)
{
  FerryWcsStatus st = {
    .media_session_id = req->media_session_id,
    .name = req->name,
    .status = "FAILED",
    .info = "Stream not found",
    .has_audio = req->has_audio,
    .has_video = req->has_video,
  };
  FerryOfferInfo info;
  GstSDPMessage *offer = NULL;

  reply (ferry_wcs_stream_status (&st));
  if (req->name && ferry_pull_name_is_uri (req->name)) {
    g_autoptr (GError) error = NULL;

    /* why the uri cannot be pulled is the FAILED status' info */
    if (!ferry_ingest_uri_is_supported (req->name, &error)) {
      st.info = error->message;
      reply (ferry_wcs_stream_status (&st));
    }
  }
  if (ferry_sdp_parse_offer (req->sdp, &info, &offer, NULL)) {
    g_assert_nonnull (offer);
    g_assert_cmpint (info.opus_pt, <=, 127);
    g_assert_cmpint (info.h264_pt, <=, 127);
    gst_sdp_message_free (offer);
  }
  if (req->media_session_id)
    reply (ferry_wcs_set_remote_sdp (req->media_session_id,
            req->sdp ? req->sdp : "v=0\r\n"));
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_auto (FerryWcsRequest) req = { 0 };
  g_autoptr (GError) error = NULL;

  if (!ferry_wcs_request_parse ((const char *) data, size, FERRY_JSON_MAX_DEPTH,
          &req, &error)) {
    /* not JSON, too deep, not UTF-8 (invalid_json), or a NUL in a string (invalid_parameter) */
    g_assert_true (g_error_matches (error, FERRY_ERROR, FERRY_ERROR_INVALID_JSON)
        || g_error_matches (error, FERRY_ERROR, FERRY_ERROR_INVALID_PARAMETER));
    g_assert_null (req.root);
    return 0;
  }
  g_assert_nonnull (req.root);
  g_assert_true ((req.type == FERRY_WCS_MSG_NONE) == (req.message == NULL));
  if (!req.has_payload)
    g_assert_true (req.media_session_id == NULL && req.name == NULL
        && req.sdp == NULL && req.token == NULL);

  switch (req.type) {
    case FERRY_WCS_MSG_CONNECTION:
      reply (ferry_wcs_get_user_data ("00000000-0000-4000-8000-000000000000",
              req.app_key, req.client_version));
      break;
    case FERRY_WCS_MSG_PLAY_STREAM:
      if (req.has_payload)
        play (&req);
      break;
    case FERRY_WCS_MSG_AVAILABLE_STREAM:
      if (req.has_payload)
        reply (ferry_wcs_available_stream (req.media_session_id, req.name,
                FALSE, "Stream not found"));
      break;
    default:
      break;
  }
  return 0;
}

/* ferry-rest.h — the WCS-compatible REST API (`/rest-api/pull/rtmp/…`), the player page
 * (`/`, embedded with GResource) and `/config.json` for the page.
 *
 * Handlers are thin: parse → validate → call FerryRegistry/FerryStream → map errors
 * through ferry-errors.c. They never wait on a pipeline: a pull answers PENDING at once.
 * Runs on: the main context (libsoup calls handlers where the server listens).
 */
#pragma once

#include <libsoup/soup.h>
#include "ferry-app.h"
#include "ferry-pull.h"

G_BEGIN_DECLS

/* Set (object data on a SoupServerMessage) when its body went over [limits] body-kb
 * while it was read and was dropped (ferry-app.c). */
#define FERRY_BODY_TOO_LARGE "ferry-body-too-large"

void ferry_rest_install (FerryApp *app, SoupServer *server);
void ferry_rest_reply_error (SoupServerMessage *msg, const GError *error);
char *ferry_rest_remote_address (SoupServerMessage *msg);
void ferry_rest_reply_error_literal (SoupServerMessage *msg, gint code,
    const char *text);
void ferry_rest_no_content (SoupServerMessage *msg);
gboolean ferry_rest_refuse_large_body (SoupServerMessage *msg,
    const FerryConfig *config);
void ferry_rest_add_cors (SoupServerMessage *msg, const FerryConfig *config);

/* Which pull a terminate or record body names; strings borrowed from the body. */
typedef struct
{
  const char *uri;
  const char *id;               /* localMediaSessionId */
  const char *name;             /* localStreamName */
} FerryRestSelector;

/* Request validation, pure (tests/fuzz/fuzz-rest-json.c calls these too). */
gboolean ferry_rest_parse_pull (JsonObject *body, FerryPullRequest *req,
    GError **error);
gboolean ferry_rest_parse_selector (JsonObject *body, FerryRestSelector *sel,
    GError **error);

G_END_DECLS

/* ferry-errors.h — Ferry's one error domain and its mapping to HTTP statuses and the
 * machine-readable codes used in REST error bodies `{"error": code, "message": text}`.
 *
 * Pure functions; any thread.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define FERRY_ERROR (ferry_error_quark ())
GQuark ferry_error_quark (void);

typedef enum
{
  FERRY_ERROR_INVALID_JSON,       /* body is not a JSON object */
  FERRY_ERROR_INVALID_PARAMETER,  /* a member has the wrong type or value */
  FERRY_ERROR_MISSING_PARAMETER,  /* a required member is absent */
  FERRY_ERROR_UNSUPPORTED_SCHEME, /* uri is not rtmp:// (or rtmps://) */
  FERRY_ERROR_BODY_TOO_LARGE,
  FERRY_ERROR_NOT_FOUND,
  FERRY_ERROR_METHOD_NOT_ALLOWED,
  FERRY_ERROR_CONFLICT,           /* uri already pulled or name taken */
  FERRY_ERROR_UNSUPPORTED_MEDIA_TYPE,
  FERRY_ERROR_STORAGE,            /* the records directory cannot be written */
  FERRY_ERROR_MISSING_PLUGIN,
  FERRY_ERROR_INTERNAL,
  FERRY_ERROR_LIMIT,              /* a [limits] capacity is reached (pulls, viewers) */
  FERRY_ERROR_TOO_MANY,           /* one client asks too much (per-address limits) */
  FERRY_ERROR_NOT_IMPLEMENTED,    /* needs a tool that is not installed */
  FERRY_ERROR_UNAUTHORIZED,       /* no credentials where [auth] wants them */
  FERRY_ERROR_FORBIDDEN,          /* credentials that are not valid */
  FERRY_ERROR_SOURCE_FORBIDDEN,   /* [sources] does not allow pulling that uri */
} FerryErrorCode;

guint ferry_error_http_status (const GError *error);
const char *ferry_error_code_name (const GError *error);

G_END_DECLS

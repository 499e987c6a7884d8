/* ferry-errors.c — the single table from error code to HTTP status and JSON code. */
#include "ferry-errors.h"

G_DEFINE_QUARK (ferry-error-quark, ferry_error)

static const struct
{
  FerryErrorCode code;
  guint http_status;
  const char *name;
} error_table[] = {
  {FERRY_ERROR_INVALID_JSON, 400, "invalid_json"},
  {FERRY_ERROR_INVALID_PARAMETER, 400, "invalid_parameter"},
  {FERRY_ERROR_MISSING_PARAMETER, 400, "missing_parameter"},
  {FERRY_ERROR_UNSUPPORTED_SCHEME, 400, "unsupported_scheme"},
  {FERRY_ERROR_BODY_TOO_LARGE, 413, "body_too_large"},
  {FERRY_ERROR_NOT_FOUND, 404, "not_found"},
  {FERRY_ERROR_METHOD_NOT_ALLOWED, 405, "method_not_allowed"},
  {FERRY_ERROR_CONFLICT, 409, "conflict"},
  {FERRY_ERROR_UNSUPPORTED_MEDIA_TYPE, 415, "unsupported_media_type"},
  {FERRY_ERROR_STORAGE, 507, "storage"},
  {FERRY_ERROR_MISSING_PLUGIN, 500, "missing_plugin"},
  {FERRY_ERROR_INTERNAL, 500, "internal"},
  {FERRY_ERROR_LIMIT, 503, "limit_reached"},
  {FERRY_ERROR_TOO_MANY, 429, "too_many_requests"},
  {FERRY_ERROR_NOT_IMPLEMENTED, 501, "not_implemented"},
  {FERRY_ERROR_UNAUTHORIZED, 401, "unauthorized"},
  {FERRY_ERROR_FORBIDDEN, 403, "forbidden"},
  {FERRY_ERROR_SOURCE_FORBIDDEN, 403, "source_forbidden"},
};

static gint
lookup (const GError *error)
{
  if (error == NULL || error->domain != FERRY_ERROR)
    return -1;
  for (guint i = 0; i < G_N_ELEMENTS (error_table); i++)
    if (error_table[i].code == (FerryErrorCode) error->code)
      return i;
  return -1;
}

/**
 * ferry_error_http_status:
 * Returns: the HTTP status for @error; 500 for errors of other domains.
 */
guint
ferry_error_http_status (const GError *error)
{
  gint i = lookup (error);
  return i < 0 ? 500 : error_table[i].http_status;
}

/**
 * ferry_error_code_name:
 * Returns: (transfer none): the stable machine-readable code for @error.
 */
const char *
ferry_error_code_name (const GError *error)
{
  gint i = lookup (error);
  return i < 0 ? "internal" : error_table[i].name;
}

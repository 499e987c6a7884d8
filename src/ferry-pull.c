/* ferry-pull.c — see ferry-pull.h. Main context only. */
#include "ferry-pull.h"
#include "ferry-metrics.h"
#include "ferry-errors.h"
#include "ferry-ingest.h"
#include "ferry-log.h"
#include "ferry-registry.h"
#include "ferry-sources.h"

FERRY_DEBUG_CATEGORY_LAZY (ferry_pull_debug, "ferry-pull", "Ferry pull creation");
#define GST_CAT_DEFAULT ferry_pull_debug

/* An ended pull (FAILED/STOPPED) does not block its uri or name: it is replaced. */
static gboolean
check_conflicts (FerryRegistry *reg, const char *uri, const char *name,
    GError **error)
{
  g_autoptr (FerryStream) by_uri = ferry_registry_lookup_uri (reg, uri);
  g_autoptr (FerryStream) by_name = ferry_registry_lookup_name (reg, name);

  if (by_uri && ferry_stream_is_active (by_uri)) {
    g_set_error (error, FERRY_ERROR, FERRY_ERROR_CONFLICT,
        "'%s' is already being pulled as '%s'", uri,
        ferry_stream_get_name (by_uri));
    return FALSE;
  }
  if (by_name && ferry_stream_is_active (by_name)) {
    g_set_error (error, FERRY_ERROR, FERRY_ERROR_CONFLICT,
        "the stream name '%s' is already taken", name);
    return FALSE;
  }
  if (by_uri)
    ferry_registry_remove (reg, by_uri);
  if (by_name && by_name != by_uri)
    ferry_registry_remove (reg, by_name);
  return TRUE;
}

/* [limits] pulls: the active pulls (PENDING, PLAYING, RECONNECTING) at most. */
static gboolean
admit_pull (FerryApp *app, GError **error)
{
  guint limit = ferry_app_get_config (app)->max_pulls;
  g_autoptr (GPtrArray) all = ferry_registry_list (ferry_app_get_registry (app));
  guint active = 0;

  for (guint i = 0; i < all->len; i++)
    active += ferry_stream_is_active (g_ptr_array_index (all, i));
  if (active < limit)
    return TRUE;
  ferry_metrics_count (ferry_app_get_metrics (app), FERRY_METRIC_LIMITED);
  g_set_error (error, FERRY_ERROR, FERRY_ERROR_LIMIT,
      "the server pulls %u streams, its limit ([limits] pulls)", active);
  return FALSE;
}

/* Ended pulls stay listed until terminated or pulled again (as in WCS); so that pulls
 * that fail do not pile up without bound, the oldest ended ones beyond [limits] pulls
 * are forgotten. */
static void
forget_old_ended (FerryApp *app)
{
  FerryRegistry *reg = ferry_app_get_registry (app);
  guint limit = ferry_app_get_config (app)->max_pulls;
  g_autoptr (GPtrArray) all = ferry_registry_list (reg);
  guint ended = 0;

  for (guint i = 0; i < all->len; i++)
    ended += !ferry_stream_is_active (g_ptr_array_index (all, i));
  for (guint i = 0; i < all->len && ended > limit; i++) {
    FerryStream *s = g_ptr_array_index (all, i);
    if (ferry_stream_is_active (s))
      continue;
    GST_INFO ("forgetting the ended pull %s (%s): more than %u are listed",
        ferry_stream_get_name (s), ferry_stream_get_id (s), limit);
    ferry_registry_remove (reg, s);
    ended--;
  }
}

/**
 * ferry_pull_start:
 * @req: already validated (ferry_ingest_uri_is_supported())
 *
 * Adds the pull to the registry and starts connecting. A pipeline that cannot be built
 * still gives a pull (FAILED, with the reason) rather than an error: the request was valid.
 * Returns: (transfer full) (nullable): the pull, or NULL with @error (a conflict,
 *   [limits] pulls).
 */
FerryStream *
ferry_pull_start (FerryApp *app, const FerryPullRequest *req, GError **error)
{
  FerryRegistry *reg = ferry_app_get_registry (app);
  const char *name = req->name && *req->name ? req->name : req->uri;
  g_autoptr (GError) local = NULL;
  FerryStream *stream;

  init_debug ();
  /* What the uri says; what its host resolves to is checked before each connection */
  if (!ferry_sources_check_uri (ferry_app_get_config (app), req->uri, NULL,
          &local)) {
    GST_WARNING ("refusing to pull %s: %s", req->uri, local->message);
    g_propagate_error (error, g_steal_pointer (&local));
    return NULL;
  }
  if (!check_conflicts (reg, req->uri, name, error) || !admit_pull (app, error))
    return NULL;
  forget_old_ended (app);
  stream = ferry_stream_new (app, req->uri, name, req->has_audio,
      req->has_video, req->record);
  if (req->on_demand)
    ferry_stream_set_on_demand (stream);
  if (req->has_transcode)
    ferry_stream_set_transcode (stream, req->transcode);
  ferry_registry_add (reg, stream);
  ferry_metrics_count (ferry_app_get_metrics (app), FERRY_METRIC_PULLS);
  if (!ferry_stream_start (stream, &local)) {
    GST_WARNING ("pull %s: %s", req->uri, local->message);
    ferry_stream_shutdown (stream, FERRY_STREAM_FAILED, local->message,
        "FAILED", local->message);
  }
  GST_INFO ("pull %s as '%s' started by %s", req->uri, name,
      req->on_demand ? "a viewer" : "REST");
  return stream;
}

/* Whether a viewer's stream @name is an rtmp(s):// uri (to pull on demand), not a name. */
gboolean
ferry_pull_name_is_uri (const char *name)
{
  return g_ascii_strncasecmp (name, "rtmp://", 7) == 0
      || g_ascii_strncasecmp (name, "rtmps://", 8) == 0;
}

/* Returns: (transfer full) (nullable): the PENDING, PLAYING or reconnecting pull of @uri. */
static FerryStream *
find_active (FerryApp *app, const char *uri)
{
  FerryStream *s = ferry_registry_lookup_uri (ferry_app_get_registry (app),
      uri);

  if (s != NULL && !ferry_stream_is_active (s))
    g_clear_object (&s);
  return s;
}

/* [limits] viewers and viewers-per-stream, for a viewer of @stream (NULL: of a pull not
 * made yet). */
static gboolean
admit_viewer (FerryApp *app, FerryStream *stream, GError **error)
{
  const FerryConfig *config = ferry_app_get_config (app);
  g_autoptr (GPtrArray) all = ferry_registry_list (ferry_app_get_registry (app));
  guint total = 0;

  for (guint i = 0; i < all->len; i++)
    total += ferry_stream_get_n_viewers (g_ptr_array_index (all, i));
  if (total >= config->max_viewers)
    g_set_error (error, FERRY_ERROR, FERRY_ERROR_LIMIT,
        "the server has %u viewers, its limit ([limits] viewers)", total);
  else if (stream
      && ferry_stream_get_n_viewers (stream) >= config->max_stream_viewers)
    g_set_error (error, FERRY_ERROR, FERRY_ERROR_LIMIT,
        "the stream has %u viewers, its limit ([limits] viewers-per-stream)",
        ferry_stream_get_n_viewers (stream));
  else
    return TRUE;
  ferry_metrics_count (ferry_app_get_metrics (app), FERRY_METRIC_LIMITED);
  return FALSE;
}

/**
 * ferry_pull_for_viewer:
 * @on_demand: (out): set when there is no pull yet but @name is an rtmp(s):// uri Ferry
 *   can pull: the caller starts one with ferry_pull_start_on_demand() once the viewer
 *   itself is acceptable (so that a refused offer never leaves a pull without viewers)
 *
 * What a viewer that asks for @name plays: the active pull named @name, or the active pull
 * of the uri @name. Returns: (transfer full) (nullable): the pull; NULL with @on_demand, or
 * NULL with @error: "Stream not found", why the uri cannot be pulled, or a [limits] one.
 */
FerryStream *
ferry_pull_for_viewer (FerryApp *app, const char *name, gboolean *on_demand,
    GError **error)
{
  FerryStream *s;

  *on_demand = FALSE;
  if (name == NULL || *name == '\0') {
    g_set_error_literal (error, FERRY_ERROR, FERRY_ERROR_NOT_FOUND,
        "Stream not found");
    return NULL;
  }
  s = ferry_registry_lookup_name (ferry_app_get_registry (app), name);
  if (s != NULL && ferry_stream_is_active (s)) {
    if (!admit_viewer (app, s, error))
      g_clear_object (&s);
    return s;
  }
  g_clear_object (&s);
  if (!ferry_pull_name_is_uri (name)) {
    g_set_error_literal (error, FERRY_ERROR, FERRY_ERROR_NOT_FOUND,
        "Stream not found");
    return NULL;
  }
  if ((s = find_active (app, name)) != NULL) {
    if (!admit_viewer (app, s, error))
      g_clear_object (&s);
    return s;
  }
  if (!ferry_ingest_uri_is_supported (name, error)
      || !admit_viewer (app, NULL, error))
    return NULL;
  *on_demand = TRUE;
  return NULL;
}

/* Returns: (transfer full) (nullable): a new on-demand pull of @uri, named by it. */
FerryStream *
ferry_pull_start_on_demand (FerryApp *app, const char *uri, GError **error)
{
  FerryPullRequest req = {
    .uri = uri,
    .name = uri,
    .has_audio = TRUE,
    .has_video = TRUE,
    .on_demand = TRUE,
  };
  return ferry_pull_start (app, &req, error);
}

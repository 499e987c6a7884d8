/* ferry-debug.c — see ferry-debug.h. */
#include "ferry-debug.h"
#include "ferry-logging.h"
#include "ferry-errors.h"
#include "ferry-json.h"
#include "ferry-log.h"
#include "ferry-registry.h"
#include "ferry-rest.h"

#include <string.h>

FERRY_DEBUG_CATEGORY_LAZY (ferry_debug_debug, "ferry-debug",
    "Ferry debugging endpoints");
#define GST_CAT_DEFAULT ferry_debug_debug

/* dot gets this long to lay out a graph (a pipeline with a few hundred viewers takes
 * seconds); then it is killed and the request answered 500. */
#define DOT_TIMEOUT_S 20

/* ---- the pipeline graph ------------------------------------------------- */

typedef struct
{
  SoupServerMessage *msg;       /* owned; NULL once the client is gone */
  GCancellable *cancel;         /* owned */
  GSource *timeout;             /* owned */
} DotJob;

static void
dot_job_free (DotJob *job)
{
  if (job->msg)
    g_signal_handlers_disconnect_by_data (job->msg, job);
  g_clear_object (&job->msg);
  if (job->timeout)
    g_source_destroy (job->timeout);
  g_clear_pointer (&job->timeout, g_source_unref);
  g_clear_object (&job->cancel);
  g_free (job);
}

/* Main context: the client went away while dot ran. */
static void
dot_msg_finished_cb (SoupServerMessage *msg, gpointer data)
{
  DotJob *job = data;

  g_signal_handlers_disconnect_by_data (msg, job);
  g_clear_object (&job->msg);
  g_cancellable_cancel (job->cancel);
}

static gboolean
dot_timeout_cb (gpointer data)
{
  DotJob *job = data;

  GST_WARNING ("dot took longer than %d s; stopping it", DOT_TIMEOUT_S);
  g_cancellable_cancel (job->cancel);
  return G_SOURCE_REMOVE;
}

/* Main context: dot finished, failed or was cancelled (communicate_async then kills it). */
static void
dot_done_cb (GObject *source, GAsyncResult *res, gpointer data)
{
  DotJob *job = data;
  GSubprocess *proc = G_SUBPROCESS (source);
  g_autoptr (GBytes) out = NULL;
  g_autoptr (GBytes) err = NULL;
  g_autoptr (GError) error = NULL;
  gboolean ok = g_subprocess_communicate_finish (proc, res, &out, &err, &error);

  if (!ok)
    g_subprocess_force_exit (proc);
  if (job->msg) {
    if (ok && g_subprocess_get_if_exited (proc)
        && g_subprocess_get_exit_status (proc) == 0) {
      soup_server_message_set_status (job->msg, 200, NULL);
      soup_server_message_set_response (job->msg, "image/svg+xml",
          SOUP_MEMORY_COPY, g_bytes_get_data (out, NULL),
          g_bytes_get_size (out));
    } else {
      g_autofree char *text = g_strdup_printf ("dot failed: %s",
          error ? error->message : err ? (const char *) g_bytes_get_data (err,
              NULL) : "no output");
      ferry_rest_reply_error_literal (job->msg, FERRY_ERROR_INTERNAL,
          g_strstrip (text));
    }
    soup_server_message_unpause (job->msg);
  }
  dot_job_free (job);
}

/* Main context: runs graphviz's dot on @dot and answers @msg with the SVG, without
 * blocking the main loop (GSubprocess; its output is read asynchronously). */
static void
reply_svg (SoupServerMessage *msg, const char *dot)
{
  g_autofree char *path = g_find_program_in_path ("dot");
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) proc = NULL;
  g_autoptr (GBytes) in = NULL;
  DotJob *job;

  if (path == NULL) {
    ferry_rest_reply_error_literal (msg, FERRY_ERROR_NOT_IMPLEMENTED,
        "SVG needs graphviz's dot, which is not installed (apt-get install "
        "graphviz); without ?format=svg the dot text is served");
    return;
  }
  proc = g_subprocess_new (G_SUBPROCESS_FLAGS_STDIN_PIPE
      | G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
      &error, path, "-Tsvg", NULL);
  if (proc == NULL) {
    ferry_rest_reply_error_literal (msg, FERRY_ERROR_INTERNAL, error->message);
    return;
  }
  job = g_new0 (DotJob, 1);
  job->msg = g_object_ref (msg);
  job->cancel = g_cancellable_new ();
  job->timeout = g_timeout_source_new_seconds (DOT_TIMEOUT_S);
  g_source_set_callback (job->timeout, dot_timeout_cb, job, NULL);
  g_source_attach (job->timeout, g_main_context_get_thread_default ());
  g_signal_connect (msg, "finished", G_CALLBACK (dot_msg_finished_cb), job);
  soup_server_message_pause (msg);
  in = g_bytes_new (dot, strlen (dot));
  g_subprocess_communicate_async (proc, in, job->cancel, dot_done_cb, job);
}

/**
 * ferry_debug_pipeline:
 * GET /rest-api/debug/pipeline/{name}: the stream's pipeline as Graphviz dot (all
 * details: caps, states, element properties), or SVG with ?format=svg.
 */
void
ferry_debug_pipeline (FerryApp *app, SoupServerMessage *msg, const char *name,
    GHashTable *query)
{
  g_autoptr (FerryStream) stream = NULL;
  const char *format = query ? g_hash_table_lookup (query, "format") : NULL;
  GstElement *pipeline;
  g_autofree char *dot = NULL;

  init_debug ();
  stream = ferry_registry_lookup_name (ferry_app_get_registry (app), name);
  pipeline = stream ? ferry_stream_get_pipeline (stream) : NULL;
  if (pipeline == NULL) {
    ferry_rest_reply_error_literal (msg, FERRY_ERROR_NOT_FOUND,
        stream ? "the pull has ended: it has no pipeline"
        : "no pull has this localStreamName");
    return;
  }
  if (format && !g_str_equal (format, "dot") && !g_str_equal (format, "svg")) {
    ferry_rest_reply_error_literal (msg, FERRY_ERROR_INVALID_PARAMETER,
        "format must be dot or svg");
    return;
  }
  dot = gst_debug_bin_to_dot_data (GST_BIN (pipeline), GST_DEBUG_GRAPH_SHOW_ALL);
  if (format && g_str_equal (format, "svg")) {
    reply_svg (msg, dot);
    return;
  }
  soup_server_message_set_status (msg, 200, NULL);
  soup_server_message_set_response (msg, "text/vnd.graphviz; charset=utf-8",
      SOUP_MEMORY_TAKE, g_steal_pointer (&dot), strlen (dot));
}

/* ---- one stream's log level --------------------------------------------- */

/* GStreamer filters by category threshold before any log function runs, so raising one
 * stream raises the categories; this filter then passes what the original thresholds
 * would have (for every object) and the extra only for objects inside a raised pipeline. */
static struct
{
  GRWLock lock;                 /* guards the two tables (read by the log filter) */
  GHashTable *raised;           /* GstElement* pipeline → GstDebugLevel; not refs */
  GHashTable *base;             /* GstDebugCategory* → its original threshold */
  GstDebugLevel base_default;   /* for categories registered after the first raise */
  gboolean installed;           /* the filter replaces gst_debug_log_default */
} log_state;

/* Any thread. The top of @object's hierarchy, read without the object locks (the thread
 * that logs may hold one of them; a parent pointer is read atomically enough for a
 * filter, and a raised pipeline outlives its elements' messages). */
static gpointer
top_of (GObject *object)
{
  GstObject *o;

  if (object == NULL || !GST_IS_OBJECT (object))
    return NULL;
  o = GST_OBJECT (object);
  while (GST_OBJECT_PARENT (o) != NULL)
    o = GST_OBJECT_PARENT (o);
  return o;
}

/* Any thread: whether a message passes the per-stream levels (ferry_logging_set_filter). */
static gboolean
log_filter (GstDebugCategory *category, GstDebugLevel level, GObject *object)
{
  gboolean pass;

  g_rw_lock_reader_lock (&log_state.lock);
  {
    gpointer base = NULL;
    GstDebugLevel threshold = log_state.base_default;
    gpointer raised;

    if (g_hash_table_lookup_extended (log_state.base, category, NULL, &base))
      threshold = GPOINTER_TO_INT (base);
    pass = level <= threshold;
    if (!pass && (raised = g_hash_table_lookup (log_state.raised,
                top_of (object))))
      pass = level <= (GstDebugLevel) GPOINTER_TO_INT (raised);
  }
  g_rw_lock_reader_unlock (&log_state.lock);
  return pass;
}

/* Main context, writer lock held: every category at the highest wanted level. */
static void
apply_thresholds (void)
{
  GstDebugLevel top = GST_LEVEL_NONE;
  GHashTableIter it;
  gpointer value;
  GSList *cats = gst_debug_get_all_categories ();

  g_hash_table_iter_init (&it, log_state.raised);
  while (g_hash_table_iter_next (&it, NULL, &value))
    top = MAX (top, (GstDebugLevel) GPOINTER_TO_INT (value));
  for (GSList *l = cats; l; l = l->next) {
    GstDebugCategory *cat = l->data;
    gpointer base;
    if (!g_hash_table_lookup_extended (log_state.base, cat, NULL, &base)) {
      base = GINT_TO_POINTER (gst_debug_category_get_threshold (cat));
      g_hash_table_insert (log_state.base, cat, base);
    }
    gst_debug_category_set_threshold (cat, MAX ((GstDebugLevel)
            GPOINTER_TO_INT (base), top));
  }
  g_slist_free (cats);
}

/* Main context: sets @pipeline's level (GST_LEVEL_NONE: back to normal). Returns the
 * number of categories now raised for it. */
static guint
set_level (GstElement *pipeline, GstDebugLevel level)
{
  guint n;

  g_rw_lock_writer_lock (&log_state.lock);
  if (log_state.base == NULL) {
    log_state.base = g_hash_table_new (NULL, NULL);
    log_state.raised = g_hash_table_new (NULL, NULL);
    log_state.base_default = gst_debug_get_default_threshold ();
  }
  if (level == GST_LEVEL_NONE)
    g_hash_table_remove (log_state.raised, pipeline);
  else
    g_hash_table_insert (log_state.raised, pipeline, GINT_TO_POINTER (level));
  apply_thresholds ();
  n = g_hash_table_size (log_state.base);
  g_rw_lock_writer_unlock (&log_state.lock);

  /* GStreamer's log function list must not change while threads log (1.22 frees the
   * old list under a thread walking it: CI saw a wild jump); Ferry's writer, installed
   * once at start (ferry-logging.c), asks the filter instead. It stays once set. */
  if (!log_state.installed && level != GST_LEVEL_NONE) {
    ferry_logging_set_filter (log_filter);
    log_state.installed = TRUE;
  }
  return level == GST_LEVEL_NONE ? 0 : n;
}

/**
 * ferry_debug_forget_pipeline:
 * Main context: @pipeline is going away; its raised level ends with it (a new pipeline at
 * the same address must not inherit it).
 */
void
ferry_debug_forget_pipeline (GstElement *pipeline)
{
  gboolean had;

  if (log_state.raised == NULL)
    return;
  g_rw_lock_reader_lock (&log_state.lock);
  had = g_hash_table_contains (log_state.raised, pipeline);
  g_rw_lock_reader_unlock (&log_state.lock);
  if (had)
    set_level (pipeline, GST_LEVEL_NONE);
}

/* GStreamer's level names, as GST_DEBUG takes them (gst_debug_level_get_name() pads them
 * for its log columns). Indexed by GstDebugLevel; 8 has no name. */
static const char *const level_names[] = {
  "none", "error", "warning", "fixme", "info", "debug", "log", "trace", NULL,
  "memdump"
};

static gboolean
parse_level (JsonNode *node, GstDebugLevel *out)
{
  if (node && JSON_NODE_HOLDS_VALUE (node)
      && json_node_get_value_type (node) == G_TYPE_INT64) {
    gint64 v = json_node_get_int (node);
    if (v < GST_LEVEL_NONE || v > GST_LEVEL_MEMDUMP || level_names[v] == NULL)
      return FALSE;
    *out = v;
    return TRUE;
  }
  if (node && JSON_NODE_HOLDS_VALUE (node)
      && json_node_get_value_type (node) == G_TYPE_STRING) {
    const char *s = json_node_get_string (node);
    for (guint l = 0; l < G_N_ELEMENTS (level_names); l++)
      if (level_names[l] && g_ascii_strcasecmp (s, level_names[l]) == 0) {
        *out = l;
        return TRUE;
      }
  }
  return FALSE;
}

/**
 * ferry_debug_parse_log:
 * @name: (out) (transfer none): borrowed from @body
 *
 * Validates a POST /rest-api/debug/log body. Pure.
 * Returns: FALSE with @error (FERRY_ERROR_INVALID_PARAMETER or _MISSING_PARAMETER).
 */
gboolean
ferry_debug_parse_log (JsonObject *body, const char **name,
    GstDebugLevel *level, GError **error)
{
  *name = NULL;
  if (!ferry_json_get_string (body, "localStreamName", name, error))
    return FALSE;
  if (*name == NULL) {
    g_set_error_literal (error, FERRY_ERROR, FERRY_ERROR_MISSING_PARAMETER,
        "localStreamName is required");
    return FALSE;
  }
  if (!parse_level (json_object_get_member (body, "level"), level)) {
    g_set_error_literal (error, FERRY_ERROR, FERRY_ERROR_INVALID_PARAMETER,
        "level must be 0-9 or a GStreamer level name (none, error, warning, "
        "fixme, info, debug, log, trace, memdump)");
    return FALSE;
  }
  return TRUE;
}

/**
 * ferry_debug_log:
 * POST /rest-api/debug/log {"localStreamName": name, "level": "debug" | 5 | "none"}.
 */
void
ferry_debug_log (FerryApp *app, SoupServerMessage *msg, JsonObject *body)
{
  const char *name = NULL;
  g_autoptr (FerryStream) stream = NULL;
  g_autoptr (GError) error = NULL;
  GstDebugLevel level;
  GstElement *pipeline;
  guint n;

  init_debug ();
  if (!ferry_debug_parse_log (body, &name, &level, &error)) {
    ferry_rest_reply_error (msg, error);
    return;
  }
  stream = ferry_registry_lookup_name (ferry_app_get_registry (app), name);
  pipeline = stream && ferry_stream_is_active (stream)
      ? ferry_stream_get_pipeline (stream) : NULL;
  if (pipeline == NULL) {
    ferry_rest_reply_error_literal (msg, FERRY_ERROR_NOT_FOUND,
        "no active pull has this localStreamName");
    return;
  }
  n = set_level (pipeline, level);
  GST_INFO ("stream %s: log level %s (%u categories)", name,
      level_names[level], n);
  {
    g_autoptr (JsonBuilder) b = json_builder_new ();
    g_autoptr (JsonNode) root = NULL;
    char *out;

    json_builder_begin_object (b);
    json_builder_set_member_name (b, "localStreamName");
    json_builder_add_string_value (b, name);
    json_builder_set_member_name (b, "level");
    json_builder_add_string_value (b, level_names[level]);
    json_builder_end_object (b);
    root = json_builder_get_root (b);
    out = ferry_json_to_string (root);
    soup_server_message_set_status (msg, 200, NULL);
    soup_server_message_set_response (msg, "application/json",
        SOUP_MEMORY_TAKE, out, strlen (out));
  }
}

/* ferry-logging.c — see ferry-logging.h. */
#include "ferry-logging.h"

#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

static gboolean journal;        /* set once by ferry_logging_init(), before any thread */

/* syslog(3) priorities journald files entries under. */
static const char *
priority_of (GstDebugLevel level)
{
  switch (level) {
    case GST_LEVEL_ERROR:
      return G_STRINGIFY (LOG_ERR);
    case GST_LEVEL_WARNING:
      return G_STRINGIFY (LOG_WARNING);
    case GST_LEVEL_FIXME:
      return G_STRINGIFY (LOG_NOTICE);
    case GST_LEVEL_INFO:
      return G_STRINGIFY (LOG_INFO);
    default:
      return G_STRINGIFY (LOG_DEBUG);
  }
}

/* The object's path ("/ferry-<id>/viewer-3-<mediaSessionId>/webrtc"), and the stream and
 * viewer it belongs to, from the names Ferry gives the bins on its path: the pipeline is
 * "ferry-<localMediaSessionId>" (ferry_stream_start), a viewer's bin
 * "viewer-<serial>-<mediaSessionId>" (ferry-viewer.c). (transfer full) strings or NULL.
 *
 * Names and parents are read without the object locks, as GStreamer's own log does
 * (GST_DEBUG_PAD_NAME): a message is often logged with its object's lock held, and
 * taking it here would deadlock. The logged object keeps its parents alive meanwhile. */
static void
ids_of (GObject *object, char **path, char **stream, char **viewer)
{
  GString *p;

  *path = *stream = *viewer = NULL;
  if (object == NULL)
    return;
  if (!GST_IS_OBJECT (object)) {
    *path = g_strdup (G_OBJECT_TYPE_NAME (object));
    return;
  }
  p = g_string_new (NULL);
  for (GstObject *o = GST_OBJECT (object); o; o = GST_OBJECT_PARENT (o)) {
    const char *name = GST_OBJECT_NAME (o) ? GST_OBJECT_NAME (o) : "?";

    g_string_prepend (p, name);
    g_string_prepend_c (p, GST_IS_PAD (object) && o == GST_OBJECT (object) ? '.' : '/');
    if (*viewer == NULL && GST_IS_BIN (o) && g_str_has_prefix (name, "viewer-")) {
      const char *dash = strchr (name + 7, '-');
      *viewer = g_strdup (dash ? dash + 1 : name);
    }
    if (GST_OBJECT_PARENT (o) == NULL && GST_IS_PIPELINE (o)
        && g_str_has_prefix (name, "ferry-"))
      *stream = g_strdup (name + 6);
  }
  *path = g_string_free (p, FALSE);
}

static void
journal_write (GstDebugCategory *category, GstDebugLevel level,
    const gchar *file, const gchar *function, gint line, GObject *object,
    GstDebugMessage *message)
{
  g_autofree char *stream = NULL, *viewer = NULL, *path = NULL;
  g_autofree char *line_text = g_strdup_printf ("%d", line);
  g_autofree char *level_name = g_strstrip (g_strdup (gst_debug_level_get_name
          (level)));
  const char *text = gst_debug_message_get (message);
  GLogField fields[12];
  gsize n = 0;

#define FIELD(k, v) G_STMT_START { if (v) { fields[n].key = k; fields[n].value = v; \
      fields[n].length = -1; n++; } } G_STMT_END
  ids_of (object, &path, &stream, &viewer);
  FIELD ("MESSAGE", text ? text : "");
  FIELD ("PRIORITY", priority_of (level));
  FIELD ("SYSLOG_IDENTIFIER", "ferry");
  FIELD ("GST_CATEGORY", gst_debug_category_get_name (category));
  FIELD ("GST_LEVEL", level_name);
  FIELD ("GST_OBJECT", path);
  FIELD ("FERRY_STREAM_ID", stream);
  FIELD ("FERRY_VIEWER", viewer);
  FIELD ("CODE_FILE", file);
  FIELD ("CODE_LINE", line_text);
  FIELD ("CODE_FUNC", function);
#undef FIELD
  /* a full or absent journal socket: the entry goes to stderr instead of being lost */
  if (g_log_writer_journald (G_LOG_LEVEL_MESSAGE, fields, n, NULL)
      != G_LOG_WRITER_HANDLED)
    gst_debug_log_default (category, level, file, function, line, object,
        message, NULL);
}

static gpointer filter_fn;       /* FerryLogFilter or NULL; atomic */

/* Any thread: the one log function Ferry installs, at start, for good. */
static void
ferry_log (GstDebugCategory *category, GstDebugLevel level,
    const gchar *file, const gchar *function, gint line, GObject *object,
    GstDebugMessage *message, gpointer user_data)
{
  FerryLogFilter filter = (FerryLogFilter) g_atomic_pointer_get (&filter_fn);

  if (filter && !filter (category, level, object))
    return;
  if (journal)
    journal_write (category, level, file, function, line, object, message);
  else
    gst_debug_log_default (category, level, file, function, line, object,
        message, NULL);
}

/**
 * ferry_logging_init:
 * At start, once, before any other thread: Ferry's log function replaces GStreamer's
 * default (the list of log functions is never changed again: GStreamer 1.22 is not safe
 * against that while other threads log). Under systemd's journal it writes structured
 * entries, elsewhere GStreamer's own format.
 */
void
ferry_logging_init (void)
{
  journal = g_log_writer_is_journald (fileno (stderr));
  gst_debug_add_log_function (ferry_log, NULL, NULL);
  gst_debug_remove_log_function (gst_debug_log_default);
}

/**
 * ferry_logging_set_filter:
 * Any thread: from now on a message is written only when @filter passes it (NULL: all).
 */
void
ferry_logging_set_filter (FerryLogFilter filter)
{
  g_atomic_pointer_set (&filter_fn, (gpointer) filter);
}


/* ferry-metrics.c — see ferry-metrics.h. Main context only. */
#include "ferry-metrics.h"
#include "ferry-app.h"
#include "ferry-auth.h"
#include "ferry-errors.h"
#include "ferry-registry.h"
#include "ferry-rest.h"
#include "ferry-signalling.h"

#include <gst/gst.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

struct _FerryMetrics
{
  FerryApp *app;                /* borrowed: owns this */
  guint64 counts[FERRY_METRIC_N];
  GHashTable *responses;        /* (server << 16 | status) → guint64*, owned */
  gint64 start_real_us;         /* wall-clock time the app started */
};

FerryMetrics *
ferry_metrics_new (FerryApp *app)
{
  FerryMetrics *self = g_new0 (FerryMetrics, 1);

  self->app = app;
  self->responses = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  self->start_real_us = g_get_real_time ();
  return self;
}

void
ferry_metrics_free (FerryMetrics *self)
{
  if (self == NULL)
    return;
  g_hash_table_unref (self->responses);
  g_free (self);
}

void
ferry_metrics_count (FerryMetrics *self, FerryMetric which)
{
  if (self != NULL)
    self->counts[which]++;
}

enum
{ SERVER_REST, SERVER_WS };

/* Main context: every response either server sent, by status. */
static void
request_finished_cb (SoupServer *server, SoupServerMessage *msg,
    gpointer user_data)
{
  FerryMetrics *self = user_data;
  guint which = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (server),
          "ferry-metrics-server"));
  guint status = soup_server_message_get_status (msg);
  gpointer key;
  guint64 *n;

  /* libsoup reports a connection that closed before a response as status 0 */
  if (status == 0 || status > 999)
    return;
  key = GUINT_TO_POINTER (which << 16 | status);
  n = g_hash_table_lookup (self->responses, key);
  if (n == NULL) {
    n = g_new0 (guint64, 1);
    g_hash_table_insert (self->responses, key, n);
  }
  (*n)++;
}

/* ---- rendering ----------------------------------------------------------- */

static void
family (GString *out, const char *name, const char *type, const char *help)
{
  g_string_append_printf (out, "# HELP %s %s\n# TYPE %s %s\n", name, help,
      name, type);
}

/* A label value, escaped as the text format wants (backslash, quote, newline). */
static void
append_label (GString *out, const char *value)
{
  for (const char *c = value; *c; c++) {
    if (*c == '\\' || *c == '"')
      g_string_append_c (out, '\\');
    if (*c == '\n')
      g_string_append (out, "\\n");
    else
      g_string_append_c (out, *c);
  }
}

typedef struct
{
  const char *name;
  FerryStreamStats st;
} Row;

static void
stream_family (GString *out, GArray *rows, const char *name,
    const char *type, const char *help, gsize offset, gsize size)
{
  family (out, name, type, help);
  for (guint i = 0; i < rows->len; i++) {
    Row *r = &g_array_index (rows, Row, i);
    const guint8 *field = (const guint8 *) &r->st + offset;
    guint64 v = size == sizeof (guint64) ? *(const guint64 *) field
        : *(const guint *) field;

    g_string_append_printf (out, "%s{stream=\"", name);
    append_label (out, r->name);
    g_string_append_printf (out, "\"} %" G_GUINT64_FORMAT "\n", v);
  }
}

#define STREAM_FAMILY(out, rows, name, type, help, field) \
  stream_family (out, rows, name, type, help, \
      G_STRUCT_OFFSET (FerryStreamStats, field), \
      sizeof (((FerryStreamStats *) 0)->field))

static void
render_streams (FerryMetrics *self, GString *out)
{
  g_autoptr (GPtrArray) streams =
      ferry_registry_list (ferry_app_get_registry (self->app));
  g_autoptr (GArray) rows = g_array_new (FALSE, TRUE, sizeof (Row));
  guint viewers = 0;
  /* The statuses find_all shows: a reconnecting pull is PENDING there, and counted so
   * here (listing RECONNECTING too gave two ferry_pulls{status="PENDING"} samples, which
   * Prometheus refuses as a duplicate series). */
  static const FerryStreamStatus statuses[] = {
    FERRY_STREAM_PENDING, FERRY_STREAM_PLAYING, FERRY_STREAM_FAILED,
    FERRY_STREAM_STOPPED
  };

  for (guint i = 0; i < streams->len; i++) {
    Row r = { ferry_stream_get_name (g_ptr_array_index (streams, i)) };
    ferry_stream_get_stats (g_ptr_array_index (streams, i), &r.st);
    viewers += r.st.viewers;
    g_array_append_val (rows, r);
  }

  family (out, "ferry_pulls", "gauge", "Pulls listed in find_all, by status.");
  for (guint s = 0; s < G_N_ELEMENTS (statuses); s++) {
    guint n = 0;
    for (guint i = 0; i < rows->len; i++)
      n += g_str_equal (ferry_stream_status_to_string (g_array_index (rows,
                  Row, i).st.status), ferry_stream_status_to_string (statuses[s]));
    g_string_append_printf (out, "ferry_pulls{status=\"%s\"} %u\n",
        ferry_stream_status_to_string (statuses[s]), n);
  }
  family (out, "ferry_viewers", "gauge",
      "Viewers attached to a stream or waiting for it.");
  g_string_append_printf (out, "ferry_viewers %u\n", viewers);

  family (out, "ferry_stream_status", "gauge",
      "1 for each pull, labelled with its status.");
  for (guint i = 0; i < rows->len; i++) {
    Row *r = &g_array_index (rows, Row, i);
    g_string_append (out, "ferry_stream_status{stream=\"");
    append_label (out, r->name);
    g_string_append_printf (out, "\",status=\"%s\"} 1\n",
        ferry_stream_status_to_string (r->st.status));
  }
  STREAM_FAMILY (out, rows, "ferry_stream_received_bytes_total", "counter",
      "Media bytes received from the origin (FLV tag payloads), over reconnects.",
      bytes_in);
  STREAM_FAMILY (out, rows, "ferry_stream_bitrate_in_bits", "gauge",
      "Bit rate received from the origin over the last second.", bitrate_in);
  STREAM_FAMILY (out, rows, "ferry_stream_video_frames_total", "counter",
      "Video frames received from the origin.", video_frames_in);
  STREAM_FAMILY (out, rows, "ferry_stream_audio_frames_total", "counter",
      "Audio frames received from the origin.", audio_frames_in);
  STREAM_FAMILY (out, rows, "ferry_stream_reconnects_total", "counter",
      "Source outages the stream recovered from.", reconnects);
  STREAM_FAMILY (out, rows, "ferry_stream_viewers", "gauge",
      "Viewers of the stream (attached and waiting).", viewers);
  STREAM_FAMILY (out, rows, "ferry_stream_sent_bytes_total", "counter",
      "RTP bytes sent to the stream's viewers (before SRTP; viewers that left "
      "included).", bytes_out);
  STREAM_FAMILY (out, rows, "ferry_stream_transcoding", "gauge",
      "1 while viewers get re-encoded video.", transcoding);
  STREAM_FAMILY (out, rows, "ferry_stream_recording", "gauge",
      "1 while the stream is being recorded.", recording);
}

static gint
compare_keys (gconstpointer a, gconstpointer b)
{
  return (gint) GPOINTER_TO_UINT (a) - (gint) GPOINTER_TO_UINT (b);
}

static void
render_server (FerryMetrics *self, GString *out)
{
  static const struct
  {
    const char *name, *help;
  } counters[FERRY_METRIC_N] = {
    {"ferry_pulls_started_total", "Pulls started, over REST or on demand."},
    {"ferry_pull_failures_total", "Pulls that turned FAILED."},
    {"ferry_viewers_started_total", "Viewers that joined a pull (WCS or WHEP)."},
    {"ferry_viewer_failures_total", "Viewers that ended FAILED."},
    {"ferry_websocket_sessions_total", "WCS WebSocket connections accepted."},
    {"ferry_limited_total", "Requests refused by a [limits] setting."},
  };
  g_autoptr (GList) keys = NULL;

  for (guint i = 0; i < FERRY_METRIC_N; i++) {
    family (out, counters[i].name, "counter", counters[i].help);
    g_string_append_printf (out, "%s %" G_GUINT64_FORMAT "\n",
        counters[i].name, self->counts[i]);
  }
  family (out, "ferry_websocket_sessions", "gauge",
      "WCS WebSocket connections open now.");
  g_string_append_printf (out, "ferry_websocket_sessions %u\n",
      ferry_signalling_get_n_clients (ferry_app_get_signalling (self->app)));

  family (out, "ferry_http_responses_total", "counter",
      "HTTP responses sent, by server (rest: REST API, WHEP, player; ws: the "
      "WebSocket port) and status code.");
  keys = g_list_sort (g_hash_table_get_keys (self->responses), compare_keys);
  for (GList *l = keys; l; l = l->next) {
    guint key = GPOINTER_TO_UINT (l->data);
    guint64 *n = g_hash_table_lookup (self->responses, l->data);
    g_string_append_printf (out, "ferry_http_responses_total{server=\"%s\","
        "code=\"%u\"} %" G_GUINT64_FORMAT "\n",
        (key >> 16) == SERVER_WS ? "ws" : "rest", key & 0xffff, *n);
  }
}

/* Field @index (1-based, after the command name) of /proc/self/stat. */
static guint64
proc_stat_field (guint index)
{
  g_autofree char *text = NULL;
  const char *p;

  if (!g_file_get_contents ("/proc/self/stat", &text, NULL, NULL))
    return 0;
  /* the command name is in parentheses and may contain anything */
  p = strrchr (text, ')');
  if (p == NULL)
    return 0;
  p++;
  /* after ")" comes " " and field 3 (state) */
  for (guint field = 3; field < index && p; field++)
    p = strchr (p + 1, ' ');
  return p ? g_ascii_strtoull (p + 1, NULL, 10) : 0;
}

static void
render_process (FerryMetrics *self, GString *out)
{
  struct rusage ru;
  struct rlimit rl;
  g_autofree char *statm = NULL;
  guint64 vsize = 0, rss = 0;
  guint fds = 0;
  GDir *dir;
  long page = sysconf (_SC_PAGESIZE);

  getrusage (RUSAGE_SELF, &ru);
  family (out, "process_cpu_seconds_total", "counter",
      "User and system CPU time spent, in seconds.");
  g_string_append_printf (out, "process_cpu_seconds_total %.3f\n",
      ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec
      + ru.ru_stime.tv_usec / 1e6);

  if (g_file_get_contents ("/proc/self/statm", &statm, NULL, NULL)) {
    char *end = NULL;
    vsize = g_ascii_strtoull (statm, &end, 10) * page;
    rss = g_ascii_strtoull (end, NULL, 10) * page;
  }
  family (out, "process_resident_memory_bytes", "gauge",
      "Resident memory size in bytes.");
  g_string_append_printf (out, "process_resident_memory_bytes %"
      G_GUINT64_FORMAT "\n", rss);
  family (out, "process_virtual_memory_bytes", "gauge",
      "Virtual memory size in bytes.");
  g_string_append_printf (out, "process_virtual_memory_bytes %"
      G_GUINT64_FORMAT "\n", vsize);

  dir = g_dir_open ("/proc/self/fd", 0, NULL);
  if (dir) {
    while (g_dir_read_name (dir))
      fds++;
    g_dir_close (dir);
    fds--;                      /* the directory's own */
  }
  family (out, "process_open_fds", "gauge", "Open file descriptors.");
  g_string_append_printf (out, "process_open_fds %u\n", fds);
  if (getrlimit (RLIMIT_NOFILE, &rl) == 0) {
    family (out, "process_max_fds", "gauge",
        "Limit of open file descriptors.");
    g_string_append_printf (out, "process_max_fds %" G_GUINT64_FORMAT "\n",
        (guint64) rl.rlim_cur);
  }
  family (out, "process_threads", "gauge", "Threads of the process.");
  g_string_append_printf (out, "process_threads %" G_GUINT64_FORMAT "\n",
      proc_stat_field (20));
  family (out, "process_start_time_seconds", "gauge",
      "Start time of the process since the Unix epoch, in seconds.");
  g_string_append_printf (out, "process_start_time_seconds %.3f\n",
      self->start_real_us / 1e6);
}

/**
 * ferry_metrics_render:
 * Returns: (transfer full): the exposition text.
 */
char *
ferry_metrics_render (FerryMetrics *self)
{
  GString *out = g_string_sized_new (4096);

  render_streams (self, out);
  render_server (self, out);
  render_process (self, out);
  return g_string_free (out, FALSE);
}

/* Main context: GET /metrics on the REST server. */
static void
metrics_cb (SoupServer *server, SoupServerMessage *msg, const char *path,
    GHashTable *query, gpointer user_data)
{
  FerryMetrics *self = user_data;
  const char *method = soup_server_message_get_method (msg);
  char *text;

  if (!g_str_equal (method, "GET") && !g_str_equal (method, "HEAD")) {
    soup_message_headers_replace (soup_server_message_get_response_headers
        (msg), "Allow", "GET, HEAD");
    ferry_rest_reply_error_literal (msg, FERRY_ERROR_METHOD_NOT_ALLOWED,
        "only GET is allowed here");
    return;
  }
  if (!ferry_auth_rest (ferry_app_get_config (self->app), msg))
    return;
  text = ferry_metrics_render (self);
  soup_server_message_set_status (msg, 200, NULL);
  soup_server_message_set_response (msg,
      "text/plain; version=0.0.4; charset=utf-8", SOUP_MEMORY_TAKE, text,
      strlen (text));
}

/**
 * ferry_metrics_install:
 * Serves /metrics on @rest and counts the responses of both servers.
 */
void
ferry_metrics_install (FerryMetrics *self, SoupServer *rest, SoupServer *ws)
{
  g_object_set_data (G_OBJECT (rest), "ferry-metrics-server",
      GUINT_TO_POINTER (SERVER_REST));
  g_object_set_data (G_OBJECT (ws), "ferry-metrics-server",
      GUINT_TO_POINTER (SERVER_WS));
  g_signal_connect (rest, "request-finished",
      G_CALLBACK (request_finished_cb), self);
  g_signal_connect (ws, "request-finished", G_CALLBACK (request_finished_cb),
      self);
  soup_server_add_handler (rest, "/metrics", metrics_cb, self, NULL);
}

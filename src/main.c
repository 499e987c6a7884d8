/* main.c — the ferry executable: options, GStreamer init, plugin check, the main loop.
 * Everything runs on the default main context; SIGINT/SIGTERM end the loop and the app
 * stops its streams before exit.
 */
#include <glib-unix.h>
#include <gst/gst.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "ferry-logging.h"
#include "ferry-app.h"
#include "ferry-auth.h"
#include "ferry-build-config.h"
#include "ferry-plugins.h"

/* What the command line said, kept for SIGHUP: the configuration is built again from it. */
typedef struct
{
  const char *config_path;
  char **sets;
  const char *listen;
  char **ice;
  gint rest_port, ws_port;
  const char *log_file;
  FerryApp *app;
} Options;

/* The configuration: built-in defaults, then the file, then --set, then the shorthands.
 * Returns: (transfer full) (nullable) */
static FerryConfig *
build_config (const Options *o, GError **error)
{
  g_autoptr (FerryConfig) config = ferry_config_new_default ();

  if (o->config_path && !ferry_config_load_file (config, o->config_path, error))
    return NULL;
  for (char **s = o->sets; s && *s; s++)
    if (!ferry_config_set (config, *s, error))
      return NULL;
  if (o->sets && !ferry_config_validate (config, "--set", error))
    return NULL;
  if ((o->rest_port != -1 && (o->rest_port < 0 || o->rest_port > 65535))
      || (o->ws_port != -1 && (o->ws_port < 0 || o->ws_port > 65535))) {
    g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
        "ports must be between 0 and 65535");
    return NULL;
  }
  if (o->rest_port != -1)
    config->rest_port = o->rest_port;
  if (o->ws_port != -1)
    config->ws_port = o->ws_port;
  if (o->listen) {
    g_free (config->listen_address);
    config->listen_address = g_strdup (o->listen);
  }
  if (o->ice) {
    g_strfreev (config->ice_addresses);
    config->ice_addresses = g_strdupv (o->ice);
  }
  return g_steal_pointer (&config);
}

/* --log-file: stdout and stderr (GStreamer's log, GLib's messages) go to @path, opened
 * for appending; SIGHUP opens it again, so that logrotate can move it away. */
static gboolean
open_log (const char *path, GError **error)
{
  int fd = open (path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);

  if (fd < 0) {
    int saved = errno;
    g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved),
        "--log-file %s: %s", path, g_strerror (saved));
    return FALSE;
  }
  if (dup2 (fd, STDOUT_FILENO) < 0 || dup2 (fd, STDERR_FILENO) < 0) {
    int saved = errno;
    close (fd);
    g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved),
        "--log-file %s: %s", path, g_strerror (saved));
    return FALSE;
  }
  close (fd);
  return TRUE;
}

static gboolean
quit_cb (gpointer loop)
{
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

/* Main context, on SIGHUP: the log file is opened again, the configuration read again and
 * what can change at run time taken over (ferry_app_reload). A bad file changes nothing. */
static gboolean
reload_cb (gpointer data)
{
  const Options *o = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (FerryConfig) fresh = NULL;

  if (o->log_file && !open_log (o->log_file, &error)) {
    g_printerr ("ferry: SIGHUP: %s (logging goes on where it was)\n",
        error->message);
    g_clear_error (&error);
  }
  fresh = build_config (o, &error);
  if (fresh == NULL || !ferry_app_reload (o->app, fresh, &error))
    g_printerr ("ferry: SIGHUP: configuration not reloaded: %s\n",
        error->message);
  else
    g_printerr ("ferry: SIGHUP: configuration reloaded\n");
  return G_SOURCE_CONTINUE;
}

static void
add_signal (GMainContext *ctx, int signum, GSourceFunc cb, gpointer data)
{
  GSource *s = g_unix_signal_source_new (signum);
  g_source_set_callback (s, cb, data, NULL);
  g_source_attach (s, ctx);
  g_source_unref (s);
}

int
main (int argc, char **argv)
{
  g_autofree char *config_path = NULL;
  g_autofree char *listen = NULL;
  g_auto (GStrv) ice = NULL;
  g_auto (GStrv) sets = NULL;
  gint rest_port = -1, ws_port = -1;
  gboolean version = FALSE, check_config = FALSE;
  g_autofree char *log_file = NULL;
  Options opts = { 0 };
  GOptionEntry entries[] = {
    {"config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path,
        "Read settings from FILE (see data/ferry.conf)", "FILE"},
    {"rest-port", 0, 0, G_OPTION_ARG_INT, &rest_port,
        "Port of the REST API and player page (default 8081)", "PORT"},
    {"ws-port", 0, 0, G_OPTION_ARG_INT, &ws_port,
        "Port of the WCS WebSocket signalling (default 8080)", "PORT"},
    {"listen", 0, 0, G_OPTION_ARG_STRING, &listen,
        "Address the HTTP servers bind to (default 127.0.0.1)", "ADDR"},
    {"ice-address", 0, 0, G_OPTION_ARG_STRING_ARRAY, &ice,
        "Gather ICE candidates only on ADDR (repeatable)", "ADDR"},
    {"set", 's', 0, G_OPTION_ARG_STRING_ARRAY, &sets,
        "Set any configuration key over the file (repeatable; e.g. "
        "--set pull.idle-timeout=5)", "GROUP.KEY=VALUE"},
    {"log-file", 0, 0, G_OPTION_ARG_FILENAME, &log_file,
        "Write the log (stdout and stderr) to FILE; SIGHUP reopens it", "FILE"},
    {"check-config", 0, 0, G_OPTION_ARG_NONE, &check_config,
        "Check the configuration (file and --set) and exit: 0 if valid", NULL},
    {"version", 'V', 0, G_OPTION_ARG_NONE, &version,
        "Print the version and exit", NULL},
    {NULL}
  };
  g_autoptr (GOptionContext) octx = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (FerryConfig) config = NULL;
  g_autoptr (FerryApp) app = NULL;
  g_autoptr (GMainLoop) loop = NULL;

  /* Origins are reached directly. GIO's default proxy resolver is libproxy, whose
   * lookups run on GIO's worker threads for every rtmp2src connection; under quick
   * reconnects they corrupted the heap (measured: a crash within seconds at 100
   * attempts/s; none in 1 477 attempts with this set). An explicit setting wins. */
  g_setenv ("GIO_USE_PROXY_RESOLVER", "dummy", FALSE);

  octx = g_option_context_new ("- pull RTMP streams and serve them over WebRTC");
  g_option_context_set_summary (octx,
      "Ferry pulls RTMP streams on REST requests (WCS-compatible API) and plays "
      "them\nto browsers over WebRTC (WCS WebSocket protocol).");
  g_option_context_add_main_entries (octx, entries, NULL);
  g_option_context_add_group (octx, gst_init_get_option_group ());
  if (!g_option_context_parse (octx, &argc, &argv, &error)) {
    g_printerr ("ferry: %s\nTry 'ferry --help'.\n", error->message);
    return EXIT_FAILURE;
  }
  if (version) {
    g_print ("ferry %s (GStreamer %s)\n", FERRY_VERSION,
        gst_version_string ());
    return EXIT_SUCCESS;
  }

  opts.config_path = config_path;
  opts.sets = sets;
  opts.listen = listen;
  opts.ice = ice;
  opts.rest_port = rest_port;
  opts.ws_port = ws_port;
  config = build_config (&opts, &error);
  if (config == NULL) {
    g_printerr ("ferry: %s\n", error->message);
    return EXIT_FAILURE;
  }
  if (!ferry_auth_check_config (config, &error)) {
    g_printerr ("ferry: %s\n", error->message);
    return EXIT_FAILURE;
  }
  if (config->tls_cert_file) {
    /* the files are read at start; say now whether they can be */
    g_autoptr (GTlsCertificate) cert =
        ferry_config_load_certificate (config, &error);
    if (cert == NULL) {
      g_printerr ("ferry: %s\n", error->message);
      return EXIT_FAILURE;
    }
  }
  if (check_config) {
    g_print ("ferry: configuration OK (%s%s)\n", config_path ? config_path
        : "built-in defaults", sets ? " and --set" : "");
    return EXIT_SUCCESS;
  }

  if (log_file && !open_log (log_file, &error)) {
    g_printerr ("ferry: %s\n", error->message);
    return EXIT_FAILURE;
  }
  /* stderr is final now: the journal's, a file's or a terminal's */
  ferry_logging_init ();
  if (!ferry_plugins_check (&error)) {
    g_printerr ("ferry: %s\n", error->message);
    return EXIT_FAILURE;
  }

  app = ferry_app_new (g_steal_pointer (&config));
  if (!ferry_app_start (app, &error)) {
    g_printerr ("ferry: %s\n", error->message);
    return EXIT_FAILURE;
  }
  g_printerr ("ferry %s: REST API and player on http://%s:%u/, "
      "WebSocket on ws://%s:%u/\n", FERRY_VERSION,
      ferry_app_get_config (app)->listen_address,
      ferry_app_get_rest_port (app),
      ferry_app_get_config (app)->listen_address,
      ferry_app_get_ws_port (app));
  if (ferry_app_get_https_port (app))
    g_printerr ("ferry %s: with TLS: https://%s:%u/, wss://%s:%u/\n",
        FERRY_VERSION, ferry_app_get_config (app)->listen_address,
        ferry_app_get_https_port (app),
        ferry_app_get_config (app)->listen_address,
        ferry_app_get_wss_port (app));

  loop = g_main_loop_new (NULL, FALSE);
  opts.log_file = log_file;
  opts.app = app;
  add_signal (NULL, SIGINT, quit_cb, loop);
  add_signal (NULL, SIGTERM, quit_cb, loop);
  add_signal (NULL, SIGHUP, reload_cb, &opts);
  g_main_loop_run (loop);

  g_printerr ("ferry: shutting down\n");
  ferry_app_stop (app);
  g_clear_object (&app);
  gst_deinit ();
  return EXIT_SUCCESS;
}

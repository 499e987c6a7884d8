/* main.c — the ferry executable: options, GStreamer init, plugin check, the main loop.
 * Everything runs on the default main context; SIGINT/SIGTERM end the loop and the app
 * stops its streams before exit.
 */
#include <glib-unix.h>
#include <gst/gst.h>
#include <stdlib.h>

#include "ferry-app.h"
#include "ferry-auth.h"
#include "ferry-build-config.h"
#include "ferry-plugins.h"

static gboolean
quit_cb (gpointer loop)
{
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

static void
add_signal (GMainContext *ctx, int signum, GMainLoop *loop)
{
  GSource *s = g_unix_signal_source_new (signum);
  g_source_set_callback (s, quit_cb, loop, NULL);
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

  config = ferry_config_new_default ();
  if (config_path && !ferry_config_load_file (config, config_path, &error)) {
    g_printerr ("ferry: %s\n", error->message);
    return EXIT_FAILURE;
  }
  for (char **s = sets; s && *s; s++) {
    if (!ferry_config_set (config, *s, &error)) {
      g_printerr ("ferry: %s\n", error->message);
      return EXIT_FAILURE;
    }
  }
  if (sets && !ferry_config_validate (config, "--set", &error)) {
    g_printerr ("ferry: %s\n", error->message);
    return EXIT_FAILURE;
  }
  if ((rest_port != -1 && (rest_port < 0 || rest_port > 65535))
      || (ws_port != -1 && (ws_port < 0 || ws_port > 65535))) {
    g_printerr ("ferry: ports must be between 0 and 65535\n");
    return EXIT_FAILURE;
  }
  if (rest_port != -1)
    config->rest_port = rest_port;
  if (ws_port != -1)
    config->ws_port = ws_port;
  if (listen) {
    g_free (config->listen_address);
    config->listen_address = g_steal_pointer (&listen);
  }
  if (ice) {
    g_strfreev (config->ice_addresses);
    config->ice_addresses = g_steal_pointer (&ice);
  }

  if (!ferry_auth_check_config (config, &error)) {
    g_printerr ("ferry: %s\n", error->message);
    return EXIT_FAILURE;
  }
  if (check_config) {
    g_print ("ferry: configuration OK (%s%s)\n", config_path ? config_path
        : "built-in defaults", sets ? " and --set" : "");
    return EXIT_SUCCESS;
  }

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

  loop = g_main_loop_new (NULL, FALSE);
  add_signal (NULL, SIGINT, loop);
  add_signal (NULL, SIGTERM, loop);
  g_main_loop_run (loop);

  g_printerr ("ferry: shutting down\n");
  ferry_app_stop (app);
  g_clear_object (&app);
  gst_deinit ();
  return EXIT_SUCCESS;
}

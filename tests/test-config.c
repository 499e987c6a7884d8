/* Unit tests for ferry-config.c. */
#include <glib/gstdio.h>
#include <gst/gst.h>
#include "ferry-config.h"

#include <string.h>
#include <unistd.h>

static char *
write_tmp (const char *text)
{
  g_autoptr (GError) error = NULL;
  char *path = NULL;
  int fd = g_file_open_tmp ("ferry-test-XXXXXX.conf", &path, &error);
  g_assert_no_error (error);
  close (fd);
  g_assert_true (g_file_set_contents (path, text, -1, NULL));
  return path;
}

static void
test_defaults (void)
{
  g_autoptr (FerryConfig) c = ferry_config_new_default ();
  g_assert_cmpuint (c->rest_port, ==, 8081);
  g_assert_cmpuint (c->ws_port, ==, 8080);
  g_assert_cmpstr (c->listen_address, ==, "127.0.0.1");
  g_assert_null (c->ice_addresses);
}

static void
test_load (void)
{
  g_autofree char *path = write_tmp ("[server]\nrest-port = 9081\n"
      "listen = 0.0.0.0\n[webrtc]\nice-addresses = 127.0.0.1;10.0.0.1\n"
      "ice-timeout = 7\nice-tcp = true\nport-min = 40000\nport-max = 40009\n"
      "public-addresses = 203.0.113.7\nstun-server =\n");
  g_autoptr (FerryConfig) c = ferry_config_new_default ();
  g_autoptr (GError) error = NULL;

  g_assert_true (ferry_config_load_file (c, path, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (c->rest_port, ==, 9081);
  g_assert_cmpuint (c->ws_port, ==, 8080);
  g_assert_cmpstr (c->listen_address, ==, "0.0.0.0");
  g_assert_cmpuint (g_strv_length (c->ice_addresses), ==, 2);
  g_assert_cmpstr (c->ice_addresses[1], ==, "10.0.0.1");
  g_assert_cmpuint (c->ice_timeout_s, ==, 7);
  g_assert_true (c->ice_tcp);
  g_assert_cmpuint (c->port_min, ==, 40000);
  g_assert_cmpuint (c->port_max, ==, 40009);
  g_assert_cmpstr (c->public_addresses[0], ==, "203.0.113.7");
  g_assert_null (c->stun_server);     /* empty = none */
  g_unlink (path);
}

static void
test_shipped_config (void)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "..", "data",
      "ferry.conf", NULL);
  g_autoptr (FerryConfig) c = ferry_config_new_default ();
  g_autoptr (GError) error = NULL;

  g_assert_true (ferry_config_load_file (c, path, &error));
  g_assert_no_error (error);
  g_assert_null (c->ice_addresses);
  /* The shipped file documents the built-in defaults. */
  {
    g_autoptr (FerryConfig) d = ferry_config_new_default ();
    g_assert_cmpint (c->reconnect, ==, d->reconnect);
    g_assert_cmpuint (c->reconnect_initial_ms, ==, d->reconnect_initial_ms);
    g_assert_cmpuint (c->reconnect_max_ms, ==, d->reconnect_max_ms);
    g_assert_cmpuint (c->reconnect_attempts, ==, d->reconnect_attempts);
    g_assert_cmpuint (c->stall_timeout_s, ==, d->stall_timeout_s);
    g_assert_cmpuint (c->grace_s, ==, d->grace_s);
    g_assert_cmpstr (c->transcode_policy, ==, d->transcode_policy);
    g_assert_cmpstr (c->transcode_preset, ==, d->transcode_preset);
    g_assert_cmpuint (c->transcode_quality, ==, d->transcode_quality);
    g_assert_cmpuint (c->transcode_max_kbps, ==, d->transcode_max_kbps);
  }
}

static void
test_reconnect_keys (void)
{
  g_autofree char *path = write_tmp ("[pull]\nreconnect = false\n"
      "reconnect-initial-ms = 250\nreconnect-max-ms = 4000\n"
      "reconnect-attempts = 7\nstall-timeout = 3\ngrace-period = 0\n");
  g_autofree char *bad = write_tmp ("[pull]\nreconnect-initial-ms = 5\n");
  g_autoptr (FerryConfig) c = ferry_config_new_default ();
  g_autoptr (FerryConfig) c2 = ferry_config_new_default ();
  g_autoptr (GError) error = NULL;

  g_assert_true (c->reconnect);
  g_assert_cmpuint (c->grace_s, ==, 10);
  g_assert_true (ferry_config_load_file (c, path, &error));
  g_assert_no_error (error);
  g_assert_false (c->reconnect);
  g_assert_cmpuint (c->reconnect_initial_ms, ==, 250);
  g_assert_cmpuint (c->reconnect_max_ms, ==, 4000);
  g_assert_cmpuint (c->reconnect_attempts, ==, 7);
  g_assert_cmpuint (c->stall_timeout_s, ==, 3);
  g_assert_cmpuint (c->grace_s, ==, 0);
  /* Below the 10 ms floor: refused with the key named. */
  g_assert_false (ferry_config_load_file (c2, bad, &error));
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "reconnect-initial-ms"));
  g_unlink (path);
  g_unlink (bad);
}

static void
test_transcode_keys (void)
{
  g_autofree char *path = write_tmp ("[transcode]\npolicy = Never\n"
      "preset = ultrafast\nquality = 30\nmax-bitrate-kbps = 1500\n");
  g_autoptr (FerryConfig) c = ferry_config_new_default ();
  g_autoptr (GError) error = NULL;

  g_assert_cmpstr (c->transcode_policy, ==, "auto");
  g_assert_true (ferry_config_load_file (c, path, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (c->transcode_policy, ==, "Never");  /* case-insensitive */
  g_assert_cmpstr (c->transcode_preset, ==, "ultrafast");
  g_assert_cmpuint (c->transcode_quality, ==, 30);
  g_assert_cmpuint (c->transcode_max_kbps, ==, 1500);
  g_unlink (path);
}

static void
test_errors (void)
{
  const char *bad[] = {
    "[server]\nrest-prot = 1\n",        /* unknown key */
    "[nope]\nx = 1\n",          /* unknown group */
    "[server]\nrest-port = 70000\n",    /* out of range */
    "[server]\nrest-port = eighty\n",   /* not a number */
    "[webrtc]\nice-tcp = maybe\n",      /* not a boolean */
    "[webrtc]\nport-min = 40000\n",     /* a range needs both ends */
    "[webrtc]\nport-min = 40010\nport-max = 40000\n",
    "[transcode]\npolicy = sometimes\n",      /* not a policy */
    "[transcode]\npolicy =\n",
    "[transcode]\npreset = quick\n",  /* not an x264 preset */
    "[transcode]\nquality = 51\n",
    "not a key file",
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autofree char *path = write_tmp (bad[i]);
    g_autoptr (FerryConfig) c = ferry_config_new_default ();
    g_autoptr (GError) error = NULL;
    g_assert_false (ferry_config_load_file (c, path, &error));
    g_assert_nonnull (error);
    /* The message names the file, so an operator knows where to look. */
    g_assert_true (strstr (error->message, path) != NULL);
    g_unlink (path);
  }
}

/* Messages point at the line; --set takes any key, checked as in a file. */
static void
test_lines_and_set (void)
{
  g_autofree char *path = write_tmp ("# Ferry\n[server]\nrest-port = 8081\n\n[pull]\n"
      "idle-timeout = 3\nstall-timeout = soon\n");
  g_autofree char *want = g_strdup_printf ("%s:7: [pull] stall-timeout must be", path);
  g_autoptr (FerryConfig) c = ferry_config_new_default ();
  g_autoptr (GError) error = NULL;

  g_assert_false (ferry_config_load_file (c, path, &error));
  g_assert_true (g_str_has_prefix (error->message, want));
  g_clear_error (&error);
  g_unlink (path);

  g_assert_true (ferry_config_set (c, "pull.idle-timeout=7", &error));
  g_assert_no_error (error);
  g_assert_cmpuint (c->idle_timeout_s, ==, 7);
  g_assert_true (ferry_config_set (c, "webrtc.stun-server=stun://127.0.0.1:3478", &error));
  g_assert_cmpstr (c->stun_server, ==, "stun://127.0.0.1:3478");
  g_assert_true (ferry_config_set (c, "pull.tls-verify=false", &error));
  g_assert_false (c->tls_verify);
  g_assert_false (ferry_config_set (c, "pull.idle-timeout=x", &error));
  g_assert_cmpstr (error->message, ==, "--set pull.idle-timeout: [pull] idle-timeout must be a whole number from 0 to 3600");
  g_clear_error (&error);
  g_assert_false (ferry_config_set (c, "pull.idle-timout=1", &error));
  g_assert_cmpstr (error->message, ==, "--set pull.idle-timout: unknown key [pull] idle-timout");
  g_clear_error (&error);
  g_assert_false (ferry_config_set (c, "idle-timeout=1", &error));
  g_clear_error (&error);
  g_assert_true (ferry_config_set (c, "webrtc.port-min=40000", &error));
  g_assert_false (ferry_config_validate (c, "--set", &error));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  gst_init (&argc, &argv);
  g_test_add_func ("/config/defaults", test_defaults);
  g_test_add_func ("/config/load", test_load);
  g_test_add_func ("/config/shipped", test_shipped_config);
  g_test_add_func ("/config/errors", test_errors);
  g_test_add_func ("/config/lines-and-set", test_lines_and_set);
  g_test_add_func ("/config/reconnect", test_reconnect_keys);
  g_test_add_func ("/config/transcode", test_transcode_keys);
  return g_test_run ();
}

/* Unit tests for [sources] (ferry-sources.h, docs/security.md#sources): private ranges,
 * the uri check, host/port/scheme lists, resolved addresses, config validation. */
#include <gst/gst.h>
#include "ferry-config.h"
#include "ferry-errors.h"
#include "ferry-sources.h"

static gboolean
is_private (const char *text)
{
  g_autoptr (GInetAddress) a = g_inet_address_new_from_string (text);
  g_assert_nonnull (a);
  return ferry_sources_address_is_private (a);
}

static void
test_private_ranges (void)
{
  const char *inside[] = { "127.0.0.1", "127.255.0.9", "10.1.2.3", "172.16.0.1",
    "172.31.255.255", "192.168.1.1", "100.64.0.1", "169.254.169.254", "0.0.0.0",
    "224.0.0.1", "255.255.255.255", "::1", "::", "fe80::1", "fc00::1",
    "fd12:3456::1", "ff02::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1",
    "64:ff9b::a00:1", "::127.0.0.1"
  };
  const char *outside[] = { "8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1",
    "193.0.0.1", "2001:4860:4860::8888", "::ffff:8.8.8.8", "64:ff9b::808:808"
  };

  for (guint i = 0; i < G_N_ELEMENTS (inside); i++)
    g_assert_true (is_private (inside[i]) || (g_printerr ("%s\n", inside[i]), 0));
  for (guint i = 0; i < G_N_ELEMENTS (outside); i++)
    g_assert_false (is_private (outside[i]) && (g_printerr ("%s\n", outside[i]), 1));
}

/* The verdict on @uri: "ok", "resolve:HOST" or the error code name. */
static char *
verdict (const FerryConfig *config, const char *uri)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *host = NULL;

  if (!ferry_sources_check_uri (config, uri, &host, &error))
    return g_strdup (ferry_error_code_name (error));
  return host ? g_strdup_printf ("resolve:%s", host) : g_strdup ("ok");
}

#define ASSERT_VERDICT(config, uri, expect) G_STMT_START {          \
    g_autofree char *v_ = verdict (config, uri);                   \
    g_assert_cmpstr (v_, ==, expect);                              \
  } G_STMT_END

static void
test_defaults (void)
{
  g_autoptr (FerryConfig) c = ferry_config_new_default ();

  /* listen = 127.0.0.1 (default) and allow-private = auto: anything goes */
  g_assert_true (ferry_sources_allow_private (c));
  ASSERT_VERDICT (c, "rtmp://127.0.0.1/live/a", "ok");
  ASSERT_VERDICT (c, "rtmp://localhost/live/a", "ok");
  ASSERT_VERDICT (c, "rtmps://origin.example.com/live/a", "ok");
  /* listening on every interface: private origins are refused */
  g_free (c->listen_address);
  c->listen_address = g_strdup ("0.0.0.0");
  g_assert_false (ferry_sources_allow_private (c));
  ASSERT_VERDICT (c, "rtmp://127.0.0.1/live/a", "source_forbidden");
  ASSERT_VERDICT (c, "rtmp://[::1]:1935/live/a", "source_forbidden");
  ASSERT_VERDICT (c, "rtmp://10.0.0.7:1935/live/a", "source_forbidden");
  ASSERT_VERDICT (c, "rtmp://[::ffff:192.168.0.1]/live/a", "source_forbidden");
  ASSERT_VERDICT (c, "rtmp://8.8.8.8/live/a", "ok");
  /* names are decided by what they resolve to, before each connection */
  ASSERT_VERDICT (c, "rtmp://LocalHost./live/a", "resolve:localhost");
  ASSERT_VERDICT (c, "rtmp://127.1/live/a", "resolve:127.1");
  ASSERT_VERDICT (c, "rtmp://origin.example.com/live/a",
      "resolve:origin.example.com");
  g_free (c->allow_private);
  c->allow_private = g_strdup ("true");
  ASSERT_VERDICT (c, "rtmp://127.0.0.1/live/a", "ok");
  ASSERT_VERDICT (c, "rtmp://localhost/live/a", "ok");
}

static void
test_lists (void)
{
  g_autoptr (FerryConfig) c = ferry_config_new_default ();

  c->source_schemes = g_strsplit ("rtmps", ";", -1);
  ASSERT_VERDICT (c, "rtmp://8.8.8.8/live/a", "source_forbidden");
  ASSERT_VERDICT (c, "rtmps://8.8.8.8/live/a", "ok");
  g_clear_pointer (&c->source_schemes, g_strfreev);

  /* ports: the scheme's default counts when the uri has none */
  c->source_ports = g_strsplit ("1935;8000-8010", ";", -1);
  ASSERT_VERDICT (c, "rtmp://8.8.8.8/live/a", "ok");
  ASSERT_VERDICT (c, "rtmp://8.8.8.8:8005/live/a", "ok");
  ASSERT_VERDICT (c, "rtmp://8.8.8.8:8011/live/a", "source_forbidden");
  ASSERT_VERDICT (c, "rtmps://8.8.8.8/live/a", "source_forbidden");
  g_clear_pointer (&c->source_ports, g_strfreev);

  /* hosts: names, *.domains, addresses and ranges; an entry also lets a private
   * address through with allow-private = false */
  g_free (c->allow_private);
  c->allow_private = g_strdup ("false");
  c->source_hosts = g_strsplit ("origin.example.com;*.cdn.example.net;"
      "10.1.0.0/16;127.0.0.1", ";", -1);
  ASSERT_VERDICT (c, "rtmp://origin.example.com/live/a", "ok");
  ASSERT_VERDICT (c, "rtmp://ORIGIN.example.com./live/a", "ok");
  ASSERT_VERDICT (c, "rtmp://a.cdn.example.net/live/a", "ok");
  ASSERT_VERDICT (c, "rtmp://cdn.example.net/live/a", "resolve:cdn.example.net");
  ASSERT_VERDICT (c, "rtmp://evilcdn.example.net/live/a",
      "resolve:evilcdn.example.net");
  ASSERT_VERDICT (c, "rtmp://10.1.2.3/live/a", "ok");
  ASSERT_VERDICT (c, "rtmp://127.0.0.1/live/a", "ok");
  ASSERT_VERDICT (c, "rtmp://127.0.0.2/live/a", "source_forbidden");
  ASSERT_VERDICT (c, "rtmp://8.8.8.8/live/a", "source_forbidden");
  /* names only: nothing to resolve, another name is refused at once */
  g_strfreev (c->source_hosts);
  c->source_hosts = g_strsplit ("origin.example.com", ";", -1);
  ASSERT_VERDICT (c, "rtmp://other.example.com/live/a", "source_forbidden");
  ASSERT_VERDICT (c, "rtmp://origin.example.com.evil.org/live/a",
      "source_forbidden");
}

static GList *
addresses (const char *first, ...)
{
  GList *list = NULL;
  va_list args;

  va_start (args, first);
  for (const char *a = first; a; a = va_arg (args, const char *))
    list = g_list_append (list, g_inet_address_new_from_string (a));
  va_end (args);
  return list;
}

static void
test_resolved (void)
{
  g_autoptr (FerryConfig) c = ferry_config_new_default ();
  g_autoptr (GError) error = NULL;
  GList *list;

  g_free (c->allow_private);
  c->allow_private = g_strdup ("false");
  list = addresses ("93.184.216.34", NULL);
  g_assert_true (ferry_sources_check_addresses (c, "example.com", list, NULL));
  g_resolver_free_addresses (list);
  /* one private address among them is enough to refuse */
  list = addresses ("93.184.216.34", "127.0.0.1", NULL);
  g_assert_false (ferry_sources_check_addresses (c, "localtest.me", list, &error));
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_SOURCE_FORBIDDEN);
  g_assert_nonnull (strstr (error->message, "localtest.me resolves to 127.0.0.1"));
  g_clear_error (&error);
  g_resolver_free_addresses (list);
  g_assert_false (ferry_sources_check_addresses (c, "nothing", NULL, NULL));
  /* a range in hosts: every address must be inside */
  c->source_hosts = g_strsplit ("10.1.0.0/16", ";", -1);
  list = addresses ("10.1.9.9", NULL);
  g_assert_true (ferry_sources_check_addresses (c, "origin.lan", list, NULL));
  g_resolver_free_addresses (list);
  list = addresses ("10.1.9.9", "10.2.0.1", NULL);
  g_assert_false (ferry_sources_check_addresses (c, "origin.lan", list, NULL));
  g_resolver_free_addresses (list);
}

static void
test_config (void)
{
  const char *bad[] = { "sources.hosts=10.0.0.0/33", "sources.hosts=a b",
    "sources.ports=0", "sources.ports=2000-1000", "sources.ports=http",
    "sources.schemes=http", "sources.allow-private=maybe"
  };
  const char *good[] = { "sources.hosts=*.example.com;10.0.0.0/8;::1;origin",
    "sources.ports=1935;19350-19360", "sources.schemes=rtmp;RTMPS",
    "sources.allow-private=false"
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autoptr (FerryConfig) c = ferry_config_new_default ();
    g_autoptr (GError) error = NULL;

    g_assert_true (ferry_config_set (c, bad[i], NULL));
    g_assert_false (ferry_config_validate (c, "test", &error));
    g_assert_nonnull (strstr (error->message, "[sources]"));
  }
  for (guint i = 0; i < G_N_ELEMENTS (good); i++) {
    g_autoptr (FerryConfig) c = ferry_config_new_default ();

    g_assert_true (ferry_config_set (c, good[i], NULL));
    g_assert_true (ferry_config_validate (c, "test", NULL));
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/sources/private-ranges", test_private_ranges);
  g_test_add_func ("/sources/defaults", test_defaults);
  g_test_add_func ("/sources/lists", test_lists);
  g_test_add_func ("/sources/resolved", test_resolved);
  g_test_add_func ("/sources/config", test_config);
  return g_test_run ();
}

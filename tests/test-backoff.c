/* Unit tests for the reconnect backoff (ferry_backoff_delay_ms, docs/reconnect.md). */
#include <gst/gst.h>
#include "ferry-outage.h"

static void
test_doubling_and_cap (void)
{
  /* r = 0.999…: the top of each range; r = 0: its bottom (half). */
  const guint expect[] = { 500, 1000, 2000, 4000, 8000, 16000, 30000, 30000 };
  for (guint n = 1; n <= G_N_ELEMENTS (expect); n++) {
    guint hi = ferry_backoff_delay_ms (500, 30000, n, 0.999999);
    guint lo = ferry_backoff_delay_ms (500, 30000, n, 0.0);
    g_assert_cmpuint (lo, ==, expect[n - 1] / 2);
    g_assert_cmpuint (hi, <=, expect[n - 1]);
    g_assert_cmpuint (hi, >=, expect[n - 1] - 1);
  }
}

static void
test_jitter_spreads (void)
{
  /* 1000 draws at attempt 3 (d = 2000 ms) spread over [1000, 2000]. */
  guint lo = G_MAXUINT, hi = 0;
  for (guint i = 0; i < 1000; i++) {
    guint d = ferry_backoff_delay_ms (500, 30000, 3, g_random_double ());
    lo = MIN (lo, d);
    hi = MAX (hi, d);
    g_assert_cmpuint (d, >=, 1000);
    g_assert_cmpuint (d, <=, 2000);
  }
  g_assert_cmpuint (hi - lo, >, 800);
}

static void
test_extremes (void)
{
  /* No overflow at absurd attempt counts; a cap below the initial delay is ignored. */
  g_assert_cmpuint (ferry_backoff_delay_ms (500, 30000, 1000000, 0.0), ==, 15000);
  g_assert_cmpuint (ferry_backoff_delay_ms (3600000, 3600000, 64, 0.0), ==,
      1800000);
  g_assert_cmpuint (ferry_backoff_delay_ms (800, 100, 5, 0.0), ==, 400);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/backoff/doubling-and-cap", test_doubling_and_cap);
  g_test_add_func ("/backoff/jitter", test_jitter_spreads);
  g_test_add_func ("/backoff/extremes", test_extremes);
  return g_test_run ();
}

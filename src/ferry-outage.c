/* ferry-outage.c — see ferry-outage.h. Main context only. */
#include "ferry-outage.h"
#include "ferry-invoke.h"

#include <string.h>

void
ferry_outage_init (FerryOutage *self, GMainContext *ctx)
{
  memset (self, 0, sizeof *self);
  self->ctx = ctx;
}

/* Stops both timers: the stream ended, nothing more will be retried or told. */
void
ferry_outage_cancel (FerryOutage *self)
{
  ferry_clear_source (&self->retry_timer);
  ferry_clear_source (&self->grace_timer);
}

void
ferry_outage_clear (FerryOutage *self)
{
  ferry_outage_cancel (self);
  g_clear_pointer (&self->last_error, g_free);
  g_clear_pointer (&self->began_error, g_free);
}

/**
 * ferry_outage_lost:
 * @reason: the words for `lastError`
 * @clean: the origin ended the stream (rather than an error or a stall)
 * @was_playing: the source delivered until now: this loss begins an outage
 *
 * Counts a failed connection. Returns: the wait in ms before the next attempt, or -1 when
 * the pull should give up (`reconnect = false`, or `reconnect-attempts` used up).
 */
gint
ferry_outage_lost (FerryOutage *self, const FerryConfig *config,
    const char *reason, gboolean clean, gboolean was_playing)
{
  g_free (self->last_error);
  self->last_error = g_strdup (reason);
  /* rtmp2src ends with the same EOS whether the origin unpublished the stream or the
   * connection closed under it. After an unpublish the origin still takes connections
   * (nginx-rtmp holds the player until a publisher comes back); if the very first retry
   * cannot even connect, the origin went away: the outage was a lost connection. */
  if (!was_playing && self->attempt == 1 && self->began_clean
      && g_str_has_prefix (reason, FERRY_OUTAGE_CONNECTION_FAILED)) {
    g_free (self->began_error);
    self->began_error = g_strdup_printf ("lost the connection to the origin "
        "(then %s)", reason);
    self->began_clean = FALSE;
  }
  if (was_playing) {
    g_free (self->began_error);
    self->began_error = g_strdup (reason);
    self->began_clean = clean;
    self->lost_us = g_get_monotonic_time ();
  }
  self->attempt++;
  if (!config->reconnect || (config->reconnect_attempts > 0
          && self->attempt > config->reconnect_attempts))
    return -1;
  return (gint) ferry_backoff_delay_ms (config->reconnect_initial_ms,
      config->reconnect_max_ms, self->attempt, g_random_double ());
}

/* Returns: (transfer full): the pull's `info` while it waits @delay_ms. */
char *
ferry_outage_describe (FerryOutage *self, guint delay_ms)
{
  return g_strdup_printf ("reconnecting (attempt %u in %u ms): %s",
      self->attempt, delay_ms, self->last_error);
}

void
ferry_outage_schedule (FerryOutage *self, guint delay_ms, GSourceFunc retry,
    gpointer data)
{
  ferry_clear_source (&self->retry_timer);
  self->retry_timer = g_timeout_source_new (delay_ms);
  g_source_set_callback (self->retry_timer, retry, data, NULL);
  g_source_attach (self->retry_timer, self->ctx);
}

/* Called first thing by the retry callback. */
void
ferry_outage_retry_fired (FerryOutage *self)
{
  g_clear_pointer (&self->retry_timer, g_source_unref);
}

/**
 * ferry_outage_recovered:
 * The source delivers media again: the failure count restarts and held viewers are
 * released. Returns: how long the outage lasted in ms when @was_outage, else 0.
 */
gint64
ferry_outage_recovered (FerryOutage *self, gboolean was_outage)
{
  self->attempt = 0;
  ferry_clear_source (&self->grace_timer);
  if (!was_outage)
    return 0;
  self->reconnects++;
  return (g_get_monotonic_time () - self->lost_us) / 1000;
}

/* Starts the grace period (if it does not run yet); @expired is called when it ends. */
void
ferry_outage_hold (FerryOutage *self, guint grace_s, GSourceFunc expired,
    gpointer data)
{
  if (self->grace_timer != NULL)
    return;
  self->grace_timer = g_timeout_source_new_seconds (grace_s);
  g_source_set_callback (self->grace_timer, expired, data, NULL);
  g_source_attach (self->grace_timer, self->ctx);
}

void
ferry_outage_release (FerryOutage *self)
{
  ferry_clear_source (&self->grace_timer);
}

/* Called first thing by the grace callback. */
void
ferry_outage_grace_fired (FerryOutage *self)
{
  g_clear_pointer (&self->grace_timer, g_source_unref);
}

/**
 * ferry_outage_viewer_end:
 * @info: (out) (transfer none): the viewer's info
 * Returns: the status held viewers get when the grace period runs out: what began the
 * outage decides (not the failed attempts after it): the origin ending the stream is
 * STOPPED "Stopped by publisher stop", anything else FAILED with the reason.
 */
const char *
ferry_outage_viewer_end (FerryOutage *self, const char **info)
{
  if (self->began_error && self->began_clean) {
    *info = "Stopped by publisher stop";
    return "STOPPED";
  }
  *info = self->began_error ? self->began_error : self->last_error;
  return "FAILED";
}

/* The Ferry extensions of the pull object; @connecting: an attempt is under way. */
void
ferry_outage_add_json (FerryOutage *self, JsonBuilder *b, gboolean connecting)
{
  json_builder_set_member_name (b, "reconnecting");
  json_builder_add_boolean_value (b, self->retry_timer != NULL
      || (self->attempt > 0 && connecting));
  json_builder_set_member_name (b, "reconnectAttempt");
  json_builder_add_int_value (b, self->attempt);
  json_builder_set_member_name (b, "reconnects");
  json_builder_add_int_value (b, self->reconnects);
  json_builder_set_member_name (b, "lastError");
  if (self->last_error)
    json_builder_add_string_value (b, self->last_error);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "outageCause");
  if (self->began_error && (self->retry_timer != NULL || self->attempt > 0))
    json_builder_add_string_value (b, self->began_error);
  else
    json_builder_add_null_value (b);
}

/**
 * ferry_backoff_delay_ms:
 * @attempt: 1 for the first retry
 * @r: a random number in [0, 1)
 * Returns: the wait before @attempt: @initial_ms doubled per attempt up to @max_ms, with
 * "equal jitter" (the upper half is random), so that many pulls of one origin that went
 * down together do not all come back at the same instant.
 */
guint
ferry_backoff_delay_ms (guint initial_ms, guint max_ms, guint attempt, double r)
{
  guint64 d = initial_ms;

  for (guint i = 1; i < attempt && d < max_ms; i++)
    d *= 2;
  d = MIN (d, (guint64) MAX (max_ms, initial_ms));
  return (guint) (d / 2 + (guint64) (r * (double) (d - d / 2)));
}

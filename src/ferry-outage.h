/* ferry-outage.h — FerryOutage: a stream's record of losing its source and the policy for
 * getting it back (docs/reconnect.md): failed attempts in a row, the backoff timer, the
 * grace timer that bounds how long viewers are held, and what began the current outage.
 *
 * A plain struct embedded in FerryStream; the stream decides what a loss is and does the
 * reconnecting, this only counts, times and words it. Main context only.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>
#include "ferry-config.h"

G_BEGIN_DECLS

/* How reasons of failed connections begin (ferry-stream-source.c words them). */
#define FERRY_OUTAGE_CONNECTION_FAILED "origin connection failed: "

typedef struct
{
  GMainContext *ctx;            /* borrowed: the app's */
  guint attempt;                /* failed connections in a row */
  guint reconnects;             /* outages recovered from */
  char *last_error;             /* why the source was last lost */
  char *began_error;            /* why the playing source was lost (the outage began) */
  gboolean began_clean;         /* … and whether the origin ended the stream cleanly */
  gint64 lost_us;               /* monotonic time the playing source was lost */
  GSource *retry_timer;
  GSource *grace_timer;
} FerryOutage;

void ferry_outage_init (FerryOutage *self, GMainContext *ctx);
void ferry_outage_clear (FerryOutage *self);
void ferry_outage_cancel (FerryOutage *self);

gint ferry_outage_lost (FerryOutage *self, const FerryConfig *config,
    const char *reason, gboolean clean, gboolean was_playing);
char *ferry_outage_describe (FerryOutage *self, guint delay_ms);
void ferry_outage_schedule (FerryOutage *self, guint delay_ms,
    GSourceFunc retry, gpointer data);
void ferry_outage_retry_fired (FerryOutage *self);
gint64 ferry_outage_recovered (FerryOutage *self, gboolean was_outage);

void ferry_outage_hold (FerryOutage *self, guint grace_s, GSourceFunc expired,
    gpointer data);
void ferry_outage_release (FerryOutage *self);
void ferry_outage_grace_fired (FerryOutage *self);
const char *ferry_outage_viewer_end (FerryOutage *self, const char **info);

void ferry_outage_add_json (FerryOutage *self, JsonBuilder *b,
    gboolean connecting);

guint ferry_backoff_delay_ms (guint initial_ms, guint max_ms, guint attempt,
    double r);

G_END_DECLS

/* ferry-metrics.h — FerryMetrics: the server's counters and `GET /metrics` in the
 * Prometheus text exposition format (version 0.0.4; docs/metrics.md).
 *
 * Owns: the server-wide counters (pulls, viewers, WebSocket sessions, HTTP responses by
 * status). Per-stream figures are read from the streams at scrape time
 * (ferry_stream_get_stats), process figures from /proc. Labels are bounded: a stream
 * label per listed pull (bounded by [limits] max-pulls), HTTP status codes, the two
 * servers.
 * Owned by FerryApp. Main context only.
 */
#pragma once

#include <libsoup/soup.h>

G_BEGIN_DECLS

typedef struct _FerryApp FerryApp;
typedef struct _FerryMetrics FerryMetrics;

typedef enum
{
  FERRY_METRIC_PULLS,           /* pulls started, over REST or on demand */
  FERRY_METRIC_PULL_FAILURES,   /* pulls that turned FAILED */
  FERRY_METRIC_VIEWERS,         /* viewers that joined a pull (WCS or WHEP) */
  FERRY_METRIC_VIEWER_FAILURES, /* viewers that ended FAILED */
  FERRY_METRIC_WS_SESSIONS,     /* WCS WebSocket connections accepted */
  FERRY_METRIC_LIMITED,         /* requests refused by a [limits] setting */
  FERRY_METRIC_N
} FerryMetric;

FerryMetrics *ferry_metrics_new (FerryApp *app);
void ferry_metrics_free (FerryMetrics *self);
void ferry_metrics_install (FerryMetrics *self, SoupServer *rest,
    SoupServer *ws);
void ferry_metrics_count (FerryMetrics *self, FerryMetric which);
char *ferry_metrics_render (FerryMetrics *self);

G_END_DECLS

/* ferry-app.h — FerryApp, the composition root.
 *
 * Owns: the config, the main context reference, the two SoupServers (REST + player page
 * on one port, WCS WebSocket signalling on another), the stream registry and the
 * signalling endpoint, the metrics. Only this module knows every other one.
 * Runs on: the main context only (the thread that created it).
 * Lifecycle: new → start (binds ports) → … → stop (ends every stream) → unref.
 */
#pragma once

#include <glib-object.h>
#include "ferry-config.h"
#include "ferry-invoke.h"

G_BEGIN_DECLS

#define FERRY_TYPE_APP (ferry_app_get_type ())
G_DECLARE_FINAL_TYPE (FerryApp, ferry_app, FERRY, APP, GObject)

typedef struct _FerryRegistry FerryRegistry;
typedef struct _FerryMetrics FerryMetrics;
typedef struct _FerrySignalling FerrySignalling;

FerryApp *ferry_app_new (FerryConfig *config);
gboolean ferry_app_start (FerryApp *self, GError **error);
void ferry_app_stop (FerryApp *self);

GMainContext *ferry_app_get_context (FerryApp *self);
GThread *ferry_app_get_main_thread (FerryApp *self);
const FerryConfig *ferry_app_get_config (FerryApp *self);
FerryRegistry *ferry_app_get_registry (FerryApp *self);
guint ferry_app_get_rest_port (FerryApp *self);
guint ferry_app_get_ws_port (FerryApp *self);
char **ferry_app_get_public_ips (FerryApp *self);
FerryMetrics *ferry_app_get_metrics (FerryApp *self);
guint ferry_app_get_https_port (FerryApp *self);
guint ferry_app_get_wss_port (FerryApp *self);
gboolean ferry_app_reload (FerryApp *self, FerryConfig *fresh, GError **error);
FerrySignalling *ferry_app_get_signalling (FerryApp *self);

G_END_DECLS

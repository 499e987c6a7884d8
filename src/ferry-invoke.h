/* ferry-invoke.h — hop work to the application's main context.
 *
 * Owns nothing. Callable from any thread (streaming threads, webrtcbin's pc thread).
 * The function always runs later, from an idle source attached to @ctx, never inline:
 * a pad probe or a webrtcbin signal may fire on the main thread itself, and running the
 * callback inline there would re-enter code that holds state (house-style E3).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

void ferry_invoke (GMainContext *ctx, GSourceFunc func, gpointer data,
    GDestroyNotify destroy);
void ferry_clear_source (GSource **source);

/* A programmer-error check that the caller runs on the thread that owns the app. */
#define FERRY_ASSERT_MAIN(app) \
  g_return_if_fail (g_thread_self () == ferry_app_get_main_thread (app))
#define FERRY_ASSERT_MAIN_VAL(app, val) \
  g_return_val_if_fail (g_thread_self () == ferry_app_get_main_thread (app), val)

G_END_DECLS

/* ferry-invoke.c — see ferry-invoke.h. Any thread. */
#include "ferry-invoke.h"

void
ferry_invoke (GMainContext *ctx, GSourceFunc func, gpointer data,
    GDestroyNotify destroy)
{
  GSource *source = g_idle_source_new ();

  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, func, data, destroy);
  g_source_set_static_name (source, "ferry-invoke");
  g_source_attach (source, ctx);
  g_source_unref (source);
}

/* Destroys and drops an owned source (a timer or a bus watch), if any. Main context. */
void
ferry_clear_source (GSource **source)
{
  if (*source == NULL)
    return;
  g_source_destroy (*source);
  g_clear_pointer (source, g_source_unref);
}

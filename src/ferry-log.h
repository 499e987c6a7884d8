/* ferry-log.h — debug categories for modules that are plain functions (no class_init
 * to register them in): the category is created on first use, from any thread. */
#pragma once

#include <gst/gst.h>

#define FERRY_DEBUG_CATEGORY_LAZY(cat, name, description)                \
  GST_DEBUG_CATEGORY_STATIC (cat);                                       \
  static void                                                            \
  init_debug (void)                                                      \
  {                                                                      \
    static gsize once = 0;                                               \
    if (g_once_init_enter (&once)) {                                     \
      GST_DEBUG_CATEGORY_INIT (cat, name, 0, description);               \
      g_once_init_leave (&once, 1);                                      \
    }                                                                    \
  }

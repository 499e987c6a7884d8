/* fuzz-common.h — shared by the libFuzzer targets (docs/fuzzing.md).
 *
 * Each target calls the same product functions the server calls on hostile input,
 * never a server: no sockets, no main loop, no pipeline. A GLib critical is a finding
 * (the product must validate first, house-style §6.4), so criticals abort here as they
 * do under G_DEBUG=fatal-criticals in the test suite.
 */
#pragma once

#include <gst/gst.h>
#include <json-glib/json-glib.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

GQuark ferry_error_quark (void);

/* One-time allocations happen here, before the first input, so that a per-input leak
 * check never sees them: error quarks (GLib grows its quark table in blocks and drops
 * the old block; the first block, from GLib's own constructor, is already unreachable
 * after gst_init() and is what tests/lsan.supp's _dl_init entry covers), and each target
 * also feeds its functions one valid input (plugin loading, GType registration). */
static inline void
fuzz_init (void)
{
  g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
  gst_init (NULL, NULL);
  (void) ferry_error_quark ();
  (void) g_uri_error_quark ();
  (void) json_parser_error_quark ();
}

/* Runs @warmup through the target once (see fuzz_init()). */
#define FUZZ_WARM_UP(warmup)                                               \
  LLVMFuzzerTestOneInput ((const uint8_t *) (warmup), strlen (warmup))

/* Asserts that @text (a reply Ferry would send) is one JSON object. */
#define FUZZ_ASSERT_JSON_OBJECT(text)                                      \
  G_STMT_START {                                                           \
    g_autoptr (GError) fuzz_error_ = NULL;                                 \
    g_autoptr (JsonObject) fuzz_obj_ =                                     \
        ferry_json_parse_object_depth ((text), -1, 256, &fuzz_error_);     \
    if (fuzz_obj_ == NULL)                                                 \
      g_error ("Ferry built invalid JSON: %s\n%s", fuzz_error_->message,   \
          (text));                                                         \
  } G_STMT_END

/* ferry-branch.c — see ferry-branch.h. */
#include "ferry-branch.h"
#include "ferry-log.h"
#include "ferry-errors.h"
#include "ferry-invoke.h"

FERRY_DEBUG_CATEGORY_LAZY (ferry_branch_debug, "ferry-branch", "Ferry tee branches");
#define GST_CAT_DEFAULT ferry_branch_debug

/* Streaming thread (the tee's). The fuse between the tee and a branch: a branch that
 * fails (a full disk under a recorder, a broken socket under a webrtcbin) or flushes (a
 * branch being removed) returns an error or FLUSHING, and tee hands that upstream, which
 * stops the source and every other branch with it (measured: an ENOSPC filesink on one
 * branch stopped a live source after 2 buffers). The branch's own element has posted its
 * ERROR on the bus by then; its owner ends the branch from the main context. */
static GstFlowReturn
fuse_chain (GstPad *pad, GstObject *parent, GstBuffer *buffer)
{
  GstFlowReturn ret = gst_proxy_pad_chain_default (pad, parent, buffer);

  if (ret < GST_FLOW_OK && ret != GST_FLOW_FLUSHING)
    GST_LOG_OBJECT (pad, "branch returned %s; not passed upstream",
        gst_flow_get_name (ret));
  return ret == GST_FLOW_OK ? ret : GST_FLOW_OK;
}

static GstFlowReturn
fuse_chain_list (GstPad *pad, GstObject *parent, GstBufferList *list)
{
  GstFlowReturn ret = gst_proxy_pad_chain_list_default (pad, parent, list);
  return ret == GST_FLOW_OK ? ret : GST_FLOW_OK;
}

/* Streaming thread: a branch that joins mid-GOP starts at the next keyframe instead of
 * decoding (or recording) P-frames without their reference (gst-rtsp-server does the
 * same: drop_delta_units). */
static GstPadProbeReturn
drop_until_keyframe_cb (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);

  if (GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_DELTA_UNIT))
    return GST_PAD_PROBE_DROP;
  return GST_PAD_PROBE_REMOVE;
}

/* Drops buffers into @element's sink pad until the first keyframe. */
void
ferry_branch_drop_until_keyframe (GstElement *element)
{
  GstPad *pad = gst_element_get_static_pad (element, "sink");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, drop_until_keyframe_cb,
      NULL, NULL);
  gst_object_unref (pad);
}

/**
 * ferry_branch_add_sink:
 * Gives @bin a ghost sink pad @name onto @first's sink pad, with the fuse above.
 */
void
ferry_branch_add_sink (GstElement *bin, const char *name, GstElement *first)
{
  GstPad *target = gst_element_get_static_pad (first, "sink");
  GstPad *ghost = gst_ghost_pad_new (name, target);

  init_debug ();
  gst_pad_set_chain_function (ghost, fuse_chain);
  gst_pad_set_chain_list_function (ghost, fuse_chain_list);
  gst_element_add_pad (bin, ghost);
  gst_object_unref (target);
}

/**
 * ferry_branch_attach:
 * @bin: a branch already added to @pipeline with its state synced to the pipeline
 * @bin_pad_name: the bin's ghost sink pad to feed from @tee
 *
 * Returns: (transfer full): the tee's request pad now linked to the bin.
 *
 *   tee ──src_N──▶ [bin: ghost sink ─▶ queue ─▶ …]
 *
 * The bin must already be in its running state: linking first and syncing after let a
 * buffer hit a flushing pad, which paused the source task and froze every viewer about
 * once in 10–15 joins (pitfalls.md). So: add → sync state → request tee pad → link.
 */
GstPad *
ferry_branch_attach (GstElement *pipeline, GstElement *bin, GstElement *tee,
    const char *bin_pad_name, GError **error)
{
  GstPad *tee_pad, *sink;
  GstPadLinkReturn ret;

  init_debug ();
  sink = gst_element_get_static_pad (bin, bin_pad_name);
  if (sink == NULL) {
    g_set_error (error, FERRY_ERROR, FERRY_ERROR_INTERNAL,
        "branch %s has no pad %s", GST_ELEMENT_NAME (bin), bin_pad_name);
    return NULL;
  }
  tee_pad = gst_element_request_pad_simple (tee, "src_%u");
  ret = gst_pad_link (tee_pad, sink);
  gst_object_unref (sink);
  if (ret != GST_PAD_LINK_OK) {
    gst_element_release_request_pad (tee, tee_pad);
    gst_object_unref (tee_pad);
    g_set_error (error, FERRY_ERROR, FERRY_ERROR_INTERNAL,
        "could not link %s to %s: %s", GST_ELEMENT_NAME (tee),
        GST_ELEMENT_NAME (bin), gst_pad_link_get_name (ret));
    return NULL;
  }
  GST_DEBUG_OBJECT (bin, "attached to %s", GST_ELEMENT_NAME (tee));
  return tee_pad;
}

typedef struct
{
  gint refs;
  gint pending;                 /* tee pads not yet unlinked */
  GMainContext *ctx;
  GstElement *pipeline;
  GstElement *bin;
  GPtrArray *tee_pads;          /* GstPad*, owned */
} Detach;

static Detach *
detach_ref (Detach *d)
{
  g_atomic_int_inc (&d->refs);
  return d;
}

static void
detach_unref (gpointer data)
{
  Detach *d = data;
  if (!g_atomic_int_dec_and_test (&d->refs))
    return;
  g_main_context_unref (d->ctx);
  gst_object_unref (d->pipeline);
  gst_object_unref (d->bin);
  g_ptr_array_unref (d->tee_pads);
  g_free (d);
}

/* Main context: every tee pad is unlinked, nothing flows into the bin any more.
 *
 *   tee ──src_N (released)      [bin] → NULL → removed from the pipeline
 */
static gboolean
finish_detach (gpointer data)
{
  Detach *d = data;

  for (guint i = 0; i < d->tee_pads->len; i++) {
    GstPad *pad = g_ptr_array_index (d->tee_pads, i);
    GstElement *tee = gst_pad_get_parent_element (pad);
    if (tee != NULL) {
      /* Releasing does not unref: the array's ref is dropped with the array. */
      gst_element_release_request_pad (tee, pad);
      gst_object_unref (tee);
    }
  }
  gst_element_set_locked_state (d->bin, TRUE);
  gst_element_set_state (d->bin, GST_STATE_NULL);
  if (GST_OBJECT_PARENT (d->bin) == GST_OBJECT (d->pipeline))
    gst_bin_remove (GST_BIN (d->pipeline), d->bin);
  GST_DEBUG_OBJECT (d->bin, "detached");
  return G_SOURCE_REMOVE;
}

/* Streaming thread, or inline in ferry_branch_detach when the pad is idle already.
 * Only unlinks and hops: no state changes, no pad release, no locks (house-style E6). */
static GstPadProbeReturn
unlink_cb (GstPad *tee_pad, GstPadProbeInfo *info, gpointer user_data)
{
  Detach *d = user_data;
  GstPad *peer = gst_pad_get_peer (tee_pad);

  if (peer != NULL) {
    gst_pad_unlink (tee_pad, peer);
    gst_object_unref (peer);
  }
  if (g_atomic_int_dec_and_test (&d->pending))
    ferry_invoke (d->ctx, finish_detach, detach_ref (d), detach_unref);
  return GST_PAD_PROBE_REMOVE;
}

/**
 * ferry_branch_detach:
 * @tee_pads: (transfer none): the pads ferry_branch_attach returned for @bin
 *
 * Unlinks @bin from its tees at a moment no buffer is in flight (IDLE probes), then, back
 * on @ctx, releases the tee pads, sets the bin to NULL and removes it. Returns at once.
 * When the pipeline is not running the work is done here and now.
 */
void
ferry_branch_detach (GMainContext *ctx, GstElement *pipeline, GstElement *bin,
    GPtrArray *tee_pads)
{
  Detach *d;
  GstState state = GST_STATE_NULL;

  init_debug ();
  d = g_new0 (Detach, 1);
  d->refs = 1;
  d->ctx = g_main_context_ref (ctx);
  d->pipeline = gst_object_ref (pipeline);
  d->bin = gst_object_ref (bin);
  d->tee_pads = g_ptr_array_new_with_free_func (gst_object_unref);
  for (guint i = 0; i < tee_pads->len; i++)
    g_ptr_array_add (d->tee_pads,
        gst_object_ref (g_ptr_array_index (tee_pads, i)));
  d->pending = d->tee_pads->len;

  gst_element_get_state (pipeline, &state, NULL, 0);
  if (d->tee_pads->len == 0 || state != GST_STATE_PLAYING) {
    for (guint i = 0; i < d->tee_pads->len; i++) {
      GstPad *pad = g_ptr_array_index (d->tee_pads, i);
      GstPad *peer = gst_pad_get_peer (pad);
      if (peer) {
        gst_pad_unlink (pad, peer);
        gst_object_unref (peer);
      }
    }
    finish_detach (d);
    detach_unref (d);
    return;
  }

  for (guint i = 0; i < d->tee_pads->len; i++)
    gst_pad_add_probe (g_ptr_array_index (d->tee_pads, i),
        GST_PAD_PROBE_TYPE_IDLE, unlink_cb, detach_ref (d), detach_unref);
  detach_unref (d);
}

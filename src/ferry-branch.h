/* ferry-branch.h — attach a branch bin to a stream's tees and detach it again, while the
 * pipeline plays. Every pad surgery on a tee goes through here (house-style E5/E6).
 *
 * Runs on: the main context (attach, detach). The IDLE probes it installs run on a
 * streaming thread or inline, and only unlink pads and hop back.
 */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

void ferry_branch_drop_until_keyframe (GstElement *element);
void ferry_branch_add_sink (GstElement *bin, const char *name,
    GstElement *first);
GstPad *ferry_branch_attach (GstElement *pipeline, GstElement *bin,
    GstElement *tee, const char *bin_pad_name, GError **error);
void ferry_branch_detach (GMainContext *ctx, GstElement *pipeline,
    GstElement *bin, GPtrArray *tee_pads);

G_END_DECLS

/* ferry-plugins.c — see ferry-plugins.h. */
#include "ferry-plugins.h"
#include "ferry-errors.h"

#include <gst/gst.h>

/* element → the Debian package that ships it, for the error message. */
static const struct
{
  const char *element;
  const char *package;
} required[] = {
  {"rtmp2src", "gstreamer1.0-plugins-bad"},
  {"flvdemux", "gstreamer1.0-plugins-good"},
  {"h264parse", "gstreamer1.0-plugins-bad"},
  {"aacparse", "gstreamer1.0-plugins-good"},
  {"avdec_aac", "gstreamer1.0-libav"},
  {"audioconvert", "gstreamer1.0-plugins-base"},
  {"audioresample", "gstreamer1.0-plugins-base"},
  {"opusenc", "gstreamer1.0-plugins-base"},
  {"tee", "libgstreamer1.0-0"},
  {"queue", "libgstreamer1.0-0"},
  {"capsfilter", "libgstreamer1.0-0"},
  {"fakesink", "libgstreamer1.0-0"},
  {"rtph264pay", "gstreamer1.0-plugins-good"},
  {"rtpopuspay", "gstreamer1.0-plugins-good"},
  {"webrtcbin", "gstreamer1.0-plugins-bad"},
  {"rtpbin", "gstreamer1.0-plugins-good"},
  {"nicesrc", "gstreamer1.0-nice"},
  {"nicesink", "gstreamer1.0-nice"},
  {"dtlssrtpenc", "gstreamer1.0-plugins-bad"},
  {"dtlssrtpdec", "gstreamer1.0-plugins-bad"},
  {"srtpenc", "gstreamer1.0-plugins-bad"},
  {"srtpdec", "gstreamer1.0-plugins-bad"},
  {"splitmuxsink", "gstreamer1.0-plugins-good"},
  {"mp4mux", "gstreamer1.0-plugins-good"},
  {"filesink", "libgstreamer1.0-0"},
  {"funnel", "libgstreamer1.0-0"},
  {"avdec_h264", "gstreamer1.0-libav"},
  {"videoconvert", "gstreamer1.0-plugins-base"},
  {"x264enc", "gstreamer1.0-plugins-ugly"},
};

/**
 * ferry_plugins_check:
 * Returns: TRUE when every required element is available; otherwise FALSE with an error
 * naming each missing element and the package to install.
 */
gboolean
ferry_plugins_check (GError **error)
{
  g_autoptr (GString) missing = g_string_new (NULL);

  for (guint i = 0; i < G_N_ELEMENTS (required); i++) {
    GstElementFactory *f = gst_element_factory_find (required[i].element);
    if (f == NULL)
      g_string_append_printf (missing, "\n  %s (Debian package %s)",
          required[i].element, required[i].package);
    else
      gst_object_unref (f);
  }
  if (missing->len == 0)
    return TRUE;
  g_set_error (error, FERRY_ERROR, FERRY_ERROR_MISSING_PLUGIN,
      "required GStreamer elements are missing:%s", missing->str);
  return FALSE;
}

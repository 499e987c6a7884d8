/* Unit tests for the pure WHEP helpers of the test peer (peer-whep.c). */
#include <gio/gio.h>

#include "peer-whep.h"

/* the shape webrtcbin 1.22 offers with max-bundle (trimmed) */
static const gchar OFFER[] =
    "v=0\r\n"
    "o=- 3141488693271439723 0 IN IP4 0.0.0.0\r\n"
    "s=-\r\n"
    "t=0 0\r\n"
    "a=ice-options:trickle\r\n"
    "a=group:BUNDLE audio0 video1\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=setup:actpass\r\n"
    "a=ice-ufrag:kogd36qc\r\n"
    "a=ice-pwd:Vrxv4+wq7+FkCNAzYY663zsV\r\n"
    "a=recvonly\r\n"
    "a=rtpmap:111 OPUS/48000\r\n"
    "a=mid:audio0\r\n"
    "m=video 0 UDP/TLS/RTP/SAVPF 102\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=ice-ufrag:kogd36qc\r\n"
    "a=ice-pwd:Vrxv4+wq7+FkCNAzYY663zsV\r\n"
    "a=bundle-only\r\n"
    "a=rtpmap:102 H264/90000\r\n"
    "a=mid:video1\r\n";

static void
test_name (void)
{
  static const struct
  {
    const gchar *url;
    const gchar *name;
  } ok[] = {
    {"http://127.0.0.1:8081/whep/cam1", "cam1"},
    {"http://127.0.0.1:8081/whep/cam1/", "cam1"},
    {"HTTPS://h/whep/cam1?x=1#f", "cam1"},
    /* encodeURIComponent ("a b/ü?#") */
    {"http://h/whep/a%20b%2F%C3%BC%3F%23", "a b/ü?#"},
    /* not decodable: kept as written */
    {"http://h/whep/a%00b", "a%00b"},
  };
  static const gchar *const bad[] = {
    "ws://h/whep/cam1", "http://h/", "http://h", "no url", "http:///whep/x",
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (ok); i++) {
    g_autoptr (GError) error = NULL;
    g_autofree gchar *name = peer_whep_name_from_url (ok[i].url, &error);

    g_assert_no_error (error);
    g_assert_cmpstr (name, ==, ok[i].name);
  }
  for (i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autoptr (GError) error = NULL;
    g_autofree gchar *name = peer_whep_name_from_url (bad[i], &error);

    g_assert_null (name);
    g_assert_nonnull (error);
  }
}

static void
test_sdpfrag (void)
{
  const PeerWhepCandidate cands[] = {
    {0, "candidate:1 1 UDP 2015363327 127.0.0.1 40001 typ host"},
    {0, "a=candidate:2 1 TCP 1015022847 127.0.0.1 9 typ host tcptype "
          "active\r\n"},
    {0, ""},
  };
  g_autoptr (GError) error = NULL;
  g_autofree gchar *frag = NULL;
  g_autofree gchar *empty = NULL;

  frag = peer_whep_sdpfrag (OFFER, cands, G_N_ELEMENTS (cands), &error);
  g_assert_no_error (error);
  g_assert_cmpstr (frag, ==,
      "a=ice-ufrag:kogd36qc\r\n"
      "a=ice-pwd:Vrxv4+wq7+FkCNAzYY663zsV\r\n"
      "m=audio 9 UDP/TLS/RTP/SAVPF 0\r\n"
      "a=mid:audio0\r\n"
      "a=candidate:1 1 UDP 2015363327 127.0.0.1 40001 typ host\r\n"
      "a=candidate:2 1 TCP 1015022847 127.0.0.1 9 typ host tcptype active\r\n");

  /* no candidates at all is still a valid fragment */
  empty = peer_whep_sdpfrag (OFFER, NULL, 0, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_suffix (empty, "a=mid:audio0\r\n"));
}

/* bundle-policy none: one transport, and one set of credentials, per m-line */
static void
test_sdpfrag_unbundled (void)
{
  const gchar *offer = "v=0\r\no=- 1 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
      "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
      "a=ice-ufrag:aaaa\r\na=ice-pwd:aaaaaaaaaaaaaaaaaaaaaa\r\na=mid:0\r\n"
      "m=video 9 UDP/TLS/RTP/SAVPF 102\r\n"
      "a=ice-ufrag:bbbb\r\na=ice-pwd:bbbbbbbbbbbbbbbbbbbbbb\r\na=mid:1\r\n"
      "m=video 9 UDP/TLS/RTP/SAVPF 103\r\n"
      "a=ice-ufrag:aaaa\r\na=ice-pwd:aaaaaaaaaaaaaaaaaaaaaa\r\na=mid:2\r\n";
  const PeerWhepCandidate cands[] = {
    {2, "candidate:3 1 UDP 1 127.0.0.1 3 typ host"},
    {1, "candidate:2 1 UDP 1 127.0.0.1 2 typ host"},
    {0, "candidate:1 1 UDP 1 127.0.0.1 1 typ host"},
  };
  const PeerWhepCandidate bad[] = { {3, "candidate:4 1 UDP 1 127.0.0.1 4 "
          "typ host"}
  };
  g_autoptr (GError) error = NULL;
  g_autofree gchar *frag = NULL;
  g_autofree gchar *none = NULL;

  frag = peer_whep_sdpfrag (offer, cands, G_N_ELEMENTS (cands), &error);
  g_assert_no_error (error);
  g_assert_cmpstr (frag, ==,
      "a=ice-ufrag:aaaa\r\na=ice-pwd:aaaaaaaaaaaaaaaaaaaaaa\r\n"
      "m=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\n"
      "a=candidate:1 1 UDP 1 127.0.0.1 1 typ host\r\n"
      "m=video 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:1\r\n"
      "a=ice-ufrag:bbbb\r\na=ice-pwd:bbbbbbbbbbbbbbbbbbbbbb\r\n"
      "a=candidate:2 1 UDP 1 127.0.0.1 2 typ host\r\n"
      "m=video 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:2\r\n"
      "a=candidate:3 1 UDP 1 127.0.0.1 3 typ host\r\n");

  none = peer_whep_sdpfrag (offer, bad, G_N_ELEMENTS (bad), &error);
  g_assert_null (none);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
}

static void
test_sdpfrag_session_level (void)
{
  /* credentials at session level only, no mid */
  const gchar *offer = "v=0\r\no=- 1 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
      "a=ice-ufrag:uu\r\na=ice-pwd:pppppppppppppppppppppp\r\n"
      "m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\n";
  g_autoptr (GError) error = NULL;
  g_autofree gchar *frag = peer_whep_sdpfrag (offer, NULL, 0, &error);

  g_assert_no_error (error);
  g_assert_cmpstr (frag, ==, "a=ice-ufrag:uu\r\n"
      "a=ice-pwd:pppppppppppppppppppppp\r\n"
      "m=video 9 UDP/TLS/RTP/SAVPF 0\r\n");
}

static void
test_sdpfrag_errors (void)
{
  const gchar *no_media = "v=0\r\no=- 1 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
      "a=ice-ufrag:uu\r\na=ice-pwd:pppppppppppppppppppppp\r\n";
  const gchar *no_ice = "v=0\r\no=- 1 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
      "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n";
  const gchar *inputs[] = { no_media, no_ice, NULL };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (inputs); i++) {
    g_autoptr (GError) error = NULL;
    g_autofree gchar *frag = peer_whep_sdpfrag (inputs[i], NULL, 0, &error);

    g_assert_null (frag);
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  }
}

static void
test_links (void)
{
  g_autoptr (GPtrArray) links = g_ptr_array_new_with_free_func (g_free);

  peer_whep_split_links ("<stun:127.0.0.1:3478>; rel=\"ice-server\", "
      "<turn:h:3478?transport=udp>; rel=\"ice-server\"; username=\"u\"; "
      "credential=\"p, \\\"q\\\"\"; credential-type=\"password\"", links);
  peer_whep_split_links ("<stun:a,b:1>;rel=\"ice-server\"", links);
  peer_whep_split_links (" , ", links);
  peer_whep_split_links (NULL, links);

  g_assert_cmpuint (links->len, ==, 3);
  g_assert_cmpstr (links->pdata[0], ==,
      "<stun:127.0.0.1:3478>; rel=\"ice-server\"");
  g_assert_cmpstr (links->pdata[1], ==,
      "<turn:h:3478?transport=udp>; rel=\"ice-server\"; username=\"u\"; "
      "credential=\"p, \\\"q\\\"\"; credential-type=\"password\"");
  g_assert_cmpstr (links->pdata[2], ==, "<stun:a,b:1>;rel=\"ice-server\"");
}

static void
test_resolve (void)
{
  static const struct
  {
    const gchar *location;
    const gchar *url;
  } ok[] = {
    {"/whep/cam1/abc", "http://127.0.0.1:8081/whep/cam1/abc"},
    {"/whep/a%2Fb/s%20t", "http://127.0.0.1:8081/whep/a%2Fb/s%20t"},
    {"cam1/abc", "http://127.0.0.1:8081/whep/cam1/abc"},
    {"http://127.0.0.2:9/x", "http://127.0.0.2:9/x"},
  };
  static const gchar *const bad[] = { NULL, "", "ftp://h/x" };
  const gchar *base = "http://127.0.0.1:8081/whep/cam1";
  guint i;

  for (i = 0; i < G_N_ELEMENTS (ok); i++) {
    g_autoptr (GError) error = NULL;
    g_autofree gchar *url = peer_whep_resolve (base, ok[i].location, &error);

    g_assert_no_error (error);
    g_assert_cmpstr (url, ==, ok[i].url);
  }
  for (i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autoptr (GError) error = NULL;
    g_autofree gchar *url = peer_whep_resolve (base, bad[i], &error);

    g_assert_null (url);
    g_assert_nonnull (error);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/peer-whep/name", test_name);
  g_test_add_func ("/peer-whep/sdpfrag", test_sdpfrag);
  g_test_add_func ("/peer-whep/sdpfrag-unbundled", test_sdpfrag_unbundled);
  g_test_add_func ("/peer-whep/sdpfrag-session-level",
      test_sdpfrag_session_level);
  g_test_add_func ("/peer-whep/sdpfrag-errors", test_sdpfrag_errors);
  g_test_add_func ("/peer-whep/links", test_links);
  g_test_add_func ("/peer-whep/resolve", test_resolve);
  return g_test_run ();
}

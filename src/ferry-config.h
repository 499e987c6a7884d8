/* ferry-config.h — FerryConfig: every setting, with built-in defaults, loaded from a
 * GKeyFile and then overridden by command-line flags.
 *
 * A plain value struct owned by FerryApp; read-only once the app starts. Main thread.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct
{
  /* [server] */
  char *listen_address;         /* address both HTTP servers bind to */
  guint rest_port;              /* REST API + player page */
  guint ws_port;                /* WCS WebSocket signalling */
  char **cors_origins;          /* Access-Control-Allow-Origin values; "*" = any */
  /* [pull] */
  guint connect_timeout_s;      /* PENDING longer than this → FAILED */
  guint rtmp_timeout_s;         /* rtmp2src network timeout */
  guint idle_timeout_s;         /* rtmp2src idle-timeout: unpublished names fail */
  guint opus_bitrate;
  gboolean tls_verify;          /* rtmps:// origins must have a certificate the system trusts */
  gboolean reconnect;           /* a lost source is reconnected (else the pull ends) */
  guint reconnect_initial_ms;   /* first delay before reconnecting a lost source */
  guint reconnect_max_ms;       /* cap of the doubling delay */
  guint reconnect_attempts;     /* failed attempts in a row before FAILED; 0 = forever */
  guint stall_timeout_s;        /* a playing source without media this long is lost */
  guint grace_s;                /* viewers are held this long through an outage */
  guint track_wait_ms;          /* one track flows: wait this long for the other */
  guint on_demand_linger_s;     /* an on-demand pull ends this long after its last viewer */
  /* [sources] (docs/security.md#sources): which origins may be pulled */
  char **source_schemes;        /* NULL = rtmp and rtmps */
  char **source_hosts;          /* names, *.domains, addresses, ranges; NULL = any */
  char **source_ports;          /* ports and ranges ("1935", "8000-8100"); NULL = any */
  char *allow_private;          /* auto | true | false: private and loopback origins */
  /* [transcode] (docs/transcoding.md) */
  char *transcode_policy;       /* auto | always | never: re-encode video for viewers */
  char *transcode_preset;       /* x264 speed preset */
  guint transcode_quality;      /* x264 constant quality (CRF) */
  guint transcode_max_kbps;     /* cap of the re-encoded bitrate */
  /* [record] */
  char *records_dir;            /* where recordings go */
  guint record_segment_s;       /* rotate segments after this long */
  guint record_segment_mb;      /* … or this many MiB (0 = no size limit) */
  guint record_fragment_ms;     /* fMP4 fragment: at most this much is lost on a crash */
  guint record_finalize_s;      /* longest wait for a muxer to finish a file on stop */
  /* [webrtc] */
  char **ice_addresses;         /* NULL = every interface libnice finds */
  guint port_min, port_max;     /* UDP port range for media; 0 = any */
  gboolean ice_tcp;             /* also gather ICE-TCP candidates */
  char **public_addresses;      /* NAT 1:1: advertised as extra host candidates */
  char *stun_server;            /* stun://host:port, or NULL */
  char **turn_servers;          /* turn(s)://user:pass@host:port, or NULL */
  guint ice_timeout_s;          /* answer sent → connected, else FAILED */
  guint rtcp_timeout_s;         /* a connected client silent this long is gone */
  guint gather_timeout_ms;      /* upper bound on waiting for all local candidates */
  guint ping_interval_s;        /* server ping to WCS clients; 0 = never */
  guint gop_cache_kb;           /* fast start: cache the GOP up to this size; 0 = off */
  guint gop_cache_ms;           /* … and up to this duration */
  guint gop_cache_send_kbps;    /* pace of the cached GOP to a joining viewer; 0 = unpaced */
  guint nack_history;           /* video RTP packets kept per viewer for retransmission
                                 * on NACK; 0 = no NACK/RTX */
  guint ping_misses;            /* unanswered pings in a row before a client is
                                 * dropped; 0 = never drop */
  /* [limits] (docs/configuration.md#limits): each refusal is a clear error */
  guint max_body_kb;            /* REST/WHEP request body */
  guint max_json_depth;         /* nesting of REST bodies and WebSocket messages */
  guint max_pulls;              /* active pulls at once (REST and on demand) */
  guint max_viewers;            /* viewers at once, all streams */
  guint max_stream_viewers;     /* viewers of one stream at once */
  guint max_ws_message_kb;      /* one WebSocket message */
  guint max_ws_rate;            /* WebSocket messages per second per connection */
  guint max_ws_per_address;     /* open WebSockets per client address */
  guint max_conns_per_address;  /* open HTTP connections (both servers) per address */
  guint request_timeout_s;      /* a request (or an idle connection) must be read whole
                                 * in this long: slow clients are cut off */
  /* [tls] (docs/security.md): HTTPS and WSS next to the plain ports */
  char *tls_cert_file;          /* PEM certificate (chain); NULL = no TLS */
  char *tls_key_file;           /* PEM private key */
  guint https_port;             /* REST API, WHEP, player over TLS (WCS: 8444) */
  guint wss_port;               /* WCS WebSocket over TLS (WCS: 8443) */
  /* [auth] (docs/security.md) */
  char *auth_rest;              /* auto | on | off: REST API, /metrics, recordings */
  char *auth_play;              /* auto | on | off: playback (WCS, WHEP) */
  char **rest_tokens;           /* bearer tokens for the REST API */
  char **rest_users;            /* "user:password" for HTTP Basic */
  char **play_tokens;           /* tokens for playback */
  /* [debug] */
  gboolean transit_stats;       /* measure video transit (ferry-transit.h) in find_all */
} FerryConfig;

FerryConfig *ferry_config_new_default (void);
gboolean ferry_config_load_file (FerryConfig *self, const char *path,
    GError **error);
gboolean ferry_config_set (FerryConfig *self, const char *assignment,
    GError **error);
gboolean ferry_config_validate (FerryConfig *self, const char *name,
    GError **error);
void ferry_config_free (FerryConfig *self);
GTlsCertificate *ferry_config_load_certificate (const FerryConfig *self,
    GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FerryConfig, ferry_config_free)

G_END_DECLS

/* ferry-mp4.c — see ferry-mp4.h. Pure; any thread.
 *
 * Walks the top-level boxes with one 16-byte header read each and seeks over
 * everything else, mdat above all. moov and moof bodies are read whole, under a
 * size cap, and parsed from memory with every read bounds-checked. The parser
 * descends only along these fixed paths, so nesting depth is bounded by
 * construction; the number of top-level boxes is capped.
 *
 *   moov/mvhd                        movie timescale and duration
 *   moov/trak/tkhd                   track_ID
 *   moov/trak/mdia/{mdhd,hdlr}       track timescale, duration, handler
 *   moov/trak/mdia/minf/stbl/stsd    first sample entry fourcc
 *   moov/mvex/trex                   default sample duration
 *   moof/traf/{tfhd,tfdt,trun}       fragment timing
 *
 * mvex/mehd is ignored on purpose: with splitmuxsink, mp4mux writes the running
 * time since the start of the whole recording there, not the length of this
 * file, while tfdt restarts at 0 in each file.
 */
#include "ferry-mp4.h"
#include "ferry-errors.h"

#include <gio/gio.h>
#include <string.h>

#define MAX_TRACKS 32
#define MAX_TOP_BOXES (1u << 22)        /* 2 tracks, 1 s fragments: 12 days */
#define MAX_MOOV_SIZE (64u << 20)       /* non-fragmented: ~100 h of samples */
#define MAX_MOOF_SIZE (16u << 20)

#define FOURCC(a, b, c, d) \
  ((guint32) (a) << 24 | (guint32) (b) << 16 | (guint32) (c) << 8 | \
      (guint32) (d))

typedef struct
{
  guint32 id;
  gboolean in_moov;             /* has a trak, not just a trex */
  guint32 timescale;
  guint64 header_duration;      /* mdhd */
  guint32 handler;
  char codec[5];
  guint32 trex_duration;
  guint64 frag_end;             /* end of the committed fragments */
  guint64 pending_end;          /* with the moofs still waiting for an mdat */
} Track;

typedef struct
{
  guint32 mvhd_timescale;
  guint64 mvhd_duration;
  gboolean have_moov;
  gboolean fragmented;          /* moov has mvex */
  Track tracks[MAX_TRACKS];
  guint n_tracks;
} Movie;

typedef struct
{
  const guint8 *p;
  gsize len;
} Span;

typedef struct
{
  GInputStream *in;
  guint64 size;
} Reader;

static guint32
rd32 (const guint8 * p)
{
  return (guint32) p[0] << 24 | (guint32) p[1] << 16 | (guint32) p[2] << 8 |
      p[3];
}

static guint64
rd64 (const guint8 * p)
{
  return (guint64) rd32 (p) << 32 | rd32 (p + 4);
}

/* The 24-bit flags of a FullBox body. */
static guint32
box_flags (Span b)
{
  return rd32 (b.p) & 0xffffff;
}

static guint64
sat_add (guint64 a, guint64 b)
{
  return a > G_MAXUINT64 - b ? G_MAXUINT64 : a + b;
}

/* Fourccs go into JSON, so anything unprintable becomes '?'. */
static void
fourcc_to_str (guint32 fourcc, char out[5])
{
  for (guint i = 0; i < 4; i++) {
    char c = (char) (fourcc >> (24 - 8 * i));
    out[i] = g_ascii_isprint (c) ? c : '?';
  }
  out[4] = '\0';
}

/* Takes the next child box off @it. Returns FALSE at the end, and also when a
 * child's size disagrees with its parent's: nothing after it can be trusted. */
static gboolean
next_box (Span * it, guint32 * type, Span * body)
{
  guint64 size;
  gsize hdr = 8;

  if (it->len < 8)
    return FALSE;
  size = rd32 (it->p);
  *type = rd32 (it->p + 4);
  if (size == 1) {
    if (it->len < 16)
      return FALSE;
    size = rd64 (it->p + 8);
    hdr = 16;
  } else if (size == 0) {
    size = it->len;
  }
  if (size < hdr || size > it->len)
    return FALSE;
  body->p = it->p + hdr;
  body->len = size - hdr;
  it->p += size;
  it->len -= size;
  return TRUE;
}

static gboolean
find_box (Span parent, guint32 type, Span * out)
{
  guint32 t;

  while (next_box (&parent, &t, out)) {
    if (t == type)
      return TRUE;
  }
  return FALSE;
}

static Track *
track_lookup (Movie * m, guint32 id, gboolean create)
{
  Track *t;

  for (guint i = 0; i < m->n_tracks; i++) {
    if (m->tracks[i].id == id)
      return &m->tracks[i];
  }
  if (!create || m->n_tracks == MAX_TRACKS)
    return NULL;
  t = &m->tracks[m->n_tracks++];
  t->id = id;
  return t;
}

/* mvhd and mdhd share the layout up to the duration. */
static void
parse_time_header (Span b, guint32 * timescale, guint64 * duration)
{
  if (b.len >= 32 && b.p[0] == 1) {
    *timescale = rd32 (b.p + 20);
    *duration = rd64 (b.p + 24);
    if (*duration == G_MAXUINT64)       /* all ones: unknown */
      *duration = 0;
  } else if (b.len >= 20 && b.p[0] == 0) {
    *timescale = rd32 (b.p + 12);
    *duration = rd32 (b.p + 16);
    if (*duration == G_MAXUINT32)
      *duration = 0;
  }
}

static void
parse_trak (Movie * m, Span trak)
{
  Span tkhd, mdia, b;
  Track *t;

  if (!find_box (trak, FOURCC ('t', 'k', 'h', 'd'), &tkhd) || tkhd.len < 24)
    return;
  t = track_lookup (m, rd32 (tkhd.p + (tkhd.p[0] == 1 ? 20 : 12)), TRUE);
  if (t == NULL || t->in_moov)  /* too many tracks, or a duplicate track_ID */
    return;
  t->in_moov = TRUE;
  if (!find_box (trak, FOURCC ('m', 'd', 'i', 'a'), &mdia))
    return;
  if (find_box (mdia, FOURCC ('m', 'd', 'h', 'd'), &b))
    parse_time_header (b, &t->timescale, &t->header_duration);
  if (find_box (mdia, FOURCC ('h', 'd', 'l', 'r'), &b) && b.len >= 12)
    t->handler = rd32 (b.p + 8);
  /* stsd: FullBox, entry_count, then the first entry's size and fourcc. */
  if (find_box (mdia, FOURCC ('m', 'i', 'n', 'f'), &b)
      && find_box (b, FOURCC ('s', 't', 'b', 'l'), &b)
      && find_box (b, FOURCC ('s', 't', 's', 'd'), &b)
      && b.len >= 16 && rd32 (b.p + 4) > 0)
    fourcc_to_str (rd32 (b.p + 12), t->codec);
}

static void
parse_moov (Movie * m, Span moov)
{
  Span b, trex;
  guint32 type;

  m->have_moov = TRUE;
  while (next_box (&moov, &type, &b)) {
    if (type == FOURCC ('m', 'v', 'h', 'd')) {
      parse_time_header (b, &m->mvhd_timescale, &m->mvhd_duration);
    } else if (type == FOURCC ('t', 'r', 'a', 'k')) {
      parse_trak (m, b);
    } else if (type == FOURCC ('m', 'v', 'e', 'x')) {
      m->fragmented = TRUE;
      while (next_box (&b, &type, &trex)) {
        Track *t;

        if (type != FOURCC ('t', 'r', 'e', 'x') || trex.len < 16)
          continue;
        t = track_lookup (m, rd32 (trex.p + 4), TRUE);
        if (t != NULL)
          t->trex_duration = rd32 (trex.p + 12);
      }
    }
  }
}

/* Adds the sample durations of one trun to @sum. FALSE when the sample table
 * does not fit in the box. */
static gboolean
sum_trun (Span b, guint32 default_duration, guint64 * sum)
{
  guint32 flags, count;
  gsize off = 8, entry;

  if (b.len < 8)
    return FALSE;
  flags = box_flags (b);
  count = rd32 (b.p + 4);
  off += (flags & 0x1 ? 4 : 0) + (flags & 0x4 ? 4 : 0);
  /* per sample: duration 0x100, size 0x200, flags 0x400, cto 0x800 */
  entry = 4 * (!!(flags & 0x100) + !!(flags & 0x200) + !!(flags & 0x400)
      + !!(flags & 0x800));
  if (off > b.len || (entry > 0 && count > (b.len - off) / entry))
    return FALSE;
  if (!(flags & 0x100)) {
    *sum = sat_add (*sum, (guint64) count * default_duration);
    return TRUE;
  }
  for (guint32 i = 0; i < count; i++)
    *sum = sat_add (*sum, rd32 (b.p + off + (gsize) i * entry));
  return TRUE;
}

static void
parse_traf (Movie * m, Span traf)
{
  Span tfhd, b, it = traf;
  Track *t;
  guint32 flags, type, duration;
  guint64 start, sum = 0;

  if (!find_box (traf, FOURCC ('t', 'f', 'h', 'd'), &tfhd) || tfhd.len < 8)
    return;
  t = track_lookup (m, rd32 (tfhd.p + 4), FALSE);
  if (t == NULL || !t->in_moov)
    return;
  duration = t->trex_duration;
  flags = box_flags (tfhd);
  if (flags & 0x8) {
    /* after base-data-offset (0x1) and sample-description-index (0x2) */
    gsize off = 8 + (flags & 0x1 ? 8 : 0) + (flags & 0x2 ? 4 : 0);

    if (tfhd.len < off + 4)
      return;
    duration = rd32 (tfhd.p + off);
  }

  /* Without a tfdt, the fragment follows the previous one of its track. */
  start = t->pending_end;
  if (find_box (traf, FOURCC ('t', 'f', 'd', 't'), &b)) {
    if (b.len >= 12 && b.p[0] == 1)
      start = rd64 (b.p + 4);
    else if (b.len >= 8 && b.p[0] == 0)
      start = rd32 (b.p + 4);
  }
  while (next_box (&it, &type, &b)) {
    if (type == FOURCC ('t', 'r', 'u', 'n') && !sum_trun (b, duration, &sum))
      return;
  }
  t->pending_end = MAX (t->pending_end, sat_add (start, sum));
}

/* Reads @len bytes at @off. Returns the count read, short when the file ended
 * first (it may shrink under us), or -1 with @error set. */
static gssize
read_at (Reader * r, guint64 off, guint8 * buf, gsize len, GError ** error)
{
  gsize n = 0;

  if (!g_seekable_seek (G_SEEKABLE (r->in), (goffset) off, G_SEEK_SET, NULL,
          error))
    return -1;
  if (!g_input_stream_read_all (r->in, buf, len, &n, NULL, error))
    return -1;
  return (gssize) n;
}

/* Reads a box body (the caller caps @len) and hands it to @parse. Returns
 * FALSE on an I/O error; sets *@cut when the file ended first. */
static gboolean
parse_body (Reader * r, Movie * m, guint64 off, guint64 len,
    void (*parse) (Movie *, Span), gboolean * cut, GError ** error)
{
  g_autofree guint8 *buf = g_malloc (len);
  gssize n = read_at (r, off, buf, len, error);
  Span body = { buf, len };

  if (n < 0)
    return FALSE;
  if ((guint64) n < len)
    *cut = TRUE;
  else
    parse (m, body);
  return TRUE;
}

static void
parse_moof (Movie * m, Span moof)
{
  Span b;
  guint32 type;

  while (next_box (&moof, &type, &b)) {
    if (type == FOURCC ('t', 'r', 'a', 'f'))
      parse_traf (m, b);
  }
}

/* Walks the top-level boxes. A moof's timing stays pending until an mdat after
 * it is complete: the samples of a moof whose mdat was cut are not playable. */
static gboolean
walk (Reader * r, Movie * m, FerryMp4Info * info, gboolean * is_mp4,
    GError ** error)
{
  guint64 off = 0;
  guint n_boxes = 0, n_pending = 0;

  while (off < r->size && !info->truncated) {
    guint64 left = r->size - off, size;
    guint8 hdr[16];
    gsize hlen = 8;
    guint32 type;
    gssize n;

    if (++n_boxes > MAX_TOP_BOXES) {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_INVALID_PARAMETER,
          "more than %u top-level boxes", MAX_TOP_BOXES);
      return FALSE;
    }
    n = read_at (r, off, hdr, MIN (left, sizeof hdr), error);
    if (n < 0)
      return FALSE;
    if (n < 8 || (rd32 (hdr) == 1 && n < 16)) {
      info->truncated = TRUE;
      break;
    }
    size = rd32 (hdr);
    type = rd32 (hdr + 4);
    if (size == 1) {
      size = rd64 (hdr + 8);
      hlen = 16;
    } else if (size == 0) {     /* the last box, up to the end of the file */
      size = left;
    }
    if (type == FOURCC ('f', 't', 'y', 'p')
        || type == FOURCC ('m', 'o', 'o', 'v'))
      *is_mp4 = TRUE;
    /* A size past the end of the file is a write cut short; one smaller than
     * its header is corruption. Either way nothing after it is reachable. */
    if (size < hlen || size > left) {
      info->truncated = TRUE;
      break;
    }

    if (type == FOURCC ('m', 'o', 'o', 'v') && !m->have_moov) {
      if (size - hlen > MAX_MOOV_SIZE) {
        g_set_error (error, FERRY_ERROR, FERRY_ERROR_INVALID_PARAMETER,
            "moov box of %" G_GUINT64_FORMAT " bytes is too large", size);
        return FALSE;
      }
      if (!parse_body (r, m, off + hlen, size - hlen, parse_moov,
              &info->truncated, error))
        return FALSE;
    } else if (type == FOURCC ('m', 'o', 'o', 'f')) {
      if (size - hlen > MAX_MOOF_SIZE) {
        g_debug ("skipping a moof of %" G_GUINT64_FORMAT " bytes", size);
      } else {
        if (!parse_body (r, m, off + hlen, size - hlen, parse_moof,
                &info->truncated, error))
          return FALSE;
        n_pending++;
      }
    } else if (type == FOURCC ('m', 'f', 'r', 'a')) {
      /* mp4mux appends the fragment index only when it finalises the file. */
      info->finalized = TRUE;
    } else if (type == FOURCC ('m', 'd', 'a', 't') && n_pending > 0) {
      info->n_fragments += n_pending;
      n_pending = 0;
      for (guint i = 0; i < m->n_tracks; i++)
        m->tracks[i].frag_end = m->tracks[i].pending_end;
    }
    off += size;
  }

  /* A moof whose mdat never came, or a moov that never came, is a cut write. */
  if (n_pending > 0 || !m->have_moov)
    info->truncated = TRUE;
  /* A plain (non-fragmented) MP4 is complete once its moov and all boxes are there. */
  if (!m->fragmented && m->have_moov && !info->truncated)
    info->finalized = TRUE;
  if (info->truncated)
    info->finalized = FALSE;
  return TRUE;
}

static void
fill_info (const Movie * m, FerryMp4Info * info)
{
  /* A clean stop may write header durations covering the whole recording; once
   * a fragmented file is cut, only its complete fragments are playable. */
  gboolean trust_headers = !(m->fragmented && info->truncated);

  for (guint i = 0; i < m->n_tracks; i++) {
    const Track *t = &m->tracks[i];
    guint64 end;

    if (!t->in_moov)
      continue;
    if (t->handler == FOURCC ('v', 'i', 'd', 'e') && !info->has_video) {
      info->has_video = TRUE;
      memcpy (info->video_codec, t->codec, sizeof info->video_codec);
    } else if (t->handler == FOURCC ('s', 'o', 'u', 'n') && !info->has_audio) {
      info->has_audio = TRUE;
      memcpy (info->audio_codec, t->codec, sizeof info->audio_codec);
    }
    if (t->timescale == 0)
      continue;
    end = MAX (trust_headers ? t->header_duration : 0, t->frag_end);
    info->duration_s = MAX (info->duration_s, (gdouble) end / t->timescale);
  }
  if (info->duration_s == 0 && trust_headers && m->mvhd_timescale > 0)
    info->duration_s = (gdouble) m->mvhd_duration / m->mvhd_timescale;
}

/**
 * ferry_mp4_probe:
 * @path: an MP4 file, possibly fragmented and possibly cut short
 * @info: (out caller-allocates): zeroed, then filled on success
 * @error: FERRY_ERROR_INVALID_PARAMETER for a file that is not an MP4 or is
 *   absurdly structured, G_IO_ERROR when it cannot be read
 *
 * A cut or corrupt file is not an error: it sets @info->truncated and reports
 * what precedes the cut.
 *
 * Returns: whether @info was filled.
 */
gboolean
ferry_mp4_probe (const char *path, FerryMp4Info * info, GError ** error)
{
  g_autoptr (GFile) file = NULL;
  g_autoptr (GFileInfo) finfo = NULL;
  g_autoptr (GFileInputStream) in = NULL;
  g_autofree Movie *m = NULL;
  gboolean is_mp4 = FALSE;
  Reader r;

  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (info != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  memset (info, 0, sizeof *info);
  file = g_file_new_for_path (path);
  /* Check the type before opening: opening a FIFO would block. */
  finfo = g_file_query_info (file, G_FILE_ATTRIBUTE_STANDARD_TYPE ","
      G_FILE_ATTRIBUTE_STANDARD_SIZE, G_FILE_QUERY_INFO_NONE, NULL, error);
  if (finfo == NULL)
    return FALSE;
  if (g_file_info_get_file_type (finfo) != G_FILE_TYPE_REGULAR) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_REGULAR_FILE,
        "%s is not a regular file", path);
    return FALSE;
  }
  in = g_file_read (file, NULL, error);
  if (in == NULL)
    return FALSE;

  m = g_new0 (Movie, 1);
  r.in = G_INPUT_STREAM (in);
  r.size = (guint64) MAX (g_file_info_get_size (finfo), 0);
  if (!walk (&r, m, info, &is_mp4, error)) {
    memset (info, 0, sizeof *info);
    return FALSE;
  }
  if (!is_mp4) {
    memset (info, 0, sizeof *info);
    g_set_error (error, FERRY_ERROR, FERRY_ERROR_INVALID_PARAMETER,
        "%s is not an MP4 file (no ftyp or moov box)", path);
    return FALSE;
  }
  fill_info (m, info);
  return TRUE;
}

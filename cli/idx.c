/* The idx reader behind idx.h: header checks, then big-endian items converted row panel by
 * row panel, through zlib's gz* functions (which read a plain file as it is). */
#include "idx.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "error.h"
#include "paths.h"

struct prsvd_idx {
  gzFile gz;
  char *path;
  struct prsvd_idx_info info;
  int64_t rows_read;
  unsigned char *raw;
  size_t raw_bytes;
};

static const struct {
  int type;
  const char *name;
  int bytes, exact_in_float32;
} idx_types[] = {
    {0x08, "uint8", 1, 1},   {0x09, "int8", 1, 1},    {0x0B, "int16", 2, 1},
    {0x0C, "int32", 4, 0},   {0x0D, "float32", 4, 1}, {0x0E, "float64", 8, 0},
};
#define N_TYPES (int)(sizeof idx_types / sizeof idx_types[0])

static uint64_t be(const unsigned char *p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; i++) v = v << 8 | p[i];
  return v;
}

/* Read exactly len bytes; *got says how many arrived before the end of the data. */
static int read_bytes(prsvd_idx *x, void *buf, size_t len, size_t *got) {
  *got = 0;
  while (*got < len) {
    size_t want = len - *got;
    if (want > (1u << 30)) want = 1u << 30;
    int n = gzread(x->gz, (unsigned char *)buf + *got, (unsigned)want);
    if (n < 0) {
      int errnum;
      const char *msg = gzerror(x->gz, &errnum);
      if (errnum == Z_BUF_ERROR) return PRSVD_OK; /* "unexpected end of file": truncated */
      PRSVD_ERR(PRSVD_ERR_INPUT, "'%s' is corrupt: gzip stream error after %lld rows (%s)",
                x->path, (long long)x->rows_read, errnum == Z_ERRNO ? strerror(errno) : msg);
    }
    if (n == 0) break;
    *got += (size_t)n;
  }
  return PRSVD_OK;
}

static int read_header(prsvd_idx *x) {
  unsigned char magic[4], dim[4];
  size_t got;
  struct prsvd_idx_info *in = &x->info;
  PRSVD_CHECK(read_bytes(x, magic, 4, &got));
  if (got < 4) PRSVD_ERR(PRSVD_ERR_INPUT, "'%s' is not an idx file: it holds only %zu bytes", x->path, got);
  if (magic[0] || magic[1])
    PRSVD_ERR(PRSVD_ERR_INPUT,
              "'%s' is not an idx file: bad magic number 0x%02x%02x%02x%02x (expected 0x0000TTDD: "
              "two zero bytes, the type, the number of dimensions)",
              x->path, magic[0], magic[1], magic[2], magic[3]);
  for (int t = 0; t < N_TYPES; t++)
    if (idx_types[t].type == magic[2]) {
      in->type = magic[2];
      in->type_name = idx_types[t].name;
      in->element_bytes = idx_types[t].bytes;
      in->exact_in_float32 = idx_types[t].exact_in_float32;
    }
  if (!in->type_name)
    PRSVD_ERR(PRSVD_ERR_INPUT,
              "'%s': unknown idx element type 0x%02x in the magic number (expected 0x08 uint8, "
              "0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32 or 0x0E float64)",
              x->path, magic[2]);
  in->ndims = magic[3];
  if (in->ndims < 1 || in->ndims > PRSVD_IDX_MAX_DIMS)
    PRSVD_ERR(PRSVD_ERR_INPUT, "'%s': the idx magic number gives %d dimensions (expected 1 to %d)",
              x->path, in->ndims, PRSVD_IDX_MAX_DIMS);
  in->cols = 1;
  for (int d = 0; d < in->ndims; d++) {
    PRSVD_CHECK(read_bytes(x, dim, 4, &got));
    if (got < 4)
      PRSVD_ERR(PRSVD_ERR_INPUT, "'%s' is truncated: its header ends in dimension %d of %d", x->path,
                d + 1, in->ndims);
    in->dims[d] = (int64_t)be(dim, 4);
    if (in->dims[d] == 0)
      PRSVD_ERR(PRSVD_ERR_INPUT, "'%s': dimension %d of the idx header is 0 (no data)", x->path, d + 1);
    if (d > 0) {
      if (in->cols > ((int64_t)1 << 40) / in->dims[d])
        PRSVD_ERR(PRSVD_ERR_INPUT, "'%s': the idx items are too large (dimensions 2 to %d multiply past 2^40)",
                  x->path, d + 1);
      in->cols *= in->dims[d];
    }
  }
  in->rows = in->dims[0];
  if (in->rows > (((int64_t)1 << 62) / in->element_bytes) / in->cols)
    PRSVD_ERR(PRSVD_ERR_INPUT, "'%s': the idx header describes more than 2^62 bytes", x->path);
  return PRSVD_OK;
}

/* A plain file's size must be the header plus the data, exactly. */
static int check_plain_size(prsvd_idx *x) {
  struct stat st;
  const struct prsvd_idx_info *in = &x->info;
  if (stat(x->path, &st) != 0 || !S_ISREG(st.st_mode)) return PRSVD_OK; /* a pipe: checked as read */
  int64_t header = 4 + 4 * (int64_t)in->ndims, data = in->rows * in->cols * in->element_bytes;
  if ((int64_t)st.st_size < header + data)
    PRSVD_ERR(PRSVD_ERR_INPUT,
              "'%s' is truncated: its header promises %lld x %lld %s values (%lld bytes of data), "
              "the file holds %lld",
              x->path, (long long)in->rows, (long long)in->cols, in->type_name, (long long)data,
              (long long)(st.st_size - header));
  if ((int64_t)st.st_size > header + data)
    PRSVD_ERR(PRSVD_ERR_INPUT, "'%s' holds %lld bytes after the %lld x %lld %s values of its header",
              x->path, (long long)(st.st_size - header - data), (long long)in->rows,
              (long long)in->cols, in->type_name);
  return PRSVD_OK;
}

int prsvd_idx_open(const char *path, prsvd_idx **out) {
  int status = PRSVD_OK;
  prsvd_idx *x = NULL;
  *out = NULL;
  PRSVD_CHECK(prsvd_path_check_input(path, "input")); /* gzopen of a FIFO blocks */
  PRSVD_ALLOC(x, 1);
  x->path = strdup(path);
  if (!x->path) PRSVD_FAIL(PRSVD_ERR_NOMEM, "out of memory");
  errno = 0;
  x->gz = gzopen(path, "rb");
  if (!x->gz)
    PRSVD_FAIL(PRSVD_ERR_INPUT, "cannot open '%s': %s", path, errno ? strerror(errno) : "out of memory");
  gzbuffer(x->gz, 1 << 18);
  x->info.gzipped = !gzdirect(x->gz);
  PRSVD_TRY(read_header(x));
  if (!x->info.gzipped) PRSVD_TRY(check_plain_size(x));
  *out = x;
  x = NULL;
done:
  prsvd_idx_close(&x);
  return status;
}

const struct prsvd_idx_info *prsvd_idx_get_info(const prsvd_idx *x) { return &x->info; }

int prsvd_idx_read_rows(prsvd_idx *x, int64_t nrows, double *rows) {
  const struct prsvd_idx_info *in = &x->info;
  if (nrows < 0 || nrows > in->rows - x->rows_read)
    PRSVD_ERR(PRSVD_ERR_INTERNAL, "'%s': rows [%lld, %lld) asked of an idx file with %lld rows",
              x->path, (long long)x->rows_read, (long long)(x->rows_read + nrows), (long long)in->rows);
  int64_t count = nrows * in->cols;
  size_t bytes = (size_t)count * (size_t)in->element_bytes, got;
  if (bytes > x->raw_bytes) {
    unsigned char *raw = realloc(x->raw, bytes);
    if (!raw) PRSVD_ERR(PRSVD_ERR_NOMEM, "out of memory allocating %zu bytes", bytes);
    x->raw = raw;
    x->raw_bytes = bytes;
  }
  PRSVD_CHECK(read_bytes(x, x->raw, bytes, &got));
  if (got < bytes)
    PRSVD_ERR(PRSVD_ERR_INPUT,
              "'%s' is truncated: its header promises %lld rows of %lld %s values, the data ends "
              "in row %lld",
              x->path, (long long)in->rows, (long long)in->cols, in->type_name,
              (long long)(x->rows_read + (int64_t)(got / ((size_t)in->cols * in->element_bytes))));
  const unsigned char *p = x->raw;
  int eb = in->element_bytes;
  for (int64_t i = 0; i < count; i++, p += eb) {
    uint64_t u = be(p, eb);
    switch (in->type) {
    case 0x08: rows[i] = (double)(uint8_t)u; break;
    case 0x09: rows[i] = (double)(int8_t)(uint8_t)u; break;
    case 0x0B: rows[i] = (double)(int16_t)(uint16_t)u; break;
    case 0x0C: rows[i] = (double)(int32_t)(uint32_t)u; break;
    case 0x0D: {
      uint32_t w = (uint32_t)u;
      float f;
      memcpy(&f, &w, sizeof f);
      rows[i] = f;
      break;
    }
    default: {
      double d;
      memcpy(&d, &u, sizeof d);
      rows[i] = d;
    }
    }
  }
  x->rows_read += nrows;
  return PRSVD_OK;
}

int prsvd_idx_finish(prsvd_idx *x) {
  unsigned char extra[64];
  size_t got;
  if (x->rows_read != x->info.rows)
    PRSVD_ERR(PRSVD_ERR_INTERNAL, "'%s': finished after %lld of %lld rows", x->path,
              (long long)x->rows_read, (long long)x->info.rows);
  PRSVD_CHECK(read_bytes(x, extra, sizeof extra, &got));
  if (got > 0)
    PRSVD_ERR(PRSVD_ERR_INPUT, "'%s' holds data after the %lld x %lld %s values of its header",
              x->path, (long long)x->info.rows, (long long)x->info.cols, x->info.type_name);
  int errnum;
  const char *msg = gzerror(x->gz, &errnum);
  if (errnum != Z_OK)
    PRSVD_ERR(PRSVD_ERR_INPUT, "'%s' is truncated or corrupt at the end of its gzip stream (%s)",
              x->path, msg);
  return PRSVD_OK;
}

void prsvd_idx_close(prsvd_idx **x) {
  if (!x || !*x) return;
  if ((*x)->gz) gzclose_r((*x)->gz);
  free((*x)->path);
  free((*x)->raw);
  free(*x);
  *x = NULL;
}

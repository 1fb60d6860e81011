/* The .npy reader behind npy.h: the header is a Python dict literal,
 *   {'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }
 * padded with spaces to a multiple of 64 bytes; the data follow, little-endian. */
#include "npy.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "paths.h"

struct prsvd_npy {
  int fd;
  char *path;
  struct prsvd_npy_info info;
  unsigned char *raw;
  size_t raw_bytes;
};

static const struct {
  const char *descr, *name;
  int bytes, exact_in_float32;
} npy_types[] = {
    {"<f8", "float64", 8, 0}, {"<f4", "float32", 4, 1}, {"<i4", "int32", 4, 0},
    {"<i8", "int64", 8, 0},   {"|u1", "uint8", 1, 1},
};
#define N_TYPES (int)(sizeof npy_types / sizeof npy_types[0])

static const char magic[6] = {(char)0x93, 'N', 'U', 'M', 'P', 'Y'};

static uint64_t le(const unsigned char *p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; i--) v = v << 8 | p[i];
  return v;
}

/* Exactly len bytes at offset, or an error naming the file. */
static int read_at(const prsvd_npy *x, void *buf, size_t len, int64_t offset) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = pread(x->fd, (char *)buf + done, len - done, (off_t)(offset + (int64_t)done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      PRSVD_ERR(PRSVD_ERR_INPUT, "cannot read '%s' at byte %lld: %s", x->path,
                (long long)(offset + (int64_t)done), strerror(errno));
    if (n == 0)
      PRSVD_ERR(PRSVD_ERR_INPUT, "'%s' is truncated: it ends at byte %lld", x->path,
                (long long)(offset + (int64_t)done));
    done += (size_t)n;
  }
  return PRSVD_OK;
}

/* The value of 'key' in the header dict: a pointer just past "'key':" and spaces. */
static const char *dict_value(const char *header, const char *key) {
  char quoted[2][32];
  snprintf(quoted[0], sizeof quoted[0], "'%s'", key);
  snprintf(quoted[1], sizeof quoted[1], "\"%s\"", key);
  for (int q = 0; q < 2; q++) {
    const char *p = strstr(header, quoted[q]);
    if (!p) continue;
    p += strlen(quoted[q]);
    while (isspace((unsigned char)*p)) p++;
    if (*p != ':') return NULL;
    p++;
    while (isspace((unsigned char)*p)) p++;
    return p;
  }
  return NULL;
}

static int parse_header(prsvd_npy *x, const char *h) {
  struct prsvd_npy_info *in = &x->info;
  const char *p = dict_value(h, "descr");
  if (!p || (*p != '\'' && *p != '"'))
    PRSVD_ERR(PRSVD_ERR_INPUT, "'%s': malformed .npy header (no 'descr' string): %s", x->path, h);
  const char *end = strchr(p + 1, *p);
  if (!end || end - p - 1 >= (long)sizeof in->descr)
    PRSVD_ERR(PRSVD_ERR_INPUT, "'%s': malformed .npy header ('descr' is not a dtype string): %s",
              x->path, h);
  memcpy(in->descr, p + 1, (size_t)(end - p - 1));
  for (int t = 0; t < N_TYPES; t++)
    if (!strcmp(in->descr, npy_types[t].descr)) {
      in->type_name = npy_types[t].name;
      in->element_bytes = npy_types[t].bytes;
      in->exact_in_float32 = npy_types[t].exact_in_float32;
    }
  if (!in->type_name)
    PRSVD_ERR(PRSVD_ERR_INPUT,
              "'%s': .npy dtype '%s' is not supported (expected <f8, <f4, <i4, <i8 or |u1; "
              "convert with numpy's astype)",
              x->path, in->descr);
  p = dict_value(h, "fortran_order");
  if (!p || (strncmp(p, "False", 5) && strncmp(p, "True", 4)))
    PRSVD_ERR(PRSVD_ERR_INPUT, "'%s': malformed .npy header (no 'fortran_order' True or False): %s",
              x->path, h);
  if (*p == 'T')
    PRSVD_ERR(PRSVD_ERR_INPUT,
              "'%s' is in Fortran order (fortran_order: True): import reads C order; save "
              "numpy.ascontiguousarray(a) instead",
              x->path);
  p = dict_value(h, "shape");
  if (!p || *p != '(')
    PRSVD_ERR(PRSVD_ERR_INPUT, "'%s': malformed .npy header (no 'shape' tuple): %s", x->path, h);
  int64_t dims[32];
  int nd = 0;
  for (p++;;) {
    while (isspace((unsigned char)*p) || *p == ',') p++;
    if (*p == ')') break;
    char *e;
    errno = 0;
    long long v = strtoll(p, &e, 10);
    if (e == p || errno || v < 0 || nd == 32)
      PRSVD_ERR(PRSVD_ERR_INPUT, "'%s': malformed .npy header (bad 'shape'): %s", x->path, h);
    dims[nd++] = v;
    p = e;
  }
  if (nd != 2) {
    char shape[256] = "(";
    for (int d = 0; d < nd && strlen(shape) < 200; d++)
      snprintf(shape + strlen(shape), sizeof shape - strlen(shape), "%s%lld", d ? ", " : "",
               (long long)dims[d]);
    strcat(shape, nd == 1 ? ",)" : ")");
    PRSVD_ERR(PRSVD_ERR_INPUT, "'%s' holds a %d-D array of shape %s: import takes a 2-D array",
              x->path, nd, shape);
  }
  if (dims[0] == 0 || dims[1] == 0)
    PRSVD_ERR(PRSVD_ERR_INPUT, "'%s' holds an empty %lld x %lld array", x->path,
              (long long)dims[0], (long long)dims[1]);
  if (dims[1] > ((int64_t)1 << 40) || dims[0] > (((int64_t)1 << 62) / in->element_bytes) / dims[1])
    PRSVD_ERR(PRSVD_ERR_INPUT, "'%s': the %lld x %lld array is too large", x->path,
              (long long)dims[0], (long long)dims[1]);
  in->rows = dims[0];
  in->cols = dims[1];
  return PRSVD_OK;
}

int prsvd_npy_is_npy(const char *path) {
  char head[6];
  struct stat st;
  if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) return 0; /* fopen of a FIFO blocks */
  FILE *f = fopen(path, "rb");
  if (!f) return 0;
  int yes = fread(head, 1, 6, f) == 6 && !memcmp(head, magic, 6);
  fclose(f);
  return yes;
}

int prsvd_npy_open(const char *path, prsvd_npy **out) {
  int status = PRSVD_OK;
  prsvd_npy *x = NULL;
  char *header = NULL;
  unsigned char pre[12];
  struct stat st;
  *out = NULL;
  PRSVD_CHECK(prsvd_path_check_input(path, "input")); /* open of a FIFO blocks */
  PRSVD_ALLOC(x, 1);
  x->fd = open(path, O_RDONLY);
  x->path = strdup(path);
  if (!x->path) PRSVD_FAIL(PRSVD_ERR_NOMEM, "out of memory");
  if (x->fd < 0) PRSVD_FAIL(PRSVD_ERR_INPUT, "cannot open '%s': %s", path, strerror(errno));
  if (fstat(x->fd, &st) != 0 || !S_ISREG(st.st_mode))
    PRSVD_FAIL(PRSVD_ERR_INPUT, "'%s' is not a regular file", path);
  if (st.st_size < 10) PRSVD_FAIL(PRSVD_ERR_INPUT, "'%s' is too short for a .npy file", path);
  PRSVD_TRY(read_at(x, pre, st.st_size >= 12 ? 12 : 10, 0));
  if (memcmp(pre, magic, 6))
    PRSVD_FAIL(PRSVD_ERR_INPUT, "'%s' is not a .npy file (no \\x93NUMPY magic string)", path);
  int64_t header_len;
  if (pre[6] == 1 && pre[7] == 0) {
    header_len = (int64_t)le(pre + 8, 2);
    x->info.data_offset = 10 + header_len;
  } else if (pre[6] == 2 && pre[7] == 0 && st.st_size >= 12) {
    header_len = (int64_t)le(pre + 8, 4);
    x->info.data_offset = 12 + header_len;
  } else {
    PRSVD_FAIL(PRSVD_ERR_INPUT, "'%s': .npy format version %d.%d is not supported (expected 1.0 or 2.0)",
               path, pre[6], pre[7]);
  }
  if (x->info.data_offset > st.st_size || header_len > (1 << 24))
    PRSVD_FAIL(PRSVD_ERR_INPUT, "'%s' is truncated: its .npy header of %lld bytes does not fit in the file",
               path, (long long)header_len);
  PRSVD_ALLOC(header, header_len + 1);
  PRSVD_TRY(read_at(x, header, (size_t)header_len, x->info.data_offset - header_len));
  for (int64_t i = header_len - 1; i >= 0 && isspace((unsigned char)header[i]); i--) header[i] = '\0';
  PRSVD_TRY(parse_header(x, header));
  int64_t data = x->info.rows * x->info.cols * x->info.element_bytes;
  int64_t have = (int64_t)st.st_size - x->info.data_offset;
  if (have < data)
    PRSVD_FAIL(PRSVD_ERR_INPUT,
               "'%s' is truncated: its header promises %lld x %lld %s values (%lld bytes), the file "
               "holds %lld",
               path, (long long)x->info.rows, (long long)x->info.cols, x->info.descr,
               (long long)data, (long long)have);
  if (have > data)
    PRSVD_FAIL(PRSVD_ERR_INPUT, "'%s' holds %lld bytes after the %lld x %lld values of its header",
               path, (long long)(have - data), (long long)x->info.rows, (long long)x->info.cols);
  *out = x;
  x = NULL;
done:
  free(header);
  prsvd_npy_close(&x);
  return status;
}

const struct prsvd_npy_info *prsvd_npy_get_info(const prsvd_npy *x) { return &x->info; }

int prsvd_npy_read_rows(prsvd_npy *x, int64_t row0, int64_t nrows, double *rows) {
  const struct prsvd_npy_info *in = &x->info;
  if (row0 < 0 || nrows < 0 || row0 + nrows > in->rows)
    PRSVD_ERR(PRSVD_ERR_INTERNAL, "'%s': rows [%lld, %lld) asked of a .npy file with %lld rows",
              x->path, (long long)row0, (long long)(row0 + nrows), (long long)in->rows);
  int64_t count = nrows * in->cols;
  size_t bytes = (size_t)count * (size_t)in->element_bytes;
  if (bytes > x->raw_bytes) {
    unsigned char *raw = realloc(x->raw, bytes);
    if (!raw) PRSVD_ERR(PRSVD_ERR_NOMEM, "out of memory allocating %zu bytes", bytes);
    x->raw = raw;
    x->raw_bytes = bytes;
  }
  PRSVD_CHECK(read_at(x, x->raw, bytes, in->data_offset + row0 * in->cols * in->element_bytes));
  const unsigned char *p = x->raw;
  int eb = in->element_bytes;
  char kind = in->descr[1];
  for (int64_t i = 0; i < count; i++, p += eb) {
    uint64_t u = le(p, eb);
    if (kind == 'u') {
      rows[i] = (double)u;
    } else if (kind == 'i') {
      rows[i] = eb == 4 ? (double)(int32_t)(uint32_t)u : (double)(int64_t)u;
    } else if (eb == 4) {
      uint32_t w = (uint32_t)u;
      float f;
      memcpy(&f, &w, sizeof f);
      rows[i] = f;
    } else {
      memcpy(&rows[i], &u, sizeof u);
    }
  }
  return PRSVD_OK;
}

void prsvd_npy_close(prsvd_npy **x) {
  if (!x || !*x) return;
  if ((*x)->fd >= 0) close((*x)->fd);
  free((*x)->path);
  free((*x)->raw);
  free(*x);
  *x = NULL;
}

/* Matrix sources: the row-panel interface every algorithm streams through, and the
 * in-memory implementation used by tests and by callers holding arrays. */
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "prsvd.h"

struct prsvd_source {
  int64_t rows, cols, nnz;
  struct prsvd_csr scratch; /* densifying a sparse source */
  double *row;              /* one row, converting read_rows to float32 */
  struct prsvd_source_layout layout;
  int64_t file_bytes;       /* -1: the OS does not count */
  int64_t lent_bytes;       /* rows lent in place, of file_bytes */
  char *name;
  struct prsvd_source_ops ops;
  void *ctx;
  int64_t col0;             /* a column view: its first column in the underlying source */
};

int prsvd_check_shape(int64_t rows, int64_t cols, int dense, const char *what) {
  if (rows < 1 || cols < 1)
    PRSVD_ERR(PRSVD_ERR_INPUT, "%s is empty (%lld x %lld)", what, (long long)rows, (long long)cols);
  if (dense && prsvd_size_mul(prsvd_size_mul(rows, cols), 8) == PRSVD_SIZE_OVERFLOW)
    PRSVD_ERR(PRSVD_ERR_INPUT, "%s is %lld x %lld: %.3g bytes as float64, more than the 2^63 - 1 bytes a file holds",
              what, (long long)rows, (long long)cols, 8.0 * (double)rows * (double)cols);
  return PRSVD_OK;
}

/* A source of either kind (nnz < 0: dense), its shape checked first. */
static int source_new(int64_t rows, int64_t cols, int64_t nnz, const char *name,
                      const struct prsvd_source_ops *ops, void *ctx, prsvd_source **out) {
  int status = PRSVD_OK;
  prsvd_source *s = NULL;
  char what[256];
  *out = NULL;
  snprintf(what, sizeof what, "'%s'", name ? name : "matrix");
  PRSVD_CHECK(prsvd_check_shape(rows, cols, nnz < 0, what));
  PRSVD_ALLOC(s, 1);
  s->rows = rows;
  s->cols = cols;
  s->nnz = nnz;
  s->ops = *ops;
  s->ctx = ctx;
  s->file_bytes = 0;
  s->name = strdup(name ? name : "matrix");
  if (!s->name) PRSVD_FAIL(PRSVD_ERR_NOMEM, "out of memory copying a source name");
  *out = s;
  return PRSVD_OK;
done:
  if (s) free(s);
  return status;
}

int prsvd_source_create(int64_t rows, int64_t cols, const char *name,
                        const struct prsvd_source_ops *ops, void *ctx, prsvd_source **out) {
  return source_new(rows, cols, -1, name, ops, ctx, out);
}

int prsvd_source_create_sparse(int64_t rows, int64_t cols, int64_t nnz, const char *name,
                               const struct prsvd_source_ops *ops, void *ctx, prsvd_source **out) {
  /* its CSR panels hold 16 bytes an entry (value and index), counted in int64 */
  if (nnz < 0 || prsvd_size_mul(nnz, 16) == PRSVD_SIZE_OVERFLOW)
    PRSVD_ERR(PRSVD_ERR_INPUT, "'%s' claims %lld stored entries: at most %lld (16 bytes each in int64)",
              name ? name : "matrix", (long long)nnz, (long long)(INT64_MAX / 16));
  return source_new(rows, cols, nnz, name, ops, ctx, out);
}

int prsvd_source_rename(prsvd_source *s, const char *name) {
  char *copy = strdup(name);
  if (!copy) PRSVD_ERR(PRSVD_ERR_NOMEM, "out of memory copying a source name");
  free(s->name);
  s->name = copy;
  return PRSVD_OK;
}

int64_t prsvd_source_nnz(const prsvd_source *s) { return s->ops.read_csr ? s->nnz : -1; }

void prsvd_csr_free(struct prsvd_csr *p) {
  free(p->indptr);
  free(p->indices);
  free(p->data);
  memset(p, 0, sizeof *p);
}

int prsvd_csr_check(const struct prsvd_csr *p, int64_t nrows, int64_t cols, const char *name,
                    int64_t row0) {
  if (p->rows != nrows || p->nnz < 0 || p->nnz > p->cap || (nrows > 0 && !p->indptr))
    PRSVD_ERR(PRSVD_ERR_INTERNAL, "'%s': a CSR panel of %lld rows and %lld entries (room for %lld) for rows [%lld, %lld)",
              name, (long long)p->rows, (long long)p->nnz, (long long)p->cap, (long long)row0,
              (long long)(row0 + nrows));
  if (p->indptr[0] != 0 || p->indptr[nrows] != p->nnz)
    PRSVD_ERR(PRSVD_ERR_INPUT, "'%s': indptr of rows [%lld, %lld) runs from %lld to %lld, not over its %lld entries",
              name, (long long)row0, (long long)(row0 + nrows), (long long)p->indptr[0],
              (long long)p->indptr[nrows], (long long)p->nnz);
  for (int64_t i = 0; i < nrows; i++) /* then every indptr lies in [0, nnz] */
    if (p->indptr[i + 1] < p->indptr[i])
      PRSVD_ERR(PRSVD_ERR_INPUT, "'%s': indptr decreases at row %lld", name, (long long)(row0 + i));
  for (int64_t i = 0; i < nrows; i++)
    for (int64_t t = p->indptr[i]; t < p->indptr[i + 1]; t++)
      if (p->indices[t] < 0 || p->indices[t] >= cols)
        PRSVD_ERR(PRSVD_ERR_INPUT, "'%s': row %lld has column index %lld outside [0, %lld)", name,
                  (long long)(row0 + i), (long long)p->indices[t], (long long)cols);
  return PRSVD_OK;
}

int64_t prsvd_source_rows(const prsvd_source *s) { return s->rows; }
int64_t prsvd_source_cols(const prsvd_source *s) { return s->cols; }
const char *prsvd_source_name(const prsvd_source *s) { return s->name; }

void prsvd_source_set_layout(prsvd_source *s, const struct prsvd_source_layout *layout) {
  s->layout = *layout;
}

void prsvd_source_get_layout(const prsvd_source *s, struct prsvd_source_layout *layout) {
  *layout = s->layout;
}

int64_t prsvd_source_file_bytes(const prsvd_source *s) { return s->file_bytes; }

/* Bytes the calling thread's read() calls have returned (Linux's rchar), and the length of
 * the text this query itself read, which the next query will count; -1 elsewhere. */
static int64_t thread_rchar(int64_t *own) {
  char buf[512];
  int fd = open("/proc/thread-self/io", O_RDONLY);
  if (fd < 0) return -1;
  ssize_t len = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (len <= 0) return -1;
  buf[len] = '\0';
  *own = (int64_t)len;
  const char *r = strstr(buf, "rchar:");
  return r ? strtoll(r + 6, NULL, 10) : -1;
}

/* Every read of a source counts the bytes it takes from files: this thread's rchar before
 * and after, less the text of the first query (which the second counts). */
struct rchar_mark {
  int64_t before, own;
};

static void count_begin(const prsvd_source *s, struct rchar_mark *mk) {
  mk->own = 0;
  mk->before = s->file_bytes >= 0 ? thread_rchar(&mk->own) : -1;
}

static void count_end(prsvd_source *s, const struct rchar_mark *mk) {
  int64_t own;
  const int64_t after = mk->before >= 0 ? thread_rchar(&own) : -1;
  if (mk->before < 0 || after < 0) s->file_bytes = -1;
  else s->file_bytes += after - mk->before - mk->own;
}

static int check_range(const prsvd_source *s, int64_t row0, int64_t nrows) {
  if (row0 < 0 || nrows < 0 || row0 + nrows > s->rows)
    PRSVD_ERR(PRSVD_ERR_INTERNAL, "'%s': rows [%lld, %lld) exceed extent %lld", s->name,
              (long long)row0, (long long)(row0 + nrows), (long long)s->rows);
  return PRSVD_OK;
}

struct csr_entry {
  int64_t col;
  double value;
};

static int by_column(const void *a, const void *b) {
  const int64_t x = ((const struct csr_entry *)a)->col, y = ((const struct csr_entry *)b)->col;
  return (x > y) - (x < y);
}

/* Each row of a checked CSR panel in scipy's canonical form, in place: its entries sorted by
 * column and those of one (i, j) summed into one (what scipy's toarray() and sum_duplicates
 * make of them), so that the norms and column sums of squares, which square stored values,
 * agree with the products, which sum them.  A row already strictly increasing (as most files
 * are) costs one look; one out of order is sorted through a scratch of its length. */
static int csr_canonical(struct prsvd_csr *p, const char *name) {
  int status = PRSVD_OK;
  struct csr_entry *sorted = NULL;
  int64_t cap = 0, out = 0, b = 0;
  for (int64_t i = 0; i < p->rows; i++) {
    const int64_t e = p->indptr[i + 1], start = out;
    int increasing = 1, strict = 1;
    for (int64_t t = b + 1; t < e; t++) {
      if (p->indices[t] < p->indices[t - 1]) increasing = 0;
      if (p->indices[t] <= p->indices[t - 1]) strict = 0;
    }
    if (!increasing) { /* sorted by column through the scratch */
      if (e - b > cap) {
        free(sorted);
        cap = e - b;
        if (!(sorted = malloc(sizeof *sorted * (size_t)cap)))
          PRSVD_FAIL(PRSVD_ERR_NOMEM, "'%s': out of memory sorting row %lld's %lld entries", name, (long long)i,
                     (long long)(e - b));
      }
      for (int64_t t = b; t < e; t++) sorted[t - b] = (struct csr_entry){p->indices[t], p->data[t]};
      qsort(sorted, (size_t)(e - b), sizeof *sorted, by_column);
      for (int64_t t = b; t < e; t++) p->indices[t] = sorted[t - b].col, p->data[t] = sorted[t - b].value;
    }
    if (strict && out == b) {
      out = e;
    } else {
      for (int64_t t = b; t < e; t++)
        if (out > start && p->indices[out - 1] == p->indices[t]) {
          p->data[out - 1] += p->data[t];
        } else {
          p->indices[out] = p->indices[t], p->data[out] = p->data[t];
          out++;
        }
    }
    b = e;
    p->indptr[i + 1] = out;
  }
  p->nnz = out;
done:
  free(sorted);
  return status;
}

int prsvd_source_read_csr(prsvd_source *s, int64_t row0, int64_t nrows, struct prsvd_csr *panel) {
  struct rchar_mark mk;
  if (!s->ops.read_csr) PRSVD_ERR(PRSVD_ERR_INTERNAL, "'%s' is not a sparse source", s->name);
  PRSVD_CHECK(check_range(s, row0, nrows));
  count_begin(s, &mk);
  const int status = s->ops.read_csr(s->ctx, row0, nrows, panel);
  count_end(s, &mk);
  PRSVD_CHECK(status);
  /* every panel checked whole before a kernel indexes by it (a fuzzer found the reads past an
   * empty panel that checking only the two ends of indptr let through) */
  PRSVD_CHECK(prsvd_csr_check(panel, nrows, s->cols, s->name, row0));
  return csr_canonical(panel, s->name);
}

/* The largest finite |x_i| of count values */
static double finite_max(const double *x, int64_t count) {
  double mx = 0.0;
  for (int64_t i = 0; i < count; i++)
    if (isfinite(x[i]) && fabs(x[i]) > mx) mx = fabs(x[i]);
  return mx;
}

/* The power of two that keeps values whose largest finite magnitude is amax in float32's
 * range: 0 within [2^-100, 2^101) (the digits of values 2^24 below the largest stay normal,
 * and n products of them stay far below 2^128), else the e with 2^e amax in [1, 2). */
static int narrow_exponent(double amax) {
  if (!(amax > 0.0)) return 0;
  const int ea = ilogb(amax);
  return ea >= -100 && ea <= 100 ? 0 : -ea;
}

/* A sparse source's rows, densified. */
static int read_densified(prsvd_source *s, int64_t row0, int64_t nrows, double *panel) {
  PRSVD_CHECK(s->ops.read_csr(s->ctx, row0, nrows, &s->scratch));
  PRSVD_CHECK(prsvd_csr_check(&s->scratch, nrows, s->cols, s->name, row0));
  memset(panel, 0, sizeof(double) * (size_t)(nrows * s->cols));
  for (int64_t i = 0; i < nrows; i++)
    for (int64_t t = s->scratch.indptr[i]; t < s->scratch.indptr[i + 1]; t++)
      panel[i * s->cols + s->scratch.indices[t]] += s->scratch.data[t];
  return PRSVD_OK;
}

/* Rows as float64, or as float32 (single): the source's own reader for that type, else
 * float64 rows converted one at a time (n doubles of scratch), times 2^*exp: 0 while the rows
 * so far lie in float32's range (narrow_exponent), else moved, the rows converted before
 * rescaled, when 2^*exp times their max leaves it (a few times at most: by 2^100 or more). */
static int read_any(prsvd_source *s, int64_t row0, int64_t nrows, int single, void *panel, int *exp) {
  *exp = 0;
  if (!single) {
    if (s->ops.read_rows) return s->ops.read_rows(s->ctx, row0, nrows, panel);
    return read_densified(s, row0, nrows, panel);
  }
  if (s->ops.read_rows_f32) return s->ops.read_rows_f32(s->ctx, row0, nrows, panel, exp);
  if (!s->row && !(s->row = malloc(sizeof(double) * (size_t)s->cols)))
    PRSVD_ERR(PRSVD_ERR_NOMEM, "out of memory for a row of '%s'", s->name);
  float *out = panel;
  double amax = 0.0;
  int row_exp;
  for (int64_t i = 0; i < nrows; i++) {
    PRSVD_CHECK(read_any(s, row0 + i, 1, 0, s->row, &row_exp));
    amax = fmax(amax, finite_max(s->row, s->cols));
    if (narrow_exponent(ldexp(amax, *exp))) { /* out of range at the exponent so far */
      const int e = narrow_exponent(amax);
      const double rescale = ldexp(1.0, e - *exp); /* <= 1: amax only grows */
      for (int64_t x = 0; x < i * s->cols; x++) out[x] = (float)(out[x] * rescale);
      *exp = e;
    }
    const double scale = ldexp(1.0, *exp);
    for (int64_t j = 0; j < s->cols; j++) out[i * s->cols + j] = (float)(s->row[j] * scale);
  }
  return PRSVD_OK;
}

static int read_counted(prsvd_source *s, int64_t row0, int64_t nrows, int single, void *panel, int *exp) {
  struct rchar_mark mk;
  PRSVD_CHECK(check_range(s, row0, nrows));
  count_begin(s, &mk);
  const int status = read_any(s, row0, nrows, single, panel, exp);
  count_end(s, &mk);
  return status;
}

int prsvd_source_own_panels(const prsvd_source *s, int single) {
  if (s->nnz >= 0) return 0;
  return s->layout.scratch_panels + (single ? s->layout.f32_staging : 0);
}

/* Rows lent in place: counted as file bytes (their pages come from the file, not through
 * read()). */
int prsvd_source_lends(const prsvd_source *s, int single) {
  return s->ops.lend_rows && s->layout.lends == (single ? 4 : 8);
}

int prsvd_source_lend(prsvd_source *s, int64_t row0, int64_t nrows, struct prsvd_rows_lent *lent) {
  PRSVD_CHECK(check_range(s, row0, nrows));
  PRSVD_CHECK(s->ops.lend_rows(s->ctx, row0, nrows, lent));
  if (s->file_bytes >= 0) s->file_bytes += nrows * s->cols * s->layout.lends;
  s->lent_bytes += nrows * s->cols * s->layout.lends;
  return PRSVD_OK;
}

int64_t prsvd_source_lent_bytes(const prsvd_source *s) { return s->lent_bytes; }

int prsvd_source_return(prsvd_source *s, struct prsvd_rows_lent *lent) {
  const int status = lent->base ? s->ops.return_rows(s->ctx, lent) : PRSVD_OK;
  memset(lent, 0, sizeof *lent);
  return status;
}

/* Public (prsvd.h): io/ and the program read rows through here too. */
int prsvd_source_read(prsvd_source *s, int64_t row0, int64_t nrows, double *panel) {
  int exp;
  return read_counted(s, row0, nrows, 0, panel, &exp);
}

int prsvd_source_read_f32(prsvd_source *s, int64_t row0, int64_t nrows, float *panel, int *exp) {
  return read_counted(s, row0, nrows, 1, panel, exp);
}

int prsvd_narrow_rows(const double *x, int64_t count, float *y) {
  /* rounded as they are while their largest is measured, in the one sweep in-range data needs;
   * narrowed again only when that largest asks for a power of two */
  double mx = 0.0;
  for (int64_t i = 0; i < count; i++) {
    y[i] = (float)x[i];
    if (isfinite(x[i]) && fabs(x[i]) > mx) mx = fabs(x[i]);
  }
  const int e = narrow_exponent(mx);
  if (e) {
    const double scale = ldexp(1.0, e);
    for (int64_t i = 0; i < count; i++) y[i] = (float)(x[i] * scale);
  }
  return e;
}

void prsvd_source_destroy(prsvd_source **s) {
  if (!s || !*s) return;
  if ((*s)->ops.destroy) (*s)->ops.destroy((*s)->ctx);
  prsvd_csr_free(&(*s)->scratch);
  free((*s)->row);
  free((*s)->name);
  free(*s);
  *s = NULL;
}

int64_t prsvd_source_col0(const prsvd_source *s) { return s->col0; }
int prsvd_source_has_blocks(const prsvd_source *s) {
  return prsvd_source_nnz(s) < 0 && s->ops.read_block;
}

/* A column view reads the rows' window through the underlying source, counting the bytes there
 * (where the solve's totals look). */
struct view_ctx {
  prsvd_source *base;
  int64_t col0, ncols;
};

static int view_read_any(struct view_ctx *v, int64_t row0, int64_t nrows, int single, void *panel, int *exp) {
  struct rchar_mark mk;
  prsvd_source *b = v->base;
  count_begin(b, &mk);
  *exp = 0;
  const int status = b->ops.read_block(b->ctx, row0, nrows, v->col0, v->ncols, single, panel, exp);
  count_end(b, &mk);
  return status;
}

static int view_read(void *ctx, int64_t row0, int64_t nrows, double *panel) {
  int exp;
  return view_read_any(ctx, row0, nrows, 0, panel, &exp);
}

static int view_read_f32(void *ctx, int64_t row0, int64_t nrows, float *panel, int *exp) {
  return view_read_any(ctx, row0, nrows, 1, panel, exp);
}

static void view_destroy(void *ctx) { free(ctx); }

int prsvd_source_columns(prsvd_source *s, int64_t col0, int64_t ncols, prsvd_source **out) {
  static const struct prsvd_source_ops ops = {view_read, view_destroy, NULL, view_read_f32, NULL, NULL, NULL};
  int status = PRSVD_OK;
  struct view_ctx *v = NULL;
  *out = NULL;
  if (prsvd_source_nnz(s) >= 0)
    PRSVD_ERR(PRSVD_ERR_USAGE, "'%s' is sparse: a 2-D process grid (--grid PRxPC with PC > 1) reads dense "
              "sources only; use --grid Px1", s->name);
  if (!s->ops.read_block)
    PRSVD_ERR(PRSVD_ERR_USAGE, "'%s' cannot be read by column blocks (column panels, or a source without "
              "read_block): a 2-D process grid (--grid PRxPC with PC > 1) needs row panels; use --grid Px1",
              s->name);
  if (col0 < 0 || ncols < 1 || col0 + ncols > s->cols)
    PRSVD_ERR(PRSVD_ERR_INTERNAL, "'%s': column block [%lld, %lld) outside its %lld columns", s->name,
              (long long)col0, (long long)(col0 + ncols), (long long)s->cols);
  PRSVD_ALLOC(v, 1);
  v->base = s, v->col0 = col0, v->ncols = ncols;
  PRSVD_TRY(prsvd_source_create(s->rows, ncols, s->name, &ops, v, out));
  v = NULL;
  (*out)->layout = s->layout;
  (*out)->layout.scratch_panels = 0;
  (*out)->layout.lends = 0; /* a column block is not contiguous in the file */
  (*out)->col0 = col0;
done:
  free(v);
  return status;
}

struct memory_ctx {
  const double *a;
  int64_t cols, lda;
};

/* float32 blocks narrowed as prsvd_narrow_rows narrows a panel, with one exponent for the block */
static int memory_read_block(void *ctx, int64_t row0, int64_t nrows, int64_t col0, int64_t ncols,
                             int single, void *panel, int *exp) {
  const struct memory_ctx *m = ctx;
  double amax = 0.0;
  for (int64_t i = 0; single && i < nrows; i++) amax = fmax(amax, finite_max(m->a + (row0 + i) * m->lda + col0, ncols));
  *exp = single ? narrow_exponent(amax) : 0;
  const double scale = ldexp(1.0, *exp);
  for (int64_t i = 0; i < nrows; i++) {
    const double *row = m->a + (row0 + i) * m->lda + col0;
    if (single)
      for (int64_t j = 0; j < ncols; j++) ((float *)panel)[i * ncols + j] = (float)(row[j] * scale);
    else
      memcpy((double *)panel + i * ncols, row, sizeof(double) * (size_t)ncols);
  }
  return PRSVD_OK;
}

static int memory_read(void *ctx, int64_t row0, int64_t nrows, double *panel) {
  const struct memory_ctx *m = ctx;
  int exp;
  return memory_read_block(ctx, row0, nrows, 0, m->cols, 0, panel, &exp);
}

static int memory_read_f32(void *ctx, int64_t row0, int64_t nrows, float *panel, int *exp) {
  const struct memory_ctx *m = ctx;
  return memory_read_block(ctx, row0, nrows, 0, m->cols, 1, panel, exp);
}

static void memory_destroy(void *ctx) { free(ctx); }

int prsvd_source_memory(int64_t rows, int64_t cols, const double *a, int64_t lda,
                        prsvd_source **out) {
  static const struct prsvd_source_ops ops = {memory_read, memory_destroy, NULL, memory_read_f32,
                                              memory_read_block, NULL, NULL};
  int status = PRSVD_OK;
  struct memory_ctx *m = NULL;
  *out = NULL;
  if (lda < cols) PRSVD_ERR(PRSVD_ERR_USAGE, "memory source: lda %lld < cols %lld", (long long)lda, (long long)cols);
  PRSVD_ALLOC(m, 1);
  m->a = a;
  m->cols = cols;
  m->lda = lda;
  PRSVD_TRY(prsvd_source_create(rows, cols, "memory", &ops, m, out));
  return PRSVD_OK;
done:
  free(m);
  return status;
}

/* A source seen through a selection and an entry-wise transform, without a copy of the matrix
 * (prsvd_source_transform, prsvd.h): only the selected rows are read, each panel gathering
 * them from the underlying source run by run; a column selection drops the other columns'
 * entries of CSR panels as they are read; log1p replaces every value x read (for CSR only the
 * stored ones, so zeros stay zeros) by log(1 + x), refusing x <= -1 (whose log1p is -inf or
 * NaN) with the entry's row and column in the underlying matrix.  What the PCA of a subset of
 * cells of log-transformed counts streams (pca --rows-where, --log1p). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "prsvd.h"
#include "source_impl.h"

struct transform_ctx {
  prsvd_source *s;       /* the underlying source, owned */
  int64_t *rows;         /* selected rows of s, ascending (NULL: all) */
  int64_t *col_new;      /* s's column j -> this source's column, or -1 (NULL: all) */
  int log1p;
  struct prsvd_csr run;  /* CSR scratch: one run of consecutive selected rows */
};

static int64_t under_row(const struct transform_ctx *c, int64_t row) { return c->rows ? c->rows[row] : row; }

static int bad_entry(const struct transform_ctx *c, int64_t row, int64_t col, double x) {
  PRSVD_ERR(PRSVD_ERR_INPUT,
            "cannot apply --log1p to '%s': entry (%lld, %lld) is %g, and log(1 + x) is not a number for x <= -1 "
            "(log1p is for counts, which are nonnegative)",
            prsvd_source_name(c->s), (long long)row, (long long)col, x);
}

/* The runs of consecutive underlying rows among this source's rows [row0, row0 + nrows). */
static int64_t run_end(const struct transform_ctx *c, int64_t i, int64_t end) {
  int64_t e = i + 1;
  while (e < end && under_row(c, e) == under_row(c, e - 1) + 1) e++;
  return e;
}

static int tr_read_rows(void *ctx, int64_t row0, int64_t nrows, double *panel) {
  struct transform_ctx *c = ctx;
  const int64_t n = prsvd_source_cols(c->s);
  for (int64_t i = row0; i < row0 + nrows;) {
    const int64_t e = run_end(c, i, row0 + nrows);
    PRSVD_CHECK(prsvd_source_read(c->s, under_row(c, i), e - i, panel + (i - row0) * n));
    i = e;
  }
  if (c->log1p)
    for (int64_t i = 0; i < nrows; i++)
      for (int64_t j = 0; j < n; j++) {
        double *x = &panel[i * n + j];
        if (!(*x > -1.0)) PRSVD_CHECK(bad_entry(c, under_row(c, row0 + i), j, *x));
        *x = log1p(*x);
      }
  return PRSVD_OK;
}

/* Grow a CSR panel to hold rows and nnz entries. */
static int csr_room(struct prsvd_csr *p, int64_t rows, int64_t nnz) {
  int64_t *ip = realloc(p->indptr, sizeof(int64_t) * (size_t)(rows + 1));
  if (!ip) PRSVD_ERR(PRSVD_ERR_NOMEM, "out of memory for a CSR panel");
  p->indptr = ip;
  if (nnz > p->cap) {
    int64_t *ix = realloc(p->indices, sizeof(int64_t) * (size_t)(nnz > 0 ? nnz : 1));
    if (ix) p->indices = ix;
    double *d = ix ? realloc(p->data, sizeof(double) * (size_t)(nnz > 0 ? nnz : 1)) : NULL;
    if (d) p->data = d;
    if (!ix || !d) PRSVD_ERR(PRSVD_ERR_NOMEM, "out of memory for a CSR panel of %lld entries", (long long)nnz);
    p->cap = nnz;
  }
  return PRSVD_OK;
}

static int tr_read_csr(void *ctx, int64_t row0, int64_t nrows, struct prsvd_csr *panel) {
  struct transform_ctx *c = ctx;
  int64_t nnz = 0;
  PRSVD_CHECK(csr_room(panel, nrows, 0));
  panel->rows = nrows;
  panel->indptr[0] = 0;
  for (int64_t i = row0; i < row0 + nrows;) {
    const int64_t e = run_end(c, i, row0 + nrows);
    PRSVD_CHECK(prsvd_source_read_csr(c->s, under_row(c, i), e - i, &c->run));
    PRSVD_CHECK(csr_room(panel, nrows, nnz + c->run.nnz));
    for (int64_t r = 0; r < e - i; r++) {
      for (int64_t t = c->run.indptr[r]; t < c->run.indptr[r + 1]; t++) {
        const int64_t j = c->col_new ? c->col_new[c->run.indices[t]] : c->run.indices[t];
        double x = c->run.data[t];
        if (j < 0) continue;
        if (c->log1p) {
          if (!(x > -1.0)) PRSVD_CHECK(bad_entry(c, under_row(c, i + r), c->run.indices[t], x));
          x = log1p(x);
        }
        panel->indices[nnz] = j, panel->data[nnz] = x, nnz++;
      }
      panel->indptr[i + r - row0 + 1] = nnz;
    }
    i = e;
  }
  panel->nnz = nnz;
  return PRSVD_OK;
}

static void tr_destroy(void *ctx) {
  struct transform_ctx *c = ctx;
  if (!c) return;
  prsvd_source_destroy(&c->s);
  prsvd_csr_free(&c->run);
  free(c->rows);
  free(c->col_new);
  free(c);
}

int prsvd_source_transform(prsvd_source **s, const struct prsvd_transform *t) {
  int status = PRSVD_OK;
  struct transform_ctx *c = NULL;
  prsvd_source *out = NULL;
  const int64_t m = prsvd_source_rows(*s), n = prsvd_source_cols(*s), nnz = prsvd_source_nnz(*s);
  int64_t rows = m, cols = n;
  if (!t->row_mask && !t->col_mask && !t->log1p) return PRSVD_OK;
  if (t->col_mask && nnz < 0)
    PRSVD_ERR(PRSVD_ERR_USAGE, "'%s': a column selection needs a sparse source", prsvd_source_name(*s));
  PRSVD_ALLOC(c, 1);
  c->log1p = t->log1p;
  if (t->row_mask) {
    rows = 0;
    for (int64_t i = 0; i < m; i++) rows += t->row_mask[i] != 0;
    PRSVD_ALLOC(c->rows, rows > 0 ? rows : 1);
    for (int64_t i = 0, r = 0; i < m; i++)
      if (t->row_mask[i]) c->rows[r++] = i;
  }
  if (t->col_mask) {
    cols = 0;
    PRSVD_ALLOC(c->col_new, n);
    for (int64_t j = 0; j < n; j++) c->col_new[j] = t->col_mask[j] ? cols++ : -1;
  }
  if (rows < 1 || cols < 1)
    PRSVD_FAIL(PRSVD_ERR_INPUT, "'%s': the selection leaves %lld x %lld", prsvd_source_name(*s), (long long)rows,
               (long long)cols);
  {
    struct prsvd_source_ops ops = {0};
    ops.destroy = tr_destroy;
    if (nnz >= 0) ops.read_csr = tr_read_csr;
    else ops.read_rows = tr_read_rows;
    /* the stored entries kept, as the plan counts them: the share of rows and columns kept */
    const int64_t kept = nnz >= 0 ? (int64_t)((double)nnz * ((double)rows / (double)m) * ((double)cols / (double)n)) : -1;
    PRSVD_TRY(nnz >= 0 ? prsvd_source_create_sparse(rows, cols, kept, prsvd_source_name(*s), &ops, c, &out)
                       : prsvd_source_create(rows, cols, prsvd_source_name(*s), &ops, c, &out));
  }
  { /* panels follow the underlying layout only where rows map one to one */
    struct prsvd_source_layout layout;
    prsvd_source_get_layout(*s, &layout);
    layout.lends = 0;
    if (t->row_mask) layout.chunk_rows = 0;
    if (layout.collective_reads && t->row_mask)
      PRSVD_FAIL(PRSVD_ERR_USAGE, "'%s': a row selection cannot be read with collective MPI-IO (--read independent or posix)",
                 prsvd_source_name(*s));
    prsvd_source_set_layout(out, &layout);
  }
  c->s = *s;
  *s = out;
  return PRSVD_OK;
done:
  if (out) {
    prsvd_source_destroy(&out); /* destroys c, which does not own *s yet */
  } else if (c) {
    free(c->rows), free(c->col_new), free(c);
  }
  return status;
}

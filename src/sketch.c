/* The panel loop of every pass: read, check, and the sketch updates of sketch.h. */
#include "sketch.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "blas.h"
#include "error.h"
#include "profile.h"
#include "prefetch.h"
#include "rng.h"
#include "source_impl.h"

static const char *const kind_names[] = {"gaussian", "sparse"};

int prsvd_sketch_kind_parse(const char *name, enum prsvd_sketch_kind *kind) {
  for (int i = 0; i < 2; i++)
    if (!strcmp(name, kind_names[i])) {
      *kind = (enum prsvd_sketch_kind)i;
      return PRSVD_OK;
    }
  PRSVD_ERR(PRSVD_ERR_USAGE, "unknown --sketch '%s': expected gaussian or sparse", name);
}

int prsvd_sparse_zeta(int64_t dim) { return dim < 8 ? (int)dim : 8; }

void prsvd_sparse_column(uint64_t seed, unsigned stream, int64_t index, int64_t dim, int *pos,
                         double *sign) {
  const int zeta = prsvd_sparse_zeta(dim);
  const uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
  uint32_t draw = 0;
  for (int t = 0; t < zeta; t++) {
    for (;;) { /* distinct positions by rejection: zeta <= 8 draws from dim >= zeta */
      const uint32_t ctr[4] = {(uint32_t)index, (uint32_t)((uint64_t)index >> 32), draw++,
                               0x5a000000u | (stream & 0xffffu)};
      uint32_t w[4];
      prsvd_philox4x32(ctr, key, w);
      int p = (int)(((uint64_t)w[0] * (uint64_t)dim) >> 32);
      int dup = 0;
      for (int u = 0; u < t; u++) dup |= pos[u] == p;
      if (!dup) {
        pos[t] = p;
        sign[t] = (w[1] & 1u) ? 1.0 : -1.0;
        break;
      }
    }
  }
}

int prsvd_sparse_right_create(uint64_t seed, unsigned stream, int64_t n, int64_t dim,
                              struct prsvd_sparse_right *r) {
  int status = PRSVD_OK;
  memset(r, 0, sizeof *r);
  r->dim = dim;
  r->zeta = prsvd_sparse_zeta(dim);
  PRSVD_ALLOC(r->pos, n * r->zeta);
  PRSVD_ALLOC(r->sign, n * r->zeta);
  for (int64_t j = 0; j < n; j++)
    prsvd_sparse_column(seed, stream, j, dim, r->pos + j * r->zeta, r->sign + j * r->zeta);
done:
  return status;
}

void prsvd_sparse_right_free(struct prsvd_sparse_right *r) {
  free(r->pos);
  free(r->sign);
  memset(r, 0, sizeof *r);
}

int64_t prsvd_pass_work_size(int64_t panel_rows, int64_t n_right, int64_t max_left_dim) {
  return panel_rows * (n_right + max_left_dim);
}

/* Run the statements with A the panel in hand, as const float * (single) or const double *:
 * the element-wise updates are written once for both precisions. */
#define WITH_PANEL(p, A, ...)                 \
  do {                                        \
    if ((p)->single) {                        \
      const float *A = (p)->panel32;          \
      __VA_ARGS__                             \
    } else {                                  \
      const double *A = (p)->panel;           \
      __VA_ARGS__                             \
    }                                         \
  } while (0)

static void widen(const float *x, size_t count, double *y) {
  for (size_t i = 0; i < count; i++) y[i] = x[i];
}

static void add_widened(const float *x, size_t count, double *y) {
  for (size_t i = 0; i < count; i++) y[i] += x[i];
}

/* x (rows x cols, ld ldx, column-major) as float32 into y (ld rows) */
static void narrow(const double *x, int64_t ldx, int64_t rows, int64_t cols, float *y) {
  for (int64_t c = 0; c < cols; c++)
    for (int64_t i = 0; i < rows; i++) y[c * rows + i] = (float)x[c * ldx + i];
}

static int check_finite(const struct prsvd_pass *p, int64_t row0, int64_t nr, int64_t n) {
  WITH_PANEL(p, A, {
    for (int64_t i = 0; i < nr; i++)
      for (int64_t j = 0; j < n; j++)
        if (!isfinite(A[i * n + j]))
          PRSVD_ERR(PRSVD_ERR_INPUT, "'%s': %s at row %lld, column %lld", prsvd_source_name(p->a),
                    isnan(A[i * n + j]) ? "NaN" : "Inf", (long long)(row0 + i), (long long)j);
  });
  return PRSVD_OK;
}

/* The single-precision scratch: R (n x n_right), P_i (panel_rows x n_right), K_i or G_i
 * (panel_rows x w) and an n x w product, w the widest co-range or left sketch. */
static int64_t f32_width(const struct prsvd_pass *p) {
  int64_t w = p->corange ? prsvd_dmat_cols(p->corange_src) : 0;
  for (int t = 0; t < p->n_left; t++)
    if (p->left[t].acc && p->left[t].g.dim > w) w = p->left[t].g.dim;
  return w;
}

static float *f32_right(const struct prsvd_pass *p) { return p->f32; }
static float *f32_prod(const struct prsvd_pass *p, int64_t n) { return p->f32 + n * p->n_right; }
static float *f32_rows(const struct prsvd_pass *p, int64_t n) {
  return f32_prod(p, n) + p->panel_rows * p->n_right;
}
static float *f32_out(const struct prsvd_pass *p, int64_t n) {
  return f32_rows(p, n) + p->panel_rows * f32_width(p);
}

static int f32_begin(struct prsvd_pass *p, int64_t n) {
  if (!p->single || p->csr) return PRSVD_OK;
  const int64_t w = f32_width(p);
  p->f32 = malloc(sizeof(float) * (size_t)((n + p->panel_rows) * (p->n_right + w)));
  if (!p->f32) PRSVD_ERR(PRSVD_ERR_NOMEM, "out of memory for the float32 copies of the sketches");
  if (p->right && p->n_right) narrow(p->right, n, n, p->n_right, f32_right(p));
  return PRSVD_OK;
}

/* out (n x c) += A_i^T x, x (nr x c, ld ldx) */
static double panel_t_times(const struct prsvd_pass *p, int nr, int n, const double *x, int ldx,
                            int c, double *out) {
  if (p->single) {
    const float one = 1.0f, zero = 0.0f;
    float *x32 = f32_rows(p, n), *o32 = f32_out(p, n);
    narrow(x, ldx, nr, c, x32);
    sgemm_("N", "N", &n, &c, &nr, &one, p->panel32, &n, x32, &nr, &zero, o32, &n);
    add_widened(o32, (size_t)n * (size_t)c, out);
  } else {
    const double one = 1.0;
    dgemm_("N", "N", &n, &c, &nr, &one, p->panel, &n, x, &ldx, &one, out, &n);
  }
  return 2.0 * (double)nr * n * c;
}

/* P (nr x c, ld nr) = A_i R; the row-major panel is the column-major n x nr A_i^T */
static double right_product(const struct prsvd_pass *p, int nr, int n, double *out) {
  const int c = (int)p->n_right;
  if (p->right && p->single) {
    const float one = 1.0f, zero = 0.0f;
    float *o32 = f32_prod(p, n);
    sgemm_("T", "N", &nr, &c, &n, &one, p->panel32, &n, f32_right(p), &n, &zero, o32, &nr);
    widen(o32, (size_t)nr * (size_t)c, out);
    return 2.0 * nr * (double)n * c;
  }
  if (p->right) {
    const double one = 1.0, zero = 0.0;
    dgemm_("T", "N", &nr, &c, &n, &one, p->panel, &n, p->right, &n, &zero, out, &nr);
    return 2.0 * nr * (double)n * c;
  }
  const struct prsvd_sparse_right *s = p->right_sparse;
  memset(out, 0, sizeof(double) * (size_t)nr * (size_t)c);
  WITH_PANEL(p, A, {
    for (int r = 0; r < nr; r++) {
      for (int j = 0; j < n; j++) {
        const double a = A[(size_t)r * n + j];
        const int *pos = s->pos + (size_t)j * s->zeta;
        const double *sg = s->sign + (size_t)j * s->zeta;
        for (int t = 0; t < s->zeta; t++) out[(size_t)pos[t] * nr + r] += sg[t] * a;
      }
    }
  });
  return 2.0 * nr * (double)n * s->zeta;
}

/* acc (n x d) += A_i^T G_i and core (d x cc) += G_i^T P(:, c0 : c0+cc) for a generated G */
static double left_update(const struct prsvd_pass *p, int t, int64_t row0, int nr, int n,
                          const double *prod, double *g) {
  const struct prsvd_testmat *tm = &p->left[t].g;
  const int d = (int)tm->dim, cc = (int)p->left[t].core_cols;
  const double one = 1.0;
  double flops = 0.0;
  if (tm->kind == PRSVD_SKETCH_GAUSSIAN) {
    /* G_i: nr x d, column-major */
    prsvd_rng_fill(tm->seed, tm->stream, row0, nr, 0, d, g, nr);
    if (p->left[t].acc) flops += panel_t_times(p, nr, n, g, nr, d, p->left[t].acc);
    if (p->left[t].core) {
      const double *pc = prod + (size_t)p->left[t].core_col0 * nr;
      dgemm_("T", "N", &d, &cc, &nr, &one, g, &nr, pc, &nr, &one, p->left[t].core, &d);
      flops += 2.0 * d * (double)nr * cc;
    }
    return flops;
  }
  const int zeta = prsvd_sparse_zeta(d);
  int pos[8];
  double sign[8];
  for (int r = 0; r < nr; r++) {
    prsvd_sparse_column(tm->seed, tm->stream, row0 + r, d, pos, sign);
    for (int u = 0; u < zeta; u++) {
      if (p->left[t].acc) {
        double *col = p->left[t].acc + (size_t)pos[u] * n;
        WITH_PANEL(p, A, {
          const size_t base = (size_t)r * n;
          for (int j = 0; j < n; j++) col[j] += sign[u] * A[base + j];
        });
      }
      if (p->left[t].core)
        for (int c = 0; c < cc; c++)
          p->left[t].core[(size_t)c * d + pos[u]] +=
              sign[u] * prod[(size_t)(p->left[t].core_col0 + c) * nr + r];
    }
  }
  return 2.0 * nr * (double)zeta * (n + cc);
}

/* ||A_i||_F^2 in extended precision (--tol subtracts it from the sketch's energy), column
 * sums and sums of squares, and the sampled entries whose rows pass by. */
static void panel_statistics(struct prsvd_pass *p, int64_t r, int64_t nr, int64_t n) {
  WITH_PANEL(p, A, {
    if (p->fro2) {
      long double s = 0.0L;
      for (int64_t i = 0; i < nr * n; i++) s += (long double)A[i] * (long double)A[i];
      *p->fro2 += (double)s;
    }
    if (p->col_sum)
      for (int64_t i = 0; i < nr; i++)
        for (int64_t j = 0; j < n; j++) {
          const double v = A[i * n + j];
          p->col_sum[j] += v, p->col_sumsq[j] += v * v;
        }
    for (int64_t t = 0; t < p->n_samples; t++)
      if (p->sample_row[t] >= r && p->sample_row[t] < r + nr)
        p->sample_val[t] = A[(p->sample_row[t] - r) * n + p->sample_col[t]];
  });
}

/* The panel at the cursor, already in p->panel: check it and update every sketch; advances
 * the cursor. */
static int one_panel(struct prsvd_pass *p, struct prsvd_cursor *cur, int64_t row0,
                     int64_t local_rows, int64_t n, int in, int64_t nr64) {
  double *prod = p->work;
  double *g = p->work + p->panel_rows * p->n_right;
  const int64_t r = cur->next_row, off = r - row0;
  const int nr = (int)nr64;
  double flops = 0.0;

  if (p->csr) { /* a sparse panel: the O(nnz) updates of sketch_sparse.c */
    prsvd_profile_begin(PRSVD_EV_SKETCH);
    PRSVD_CHECK(prsvd_sketch_sparse_panel(p, r, off, n, p->right_t, &flops));
    prsvd_profile_end(PRSVD_EV_SKETCH, 0.0, flops);
    goto advance;
  }
  if (p->check_finite) PRSVD_CHECK(check_finite(p, r, nr, n));

  prsvd_profile_begin(PRSVD_EV_SKETCH);
  panel_statistics(p, r, nr64, n);
  /* P_i = A_i R, kept rows stored */
  if (p->n_right) {
    flops += right_product(p, nr, in, prod);
    for (int t = 0; t < p->n_keep; t++) {
      int64_t kld, kc = prsvd_dmat_cols(p->keep[t].dmat);
      double *k = prsvd_dmat_local(p->keep[t].dmat, NULL, NULL, &kld);
      for (int64_t c = 0; c < kc; c++)
        memcpy(k + c * kld + off, prod + (p->keep[t].col0 + c) * nr, sizeof(double) * (size_t)nr);
    }
  }
  /* H += A_i^T K_i */
  if (p->corange) {
    int64_t kld;
    int kc = (int)prsvd_dmat_cols(p->corange_src), ild;
    const double *k = prsvd_dmat_local(p->corange_src, NULL, NULL, &kld);
    PRSVD_CHECK(prsvd_to_int(kld, "sketch leading dimension", &ild));
    flops += panel_t_times(p, nr, in, k + off, ild, kc, p->corange);
  }
  /* L += A_i^T G_i, Z += G_i^T P_i */
  for (int t = 0; t < p->n_left; t++) flops += left_update(p, t, r, nr, in, prod, g);
  prsvd_profile_end(PRSVD_EV_SKETCH, 0.0, flops);

advance:
  cur->next_row = r + nr;
  if (p->params && p->params->progress)
    p->params->progress(p->params->progress_arg, cur->pass, cur->n_passes, cur->next_row - row0,
                        local_rows);
  return PRSVD_OK;
}

/* Rows of the panel starting at `row`: panel_rows, ended early on the grid when that leaves
 * a panel (the first panel of a rank whose block starts inside a chunk row). */
static int64_t panel_at(const struct prsvd_pass *p, int64_t row, int64_t end) {
  int64_t e = row + p->panel_rows;
  if (e >= end) return end - row;
  if (p->grid > 1 && e % p->grid && e - e % p->grid > row) e -= e % p->grid;
  return e - row;
}

static long panels_left(const struct prsvd_pass *p, int64_t row, int64_t end) {
  long count = 0;
  for (; row < end; row += panel_at(p, row, end)) count++;
  return count;
}

/* The grid panels end on: the chunk rows when panels hold whole chunk rows, the panel size
 * when a chunk row holds whole panels, otherwise none. */
static int64_t panel_grid(const struct prsvd_pass *p) {
  struct prsvd_source_layout lay;
  prsvd_source_get_layout(p->a, &lay);
  const int64_t c = lay.chunk_rows, pr = p->panel_rows;
  if (c <= 1 || p->csr) return 1;
  if (pr % c == 0) return c;
  if (c % pr == 0) return pr;
  return 1;
}

static void set_panel(struct prsvd_pass *p, void *buf) {
  p->panel = p->single ? NULL : buf;
  p->panel32 = p->single ? buf : NULL;
}

/* Reads for one pass: straight from the source, or from the reader thread one read ahead.
 * ready() returns the status of the read of the panel at the cursor into p->panel.  For a
 * source with collective reads every rank makes exactly `reads_left` reads, the last ones
 * zero-row reads at the end of its block. */
struct reads {
  struct prsvd_prefetch pf;
  int cb, have, saved, on, collective;
  long reads_left;
};

/* The dense panel buffers (kept across passes): one, or two with the reader thread. */
static int panel_buffers(struct prsvd_pass *p, int n_bufs) {
  const int64_t bytes = p->panel_rows * prsvd_source_cols(p->a) * (p->single ? 4 : 8);
  if (p->buf_bytes != bytes) prsvd_pass_free(p);
  for (int b = 0; b < n_bufs; b++) {
    if (!p->bufs[b] && !(p->bufs[b] = malloc((size_t)bytes)))
      PRSVD_ERR(PRSVD_ERR_NOMEM, "out of memory for a panel buffer of %lld bytes", (long long)bytes);
    p->buf_bytes = bytes;
  }
  set_panel(p, p->bufs[0]);
  return PRSVD_OK;
}

/* The reader thread, unless the source's reads call MPI and MPI allows only the main thread. */
static int may_prefetch(const struct prsvd_pass *p) {
  struct prsvd_source_layout lay;
  int level = MPI_THREAD_SINGLE;
  if (!p->params || !p->params->prefetch || p->csr) return 0;
  prsvd_source_get_layout(p->a, &lay);
  if (lay.mpi_reads) MPI_Query_thread(&level);
  return !lay.mpi_reads || level >= MPI_THREAD_SERIALIZED;
}

/* Post the read after the one ending at `next`: the panel there, or a zero-row read owed to
 * a collective source. */
static void post_after(struct reads *rd, struct prsvd_pass *p, int64_t next, int64_t end) {
  if (rd->reads_left <= 0) return;
  if (next < end) rd->reads_left--, prsvd_prefetch_post(&rd->pf, p->bufs[rd->cb], next, panel_at(p, next, end));
  else if (rd->collective) rd->reads_left--, prsvd_prefetch_post(&rd->pf, p->bufs[rd->cb], end, 0);
}

static int reads_begin(struct reads *rd, struct prsvd_pass *p, int64_t row, int64_t end,
                       int collective, long reads) {
  memset(rd, 0, sizeof *rd);
  rd->collective = collective;
  rd->reads_left = reads;
  if (p->csr) return PRSVD_OK;
  const int prefetch = may_prefetch(p) && (row < end || collective);
  PRSVD_CHECK(panel_buffers(p, prefetch ? 2 : 1));
  if (!prefetch) return PRSVD_OK;
  PRSVD_CHECK(prsvd_prefetch_start(&rd->pf, p->a, p->single));
  rd->on = 1;
  post_after(rd, p, row, end);
  return PRSVD_OK;
}

/* Let the reader finish (so nothing else touches the source library meanwhile). */
static void reads_settle(struct reads *rd) {
  if (rd->on && !rd->have) rd->saved = prsvd_prefetch_wait(&rd->pf), rd->have = 1;
}

/* Rows [row, row + nr) into the panel (nr = 0: a collective source's zero-row read). */
static int reads_ready(struct reads *rd, struct prsvd_pass *p, int64_t row, int64_t nr,
                       int64_t end) {
  const int64_t n = prsvd_source_cols(p->a);
  int status;
  prsvd_profile_begin(PRSVD_EV_READ); /* with the reader: only the time not hidden */
  if (p->csr) {
    status = prsvd_source_read_csr(p->a, row, nr, p->csr);
    if (!status && (p->csr->rows != nr || p->csr->indptr[0] != 0))
      status = prsvd_error_set(PRSVD_ERR_INTERNAL, __FILE__, __LINE__, __func__,
                               "'%s': a CSR panel of %lld rows for %lld asked", prsvd_source_name(p->a),
                               (long long)p->csr->rows, (long long)nr);
  } else if (!rd->on) {
    rd->reads_left--;
    status = p->single ? prsvd_source_read_f32(p->a, row, nr, p->panel32)
                       : prsvd_source_read(p->a, row, nr, p->panel);
  } else {
    reads_settle(rd);
    status = rd->saved;
    rd->have = 0;
    set_panel(p, p->bufs[rd->cb]);
    rd->cb = 1 - rd->cb;
    post_after(rd, p, status && rd->collective ? end : row + nr, end);
  }
  prsvd_profile_end(PRSVD_EV_READ, (p->single ? 4.0 : 8.0) * (double)(nr * n), 0.0);
  return status;
}

static void reads_end(struct reads *rd) {
  if (!rd->on) return;
  prsvd_prefetch_stop(&rd->pf);
  rd->on = 0;
}

/* One step of the pass: the panel at the cursor, read and applied. */
static int step(struct reads *rd, struct prsvd_pass *p, struct prsvd_cursor *cur, int64_t row0,
                int64_t local_rows, int64_t n, int in) {
  const int64_t end = row0 + local_rows, nr = panel_at(p, cur->next_row, end);
  PRSVD_CHECK(reads_ready(rd, p, cur->next_row, nr, end));
  return one_panel(p, cur, row0, local_rows, n, in, nr);
}

/* The steps of a pass in lockstep: every rank takes the most steps any rank has left, so a
 * hook can run collectives at each panel boundary and collective reads stay matched (a rank
 * done, or failed, joins them with zero-row reads). */
static int lockstep(struct prsvd_pass *p, struct prsvd_cursor *cur, int64_t row0,
                    int64_t local_rows, int64_t n, int in, int collective, MPI_Comm comm) {
  const int64_t end = row0 + local_rows;
  long steps = panels_left(p, cur->next_row, end), most;
  int status = PRSVD_OK;
  struct reads rd;
  memset(&rd, 0, sizeof rd);
  if (MPI_Allreduce(&steps, &most, 1, MPI_LONG, MPI_MAX, comm) != MPI_SUCCESS)
    return prsvd_error_set(PRSVD_ERR_MPI, __FILE__, __LINE__, __func__, "MPI_Allreduce of the pass length failed");
  status = reads_begin(&rd, p, cur->next_row, end, collective, collective ? most : LONG_MAX);
  for (long i = 0; i < most; i++) {
    if (!status && cur->next_row < end) {
      status = step(&rd, p, cur, row0, local_rows, n, in);
    } else if (collective) {
      const int joined = reads_ready(&rd, p, end, 0, end);
      if (!status) status = joined;
    }
    if (!p->hook) continue;
    reads_settle(&rd); /* the hook may save: the source must be idle */
    int decided = p->hook(p->hook_arg, status, cur);
    if (decided) { /* agreed on every rank: an error, or checkpointed */
      status = decided;
      break;
    }
  }
  reads_end(&rd);
  return status;
}

int prsvd_sketch_pass(struct prsvd_pass *p, struct prsvd_cursor *cur) {
  const int64_t n = prsvd_source_cols(p->a);
  const int64_t m = prsvd_source_rows(p->a);
  int64_t row0, local_rows;
  int in, status = PRSVD_OK;
  struct prsvd_source_layout lay;
  /* this rank's rows are those of the kept or co-range matrices (all m-row, row-block) */
  prsvd_dmat *ref = p->n_keep ? p->keep[0].dmat : p->corange_src;
  if (!ref || prsvd_dmat_rows(ref) != m)
    PRSVD_ERR(PRSVD_ERR_INTERNAL, "a pass needs an m-row kept or co-range matrix to place its rows");
  prsvd_dmat_local(ref, &row0, &local_rows, NULL);
  PRSVD_CHECK(prsvd_to_int(n, "columns of A", &in));
  if (cur->next_row < row0) cur->next_row = row0;
  const int64_t end = row0 + local_rows;
  struct prsvd_csr csr = {0};
  prsvd_source_get_layout(p->a, &lay);
  p->single = prsvd_pass_single(p->params, p->a);
  if (prsvd_source_nnz(p->a) >= 0) { /* sparse: a CSR panel, and R row-major for the kernels */
    p->csr = &csr;
    if (p->n_right && p->right) {
      p->right_t = malloc(sizeof(double) * (size_t)(n * p->n_right));
      if (!p->right_t) PRSVD_ERR(PRSVD_ERR_NOMEM, "out of memory transposing the test matrix");
      for (int64_t q = 0; q < p->n_right; q++)
        for (int64_t j = 0; j < n; j++) p->right_t[j * p->n_right + q] = p->right[q * n + j];
    }
  }
  p->grid = panel_grid(p);
  status = f32_begin(p, n);
  if (status) goto out;
  if (p->hook || lay.collective_reads) {
    MPI_Comm comm = p->hook ? p->hook_comm : prsvd_grid_comm(prsvd_dmat_grid(ref));
    status = lockstep(p, cur, row0, local_rows, n, in, lay.collective_reads, comm);
    goto out;
  }
  struct reads rd;
  status = reads_begin(&rd, p, cur->next_row, end, 0, LONG_MAX);
  while (!status && cur->next_row < end) status = step(&rd, p, cur, row0, local_rows, n, in);
  reads_end(&rd);
out:
  prsvd_csr_free(&csr);
  p->csr = NULL;
  free(p->right_t);
  p->right_t = NULL;
  free(p->f32);
  p->f32 = NULL;
  return status;
}

void prsvd_pass_free(struct prsvd_pass *p) {
  for (int b = 0; b < 2; b++) {
    free(p->bufs[b]);
    p->bufs[b] = NULL;
  }
  p->buf_bytes = 0;
  p->panel = NULL;
  p->panel32 = NULL;
}

int prsvd_pass_single(const struct prsvd_svd_params *params, const prsvd_source *a) {
  struct prsvd_source_layout lay;
  if (!params || prsvd_source_nnz(a) >= 0) return 0;
  prsvd_source_get_layout(a, &lay);
  if (params->precision == PRSVD_PRECISION_AUTO) return lay.stored_float32;
  return params->precision == PRSVD_PRECISION_SINGLE;
}

int64_t prsvd_panel_rows_for(const prsvd_source *a, int64_t memory, int prefetch, int single) {
  const int64_t m = prsvd_source_rows(a), n = prsvd_source_cols(a), nnz = prsvd_source_nnz(a);
  if (nnz >= 0) { /* 16 bytes an entry (index + value), at least one row */
    const double per_row = 16.0 * ((double)nnz / (double)(m > 0 ? m : 1)) + 8.0;
    int64_t rows = (int64_t)((double)memory / per_row);
    return rows < 1 ? 1 : rows;
  }
  struct prsvd_source_layout lay;
  prsvd_source_get_layout(a, &lay);
  const int64_t row_bytes = (single ? 4 : 8) * n;
  int64_t rows = memory / row_bytes / ((prefetch ? 2 : 1) + lay.scratch_panels);
  if (rows < 1 && memory >= row_bytes) rows = 1;
  /* whole chunk rows per panel, or whole panels per chunk row */
  const int64_t c = lay.chunk_rows;
  if (c > 1 && rows >= c) rows -= rows % c;
  else if (c > 1 && rows > 1)
    while (c % rows) rows--;
  return rows;
}

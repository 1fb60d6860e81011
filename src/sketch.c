/* The panel loop of every pass: read, check, and the sketch updates of sketch.h. */
#include "sketch.h"

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

static int check_finite(const prsvd_source *a, const double *panel, int64_t row0, int64_t nr,
                        int64_t n) {
  for (int64_t i = 0; i < nr; i++)
    for (int64_t j = 0; j < n; j++)
      if (!isfinite(panel[i * n + j]))
        PRSVD_ERR(PRSVD_ERR_INPUT, "'%s': %s at row %lld, column %lld", prsvd_source_name(a),
                  isnan(panel[i * n + j]) ? "NaN" : "Inf", (long long)(row0 + i), (long long)j);
  return PRSVD_OK;
}

/* P (nr x c) = A_i R for a sparse sign map R: the rows of A_i go PRSVD_TILE_ROWS at a time
 * into a transposed tile, so that each of R's zeta nonzeros in row j updates a short
 * contiguous vector of the tile's products from a contiguous vector of A_i(:, j).  (Row by row,
 * every entry of A_i cost zeta scattered updates and R's positions were streamed from memory
 * once per row: three times slower than the Gaussian GEMM it should beat.) */
/* The sparse-map kernels are plain C built for the baseline ISA; on x86-64 a copy is also
 * built for AVX2 and AVX-512 and the loader picks the one the CPU runs (GCC/clang ifunc), as
 * OpenBLAS does for the Gaussian GEMMs they compete with. */
#if defined(__x86_64__) && defined(__ELF__) && \
    ((defined(__clang__) && __clang_major__ >= 14) || (!defined(__clang__) && defined(__GNUC__) && __GNUC__ >= 6))
#define SPARSE_KERNEL __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define SPARSE_KERNEL
#endif

/* o += v a for PRSVD_TILE_ROWS entries: a fixed count and no aliasing, so it vectorizes */
static inline void tile_axpy(double *restrict o, double v, const double *restrict a) {
  for (int i = 0; i < PRSVD_TILE_ROWS; i++) o[i] += v * a[i];
}

SPARSE_KERNEL static double right_product_sparse(const struct prsvd_pass *p, int nr, int n, double *out) {
  enum { TR = PRSVD_TILE_ROWS };
  const struct prsvd_sparse_right *s = p->right_sparse;
  const int c = (int)p->n_right, z = s->zeta;
  double *tile = p->tile, *acc = p->tile + (size_t)n * TR;
  for (int r0 = 0; r0 < nr; r0 += TR) {
    const int rows = nr - r0 < TR ? nr - r0 : TR;
    const double *row[TR];
    for (int i = 0; i < TR; i++) row[i] = p->panel + (size_t)(r0 + (i < rows ? i : 0)) * n;
    if (rows == TR) /* whole cache lines of the tile, from TR streams */
      for (int j = 0; j < n; j++)
        for (int i = 0; i < TR; i++) tile[(size_t)j * TR + i] = row[i][j];
    else
      for (int j = 0; j < n; j++)
        for (int i = 0; i < TR; i++) tile[(size_t)j * TR + i] = i < rows ? row[i][j] : 0.0;
    memset(acc, 0, sizeof(double) * (size_t)c * TR);
    for (int j = 0; j < n; j++) {
      const double *restrict a = tile + (size_t)j * TR;
      const int *pos = s->pos + (size_t)j * z;
      const double *sg = s->sign + (size_t)j * z;
      for (int t = 0; t < z; t++) tile_axpy(acc + (size_t)pos[t] * TR, sg[t], a);
    }
    for (int q = 0; q < c; q++)
      for (int i = 0; i < rows; i++) out[(size_t)q * nr + r0 + i] = acc[(size_t)q * TR + i];
  }
  return 2.0 * nr * (double)n * z;
}

/* A sparse sign map whose rows are more than a fifth nonzero goes through the GEMM densified:
 * an axpy per nonzero costs about five GEMM columns (perf at 100000 x 4000). */
static int sparse_left_as_dense(int64_t d) { return d < 5 * (int64_t)prsvd_sparse_zeta(d); }

/* acc (n x d) += A_i^T G_i and core (d x cc) += G_i^T P(:, c0 : c0+cc) for a sparse sign G:
 * the positions and signs of the panel's rows first, then A_i by blocks of columns, so that the
 * part of acc that the zeta rows of each G_i row touch (d x block, 256 KiB) stays in cache. */
static double left_update_sparse(const struct prsvd_pass *p, int t, int64_t row0, int nr, int n,
                                 const double *prod) {
  const int one = 1;
  const struct prsvd_testmat *tm = &p->left[t].g;
  const int d = (int)tm->dim, cc = (int)p->left[t].core_cols, z = prsvd_sparse_zeta(d);
  const int block = d < 128 ? 32768 / d / 64 * 64 : 256;
  int *pos = p->tile_pos;
  double *sign = p->tile_sign;
  for (int r = 0; r < nr; r++) prsvd_sparse_column(tm->seed, tm->stream, row0 + r, d, pos + r * 8, sign + r * 8);
  if (p->left[t].acc)
    for (int j0 = 0; j0 < n; j0 += block) {
      const int jn = n - j0 < block ? n - j0 : block;
      for (int r = 0; r < nr; r++)
        for (int u = 0; u < z; u++)
          daxpy_(&jn, &sign[r * 8 + u], p->panel + (size_t)r * n + j0, &one,
                 p->left[t].acc + (size_t)pos[r * 8 + u] * n + j0, &one);
    }
  if (p->left[t].core)
    for (int r = 0; r < nr; r++)
      for (int u = 0; u < z; u++)
        for (int c = 0; c < cc; c++)
          p->left[t].core[(size_t)c * d + pos[r * 8 + u]] +=
              sign[r * 8 + u] * prod[(size_t)(p->left[t].core_col0 + c) * nr + r];
  return 2.0 * nr * (double)z * (n + cc);
}

/* P (nr x c, ld nr) = A_i R; the row-major panel is the column-major n x nr A_i^T */
static double right_product(const struct prsvd_pass *p, int nr, int n, double *out) {
  const int c = (int)p->n_right;
  if (p->right) {
    const double one = 1.0, zero = 0.0;
    dgemm_("T", "N", &nr, &c, &n, &one, p->panel, &n, p->right, &n, &zero, out, &nr);
    return 2.0 * nr * (double)n * c;
  }
  return right_product_sparse(p, nr, n, out);
}

/* acc (n x d) += A_i^T G_i and core (d x cc) += G_i^T P(:, c0 : c0+cc) for a generated G */
static double left_update(const struct prsvd_pass *p, int t, int64_t row0, int nr, int n,
                          const double *prod, double *g) {
  const struct prsvd_testmat *tm = &p->left[t].g;
  const int d = (int)tm->dim, cc = (int)p->left[t].core_cols;
  const double one = 1.0;
  double flops = 0.0;
  if (tm->kind == PRSVD_SKETCH_GAUSSIAN || sparse_left_as_dense(d)) {
    /* G_i: nr x d, column-major */
    if (tm->kind == PRSVD_SKETCH_GAUSSIAN) {
      prsvd_rng_fill(tm->seed, tm->stream, row0, nr, 0, d, g, nr);
    } else {
      int pos[8];
      double sign[8];
      memset(g, 0, sizeof(double) * (size_t)nr * (size_t)d);
      for (int r = 0; r < nr; r++) {
        prsvd_sparse_column(tm->seed, tm->stream, row0 + r, d, pos, sign);
        for (int u = 0; u < prsvd_sparse_zeta(d); u++) g[(size_t)pos[u] * nr + r] = sign[u];
      }
    }
    if (p->left[t].acc) {
      dgemm_("N", "N", &n, &d, &nr, &one, p->panel, &n, g, &nr, &one, p->left[t].acc, &n);
      flops += 2.0 * n * (double)nr * d;
    }
    if (p->left[t].core) {
      const double *pc = prod + (size_t)p->left[t].core_col0 * nr;
      dgemm_("T", "N", &d, &cc, &nr, &one, g, &nr, pc, &nr, &one, p->left[t].core, &d);
      flops += 2.0 * d * (double)nr * cc;
    }
    return flops;
  }
  return left_update_sparse(p, t, row0, nr, n, prod);
}

/* The panel at the cursor, already in p->panel: check it and update every sketch; advances
 * the cursor. */
static int one_panel(struct prsvd_pass *p, struct prsvd_cursor *cur, int64_t row0,
                     int64_t local_rows, int64_t n, int in) {
  double *prod = p->work;
  double *g = p->work + p->panel_rows * p->n_right;
  const int64_t r = cur->next_row, off = r - row0;
  int64_t nr64 = row0 + local_rows - r;
  if (nr64 > p->panel_rows) nr64 = p->panel_rows;
  const int nr = (int)nr64;
  const double one = 1.0;
  double flops = 0.0;

  if (p->csr) { /* a sparse panel: the O(nnz) updates of sketch_sparse.c */
    prsvd_profile_begin(PRSVD_EV_SKETCH);
    PRSVD_CHECK(prsvd_sketch_sparse_panel(p, r, off, n, p->right_t, &flops));
    prsvd_profile_end(PRSVD_EV_SKETCH, 0.0, flops);
    goto advance;
  }
  if (p->check_finite) PRSVD_CHECK(check_finite(p->a, p->panel, r, nr, n));

  prsvd_profile_begin(PRSVD_EV_SKETCH);
  if (p->fro2) { /* extended precision: --tol subtracts this from the sketch's energy */
    /* four chains in registers: one x87 chain waits on every add */
    long double s0 = 0.0L, s1 = 0.0L, s2 = 0.0L, s3 = 0.0L;
    const double *a = p->panel;
    const int64_t len = nr64 * n;
    int64_t i = 0;
    for (; i + 4 <= len; i += 4) {
      s0 += (long double)a[i] * a[i];
      s1 += (long double)a[i + 1] * a[i + 1];
      s2 += (long double)a[i + 2] * a[i + 2];
      s3 += (long double)a[i + 3] * a[i + 3];
    }
    for (; i < len; i++) s0 += (long double)a[i] * a[i];
    *p->fro2 += (double)((s0 + s1) + (s2 + s3));
  }
  if (p->col_sum)
    for (int64_t i = 0; i < nr64; i++) {
      const double *row = p->panel + i * n;
      for (int64_t j = 0; j < n; j++) p->col_sum[j] += row[j], p->col_sumsq[j] += row[j] * row[j];
    }
  for (int64_t t = 0; t < p->n_samples; t++)
    if (p->sample_row[t] >= r && p->sample_row[t] < r + nr)
      p->sample_val[t] = p->panel[(p->sample_row[t] - r) * n + p->sample_col[t]];
  /* P_i = A_i R, kept rows stored */
  if (p->n_right) {
    flops += right_product(p, nr, in, prod);
    for (int t = 0; t < p->n_keep; t++) {
      int64_t kld, kc = p->keep[t].ncols ? p->keep[t].ncols : prsvd_dmat_cols(p->keep[t].dmat);
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
    dgemm_("N", "N", &in, &kc, &nr, &one, p->panel, &in, k + off, &ild, &one, p->corange, &in);
    flops += 2.0 * (double)nr * n * kc;
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

static int64_t panel_at(const struct prsvd_pass *p, int64_t row, int64_t end) {
  return end - row < p->panel_rows ? end - row : p->panel_rows;
}

/* Reads for one pass: straight from the source, or from the reader thread one panel ahead,
 * into two dense panels (p->panel and one more) or two CSR panels for a sparse source.
 * ready() returns the status of the read of the panel at the cursor into p->panel or p->csr. */
struct reads {
  struct prsvd_prefetch pf;
  double *bufs[2];
  struct prsvd_csr csrs[2];
  int sparse, cb, have, saved, on;
};

static void reads_post(struct reads *rd, const struct prsvd_pass *p, int slot, int64_t row, int64_t end) {
  prsvd_prefetch_post(&rd->pf, rd->sparse ? NULL : rd->bufs[slot], rd->sparse ? &rd->csrs[slot] : NULL, row,
                      panel_at(p, row, end));
}

static int reads_begin(struct reads *rd, struct prsvd_pass *p, int64_t row, int64_t end) {
  memset(rd, 0, sizeof *rd);
  rd->sparse = prsvd_source_nnz(p->a) >= 0;
  if (rd->sparse) p->csr = &rd->csrs[0];
  if (!p->params || !p->params->prefetch || row >= end) return PRSVD_OK;
  if (!rd->sparse) {
    rd->bufs[0] = p->panel;
    rd->bufs[1] = malloc(sizeof(double) * (size_t)(p->panel_rows * prsvd_source_cols(p->a)));
    if (!rd->bufs[1]) PRSVD_ERR(PRSVD_ERR_NOMEM, "out of memory for the second panel buffer");
  }
  PRSVD_CHECK(prsvd_prefetch_start(&rd->pf, p->a));
  rd->on = 1;
  reads_post(rd, p, 0, row, end);
  return PRSVD_OK;
}

/* Let the reader finish (so nothing else touches the source library meanwhile). */
static void reads_settle(struct reads *rd) {
  if (rd->on && !rd->have) rd->saved = prsvd_prefetch_wait(&rd->pf), rd->have = 1;
}

static int reads_ready(struct reads *rd, struct prsvd_pass *p, int64_t row, int64_t end) {
  const int64_t nr = panel_at(p, row, end), n = prsvd_source_cols(p->a);
  int status;
  prsvd_profile_begin(PRSVD_EV_READ); /* with the reader: only the time not hidden */
  if (!rd->on) {
    status = rd->sparse ? prsvd_source_read_csr(p->a, row, nr, p->csr) : prsvd_source_read(p->a, row, nr, p->panel);
  } else {
    reads_settle(rd);
    status = rd->saved;
    rd->have = 0;
    if (rd->sparse)
      p->csr = &rd->csrs[rd->cb];
    else
      p->panel = rd->bufs[rd->cb];
    rd->cb = 1 - rd->cb;
    if (!status && row + nr < end) reads_post(rd, p, rd->cb, row + nr, end);
  }
  if (!status && rd->sparse && (p->csr->rows != nr || p->csr->indptr[0] != 0))
    status = prsvd_error_set(PRSVD_ERR_INTERNAL, __FILE__, __LINE__, __func__,
                             "'%s': a CSR panel of %lld rows for %lld asked", prsvd_source_name(p->a),
                             (long long)p->csr->rows, (long long)nr);
  prsvd_profile_end(PRSVD_EV_READ, rd->sparse ? 16.0 * (double)p->csr->nnz + 8.0 * (double)(nr + 1) : 8.0 * (double)(nr * n),
                    0.0);
  return status;
}

static void reads_end(struct reads *rd, struct prsvd_pass *p) {
  if (rd->on) prsvd_prefetch_stop(&rd->pf);
  if (rd->on && !rd->sparse) p->panel = rd->bufs[0];
  free(rd->bufs[1]);
  prsvd_csr_free(&rd->csrs[0]);
  prsvd_csr_free(&rd->csrs[1]);
  p->csr = NULL;
  rd->on = 0;
}

/* The scratch of the sparse-map kernels on dense panels. */
static int tiles_begin(struct prsvd_pass *p, int64_t n) {
  int sparse_left = 0;
  for (int t = 0; t < p->n_left; t++)
    sparse_left |= p->left[t].g.kind == PRSVD_SKETCH_SPARSE && !sparse_left_as_dense(p->left[t].g.dim);
  if (p->csr) return PRSVD_OK;
  if (p->n_right && p->right_sparse) {
    p->tile = malloc(sizeof(double) * (size_t)((n + p->n_right) * PRSVD_TILE_ROWS));
    if (!p->tile) PRSVD_ERR(PRSVD_ERR_NOMEM, "out of memory for the sparse sketch tile");
  }
  if (sparse_left) {
    p->tile_sign = malloc(sizeof(double) * (size_t)(p->panel_rows * 8));
    p->tile_pos = malloc(sizeof(int) * (size_t)(p->panel_rows * 8));
    if (!p->tile_sign || !p->tile_pos) PRSVD_ERR(PRSVD_ERR_NOMEM, "out of memory for the sparse sketch rows");
  }
  return PRSVD_OK;
}

int prsvd_sketch_pass(struct prsvd_pass *p, struct prsvd_cursor *cur) {
  const int64_t n = prsvd_source_cols(p->a);
  const int64_t m = prsvd_source_rows(p->a);
  int64_t row0, local_rows;
  int in, status = PRSVD_OK;
  struct reads rd;
  /* this rank's rows are those of the kept or co-range matrices (all m-row, row-block) */
  prsvd_dmat *ref = p->n_keep ? p->keep[0].dmat : p->corange_src;
  if (!ref || prsvd_dmat_rows(ref) != m)
    PRSVD_ERR(PRSVD_ERR_INTERNAL, "a pass needs an m-row kept or co-range matrix to place its rows");
  prsvd_dmat_local(ref, &row0, &local_rows, NULL);
  PRSVD_CHECK(prsvd_to_int(n, "columns of A", &in));
  if (cur->next_row < row0) cur->next_row = row0;
  const int64_t end = row0 + local_rows;
  if (prsvd_source_nnz(p->a) >= 0) { /* sparse: CSR panels (reads_begin), R row-major for the kernels */
    if (p->n_right && p->right) {
      p->right_t = malloc(sizeof(double) * (size_t)(n * p->n_right));
      if (!p->right_t) PRSVD_ERR(PRSVD_ERR_NOMEM, "out of memory transposing the test matrix");
      for (int64_t q = 0; q < p->n_right; q++)
        for (int64_t j = 0; j < n; j++) p->right_t[j * p->n_right + q] = p->right[q * n + j];
    }
    if (p->corange) {
      p->corange_t = malloc(sizeof(double) * (size_t)((n + 1) * prsvd_dmat_cols(p->corange_src)));
      if (!p->corange_t) PRSVD_ERR(PRSVD_ERR_NOMEM, "out of memory for the sparse co-range update");
    }
  }
  status = tiles_begin(p, n);
  if (status) goto out;
  status = reads_begin(&rd, p, cur->next_row, end);
  if (status) goto out;
  if (!p->hook) {
    while (!status && cur->next_row < end) {
      status = reads_ready(&rd, p, cur->next_row, end);
      if (!status) status = one_panel(p, cur, row0, local_rows, n, in);
    }
    goto out;
  }
  /* with a hook: every rank takes the same number of steps (the most any rank has left), so
   * the hook can run collectives at each panel boundary */
  long steps = (long)((end - cur->next_row + p->panel_rows - 1) / p->panel_rows), most;
  if (MPI_Allreduce(&steps, &most, 1, MPI_LONG, MPI_MAX, p->hook_comm) != MPI_SUCCESS) {
    status = prsvd_error_set(PRSVD_ERR_MPI, __FILE__, __LINE__, __func__, "MPI_Allreduce of the pass length failed");
    goto out;
  }
  for (long step = 0; step < most; step++) {
    if (!status && cur->next_row < end) {
      status = reads_ready(&rd, p, cur->next_row, end);
      if (!status) status = one_panel(p, cur, row0, local_rows, n, in);
    }
    reads_settle(&rd); /* the hook may save: the source must be idle */
    int decided = p->hook(p->hook_arg, status, cur);
    if (decided) {
      status = decided; /* agreed on every rank: an error, or checkpointed */
      goto out;
    }
  }
out:
  reads_end(&rd, p);
  free(p->right_t);
  free(p->corange_t);
  free(p->tile), free(p->tile_sign), free(p->tile_pos);
  p->right_t = p->corange_t = p->tile = p->tile_sign = NULL;
  p->tile_pos = NULL;
  return status;
}

int64_t prsvd_panel_rows_for(const prsvd_source *a, int64_t memory, int prefetch) {
  const int64_t m = prsvd_source_rows(a), n = prsvd_source_cols(a), nnz = prsvd_source_nnz(a);
  if (nnz >= 0) { /* 16 bytes an entry (index + value), at least one row; halved for the reader */
    const double per_row = 16.0 * ((double)nnz / (double)(m > 0 ? m : 1)) + 8.0;
    int64_t rows = (int64_t)((double)memory / per_row) / (prefetch ? 2 : 1);
    return rows < 1 ? 1 : rows;
  }
  int64_t rows = memory / (8 * n) / (prefetch ? 2 : 1);
  if (rows < 1 && memory >= 8 * n) rows = 1;
  /* The budget is a ceiling, not a target: a panel that fits in the last-level cache is read
   * once from memory by both of its products (A_i X and A_iᵀ Y_i), and smaller panels let the
   * reader thread overlap the reads with the products. */
  int64_t cached = PRSVD_PANEL_BYTES / (8 * n);
  if (cached < PRSVD_PANEL_MIN_ROWS) cached = PRSVD_PANEL_MIN_ROWS;
  return rows < cached ? rows : cached;
}

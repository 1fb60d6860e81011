/*
 * Single-pass randomized SVD: every sketch from one read of A.
 *
 *  three  Tropp, Yurtsever, Udell & Cevher, "Streaming low-rank matrix approximation with an
 *         application to scientific simulation", SISC 41 (2019), Alg. 2-3:
 *         X = Upsilon A, Y = A Omega^T, Z = Phi A Psi^T;  Q = orth(Y), P = orth(X^T),
 *         C = (Phi Q)^+ Z ((Psi P)^+)^T,  A ~ Q C P^T;  k_s = 2r + 1, s = 2 k_s + 1.
 *  two    TYUC, "Practical sketching algorithms for low-rank matrix approximation", SIMAX 38
 *         (2017), Alg. 1: Y = A Omega, W = Psi A;  Q = orth(Y), B = (Psi Q)^+ W,  A ~ Q B;
 *         l = 2 k_s + 1.
 *  hmt    Halko, Martinsson & Tropp (2011) Sec. 5.5: Y = A Omega, Yt = A^T Omega_t;
 *         Q R = Y, Qt = orth(Yt), B (Qt^T Omega) = Q^T Y = R,  A ~ Q B Qt^T, with Qt cut to
 *         the h = max(k, k_s / 2) leading left singular vectors of Yt so that B solves an
 *         overdetermined least-squares problem (h x k_s) rather than a square system, whose
 *         condition (50 to 350 at k_s = 24..192 in bench/toolbox.sh) multiplied the error
 *         of the result by up to 10 whatever the storage (their Remark 5.4: oversample Omega).
 *
 * The error estimate (TYUC 2019 Sec. 6) rides along: S = Theta A with 10 Gaussian rows, and
 * err^2 = ||S - Theta A_hat||^2 / 10 with a chi-square 95% interval; the scree estimate
 * sqrt(err^2 + sum_{j>r} sigma_j(C)^2) tells the tail energy left at each rank r.
 *
 * Assumptions: r = k <= k_s <= s <= min(m, n): sizes set oversample as the bounds need, the
 * defaults are clipped to min(m, n) (prsvd_onepass_sizes, onepass_sizes.c); test matrices
 * Gaussian or sparse sign maps (zeta = min(8, dim) nonzeros per column), drawn from
 * (seed, stream, global index) so the result does not depend on the number of ranks.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "blas.h"
#include "checkpoint.h"
#include "error.h"
#include "profile.h"
#include "rng.h"
#include "svd_impl.h"

#define N_THETA PRSVD_ONEPASS_PROBES

/* The right maps R = [Omega^T | Psi^T] (n x (k_s + s)), dense or sparse. */
struct right_maps {
  int64_t n, dims[2], total;
  unsigned streams[2];
  int n_maps;
  enum prsvd_sketch_kind kind;
  double *dense;                      /* n x total */
  struct prsvd_sparse_right sparse;   /* zeta of both maps, positions offset */
};

static int right_maps_create(struct right_maps *r, const struct prsvd_svd_params *prm, int64_t n) {
  int status = PRSVD_OK;
  r->n = n;
  r->total = 0;
  for (int t = 0; t < r->n_maps; t++) r->total += r->dims[t];
  if (r->kind == PRSVD_SKETCH_GAUSSIAN) {
    PRSVD_ALLOC(r->dense, n * r->total);
    for (int t = 0, c0 = 0; t < r->n_maps; c0 += (int)r->dims[t], t++)
      prsvd_rng_fill(prm->seed, r->streams[t], 0, n, 0, r->dims[t], r->dense + n * c0, n);
    return PRSVD_OK;
  }
  /* sparse: each column j of A hits zeta_t rows of each map, offset into the concatenation */
  int zeta = 0, z[2];
  for (int t = 0; t < r->n_maps; t++) zeta += z[t] = prsvd_sparse_zeta(r->dims[t]);
  r->sparse.dim = r->total;
  r->sparse.zeta = zeta;
  PRSVD_ALLOC(r->sparse.pos, n * zeta);
  PRSVD_ALLOC(r->sparse.sign, n * zeta);
  for (int64_t j = 0; j < n; j++)
    for (int t = 0, off = 0, c0 = 0; t < r->n_maps; off += z[t], c0 += (int)r->dims[t], t++) {
      int *pos = r->sparse.pos + j * zeta + off;
      prsvd_sparse_column(prm->seed, r->streams[t], j, r->dims[t], pos, r->sparse.sign + j * zeta + off);
      for (int u = 0; u < z[t]; u++) pos[u] += c0;
    }
done:
  return status;
}

static void right_maps_free(struct right_maps *r) {
  free(r->dense);
  prsvd_sparse_right_free(&r->sparse);
}

/* out (c x dims[t]) = Qd^T R_t for Qd (n x c) distributed: local rows, then summed. */
static int right_map_product(const struct right_maps *r, int t, const prsvd_dmat *qd,
                             double *out, MPI_Comm comm) {
  int64_t q0, qr, qld, c = prsvd_dmat_cols(qd), d = r->dims[t], c0 = 0;
  const double *q = prsvd_dmat_local(qd, &q0, &qr, &qld);
  for (int u = 0; u < t; u++) c0 += r->dims[u];
  memset(out, 0, sizeof(double) * (size_t)(c * d));
  for (int64_t i = 0; i < qr; i++) {
    const int64_t j = q0 + i;
    if (r->kind == PRSVD_SKETCH_GAUSSIAN) {
      for (int64_t e = 0; e < d; e++) {
        const double rv = r->dense[(c0 + e) * r->n + j];
        for (int64_t a = 0; a < c; a++) out[e * c + a] += q[a * qld + i] * rv;
      }
    } else {
      for (int u = 0; u < r->sparse.zeta; u++) {
        const int64_t e = r->sparse.pos[j * r->sparse.zeta + u] - c0;
        if (e < 0 || e >= d) continue;
        const double sg = r->sparse.sign[j * r->sparse.zeta + u];
        for (int64_t a = 0; a < c; a++) out[e * c + a] += q[a * qld + i] * sg;
      }
    }
  }
  PRSVD_MPI(MPI_Allreduce(MPI_IN_PLACE, out, (int)(c * d), MPI_DOUBLE, MPI_SUM, comm));
  return PRSVD_OK;
}

/* out (c x dim) = Qd^T G for a generated left map G (m x dim) and Qd (m x c) distributed: the
 * rank's rows, its threads each taking a share of G's columns, so that every entry of out is
 * summed down the rows by one thread, in row order, whatever the number of threads (the same
 * bits as one); then summed across ranks.  A sparse map's rows are drawn by every thread (8
 * Philox blocks a row: cheaper than handing them over), each keeping its columns' entries. */
struct left_map_job {
  const struct prsvd_testmat *g;
  const double *q;
  int64_t q0, qr, qld, c;
  int threads;
  double *rows, *out; /* BLOCK rows of G for each thread; c x dim */
};

enum { LEFT_MAP_BLOCK = 64 }; /* rows of G drawn at a time (prsvd_rng_fill draws 8 side by side) */

static void left_map_cols(void *arg, int t) {
  const struct left_map_job *j = arg;
  const int64_t c = j->c, qld = j->qld, d = j->g->dim;
  const double *q = j->q;
  double *out = j->out, *rows = j->rows + (size_t)t * LEFT_MAP_BLOCK * (size_t)d, sign[8];
  int64_t e0, ne;
  int pos[8];
  prsvd_pool_share(d, t, j->threads, &e0, &ne);
  for (int64_t i = 0; i < j->qr && ne; i++) {
    if (j->g->kind == PRSVD_SKETCH_GAUSSIAN) {
      const int64_t b = i % LEFT_MAP_BLOCK; /* row i of G is row b of the block (BLOCK x ne) */
      if (!b)
        prsvd_rng_fill(j->g->seed, j->g->stream, j->q0 + i, j->qr - i < LEFT_MAP_BLOCK ? j->qr - i : LEFT_MAP_BLOCK,
                       e0, ne, rows, LEFT_MAP_BLOCK);
      for (int64_t e = 0; e < ne; e++)
        for (int64_t a = 0; a < c; a++) out[(e0 + e) * c + a] += q[a * qld + i] * rows[e * LEFT_MAP_BLOCK + b];
    } else {
      prsvd_sparse_column(j->g->seed, j->g->stream, j->q0 + i, d, pos, sign);
      for (int u = 0; u < prsvd_sparse_zeta(d); u++)
        if (pos[u] >= e0 && pos[u] < e0 + ne)
          for (int64_t a = 0; a < c; a++) out[pos[u] * c + a] += q[a * qld + i] * sign[u];
    }
  }
}

static int left_map_product(const struct prsvd_testmat *g, const prsvd_dmat *qd, double *out,
                             struct prsvd_pool *pool, MPI_Comm comm) {
  int status = PRSVD_OK;
  struct left_map_job j = {.g = g, .c = prsvd_dmat_cols(qd), .threads = prsvd_pool_threads(pool), .out = out};
  j.q = prsvd_dmat_local(qd, &j.q0, &j.qr, &j.qld);
  PRSVD_ALLOC(j.rows, (int64_t)j.threads * LEFT_MAP_BLOCK * g->dim);
  memset(out, 0, sizeof(double) * (size_t)(j.c * g->dim));
  prsvd_pool_run(pool, left_map_cols, &j);
  PRSVD_MPI(MPI_Allreduce(MPI_IN_PLACE, out, (int)(j.c * g->dim), MPI_DOUBLE, MPI_SUM, comm));
done:
  free(j.rows);
  return status;
}

/* pinv (cols x rows) of a (rows x cols, column-major) by its SVD, dropping sigma below
 * 1e-14 sigma_1.  Same bits on every rank (called with replicated input, LAPACK is
 * deterministic). */
static int pseudo_inverse(int rows, int cols, const double *a, double *pinv) {
  int status = PRSVD_OK, r = rows < cols ? rows : cols, info = 0, lwork = -1;
  double *cp = NULL, *s = NULL, *u = NULL, *vt = NULL, *work = NULL, wq;
  int *iwork = NULL;
  PRSVD_ALLOC(cp, rows * cols);
  PRSVD_ALLOC(s, r);
  PRSVD_ALLOC(u, rows * r);
  PRSVD_ALLOC(vt, r * cols);
  PRSVD_ALLOC(iwork, 8 * r);
  memcpy(cp, a, sizeof(double) * (size_t)rows * (size_t)cols);
  dgesdd_("S", &rows, &cols, cp, &rows, s, u, &rows, vt, &r, &wq, &lwork, iwork, &info);
  lwork = (int)wq + 1;
  PRSVD_ALLOC(work, lwork);
  dgesdd_("S", &rows, &cols, cp, &rows, s, u, &rows, vt, &r, work, &lwork, iwork, &info);
  if (info) PRSVD_FAIL(PRSVD_ERR_NUMERIC, "pseudo-inverse: DGESDD failed (info = %d)", info);
  /* pinv = V diag(1/s) U^T */
  memset(pinv, 0, sizeof(double) * (size_t)rows * (size_t)cols);
  for (int t = 0; t < r; t++) {
    if (s[t] <= 1e-14 * s[0]) continue;
    for (int i = 0; i < cols; i++)
      for (int j = 0; j < rows; j++) pinv[j * cols + i] += vt[i * r + t] / s[t] * u[t * rows + j];
  }
done:
  free(cp), free(s), free(u), free(vt), free(work), free(iwork);
  return status;
}

/* c (a x b) = x (a x t) * y (t x b), small and replicated */
static void small_gemm(const char *tx, const char *ty, int a, int b, int t, const double *x,
                       int ldx, const double *y, int ldy, double *c) {
  const double one = 1.0, zero = 0.0;
  dgemm_(tx, ty, &a, &b, &t, &one, x, &ldx, y, &ldy, &zero, c, &a);
}

/* hmt: Qt R~ = Yt, R~ = U_R S V_R^T, Qt_h = Qt U_R(:, 1:h);  B (Qt_h^T Omega) = R  =>
 * B = R (U_R(:, 1:h)^T Qt^T Omega)^+ (k_s x h);  A ~ Q B Qt_h^T.  yt is overwritten; U is
 * formed in Q's storage (*y taken, as prsvd_svd_finish_core). */
static int hmt_core(prsvd_svd *svd, const struct right_maps *rm, prsvd_dmat **y, const double *r,
                    prsvd_dmat *yt, double *sigma, int64_t *n_sigma) {
  int status = PRSVD_OK;
  const int64_t ks = prsvd_dmat_cols(yt), k = svd->k;
  const int64_t h = ks / 2 > k ? ks / 2 : k;
  const int iks = (int)ks, ih = (int)h;
  double *rt = NULL, *ur = NULL, *vr = NULL, *qo = NULL, *mo = NULL, *pinv = NULL, *c = NULL;
  prsvd_dmat *qth = NULL;
  struct prsvd_scratch sc = {0};
  PRSVD_SCRATCH_MATS(&sc, &qth);
  PRSVD_SCRATCH_ALLOC(&sc, rt, ks * ks);
  PRSVD_SCRATCH_ALLOC(&sc, ur, ks * ks);
  PRSVD_SCRATCH_ALLOC(&sc, vr, ks * ks);
  PRSVD_SCRATCH_ALLOC(&sc, qo, ks * ks);
  PRSVD_SCRATCH_ALLOC(&sc, mo, h * ks);
  PRSVD_SCRATCH_ALLOC(&sc, pinv, ks * h);
  PRSVD_SCRATCH_ALLOC(&sc, c, ks * h);
  PRSVD_TRY(prsvd_dmat_qr(yt, rt));                                /* Qt R~ = Yt */
  PRSVD_TRY(prsvd_small_svd(svd->comm, iks, iks, rt, sigma, ur, vr)); /* R~ = U_R S V_R^T */
  PRSVD_TRY(right_map_product(rm, 0, yt, qo, svd->comm));          /* Qt^T Omega: ks x ks */
  small_gemm("T", "N", ih, iks, iks, ur, iks, qo, iks, mo);        /* Qt_h^T Omega: h x ks */
  PRSVD_TRY(pseudo_inverse(ih, iks, mo, pinv));                    /* ks x h */
  small_gemm("N", "N", iks, ih, iks, r, iks, pinv, iks, c);        /* B = R (Qt_h^T Omega)^+ */
  PRSVD_TRY(prsvd_dmat_create(svd->grid, prsvd_dmat_rows(yt), h, &qth));
  PRSVD_TRY(prsvd_dmat_mul_small(yt, ks, ur, ks, h, qth));        /* Qt_h = Qt U_R(:, 1:h) */
  PRSVD_TRY(prsvd_svd_finish_core(svd, y, c, qth, sigma));
  *n_sigma = h;
done:
  prsvd_scratch_free(&sc);
  return status;
}

void prsvd_onepass_shape(const struct prsvd_svd_params *prm, const prsvd_source *a, struct prsvd_pass_shape *shape) {
  const int64_t m = prsvd_source_rows(a), n = prsvd_source_cols(a);
  int64_t ks, s;
  memset(shape, 0, sizeof *shape);
  if (prsvd_onepass_sizes(prm, m, n, &ks, &s)) return; /* refused later, with the reason */
  const int three = prm->onepass == PRSVD_ONEPASS_THREE, two = prm->onepass == PRSVD_ONEPASS_TWO;
  const int64_t co = two ? s : ks;
  shape->threaded = 1;
  shape->sparse = prsvd_source_nnz(a) >= 0;
  shape->n_right = three ? ks + s : ks;
  shape->left_cols = co + N_THETA;
  shape->left_width = co > N_THETA ? co : N_THETA;
  shape->core_elems = three ? s * s : 0;
  shape->sparse_map = prm->test_matrix == PRSVD_TEST_SPARSE;
}

int prsvd_solve_onepass(prsvd_svd *svd, prsvd_source *a) {
  int status = PRSVD_OK;
  const struct prsvd_svd_params *prm = &svd->params;
  const int64_t m = prsvd_source_rows(a), n = prsvd_source_cols(a);
  const int64_t mn = m < n ? m : n, k = prm->rank;
  const enum prsvd_onepass_method method = prm->onepass;
  const enum prsvd_sketch_kind kind = (enum prsvd_sketch_kind)prm->test_matrix;
  struct right_maps rm;
  struct prsvd_svd_frame f;
  struct prsvd_pass *const pass = &f.pass;
  struct prsvd_ckpt *const ck = &f.ck;
  struct prsvd_cursor cur = {0};
  double *xt_full = NULL, *core = NULL, *st = NULL;
  double *gq = NULL, *gp = NULL, *pinv1 = NULL, *pinv2 = NULL, *tmp = NULL, *c = NULL, *r = NULL;
  double *sigma = NULL;
  prsvd_dmat *y = NULL, *xt = NULL;
  double fro2 = 0.0;
  int64_t n_sigma; /* singular values of the core: k_s, or h for hmt */
  int resumed;

  memset(&rm, 0, sizeof rm);
  prsvd_svd_frame_init(&f, svd);
  if (k < 1 || k > mn)
    PRSVD_ERR(PRSVD_ERR_USAGE, "rank k = %lld must be between 1 and min(rows, cols) = %lld",
              (long long)k, (long long)mn);
  /* sketch sizes: those set, checked, or k_s = 2r + 1, s = 2 k_s + 1 (TYUC 2019 Sec. 5.4)
   * clipped to min(m, n) */
  int64_t ks, s;
  PRSVD_CHECK(prsvd_onepass_sizes(prm, m, n, &ks, &s));
  svd->k = k;
  n_sigma = ks;
  svd->stats.range_dim = ks;
  svd->stats.core_dim = method == PRSVD_ONEPASS_HMT ? 0 : s;
  int iks = (int)ks, is = (int)s;

  int64_t my_row0, my_rows;
  prsvd_row_block(m, prsvd_grid_rank(svd->grid), prsvd_grid_nprocs(svd->grid), &my_row0, &my_rows);

  /* the sketches this method needs from the pass */
  rm.kind = kind;
  rm.n_maps = method == PRSVD_ONEPASS_THREE ? 2 : 1;
  rm.dims[0] = ks, rm.streams[0] = PRSVD_STREAM_OMEGA;
  rm.dims[1] = s, rm.streams[1] = PRSVD_STREAM_PSI;
  PRSVD_TRY(right_maps_create(&rm, prm, n));
  const struct prsvd_testmat co = {kind, prm->seed,
                                   method == PRSVD_ONEPASS_TWO ? PRSVD_STREAM_PSI : PRSVD_STREAM_UPSILON,
                                   method == PRSVD_ONEPASS_TWO ? s : ks};
  const struct prsvd_testmat phi = {kind, prm->seed, PRSVD_STREAM_PHI, s};
  const struct prsvd_testmat theta = {PRSVD_SKETCH_GAUSSIAN, prm->seed, PRSVD_STREAM_THETA, N_THETA};
  /* X^T and S^T side by side: the pass multiplies A_i^T [G_co | Theta_i] as one product */
  PRSVD_TRY(prsvd_svd_pass_begin(&f, a, rm.total, s > co.dim + N_THETA ? s : co.dim + N_THETA));
  PRSVD_SCRATCH_MATS(&f.scratch, &y, &xt);
  PRSVD_SCRATCH_ALLOC(&f.scratch, xt_full, n * (co.dim + N_THETA));
  st = xt_full + n * co.dim;
  PRSVD_SCRATCH_ALLOC(&f.scratch, core, s * s);
  PRSVD_TRY(prsvd_dmat_create(svd->grid, m, ks, &y));
  PRSVD_TRY(prsvd_dmat_create(svd->grid, n, co.dim, &xt));

  pass->check_finite = prm->check_finite;
  pass->scale_running = 1; /* one pass: the exponent follows the panels (sketch.h) */
  pass->n_right = rm.total;
  pass->right = rm.dense;
  pass->right_sparse = kind == PRSVD_SKETCH_SPARSE ? &rm.sparse : NULL;
  pass->n_keep = 1;
  pass->keep[0].dmat = y; /* Y = A Omega^T */
  pass->n_left = 0;
  pass->left[pass->n_left].g = co; /* X^T = (Upsilon A)^T, or W^T = (Psi A)^T, or Yt = A^T Omega_t */
  pass->left[pass->n_left++].acc = xt_full;
  pass->left[pass->n_left].g = theta; /* S^T = (Theta A)^T */
  pass->left[pass->n_left++].acc = st;
  if (method == PRSVD_ONEPASS_THREE) { /* Z = Phi (A Psi^T) */
    pass->left[pass->n_left].g = phi;
    pass->left[pass->n_left].core = core;
    pass->left[pass->n_left].core_col0 = ks;
    pass->left[pass->n_left++].core_cols = s;
  }
  pass->fro2 = &fro2;
  cur.n_passes = 1;
  cur.next_row = my_row0;
  { /* the state: Y (kept rows) and the partial sums of X^T, Z, S^T and ||A||_F^2 */
    int64_t y0, yr, yld;
    double *yl = prsvd_dmat_local(y, &y0, &yr, &yld);
    prsvd_ckpt_array(ck, "Y", yl, m, ks, yld, y0, yr, 1);
    PRSVD_TRY(prsvd_ckpt_partial(ck, svd->grid, "XT", xt_full, n, co.dim));
    if (method == PRSVD_ONEPASS_THREE) PRSVD_TRY(prsvd_ckpt_partial(ck, svd->grid, "Z", core, s, s));
    PRSVD_TRY(prsvd_ckpt_partial(ck, svd->grid, "ST", st, n, N_THETA));
    PRSVD_TRY(prsvd_ckpt_partial(ck, svd->grid, "fro2", &fro2, 1, 1));
    prsvd_ckpt_passes(ck, 0, 0.0);
    PRSVD_TRY(prsvd_ckpt_start(ck, pass, &cur, &resumed));
  }
  status = prsvd_sketch_pass(pass, &cur);
  PRSVD_TRY(prsvd_error_agree(svd->comm, status));
  svd->stats.passes = 1;
  { /* every rank's sketches on the exponent A's range asks for, before they are combined */
    int e;
    PRSVD_TRY(prsvd_pass_range(pass, svd->comm, m, n, &e));
    svd->stats.scale_exp = e;
  }

  /* combine the sketches across ranks */
  prsvd_profile_begin(PRSVD_EV_REDUCE);
  PRSVD_TRY(prsvd_dmat_reduce_scatter(xt_full, xt));
  PRSVD_MPI(MPI_Allreduce(MPI_IN_PLACE, st, (int)(n * N_THETA), MPI_DOUBLE, MPI_SUM, svd->comm));
  PRSVD_MPI(MPI_Allreduce(MPI_IN_PLACE, &fro2, 1, MPI_DOUBLE, MPI_SUM, svd->comm));
  if (method == PRSVD_ONEPASS_THREE)
    PRSVD_MPI(MPI_Allreduce(MPI_IN_PLACE, core, (int)(s * s), MPI_DOUBLE, MPI_SUM, svd->comm));
  prsvd_profile_end(PRSVD_EV_REDUCE, 8.0 * (double)(n * (co.dim + N_THETA) + s * s), 0.0);
  svd->stats.norm_fro = sqrt(fro2);

  PRSVD_SCRATCH_ALLOC(&f.scratch, r, ks * ks);
  PRSVD_SCRATCH_ALLOC(&f.scratch, sigma, ks);
  PRSVD_SCRATCH_ALLOC(&f.scratch, gq, s * ks);
  PRSVD_SCRATCH_ALLOC(&f.scratch, gp, s * ks);
  PRSVD_SCRATCH_ALLOC(&f.scratch, pinv1, s * ks);
  PRSVD_SCRATCH_ALLOC(&f.scratch, pinv2, s * ks);
  PRSVD_SCRATCH_ALLOC(&f.scratch, tmp, s * s);
  PRSVD_SCRATCH_ALLOC(&f.scratch, c, ks * ks);
  /* Q R = Y */
  prsvd_profile_begin(PRSVD_EV_ORTH);
  PRSVD_TRY(prsvd_dmat_qr(y, r));
  prsvd_profile_end(PRSVD_EV_ORTH, 0.0, 4.0 * (double)m * (double)(ks * ks));
  if (method == PRSVD_ONEPASS_THREE) {
    /* P = orth(X^T) */
    double *rx = tmp;
    PRSVD_TRY(prsvd_dmat_qr(xt, rx));
    /* C = (Phi Q)^+ Z ((Psi P)^+)^T */
    PRSVD_TRY(left_map_product(&phi, y, tmp, svd->pool, svd->comm)); /* Q^T Phi^T: ks x s */
    for (int64_t i = 0; i < ks; i++)
      for (int64_t j = 0; j < s; j++) gq[i * s + j] = tmp[j * ks + i]; /* Phi Q: s x ks */
    PRSVD_TRY(right_map_product(&rm, 1, xt, tmp, svd->comm));          /* P^T Psi^T: ks x s */
    for (int64_t i = 0; i < ks; i++)
      for (int64_t j = 0; j < s; j++) gp[i * s + j] = tmp[j * ks + i]; /* Psi P: s x ks */
    PRSVD_TRY(pseudo_inverse(is, iks, gq, pinv1)); /* ks x s */
    PRSVD_TRY(pseudo_inverse(is, iks, gp, pinv2)); /* ks x s */
    small_gemm("N", "N", iks, is, is, pinv1, iks, core, is, tmp); /* (Phi Q)^+ Z: ks x s */
    small_gemm("N", "T", iks, iks, is, tmp, iks, pinv2, iks, c);  /* ... ((Psi P)^+)^T */
    PRSVD_TRY(prsvd_svd_finish_core(svd, &y, c, xt, sigma));
  } else if (method == PRSVD_ONEPASS_TWO) {
    /* B = (Psi Q)^+ W, i.e. B^T = W^T ((Psi Q)^+)^T */
    prsvd_dmat *bt = NULL;
    PRSVD_TRY(left_map_product(&co, y, tmp, svd->pool, svd->comm)); /* Q^T Psi^T: ks x s */
    for (int64_t i = 0; i < ks; i++)
      for (int64_t j = 0; j < s; j++) gq[i * s + j] = tmp[j * ks + i];
    PRSVD_TRY(pseudo_inverse(is, iks, gq, pinv1)); /* ks x s */
    for (int64_t i = 0; i < ks; i++)
      for (int64_t j = 0; j < s; j++) pinv2[i * s + j] = pinv1[j * ks + i]; /* s x ks */
    PRSVD_TRY(prsvd_dmat_create(svd->grid, n, ks, &bt));
    status = prsvd_dmat_mul_small(xt, s, pinv2, s, ks, bt);
    if (!status) status = prsvd_svd_finish_qb(svd, &y, bt, sigma);
    prsvd_dmat_destroy(&bt);
    PRSVD_TRY(status);
  } else {
    PRSVD_TRY(hmt_core(svd, &rm, &y, r, xt, sigma, &n_sigma));
  }
  PRSVD_TRY(prsvd_svd_estimate_left(svd, st, N_THETA, prm->seed, PRSVD_STREAM_THETA));
  /* scree: the tail energy left at rank r, sqrt(err^2 + sum_{j > r} sigma_j^2) */
  PRSVD_ALLOC(svd->scree, k);
  for (int64_t rr = 1; rr <= k; rr++) {
    double tail = svd->stats.error_estimate_fro * svd->stats.error_estimate_fro;
    for (int64_t j = rr; j < n_sigma; j++) tail += sigma[j] * sigma[j];
    svd->scree[rr - 1] = sqrt(tail);
  }
done:
  prsvd_svd_frame_end(&f);
  right_maps_free(&rm);
  return status;
}

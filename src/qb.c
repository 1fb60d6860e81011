/*
 * Fixed accuracy: blocked randomized QB with an error indicator, pass-efficient.
 *
 * Yu, Gu & Li, "Efficient randomized algorithms for the fixed-precision low-rank matrix
 * approximation", SIMAX 39 (2018), Alg. 4 (randQB_FP), with q power passes first:
 *
 *   X = Omega (n x L);  q times: Y = A X, X = orth(A^T Y)      (one pass each)
 *   G = A X,  H = A^T G,  E = ||A||_F^2                       (one more pass)
 *   for each block i of b columns, touching A no more:
 *     Y_i = G_i - Q (B X_i)
 *     Q_i R_i = Y_i;  Q_i R'_i = Q_i - Q (Q^T Q_i);  R_i = R'_i R_i
 *     B_i^T = (H_i - B^T (Q^T Y_i) - B^T (B X_i)) R_i^-1
 *   (R_i^-1 taken through the SVD of R_i, keeping only directions above rounding, so a
 *   block past the numerical rank of A adds nothing)
 *     Q = [Q Q_i],  B = [B; B_i],  E = E - ||B_i||_F^2,  stop when E <= tol^2 ||A||_F^2
 *   rank: the smallest t with ||A||_F^2 - sum_{j<=t} sigma_j(B)^2 <= tol^2 ||A||_F^2
 *
 * Columns the source learns to zero as it reads (params.zeroed_columns, --missing drop) are
 * agreed after the first pass when q >= 1: the first pass only starts X, and the last, which
 * makes G, H and ||A||_F^2, reads A without them.
 *
 * Assumptions: tol >= ~1e-7 (E is a difference of squares); L = max_rank <= min(m, n).
 * Q, G (m rows) and B^T, H (n rows) are distributed by row blocks; X replicated.
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

/* out (a x b) = sum over ranks of x_local^T y_local (rows x a, rows x b) */
static int cross(MPI_Comm comm, int rows, int a, int b, const double *x, int ldx,
                 const double *y, int ldy, double *out) {
  const double one = 1.0, zero = 0.0;
  memset(out, 0, sizeof(double) * (size_t)a * (size_t)b);
  if (rows > 0 && a > 0 && b > 0) dgemm_("T", "N", &a, &b, &rows, &one, x, &ldx, y, &ldy, &zero, out, &a);
  PRSVD_MPI(MPI_Allreduce(MPI_IN_PLACE, out, a * b, MPI_DOUBLE, MPI_SUM, comm));
  return PRSVD_OK;
}

/* c (rows x b) += alpha x (rows x a) s (a x b), local */
static void axpy_small(int rows, int a, int b, double alpha, const double *x, int ldx,
                       const double *s, double *c, int ldc) {
  const double one = 1.0;
  if (rows > 0 && a > 0 && b > 0) dgemm_("N", "N", &rows, &b, &a, &alpha, x, &ldx, s, &a, &one, c, &ldc);
}

int prsvd_solve_qb(prsvd_svd *svd, prsvd_source *a) {
  int status = PRSVD_OK;
  const struct prsvd_svd_params *prm = &svd->params;
  const int64_t m = prsvd_source_rows(a), n = prsvd_source_cols(a);
  const int64_t L = prsvd_svd_width(prm, m, n); /* max_rank or min(m, n, 256), at most min(m, n) */
  int64_t b = prm->block > 0 ? prm->block : 10;
  double *x = NULL, *h_full = NULL, *r = NULL;
  double *bx = NULL, *qty = NULL, *qtq = NULL, *ri = NULL, *rr = NULL;
  double *sv = NULL, *ur = NULL, *wr = NULL, *ws = NULL, *mi = NULL;
  prsvd_dmat *g = NULL, *h = NULL, *yi = NULL, *qi = NULL, *qd = NULL, *btd = NULL;
  double *q = NULL, *bt = NULL;
  struct prsvd_svd_frame f;
  struct prsvd_pass *const pass = &f.pass;
  struct prsvd_ckpt *const ck = &f.ck;
  struct prsvd_cursor cur = {0};
  double fro2 = 0.0;
  int resumed;

  prsvd_svd_frame_init(&f, svd);
  if (!(prm->tol > 0 && prm->tol < 1))
    PRSVD_ERR(PRSVD_ERR_USAGE, "tolerance %g must be in (0, 1)", prm->tol);
  if (L < 1) PRSVD_ERR(PRSVD_ERR_USAGE, "--max-rank must be at least 1");
  if (b > L) b = L; /* a block past the largest rank adds nothing: no scratch for it */
  int64_t m0, mr, n0, nr;
  PRSVD_TRY(prsvd_svd_pass_begin(&f, a, L, 0));
  PRSVD_SCRATCH_MATS(&f.scratch, &g, &h, &yi, &qi, &qd, &btd);
  prsvd_row_block(m, prsvd_grid_rank(svd->grid), prsvd_grid_nprocs(svd->grid), &m0, &mr);
  prsvd_row_block(n, prsvd_grid_rank(svd->grid), prsvd_grid_nprocs(svd->grid), &n0, &nr);
  const int imr = (int)mr, inr = (int)nr, lq = mr > 0 ? (int)mr : 1, lb = nr > 0 ? (int)nr : 1;

  PRSVD_SCRATCH_ALLOC(&f.scratch, x, n * L);
  PRSVD_SCRATCH_ALLOC(&f.scratch, h_full, n * L);
  PRSVD_SCRATCH_ALLOC(&f.scratch, r, L * L);
  PRSVD_TRY(prsvd_dmat_create(svd->grid, m, L, &g));
  PRSVD_TRY(prsvd_dmat_create(svd->grid, n, L, &h));
  prsvd_rng_fill(prm->seed, PRSVD_STREAM_OMEGA, 0, n, 0, L, x, n);

  pass->right = x;
  pass->n_right = L;
  pass->n_keep = 1;
  pass->keep[0].dmat = g;
  pass->corange_src = g;
  pass->corange = h_full;
  { /* the state: X, G (kept rows) and the partial sums of H and ||A||_F^2 */
    int64_t g0, gr, gld;
    double *gl = prsvd_dmat_local(g, &g0, &gr, &gld);
    prsvd_ckpt_array(ck, "X", x, n, L, n, 0, n, 0);
    prsvd_ckpt_array(ck, "G", gl, m, L, gld, g0, gr, 1);
    PRSVD_TRY(prsvd_ckpt_partial(ck, svd->grid, "H", h_full, n, L));
    PRSVD_TRY(prsvd_ckpt_partial(ck, svd->grid, "fro2", &fro2, 1, 1));
    prsvd_ckpt_passes(ck, prm->power_iters, 0.0);
    PRSVD_TRY(prsvd_ckpt_start(ck, pass, &cur, &resumed));
    svd->stats.passes = ck->passes_done;
  }
  cur.n_passes = prm->power_iters + 1 + (pass->scale_exp != 0);
  for (int start = resumed ? cur.pass : -1; cur.pass <= prm->power_iters; cur.pass++) {
    const int last = cur.pass == prm->power_iters;
    /* G = A X, H = A^T G (and ||A||_F^2 on the last pass); the first pass, unscaled, checks A
     * and measures its range */
    pass->measure = cur.pass == 0 && !pass->scale_exp;
    pass->check_finite = prm->check_finite && pass->measure;
    pass->fro2 = last ? &fro2 : NULL;
    if (cur.pass != start) { /* not the pass a checkpoint resumes */
      cur.next_row = m0;
      memset(h_full, 0, sizeof(double) * (size_t)(n * L));
    }
    ck->passes_done = svd->stats.passes;
    status = prsvd_sketch_pass(pass, &cur);
    PRSVD_TRY(prsvd_error_agree(svd->comm, status));
    if (cur.pass == 0 && !last) { /* columns learnt zeroed: not in G, H, ||A||_F^2 (the last) */
      int late;
      PRSVD_TRY(prsvd_svd_first_pass_columns(svd, n, NULL, NULL, NULL, &late));
    }
    if (pass->measure) { /* A beyond the sketches' range: the first pass again, on 2^e A */
      int repeat;
      PRSVD_TRY(prsvd_svd_first_pass_range(svd, pass, m, n, &cur, &repeat));
      if (repeat) {
        start = -1;
        fro2 = 0.0;
        cur.pass--;
        continue;
      }
    }
    PRSVD_TRY(prsvd_dmat_reduce_scatter(h_full, h));
    svd->stats.passes++;
    if (last) break;
    /* X = orth(H) */
    PRSVD_TRY(prsvd_dmat_qr(h, r));
    PRSVD_TRY(prsvd_dmat_allgather(h, x));
  }
  PRSVD_MPI(MPI_Allreduce(MPI_IN_PLACE, &fro2, 1, MPI_DOUBLE, MPI_SUM, svd->comm));
  svd->stats.norm_fro = sqrt(fro2);
  svd->stats.scale_exp = pass->scale_exp;

  /* the blocked QB, from G and H alone */
  prsvd_profile_begin(PRSVD_EV_ORTH);
  PRSVD_SCRATCH_ALLOC(&f.scratch, q, (int64_t)lq * L);
  PRSVD_SCRATCH_ALLOC(&f.scratch, bt, (int64_t)lb * L);
  PRSVD_SCRATCH_ALLOC(&f.scratch, bx, L * b);
  PRSVD_SCRATCH_ALLOC(&f.scratch, qty, L * b);
  PRSVD_SCRATCH_ALLOC(&f.scratch, qtq, L * b);
  PRSVD_SCRATCH_ALLOC(&f.scratch, ri, b * b);
  PRSVD_SCRATCH_ALLOC(&f.scratch, rr, b * b);
  PRSVD_SCRATCH_ALLOC(&f.scratch, sv, b);
  PRSVD_SCRATCH_ALLOC(&f.scratch, ur, b * b);
  PRSVD_SCRATCH_ALLOC(&f.scratch, wr, b * b);
  PRSVD_SCRATCH_ALLOC(&f.scratch, ws, b * b);
  PRSVD_SCRATCH_ALLOC(&f.scratch, mi, (int64_t)lb * b);
  int64_t gld, hld, yld;
  const double *gl = prsvd_dmat_local(g, NULL, NULL, &gld);
  const double *hl = prsvd_dmat_local(h, NULL, NULL, &hld);
  const double target = prm->tol * prm->tol * fro2;
  double e = fro2;
  int64_t rank = 0;
  /* rounding level of a block Y_i = (I - Q Q^T) A X_i: eps-scale relative to ||A|| ||X_i|| */
  double xmax = 0.0;
  for (int64_t c = 0; c < L; c++) {
    double nc = 0.0;
    for (int64_t j = 0; j < n; j++) nc += x[c * n + j] * x[c * n + j];
    xmax = fmax(xmax, sqrt(nc));
  }
  const double noise = 1e-12 * sqrt(fro2) * xmax;
  svd->stats.tol_met = 0;
  int64_t col = 0; /* columns of X, G and H consumed; rank <= col */
  while (col < L) {
    int bi = (int)(L - col < b ? L - col : b);
    const int ir = (int)rank;
    const double *xi = x + col * n;
    prsvd_dmat_destroy(&yi);
    PRSVD_TRY(prsvd_dmat_create(svd->grid, m, bi, &yi));
    double *y = prsvd_dmat_local(yi, NULL, NULL, &yld);
    /* B X_i (rank x bi), from this rank's rows of B^T and of X_i */
    PRSVD_TRY(cross(svd->comm, inr, ir, bi, bt, lb, xi + n0, (int)n, bx));
    /* Y_i = G_i - Q (B X_i) */
    for (int c = 0; c < bi; c++) memcpy(y + c * yld, gl + (col + c) * gld, sizeof(double) * (size_t)mr);
    axpy_small(imr, ir, bi, -1.0, q, lq, bx, y, (int)yld);
    /* Q^T Y_i, before Y_i becomes Q_i */
    PRSVD_TRY(cross(svd->comm, imr, ir, bi, q, lq, y, (int)yld, qty));
    /* Q_i R_i = Y_i, then R_i = U_r S W^T keeps the t directions above rounding: a block
     * past the numerical rank of A must add nothing (R_i^-1 would amplify noise) */
    PRSVD_TRY(prsvd_dmat_qr(yi, ri));
    PRSVD_TRY(prsvd_small_svd(svd->comm, bi, bi, ri, sv, ur, wr));
    int t = 0;
    while (t < bi && sv[t] > noise) t++;
    if (t == 0) {
      svd->stats.tol_met |= e <= target;
      break;
    }
    prsvd_dmat_destroy(&qi);
    PRSVD_TRY(prsvd_dmat_create(svd->grid, m, t, &qi));
    PRSVD_TRY(prsvd_dmat_mul_small(yi, bi, ur, bi, t, qi));
    double *qil = prsvd_dmat_local(qi, NULL, NULL, &yld);
    /* Q_i R'_i = Q_i - Q (Q^T Q_i) */
    PRSVD_TRY(cross(svd->comm, imr, ir, t, q, lq, qil, (int)yld, qtq));
    axpy_small(imr, ir, t, -1.0, q, lq, qtq, qil, (int)yld);
    PRSVD_TRY(prsvd_dmat_qr(qi, rr));
    /* B_i^T = (H_i - B^T (Q^T Y_i) - B^T (B X_i)) W_t S_t^-1 R'_i^-1 */
    for (int c = 0; c < bi; c++) memcpy(mi + c * lb, hl + (col + c) * hld, sizeof(double) * (size_t)nr);
    axpy_small(inr, ir, bi, -1.0, bt, lb, qty, mi, lb);
    axpy_small(inr, ir, bi, -1.0, bt, lb, bx, mi, lb);
    for (int c = 0; c < t; c++)
      for (int j = 0; j < bi; j++) ws[c * bi + j] = wr[c * bi + j] / sv[c];
    double *bti = bt + rank * lb;
    if (inr > 0) {
      const double one = 1.0, zero = 0.0;
      dgemm_("N", "N", &inr, &t, &bi, &one, mi, &lb, ws, &bi, &zero, bti, &lb);
      dtrsm_("R", "U", "N", "N", &inr, &t, &one, rr, &t, bti, &lb);
    }
    col += bi;
    bi = t;
    /* Q = [Q Q_i];  E = E - ||B_i||_F^2 */
    for (int c = 0; c < bi; c++) memcpy(q + (rank + c) * lq, qil + c * yld, sizeof(double) * (size_t)mr);
    double bnorm = 0.0;
    for (int c = 0; c < bi; c++)
      for (int i = 0; i < inr; i++) bnorm += bti[c * lb + i] * bti[c * lb + i];
    PRSVD_MPI(MPI_Allreduce(MPI_IN_PLACE, &bnorm, 1, MPI_DOUBLE, MPI_SUM, svd->comm));
    e -= bnorm;
    rank += bi;
    /* tol met: go on through the rest of the sketch, which costs no pass, so that the rank
     * is cut from the SVD of the whole Q B rather than from the first blocks (a one-pass
     * sketch of a slow spectrum otherwise overshoots the optimal rank by half) */
    if (e <= target) svd->stats.tol_met = 1;
  }
  prsvd_profile_end(PRSVD_EV_ORTH, 0.0, 0.0);

  /* A ~ Q B with `rank` columns; its SVD, then the smallest rank meeting tol */
  if (rank == 0)
    PRSVD_FAIL(PRSVD_ERR_INPUT, "'%s' is zero to rounding: no rank to choose for --tol", prsvd_source_name(a));
  PRSVD_TRY(prsvd_dmat_create(svd->grid, m, rank, &qd));
  PRSVD_TRY(prsvd_dmat_create(svd->grid, n, rank, &btd));
  {
    int64_t ql, bl;
    double *qdl = prsvd_dmat_local(qd, NULL, NULL, &ql), *bdl = prsvd_dmat_local(btd, NULL, NULL, &bl);
    for (int64_t c = 0; c < rank; c++) {
      memcpy(qdl + c * ql, q + c * lq, sizeof(double) * (size_t)mr);
      memcpy(bdl + c * bl, bt + c * lb, sizeof(double) * (size_t)nr);
    }
  }
  PRSVD_TRY(prsvd_qb_truncate(svd, &qd, btd, fro2));
done:
  prsvd_svd_frame_end(&f);
  return status;
}

int prsvd_qb_truncate(prsvd_svd *svd, prsvd_dmat **q, prsvd_dmat *bt, double fro2) {
  int status = PRSVD_OK;
  const int64_t rank = prsvd_dmat_cols(*q);
  const double target = svd->params.tol * svd->params.tol * fro2;
  double *sigma = NULL, kept = 0.0;
  int64_t k = rank;
  /* A ~ Q B = U S V^T, then the smallest rank meeting tol:
   * ||A - U_k S_k V_k^T||_F^2 = ||A||_F^2 - sum_{j <= k} sigma_j^2, since (I - Q Q^T) A is
   * orthogonal to Q */
  svd->k = rank;
  svd->stats.qb_rank = rank;
  PRSVD_ALLOC(sigma, rank);
  PRSVD_TRY(prsvd_svd_finish_qb(svd, q, bt, sigma));
  if (svd->stats.tol_met)
    for (k = 1; k <= rank; k++) {
      kept += sigma[k - 1] * sigma[k - 1];
      if (fro2 - kept <= target) break;
    }
  if (k > rank) k = rank;
  kept = 0.0;
  for (int64_t j = 0; j < k; j++) kept += sigma[j] * sigma[j];
  svd->k = k;
  PRSVD_TRY(prsvd_dmat_truncate_cols(svd->u, k));
  PRSVD_TRY(prsvd_dmat_truncate_cols(svd->v, k));
  svd->stats.tol_achieved = fro2 > 0 ? sqrt(fmax(fro2 - kept, 0.0) / fro2) : 0.0;
  svd->stats.error_estimate_fro = sqrt(fmax(fro2 - kept, 0.0));
  svd->stats.error_estimate = NAN;
done:
  free(sigma);
  return status;
}

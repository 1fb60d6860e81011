/*
 * Randomized SVD by subspace iteration, pass-efficient form.
 *
 * Halko, Martinsson & Tropp, "Finding structure with randomness", SIAM Review 53 (2011):
 * Algorithm 4.4 (randomized subspace iteration) with Algorithm 5.1 (direct SVD), and the
 * a-posteriori error bound of Section 4.3, eq. (4.3).
 *
 * Each pass over the row panels A_i computes both Y_i = A_i X and H += A_i^T Y_i, so q power
 * iterations cost q + 1 passes:
 *
 *   X = Omega                                   (n x l Gaussian, l = k + p)
 *   repeat q + 1 times:  Y = A X,  H = A^T Y;   X = orth(H) between passes
 *   Q R = Y;  B^T = A^T Q = H R^-1              (or one more pass B^T = A^T Q if R is
 *                                                ill-conditioned)
 *   then A ~ Q B (svd_impl.h: prsvd_svd_finish_qb)
 *
 * -q auto (params.power_iters = PRSVD_POWER_ITERS_AUTO): q is not known in advance.  After
 * every pass H = X' R_H is orthonormalized, and the singular values B would have if the
 * iteration stopped there are estimated from X^T H and R_H (converge.c); the iteration
 * stops when they settle, or after max_power_iters.  Then H is already X' R_H, so
 * B^T = H R^-1 = X' (R_H R^-1).  The probes W, which ride along the last pass when q is
 * fixed, ride along the first pass instead (the second with scale, whose first pass learns
 * the scales): A W does not depend on the pass.
 *
 * Columns the source learns to zero as it reads (params.zeroed_columns, --missing drop) are
 * agreed after the first pass when a later one follows (q >= 1, or auto up to q >= 1): from
 * then on every panel has them zeroed, so the passes that make the result (Y, H, B, the probes)
 * are those of A without them, and the first pass only gave X = orth(H), a start as good as any.
 * What else it kept is corrected: PCA's column statistics leave those columns out (zero, as a
 * zero column's), and when a panel was read before one of them was known (late), the probes
 * ride along the second pass, and -q auto's estimates of the first pass are those of Q_0 =
 * orth(Y_0) against A without them: G = Y_0^T Y_0 from Y_0 itself, and the R of A^T Y_0, which
 * the second pass forms beside A^T Y_1 ([Y_1 | Y_0] kept side by side; not on a 2-D grid, where
 * the first pass makes no estimate).  With q = 0 the first pass is the result: the caller
 * solves again.
 *
 * Assumptions: 1 <= k <= min(m, n); l = min(k + p, min(m, n)); every rank passes a source of
 * the same matrix.  Y (m x l) and H (n x l) are distributed by row blocks; X and the probe
 * matrix W (n x l, n x probes) are replicated; only l x l matrices are small-dense.
 *
 * On a 2-D grid pr x pc (svd->grid2d) rank (i, j) streams its process row's rows restricted to
 * column block j, so X and W are replicated only within a process column (n / pc rows):
 *   Y_i = sum_j A_ij X_j        summed over the process row panel by panel (pass.c), so the
 *                               co-range update uses whole rows of Y
 *   H_j = sum_i A_ij^T Y_i      reduce-scattered within the process column into H (on by_cols)
 *   X_j = orth(H)_j             allgathered within the process column
 * Test matrices are drawn by global row, so X_j is rows [c0, c0 + nc) of the 1-D X: the same
 * result at any grid shape.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "blas.h"
#include "error.h"
#include "profile.h"
#include "rng.h"
#include "checkpoint.h"
#include "converge.h"
#include "svd_impl.h"

static double rcond_upper(int l, const double *r) {
  double rcond = 0.0, *work = malloc(sizeof(double) * 3 * (size_t)l);
  int *iwork = malloc(sizeof(int) * (size_t)l), info = 0;
  if (work && iwork) dtrcon_("1", "U", "N", &l, r, &l, &rcond, work, iwork, &info);
  free(work);
  free(iwork);
  return info ? 0.0 : rcond;
}

/* Local: columns [0, cols) of from into columns [to0, to0 + cols) of to (the same rows) */
static void copy_cols(const prsvd_dmat *from, prsvd_dmat *to, int64_t to0, int64_t cols) {
  int64_t rows, fld, tld;
  const double *f = prsvd_dmat_local(from, NULL, &rows, &fld);
  double *t = prsvd_dmat_local(to, NULL, NULL, &tld);
  for (int64_t c = 0; c < cols; c++)
    memcpy(t + (to0 + c) * tld, f + c * fld, sizeof(double) * (size_t)rows);
}

/* The passes of subspace iteration: on return Q (m x l, orthonormal) and AtQ = A^T Q
 * (n x l), and the probes' A W (m x np) with W's rows [*w_row0, *w_row0 + *w_rows) (all n,
 * or this rank's column block on a 2-D grid; caller frees) in w_out, ahead of X's.  With
 * params.checkpoint, the passes save and resume at panel boundaries. */
int prsvd_subspace_sketch(prsvd_svd *svd, prsvd_source *a, int64_t l, prsvd_dmat **q_out,
                          prsvd_dmat **atq_out, prsvd_dmat **aw_out, double **w_out,
                          int64_t *w_row0, int64_t *w_rows) {
  int status = PRSVD_OK;
  const struct prsvd_svd_params *prm = &svd->params;
  const int64_t m = prsvd_source_rows(a), n_all = prsvd_source_cols(a);
  const int64_t np = prsvd_svd_probes(prm);
  double *x = NULL, *probes = NULL, *h_full = NULL, *r = NULL, *r_h = NULL;
  prsvd_dmat *y = NULL, *y_probes = NULL, *h = NULL;
  /* -q auto after a late first pass (see the top): [Y | Y_0] kept and A^T [Y | Y_0] in the next */
  prsvd_dmat *y2 = NULL, *h0 = NULL;
  double *h_full2 = NULL, *s0 = NULL;
  /* the passes, their checkpoint, the scratch and the grid (svd_impl.h) */
  struct prsvd_svd_frame f;
  struct prsvd_pass *const pass = &f.pass;
  struct prsvd_ckpt *const ck = &f.ck;
  /* centring, through its hooks around each pass (center_pass.c): of the columns (the
   * samples are the rows), or of the rows (the samples are the columns, a column-compressed
   * X streamed as X^T) */
  struct prsvd_centring cen;
  struct prsvd_cursor cur = {0};
  struct prsvd_conv conv;
  int il, resumed = 0, start_pass = 0, stop = 0, q_done = 0, late = 0;
  /* q fixed, or up to max_power_iters under auto; the probes' pass (see the top) */
  const int autoq = prm->power_iters < 0;
  const int q_max =
      autoq ? (prm->max_power_iters > 0 ? prm->max_power_iters : 0) : prm->power_iters;
  const int scaled_pca = prm->center && !prm->center_rows && prm->scale;
  int probe_pass = !autoq ? q_max : scaled_pca && q_max > 0 ? 1 : 0;

  prsvd_svd_frame_init(&f, svd);
  memset(&cen, 0, sizeof cen);
  memset(&conv, 0, sizeof conv);
  PRSVD_CHECK(prsvd_to_int(l, "sketch width k + p", &il));
  PRSVD_TRY(prsvd_svd_pass_begin(&f, a, l + np, 0)); /* [X | W] on the probes' pass */
  PRSVD_SCRATCH_MATS(&f.scratch, &y, &y_probes, &h, &y2, &h0);

  PRSVD_TRY(prsvd_dmat_create(svd->grid, m, l, &y));
  PRSVD_TRY(prsvd_dmat_create(svd->grid, m, np ? np : 1, &y_probes));
  PRSVD_TRY(prsvd_svd_frame_corange(&f, n_all, l, &h));
  PRSVD_TRY(prsvd_centring_begin(&cen, svd, a, y, l, l + np));
  PRSVD_TRY(prsvd_svd_frame_columns(&f, h)); /* this rank's columns of A: [c0, c0 + n) */
  const int64_t c0 = f.c0, n = f.n;
  /* [X | W]: the last pass also applies the probes W */
  PRSVD_SCRATCH_ALLOC(&f.scratch, x, n * (l + np));
  PRSVD_SCRATCH_ALLOC(&f.scratch, h_full, n * l);
  PRSVD_SCRATCH_ALLOC(&f.scratch, r, l * l);
  if (autoq) {
    PRSVD_SCRATCH_ALLOC(&f.scratch, r_h, l * l);
    PRSVD_TRY(prsvd_conv_init(&conv, prm->rank, l, prm->method == PRSVD_METHOD_REVD,
                              prsvd_pass_single(prm, a)));
  }
  PRSVD_TRY(prsvd_centring_columns(&cen, c0, n));

  /* X = Omega, W = probes: entries depend on (seed, row, column) only */
  prsvd_rng_fill(prm->seed, PRSVD_STREAM_OMEGA, c0, n, 0, l, x, n);
  probes = x + n * l;
  if (np) prsvd_rng_fill(prm->seed, PRSVD_STREAM_PROBE, c0, n, 0, np, probes, n);

  pass->right = x;
  pass->keep[0].dmat = y;
  pass->keep[0].col0 = 0;
  pass->keep[1].dmat = y_probes;
  pass->keep[1].col0 = l;
  pass->corange_src = y;
  pass->corange = h_full;
  if (prm->method == PRSVD_METHOD_REVD) PRSVD_TRY(prsvd_symmetry_samples(&f, n));

  { /* the state: X, Y, the probes, H, the column statistics, the symmetry samples and under
     * auto the previous pass's estimates */
    int64_t y0, yr, yld, p0, pr, pld;
    double *yl = prsvd_dmat_local(y, &y0, &yr, &yld), *pl = prsvd_dmat_local(y_probes, &p0, &pr, &pld);
    prsvd_ckpt_array(ck, "X", x, n, l + np, n, 0, n, 0);
    prsvd_ckpt_array(ck, "Y", yl, m, l, yld, y0, yr, 1);
    prsvd_ckpt_array(ck, "AW", pl, m, prsvd_dmat_cols(y_probes), pld, p0, pr, 1);
    PRSVD_TRY(prsvd_ckpt_partial(ck, svd->grid, "H", h_full, n, l));
    if (autoq)
      prsvd_ckpt_array(ck, "estimates", conv.prev, conv.k + 1, 1, conv.k + 1, 0, conv.k + 1, 0);
    PRSVD_TRY(prsvd_centring_checkpoint(&cen, ck, svd, y));
    if (pass->n_samples)
      PRSVD_TRY(prsvd_ckpt_partial(ck, svd->grid, "symmetry_samples", pass->sample_val, pass->n_samples, 1));
    /* passes 0..q, then B^T = A^T Q by one more if R is too ill-conditioned */
    prsvd_ckpt_passes(ck, q_max, prm->rcond_min);
    if (autoq) prsvd_ckpt_ends_early(ck);
    PRSVD_TRY(prsvd_ckpt_start(ck, pass, &cur, &resumed));
    if (resumed) {
      start_pass = cur.pass;
      svd->stats.passes = ck->passes_done;
      if (autoq) conv.change = conv.prev[conv.k];
      if (start_pass > 0) pass->n_samples = 0; /* symmetry checked in the first pass */
      PRSVD_TRY(prsvd_centring_resumed(&cen, svd, ck, y, start_pass)); /* the first pass's statistics */
    }
  }

  cur.n_passes = q_max + 1 + (pass->scale_exp != 0);
  for (cur.pass = start_pass; ck->phase == 0 && cur.pass <= q_max; cur.pass++) {
    const int last = cur.pass == q_max, probing = cur.pass == probe_pass;
    const int continuing = resumed && cur.pass == start_pass;
    /* Y = A X, H = A^T Y (and the probes P = A W on their pass); the first pass, unscaled,
     * checks A and measures its range */
    pass->n_right = probing ? l + np : l;
    pass->n_keep = probing && np ? 2 : 1;
    pass->measure = cur.pass == 0 && !pass->scale_exp;
    pass->check_finite = prm->check_finite && pass->measure;
    const int with_y0 = y2 && cur.pass == 1; /* A^T Y_0 for the first pass's estimates */
    pass->keep[0].dmat = pass->corange_src = with_y0 ? y2 : y;
    pass->keep[0].ncols = with_y0 ? l : 0;
    pass->corange = with_y0 ? h_full2 : h_full;
    prsvd_centring_before(&cen, svd, pass, x, cur.pass);
    if (!continuing) {
      cur.next_row = 0; /* the pass moves it to this rank's first row */
      memset(pass->corange, 0, sizeof(double) * (size_t)(n * l * (with_y0 ? 2 : 1)));
    }
    ck->passes_done = svd->stats.passes;
    status = prsvd_sketch_pass(pass, &cur);
    PRSVD_TRY(prsvd_error_agree(svd->comm, status));
    if (cur.pass == 0 && q_max > 0) { /* the columns the source learnt to zero (see the top) */
      PRSVD_TRY(prsvd_svd_first_pass_columns(svd, n_all, cen.col_sum, cen.col_sumsq, NULL, &late));
      if (late && probe_pass == 0) probe_pass = 1;
    }
    if (pass->n_samples) { /* revd: sampled symmetry, read by the first pass */
      PRSVD_TRY(prsvd_symmetry_check(svd, a, pass));
      prsvd_ckpt_partial_reduced(ck, pass->sample_val);
      pass->n_samples = 0;
    }
    if (pass->measure) { /* A beyond the sketches' range: the first pass again, on 2^e A */
      int repeat;
      PRSVD_TRY(prsvd_svd_first_pass_range(svd, pass, m, n_all, &cur, &repeat));
      if (repeat) {
        resumed = 0;
        prsvd_centring_repeat(&cen);
        cur.pass--;
        continue;
      }
    }
    prsvd_profile_begin(PRSVD_EV_REDUCE);
    if (with_y0) { /* Y and A^T Y_0 out of [Y | Y_0] */
      copy_cols(y2, y, 0, l);
      PRSVD_TRY(prsvd_svd_frame_reduce(&f, h_full2 + n * l, h0));
    }
    PRSVD_TRY(prsvd_svd_frame_reduce(&f, pass->corange, h));
    prsvd_profile_end(PRSVD_EV_REDUCE, 8.0 * (double)(n * l), 0.0);
    /* centred: Y, the probes' A W and H those of A - 1 mu^T (the first pass's means) */
    PRSVD_TRY(prsvd_centring_after(&cen, svd, ck, y, probing && np ? y_probes : NULL, l, h, cur.pass));
    if (with_y0) { /* the first pass's estimates, sigma(Q_0^T A): G of Y_0, R of A^T Y_0 */
      if (cen.cols) prsvd_center_corange(svd, h0, s0);
      PRSVD_TRY(prsvd_dmat_qr(h0, r_h));
      PRSVD_TRY(prsvd_conv_step(&conv, svd, r_h, 0, &stop));
      prsvd_dmat_destroy(&y2), prsvd_dmat_destroy(&h0);
      pass->keep[0].dmat = pass->corange_src = y, pass->keep[0].ncols = 0, pass->corange = h_full;
    }
    svd->stats.passes++;
    q_done = cur.pass;
    if (last && !autoq) break;
    /* auto: X^T H (= Y^T Y) before H is orthonormalized; not after the first pass of scale,
     * whose Y and H were formed before the scales were known.  After a first pass that used
     * columns found zeroed later (late), H is not A^T Y: its estimates wait for the next pass,
     * which also forms A^T Y_0 beside A^T Y (see the top) when its co-range may hold columns
     * of the method's own (not on a 2-D grid); else, and for eig, it makes none */
    const int late_first = cur.pass == 0 && late;
    const int scale_first = cur.pass == 0 && scaled_pca;
    const int beside = f.corange_own_cols && !conv.symmetric; /* A^T Y_0 beside A^T Y */
    const int estimating = autoq && !scale_first && !(late_first && !beside);
    const int deferred = estimating && late_first;
    if (estimating && !deferred) PRSVD_TRY(prsvd_conv_grams(&conv, svd, x, c0, n, y, h));
    if (deferred) { /* G = Y_0^T Y_0 from Y_0 (centred, X^T H is not that: A^T 1 is not m mu);
                     * Y_0 beside the next pass's Y, and 1^T Y_0 */
      PRSVD_TRY(prsvd_dmat_gram(y, conv.g));
      PRSVD_TRY(prsvd_dmat_create(svd->grid, m, 2 * l, &y2));
      PRSVD_TRY(prsvd_svd_frame_corange(&f, n_all, l, &h0));
      if (!h_full2) PRSVD_SCRATCH_ALLOC(&f.scratch, h_full2, 2 * n * l);
      copy_cols(y, y2, l, l);
      if (cen.cols) {
        if (!s0) PRSVD_SCRATCH_ALLOC(&f.scratch, s0, l);
        PRSVD_TRY(prsvd_center_colsums(svd, y, s0));
      }
    }
    /* X = orth(H), H = X R_H (on a 2-D grid: this column block's rows); auto: stop when the
     * estimates settle, H holding X' */
    prsvd_profile_begin(PRSVD_EV_ORTH);
    PRSVD_TRY(prsvd_dmat_qr(h, autoq ? r_h : r));
    if (estimating && !deferred) PRSVD_TRY(prsvd_conv_step(&conv, svd, r_h, cur.pass, &stop));
    if (!stop && !last) PRSVD_TRY(prsvd_svd_frame_gather(&f, h, x));
    prsvd_profile_end(PRSVD_EV_ORTH, 0.0, 4.0 * (double)n * (double)(l * l));
    if (stop || last) break;
  }
  if (ck->phase == 1) q_done = cur.pass - 1; /* resumed in the extra pass */
  svd->stats.power_iters = q_done;
  svd->stats.conv_change = autoq ? conv.change : NAN;
  svd->stats.conv_met = autoq && conv.change < prm->conv_tol;

  /* the panels are not needed until an extra pass (which allocates them again): give their
   * memory back before Q R = Y and the finish, which would otherwise add to it */
  prsvd_pass_free(pass);
  if (ck->phase == 0) {
    /* Q R = Y */
    prsvd_profile_begin(PRSVD_EV_ORTH);
    PRSVD_TRY(prsvd_dmat_qr(y, r));
    svd->stats.r_rcond = rcond_upper(il, r);
    prsvd_profile_end(PRSVD_EV_ORTH, 0.0, 4.0 * (double)m * (double)(l * l));
  } else {
    svd->stats.r_rcond = ck->r_rcond; /* resumed in the extra pass: Y already holds Q */
  }
  if (ck->phase == 1 || svd->stats.r_rcond < prm->rcond_min) {
    /* R too ill-conditioned for H R^-1: B^T = A^T Q by one more pass */
    const int continuing = resumed && ck->phase == 1;
    pass->n_right = 0;
    pass->n_keep = 0;
    pass->check_finite = pass->measure = 0;
    prsvd_centring_off(pass);
    cur.n_passes = q_done + 2;
    cur.pass = q_done + 1;
    if (!continuing) {
      cur.next_row = 0; /* the pass moves it to this rank's first row */
      memset(h_full, 0, sizeof(double) * (size_t)(n * l));
    }
    ck->phase = 1;
    ck->r_rcond = svd->stats.r_rcond;
    ck->passes_done = svd->stats.passes;
    status = prsvd_sketch_pass(pass, &cur);
    PRSVD_TRY(prsvd_error_agree(svd->comm, status));
    PRSVD_TRY(prsvd_svd_frame_reduce(&f, h_full, h));
    PRSVD_TRY(prsvd_centring_after_extra(&cen, svd, y, h)); /* centred: A~^T Q */
    svd->stats.passes++;
    svd->stats.extra_pass = 1;
  } else if (autoq) {
    /* B^T = H R^-1 = X' (R_H R^-1) */
    const double one = 1.0;
    dtrsm_("R", "U", "N", "N", &il, &il, &one, r, &il, r_h, &il);
    PRSVD_TRY(prsvd_dmat_mul_small_in_place(h, r_h, l, l));
  } else {
    /* B^T = H R^-1 */
    PRSVD_TRY(prsvd_dmat_solve_upper(h, r));
  }
  svd->stats.scale_exp = pass->scale_exp;
  *q_out = y, *atq_out = h, *aw_out = y_probes, *w_out = prsvd_scratch_take(&f.scratch, x);
  *w_row0 = c0, *w_rows = n;
  y = h = y_probes = NULL;
done:
  prsvd_svd_frame_end(&f);
  prsvd_centring_free(&cen);
  prsvd_conv_free(&conv);
  return status;
}

int prsvd_solve_subspace(prsvd_svd *svd, prsvd_source *a) {
  int status = PRSVD_OK;
  const int64_t m = prsvd_source_rows(a), n = prsvd_source_cols(a), mn = m < n ? m : n;
  const int64_t k = svd->params.rank;
  const int64_t l = prsvd_svd_width(&svd->params, m, n); /* k + p, at most min(m, n) */
  prsvd_dmat *q = NULL, *atq = NULL, *aw = NULL;
  double *w = NULL;
  int64_t w0, wr;
  if (k < 1 || k > mn)
    PRSVD_ERR(PRSVD_ERR_USAGE, "rank k = %lld must be between 1 and min(rows, cols) = %lld",
              (long long)k, (long long)mn);
  svd->k = k;
  PRSVD_TRY(prsvd_subspace_sketch(svd, a, l, &q, &atq, &aw, &w, &w0, &wr));
  /* A ~ Q B with B^T = A^T Q: U, S, V */
  PRSVD_TRY(prsvd_svd_finish_qb(svd, &q, atq, NULL));
  if (prsvd_svd_probes(&svd->params) > 0) PRSVD_TRY(prsvd_svd_estimate_right(svd, aw, w + wr * l, w0, wr));
done:
  prsvd_dmat_destroy(&q);
  prsvd_dmat_destroy(&atq);
  prsvd_dmat_destroy(&aw);
  free(w);
  return status;
}

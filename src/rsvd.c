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
 *   Q_B R_B = B^T;  R_B = U_r S W_r^T;  U = Q W_r,  V = Q_B U_r
 *
 * Assumptions: 1 <= k <= min(m, n); l = min(k + p, min(m, n)); every rank passes a source of
 * the same matrix.  Y (m x l) and H (n x l) are distributed by row blocks; X and the probe
 * matrix W (n x l, n x probes) are replicated; only l x l matrices are small-dense.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../mpi/prsvd_grid.h"
#include "blas.h"
#include "error.h"
#include "profile.h"
#include "rng.h"
#include "sketch.h"

struct prsvd_svd {
  MPI_Comm comm;
  prsvd_grid *grid;
  struct prsvd_svd_params params;
  int64_t k;
  double *s;
  prsvd_dmat *u, *v;
  struct prsvd_svd_stats stats;
};

int prsvd_svd_create(MPI_Comm comm, prsvd_svd **out) {
  int status = PRSVD_OK;
  prsvd_svd *svd = NULL;
  static const struct prsvd_svd_params init = PRSVD_SVD_PARAMS_INIT;
  *out = NULL;
  PRSVD_ALLOC(svd, 1);
  svd->params = init;
  PRSVD_MPI(MPI_Comm_dup(comm, &svd->comm));
  PRSVD_TRY(prsvd_grid_create(svd->comm, &svd->grid));
  *out = svd;
  return PRSVD_OK;
done:
  prsvd_svd_destroy(&svd);
  return status;
}

int prsvd_svd_set_params(prsvd_svd *svd, const struct prsvd_svd_params *params) {
  svd->params = *params;
  return PRSVD_OK;
}

void prsvd_svd_destroy(prsvd_svd **svd) {
  if (!svd || !*svd) return;
  prsvd_dmat_destroy(&(*svd)->u);
  prsvd_dmat_destroy(&(*svd)->v);
  free((*svd)->s);
  prsvd_grid_destroy(&(*svd)->grid);
  if ((*svd)->comm != MPI_COMM_NULL && (*svd)->comm) MPI_Comm_free(&(*svd)->comm);
  free(*svd);
  *svd = NULL;
}

/* Every rank computes the SVD of the same l x l R_B; rank 0's result is broadcast so all
 * ranks hold identical bits. */
static int small_svd(MPI_Comm comm, int l, double *rb, double *sigma, double *ur, double *wr) {
  int status = PRSVD_OK, rank, info = 0, lwork = -1;
  double *work = NULL, *wt = NULL, wq;
  int *iwork = NULL;
  MPI_Comm_rank(comm, &rank);
  if (rank == 0) {
    PRSVD_ALLOC(iwork, 8 * l);
    PRSVD_ALLOC(wt, l * l);
    dgesdd_("A", &l, &l, rb, &l, sigma, ur, &l, wt, &l, &wq, &lwork, iwork, &info);
    lwork = (int)wq + 1;
    PRSVD_ALLOC(work, lwork);
    dgesdd_("A", &l, &l, rb, &l, sigma, ur, &l, wt, &l, work, &lwork, iwork, &info);
    if (info < 0) PRSVD_FAIL(PRSVD_ERR_INTERNAL, "DGESDD: illegal value in argument %d", -info);
    if (info > 0) PRSVD_FAIL(PRSVD_ERR_NUMERIC, "DGESDD did not converge (info = %d)", info);
    for (int i = 0; i < l; i++) /* W_r = (W_r^T)^T */
      for (int j = 0; j < l; j++) wr[j * l + i] = wt[i * l + j];
  }
done:
  status = prsvd_error_agree(comm, status);
  if (!status) {
    MPI_Bcast(sigma, l, MPI_DOUBLE, 0, comm);
    MPI_Bcast(ur, l * l, MPI_DOUBLE, 0, comm);
    MPI_Bcast(wr, l * l, MPI_DOUBLE, 0, comm);
  }
  free(work);
  free(wt);
  free(iwork);
  return status;
}

static double rcond_upper(int l, const double *r) {
  double rcond = 0.0, *work = malloc(sizeof(double) * 3 * (size_t)l);
  int *iwork = malloc(sizeof(int) * (size_t)l), info = 0;
  if (work && iwork) dtrcon_("1", "U", "N", &l, r, &l, &rcond, work, iwork, &info);
  free(work);
  free(iwork);
  return info ? 0.0 : rcond;
}

/* The probes' residual (A - U S V^T) W = P - U (S (V^T W)): HMT eq. (4.3) bounds the spectral
 * norm by 10 sqrt(2/pi) max_i ||e_i||; the mean of ||e_i||^2 estimates the Frobenius norm. */
static int error_estimate(prsvd_svd *svd, const prsvd_dmat *y_probes, const double *probes,
                          int64_t n) {
  int status = PRSVD_OK;
  const int64_t k = svd->k, np = prsvd_dmat_cols(y_probes);
  double *vtw = NULL, *norms = NULL;
  prsvd_dmat *e = NULL;
  int64_t v0, vr, vld, er, eld;
  const double *v = prsvd_dmat_local(svd->v, &v0, &vr, &vld);
  PRSVD_ALLOC(vtw, k * np);
  PRSVD_ALLOC(norms, np);
  /* V^T W, summed over the row blocks of V */
  for (int64_t j = 0; j < np; j++)
    for (int64_t c = 0; c < k; c++) {
      double acc = 0.0;
      for (int64_t i = 0; i < vr; i++) acc += v[c * vld + i] * probes[j * n + v0 + i];
      vtw[j * k + c] = acc;
    }
  PRSVD_MPI(MPI_Allreduce(MPI_IN_PLACE, vtw, (int)(k * np), MPI_DOUBLE, MPI_SUM, svd->comm));
  for (int64_t j = 0; j < np; j++) /* S (V^T W) */
    for (int64_t c = 0; c < k; c++) vtw[j * k + c] *= svd->s[c];
  PRSVD_TRY(prsvd_dmat_create(svd->grid, prsvd_dmat_rows(svd->u), np, &e));
  PRSVD_TRY(prsvd_dmat_mul_small(svd->u, k, vtw, k, np, e));
  double *ed = prsvd_dmat_local(e, NULL, &er, &eld);
  const double *pd = prsvd_dmat_local(y_probes, NULL, NULL, NULL);
  for (int64_t j = 0; j < np; j++) {
    double acc = 0.0;
    for (int64_t i = 0; i < er; i++) {
      double d = pd[j * eld + i] - ed[j * eld + i];
      acc += d * d;
    }
    norms[j] = acc;
  }
  PRSVD_MPI(MPI_Allreduce(MPI_IN_PLACE, norms, (int)np, MPI_DOUBLE, MPI_SUM, svd->comm));
  double mx = 0.0, mean = 0.0;
  for (int64_t j = 0; j < np; j++) mx = fmax(mx, sqrt(norms[j])), mean += norms[j] / (double)np;
  svd->stats.error_estimate = np ? 10.0 * sqrt(2.0 / M_PI) * mx : NAN;
  svd->stats.error_estimate_fro = np ? sqrt(mean) : NAN;
done:
  free(vtw);
  free(norms);
  prsvd_dmat_destroy(&e);
  return status;
}

int prsvd_svd_solve(prsvd_svd *svd, prsvd_source *a) {
  int status = PRSVD_OK;
  const struct prsvd_svd_params *prm = &svd->params;
  const int64_t m = prsvd_source_rows(a), n = prsvd_source_cols(a);
  const int64_t mn = m < n ? m : n;
  const int64_t k = prm->rank;
  int64_t l = k + (prm->oversample > 0 ? prm->oversample : 0);
  const int64_t np = prm->n_probes > 0 ? prm->n_probes : 0;
  double *panel = NULL, *work = NULL, *x = NULL, *probes = NULL, *h_full = NULL, *r = NULL;
  double *ur = NULL, *wr = NULL, *sigma = NULL;
  prsvd_dmat *y = NULL, *y_probes = NULL, *h = NULL;
  struct prsvd_pass pass = {0};
  struct prsvd_cursor cur = {0};
  int il;

  prsvd_dmat_destroy(&svd->u);
  prsvd_dmat_destroy(&svd->v);
  free(svd->s);
  svd->s = NULL;
  memset(&svd->stats, 0, sizeof svd->stats);
  if (k < 1 || k > mn)
    PRSVD_ERR(PRSVD_ERR_USAGE, "rank k = %lld must be between 1 and min(rows, cols) = %lld",
              (long long)k, (long long)mn);
  if (l > mn) l = mn;
  PRSVD_CHECK(prsvd_to_int(l, "sketch width k + p", &il));
  svd->k = k;

  /* panel rows from the memory budget */
  int64_t my_row0, my_rows, max_rows = (m + prsvd_grid_nprocs(svd->grid) - 1) / prsvd_grid_nprocs(svd->grid);
  prsvd_row_block(m, prsvd_grid_rank(svd->grid), prsvd_grid_nprocs(svd->grid), &my_row0, &my_rows);
  int64_t panel_rows = prm->memory / (8 * n);
  if (panel_rows < 1)
    PRSVD_ERR(PRSVD_ERR_USAGE, "memory budget %lld bytes holds less than one row of %lld columns (%lld bytes)",
              (long long)prm->memory, (long long)n, (long long)(8 * n));
  if (panel_rows > max_rows) panel_rows = max_rows > 0 ? max_rows : 1;
  svd->stats.panel_rows = panel_rows;

  PRSVD_ALLOC(panel, panel_rows * n);
  PRSVD_ALLOC(work, prsvd_pass_work_size(panel_rows, l + np, 0));
  PRSVD_ALLOC(x, n * (l + np)); /* [X | W]: the last pass also applies the probes W */
  PRSVD_ALLOC(h_full, n * l);
  PRSVD_ALLOC(r, l * l);
  PRSVD_ALLOC(ur, l * l);
  PRSVD_ALLOC(wr, l * l);
  PRSVD_ALLOC(sigma, l);
  PRSVD_TRY(prsvd_dmat_create(svd->grid, m, l, &y));
  PRSVD_TRY(prsvd_dmat_create(svd->grid, m, np ? np : 1, &y_probes));
  PRSVD_TRY(prsvd_dmat_create(svd->grid, n, l, &h));

  /* X = Omega, W = probes: entries depend on (seed, row, column) only */
  prsvd_rng_fill(prm->seed, PRSVD_STREAM_OMEGA, 0, n, 0, l, x, n);
  probes = x + n * l;
  if (np) prsvd_rng_fill(prm->seed, PRSVD_STREAM_PROBE, 0, n, 0, np, probes, n);

  pass.a = a;
  pass.panel_rows = panel_rows;
  pass.panel = panel;
  pass.work = work;
  pass.params = prm;
  pass.right = x;
  pass.keep[0].dmat = y;
  pass.keep[0].col0 = 0;
  pass.keep[1].dmat = y_probes;
  pass.keep[1].col0 = l;
  pass.corange_src = y;
  pass.corange = h_full;
  cur.n_passes = prm->power_iters + 1;
  for (cur.pass = 0; cur.pass <= prm->power_iters; cur.pass++) {
    const int last = cur.pass == prm->power_iters;
    /* Y = A X, H = A^T Y (and the probes P = A W on the last pass) */
    pass.n_right = last ? l + np : l;
    pass.n_keep = last && np ? 2 : 1;
    pass.check_finite = prm->check_finite && cur.pass == 0;
    cur.next_row = my_row0;
    memset(h_full, 0, sizeof(double) * (size_t)(n * l));
    status = prsvd_sketch_pass(&pass, &cur);
    PRSVD_TRY(prsvd_error_agree(svd->comm, status));
    prsvd_profile_begin(PRSVD_EV_REDUCE);
    PRSVD_TRY(prsvd_dmat_reduce_scatter(h_full, h));
    prsvd_profile_end(PRSVD_EV_REDUCE, 8.0 * (double)(n * l), 0.0);
    svd->stats.passes++;
    if (last) break;
    /* X = orth(H) */
    prsvd_profile_begin(PRSVD_EV_ORTH);
    PRSVD_TRY(prsvd_dmat_qr(h, r));
    PRSVD_TRY(prsvd_dmat_allgather(h, x));
    prsvd_profile_end(PRSVD_EV_ORTH, 0.0, 4.0 * (double)n * (double)(l * l));
  }

  /* Q R = Y */
  prsvd_profile_begin(PRSVD_EV_ORTH);
  PRSVD_TRY(prsvd_dmat_qr(y, r));
  svd->stats.r_rcond = rcond_upper(il, r);
  prsvd_profile_end(PRSVD_EV_ORTH, 0.0, 4.0 * (double)m * (double)(l * l));
  if (svd->stats.r_rcond < prm->rcond_min) {
    /* R too ill-conditioned for H R^-1: B^T = A^T Q by one more pass */
    pass.n_right = 0;
    pass.n_keep = 0;
    pass.check_finite = 0;
    cur.n_passes++;
    cur.next_row = my_row0;
    memset(h_full, 0, sizeof(double) * (size_t)(n * l));
    status = prsvd_sketch_pass(&pass, &cur);
    PRSVD_TRY(prsvd_error_agree(svd->comm, status));
    PRSVD_TRY(prsvd_dmat_reduce_scatter(h_full, h));
    svd->stats.passes++;
    svd->stats.extra_pass = 1;
  } else {
    /* B^T = H R^-1 */
    PRSVD_TRY(prsvd_dmat_solve_upper(h, r));
  }

  /* Q_B R_B = B^T;  R_B = U_r S W_r^T */
  prsvd_profile_begin(PRSVD_EV_SMALL_SVD);
  PRSVD_TRY(prsvd_dmat_qr(h, r));
  PRSVD_TRY(small_svd(svd->comm, il, r, sigma, ur, wr));
  /* U = Q W_r, V = Q_B U_r (first k columns) */
  PRSVD_TRY(prsvd_dmat_create(svd->grid, m, k, &svd->u));
  PRSVD_TRY(prsvd_dmat_create(svd->grid, n, k, &svd->v));
  PRSVD_TRY(prsvd_dmat_mul_small(y, l, wr, l, k, svd->u));
  PRSVD_TRY(prsvd_dmat_mul_small(h, l, ur, l, k, svd->v));
  PRSVD_ALLOC(svd->s, k);
  memcpy(svd->s, sigma, sizeof(double) * (size_t)k);
  prsvd_profile_end(PRSVD_EV_SMALL_SVD, 0.0, 2.0 * (double)(m + n) * (double)(l * k));

  /* deterministic signs: the largest |U_ij| of each column positive, V to match */
  prsvd_profile_begin(PRSVD_EV_ESTIMATE);
  PRSVD_TRY(prsvd_dmat_fix_signs(svd->u, k, sigma));
  prsvd_dmat_scale_cols(svd->v, k, sigma);
  if (np) PRSVD_TRY(error_estimate(svd, y_probes, probes, n));
  prsvd_profile_end(PRSVD_EV_ESTIMATE, 0.0, 0.0);

  /* bytes of A streamed, as doubles, over all ranks */
  svd->stats.bytes_read = (int64_t)svd->stats.passes * 8 * m * n;
done:
  free(panel);
  free(work);
  free(x);
  free(h_full);
  free(r);
  free(ur);
  free(wr);
  free(sigma);
  prsvd_dmat_destroy(&y);
  prsvd_dmat_destroy(&y_probes);
  prsvd_dmat_destroy(&h);
  return status;
}

int prsvd_svd_get_rank(const prsvd_svd *svd, int64_t *k) {
  if (!svd->s) PRSVD_ERR(PRSVD_ERR_USAGE, "no result: prsvd_svd_solve() has not succeeded");
  *k = svd->k;
  return PRSVD_OK;
}

int prsvd_svd_get_singular_values(const prsvd_svd *svd, const double **s) {
  if (!svd->s) PRSVD_ERR(PRSVD_ERR_USAGE, "no result: prsvd_svd_solve() has not succeeded");
  *s = svd->s;
  return PRSVD_OK;
}

int prsvd_svd_get_u(const prsvd_svd *svd, const double **u, int64_t *row0, int64_t *local_rows,
                    int64_t *ld) {
  if (!svd->u) PRSVD_ERR(PRSVD_ERR_USAGE, "no result: prsvd_svd_solve() has not succeeded");
  *u = prsvd_dmat_local(svd->u, row0, local_rows, ld);
  return PRSVD_OK;
}

int prsvd_svd_get_v(const prsvd_svd *svd, const double **v, int64_t *row0, int64_t *local_rows,
                    int64_t *ld) {
  if (!svd->v) PRSVD_ERR(PRSVD_ERR_USAGE, "no result: prsvd_svd_solve() has not succeeded");
  *v = prsvd_dmat_local(svd->v, row0, local_rows, ld);
  return PRSVD_OK;
}

int prsvd_svd_get_stats(const prsvd_svd *svd, struct prsvd_svd_stats *stats) {
  *stats = svd->stats;
  return PRSVD_OK;
}

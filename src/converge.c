/*
 * -q auto: the stopping rule of the power iterations (converge.h).
 *
 * The estimate.  After pass j the pass-efficient subspace iteration (rsvd.c) holds X_j,
 * Y_j = A X_j and H_j = A^T Y_j, and orthonormalizes H_j = X_{j+1} R_H for the next pass.
 * The estimates are the values the solve would return if it stopped after pass j, by
 * Rayleigh-Ritz on range(Y_j) from l x l matrices only:
 *
 *   G = X_j^T H_j = Y_j^T Y_j = W diag(lam) W^T     a Gram of Y without touching Y (n l^2)
 *   Q_j = Y_j W_r lam_r^-1/2                        orthonormal: the r directions of Y with
 *                                                   lam_i > c^2 lam_1 (the others are rounding)
 *   svd:  A^T Q_j = H_j W_r lam_r^-1/2 = X_{j+1} (R_H W_r lam_r^-1/2), so
 *         sigma(Q_j^T A) = sigma(R_H W_r lam_r^-1/2)   (l x r; R_H is the R of the QR the
 *                                                     next pass needs anyway)
 *   revd: Q_j^T A Q_j = lam_r^-1/2 W_r^T (Y_j^T H_j) W_r lam_r^-1/2   (A = A^T: H_j = A Y_j),
 *         its eigenvalues, largest magnitude first
 *
 * These are the singular values (eigenvalues) the finish computes from Q = orth(Y_j) and
 * B^T = A^T Q (rsvd.c, eig.c), to rounding: stopping after pass j returns them.  So a change
 * below the tolerance says that one more pass would move the result by less than that.  The
 * singular values are also lower bounds, sigma_i(Q^T A) <= sigma_i(A), that rise towards
 * sigma_i(A) geometrically as the subspace converges, at a ratio rho per pass; the error left
 * after a change d is then about d rho / (1 - rho).  On Fashion-MNIST and on sparse count
 * matrices whose top components stand out of the noise it was a fifth of the last change;
 * on a noise-dominated spectrum rho is near 1, the changes stay large and the rule runs to
 * max_power_iters (bench/RESULTS.md, "-q auto").
 *
 * The rule: stop after pass j when, for every i <= k,
 *   |e_i^j - e_i^(j-1)| <= conv_tol * max(|e_i^j|, c |e_1^j|).
 * c = sqrt(1e4 u), u the unit roundoff of the panel products (2^-53; 2^-24 for float32
 * panels): rounding perturbs G and R_H by about u sigma_1^2, which moves an estimate e_i by
 * about u (sigma_1 / e_i)^2 relative, 1e-4 at e_i = c sigma_1.  Below that a value's change
 * is counted against c e_1, so that rounding does not keep a numerically rank-deficient
 * sketch iterating; directions of Y below c are left out of Q_j for the same reason.
 *
 * Assumptions: Y_j = A X_j and H_j = A^T Y_j for one linear operator A (after centering and
 * scaling, so not for the first pass of --scale, whose scales are learnt during it); X_j
 * need not be orthonormal (X_0 = Omega).
 */
#include "converge.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "blas.h"
#include "error.h"
#include "profile.h"

void dsyev_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda, double *w,
            double *work, const int *lwork, int *info);

int prsvd_conv_init(struct prsvd_conv *cv, int64_t k, int64_t l, int symmetric, int single) {
  int status = PRSVD_OK;
  memset(cv, 0, sizeof *cv);
  cv->k = k, cv->l = l, cv->symmetric = symmetric;
  cv->floor = sqrt(1e4 * ldexp(1.0, single ? -24 : -53));
  cv->change = NAN;
  PRSVD_ALLOC(cv->g, l * l);
  PRSVD_ALLOC(cv->prev, k + 1);
  PRSVD_ALLOC(cv->now, k);
  if (symmetric) PRSVD_ALLOC(cv->c, l * l);
  cv->prev[0] = NAN;
done:
  return status;
}

void prsvd_conv_free(struct prsvd_conv *cv) {
  free(cv->g), free(cv->c), free(cv->prev), free(cv->now);
  memset(cv, 0, sizeof *cv);
}

/* out (l x l) = sum over ranks of a^T b over `rows` local rows */
static int cross(MPI_Comm comm, int rows, int l, const double *a, int lda, const double *b, int ldb,
                 double *out) {
  const double one = 1.0, zero = 0.0;
  memset(out, 0, sizeof(double) * (size_t)l * (size_t)l);
  if (rows > 0) dgemm_("T", "N", &l, &l, &rows, &one, a, &lda, b, &ldb, &zero, out, &l);
  PRSVD_MPI(MPI_Allreduce(MPI_IN_PLACE, out, l * l, MPI_DOUBLE, MPI_SUM, comm));
  return PRSVD_OK;
}

int prsvd_conv_grams(struct prsvd_conv *cv, const prsvd_svd *svd, const double *x, int64_t x_row0,
                     int64_t ldx, const prsvd_dmat *y, const prsvd_dmat *h) {
  int64_t h0, hr, hld, y0, yr, yld;
  int il, ir, ixld, ihld, iyld;
  const double *hl = prsvd_dmat_local(h, &h0, &hr, &hld);
  PRSVD_CHECK(prsvd_to_int(cv->l, "sketch width", &il));
  PRSVD_CHECK(prsvd_to_int(hr, "local rows of H", &ir));
  PRSVD_CHECK(prsvd_to_int(ldx, "rows of X", &ixld));
  PRSVD_CHECK(prsvd_to_int(hld, "leading dimension of H", &ihld));
  if (hr > 0 && (h0 < x_row0 || h0 + hr > x_row0 + ldx))
    PRSVD_ERR(PRSVD_ERR_INTERNAL, "rows [%lld, %lld) of H outside X's [%lld, %lld)", (long long)h0,
              (long long)(h0 + hr), (long long)x_row0, (long long)(x_row0 + ldx));
  prsvd_profile_begin(PRSVD_EV_ESTIMATE);
  /* G = X^T H = Y^T Y */
  PRSVD_CHECK(cross(svd->comm, ir, il, x + (hr > 0 ? h0 - x_row0 : 0), ixld, hl, ihld, cv->g));
  if (cv->symmetric) { /* C = Y^T H = Y^T A Y */
    const double *yl = prsvd_dmat_local(y, &y0, &yr, &yld);
    if (y0 != h0 || yr != hr)
      PRSVD_ERR(PRSVD_ERR_INTERNAL,
                "Y and H on different row blocks: [%lld, +%lld) and [%lld, +%lld)", (long long)y0,
                (long long)yr, (long long)h0, (long long)hr);
    PRSVD_CHECK(prsvd_to_int(yld, "leading dimension of Y", &iyld));
    PRSVD_CHECK(cross(svd->comm, ir, il, yl, iyld, hl, ihld, cv->c));
  }
  prsvd_profile_end(PRSVD_EV_ESTIMATE, 0.0,
                    2.0 * (double)hr * (double)(cv->l * cv->l) * (cv->symmetric ? 2 : 1));
  return PRSVD_OK;
}

static int cmp_desc_abs(const void *a, const void *b) {
  const double x = fabs(*(const double *)a), y = fabs(*(const double *)b);
  return x > y ? -1 : x < y ? 1 : 0;
}

/* The symmetric eigenvalues of s (n x n, destroyed) into w, ascending: dsyev. */
static int eigvals(int n, double *s, double *w, int vectors) {
  int info = 0, lwork = -1;
  double wq = 0.0, *work;
  dsyev_(vectors ? "V" : "N", "U", &n, s, &n, w, &wq, &lwork, &info);
  lwork = (int)wq + 1;
  if (!(work = malloc(sizeof(double) * (size_t)lwork)))
    PRSVD_ERR(PRSVD_ERR_NOMEM, "out of memory for the l x l eigenproblem of -q auto");
  dsyev_(vectors ? "V" : "N", "U", &n, s, &n, w, work, &lwork, &info);
  free(work);
  if (info < 0) PRSVD_ERR(PRSVD_ERR_INTERNAL, "DSYEV: illegal value in argument %d", -info);
  if (info > 0)
    PRSVD_ERR(PRSVD_ERR_NUMERIC, "DSYEV did not converge on the -q auto estimate (info = %d)",
              info);
  return PRSVD_OK;
}

/* Rank 0: the k estimates (zeros past the r directions of Y above rounding). */
static int estimate(const struct prsvd_conv *cv, const double *r_h, double *out) {
  int status = PRSVD_OK, l = (int)cv->l, r = 0, info = 0, lwork = -1;
  double *w = NULL, *wr = NULL, *lam = NULL, *m = NULL, *t = NULL, *sv = NULL, *work = NULL, wq;
  int *iwork = NULL;
  PRSVD_ALLOC(w, l * l);
  PRSVD_ALLOC(wr, l * l);
  PRSVD_ALLOC(lam, l);
  PRSVD_ALLOC(m, l * l);
  PRSVD_ALLOC(sv, l);
  /* G = W diag(lam) W^T, symmetrized; keep the directions lam_i > c^2 lam_max (descending) */
  for (int i = 0; i < l; i++)
    for (int j = 0; j < l; j++) w[j * l + i] = 0.5 * (cv->g[j * l + i] + cv->g[i * l + j]);
  PRSVD_TRY(eigvals(l, w, lam, 1));
  const double cut = cv->floor * cv->floor * fmax(lam[l - 1], 0.0);
  for (int j = l - 1; j >= 0 && lam[j] > cut && lam[j] > 0.0; j--) { /* columns of W_r lam_r^-1/2 */
    const double s = 1.0 / sqrt(lam[j]);
    for (int i = 0; i < l; i++) wr[r * l + i] = w[j * l + i] * s;
    r++;
  }
  if (!cv->symmetric && r > 0) {
    /* sigma(R_H W_r lam_r^-1/2) */
    const double one = 1.0, zero = 0.0;
    dgemm_("N", "N", &l, &r, &l, &one, r_h, &l, wr, &l, &zero, m, &l);
    PRSVD_ALLOC(iwork, 8 * r);
    dgesdd_("N", &l, &r, m, &l, sv, NULL, &l, NULL, &r, &wq, &lwork, iwork, &info);
    lwork = (int)wq + 1;
    PRSVD_ALLOC(work, lwork);
    dgesdd_("N", &l, &r, m, &l, sv, NULL, &l, NULL, &r, work, &lwork, iwork, &info);
    if (info < 0) PRSVD_FAIL(PRSVD_ERR_INTERNAL, "DGESDD: illegal value in argument %d", -info);
    if (info > 0)
      PRSVD_FAIL(PRSVD_ERR_NUMERIC, "DGESDD did not converge on the -q auto estimate (info = %d)",
                 info);
  } else if (r > 0) {
    /* eig(lam_r^-1/2 W_r^T C W_r lam_r^-1/2), largest magnitude first */
    const double one = 1.0, zero = 0.0;
    PRSVD_ALLOC(t, l * r);
    dgemm_("N", "N", &l, &r, &l, &one, cv->c, &l, wr, &l, &zero, t, &l);
    dgemm_("T", "N", &r, &r, &l, &one, wr, &l, t, &l, &zero, m, &r);
    for (int i = 0; i < r; i++)
      for (int j = 0; j < i; j++) m[j * r + i] = m[i * r + j] = 0.5 * (m[j * r + i] + m[i * r + j]);
    PRSVD_TRY(eigvals(r, m, sv, 0));
    qsort(sv, (size_t)r, sizeof(double), cmp_desc_abs);
  }
  for (int64_t i = 0; i < cv->k; i++) out[i] = i < r ? sv[i] : 0.0;
done:
  free(w), free(wr), free(lam), free(m), free(t), free(sv), free(work), free(iwork);
  return status;
}

int prsvd_conv_step(struct prsvd_conv *cv, prsvd_svd *svd, const double *r_h, int power_iters,
                    int *stop) {
  int status = PRSVD_OK, rank;
  const struct prsvd_svd_params *prm = &svd->params;
  int ik;
  PRSVD_CHECK(prsvd_to_int(cv->k, "rank k", &ik));
  MPI_Comm_rank(svd->comm, &rank);
  /* on rank 0, broadcast: every rank decides on the same bits */
  if (rank == 0) status = estimate(cv, r_h, cv->now);
  PRSVD_CHECK(prsvd_error_agree(svd->comm, status));
  PRSVD_MPI(MPI_Bcast(cv->now, ik, MPI_DOUBLE, 0, svd->comm));
  cv->change = NAN;
  if (!isnan(cv->prev[0])) {
    const double base = cv->floor * fabs(cv->now[0]);
    cv->change = 0.0;
    for (int64_t i = 0; i < cv->k; i++) {
      const double d = fabs(cv->now[i] - cv->prev[i]), scale = fmax(fabs(cv->now[i]), base);
      cv->change = fmax(cv->change, scale > 0.0 ? d / scale : 0.0);
    }
  }
  if (prm->estimate) prm->estimate(prm->progress_arg, power_iters, cv->k, cv->now, cv->change);
  *stop = !isnan(cv->change) && cv->change < prm->conv_tol;
  memcpy(cv->prev, cv->now, sizeof(double) * (size_t)cv->k);
  cv->prev[cv->k] = cv->change;
  return PRSVD_OK;
}

/*
 * Eigendecompositions of K-FAC factors, F ~ U diag(Lambda) U^T, and damped powers applied
 * through them:
 *
 *   (F + delta I)^s x = U [(Lambda + delta)^s - delta^s] U^T x + delta^s x      (r < n)
 *   (F + delta I)^s x = U (Lambda + delta)^s U^T x                              (r = n)
 *
 *  eig      LAPACK dsyevd on the whole factor (every eigenpair)
 *  revd     HMT 2011 Alg. 5.3 with q power iterations (prsvd_svd, PRSVD_METHOD_REVD)
 *  nystrom  stable single-pass Nystrom, TYUC 2017 Alg. 3 (prsvd_svd, PRSVD_METHOD_NYSTROM)
 *  rsvd     randomized subspace iteration (prsvd_svd, PRSVD_METHOD_SUBSPACE): for a PSD
 *           factor the singular values are the eigenvalues and U the eigenvectors
 *
 * The randomized methods run the library's solver on MPI_COMM_SELF over the factor in memory;
 * when r + oversample >= n they use dsyevd (the top r eigenpairs) instead.
 *
 * Assumptions: F symmetric positive semidefinite (eigenvalues below -1e-8 lambda_max are an
 * input error; smaller negative ones are rounding and set to 0); delta > 0.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "blas.h"
#include "error.h"
#include "kfac_impl.h"
#include "source_impl.h"
#include "prsvd_kfac.h"

/* dsyevd: every eigenpair, reordered to descending eigenvalues */
static int eigh_lapack(const struct prsvd_kfac_params *p, const char *name, int64_t n,
                       const double *f, int64_t ld, int64_t r, double *u, double *lambda) {
  int status = PRSVD_OK, in, info = 0, lwork = -1, liwork = -1, iwq;
  double wq, *a = NULL, *w = NULL, *work = NULL;
  int *iwork = NULL;
  (void)p;
  PRSVD_CHECK(prsvd_to_int(n, "factor dimension", &in));
  PRSVD_ALLOC(a, n * n);
  PRSVD_ALLOC(w, n);
  for (int64_t i = 0; i < n; i++) memcpy(a + i * n, f + i * ld, sizeof(double) * (size_t)n);
  dsyevd_("V", "U", &in, a, &in, w, &wq, &lwork, &iwq, &liwork, &info);
  lwork = (int)wq + 1, liwork = iwq + 1;
  PRSVD_ALLOC(work, lwork);
  PRSVD_ALLOC(iwork, liwork);
  dsyevd_("V", "U", &in, a, &in, w, work, &lwork, iwork, &liwork, &info);
  if (info < 0) PRSVD_FAIL(PRSVD_ERR_INTERNAL, "DSYEVD: illegal value in argument %d", -info);
  if (info > 0) PRSVD_FAIL(PRSVD_ERR_NUMERIC, "DSYEVD did not converge on '%s' (info = %d)", name, info);
  for (int64_t j = 0; j < r; j++) {
    const int64_t src = n - 1 - j;
    lambda[j] = w[src];
    /* the largest-magnitude entry of each eigenvector positive, as the rest of prsvd */
    double big = 0.0, sign = 1.0;
    for (int64_t i = 0; i < n; i++)
      if (fabs(a[src * n + i]) > big) big = fabs(a[src * n + i]), sign = a[src * n + i] < 0 ? -1.0 : 1.0;
    for (int64_t i = 0; i < n; i++) u[j * n + i] = sign * a[src * n + i];
  }
done:
  free(a), free(w), free(work), free(iwork);
  return status;
}

/* the library's randomized solvers on this rank alone */
static int eigh_randomized(const struct prsvd_kfac_params *p, const char *name, int64_t n,
                           const double *f, int64_t ld, int64_t r, double *u, double *lambda) {
  int status = PRSVD_OK;
  prsvd_source *src = NULL;
  prsvd_svd *svd = NULL;
  struct prsvd_svd_params prm = PRSVD_SVD_PARAMS_INIT;
  const double *vals, *ul;
  int64_t k, row0, rows, uld;
  prm.rank = r;
  prm.oversample = p->oversample;
  prm.power_iters = p->power_iters;
  prm.seed = p->seed;
  prm.n_probes = 0;
  prm.check_finite = 0; /* checked by prsvd_kfac_eigh, naming the factor */
  if (prm.memory < 8 * n) prm.memory = 8 * n;
  prm.method = p->method == PRSVD_KFAC_REVD      ? PRSVD_METHOD_REVD
               : p->method == PRSVD_KFAC_NYSTROM ? PRSVD_METHOD_NYSTROM
                                                 : PRSVD_METHOD_SUBSPACE;
  PRSVD_TRY(prsvd_source_memory(n, n, f, ld, &src));
  PRSVD_TRY(prsvd_source_rename(src, name)); /* errors name the factor */
  PRSVD_TRY(prsvd_svd_create(MPI_COMM_SELF, &svd));
  PRSVD_TRY(prsvd_svd_set_params(svd, &prm));
  PRSVD_TRY(prsvd_svd_solve(svd, src));
  PRSVD_TRY(prsvd_svd_get_rank(svd, &k));
  if (k != r) PRSVD_FAIL(PRSVD_ERR_INTERNAL, "'%s': asked for %lld eigenpairs, got %lld", name, (long long)r, (long long)k);
  PRSVD_TRY(prsvd_svd_get_singular_values(svd, &vals)); /* the eigenvalues for NYSTROM/REVD */
  PRSVD_TRY(prsvd_svd_get_u(svd, &ul, &row0, &rows, &uld));
  if (row0 != 0 || rows != n) PRSVD_FAIL(PRSVD_ERR_INTERNAL, "'%s': U not held whole on MPI_COMM_SELF", name);
  memcpy(lambda, vals, sizeof(double) * (size_t)r);
  for (int64_t j = 0; j < r; j++) memcpy(u + j * n, ul + j * uld, sizeof(double) * (size_t)n);
done:
  prsvd_svd_destroy(&svd);
  prsvd_source_destroy(&src);
  return status;
}

static const struct {
  enum prsvd_kfac_method method;
  const char *name;
  int full; /* every eigenpair */
  int (*eigh)(const struct prsvd_kfac_params *, const char *, int64_t, const double *, int64_t,
              int64_t, double *, double *);
} methods[] = {
    {PRSVD_KFAC_EIG, "eig", 1, eigh_lapack},
    {PRSVD_KFAC_REVD, "revd", 0, eigh_randomized},
    {PRSVD_KFAC_NYSTROM, "nystrom", 0, eigh_randomized},
    {PRSVD_KFAC_RSVD, "rsvd", 0, eigh_randomized},
};

int prsvd_kfac_eigh(const struct prsvd_kfac_params *p, const char *name, int64_t n,
                    const double *f, int64_t ld, int64_t *r_out, double **u_out,
                    double **lambda_out) {
  int status = PRSVD_OK;
  double *u = NULL, *lambda = NULL;
  size_t t = 0;
  *u_out = *lambda_out = NULL;
  *r_out = 0;
  while (t < sizeof methods / sizeof methods[0] && methods[t].method != p->method) t++;
  if (t == sizeof methods / sizeof methods[0])
    PRSVD_ERR(PRSVD_ERR_USAGE, "unknown K-FAC method %d", (int)p->method);
  if (n < 1 || ld < n) PRSVD_ERR(PRSVD_ERR_USAGE, "'%s': bad factor shape n = %lld, ld = %lld", name, (long long)n, (long long)ld);
  if (!methods[t].full && p->rank < 1)
    PRSVD_ERR(PRSVD_ERR_USAGE, "K-FAC %s: rank %lld must be at least 1", methods[t].name, (long long)p->rank);
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < n; j++)
      if (!isfinite(f[i * ld + j]))
        PRSVD_ERR(PRSVD_ERR_INPUT, "'%s' has %s at row %lld, column %lld", name,
                  isnan(f[i * ld + j]) ? "NaN" : "Inf", (long long)i, (long long)j);
  const int64_t r = methods[t].full || p->rank > n ? n : p->rank;
  PRSVD_ALLOC(u, n * r);
  PRSVD_ALLOC(lambda, r);
  /* a sketch as wide as the factor buys nothing over dsyevd, and a square Gaussian test
   * matrix is too ill-conditioned for the Nystrom shift on a low-rank factor */
  if (r + (p->oversample > 0 ? p->oversample : 0) >= n) PRSVD_TRY(eigh_lapack(p, name, n, f, ld, r, u, lambda));
  else PRSVD_TRY(methods[t].eigh(p, name, n, f, ld, r, u, lambda));
  /* PSD: a clearly negative eigenvalue is bad input, a slightly negative one rounding */
  double top = 0.0;
  for (int64_t j = 0; j < r; j++) top = fmax(top, fabs(lambda[j]));
  for (int64_t j = 0; j < r; j++) {
    if (lambda[j] < -1e-8 * top)
      PRSVD_FAIL(PRSVD_ERR_INPUT, "'%s' is not positive semidefinite: eigenvalue %.6g (largest %.6g)",
                 name, lambda[j], top);
    if (lambda[j] < 0) lambda[j] = 0.0;
  }
  *r_out = r;
  *u_out = u;
  *lambda_out = lambda;
  u = lambda = NULL;
done:
  free(u);
  free(lambda);
  return status;
}

int prsvd_kfac_apply_power_layout(enum prsvd_kfac_layout layout, int64_t n, int64_t r,
                                  const double *u, const double *lambda, double delta, double s,
                                  int64_t m, double *x, int64_t ldx) {
  int status = PRSVD_OK, in, ir, im, ild;
  double *t = NULL;
  const double one = 1.0, zero = 0.0;
  if (!(delta > 0.0) || !isfinite(delta))
    PRSVD_ERR(PRSVD_ERR_NUMERIC, "damping %g: a damped power needs damping > 0", delta);
  if (r < 0 || r > n) PRSVD_ERR(PRSVD_ERR_INTERNAL, "%lld eigenpairs of a %lld x %lld factor", (long long)r, (long long)n, (long long)n);
  if (m == 0 || n == 0) return PRSVD_OK;
  PRSVD_CHECK(prsvd_to_int(n, "factor dimension", &in));
  PRSVD_CHECK(prsvd_to_int(m, "number of vectors", &im));
  PRSVD_CHECK(prsvd_to_int(ldx, "leading dimension", &ild));
  /* the exact U (Lambda + delta)^s U^T when U is complete: no delta^s to cancel */
  const double base = r == n ? 0.0 : pow(delta, s);
  if (r == 0) {
    for (int64_t j = 0; j < m; j++)
      for (int64_t i = 0; i < n; i++) x[layout == PRSVD_KFAC_VECTORS_CONTIGUOUS ? j * ldx + i : i * ldx + j] *= base;
    return PRSVD_OK;
  }
  ir = (int)r;
  PRSVD_ALLOC(t, r * m);
  if (layout == PRSVD_KFAC_VECTORS_CONTIGUOUS) {
    /* T = U^T X  (r x m) */
    dgemm_("T", "N", &ir, &im, &in, &one, u, &in, x, &ild, &zero, t, &ir);
    /* T = [(Lambda + delta)^s - delta^s] T */
    for (int64_t i = 0; i < r; i++) {
      const double d = pow(lambda[i] + delta, s) - base;
      for (int64_t j = 0; j < m; j++) t[j * r + i] *= d;
    }
    /* X = delta^s X + U T */
    dgemm_("N", "N", &in, &im, &ir, &one, u, &in, t, &ir, &base, x, &ild);
  } else {
    /* the vectors are the columns of a row-major n x m: Y = X^T is column-major m x n.
     * T = Y U  (m x r) */
    dgemm_("N", "N", &im, &ir, &in, &one, x, &ild, u, &in, &zero, t, &im);
    for (int64_t i = 0; i < r; i++) {
      const double d = pow(lambda[i] + delta, s) - base;
      for (int64_t j = 0; j < m; j++) t[i * m + j] *= d;
    }
    /* Y = delta^s Y + T U^T */
    dgemm_("N", "T", &im, &in, &ir, &one, t, &im, u, &in, &base, x, &ild);
  }
done:
  free(t);
  return status;
}

int prsvd_kfac_apply_power(int64_t n, int64_t r, const double *u, const double *lambda,
                           double delta, double s, int64_t m, double *x, int64_t ldx) {
  return prsvd_kfac_apply_power_layout(PRSVD_KFAC_VECTORS_CONTIGUOUS, n, r, u, lambda, delta, s,
                                       m, x, ldx);
}

/*
 * Eigendecompositions of K-FAC factors, F ~ U diag(Lambda) U^T, and damped powers applied
 * through them:
 *
 *   (F + delta I)^s x = U [(Lambda + delta)^s - delta^s] U^T x + delta^s x      (r < n)
 *   (F + delta I)^s x = U (Lambda + delta)^s U^T x                              (r = n)
 *
 *  eig      every eigenpair: LAPACK dsyevd on one rank, ScaLAPACK PDSYEVD on a 2-D
 *           block-cyclic grid of several (mpi/smat.c)
 *  revd     HMT 2011 Alg. 5.3 with q power iterations (prsvd_svd, PRSVD_METHOD_REVD)
 *  nystrom  stable single-pass Nystrom, TYUC 2017 Alg. 3 (prsvd_svd, PRSVD_METHOD_NYSTROM)
 *  rsvd     randomized subspace iteration (prsvd_svd, PRSVD_METHOD_SUBSPACE): for a PSD
 *           factor the singular values are the eigenvalues and U the eigenvectors
 *
 * The factor reaches every method as a prsvd_source: an array in memory, or an HDF5 dataset
 * that the randomized methods stream in row panels as `prsvd eig` does.  The randomized
 * methods run the library's solver over the ranks of the communicator they are given (one
 * rank: MPI_COMM_SELF); when r + oversample >= n they use the exact solver (the top r
 * eigenpairs) instead.  Each rank runs params.threads compute threads (0: chosen here): the
 * randomized solves split their panels among them, and dsyevd and PDSYEVD run a BLAS of that
 * many threads, set for the decomposition and set back after it.
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
#include "prsvd_kfac.h"
#include "source_impl.h"
#include "svd_impl.h"

/* The largest-magnitude entry of each eigenvector positive (ties: the lowest row), as the
 * rest of prsvd, so that every method and every number of ranks gives the same signs. */
static void fix_signs(int64_t n, int64_t r, double *u) {
  for (int64_t j = 0; j < r; j++) {
    double big = 0.0, sign = 1.0;
    for (int64_t i = 0; i < n; i++)
      if (fabs(u[j * n + i]) > big) big = fabs(u[j * n + i]), sign = u[j * n + i] < 0 ? -1.0 : 1.0;
    if (sign < 0)
      for (int64_t i = 0; i < n; i++) u[j * n + i] = -u[j * n + i];
  }
}

/* A NaN or Inf in rows [row0, row0 + nrows) of the factor is an input error naming it. */
static int check_rows_finite(const char *name, int64_t row0, int64_t nrows, int64_t n, const double *rows, int64_t ld) {
  for (int64_t i = 0; i < nrows; i++)
    for (int64_t j = 0; j < n; j++)
      if (!isfinite(rows[i * ld + j]))
        PRSVD_ERR(PRSVD_ERR_INPUT, "'%s' has %s at row %lld, column %lld", name,
                  isnan(rows[i * ld + j]) ? "NaN" : "Inf", (long long)(row0 + i), (long long)j);
  return PRSVD_OK;
}

/* This rank alone, dsyevd on the whole factor: every eigenpair, the top r kept descending */
static int eigh_lapack(prsvd_source *src, int64_t r, double *u, double *lambda) {
  int status = PRSVD_OK, in, info;
  double *a = NULL, *w = NULL;
  const int64_t n = prsvd_source_rows(src);
  PRSVD_CHECK(prsvd_to_int(n, "factor dimension", &in));
  PRSVD_ALLOC(a, n * n);
  PRSVD_ALLOC(w, n);
  PRSVD_TRY(prsvd_source_read(src, 0, n, a)); /* row-major = column-major: symmetric */
  PRSVD_TRY(check_rows_finite(prsvd_source_name(src), 0, n, n, a, n));
  info = prsvd_dsyevd(in, a, w);
  if (info == PRSVD_DSYEVD_NOMEM) PRSVD_FAIL(PRSVD_ERR_NOMEM, "out of memory for DSYEVD's workspace (n = %d)", in);
  if (info < 0) PRSVD_FAIL(PRSVD_ERR_INTERNAL, "DSYEVD: illegal value in argument %d", -info);
  if (info > 0) PRSVD_FAIL(PRSVD_ERR_NUMERIC, "DSYEVD did not converge on '%s' (info = %d)", prsvd_source_name(src), info);
  for (int64_t j = 0; j < r; j++) {
    lambda[j] = w[n - 1 - j];
    memcpy(u + j * n, a + (n - 1 - j) * n, sizeof(double) * (size_t)n);
  }
done:
  free(a), free(w);
  return status;
}

/* Every rank of comm: ScaLAPACK PDSYEVD on a 2-D block-cyclic grid, each rank reading the
 * rows of its blocks from src (a block at a time, so the panels stay small) */
static int eigh_scalapack(MPI_Comm comm, prsvd_source *src, int64_t r, double *u, double *lambda) {
  int status = PRSVD_OK;
  prsvd_smat *a = NULL;
  double *rows = NULL;
  const int64_t n = prsvd_source_rows(src);
  PRSVD_CHECK(prsvd_smat_create(comm, n, &a));
  const int64_t block = prsvd_smat_block(a);
  PRSVD_ALLOC(rows, block * n);
  for (int64_t i = 0; i < n; i += block) {
    const int64_t nr = n - i < block ? n - i : block;
    if (!prsvd_smat_holds_row(a, i)) continue;
    PRSVD_TRY(prsvd_source_read(src, i, nr, rows));
    PRSVD_TRY(check_rows_finite(prsvd_source_name(src), i, nr, n, rows, n));
    PRSVD_TRY(prsvd_smat_set_rows(a, i, nr, rows, n));
  }
done:
  free(rows);
  status = prsvd_error_agree(comm, status);
  if (!status) status = prsvd_smat_eigh(a, r, lambda, u);
  prsvd_smat_destroy(&a);
  return status;
}

/* The exact decomposition: dsyevd on one rank, PDSYEVD over several */
static int eigh_exact(MPI_Comm comm, const struct prsvd_kfac_params *p, prsvd_source *src, int64_t r,
                      double *u, double *lambda) {
  int nprocs;
  (void)p;
  MPI_Comm_size(comm, &nprocs);
  if (nprocs == 1) return eigh_lapack(src, r, u, lambda);
  return eigh_scalapack(comm, src, r, u, lambda);
}

/* The library's randomized solvers over every rank of comm, streaming src in row panels of
 * at most p->memory bytes per rank; U gathered whole on every rank */
static int eigh_randomized(MPI_Comm comm, const struct prsvd_kfac_params *p, prsvd_source *src,
                           int64_t r, double *u, double *lambda) {
  int status = PRSVD_OK;
  prsvd_svd *svd = NULL;
  struct prsvd_svd_params prm = PRSVD_SVD_PARAMS_INIT;
  const double *vals;
  int64_t k;
  const int64_t n = prsvd_source_rows(src);
  prm.rank = r;
  prm.oversample = p->oversample;
  prm.power_iters = p->power_iters;
  prm.seed = p->seed;
  prm.n_probes = 0;
  prm.sym_tol = p->sym_tol;
  prm.memory = p->memory;
  prm.threads = p->threads; /* resolved by prsvd_kfac_eigh_source: the solve's pool */
  prm.method = p->method == PRSVD_KFAC_REVD      ? PRSVD_METHOD_REVD
               : p->method == PRSVD_KFAC_NYSTROM ? PRSVD_METHOD_NYSTROM
                                                 : PRSVD_METHOD_SUBSPACE;
  PRSVD_TRY(prsvd_svd_create(comm, &svd));
  PRSVD_TRY(prsvd_svd_set_params(svd, &prm));
  PRSVD_TRY(prsvd_svd_solve(svd, src));
  PRSVD_TRY(prsvd_svd_get_rank(svd, &k));
  if (k != r) PRSVD_FAIL(PRSVD_ERR_INTERNAL, "'%s': asked for %lld eigenpairs, got %lld", prsvd_source_name(src), (long long)r, (long long)k);
  PRSVD_TRY(prsvd_svd_get_singular_values(svd, &vals)); /* the eigenvalues for NYSTROM/REVD */
  if (prsvd_dmat_rows(svd->u) != n || prsvd_dmat_cols(svd->u) != r)
    PRSVD_FAIL(PRSVD_ERR_INTERNAL, "'%s': U is %lld x %lld, expected %lld x %lld", prsvd_source_name(src),
               (long long)prsvd_dmat_rows(svd->u), (long long)prsvd_dmat_cols(svd->u), (long long)n, (long long)r);
  PRSVD_TRY(prsvd_dmat_allgather(svd->u, u));
  memcpy(lambda, vals, sizeof(double) * (size_t)r);
done:
  prsvd_svd_destroy(&svd);
  return status;
}

static const struct {
  enum prsvd_kfac_method method;
  const char *name;
  int full; /* every eigenpair */
  int (*eigh)(MPI_Comm, const struct prsvd_kfac_params *, prsvd_source *, int64_t, double *, double *);
} methods[] = {
    {PRSVD_KFAC_EIG, "eig", 1, eigh_exact},
    {PRSVD_KFAC_REVD, "revd", 0, eigh_randomized},
    {PRSVD_KFAC_NYSTROM, "nystrom", 0, eigh_randomized},
    {PRSVD_KFAC_RSVD, "rsvd", 0, eigh_randomized},
};

/* The decomposition's compute threads: p->threads, or for 0 the automatic count over comm
 * (collective then, as the decomposition is).  Out of range: a usage error on every rank. */
static int decomposition_threads(MPI_Comm comm, const struct prsvd_kfac_params *p, int *threads) {
  struct prsvd_threads_choice tc;
  if (p->threads >= 1 && p->threads <= PRSVD_MAX_THREADS) {
    *threads = p->threads;
    return PRSVD_OK;
  }
  PRSVD_CHECK(prsvd_threads_choose(comm, p->threads, &tc));
  *threads = tc.threads;
  return PRSVD_OK;
}

static int eigh_source(MPI_Comm comm, const struct prsvd_kfac_params *p, prsvd_source *src,
                       int64_t *r_out, double **u_out, double **lambda_out);

int prsvd_kfac_eigh_source(MPI_Comm comm, const struct prsvd_kfac_params *p, prsvd_source *src,
                           int64_t *r_out, double **u_out, double **lambda_out) {
  struct prsvd_kfac_params q = *p;
  *u_out = *lambda_out = NULL;
  *r_out = 0;
  PRSVD_CHECK(decomposition_threads(comm, p, &q.threads));
  /* the BLAS's threads for dsyevd and PDSYEVD (a randomized solve sets its own); the caller's
   * count comes back at the end */
  const int blas_before = prsvd_blas_threads_set(q.threads);
  const int status = eigh_source(comm, &q, src, r_out, u_out, lambda_out);
  if (blas_before > 0) prsvd_blas_threads_set(blas_before);
  return status;
}

static int eigh_source(MPI_Comm comm, const struct prsvd_kfac_params *p, prsvd_source *src,
                       int64_t *r_out, double **u_out, double **lambda_out) {
  int status = PRSVD_OK;
  double *u = NULL, *lambda = NULL;
  size_t t = 0;
  const int64_t n = prsvd_source_rows(src);
  const char *name = prsvd_source_name(src);
  while (t < sizeof methods / sizeof methods[0] && methods[t].method != p->method) t++;
  if (t == sizeof methods / sizeof methods[0])
    PRSVD_ERR(PRSVD_ERR_USAGE, "unknown K-FAC method %d", (int)p->method);
  if (n < 1 || prsvd_source_cols(src) != n)
    PRSVD_ERR(PRSVD_ERR_INPUT, "'%s' is %lld x %lld: a Kronecker factor must be square", name, (long long)n,
              (long long)prsvd_source_cols(src));
  if (!methods[t].full && p->rank < 1)
    PRSVD_ERR(PRSVD_ERR_USAGE, "K-FAC %s: rank %lld must be at least 1", methods[t].name, (long long)p->rank);
  const int64_t r = methods[t].full || p->rank > n ? n : p->rank;
  u = prsvd_calloc((size_t)(n * r), sizeof *u);
  lambda = prsvd_calloc((size_t)r, sizeof *lambda);
  if (!u || !lambda)
    status = prsvd_error_set(PRSVD_ERR_NOMEM, __FILE__, __LINE__, __func__,
                             "out of memory for %lld eigenvectors of '%s' (%lld x %lld)", (long long)r, name,
                             (long long)n, (long long)n);
  PRSVD_TRY(prsvd_error_agree(comm, status));
  /* a sketch as wide as the factor buys nothing over the exact solver, and a square Gaussian
   * test matrix is too ill-conditioned for the Nystrom shift on a low-rank factor */
  if (r + (p->oversample > 0 ? p->oversample : 0) >= n) PRSVD_TRY(eigh_exact(comm, p, src, r, u, lambda));
  else PRSVD_TRY(methods[t].eigh(comm, p, src, r, u, lambda));
  fix_signs(n, r, u);
  /* PSD: a clearly negative eigenvalue is bad input, a slightly negative one rounding (every
   * rank holds the same eigenvalues, so every rank decides alike) */
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

int prsvd_kfac_eigh(const struct prsvd_kfac_params *p, const char *name, int64_t n,
                    const double *f, int64_t ld, int64_t *r_out, double **u_out,
                    double **lambda_out) {
  int status = PRSVD_OK;
  prsvd_source *src = NULL;
  *u_out = *lambda_out = NULL;
  *r_out = 0;
  if (n < 1 || ld < n) PRSVD_ERR(PRSVD_ERR_USAGE, "'%s': bad factor shape n = %lld, ld = %lld", name, (long long)n, (long long)ld);
  PRSVD_CHECK(check_rows_finite(name, 0, n, n, f, ld));
  PRSVD_TRY(prsvd_source_memory(n, n, f, ld, &src));
  PRSVD_TRY(prsvd_source_rename(src, name)); /* errors name the factor */
  PRSVD_TRY(prsvd_kfac_eigh_source(MPI_COMM_SELF, p, src, r_out, u_out, lambda_out));
done:
  prsvd_source_destroy(&src);
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

int prsvd_kfac_form_power(int64_t n, const double *u, const double *lambda, double delta, double s,
                          double *m) {
  int status = PRSVD_OK, in;
  double *v = NULL;
  const double one = 1.0, zero = 0.0;
  if (!(delta > 0.0) || !isfinite(delta))
    PRSVD_ERR(PRSVD_ERR_NUMERIC, "damping %g: a damped power needs damping > 0", delta);
  PRSVD_CHECK(prsvd_to_int(n, "factor dimension", &in));
  PRSVD_ALLOC(v, n * n);
  /* V = U diag((Lambda + delta)^(s/2)): every weight is positive, so M = V V^T */
  for (int64_t j = 0; j < n; j++) {
    const double w = pow(lambda[j] + delta, 0.5 * s);
    for (int64_t i = 0; i < n; i++) v[j * n + i] = w * u[j * n + i];
  }
  /* M = V V^T (upper triangle, n^3 flops: half a GEMM's) */
  dsyrk_("U", "N", &in, &in, &one, v, &in, &zero, m, &in);
  /* both triangles, so that one DGEMM applies it from either side */
  for (int64_t c = 0; c < n; c++)
    for (int64_t r = c + 1; r < n; r++) m[c * n + r] = m[r * n + c];
done:
  free(v);
  return status;
}

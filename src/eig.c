/*
 * Symmetric and PSD matrices: eigendecompositions A ~ U diag(L) U^T.
 *
 *  nystrom  Tropp, Yurtsever, Udell & Cevher, "Fixed-rank approximation of a positive-
 *           semidefinite matrix from streaming data", NeurIPS 2017, Alg. 3 (stable):
 *           Y = A Omega (one pass);  nu = sqrt(n) eps ||Y||_F;  Y_nu = Y + nu Omega;
 *           C^T C = Omega^T Y_nu;  E = Y_nu C^-1;  E = U S W^T;  L = max(0, S^2 - nu)
 *  revd     Halko, Martinsson & Tropp (2011) Alg. 5.3 on the range finder of Alg. 4.4:
 *           Q from q power iterations (rsvd.c), B = Q^T A Q = Q^T (A^T Q), B = V L V^T,
 *           U = Q V, the k eigenvalues of largest magnitude
 *
 * Assumptions: A square and symmetric (checked on 1000 sampled pairs during the first
 * pass); for nystrom also PSD (a failed Cholesky of Omega^T Y_nu means negative curvature).
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

#define N_PAIRS 1000
#define PRSVD_STREAM_SYMMETRY 10

void dpotrf_(const char *uplo, const int *n, double *a, const int *lda, int *info);

static int cmp_pos(const void *a, const void *b) {
  const int64_t *x = a, *y = b;
  return x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : (x[1] < y[1] ? -1 : x[1] > y[1]);
}

/* 2 x N_PAIRS positions (i, j) and (j, i), sorted by row, into the frame's pass->sample_* */
int prsvd_symmetry_samples(struct prsvd_svd_frame *f, int64_t n) {
  int status = PRSVD_OK;
  const prsvd_svd *svd = f->svd;
  struct prsvd_pass *pass = &f->pass;
  int64_t *pos = NULL, *rows = NULL, *cols = NULL;
  double *vals = NULL;
  const int64_t ns = n > 1 ? 2 * N_PAIRS : 0;
  PRSVD_ALLOC(pos, 2 * ns);
  PRSVD_SCRATCH_ALLOC(&f->scratch, rows, ns);
  PRSVD_SCRATCH_ALLOC(&f->scratch, cols, ns);
  PRSVD_SCRATCH_ALLOC(&f->scratch, vals, ns);
  for (int64_t t = 0; t < ns / 2; t++) {
    const uint32_t key[2] = {(uint32_t)svd->params.seed, (uint32_t)(svd->params.seed >> 32)};
    const uint32_t ctr[4] = {(uint32_t)t, 0, 0, PRSVD_STREAM_SYMMETRY << 24};
    uint32_t w[4];
    prsvd_philox4x32(ctr, key, w);
    int64_t i = (int64_t)(((uint64_t)w[0] * (uint64_t)n) >> 32);
    int64_t j = (int64_t)(((uint64_t)w[1] * (uint64_t)(n - 1)) >> 32);
    if (j >= i) j++; /* off the diagonal */
    pos[4 * t] = i, pos[4 * t + 1] = j, pos[4 * t + 2] = j, pos[4 * t + 3] = i;
  }
  qsort(pos, (size_t)ns, 2 * sizeof(int64_t), cmp_pos);
  for (int64_t t = 0; t < ns; t++) rows[t] = pos[2 * t], cols[t] = pos[2 * t + 1];
  pass->n_samples = ns;
  pass->sample_row = rows;
  pass->sample_col = cols;
  pass->sample_val = vals;
done:
  free(pos);
  return status;
}

/* Collective: after the pass, combine the samples and name the worst asymmetric pair. */
int prsvd_symmetry_check(prsvd_svd *svd, prsvd_source *a, struct prsvd_pass *pass) {
  const int64_t ns = pass->n_samples;
  double *v = pass->sample_val, amax = 0.0, worst = 0.0;
  int64_t wi = 0, wj = 0;
  double wa = 0, wb = 0;
  if (!ns) return PRSVD_OK;
  PRSVD_MPI(MPI_Allreduce(MPI_IN_PLACE, v, (int)ns, MPI_DOUBLE, MPI_SUM, svd->comm));
  for (int64_t t = 0; t < ns; t++) amax = fmax(amax, fabs(v[t]));
  for (int64_t t = 0; t < ns; t++) {
    /* the partner (j, i) of (i, j): binary search in the sorted positions */
    int64_t lo = 0, hi = ns - 1, i = pass->sample_row[t], j = pass->sample_col[t];
    while (lo < hi) {
      int64_t mid = (lo + hi) / 2;
      if (pass->sample_row[mid] < j || (pass->sample_row[mid] == j && pass->sample_col[mid] < i)) lo = mid + 1;
      else hi = mid;
    }
    double d = fabs(v[t] - v[lo]);
    if (d > worst) worst = d, wi = i, wj = j, wa = v[t], wb = v[lo];
  }
  if (worst > svd->params.sym_tol * amax)
    PRSVD_ERR(PRSVD_ERR_INPUT,
              "'%s' is not symmetric: A[%lld][%lld] = %.17g but A[%lld][%lld] = %.17g (worst of %d sampled pairs; tolerance %g relative to max |A_ij| = %g)",
              prsvd_source_name(a), (long long)wi, (long long)wj, wa, (long long)wj, (long long)wi,
              wb, N_PAIRS, svd->params.sym_tol, amax);
  return PRSVD_OK;
}

static int check_square(prsvd_svd *svd, prsvd_source *a) {
  const int64_t m = prsvd_source_rows(a), n = prsvd_source_cols(a), k = svd->params.rank;
  if (m != n)
    PRSVD_ERR(PRSVD_ERR_INPUT, "'%s' is %lld x %lld: an eigendecomposition needs a square matrix",
              prsvd_source_name(a), (long long)m, (long long)n);
  if (k < 1 || k > n)
    PRSVD_ERR(PRSVD_ERR_USAGE, "rank k = %lld must be between 1 and the dimension %lld",
              (long long)k, (long long)n);
  svd->k = k;
  return PRSVD_OK;
}

int prsvd_solve_nystrom(prsvd_svd *svd, prsvd_source *a) {
  int status = PRSVD_OK;
  const struct prsvd_svd_params *prm = &svd->params;
  const int64_t n = prsvd_source_cols(a);
  struct prsvd_svd_frame f;
  struct prsvd_pass *const pass = &f.pass;
  struct prsvd_ckpt *const ck = &f.ck;
  struct prsvd_cursor cur = {0};
  double *omega = NULL, *b = NULL, *sigma = NULL;
  prsvd_dmat *y = NULL;
  int info = 0, resumed;
  double nu_extra = 0.0;

  prsvd_svd_frame_init(&f, svd);
  PRSVD_CHECK(check_square(svd, a));
  const int64_t l = prsvd_svd_width(prm, n, n); /* k + p, at most n */
  const int il = (int)l;
  int64_t r0, nr, yld;
  PRSVD_TRY(prsvd_svd_pass_begin(&f, a, l, 0));
  PRSVD_SCRATCH_MATS(&f.scratch, &y);
  prsvd_row_block(n, prsvd_grid_rank(svd->grid), prsvd_grid_nprocs(svd->grid), &r0, &nr);
  PRSVD_SCRATCH_ALLOC(&f.scratch, omega, n * l);
  PRSVD_SCRATCH_ALLOC(&f.scratch, b, l * l);
  PRSVD_SCRATCH_ALLOC(&f.scratch, sigma, l);
  PRSVD_TRY(prsvd_dmat_create(svd->grid, n, l, &y));
  prsvd_rng_fill(prm->seed, PRSVD_STREAM_OMEGA, 0, n, 0, l, omega, n);

  /* Y = A Omega, one pass; sampled entries for the symmetry check */
  pass->check_finite = prm->check_finite;
  pass->scale_running = 1; /* one pass: the exponent follows the panels (sketch.h) */
  pass->right = omega;
  pass->n_right = l;
  pass->n_keep = 1;
  pass->keep[0].dmat = y;
  PRSVD_TRY(prsvd_symmetry_samples(&f, n));
  cur.n_passes = 1;
  cur.next_row = r0;
  /* the state: Y (kept rows) and the symmetry samples seen so far */
  double *yl = prsvd_dmat_local(y, NULL, NULL, &yld);
  prsvd_ckpt_array(ck, "Y", yl, n, l, yld, r0, nr, 1);
  if (pass->n_samples)
    PRSVD_TRY(prsvd_ckpt_partial(ck, svd->grid, "symmetry_samples", pass->sample_val, pass->n_samples, 1));
  prsvd_ckpt_passes(ck, 0, 0.0);
  PRSVD_TRY(prsvd_ckpt_start(ck, pass, &cur, &resumed));
  status = prsvd_sketch_pass(pass, &cur);
  PRSVD_TRY(prsvd_error_agree(svd->comm, status));
  svd->stats.passes = 1;
  { /* every rank's rows of Y on the exponent A's range asks for */
    int e;
    PRSVD_TRY(prsvd_pass_range(pass, svd->comm, n, n, &e));
    svd->stats.scale_exp = e;
  }
  PRSVD_TRY(prsvd_symmetry_check(svd, a, pass));

  prsvd_profile_begin(PRSVD_EV_ORTH);
  /* nu = sqrt(n) eps ||Y||_F;  Y_nu = Y + nu Omega */
  double fro = 0.0;
  for (int64_t c = 0; c < l; c++)
    for (int64_t i = 0; i < nr; i++) fro += yl[c * yld + i] * yl[c * yld + i];
  PRSVD_MPI(MPI_Allreduce(MPI_IN_PLACE, &fro, 1, MPI_DOUBLE, MPI_SUM, svd->comm));
  const double nu = sqrt((double)n) * 2.220446049250313e-16 * sqrt(fro);
  for (int64_t c = 0; c < l; c++)
    for (int64_t i = 0; i < nr; i++) yl[c * yld + i] += nu * omega[c * n + r0 + i];
  /* B = Omega^T Y_nu, symmetrized; C^T C = B on rank 0 */
  memset(b, 0, sizeof(double) * (size_t)(l * l));
  for (int64_t c = 0; c < l; c++)
    for (int64_t d = 0; d < l; d++) {
      double acc = 0.0;
      for (int64_t i = 0; i < nr; i++) acc += omega[d * n + r0 + i] * yl[c * yld + i];
      b[c * l + d] = acc;
    }
  PRSVD_MPI(MPI_Allreduce(MPI_IN_PLACE, b, (int)(l * l), MPI_DOUBLE, MPI_SUM, svd->comm));
  for (int64_t c = 0; c < l; c++)
    for (int64_t d = 0; d < c; d++) b[c * l + d] = b[d * l + c] = 0.5 * (b[c * l + d] + b[d * l + c]);
  /* Cholesky of the core; a failure from rounding on a (numerically) low-rank A is cured by
   * a larger shift (Tropp et al. 2017, Sec. 4.5), up to 1e-8 of ||Y||: past that the core has
   * real negative curvature */
  if (prsvd_grid_rank(svd->grid) == 0) {
    double *core = malloc(sizeof(double) * (size_t)(l * l));
    double extra = 0.0, step = nu > 0 ? nu : 1e-300;
    if (!core) info = -100;
    for (int attempt = 0; core && attempt < 6; attempt++) {
      memcpy(core, b, sizeof(double) * (size_t)(l * l));
      for (int64_t c = 0; c < l; c++) /* + extra Omega^T Omega */
        for (int64_t d = 0; d <= c; d++) {
          double oo = 0.0;
          if (extra > 0)
            for (int64_t i = 0; i < n; i++) oo += omega[c * n + i] * omega[d * n + i];
          core[c * l + d] += extra * oo;
        }
      dpotrf_("U", &il, core, &il, &info);
      if (info <= 0 || extra > 1e-8 * sqrt(fro)) break;
      step *= 100.0;
      extra = step;
    }
    if (core && info == 0) memcpy(b, core, sizeof(double) * (size_t)(l * l));
    nu_extra = info == 0 ? extra : 0.0;
    free(core);
  }
  PRSVD_MPI(MPI_Bcast(&info, 1, MPI_INT, 0, svd->comm));
  PRSVD_MPI(MPI_Bcast(&nu_extra, 1, MPI_DOUBLE, 0, svd->comm));
  if (info > 0)
    PRSVD_FAIL(PRSVD_ERR_INPUT,
               "'%s' is not positive semidefinite: the Cholesky factorization of Omega^T (A + nu I) Omega failed at column %d (negative curvature); use --method revd",
               prsvd_source_name(a), info);
  if (info == -100) PRSVD_FAIL(PRSVD_ERR_NOMEM, "out of memory for the Nystrom core");
  if (info < 0) PRSVD_FAIL(PRSVD_ERR_INTERNAL, "DPOTRF: illegal value in argument %d", -info);
  if (nu_extra > 0) /* Y_nu = Y + (nu + extra) Omega, so that E = Y_nu C^-1 matches the core */
    for (int64_t c = 0; c < l; c++)
      for (int64_t i = 0; i < nr; i++) yl[c * yld + i] += nu_extra * omega[c * n + r0 + i];
  PRSVD_MPI(MPI_Bcast(b, il * il, MPI_DOUBLE, 0, svd->comm));
  for (int64_t c = 0; c < l; c++)
    for (int64_t d = c + 1; d < l; d++) b[c * l + d] = 0.0; /* keep the upper triangle */
  /* E = Y_nu C^-1 */
  PRSVD_TRY(prsvd_dmat_solve_upper(y, b));
  prsvd_profile_end(PRSVD_EV_ORTH, 0.0, 2.0 * (double)n * (double)(l * l));
  /* E = U S W^T: QR, then the l x l core; L = max(0, S^2 - nu) */
  PRSVD_TRY(prsvd_svd_finish_left(svd, y, sigma));
  for (int64_t j = 0; j < svd->k; j++) svd->s[j] = fmax(0.0, sigma[j] * sigma[j] - nu - nu_extra);
done:
  prsvd_svd_frame_end(&f);
  return status;
}

static int cmp_desc_abs(const void *a, const void *b) {
  const double x = fabs(((const double *)a)[0]), y = fabs(((const double *)b)[0]);
  return x > y ? -1 : x < y ? 1 : 0;
}

int prsvd_solve_revd(prsvd_svd *svd, prsvd_source *a) {
  int status = PRSVD_OK;
  const struct prsvd_svd_params *prm = &svd->params;
  const int64_t n = prsvd_source_cols(a);
  prsvd_dmat *q = NULL, *atq = NULL, *aw = NULL;
  double *w = NULL, *b = NULL, *lam = NULL, *vk = NULL, *order = NULL;
  int info = 0;
  struct prsvd_scratch sc = {0};

  PRSVD_CHECK(check_square(svd, a));
  PRSVD_SCRATCH_MATS(&sc, &q, &atq, &aw);
  const int64_t l = prsvd_svd_width(prm, n, n); /* k + p, at most n */
  const int il = (int)l, k = (int)svd->k;
  /* Q from q power iterations; A Q = A^T Q (symmetric).  The symmetry check reads the
   * sampled pairs in the same passes */
  int64_t w0, wr; /* all n rows: revd runs on a P x 1 grid */
  PRSVD_TRY(prsvd_subspace_sketch(svd, a, l, &q, &atq, &aw, &w, &w0, &wr));
  PRSVD_TRY(prsvd_scratch_keep(&sc, w));
  prsvd_profile_begin(PRSVD_EV_SMALL_SVD);
  PRSVD_SCRATCH_ALLOC(&sc, b, l * l);
  PRSVD_SCRATCH_ALLOC(&sc, lam, l);
  PRSVD_SCRATCH_ALLOC(&sc, vk, l * k);
  PRSVD_SCRATCH_ALLOC(&sc, order, 2 * l);
  /* B = Q^T (A Q), symmetrized */
  {
    int64_t r, qld, ald;
    const double *ql = prsvd_dmat_local(q, NULL, &r, &qld), *al = prsvd_dmat_local(atq, NULL, NULL, &ald);
    const double one = 1.0, zero = 0.0;
    int ir = (int)r, iq = (int)qld, ia = (int)ald;
    if (ir > 0) dgemm_("T", "N", &il, &il, &ir, &one, ql, &iq, al, &ia, &zero, b, &il);
    PRSVD_MPI(MPI_Allreduce(MPI_IN_PLACE, b, il * il, MPI_DOUBLE, MPI_SUM, svd->comm));
  }
  for (int64_t c = 0; c < l; c++)
    for (int64_t d = 0; d < c; d++) b[c * l + d] = b[d * l + c] = 0.5 * (b[c * l + d] + b[d * l + c]);
  /* B = V L V^T on rank 0 (dsyevd), broadcast */
  if (prsvd_grid_rank(svd->grid) == 0) info = prsvd_dsyevd(il, b, lam);
  PRSVD_MPI(MPI_Bcast(&info, 1, MPI_INT, 0, svd->comm));
  if (info) PRSVD_FAIL(PRSVD_ERR_NUMERIC, "DSYEVD failed (info = %d)", info);
  PRSVD_MPI(MPI_Bcast(b, il * il, MPI_DOUBLE, 0, svd->comm));
  PRSVD_MPI(MPI_Bcast(lam, il, MPI_DOUBLE, 0, svd->comm));
  /* the k eigenvalues of largest magnitude, in that order */
  for (int64_t j = 0; j < l; j++) order[2 * j] = lam[j], order[2 * j + 1] = (double)j;
  qsort(order, (size_t)l, 2 * sizeof(double), cmp_desc_abs);
  PRSVD_ALLOC(svd->s, k);
  for (int j = 0; j < k; j++) {
    int64_t src = (int64_t)order[2 * j + 1];
    svd->s[j] = lam[src];
    memcpy(vk + (int64_t)j * l, b + src * l, sizeof(double) * (size_t)l);
  }
  /* U = Q V_k, signs fixed */
  PRSVD_TRY(prsvd_dmat_create(svd->grid, n, k, &svd->u));
  PRSVD_TRY(prsvd_dmat_mul_small(q, l, vk, l, k, svd->u));
  PRSVD_TRY(prsvd_dmat_fix_signs(svd->u, k, lam));
  prsvd_profile_end(PRSVD_EV_SMALL_SVD, 0.0, 2.0 * (double)n * (double)(l * k));
done:
  prsvd_scratch_free(&sc);
  return status;
}

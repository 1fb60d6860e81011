/*
 * The SVD solver object: lifecycle, the method table, and the steps all methods share
 * (the small SVD of the core, forming U and V distributed, deterministic signs, error
 * estimates).
 */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "blas.h"
#include "error.h"
#include "profile.h"
#include "rng.h"
#include "svd_impl.h"

struct prsvd_svd_params prsvd_svd_params_default(void) {
  const struct prsvd_svd_params init = PRSVD_SVD_PARAMS_INIT;
  return init;
}

int prsvd_svd_create(MPI_Comm comm, prsvd_svd **out) {
  int status = PRSVD_OK;
  prsvd_svd *svd = NULL;
  *out = NULL;
  PRSVD_ALLOC(svd, 1);
  svd->params = prsvd_svd_params_default();
  svd->comm = MPI_COMM_NULL;
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

static void clear_result(prsvd_svd *svd) {
  prsvd_dmat_destroy(&svd->u);
  prsvd_dmat_destroy(&svd->v);
  prsvd_grid2d_destroy(&svd->grid2d); /* after V, which may live on its by_cols grid */
  free(svd->s);
  free(svd->scree);
  free(svd->mean);
  free(svd->scale);
  free(svd->unscaled);
  svd->s = svd->scree = svd->mean = svd->scale = NULL;
  svd->unscaled = NULL;
  memset(&svd->stats, 0, sizeof svd->stats);
}

void prsvd_svd_destroy(prsvd_svd **svd) {
  if (!svd || !*svd) return;
  clear_result(*svd);
  prsvd_grid_destroy(&(*svd)->grid);
  if ((*svd)->comm != MPI_COMM_NULL) MPI_Comm_free(&(*svd)->comm);
  free(*svd);
  *svd = NULL;
}

static const struct {
  enum prsvd_svd_method method;
  const char *name;
  int (*solve)(prsvd_svd *, prsvd_source *);
} methods[] = {
    {PRSVD_METHOD_SUBSPACE, "subspace", prsvd_solve_subspace},
    {PRSVD_METHOD_ONEPASS, "onepass", prsvd_solve_onepass},
    {PRSVD_METHOD_QB, "qb", prsvd_solve_qb},
    {PRSVD_METHOD_NYSTROM, "nystrom", prsvd_solve_nystrom},
    {PRSVD_METHOD_REVD, "revd", prsvd_solve_revd},
    {PRSVD_METHOD_QB_EI, "qb-ei", prsvd_solve_qb_ei},
};

/* What the solve read, over all ranks: panel bytes delivered and bytes taken from files. */
static int count_reads(prsvd_svd *svd, prsvd_source *a, const struct prsvd_svd_estimate *est,
                       int64_t file_bytes_before, int64_t lent_before) {
  const int64_t mine = prsvd_source_file_bytes(a);
  long long v[3] = {mine >= 0 && file_bytes_before >= 0 ? mine - file_bytes_before : 0,
                    mine >= 0 && file_bytes_before >= 0 ? 0 : 1, prsvd_source_lent_bytes(a) - lent_before};
  svd->stats.bytes_read = (int64_t)(svd->stats.passes * est->pass_bytes);
  PRSVD_MPI(MPI_Allreduce(MPI_IN_PLACE, v, 3, MPI_LONG_LONG, MPI_SUM, svd->comm));
  svd->stats.file_bytes = v[1] ? -1 : (int64_t)v[0];
  svd->stats.mapped_bytes = (int64_t)v[2];
  return PRSVD_OK;
}

int prsvd_svd_first_pass_range(prsvd_svd *svd, struct prsvd_pass *pass, int64_t m, int64_t n,
                               struct prsvd_cursor *cur, int *repeat) {
  int e;
  PRSVD_CHECK(prsvd_pass_range(pass, svd->comm, m, n, &e));
  *repeat = e != pass->scale_exp;
  if (*repeat) {
    pass->scale_exp = e;
    svd->stats.passes++;
    cur->n_passes++;
  }
  return PRSVD_OK;
}

int prsvd_svd_first_pass_columns(prsvd_svd *svd, int64_t n, double *col_sum, double *col_sumsq,
                                 double *fro2, int *late) {
  const unsigned char *zeroed = NULL;
  *late = 0;
  if (!svd->params.zeroed_columns) return PRSVD_OK;
  PRSVD_CHECK(svd->params.zeroed_columns(svd->params.zeroed_arg, &zeroed, late));
  for (int64_t j = 0; zeroed && j < n; j++) {
    if (!zeroed[j]) continue;
    if (fro2 && col_sumsq) *fro2 -= col_sumsq[j];
    if (col_sum) col_sum[j] = 0.0;
    if (col_sumsq) col_sumsq[j] = 0.0;
  }
  return PRSVD_OK;
}

/* The results of 2^e A (e = stats.scale_exp) as A's: singular values or eigenvalues, the
 * scree, the error estimates and ||A||_F divide by 2^e, and so do a centred A's means and
 * scales; U and V do not change.  A centred and scaled A~ = (2^e A - 1 2^e mu^T)(2^e D)^-1 is
 * A's own, and so are its S and error estimates.  PRSVD_ERR_NUMERIC for a singular value of A
 * beyond the largest double. */
static int unscale_results(prsvd_svd *svd, const prsvd_source *a) {
  const int e = svd->stats.scale_exp;
  struct prsvd_svd_stats *st = &svd->stats;
  if (!e) return PRSVD_OK;
  if (svd->mean) prsvd_center_unscale(svd, svd->params.center_rows ? prsvd_source_rows(a) : prsvd_source_cols(a), e);
  if (svd->params.center && svd->params.scale) return PRSVD_OK;
  for (int64_t j = 0; j < svd->k; j++) {
    const double v = svd->s[j];
    svd->s[j] = ldexp(v, -e);
    if (isinf(svd->s[j]))
      PRSVD_ERR(PRSVD_ERR_NUMERIC, "%s %lld of '%s' is %.17g x 2^%d, beyond the largest double",
                svd->params.method == PRSVD_METHOD_NYSTROM || svd->params.method == PRSVD_METHOD_REVD
                    ? "eigenvalue" : "singular value",
                (long long)(j + 1), prsvd_source_name(a), v, -e);
  }
  for (int64_t j = 0; svd->scree && j < svd->k; j++) svd->scree[j] = ldexp(svd->scree[j], -e);
  st->error_estimate = ldexp(st->error_estimate, -e);
  st->error_estimate_fro = ldexp(st->error_estimate_fro, -e);
  st->error_ci_low = ldexp(st->error_ci_low, -e);
  st->error_ci_high = ldexp(st->error_ci_high, -e);
  st->norm_fro = ldexp(st->norm_fro, -e);
  return PRSVD_OK;
}

/* The estimate of svd's params for the threads the solve runs (svd->threads, once chosen). */
static int estimate_solve(const prsvd_svd *svd, const prsvd_source *a, struct prsvd_svd_estimate *est) {
  struct prsvd_svd_params prm = svd->params;
  if (svd->threads > 0) prm.threads = svd->threads;
  return prsvd_svd_estimate(&prm, a, prsvd_grid_nprocs(svd->grid), est);
}

static int solve_with(prsvd_svd *svd, prsvd_source *a);

int prsvd_svd_solve(prsvd_svd *svd, prsvd_source *a) {
  int status = PRSVD_OK;
  struct prsvd_threads_choice tc;
  clear_result(svd);
  svd->threads = svd->params.threads;
  if (svd->threads <= 0) { /* collective, as the solve is */
    PRSVD_CHECK(prsvd_threads_choose(svd->comm, svd->params.threads, &tc));
    svd->threads = tc.threads;
  } else if (svd->threads > PRSVD_MAX_THREADS) {
    PRSVD_ERR(PRSVD_ERR_USAGE, "%d compute threads a rank: expected 1 to %d (0: automatic)", svd->threads,
              PRSVD_MAX_THREADS);
  }
  /* the pool, and the BLAS's own threads for the work outside the passes (each pass sets
   * them to 1 while its threads multiply); the caller's count comes back at the end */
  const int blas_before = prsvd_blas_threads_set(svd->threads);
  status = prsvd_pool_create(svd->threads, &svd->pool);
  if (!status) status = solve_with(svd, a);
  svd->stats.blas_threads = prsvd_blas_threads_get();
  prsvd_pool_destroy(&svd->pool);
  if (blas_before > 0) prsvd_blas_threads_set(blas_before);
  svd->stats.threads = svd->threads;
  svd->threads = 0;
  return status;
}

static int solve_with(prsvd_svd *svd, prsvd_source *a) {
  struct prsvd_svd_estimate est;
  const struct prsvd_svd_plan *plan = &est.plan;
  if ((svd->params.center || svd->params.scale) && svd->params.method != PRSVD_METHOD_SUBSPACE)
    PRSVD_ERR(PRSVD_ERR_USAGE, "centering (PCA) runs with subspace iteration only, not with --passes 1, --tol or eig");
  if (svd->params.center_rows && (!svd->params.center || svd->params.scale))
    PRSVD_ERR(PRSVD_ERR_USAGE, "centring the rows needs --center and takes no --scale");
  if (svd->params.scale && !svd->params.center)
    PRSVD_ERR(PRSVD_ERR_USAGE, "scaling columns needs centering (--center or prsvd pca)");
  const int autoq = svd->params.power_iters < 0;
  if (svd->params.scale && (autoq ? svd->params.max_power_iters : svd->params.power_iters) < 1)
    PRSVD_ERR(PRSVD_ERR_USAGE, "--scale needs at least one power iteration (-q >= 1): the first pass learns the scales");
  if (autoq && (svd->params.method == PRSVD_METHOD_QB || svd->params.method == PRSVD_METHOD_QB_EI))
    PRSVD_ERR(
        PRSVD_ERR_USAGE,
        "-q auto runs with subspace iteration (svd -k, pca) and eig --method revd, not with --tol");
  if (autoq && !(svd->params.conv_tol > 0.0 && svd->params.conv_tol < 1.0))
    PRSVD_ERR(PRSVD_ERR_USAGE, "-q auto needs a tolerance between 0 and 1, not --conv-tol %g",
              svd->params.conv_tol);
  PRSVD_CHECK(estimate_solve(svd, a, &est));
  if (plan->grid_cols > 1)
    PRSVD_CHECK(prsvd_grid2d_create(svd->comm, plan->grid_rows, plan->grid_cols, &svd->grid2d));
  for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
    if (methods[i].method == svd->params.method) {
      const int64_t before = prsvd_source_file_bytes(a), lent_before = prsvd_source_lent_bytes(a);
      prsvd_qr_stats_reset();
      PRSVD_CHECK(methods[i].solve(svd, a));
      PRSVD_CHECK(unscale_results(svd, a));
      struct prsvd_qr_stats qs;
      prsvd_qr_stats_get(&qs);
      svd->stats.qr_cholqr2 = qs.cholqr2;
      svd->stats.qr_shifted = qs.shifted;
      svd->stats.qr_householder = qs.fallbacks + qs.householder;
      svd->stats.qr_worst_orth = qs.worst_orth;
      svd->stats.single = plan->single;
      return count_reads(svd, a, &est, before, lent_before);
    }
  PRSVD_ERR(PRSVD_ERR_USAGE, "unknown SVD method %d", (int)svd->params.method);
}

int prsvd_svd_probes(const struct prsvd_svd_params *prm) {
  switch (prm->method) {
  case PRSVD_METHOD_SUBSPACE:
  case PRSVD_METHOD_REVD:
    return prm->n_probes > 0 ? prm->n_probes : 0;
  case PRSVD_METHOD_ONEPASS:
    return PRSVD_ONEPASS_PROBES;
  default:
    return 0;
  }
}

int64_t prsvd_svd_width(const struct prsvd_svd_params *prm, int64_t m, int64_t n) {
  const int64_t mn = m < n ? m : n;
  int64_t l = 0, s = 0;
  if (prm->method == PRSVD_METHOD_ONEPASS) {
    (void)prsvd_onepass_sizes(prm, m, n, &l, &s); /* refused by prsvd_svd_plan if they fail */
    return l;
  }
  if (prm->method == PRSVD_METHOD_QB || prm->method == PRSVD_METHOD_QB_EI)
    l = prm->max_rank > 0 ? prm->max_rank : 256;
  else
    l = prm->rank + (prm->oversample > 0 ? prm->oversample : 0);
  return l < mn ? l : mn;
}

/* Rows of column block j of n columns on a pr x pc grid: those the ranks j pr .. j pr + pr - 1
 * of the column-major P x 1 grid hold (prsvd_grid2d's by_cols). */
static int64_t column_block(int64_t n, int pr, int pc, int j) {
  int64_t r0, lr, e0, el;
  prsvd_row_block(n, j * pr, pr * pc, &r0, &lr);
  prsvd_row_block(n, j * pr + pr - 1, pr * pc, &e0, &el);
  return e0 + el - r0;
}

/* The process grid: params.grid_rows x grid_cols, or the automatic one (prsvd.h, struct
 * prsvd_svd_params); checks that pc > 1 is for a solve that runs on it. */
static int plan_grid(const struct prsvd_svd_params *prm, const prsvd_source *a, int nprocs,
                     struct prsvd_svd_plan *plan) {
  const int64_t m = prsvd_source_rows(a), n = prsvd_source_cols(a);
  /* X = [Omega | W] of subspace iteration, the only method a 2-D grid runs */
  const int64_t x_cols = prsvd_svd_width(prm, m, n) + prsvd_svd_probes(prm);
  int pr = prm->grid_rows, pc = prm->grid_cols;
  if (!pr && !pc) { /* automatic: the smallest pc whose column block's X fits in --memory */
    pc = 1;
    if (prm->method == PRSVD_METHOD_SUBSPACE && !prm->checkpoint && prsvd_source_has_blocks(a) &&
        prsvd_size_mul(8 * n, x_cols) > prm->memory)
      for (pc = 2; pc < nprocs; pc++)
        if (nprocs % pc == 0 && column_block(n, nprocs / pc, pc, pc - 1) > 0 &&
            prsvd_size_mul(8 * column_block(n, nprocs / pc, pc, 0), x_cols) <= prm->memory)
          break;
    if (pc > nprocs) pc = nprocs;
    pr = nprocs / pc;
  }
  if (pr < 1 || pc < 1 || (int64_t)pr * pc != nprocs)
    PRSVD_ERR(PRSVD_ERR_USAGE, "--grid %dx%d needs %lld ranks, not %d", pr, pc, (long long)pr * pc, nprocs);
  plan->grid_rows = pr, plan->grid_cols = pc;
  plan->x_rows = pc > 1 ? column_block(n, pr, pc, 0) : n;
  if (pc == 1) return PRSVD_OK;
  if (prm->method != PRSVD_METHOD_SUBSPACE)
    PRSVD_ERR(PRSVD_ERR_USAGE, "--grid %dx%d: a 2-D grid runs subspace iteration only, not --passes 1, --tol or "
              "eig; use --grid %dx1", pr, pc, nprocs);
  if (prm->checkpoint)
    PRSVD_ERR(PRSVD_ERR_USAGE, "--grid %dx%d: --checkpoint runs on a P x 1 grid only; use --grid %dx1", pr, pc, nprocs);
  if (!prsvd_source_has_blocks(a))
    PRSVD_ERR(PRSVD_ERR_USAGE, "--grid %dx%d: '%s' cannot be read by column blocks (%s); use --grid %dx1", pr, pc,
              prsvd_source_name(a), prsvd_source_nnz(a) >= 0 ? "a sparse source" : "column panels", nprocs);
  if (column_block(n, pr, pc, pc - 1) < 1)
    PRSVD_ERR(PRSVD_ERR_USAGE, "--grid %dx%d leaves column block %d of '%s' empty: %lld columns are too few for "
              "%d column blocks of %d ranks", pr, pc, pc - 1, prsvd_source_name(a), (long long)n, pc, pr);
  return PRSVD_OK;
}

/* Sizes no solve of a can run with, refused before anything is read or allocated: the
 * distributed factors' rows are ScaLAPACK ints, and the single-pass sketch sizes set must
 * meet their method's conditions (prsvd_onepass_sizes). */
static int check_sizes(const struct prsvd_svd_params *prm, const prsvd_source *a) {
  const int64_t m = prsvd_source_rows(a), n = prsvd_source_cols(a);
  if (m > INT_MAX || n > INT_MAX)
    PRSVD_ERR(PRSVD_ERR_INPUT, "'%s' is %lld x %lld: U and V, distributed ScaLAPACK matrices, hold at most %d rows "
              "(its int)", prsvd_source_name(a), (long long)m, (long long)n, INT_MAX);
  if (prm->method == PRSVD_METHOD_ONEPASS) {
    int64_t ks, s;
    PRSVD_CHECK(prsvd_onepass_sizes(prm, m, n, &ks, &s));
  }
  return PRSVD_OK;
}

/* What the passes of a method multiply (sketch.h, struct prsvd_pass_shape): the widest
 * right product and co-range sum of any of its passes, and whether they split their panels
 * among threads (on a P x 1 grid: every method, dense or CSR panels).  The widths are those the methods' files give their
 * passes. */
static void pass_shape(const struct prsvd_svd_params *prm, const prsvd_source *a, int grid_cols,
                       struct prsvd_pass_shape *shape) {
  const int64_t m = prsvd_source_rows(a), n = prsvd_source_cols(a), mn = m < n ? m : n;
  const int64_t np = prm->n_probes > 0 ? prm->n_probes : 0;
  int64_t l = prm->rank + (prm->oversample > 0 ? prm->oversample : 0), L = prm->max_rank > 0 ? prm->max_rank : mn;
  if (l > mn) l = mn;
  if (L > mn) L = mn;
  memset(shape, 0, sizeof *shape);
  shape->threaded = grid_cols == 1;
  shape->sparse = prsvd_source_nnz(a) >= 0;
  switch (prm->method) {
  case PRSVD_METHOD_SUBSPACE: case PRSVD_METHOD_REVD: /* rsvd.c: [X | W], H; PCA's column sums */
    shape->n_right = l + np, shape->corange_cols = l, shape->col_sums = prm->center;
    break;
  case PRSVD_METHOD_QB: /* qb.c */
    shape->n_right = L, shape->corange_cols = L;
    break;
  case PRSVD_METHOD_QB_EI: /* qb_ei.c: a block, and H of [G | Q_pending] */
    shape->n_right = prm->block, shape->corange_cols = 2 * prm->block;
    shape->col_sums = prm->zeroed_columns != NULL; /* ||A||_F^2 without columns learnt zeroed */
    break;
  case PRSVD_METHOD_NYSTROM: /* eig.c: Y = A Omega alone */
    shape->n_right = l;
    break;
  default: /* the single-pass sketches (onepass.c) */
    prsvd_onepass_shape(prm, a, shape);
    shape->threaded &= grid_cols == 1;
  }
}

int prsvd_svd_plan(const struct prsvd_svd_params *prm, const prsvd_source *a, int nprocs,
                   struct prsvd_svd_plan *plan) {
  const int64_t m = prsvd_source_rows(a), nnz = prsvd_source_nnz(a);
  memset(plan, 0, sizeof *plan);
  PRSVD_CHECK(check_sizes(prm, a));
  PRSVD_CHECK(plan_grid(prm, a, nprocs, plan));
  /* a process row streams the rows of its pc ranks' blocks, each rank x_rows columns */
  const int64_t max_rows = plan->grid_cols * ((m + nprocs - 1) / nprocs), width = plan->x_rows;
  if (prm->precision == PRSVD_PRECISION_SINGLE && nnz >= 0)
    PRSVD_ERR(PRSVD_ERR_USAGE, "--precision single: '%s' is sparse, and sparse panels are multiplied in float64",
              prsvd_source_name(a));
  plan->single = prsvd_pass_single(prm, a);
  plan->buffers = (prm->prefetch ? 2 : 1) + prsvd_source_own_panels(a, plan->single);
  if (prm->threads < 0 || prm->threads > PRSVD_MAX_THREADS)
    PRSVD_ERR(PRSVD_ERR_USAGE, "%d compute threads a rank: expected 1 to %d (0: automatic)", prm->threads,
              PRSVD_MAX_THREADS);
  plan->threads = prm->threads > 0 ? prm->threads : prsvd_cpus_mine();
  if (plan->threads > PRSVD_MAX_THREADS) plan->threads = PRSVD_MAX_THREADS;
  struct prsvd_pass_shape shape;
  pass_shape(prm, a, plan->grid_cols, &shape);
  plan->threaded = plan->threads > 1 && shape.threaded;
  const int lanes = plan->threaded ? plan->threads : 1;
  const int64_t elem = plan->single ? 4 : 8;
  int64_t rows = prsvd_panel_rows_cols(a, width, prm->memory, prm->prefetch, plan->single, lanes);
  if (rows < 1)
    PRSVD_ERR(PRSVD_ERR_USAGE,
              "--memory %lld bytes holds less than one row of '%s' (%lld columns: %lld bytes)",
              (long long)prm->memory, prsvd_source_name(a), (long long)width, (long long)(elem * width));
  if (rows > max_rows) rows = max_rows > 0 ? max_rows : 1;
  plan->panel_rows = rows;
  /* dense rows, or CSR at the average row density (16 bytes an entry, 8 a row pointer) */
  plan->panel_bytes = nnz < 0 ? rows * width * elem
                              : (int64_t)((16.0 * (double)nnz / (double)m + 8.0) * (double)rows);
  plan->thread_bytes = prsvd_pass_thread_bytes(lanes, rows, width, &shape, plan->single);
  return PRSVD_OK;
}

int prsvd_svd_panel_rows(const prsvd_svd *svd, const prsvd_source *a, int64_t *panel_rows) {
  struct prsvd_svd_estimate est;
  PRSVD_CHECK(estimate_solve(svd, a, &est));
  *panel_rows = est.plan.panel_rows;
  return PRSVD_OK;
}

/* SVD of the replicated a x b core on rank 0 (LAPACK dgesdd), broadcast so every rank holds
 * identical bits: c = uc diag(sigma) vc^T, uc a x r, vc b x r, r = min(a, b). */
int prsvd_small_svd(MPI_Comm comm, int a, int b, const double *c, double *sigma, double *uc,
                    double *vc) {
  int status = PRSVD_OK, rank, info = 0, lwork = -1, r = a < b ? a : b;
  double *work = NULL, *vt = NULL, *cc = NULL, wq;
  int *iwork = NULL;
  MPI_Comm_rank(comm, &rank);
  if (rank == 0) {
    PRSVD_ALLOC(iwork, 8 * r);
    PRSVD_ALLOC(vt, r * b);
    PRSVD_ALLOC(cc, a * b);
    memcpy(cc, c, sizeof(double) * (size_t)a * (size_t)b);
    dgesdd_("S", &a, &b, cc, &a, sigma, uc, &a, vt, &r, &wq, &lwork, iwork, &info);
    lwork = (int)wq + 1;
    PRSVD_ALLOC(work, lwork);
    dgesdd_("S", &a, &b, cc, &a, sigma, uc, &a, vt, &r, work, &lwork, iwork, &info);
    if (info < 0) PRSVD_FAIL(PRSVD_ERR_INTERNAL, "DGESDD: illegal value in argument %d", -info);
    if (info > 0) PRSVD_FAIL(PRSVD_ERR_NUMERIC, "DGESDD did not converge (info = %d)", info);
    for (int i = 0; i < r; i++) /* V_c = (V_c^T)^T */
      for (int j = 0; j < b; j++) vc[i * b + j] = vt[j * r + i];
  }
done:
  status = prsvd_error_agree(comm, status);
  if (!status) {
    MPI_Bcast(sigma, r, MPI_DOUBLE, 0, comm);
    MPI_Bcast(uc, a * r, MPI_DOUBLE, 0, comm);
    MPI_Bcast(vc, b * r, MPI_DOUBLE, 0, comm);
  }
  free(work);
  free(vt);
  free(cc);
  free(iwork);
  return status;
}

int prsvd_svd_finish_core(prsvd_svd *svd, prsvd_dmat **q, const double *c, prsvd_dmat *p,
                          double *sigma_all) {
  int status = PRSVD_OK, ia, ib;
  const int64_t a = prsvd_dmat_cols(*q), b = prsvd_dmat_cols(p), r = a < b ? a : b;
  const int64_t k = svd->k;
  double *sigma = NULL, *uc = NULL, *vc = NULL, *flip = NULL;
  if (k > r)
    PRSVD_ERR(PRSVD_ERR_INTERNAL, "finish: rank %lld above the core's %lld", (long long)k, (long long)r);
  PRSVD_CHECK(prsvd_to_int(a, "core rows", &ia));
  PRSVD_CHECK(prsvd_to_int(b, "core columns", &ib));
  prsvd_profile_begin(PRSVD_EV_SMALL_SVD);
  PRSVD_ALLOC(sigma, r);
  PRSVD_ALLOC(uc, a * r);
  PRSVD_ALLOC(vc, b * r);
  PRSVD_ALLOC(flip, k);
  /* C = U_c S V_c^T */
  PRSVD_TRY(prsvd_small_svd(svd->comm, ia, ib, c, sigma, uc, vc));
  /* U = Q U_c in Q's storage (Q is the m-row array: a second one would add to the peak),
   * V = P V_c (first k columns) */
  PRSVD_TRY(prsvd_dmat_mul_small_in_place(*q, uc, a, k));
  PRSVD_TRY(prsvd_dmat_truncate_cols(*q, k));
  svd->u = *q;
  *q = NULL;
  PRSVD_TRY(prsvd_dmat_create(prsvd_dmat_grid(p), prsvd_dmat_rows(p), k, &svd->v)); /* P's rows */
  PRSVD_TRY(prsvd_dmat_mul_small(p, b, vc, b, k, svd->v));
  PRSVD_ALLOC(svd->s, k);
  memcpy(svd->s, sigma, sizeof(double) * (size_t)k);
  if (sigma_all) memcpy(sigma_all, sigma, sizeof(double) * (size_t)r);
  prsvd_profile_end(
      PRSVD_EV_SMALL_SVD, 0.0,
      2.0 * (double)(prsvd_dmat_rows(svd->u) * a + prsvd_dmat_rows(p) * b) * (double)k);
  /* deterministic signs: the largest |U_ij| of each column positive, V to match; with the
   * rows centred the samples are A's columns, so V's, as scikit-learn's svd_flip signs the
   * samples' factor */
  if (svd->params.center_rows) {
    PRSVD_TRY(prsvd_dmat_fix_signs(svd->v, k, flip));
    prsvd_dmat_scale_cols(svd->u, k, flip);
  } else {
    PRSVD_TRY(prsvd_dmat_fix_signs(svd->u, k, flip));
    prsvd_dmat_scale_cols(svd->v, k, flip);
  }
done:
  free(sigma);
  free(uc);
  free(vc);
  free(flip);
  return status;
}

int prsvd_svd_finish_qb(prsvd_svd *svd, prsvd_dmat **q, prsvd_dmat *bt, double *sigma_all) {
  int status = PRSVD_OK;
  const int64_t a = prsvd_dmat_cols(bt);
  double *rb = NULL, *c = NULL;
  PRSVD_ALLOC(rb, a * a);
  PRSVD_ALLOC(c, a * a);
  /* Q_B R_B = B^T, so A ~ Q R_B^T Q_B^T: the core is R_B^T */
  prsvd_profile_begin(PRSVD_EV_ORTH);
  PRSVD_TRY(prsvd_dmat_qr(bt, rb));
  prsvd_profile_end(PRSVD_EV_ORTH, 0.0, 4.0 * (double)prsvd_dmat_rows(bt) * (double)(a * a));
  for (int64_t i = 0; i < a; i++)
    for (int64_t j = 0; j < a; j++) c[j * a + i] = rb[i * a + j];
  PRSVD_TRY(prsvd_svd_finish_core(svd, q, c, bt, sigma_all));
done:
  free(rb);
  free(c);
  return status;
}

int prsvd_svd_finish_left(prsvd_svd *svd, prsvd_dmat *e, double *sigma_all) {
  int status = PRSVD_OK, il;
  const int64_t l = prsvd_dmat_cols(e), k = svd->k;
  double *re = NULL, *uc = NULL, *vc = NULL, *flip = NULL;
  PRSVD_CHECK(prsvd_to_int(l, "sketch width", &il));
  PRSVD_ALLOC(re, l * l);
  PRSVD_ALLOC(uc, l * l);
  PRSVD_ALLOC(vc, l * l);
  PRSVD_ALLOC(flip, k);
  prsvd_profile_begin(PRSVD_EV_SMALL_SVD);
  /* Q_E R_E = E;  R_E = U_c S V_c^T;  U = Q_E U_c */
  PRSVD_TRY(prsvd_dmat_qr(e, re));
  PRSVD_TRY(prsvd_small_svd(svd->comm, il, il, re, sigma_all, uc, vc));
  PRSVD_TRY(prsvd_dmat_create(svd->grid, prsvd_dmat_rows(e), k, &svd->u));
  PRSVD_TRY(prsvd_dmat_mul_small(e, l, uc, l, k, svd->u));
  PRSVD_ALLOC(svd->s, k);
  memcpy(svd->s, sigma_all, sizeof(double) * (size_t)k);
  PRSVD_TRY(prsvd_dmat_fix_signs(svd->u, k, flip));
  prsvd_profile_end(PRSVD_EV_SMALL_SVD, 0.0, 2.0 * (double)prsvd_dmat_rows(e) * (double)(l * k));
done:
  free(re), free(uc), free(vc), free(flip);
  return status;
}

/* (A - U S V^T) W = A W - U (S (V^T W)): HMT eq. (4.3) bounds the spectral norm by
 * 10 sqrt(2/pi) max_i ||e_i||; the mean of ||e_i||^2 estimates the squared Frobenius norm.
 * The residual is formed in A W's storage: a separate m x np array would add to the finish's
 * peak, when Q, U and A W are all held. */
int prsvd_svd_estimate_right(prsvd_svd *svd, prsvd_dmat *aw, const double *w, int64_t w0,
                             int64_t ldw) {
  int status = PRSVD_OK, im, ik, inp, ild, iuld;
  const int64_t k = svd->k, np = prsvd_dmat_cols(aw);
  const double one = 1.0, minus_one = -1.0;
  double *vtw = NULL, *norms = NULL;
  int64_t v0, vr, vld, ur, uld, er, eld;
  const double *v = prsvd_dmat_local(svd->v, &v0, &vr, &vld);
  const double *u = prsvd_dmat_local(svd->u, NULL, &ur, &uld);
  double *e = prsvd_dmat_local(aw, NULL, &er, &eld);
  prsvd_profile_begin(PRSVD_EV_ESTIMATE);
  PRSVD_ALLOC(vtw, k * np);
  PRSVD_ALLOC(norms, np);
  /* S (V^T W), summed over the row blocks of V */
  for (int64_t j = 0; j < np; j++)
    for (int64_t c = 0; c < k; c++) {
      double acc = 0.0;
      for (int64_t i = 0; i < vr; i++) acc += v[c * vld + i] * w[j * ldw + v0 - w0 + i];
      vtw[j * k + c] = acc;
    }
  PRSVD_MPI(MPI_Allreduce(MPI_IN_PLACE, vtw, (int)(k * np), MPI_DOUBLE, MPI_SUM, svd->comm));
  for (int64_t j = 0; j < np; j++)
    for (int64_t c = 0; c < k; c++) vtw[j * k + c] *= svd->s[c];
  /* E = A W - U (S V^T W), over A W */
  PRSVD_TRY(prsvd_to_int(er, "local rows", &im));
  PRSVD_TRY(prsvd_to_int(k, "rank", &ik));
  PRSVD_TRY(prsvd_to_int(np, "probes", &inp));
  PRSVD_TRY(prsvd_to_int(eld, "ld of the probes", &ild));
  PRSVD_TRY(prsvd_to_int(uld, "ld of U", &iuld));
  if (er != ur)
    PRSVD_FAIL(PRSVD_ERR_INTERNAL, "estimate: %lld local rows of A W against %lld of U",
               (long long)er, (long long)ur);
  if (im > 0) dgemm_("N", "N", &im, &inp, &ik, &minus_one, u, &iuld, vtw, &ik, &one, e, &ild);
  for (int64_t j = 0; j < np; j++) {
    double acc = 0.0;
    for (int64_t i = 0; i < er; i++) acc += e[j * eld + i] * e[j * eld + i];
    norms[j] = acc;
  }
  PRSVD_MPI(MPI_Allreduce(MPI_IN_PLACE, norms, (int)np, MPI_DOUBLE, MPI_SUM, svd->comm));
  double mx = 0.0, mean = 0.0;
  for (int64_t j = 0; j < np; j++) mx = fmax(mx, sqrt(norms[j])), mean += norms[j] / (double)np;
  svd->stats.error_estimate = 10.0 * sqrt(2.0 / M_PI) * mx;
  svd->stats.error_estimate_fro = sqrt(mean);
  prsvd_profile_end(PRSVD_EV_ESTIMATE, 0.0, 0.0);
done:
  free(vtw);
  free(norms);
  return status;
}

/* Theta U S (np x k) over the rank's rows of U: its threads each draw a share of Theta's rows
 * (the columns of g, ur x np) and form their entries, each summed down U's rows in order by one
 * thread whatever the number of threads. */
struct theta_u_job {
  const prsvd_svd *svd;
  const double *u;
  int64_t u0, ur, uld, np;
  uint64_t seed;
  unsigned stream;
  double *g, *tu;
};

static void theta_u_rows(void *arg, int t) {
  const struct theta_u_job *jb = arg;
  const int64_t ur = jb->ur, ld = ur > 0 ? ur : 1;
  int64_t j0, nj;
  prsvd_pool_share(jb->np, t, prsvd_pool_threads(jb->svd->pool), &j0, &nj);
  prsvd_rng_fill(jb->seed, jb->stream, jb->u0, ur, j0, nj, jb->g + j0 * ld, ld);
  for (int64_t c = 0; c < jb->svd->k; c++)
    for (int64_t j = j0; j < j0 + nj; j++) {
      double acc = 0.0;
      for (int64_t i = 0; i < ur; i++) acc += jb->g[j * ld + i] * jb->u[c * jb->uld + i];
      jb->tu[c * jb->np + j] = acc * jb->svd->s[c]; /* (Theta U) S */
    }
}

/* Tropp, Yurtsever, Udell & Cevher (2019) Sec. 6: with Theta (np x m) Gaussian and
 * S = Theta A, err^2 = ||S - Theta U S V^T||_F^2 / np is unbiased for ||A - U S V^T||_F^2
 * and np err^2 / ||.||^2 is chi-square with np degrees of freedom. */
int prsvd_svd_estimate_left(prsvd_svd *svd, const double *st, int64_t np, uint64_t seed,
                            unsigned stream) {
  int status = PRSVD_OK;
  const int64_t k = svd->k;
  double *tu = NULL, *g = NULL, sum = 0.0;
  int64_t u0, ur, uld, v0, vr, vld;
  const double *u = prsvd_dmat_local(svd->u, &u0, &ur, &uld);
  const double *v = prsvd_dmat_local(svd->v, &v0, &vr, &vld);
  const int64_t n = prsvd_dmat_rows(svd->v);
  prsvd_profile_begin(PRSVD_EV_ESTIMATE);
  PRSVD_ALLOC(tu, np * k);
  PRSVD_ALLOC(g, (ur > 0 ? ur : 1) * np);
  { /* Theta U (np x k): this rank's rows of Theta^T times its rows of U */
    struct theta_u_job jb = {svd, u, u0, ur, uld, np, seed, stream, g, tu};
    prsvd_pool_run(svd->pool, theta_u_rows, &jb);
  }
  PRSVD_MPI(MPI_Allreduce(MPI_IN_PLACE, tu, (int)(np * k), MPI_DOUBLE, MPI_SUM, svd->comm));
  /* ||S^T - V (Theta U S)^T||^2 over this rank's rows of V */
  for (int64_t i = 0; i < vr; i++)
    for (int64_t j = 0; j < np; j++) {
      double d = st[j * n + v0 + i];
      for (int64_t c = 0; c < k; c++) d -= v[c * vld + i] * tu[c * np + j];
      sum += d * d;
    }
  PRSVD_MPI(MPI_Allreduce(MPI_IN_PLACE, &sum, 1, MPI_DOUBLE, MPI_SUM, svd->comm));
  svd->stats.error_estimate_fro = sqrt(sum / (double)np);
  svd->stats.error_estimate = NAN;
  /* 95% interval from chi-square quantiles (np = 10: 3.247 and 20.483) */
  if (np == 10) {
    svd->stats.error_ci_low = svd->stats.error_estimate_fro * sqrt(10.0 / 20.483);
    svd->stats.error_ci_high = svd->stats.error_estimate_fro * sqrt(10.0 / 3.247);
  }
  prsvd_profile_end(PRSVD_EV_ESTIMATE, 0.0, 0.0);
done:
  free(tu);
  free(g);
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

int prsvd_svd_get_eigenvalues(const prsvd_svd *svd, const double **lambda) {
  if (svd->params.method != PRSVD_METHOD_NYSTROM && svd->params.method != PRSVD_METHOD_REVD)
    PRSVD_ERR(PRSVD_ERR_USAGE, "eigenvalues come from the nystrom and revd methods only");
  return prsvd_svd_get_singular_values(svd, lambda);
}

int prsvd_svd_get_centering(const prsvd_svd *svd, const double **mean, const double **scale) {
  if (!svd->mean) PRSVD_ERR(PRSVD_ERR_USAGE, "no centering: the solve did not center");
  *mean = svd->mean;
  *scale = svd->scale;
  return PRSVD_OK;
}

int prsvd_svd_get_scree(const prsvd_svd *svd, const double **scree) {
  *scree = svd->scree;
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
  if (!svd->v && svd->u) { /* symmetric methods: V = U */
    *v = prsvd_dmat_local(svd->u, row0, local_rows, ld);
    return PRSVD_OK;
  }
  if (!svd->v) PRSVD_ERR(PRSVD_ERR_USAGE, "no result: prsvd_svd_solve() has not succeeded");
  *v = prsvd_dmat_local(svd->v, row0, local_rows, ld);
  return PRSVD_OK;
}

int prsvd_svd_get_stats(const prsvd_svd *svd, struct prsvd_svd_stats *stats) {
  *stats = svd->stats;
  return PRSVD_OK;
}

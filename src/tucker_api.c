/* The Tucker object (include/prsvd.h, prsvd_tucker_*): parameters, the plan, lifecycle and
 * results.  The algorithm is src/tucker.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "sketch.h"
#include "tucker_impl.h"

struct prsvd_tucker_params prsvd_tucker_params_default(void) {
  const struct prsvd_tucker_params init = PRSVD_TUCKER_PARAMS_INIT;
  return init;
}

/* The default oversampling keeps the small core (three copies at its truncation) within
 * 2^24 entries (3 x 128 MiB); a p given is refused only past 2e8. */
#define AUTO_CORE 16777216.0

/* The sketch widths at oversampling p (or, with the default, the fraction f / 16 of p_n = r_n
 * + 10), each at most d_n: plan->sketch (and core_sketch for one pass); returns prod of the
 * core's widths. */
static double widths(const struct prsvd_tucker_params *prm, int ndims, const int64_t *dims, int f,
                     struct prsvd_tucker_plan *plan) {
  double core = 1.0;
  for (int n = 0; n < ndims; n++) {
    const int64_t d = dims[n], r = prm->tol > 0 ? prm->max_rank : prm->ranks[n];
    const int64_t p = prm->oversample == PRSVD_TUCKER_OVERSAMPLE_AUTO ? (r + 10) * f / 16 : prm->oversample;
    plan->core_sketch[n] = 0;
    if (prm->passes == 2 || prm->tol > 0) {
      plan->sketch[n] = r + p < d ? r + p : d;
    } else { /* Sun et al.: k = 2r + 1, s = 2k + 1, each at most d */
      plan->sketch[n] = 2 * r + 1 < d ? 2 * r + 1 : d;
      plan->core_sketch[n] = 2 * plan->sketch[n] + 1 < d ? 2 * plan->sketch[n] + 1 : d;
    }
    core *= (double)(plan->core_sketch[n] ? plan->core_sketch[n] : plan->sketch[n]);
  }
  return core;
}

/* Entries of a slab's Z: d_2 ... d_N times the core's first width. */
static double slab_entries(const struct prsvd_tucker_plan *plan, int64_t cols) {
  const int64_t w0 = plan->core_sketch[0] ? plan->core_sketch[0] : plan->sketch[0];
  return (double)cols * (double)(plan->sketch[0] > w0 ? plan->sketch[0] : w0);
}

/* The Z route's working set: Z whole (l_1 x C, summed over the ranks in place), its first
 * truncation (r_1 x C) and the largest unfolding's Gram matrix with its eigenvectors. */
static double z_route_bytes(const struct prsvd_tucker_params *prm, int ndims, const int64_t *dims, int64_t cols,
                            int64_t l1) {
  const int64_t r1 = prm->tol > 0 ? (prm->max_rank < l1 ? prm->max_rank : l1) : prm->ranks[0];
  double gram = (double)l1 * (double)l1;
  for (int n = 1; n < ndims; n++) gram = fmax(gram, (double)dims[n] * (double)dims[n]);
  return 8.0 * ((double)(l1 + r1) * (double)cols + 2.0 * gram);
}

/* The plan's one count of a rank's memory beyond its panels: the factor sketches Y_n and Q_n
 * of the modes sketched, Omega_1 (or X) and with power iterations H (C x l_1 each), then the
 * Z route's working set, or this rank's Z (C x w_1) and the small core (three copies while
 * it is truncated). */
static double plan_bytes(const struct prsvd_tucker_params *prm, int ndims, const int64_t *dims, int64_t cols,
                         const struct prsvd_tucker_plan *plan, double core) {
  const int z = plan->route == PRSVD_TUCKER_ROUTE_Z;
  const int64_t w0 = plan->core_sketch[0] ? plan->core_sketch[0] : plan->sketch[0];
  double bytes = 8.0 * (double)cols * (double)(plan->sketch[0] + (prm->power_iters > 0 ? plan->sketch[0] : 0));
  for (int n = 0; n < (z ? 1 : ndims); n++) bytes += 16.0 * (double)(dims[n] * plan->sketch[n]);
  return bytes + (z ? (double)plan->z_bytes : 8.0 * (double)cols * (double)w0 + 3.0 * core * 8.0);
}

int prsvd_tucker_plan(const struct prsvd_tucker_params *prm, const prsvd_source *a, int ndims, const int64_t *dims,
                      int nprocs, struct prsvd_tucker_plan *plan) {
  const char *name = prsvd_source_name(a);
  memset(plan, 0, sizeof *plan);
  (void)nprocs;
  if (prsvd_source_nnz(a) >= 0)
    PRSVD_ERR(PRSVD_ERR_INPUT, "'%s' is sparse: a Tucker decomposition reads dense slabs", name);
  if (ndims < 2 || ndims > PRSVD_TUCKER_MAX_MODES)
    PRSVD_ERR(PRSVD_ERR_INPUT, "'%s' has %d dimensions: a Tucker decomposition takes 2 to %d", name, ndims,
              PRSVD_TUCKER_MAX_MODES);
  int64_t cols = 1;
  for (int n = 0; n < ndims; n++) {
    if (dims[n] < 1) PRSVD_ERR(PRSVD_ERR_INPUT, "'%s': dimension %d has length %lld", name, n + 1, (long long)dims[n]);
    if (n > 0) cols = prsvd_size_mul(cols, dims[n]);
  }
  if (dims[0] != prsvd_source_rows(a) || cols != prsvd_source_cols(a))
    PRSVD_ERR(PRSVD_ERR_USAGE, "'%s' streams %lld x %lld, not the unfolding %lld x %lld of the shape given", name,
              (long long)prsvd_source_rows(a), (long long)prsvd_source_cols(a), (long long)dims[0], (long long)cols);
  if (prm->passes != 1 && prm->passes != 2)
    PRSVD_ERR(PRSVD_ERR_USAGE, "passes must be 1 or 2, not %d", prm->passes);
  if ((prm->oversample < 0 && prm->oversample != PRSVD_TUCKER_OVERSAMPLE_AUTO) || prm->power_iters < 0)
    PRSVD_ERR(PRSVD_ERR_USAGE, "oversampling %lld and power iterations %d must not be negative",
              (long long)prm->oversample, prm->power_iters);
  if (prm->passes == 1 && prm->power_iters > 0)
    PRSVD_ERR(PRSVD_ERR_USAGE, "power iterations (%d) need two passes: one pass reads A once", prm->power_iters);
  if (prm->tol > 0) {
    if (!(prm->tol < 1))
      PRSVD_ERR(PRSVD_ERR_USAGE, "tolerance %g must be below 1 (a relative error)", prm->tol);
    if (prm->passes == 1)
      PRSVD_ERR(PRSVD_ERR_USAGE, "a tolerance needs two passes: one pass has no estimate of its error to choose ranks by");
    if (prm->max_rank < 1) PRSVD_ERR(PRSVD_ERR_USAGE, "the largest rank %lld must be at least 1", (long long)prm->max_rank);
  } else if (prm->tol < 0 || isnan(prm->tol)) {
    PRSVD_ERR(PRSVD_ERR_USAGE, "tolerance %g must be positive", prm->tol);
  }
  for (int n = 0; n < ndims; n++) {
    if (prm->tol > 0 && prm->ranks[n] != 0) PRSVD_ERR(PRSVD_ERR_USAGE, "ranks and a tolerance exclude each other: give one");
    if (!(prm->tol > 0) && (prm->ranks[n] < 1 || prm->ranks[n] > dims[n]))
      PRSVD_ERR(PRSVD_ERR_USAGE, "rank %lld of mode %d must be between 1 and its length %lld", (long long)prm->ranks[n],
                n + 1, (long long)dims[n]);
  }
  double core = widths(prm, ndims, dims, 16, plan);
  /* two passes: the Z route when Z and its truncation fit the budget, at the full widths */
  plan->route = prm->passes == 1 ? PRSVD_TUCKER_ROUTE_ONE_PASS : PRSVD_TUCKER_ROUTE_CORE;
  if (prm->passes == 2) {
    const double zb = z_route_bytes(prm, ndims, dims, cols, plan->sketch[0]);
    plan->z_bytes = (int64_t)fmin(zb, 9e18);
    if (zb <= (double)prm->memory && slab_entries(plan, cols) <= 2147483647.0) plan->route = PRSVD_TUCKER_ROUTE_Z;
  }
  if (plan->route == PRSVD_TUCKER_ROUTE_Z) { /* modes 2..N exact: the whole of each */
    for (int n = 1; n < ndims; n++) plan->sketch[n] = dims[n];
    /* the default widens the one sketched mode to 3r + 10 where Z still fits: its sketch error
     * is all that is left (bench's field at r = 8: 1.135x of HOSVD at 2r + 10, 1.088x) */
    const int64_t r1 = prm->tol > 0 ? prm->max_rank : prm->ranks[0], wide = 3 * r1 + 10 < dims[0] ? 3 * r1 + 10 : dims[0];
    const double zw = z_route_bytes(prm, ndims, dims, cols, wide);
    if (prm->oversample == PRSVD_TUCKER_OVERSAMPLE_AUTO && wide > plan->sketch[0] && zw <= (double)prm->memory &&
        (double)cols * (double)wide <= 2147483647.0)
      plan->sketch[0] = wide, plan->z_bytes = (int64_t)zw;
  } else {
    if (prm->oversample == PRSVD_TUCKER_OVERSAMPLE_AUTO) /* cut the default until the core and a slab's Z fit */
      for (int f = 15; f >= 0 && (core > AUTO_CORE || slab_entries(plan, cols) > 2147483647.0); f--)
        core = widths(prm, ndims, dims, f, plan);
    if (core > 2e8)
      PRSVD_ERR(PRSVD_ERR_USAGE, "the small core of '%s' would hold %.3g entries: ask for smaller ranks", name, core);
  }
  const int64_t w0 = plan->core_sketch[0] ? plan->core_sketch[0] : plan->sketch[0];
  if (slab_entries(plan, cols) > 2147483647.0)
    PRSVD_ERR(PRSVD_ERR_USAGE, "'%s': a slab of %lld values times %lld sketch columns exceeds 2^31 entries", name,
              (long long)cols, (long long)w0);
  plan->sketch_bytes = (int64_t)plan_bytes(prm, ndims, dims, cols, plan, core);
  plan->panel_rows = prsvd_panel_rows_for(a, prm->memory, prm->prefetch, 0, 1);
  if (plan->panel_rows < 1)
    PRSVD_ERR(PRSVD_ERR_USAGE, "a slab of '%s' (%lld values, %lld bytes) does not fit the memory budget %lld", name,
              (long long)cols, (long long)(8 * cols), (long long)prm->memory);
  plan->passes = prm->passes == 1 ? 1 : 2 + prm->power_iters;
  if (prm->verify) plan->passes++;
  return PRSVD_OK;
}

int prsvd_tucker_create(MPI_Comm comm, prsvd_tucker **out) {
  int status = PRSVD_OK;
  prsvd_tucker *t = NULL;
  *out = NULL;
  PRSVD_ALLOC(t, 1);
  t->params = prsvd_tucker_params_default();
  t->comm = MPI_COMM_NULL;
  PRSVD_MPI_TRY(MPI_Comm_dup(comm, &t->comm));
  *out = t;
  return PRSVD_OK;
done:
  prsvd_tucker_destroy(&t);
  return status;
}

int prsvd_tucker_set_params(prsvd_tucker *t, const struct prsvd_tucker_params *params) {
  t->params = *params;
  return PRSVD_OK;
}

static void clear_result(prsvd_tucker *t) {
  free(t->core);
  t->core = NULL;
  for (int n = 0; n < PRSVD_TUCKER_MAX_MODES; n++) free(t->factors[n]), t->factors[n] = NULL;
  memset(t->ranks, 0, sizeof t->ranks);
  memset(&t->stats, 0, sizeof t->stats);
}

int prsvd_tucker_solve(prsvd_tucker *t, prsvd_source *a, int ndims, const int64_t *dims) {
  struct prsvd_tucker_plan plan;
  int nprocs;
  clear_result(t);
  MPI_Comm_size(t->comm, &nprocs);
  PRSVD_CHECK(prsvd_tucker_plan(&t->params, a, ndims, dims, nprocs, &plan));
  t->ndims = ndims;
  memcpy(t->dims, dims, sizeof(int64_t) * (size_t)ndims);
  const int status = prsvd_tucker_run(t, a, &plan);
  if (status) {
    clear_result(t);
    return prsvd_error_push(status, __FILE__, __LINE__, __func__);
  }
  return PRSVD_OK;
}

int prsvd_tucker_get_core(const prsvd_tucker *t, int *ndims, const int64_t **ranks, const double **g) {
  if (!t->core) PRSVD_ERR(PRSVD_ERR_USAGE, "no result: prsvd_tucker_solve() has not succeeded");
  if (ndims) *ndims = t->ndims;
  if (ranks) *ranks = t->ranks;
  if (g) *g = t->core;
  return PRSVD_OK;
}

int prsvd_tucker_get_factor(const prsvd_tucker *t, int mode, const double **u, int64_t *rows, int64_t *cols) {
  if (!t->core) PRSVD_ERR(PRSVD_ERR_USAGE, "no result: prsvd_tucker_solve() has not succeeded");
  if (mode < 0 || mode >= t->ndims)
    PRSVD_ERR(PRSVD_ERR_USAGE, "mode %d of a %d-way tensor (modes are 0-based)", mode, t->ndims);
  *u = t->factors[mode];
  if (rows) *rows = t->dims[mode];
  if (cols) *cols = t->ranks[mode];
  return PRSVD_OK;
}

int prsvd_tucker_get_stats(const prsvd_tucker *t, struct prsvd_tucker_stats *stats) {
  *stats = t->stats;
  return PRSVD_OK;
}

void prsvd_tucker_destroy(prsvd_tucker **t) {
  if (!t || !*t) return;
  clear_result(*t);
  if ((*t)->comm != MPI_COMM_NULL) MPI_Comm_free(&(*t)->comm);
  free(*t);
  *t = NULL;
}

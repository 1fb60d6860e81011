/* The interpolative-decomposition object (include/prsvd.h, prsvd_id_*): parameters, the plan,
 * lifecycle and results.  The algorithm is src/id.c. */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "id_impl.h"
#include "sketch.h"

struct prsvd_id_params prsvd_id_params_default(void) {
  const struct prsvd_id_params init = PRSVD_ID_PARAMS_INIT;
  return init;
}

struct prsvd_svd_params prsvd_id_engine_params(const struct prsvd_id_params *prm, int nprocs) {
  struct prsvd_svd_params e = prsvd_svd_params_default();
  e.rank = prm->rank;
  e.oversample = prm->oversample;
  e.power_iters = prm->power_iters;
  e.seed = prm->seed;
  e.memory = prm->memory;
  e.check_finite = prm->check_finite;
  e.prefetch = prm->prefetch;
  e.precision = prm->precision;
  e.progress = prm->progress;
  e.progress_arg = prm->progress_arg;
  e.grid_rows = nprocs, e.grid_cols = 1; /* the pass engine's P x 1 grid */
  e.threads = 1; /* the ID's and CUR's passes run one thread a rank (no pool): its panels */
  return e;
}

int prsvd_id_plan(const struct prsvd_id_params *prm, const prsvd_source *a, int nprocs,
                  struct prsvd_id_plan *plan) {
  const int64_t m = prsvd_source_rows(a), n = prsvd_source_cols(a), mn = m < n ? m : n, k = prm->rank;
  const char *what = prm->kind == PRSVD_ID_ROWS ? "rows" : "columns";
  memset(plan, 0, sizeof *plan);
  if (k < 1 || k > mn)
    PRSVD_ERR(PRSVD_ERR_USAGE, "rank k = %lld must be between 1 and min(rows, cols) = %lld of '%s'",
              (long long)k, (long long)mn, prsvd_source_name(a));
  if (prm->oversample < 0 || prm->power_iters < 0)
    PRSVD_ERR(PRSVD_ERR_USAGE, "oversampling %lld and power iterations %d must not be negative",
              (long long)prm->oversample, prm->power_iters);
  if (!prm->verify && prm->n_probes != 10 && prm->n_probes != 0)
    PRSVD_ERR(PRSVD_ERR_USAGE, "the estimate takes 10 probes (its interval is for 10), not %d", prm->n_probes);
  plan->sketch_dim = k + prm->oversample < mn ? k + prm->oversample : mn;
  plan->sketch_len = prm->kind == PRSVD_ID_ROWS ? m : n;
  plan->passes = prm->power_iters + 1 + (prm->kind == PRSVD_ID_CUR) + (prm->verify ? 1 : 0);
  plan->rows_qr_distributed = prm->kind == PRSVD_ID_CUR &&
                              (prm->qr == PRSVD_ID_QR_DISTRIBUTED ||
                               (prm->qr == PRSVD_ID_QR_AUTO && 8 * (2 * k + 1) * m > prm->memory));
  /* the local QR holds W^T and the (index, coefficients) records of T on rank 0 */
  plan->qr_bytes = 8 * (plan->sketch_dim + k + 1) * plan->sketch_len;
  plan->qr_distributed = prm->qr == PRSVD_ID_QR_DISTRIBUTED ||
                         (prm->qr == PRSVD_ID_QR_AUTO && plan->qr_bytes > prm->memory);
  if (!plan->qr_distributed && plan->sketch_dim * plan->sketch_len > 0x7fffffff)
    PRSVD_ERR(PRSVD_ERR_USAGE, "the %lld x %lld sketch of '%s' is too large to gather on one rank for the "
              "local pivoted QR (2^31 entries): use the distributed one", (long long)plan->sketch_dim,
              (long long)plan->sketch_len, prsvd_source_name(a));
  if ((k + 1) * plan->sketch_len > 0x7fffffff)
    PRSVD_ERR(PRSVD_ERR_USAGE, "%lld %s of rank %lld: the coefficients exceed 2^31 entries", (long long)plan->sketch_len,
              what, (long long)k);
  const struct prsvd_svd_params e = prsvd_id_engine_params(prm, nprocs);
  struct prsvd_svd_plan sp;
  PRSVD_CHECK(prsvd_svd_plan(&e, a, nprocs, &sp));
  plan->panel_rows = sp.panel_rows;
  plan->single = sp.single;
  plan->pass_bytes = prsvd_pass_bytes(a, sp.single, nprocs, sp.panel_rows);
  return PRSVD_OK;
}

int prsvd_id_create(MPI_Comm comm, prsvd_id **out) {
  int status = PRSVD_OK;
  prsvd_id *id = NULL;
  *out = NULL;
  PRSVD_ALLOC(id, 1);
  id->params = prsvd_id_params_default();
  id->comm = MPI_COMM_NULL;
  PRSVD_MPI_TRY(MPI_Comm_dup(comm, &id->comm));
  PRSVD_TRY(prsvd_grid_create(id->comm, &id->grid));
  *out = id;
  return PRSVD_OK;
done:
  prsvd_id_destroy(&id);
  return status;
}

int prsvd_id_set_params(prsvd_id *id, const struct prsvd_id_params *params) {
  id->params = *params;
  return PRSVD_OK;
}

static void clear_result(prsvd_id *id) {
  prsvd_dmat_destroy(&id->coef);
  free(id->chosen), free(id->ascending), free(id->rows_chosen), free(id->rows_ascending), free(id->core);
  id->chosen = id->ascending = id->rows_chosen = id->rows_ascending = NULL;
  id->core = NULL;
  prsvd_dmat_destroy(&id->c_cols);
  free(id->r_rows);
  id->r_rows = NULL;
  id->r_cols = 0;
  id->k = 0;
  memset(&id->stats, 0, sizeof id->stats);
}

int prsvd_id_solve(prsvd_id *id, prsvd_source *a) {
  struct prsvd_id_plan plan;
  clear_result(id);
  PRSVD_CHECK(prsvd_id_plan(&id->params, a, prsvd_grid_nprocs(id->grid), &plan));
  const int status = id->params.kind == PRSVD_ID_CUR ? prsvd_cur_run(id, a, &plan) : prsvd_id_run(id, a, &plan);
  if (status) {
    clear_result(id);
    return prsvd_error_push(status, __FILE__, __LINE__, __func__);
  }
  return PRSVD_OK;
}

/* A result is there: the coefficients of an ID, or the core of a CUR. */
static int has_result(const prsvd_id *id) { return id->coef || id->core; }

int prsvd_id_get_indices(const prsvd_id *id, int64_t *k, const int64_t **chosen, const int64_t **ascending) {
  if (!has_result(id)) PRSVD_ERR(PRSVD_ERR_USAGE, "no result: prsvd_id_solve() has not succeeded");
  *k = id->k;
  if (chosen) *chosen = id->chosen;
  if (ascending) *ascending = id->ascending;
  return PRSVD_OK;
}

int prsvd_id_get_coefficients(const prsvd_id *id, const double **c, int64_t *row0, int64_t *local_rows,
                              int64_t *ld) {
  if (id->core) PRSVD_ERR(PRSVD_ERR_USAGE, "a CUR has no coefficients: its result is U (prsvd_id_get_core)");
  if (!id->coef) PRSVD_ERR(PRSVD_ERR_USAGE, "no result: prsvd_id_solve() has not succeeded");
  *c = prsvd_dmat_local(id->coef, row0, local_rows, ld);
  return PRSVD_OK;
}

int prsvd_id_get_rows(const prsvd_id *id, const int64_t **chosen, const int64_t **ascending) {
  if (!id->core) PRSVD_ERR(PRSVD_ERR_USAGE, "no CUR result: the rows of an ID are prsvd_id_get_indices'");
  if (chosen) *chosen = id->rows_chosen;
  if (ascending) *ascending = id->rows_ascending;
  return PRSVD_OK;
}

int prsvd_id_get_core(const prsvd_id *id, const double **u) {
  if (!id->core) PRSVD_ERR(PRSVD_ERR_USAGE, "no CUR result: prsvd_id_solve() with kind PRSVD_ID_CUR has not succeeded");
  *u = id->core;
  return PRSVD_OK;
}

int prsvd_id_get_factors(const prsvd_id *id, const double **c, int64_t *row0, int64_t *local_rows,
                         int64_t *ld, const double **r) {
  if (!id->core || !id->c_cols || !id->r_rows)
    PRSVD_ERR(PRSVD_ERR_USAGE, "no CUR result: prsvd_id_solve() with kind PRSVD_ID_CUR has not succeeded");
  *c = prsvd_dmat_local(id->c_cols, row0, local_rows, ld);
  *r = id->r_rows;
  return PRSVD_OK;
}

int prsvd_id_get_stats(const prsvd_id *id, struct prsvd_id_stats *stats) {
  *stats = id->stats;
  return PRSVD_OK;
}

void prsvd_id_destroy(prsvd_id **id) {
  if (!id || !*id) return;
  clear_result(*id);
  prsvd_grid_destroy(&(*id)->grid);
  if ((*id)->comm != MPI_COMM_NULL) MPI_Comm_free(&(*id)->comm);
  free(*id);
  *id = NULL;
}

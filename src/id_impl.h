/*
 * Inside the interpolative-decomposition object (include/prsvd.h, prsvd_id_*): its state, and
 * the solve of src/id.c that src/id_api.c's lifecycle calls.
 */
#ifndef PRSVD_ID_IMPL_H
#define PRSVD_ID_IMPL_H

#include "prsvd_grid.h"
#include "prsvd.h"

struct prsvd_id {
  MPI_Comm comm;
  prsvd_grid *grid;
  struct prsvd_id_params params;
  int64_t k;
  int64_t *chosen, *ascending; /* k each, replicated */
  prsvd_dmat *coef;            /* N x k: T^T (columns) or X (rows), by row blocks */
  struct prsvd_id_stats stats;
};

/* The pass engine's parameters for an ID solve (precision, prefetch, progress, budget). */
struct prsvd_svd_params prsvd_id_engine_params(const struct prsvd_id_params *prm, int nprocs);
/* Collective (id.c): the sketch passes, the pivoted QR and the error; fills chosen, ascending,
 * coef and stats.  plan is prsvd_id_plan's for this source. */
int prsvd_id_run(prsvd_id *id, prsvd_source *a, const struct prsvd_id_plan *plan);

#endif

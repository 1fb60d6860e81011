/*
 * Inside the Tucker object (include/prsvd.h, prsvd_tucker_*): its state, the small dense
 * tensor kernels (C-order tensors, column-major matrices) and the solve of src/tucker.c that
 * src/tucker_api.c's lifecycle calls.
 */
#ifndef PRSVD_TUCKER_IMPL_H
#define PRSVD_TUCKER_IMPL_H

#include "prsvd.h"

struct prsvd_tucker {
  MPI_Comm comm;
  struct prsvd_tucker_params params;
  int ndims;
  int64_t dims[PRSVD_TUCKER_MAX_MODES];
  int64_t ranks[PRSVD_TUCKER_MAX_MODES];
  double *core;                            /* r_1 x ... x r_N, C order, replicated */
  double *factors[PRSVD_TUCKER_MAX_MODES]; /* d_n x r_n column-major, replicated */
  struct prsvd_tucker_stats stats;
};

/* Collective (src/tucker.c): the passes and the truncation; fills core, factors, ranks, stats. */
int prsvd_tucker_run(prsvd_tucker *t, prsvd_source *a, const struct prsvd_tucker_plan *plan);

/* Local kernels (src/tucker.c). */
/* out = x x_mode op(M): x has nd dims (C order), op(M) is out_dim x dims[mode]: M itself
 * (column-major, ld ldm) or, with trans, M^T for M dims[mode] x out_dim (a factor U, whose
 * U^T contracts the mode).  out has dims[mode] replaced by out_dim. */
void prsvd_ttm(const double *x, int nd, const int64_t *dims, int mode, const double *m, int64_t ldm,
               int64_t out_dim, int trans, double *out);
/* Product of dims[from .. to). */
int64_t prsvd_dims_prod(const int64_t *dims, int from, int to);

#endif

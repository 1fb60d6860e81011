/*
 * One streaming pass over this rank's rows of A, updating the sketches that need only the
 * panel in hand.  For each panel A_i (rows [r, r + nr) of this rank's block):
 *
 *   if x:      Y_i = A_i X            (range sketch, written into this rank's rows of Y)
 *   if probes: P_i = A_i W            (error-estimate probes)
 *              H  += A_i^T Y_i        (co-range, this rank's partial sum, n x l)
 *
 * With x == NULL the existing Y rows are used (the extra pass H = A^T Q).  The cursor says
 * where the pass is, so that a later checkpoint can stop and resume at a panel boundary.
 * Local: no collectives (errors are combined by the caller with prsvd_error_agree).
 */
#ifndef PRSVD_SKETCH_H
#define PRSVD_SKETCH_H

#include "../mpi/prsvd_grid.h"
#include "prsvd.h"

struct prsvd_cursor {
  int pass;          /* 0-based pass over A */
  int n_passes;      /* passes planned so far (for progress) */
  int64_t next_row;  /* first row of the next panel, global */
};

struct prsvd_pass {
  prsvd_source *a;
  int64_t panel_rows;
  double *panel;                 /* panel_rows x n, row-major */
  const double *x;               /* n x l column-major (ld n) or NULL */
  prsvd_dmat *y;                 /* m x l */
  const double *probes;          /* n x n_probes column-major or NULL */
  prsvd_dmat *y_probes;          /* m x n_probes */
  double *h;                     /* n x l column-major partial co-range, zeroed by the caller */
  int check_finite;
  const struct prsvd_svd_params *params;
};

int prsvd_sketch_pass(struct prsvd_pass *p, struct prsvd_cursor *cur);

#endif

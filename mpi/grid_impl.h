/* The grid and distributed-matrix structs, private to mpi/. */
#ifndef PRSVD_GRID_IMPL_H
#define PRSVD_GRID_IMPL_H

#include "prsvd_grid.h"

struct prsvd_grid {
  MPI_Comm comm;
  int rank, nprocs;
  int blacs_handle, ctxt;
};

struct prsvd_dmat {
  const prsvd_grid *grid;
  int64_t rows, cols;
  int64_t row0, local_rows, ld, block_rows;
  double *data;
  int desc[9];
};

/* ScaLAPACK's info: < 0 is an illegal argument (our bug), > 0 a numerical failure. */
int prsvd_scalapack_info(int info, const char *routine);

#endif

/* A P x 1 BLACS grid over an MPI communicator. */
#include "prsvd_grid.h"

#include <stdlib.h>

#include "../src/error.h"
#include "grid_impl.h"
#include "scalapack.h"

int prsvd_grid_create(MPI_Comm comm, prsvd_grid **out) {
  int status = PRSVD_OK;
  prsvd_grid *g = NULL;
  *out = NULL;
  PRSVD_ALLOC(g, 1);
  g->comm = comm;
  MPI_Comm_rank(comm, &g->rank);
  MPI_Comm_size(comm, &g->nprocs);
  g->blacs_handle = Csys2blacs_handle(comm);
  g->ctxt = g->blacs_handle;
  Cblacs_gridinit(&g->ctxt, "R", g->nprocs, 1);
  int nprow, npcol, myrow, mycol;
  Cblacs_gridinfo(g->ctxt, &nprow, &npcol, &myrow, &mycol);
  if (nprow != g->nprocs || npcol != 1 || myrow != g->rank)
    PRSVD_FAIL(PRSVD_ERR_MPI, "BLACS grid %d x %d (row %d) does not match %d MPI ranks (rank %d)",
               nprow, npcol, myrow, g->nprocs, g->rank);
  *out = g;
  g = NULL;
done:
  prsvd_grid_destroy(&g);
  return status;
}

void prsvd_grid_destroy(prsvd_grid **grid) {
  if (!grid || !*grid) return;
  Cblacs_gridexit((*grid)->ctxt);
  Cfree_blacs_system_handle((*grid)->blacs_handle);
  free(*grid);
  *grid = NULL;
}

MPI_Comm prsvd_grid_comm(const prsvd_grid *g) { return g->comm; }
int prsvd_grid_rank(const prsvd_grid *g) { return g->rank; }
int prsvd_grid_nprocs(const prsvd_grid *g) { return g->nprocs; }

int prsvd_scalapack_info(int info, const char *routine) {
  if (info < 0)
    PRSVD_ERR(PRSVD_ERR_INTERNAL, "%s: illegal value in argument %d", routine, -info);
  if (info > 0) PRSVD_ERR(PRSVD_ERR_NUMERIC, "%s failed with info = %d", routine, info);
  return PRSVD_OK;
}

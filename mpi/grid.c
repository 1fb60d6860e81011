/* A P x 1 BLACS grid over an MPI communicator. */
#include "prsvd_grid.h"

#include <stdlib.h>

#include "error.h"
#include "grid_impl.h"
#include "scalapack_impl.h"

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

int prsvd_grid2d_create(MPI_Comm comm, int pr, int pc, struct prsvd_grid2d **out) {
  int status = PRSVD_OK, rank, size;
  struct prsvd_grid2d *g = NULL;
  *out = NULL;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  if (pr < 1 || pc < 1 || pr * pc != size)
    PRSVD_ERR(PRSVD_ERR_USAGE, "a %d x %d process grid needs %d ranks, not %d", pr, pc, pr * pc, size);
  PRSVD_ALLOC(g, 1);
  g->row_comm = g->col_comm = g->cols_comm = MPI_COMM_NULL;
  g->pr = pr, g->pc = pc, g->i = rank / pc, g->j = rank % pc;
  PRSVD_MPI(MPI_Comm_split(comm, g->i, g->j, &g->row_comm));
  PRSVD_MPI(MPI_Comm_split(comm, g->j, g->i, &g->col_comm));
  PRSVD_MPI(MPI_Comm_split(comm, 0, g->j * pr + g->i, &g->cols_comm));
  PRSVD_TRY(prsvd_grid_create(g->cols_comm, &g->by_cols));
  *out = g;
  g = NULL;
done:
  prsvd_grid2d_destroy(&g);
  return status;
}

void prsvd_grid2d_destroy(struct prsvd_grid2d **g) {
  if (!g || !*g) return;
  prsvd_grid_destroy(&(*g)->by_cols);
  MPI_Comm *comms[3] = {&(*g)->row_comm, &(*g)->col_comm, &(*g)->cols_comm};
  for (int c = 0; c < 3; c++)
    if (*comms[c] != MPI_COMM_NULL) MPI_Comm_free(comms[c]);
  free(*g);
  *g = NULL;
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

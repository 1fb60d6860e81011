/* Open MPI's point-to-point layer for a launch that has no peer off its node.
 *
 * Left to choose, Open MPI 4 first tries its cm layer, whose transports take 0.2 s to probe
 * at every start and then decline on a machine without a fabric; ob1 is what it settles on.
 * A lone process (no launcher) or ranks that mpirun placed all on one node have nothing to
 * reach over a fabric, so ob1 (shared memory and self) is what they would get at best: name
 * it before MPI_Init.  A choice the user made is kept: OMPI_MCA_pml in the environment (even
 * empty), or a pml line in an MCA parameter file Open MPI reads other than an exclusion that
 * leaves ob1 in (Debian's system file says "pml = ^ucx").  Ranks spread over nodes, and
 * launchers other than mpirun (srun), keep Open MPI's own choice. */
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mca_params.h"

/* 1 if a pml value chooses: anything but an exclusion (^...) that leaves ob1 in */
static int pml_chosen(const char *value) { return value[0] != '^' || strstr(value, "ob1") != NULL; }

/* 1 if this process has no peer off its node: no launcher at all, or Open MPI's mpirun with
 * every rank on this node */
static int on_one_node(void) {
  const char *size = getenv("OMPI_COMM_WORLD_SIZE"), *local = getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
  if (size) return local && strcmp(size, local) == 0 && atoi(size) > 0;
  return prsvd_cli_launcher_rank() < 0;
}

void prsvd_cli_pick_pml(void) {
#ifdef OMPI_MAJOR_VERSION
  if (prsvd_mca_env("pml") || !on_one_node() || prsvd_mca_files_any("pml", pml_chosen)) return;
  setenv("OMPI_MCA_pml", "ob1", 0);
#endif
}

/* Serial unit tests (MPI initialised as a singleton for the HDF5 sources). */
#include <mpi.h>
#include <stdlib.h>

#include "prsvd_h5.h"
#include "suites.h"

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  prsvd_h5_init(0);
  SRunner *sr = srunner_create(rng_suite());
  srunner_add_suite(sr, options_suite());
  srunner_add_suite(sr, h5read_suite());
  srunner_add_suite(sr, kfac_suite());
  srunner_add_suite(sr, idx_suite());
  srunner_add_suite(sr, sparse_suite());
  srunner_add_suite(sr, threads_suite());
  srunner_add_suite(sr, tucker_suite());
  srunner_add_suite(sr, scratch_suite());
  srunner_add_suite(sr, scan_suite());
  srunner_set_fork_status(sr, CK_NOFORK);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  MPI_Finalize();
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#!/bin/sh
# The distributed Check suites: test_dist and test_kfac at 1, 2, 3 and 4 ranks (test_kfac at 4:
# ScaLAPACK's PDSYEVD on a 2 x 2 grid; at 2 and 3 the grid is 1 x P).
status=0
for n in 1 2 3 4; do
  echo "# mpirun -n $n test_dist"
  $MPIEXEC $MPIEXEC_FLAGS -n $n "$top_builddir/tests/mpi/test_dist" || { echo "not ok: $n ranks"; status=1; }
done
for n in 1 2 3 4; do
  echo "# mpirun -n $n test_kfac"
  $MPIEXEC $MPIEXEC_FLAGS -n $n "$top_builddir/tests/mpi/test_kfac" || { echo "not ok: test_kfac, $n ranks"; status=1; }
done
exit $status

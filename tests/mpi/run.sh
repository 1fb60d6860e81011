#!/bin/sh
# The distributed Check suite at 1, 2, 3 and 4 ranks.
status=0
for n in 1 2 3 4; do
  echo "# mpirun -n $n test_dist"
  $MPIEXEC $MPIEXEC_FLAGS -n $n "$top_builddir/tests/mpi/test_dist" || { echo "not ok: $n ranks"; status=1; }
done
exit $status

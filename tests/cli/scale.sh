#!/bin/sh
# End-to-end runs of the numbers and sizes a run meets: the range of the values (1e-300 to
# 1e300, float32's), impossible and extreme shapes, the compute threads, and the read paths
# (POSIX, MPI-IO); and -q auto against scikit-learn (test_qauto, moved from workflows.sh,
# which was the longest group by its length: 200 s of files alone against this one's 127).
# A fifth group beside run.sh, workflows.sh, hostile.sh and commands.sh: make check -j runs
# them side by side, since these runs mostly wait on mpirun and I/O.
exec "$top_srcdir/tests/cli/files.sh" test_range test_threads test_io test_qauto

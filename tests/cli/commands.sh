#!/bin/sh
# End-to-end runs of the newer commands and of users' own data layouts: id, cur and tucker,
# the compute threads, the plan against the run, AnnData write-back and climate fields, and
# the range of the numbers.  A fourth group beside run.sh, workflows.sh and hostile.sh: make
# check -j runs them side by side, since these runs mostly wait on mpirun and I/O.
exec "$top_srcdir/tests/cli/files.sh" test_id test_tucker test_threads test_plan test_anndata test_climate test_range

#!/bin/sh
# End-to-end runs of the newer commands and of users' own data layouts: id, cur and tucker,
# the plan against the run, AnnData write-back and climate fields, and impossible and extreme
# sizes; and the checkpoints of the single pass, --tol and eig (test_checkpoint_methods, moved
# from workflows.sh, which still ended a minute after the others).  A fourth group beside
# run.sh, workflows.sh, hostile.sh and scale.sh: make check -j runs them side by side, since
# these runs mostly wait on mpirun and I/O.
exec "$top_srcdir/tests/cli/files.sh" test_id test_tucker test_plan test_anndata test_climate test_sizes test_checkpoint_methods

#!/bin/sh
# End-to-end runs of the prsvd program: checkpoint and resume, faults, signals, long paths,
# K-FAC and the trainer, Fashion-MNIST.  tests/cli/run.sh holds the solvers and file formats.
exec "$top_srcdir/tests/cli/files.sh" test_safety test_sizes test_checkpoint test_checkpoint_trust test_checkpoint_methods test_kfac test_kfac_train test_faults test_signals test_paths test_fashion

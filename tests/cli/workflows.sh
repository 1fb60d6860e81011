#!/bin/sh
# End-to-end runs of the prsvd program: checkpoint and resume, faults, K-FAC and the trainer,
# Fashion-MNIST.  tests/cli/run.sh holds the solvers and file formats; -q auto runs in scale.sh.
exec "$top_srcdir/tests/cli/files.sh" test_checkpoint test_checkpoint_methods test_kfac test_kfac_train test_faults test_fashion

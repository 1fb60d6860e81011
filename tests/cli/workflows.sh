#!/bin/sh
# End-to-end runs of the prsvd program: checkpoint and resume, faults, K-FAC and the trainer,
# Fashion-MNIST.  tests/cli/run.sh holds the solvers and file formats; -q auto runs in scale.sh
# and the other methods' checkpoints (test_checkpoint_methods) in commands.sh.
exec "$top_srcdir/tests/cli/files.sh" test_checkpoint test_kfac test_kfac_train test_faults test_fashion

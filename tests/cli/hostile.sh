#!/bin/sh
# End-to-end runs of the program against a hostile world (docs/safety.md): paths, files and
# signals (sizes run in commands.sh, the range of the numbers in scale.sh).  A third group
# beside run.sh and workflows.sh, so that make check -j keeps both cores busy while these wait
# on mpirun.
exec "$top_srcdir/tests/cli/files.sh" test_safety test_signals test_paths test_checkpoint_trust test_unpack
